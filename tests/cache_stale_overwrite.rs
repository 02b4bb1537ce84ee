//! An object overwritten in a cached (cold) tier is never served from its old blocks.

mod common;

use common::{bytes, config, local_tier};
use strata::{config::PlacementRule, store::Store};

fn cold_store(dir: &std::path::Path) -> Store {
    let mut config = config(dir, vec![local_tier("hot"), local_tier("cold")]);
    config.placement = vec![PlacementRule {
        prefix: "cold/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    config.cache.block_size = 64 * 1024;
    Store::open(&config).unwrap()
}

#[test]
fn overwrites_are_never_served_stale() {
    let dir = tempfile::tempdir().unwrap();
    let store = cold_store(dir.path());
    for (round, len) in [300_000usize, 300_000, 70_000, 300_000]
        .into_iter()
        .enumerate()
    {
        let data = bytes(len, round as u64 + 1);
        assert_eq!(store.put("cold/obj", data.clone()).unwrap().tier, "cold");
        // Twice: the first read fills the cache, the second is served from it.
        for _ in 0..2 {
            assert_eq!(
                &store.get("cold/obj").unwrap()[..],
                &data[..],
                "round {round}"
            );
            let r = store.get_range("cold/obj", 1000..66_000).unwrap();
            assert_eq!(&r[..], &data[1000..66_000], "round {round}");
        }
    }
    let stats = store.cache_stats().blocks;
    assert!(stats.hits > 0, "{stats:?}");
    // Deleting drops the blocks; a new object under the key starts cold.
    store.delete("cold/obj").unwrap();
    assert!(store.get("cold/obj").is_err());
    let fresh = bytes(5000, 99);
    store.put("cold/obj", fresh.clone()).unwrap();
    assert_eq!(&store.get("cold/obj").unwrap()[..], &fresh[..]);
}
