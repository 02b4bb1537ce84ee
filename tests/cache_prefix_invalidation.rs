//! Invalidating a prefix drops exactly the blocks of the objects under it.

mod common;

use common::{bytes, config, local_tier};
use strata::{config::PlacementRule, store::Store};

#[test]
fn invalidation_by_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    config.placement = vec![PlacementRule {
        prefix: String::new(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    config.cache.block_size = 64 * 1024;
    let store = Store::open(&config).unwrap();
    for key in ["logs/a", "logs/b", "models/m"] {
        store.put(key, bytes(100_000, key.len() as u64)).unwrap();
        store.get(key).unwrap();
    }
    let before = store.cache_stats().blocks;
    assert_eq!(before.misses, 6, "two blocks per object: {before:?}");
    store.invalidate_cache("logs/");
    let after = store.cache_stats().blocks;
    assert!(
        after.bytes < before.bytes / 2,
        "logs/ blocks gone: {before:?} -> {after:?}"
    );
    store.get("models/m").unwrap();
    assert_eq!(store.cache_stats().blocks.misses, 6, "models/ still cached");
    store.get("logs/a").unwrap();
    assert_eq!(store.cache_stats().blocks.misses, 8, "logs/ read again");
}
