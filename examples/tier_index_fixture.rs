//! Writes the checked-in tier index fixture: `cargo run --example tier_index_fixture -- DIR`.
//!
//! The fixtures freeze the tier index formats (see tests/tier_index_fixture.rs): format 1 in
//! tests/fixtures/tier-index-v1, format 2 (with strata's tier markers, a key with characters
//! that are encoded on disk, and an encrypted object) in tests/fixtures/tier-index-v2. Make a
//! new fixture directory for a new format; never regenerate an old one.

use std::time::Duration;

use strata::{config::LifecycleRule, store::Store, LakeConfig, PutOptions, RunOptions};

fn main() -> strata::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tier-index-v2".into());
    let mut config = LakeConfig::local(&dir);
    config.lifecycle = vec![LifecycleRule {
        prefix: "archive/".into(),
        demote_after_age: Some(Duration::ZERO),
        demote_after_idle: None,
        promote_after_reads: None,
        promote_window: None,
        demote_to: None,
    }];
    let store = Store::open(&config)?;
    store.put("hello.txt", b"hello, strata\n".to_vec())?;
    store.put("empty", Vec::new())?;
    store.put(
        "archive/2026/numbers.bin",
        (0..=255u8).cycle().take(70_000).collect::<Vec<u8>>(),
    )?;
    store.put("weird/a{b} 100%.txt", b"encoded on disk\n".to_vec())?;
    store.put_with(
        "pii/secret.txt",
        b"sealed at rest\n".to_vec(),
        &PutOptions {
            encrypt: Some(true),
        },
    )?;
    store.run_tiers(&RunOptions::default(), &|_, _| {})?;
    store.get("hello.txt")?;
    store.get("hello.txt")?;
    for o in store.list("")? {
        println!(
            "{} {} {} {} {}",
            o.key, o.tier, o.size, o.checksum, o.access_count
        );
    }
    Ok(())
}
