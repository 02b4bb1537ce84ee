//! Envelope objects written by earlier versions (tests/fixtures/envelope-v1 and -v2, made by
//! `examples/envelope_fixture.rs`) still open. Later versions must keep these tests.

use std::path::Path;

use strata::{
    crypto::{open as open_envelope, EnvelopeHeader, KeyRing, ENVELOPE_VERSION},
    ErrorKind,
};

const NAMES: [&str; 3] = ["empty", "small", "chunks"];

/// The fixture directory's key ring, from a private copy: git does not keep the 0600 mode the
/// key ring needs.
fn ring(fixtures: &Path, dir: &Path) -> KeyRing {
    let ring_path = dir.join("keyring.toml");
    std::fs::copy(fixtures.join("keyring.toml"), &ring_path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ring_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    KeyRing::load(&ring_path).unwrap()
}

fn fixtures(version: u8) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/envelope-v{version}"))
}

#[test]
fn format_1_fixtures_open_under_any_name() {
    let fixtures = fixtures(1);
    let dir = tempfile::tempdir().unwrap();
    let ring = ring(&fixtures, dir.path());
    for name in NAMES {
        let sealed = std::fs::read(fixtures.join(format!("{name}.sealed"))).unwrap();
        let plain = std::fs::read(fixtures.join(format!("{name}.plain"))).unwrap();
        let (header, _) = EnvelopeHeader::parse(&sealed).unwrap();
        assert_eq!((header.version, header.key_id.as_str()), (1, "fixture-k1"));
        // Format 1 is bound to no name.
        assert_eq!(
            open_envelope(&ring, "any/name", &sealed).unwrap(),
            plain,
            "{name}"
        );
    }
}

#[test]
fn format_2_fixtures_open_under_their_name_only() {
    assert_eq!(
        ENVELOPE_VERSION, 2,
        "a new format needs a new fixture beside these"
    );
    let fixtures = fixtures(2);
    let dir = tempfile::tempdir().unwrap();
    let ring = ring(&fixtures, dir.path());
    for name in NAMES {
        let sealed = std::fs::read(fixtures.join(format!("{name}.sealed"))).unwrap();
        let plain = std::fs::read(fixtures.join(format!("{name}.plain"))).unwrap();
        let (header, _) = EnvelopeHeader::parse(&sealed).unwrap();
        assert_eq!((header.version, header.key_id.as_str()), (2, "fixture-k1"));
        let bound = format!("fixtures/{name}");
        assert_eq!(
            open_envelope(&ring, &bound, &sealed).unwrap(),
            plain,
            "{name}"
        );
        let err = open_envelope(&ring, "fixtures/other", &sealed).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Crypto, "{name}: {err}");
    }
}
