//! Losing or corrupting the tier index loses no data: reindex rebuilds it from the tiers.

mod common;

use std::process::Command;

use common::{bytes, config, local_tier, strata_bin};
use strata::{
    store::{Store, INDEX_FILE},
    ErrorKind, RunOptions,
};

#[test]
fn deleted_index_is_rebuilt_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    let mut expected = Vec::new();
    {
        let store = Store::open(&cfg).unwrap();
        for i in 0..50u64 {
            let data = bytes(1000 + i as usize * 37, i + 1);
            let info = store.put(&format!("k/{i}"), data.clone()).unwrap();
            expected.push((info, data));
        }
        // Put some in the cold tier so the rebuild sees both.
        let mut lifecycle = cfg.clone();
        lifecycle.lifecycle = vec![strata::config::LifecycleRule {
            prefix: "k/1".into(),
            demote_after_age: Some(std::time::Duration::ZERO),
            demote_after_idle: None,
            promote_after_reads: None,
            promote_window: None,
            demote_to: None,
        }];
        drop(store);
        let store = Store::open(&lifecycle).unwrap();
        let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
        assert_eq!(report.moved, 11);
    }
    std::fs::remove_file(dir.path().join(INDEX_FILE)).unwrap();
    let store = Store::open(&cfg).unwrap();
    let listed = store.list("").unwrap();
    assert_eq!(listed.len(), 50);
    for (info, data) in &expected {
        let stat = store.stat(&info.key).unwrap();
        assert_eq!(stat.checksum, info.checksum);
        assert_eq!(stat.size, info.size);
        let want_tier = if info.key.starts_with("k/1") {
            "cold"
        } else {
            "hot"
        };
        assert_eq!(stat.tier, want_tier, "{}", info.key);
        assert!(store.get(&info.key).unwrap()[..] == data[..]);
    }
}

#[test]
fn corrupt_index_is_an_error_until_reindex() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("strata.toml");
    std::fs::write(&cfg_path, "").unwrap();
    let root = dir.path().join("root");
    let mut cfg = strata::LakeConfig::local(&root);
    cfg.lifecycle.clear();
    {
        let store = Store::open(&cfg).unwrap();
        store.put("a/b", b"hello".to_vec()).unwrap();
        store.put("c", bytes(600_000, 3)).unwrap();
    }
    std::fs::write(root.join(INDEX_FILE), vec![0xA5u8; 64 * 1024]).unwrap();
    let err = Store::open(&cfg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(err.to_string().contains("reindex"), "{err}");

    let out = Command::new(strata_bin())
        .args(["--dir", root.to_str().unwrap(), "tier", "reindex", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["objects"], 2);
    let store = Store::open(&cfg).unwrap();
    assert_eq!(&store.get("a/b").unwrap()[..], b"hello");
    assert!(store.get("c").unwrap()[..] == bytes(600_000, 3)[..]);
    // The damaged file is kept aside, not deleted.
    let aside = std::fs::read_dir(&root).unwrap().flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .starts_with("index.redb.corrupt-")
    });
    assert!(aside);
}

#[test]
fn opening_removes_only_staging_files_strata_made() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::config(dir.path(), vec![common::local_tier("hot")]);
    let store = strata::store::Store::open(&cfg).unwrap();
    store.put("a/b", b"kept".to_vec()).unwrap();
    let file = store.local_file("a/b").unwrap();
    drop(store);
    // A put killed before its rename leaves a file in strata's own staging directory.
    let staging = dir.path().join("hot/.strata/staging");
    let leftover = staging.join("put-00112233445566778899aabbccddeeff");
    std::fs::write(&leftover, b"half written").unwrap();
    // Files named like object_store's old staging files are somebody's, not strata's.
    let users = [
        file.with_file_name("b#3"),
        dir.path().join("hot/#draft.txt#"),
    ];
    for f in &users {
        std::fs::write(f, b"mine").unwrap();
    }
    let store = strata::store::Store::open(&cfg).unwrap();
    assert!(!leftover.exists(), "the leftover staging file is gone");
    for f in &users {
        assert_eq!(std::fs::read(f).unwrap(), b"mine", "{f:?} was touched");
    }
    assert_eq!(&store.get("a/b").unwrap()[..], b"kept");
    // A reindex lists them as skipped, never as objects.
    let report = store.reindex().unwrap();
    assert_eq!(report.objects, 1, "{report:?}");
    assert_eq!(report.skipped.len(), 2, "{report:?}");
}
