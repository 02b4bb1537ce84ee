//! The demo's cache part: a Parquet object in the cold tier scanned twice through the cache.

use std::sync::Arc;
use std::time::Instant;

use crate::error::Result;
use crate::store::Store;

/// The object the demo leaves for the lifecycle run to demote, then scans.
pub const KEY: &str = "demo/cold/trips.parquet";

/// Stores the Parquet object that the lifecycle run will demote.
pub fn put(store: &Store) -> Result<()> {
    let table = super::data::bronze_trips(200_000)?;
    store.put_with(
        KEY,
        super::data::to_parquet(&table)?,
        &crate::store::PutOptions {
            encrypt: Some(false),
        },
    )?;
    Ok(())
}

/// Scans the (now cold) object twice and shows what the cache did.
pub fn run(store: &Arc<Store>, say: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    say("\n== Cache: a cold-tier Parquet object scanned twice".into())?;
    let info = store.stat(KEY)?;
    let scan = || {
        crate::Scan::new(KEY)
            .objects(store.clone())
            .metadata_cache(store.cache().footers())
            .columns(&["trip_id", "fare"])
            .filter(crate::Expr::parse("fare > 50")?)
            .run()
    };
    for pass in ["cold", "warm"] {
        let t = Instant::now();
        let out = scan()?;
        let c = store.cache_stats();
        say(format!(
            "{pass} scan of {KEY} (tier {}, {} KiB): {} rows in {:.1?}; blocks {} hits / {} misses, {} fetches ({} KiB, only the projected columns), footer {} hits",
            info.tier,
            info.size >> 10,
            out.stats.rows_out,
            t.elapsed(),
            c.blocks.hits,
            c.blocks.misses,
            c.blocks.fetches,
            c.blocks.fetched_bytes >> 10,
            c.metadata.hits,
        ))?;
    }
    let c = store.cache_stats();
    say(format!(
        "cache holds {} KiB of its {} MiB budget; hit ratio {:.2}; measured tier latency: {}",
        c.bytes >> 10,
        c.budget >> 20,
        c.blocks.hit_ratio,
        c.tiers
            .iter()
            .map(|t| format!("{} {:.2} ms/fetch", t.tier, t.mean_ms))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
