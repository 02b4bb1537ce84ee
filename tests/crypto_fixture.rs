//! Envelope format 1 objects written by this version (tests/fixtures/envelope-v1, made by
//! `examples/envelope_fixture.rs`) still open. Later versions must keep this test.

use strata::{open_envelope, EnvelopeHeader, KeyRing, ENVELOPE_VERSION};

#[test]
fn format_1_fixtures_open() {
    assert_eq!(
        ENVELOPE_VERSION, 1,
        "a new format needs a new fixture beside this one"
    );
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/envelope-v1");
    // git does not keep the 0600 mode the key ring needs: use a private copy.
    let dir = tempfile::tempdir().unwrap();
    let ring_path = dir.path().join("keyring.toml");
    std::fs::copy(fixtures.join("keyring.toml"), &ring_path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ring_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let ring = KeyRing::load(&ring_path).unwrap();
    for name in ["empty", "small", "chunks"] {
        let sealed = std::fs::read(fixtures.join(format!("{name}.sealed"))).unwrap();
        let plain = std::fs::read(fixtures.join(format!("{name}.plain"))).unwrap();
        let (header, _) = EnvelopeHeader::parse(&sealed).unwrap();
        assert_eq!((header.version, header.key_id.as_str()), (1, "fixture-k1"));
        assert_eq!(open_envelope(&ring, &sealed).unwrap(), plain, "{name}");
    }
}
