//! A Parquet object in the cold tier, scanned twice through the cache: same rows as a scan of
//! the local file, and the second scan reads nothing from the tier.

mod common;

use std::sync::Arc;

use common::{config, local_tier, parquet_bytes};
use strata::{config::PlacementRule, store::Store, Expr, Scan};

#[test]
fn cold_parquet_object_scans_warm_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![local_tier("hot"), local_tier("cold")]);
    cfg.placement = vec![PlacementRule {
        prefix: "cold/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    cfg.cache.block_size = 64 * 1024;
    let store = Arc::new(Store::open(&cfg).unwrap());
    let bytes = parquet_bytes(100_000);
    let local = dir.path().join("local.parquet");
    std::fs::write(&local, &bytes).unwrap();
    assert_eq!(store.put("cold/t.parquet", bytes).unwrap().tier, "cold");

    let filter = Expr::parse("id >= 30000 AND id < 30100").unwrap();
    let lake = |columns: &[&str]| {
        Scan::new("cold/t.parquet")
            .objects(store.clone())
            .metadata_cache(store.cache().footers())
            .columns(columns)
            .filter(filter.clone())
            .run()
            .unwrap()
    };
    let expected = Scan::new(&local)
        .columns(&["id", "name"])
        .filter(filter.clone())
        .run()
        .unwrap();
    let first = lake(&["id", "name"]);
    let after_first = store.cache_stats();
    let second = lake(&["id", "name"]);
    let after_second = store.cache_stats();
    assert_eq!(rows(&first), rows(&expected));
    assert_eq!(rows(&second), rows(&expected));
    assert_eq!(first.stats.row_groups_skipped, 4, "pruned by statistics");
    assert!(after_first.blocks.fetches > 0);
    assert_eq!(
        after_second.blocks.fetches, after_first.blocks.fetches,
        "the warm scan fetches nothing: {after_second:?}"
    );
    assert!(after_second.blocks.hits > after_first.blocks.hits);
    assert_eq!(after_second.metadata.hits, 1, "footer parsed once");
    // Only the projected columns were fetched: `value` (800 KB) was never read.
    assert!(
        after_second.blocks.fetched_bytes < 600_000,
        "{}",
        after_second.blocks.fetched_bytes
    );
    // A whole-file scan agrees too.
    let all = Scan::new("cold/t.parquet")
        .objects(store.clone())
        .count()
        .unwrap();
    assert_eq!(all.0, 100_000);
}

/// A scan's rows as one batch: batch boundaries differ between object and file sources (a
/// file's reader fills batches across row groups).
fn rows(out: &strata::ScanOutput) -> arrow::array::RecordBatch {
    arrow::compute::concat_batches(&out.schema, &out.batches).unwrap()
}
