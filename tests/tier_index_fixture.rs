//! A data root written by tier index format 1 (tests/fixtures/tier-index-v1, made by
//! `examples/tier_index_fixture.rs`) still opens and reads. Later versions must keep this test.

use strata::{LakeConfig, RunOptions, Store, TIER_INDEX_FORMAT};

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

#[test]
fn format_1_fixture_reads() {
    assert_eq!(
        TIER_INDEX_FORMAT, 1,
        "a new format needs a new fixture beside this one"
    );
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tier-index-v1");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path()); // opening writes; never touch the checked-in copy
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
