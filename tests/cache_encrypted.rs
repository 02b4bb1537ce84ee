//! Encrypted objects read through the cache: the cache holds plaintext in memory only;
//! everything on disk (the cold tier, and the hot tier after promotion by repeated reads)
//! stays ciphertext.

mod common;

use std::time::{Duration, SystemTime};

use common::{config, local_tier};
use strata::{
    config::{LifecycleRule, PlacementRule},
    store::Store,
    RunOptions,
};

const MARKER: &[u8] = b"CACHE-PLAINTEXT-MARKER-91c2";

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn cached_encrypted_objects_stay_ciphertext_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    cfg.encryption.prefixes = vec!["secret/".into()];
    cfg.placement = vec![PlacementRule {
        prefix: String::new(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    cfg.lifecycle = vec![LifecycleRule {
        prefix: String::new(),
        demote_after_age: None,
        demote_after_idle: None,
        promote_after_reads: Some(2),
        promote_window: Some(Duration::from_secs(3600)),
        demote_to: None,
    }];
    cfg.cache.block_size = 64 * 1024;
    cfg.cache.strategy = strata::config::CacheStrategy::WriteThrough;
    let store = Store::open(&cfg).unwrap();
    let mut data = Vec::new();
    while data.len() < 500_000 {
        data.extend_from_slice(MARKER);
        data.extend_from_slice(format!("-{}-", data.len()).as_bytes());
    }
    let info = store.put("secret/a", data.clone()).unwrap();
    assert!(info.key_id.is_some());
    assert_eq!(info.tier, "cold");
    for _ in 0..3 {
        assert_eq!(&store.get("secret/a").unwrap()[..], &data[..]);
        let r = store.get_range("secret/a", 70_000..140_000).unwrap();
        assert_eq!(&r[..], &data[70_000..140_000]);
    }
    let stats = store.cache_stats().blocks;
    assert!(stats.hits > 0, "{stats:?}");
    assert!(
        stats.bytes >= data.len() as u64,
        "plaintext blocks held: {stats:?}"
    );
    // Repeated reads promote it to the hot tier: the persistent second level.
    let report = store
        .run_tiers(
            &RunOptions {
                now: Some(SystemTime::now()),
                ..RunOptions::default()
            },
            &|_, _| {},
        )
        .unwrap();
    assert_eq!(report.moved, 1, "{report:?}");
    assert_eq!(store.stat("secret/a").unwrap().tier, "hot");
    assert_eq!(&store.get("secret/a").unwrap()[..], &data[..]);
    let all = files(dir.path());
    assert!(all.len() > 1);
    for file in all {
        let raw = std::fs::read(&file).unwrap();
        assert!(
            !contains(&raw, MARKER),
            "plaintext on disk in {}",
            file.display()
        );
    }
}
