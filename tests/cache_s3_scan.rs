//! A Parquet object on the loopback S3 server, scanned twice: the second scan is served by the
//! cache (no request reaches the bucket) and returns the same rows.

mod common;

use std::sync::Arc;

use common::{local_tier, parquet_bytes, s3_tier};
use strata::{config::PlacementRule, store::Store, LakeConfig, Scan};

#[test]
fn s3_parquet_object_scans_warm_the_second_time() {
    let Some(cold) = s3_tier("cold", "cache-scan") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = LakeConfig::local(dir.path());
    config.tiers = vec![local_tier("hot"), cold];
    config.placement = vec![PlacementRule {
        prefix: "cold/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    let store = Arc::new(Store::open(&config).unwrap());
    let bytes = parquet_bytes(200_000);
    std::fs::write(dir.path().join("local.parquet"), &bytes).unwrap();
    assert_eq!(store.put("cold/t.parquet", bytes).unwrap().tier, "cold");
    let scan = || {
        Scan::new("cold/t.parquet")
            .objects(store.clone())
            .metadata_cache(store.cache().footers())
            .columns(&["id", "value"])
            .run()
            .unwrap()
    };
    let expected = Scan::new(dir.path().join("local.parquet"))
        .columns(&["id", "value"])
        .run()
        .unwrap();
    let cold_scan = scan();
    let after_cold = store.cache_stats();
    let warm_scan = scan();
    let after_warm = store.cache_stats();
    assert_eq!(rows(&cold_scan), rows(&expected));
    assert_eq!(rows(&warm_scan), rows(&expected));
    assert!(after_cold.blocks.fetches > 0);
    assert_eq!(
        after_warm.blocks.fetches, after_cold.blocks.fetches,
        "{after_warm:?}"
    );
    assert_eq!(after_warm.tiers.len(), 1);
    assert_eq!(after_warm.tiers[0].tier, "cold");
    // Ranged gets through the cache agree with the bytes.
    let whole = store.get("cold/t.parquet").unwrap();
    assert_eq!(
        store.get_range("cold/t.parquet", 10..5000).unwrap(),
        whole.slice(10..5000)
    );
}

/// A scan's rows as one batch: batch boundaries differ between object and file sources (a
/// file's reader fills batches across row groups).
fn rows(out: &strata::ScanOutput) -> arrow::array::RecordBatch {
    arrow::compute::concat_batches(&out.schema, &out.batches).unwrap()
}
