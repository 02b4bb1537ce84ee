//! One store shared by many threads: puts, gets, stats, lists, deletes and tier runs at once
//! leave the index consistent with the tiers.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{bytes, config, local_tier};
use strata::{config::LifecycleRule, store::Store, ErrorKind, RunOptions};

#[test]
fn many_threads_share_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    cfg.lifecycle = vec![LifecycleRule {
        prefix: "t/".into(),
        demote_after_age: Some(Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }];
    let store = Arc::new(Store::open(&cfg).unwrap());
    let threads: Vec<_> = (0..16u64)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..60u64 {
                    let key = format!("t/{t}/{}", i % 10);
                    let data = bytes(100 + (i as usize * 131) % 5000, t * 1000 + i);
                    store.put(&key, data.clone()).unwrap();
                    // A concurrent tier run may move it, or another iteration overwrite it
                    // only from this same thread, so what we read must be what we wrote.
                    let got = store.get(&key).unwrap();
                    assert!(got[..] == data[..], "{key}");
                    store.stat(&key).unwrap();
                    if i % 7 == 0 {
                        store.delete(&key).unwrap();
                        assert_eq!(store.get(&key).unwrap_err().kind(), ErrorKind::NotFound);
                    }
                    if i % 13 == 0 {
                        store.list("t/").unwrap();
                    }
                }
            })
        })
        .collect();
    let runner = {
        let store = store.clone();
        std::thread::spawn(move || {
            for _ in 0..10 {
                let report = store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
                assert_eq!(report.failed, 0, "{report:?}");
            }
        })
    };
    for t in threads {
        t.join().unwrap();
    }
    runner.join().unwrap();
    // Settle, then every indexed object reads back with its recorded checksum, and the tiers
    // hold exactly the indexed objects.
    store.run_tiers(&RunOptions::default(), &|_, _| {}).unwrap();
    let listed = store.list("").unwrap();
    for o in &listed {
        let got = store.get(&o.key).unwrap();
        assert_eq!(
            blake3::hash(&got).to_hex().to_string(),
            o.checksum,
            "{}",
            o.key
        );
    }
    let count = |tier: &str| walk(&dir.path().join(tier));
    assert_eq!(count("hot") + count("cold"), listed.len());
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                // strata's own marker and staging directory hold no objects.
                .filter(|e| e.file_name() != ".strata")
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
