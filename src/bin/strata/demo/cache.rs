//! The demo's cache part: a Parquet object in the cold tier scanned twice through the cache.

use std::time::Instant;

use strata::{Lake, Result};

/// The object the demo leaves for the lifecycle run to demote, then scans.
pub const KEY: &str = "demo/cold/trips.parquet";

/// Writes the Parquet object that the lifecycle run will demote (in clear, as Parquet files
/// meant for other engines are kept: see the bronze step).
pub fn put(store: &Lake) -> Result<()> {
    let table = super::data::bronze_trips(200_000)?;
    let options = strata::WriteOptions {
        row_group_rows: super::data::ROW_GROUP_ROWS,
        ..strata::WriteOptions::default()
    };
    store.write_object_with(
        KEY,
        &table.schema(),
        std::slice::from_ref(&table),
        &options,
        &strata::PutOptions {
            encrypt: Some(false),
        },
    )?;
    Ok(())
}

/// Scans the (now cold) object twice and shows what the cache did.
pub fn run(store: &Lake, say: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    say("\n== Cache: a cold-tier Parquet object scanned twice".into())?;
    let info = store.stat(KEY)?;
    let scan = || {
        store
            .scan(KEY)?
            .columns(&["trip_id", "fare"])
            .filter(strata::Expr::parse("fare > 50")?)
            .run()
    };
    for pass in ["cold", "warm"] {
        let before = store.cache_stats();
        let t = Instant::now();
        let out = scan()?;
        let took = t.elapsed();
        let after = store.cache_stats();
        let (b, a) = (&before.blocks, &after.blocks);
        say(format!(
            "{pass} scan of {KEY} (tier {}, {} KiB): {} rows in {took:.1?}; blocks {} hits / {} misses, {} coalesced ranged fetches of {} KiB, footer {}",
            info.tier,
            info.size >> 10,
            out.stats.rows_out,
            a.hits - b.hits,
            a.misses - b.misses,
            a.fetches - b.fetches,
            (a.fetched_bytes - b.fetched_bytes) >> 10,
            if after.metadata.hits > before.metadata.hits { "cached" } else { "parsed" },
        ))?;
    }
    let c = store.cache_stats();
    say(format!(
        "cache now holds {} KiB of its {} MiB budget (the demo read the cold model through it too), block hit ratio so far {:.2}; measured tier latency: {}",
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
