//! With a batch budget, a repeated scan of the same columns takes decoded row groups from the
//! batch cache; other columns or a rewritten file decode again.

mod common;

use std::sync::Arc;

use common::{config, local_tier, parquet_bytes};
use strata::{config::PlacementRule, store::Store, Scan};

#[test]
fn repeated_scans_reuse_decoded_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    cfg.placement = vec![PlacementRule {
        prefix: String::new(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    cfg.cache.batch_percent = 50;
    let store = Arc::new(Store::open(&cfg).unwrap());
    store.put("t.parquet", parquet_bytes(100_000)).unwrap();
    let batches = store
        .cache()
        .batches()
        .expect("a batch budget gives a batch cache");
    let scan = |columns: &[&str]| {
        Scan::new("t.parquet")
            .objects(store.clone())
            .metadata_cache(store.cache().footers())
            .decoded_cache(batches.clone())
            .columns(columns)
            .filter(strata::Expr::parse("id >= 10").unwrap())
            .run()
            .unwrap()
    };
    let first = scan(&["id", "value"]);
    let after_first = store.cache_stats().batches;
    assert_eq!(after_first.hits, 0);
    assert_eq!(after_first.inserts, 5, "five row groups: {after_first:?}");
    let second = scan(&["id", "value"]);
    let after_second = store.cache_stats().batches;
    assert_eq!(second.batches, first.batches);
    assert_eq!(after_second.hits, 5, "{after_second:?}");
    // Another projection is another key.
    scan(&["id", "name"]);
    assert_eq!(store.cache_stats().batches.hits, 5);
    // An overwrite is a new version: decoded again, never stale.
    store.put("t.parquet", parquet_bytes(40_000)).unwrap();
    let rewritten = scan(&["id", "value"]);
    assert_eq!(rewritten.stats.rows_decoded, 40_000);
    assert_eq!(store.cache_stats().batches.hits, 5);
}
