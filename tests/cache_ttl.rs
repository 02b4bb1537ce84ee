//! Cached blocks expire after their time to live.

mod common;

use std::time::Duration;

use common::{bytes, config, local_tier};
use strata::{config::PlacementRule, store::Store};

#[test]
fn blocks_expire_after_their_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    config.placement = vec![PlacementRule {
        prefix: String::new(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    config.cache.blocks.ttl = Some(Duration::from_millis(300));
    let store = Store::open(&config).unwrap();
    let data = bytes(10_000, 7);
    store.put("k", data.clone()).unwrap();
    store.get("k").unwrap();
    store.get("k").unwrap();
    let warm = store.cache_stats().blocks;
    assert_eq!((warm.hits, warm.misses), (1, 1), "{warm:?}");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(&store.get("k").unwrap()[..], &data[..]);
    let cold = store.cache_stats().blocks;
    assert_eq!(cold.misses, 2, "expired, fetched again: {cold:?}");
    assert!(cold.expirations >= 1, "{cold:?}");
}
