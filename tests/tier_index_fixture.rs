//! Data roots written by tier index formats 1 and 2 (tests/fixtures/tier-index-v1 and -v2, made
//! by `examples/tier_index_fixture.rs`) still open and read. Later versions must keep these
//! tests.

use strata::{
    store::{Store, TIER_INDEX_FORMAT},
    LakeConfig, RunOptions,
};

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A private copy of a fixture: opening writes, so never touch the checked-in copy.
fn fixture_copy(name: &str) -> tempfile::TempDir {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path());
    dir
}

/// Format 1 roots were written before tiers carried strata's marker: their tier directories
/// are taken over because the index records objects in them.
#[test]
fn format_1_fixture_reads() {
    let dir = fixture_copy("tier-index-v1");
    let mut config = LakeConfig::local(dir.path());
    config.lifecycle.clear();
    let store = Store::open(&config).unwrap();

    let listed: Vec<_> = store
        .list("")
        .unwrap()
        .into_iter()
        .map(|o| (o.key, o.tier, o.size, o.access_count))
        .collect();
    assert_eq!(
        listed,
        [
            (
                "archive/2026/numbers.bin".to_string(),
                "cold".to_string(),
                70_000,
                0
            ),
            ("empty".to_string(), "hot".to_string(), 0, 0),
            ("hello.txt".to_string(), "hot".to_string(), 14, 2),
        ]
    );
    let hello = store.stat("hello.txt").unwrap();
    assert_eq!(
        hello.checksum,
        "d575463e21d4e7221f0b5e6584f2ba86b61ffce60ec4c3391fb8adef901fe9f3"
    );
    assert_eq!(&store.get("hello.txt").unwrap()[..], b"hello, strata\n");
    let numbers = store.get("archive/2026/numbers.bin").unwrap();
    assert!(numbers.iter().copied().eq((0..=255u8).cycle().take(70_000)));
    assert!(store.get("empty").unwrap().is_empty());
    let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(report.failed, 0);
}

#[test]
fn format_2_fixture_reads() {
    assert_eq!(
        TIER_INDEX_FORMAT, 2,
        "a new format needs a new fixture beside these"
    );
    let dir = fixture_copy("tier-index-v2");
    #[cfg(unix)]
    {
        // git does not keep the 0600 mode the key ring needs.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("keyring.toml"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let mut config = LakeConfig::local(dir.path());
    config.lifecycle.clear();
    let store = Store::open(&config).unwrap();
    let listed: Vec<_> = store
        .list("")
        .unwrap()
        .into_iter()
        .map(|o| (o.key, o.tier, o.size))
        .collect();
    assert_eq!(
        listed,
        [
            (
                "archive/2026/numbers.bin".to_string(),
                "cold".to_string(),
                70_000
            ),
            ("empty".to_string(), "hot".to_string(), 0),
            ("hello.txt".to_string(), "hot".to_string(), 14),
            ("pii/secret.txt".to_string(), "hot".to_string(), 15),
            ("weird/a{b} 100%.txt".to_string(), "hot".to_string(), 16),
        ]
    );
    assert_eq!(&store.get("hello.txt").unwrap()[..], b"hello, strata\n");
    assert_eq!(
        &store.get("pii/secret.txt").unwrap()[..],
        b"sealed at rest\n"
    );
    assert_eq!(
        store.stat("pii/secret.txt").unwrap().envelope_version,
        Some(2)
    );
    assert_eq!(
        &store.get("weird/a{b} 100%.txt").unwrap()[..],
        b"encoded on disk\n"
    );
    drop(store);
    // The index rebuilt from the tiers finds the same objects.
    std::fs::remove_file(dir.path().join("index.redb")).unwrap();
    let store = Store::open(&config).unwrap();
    let rebuilt: Vec<_> = store
        .list("")
        .unwrap()
        .into_iter()
        .map(|o| (o.key, o.tier, o.size))
        .collect();
    assert_eq!(rebuilt, listed);
    assert_eq!(
        &store.get("pii/secret.txt").unwrap()[..],
        b"sealed at rest\n"
    );
}
