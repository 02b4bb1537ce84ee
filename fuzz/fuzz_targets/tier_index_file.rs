//! Any bytes in place of the tier index file open or fail with an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::{
    config::{TierConfig, TierKind},
    store::Store,
    LakeConfig,
};

fuzz_target!(|bytes: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(strata::store::INDEX_FILE), bytes).expect("write index");
    let mut config = LakeConfig::local(dir.path());
    config.tiers = vec![TierConfig {
        name: "hot".into(),
        kind: TierKind::Memory,
    }];
    if let Ok(store) = Store::open(&config) {
        let _ = store.list("");
        let _ = store.get("a");
        let _ = store.plan_tiers(std::time::SystemTime::now());
    }
});
