//! The demo's zone walk: raw files land in the lake, a bronze Delta table takes them in two
//! appends, a silver table is derived from it, time travel reads an earlier version, and a
//! vacuum dry run lists the files no version needs any more.

use std::time::Duration;

use strata::table::{AsOf, TableOptions};
use strata::{Expr, Lake, Result};

/// Runs the walk, printing through `say`. Re-running it on the same data root appends again
/// (tables keep their history), so every run shows the same steps.
pub fn run(lake: &Lake, say: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    say("\n== Tables: raw files land, bronze takes them in, silver is derived".into())?;
    let trips = super::data::bronze_trips(60_000)?;
    let options = strata::WriteOptions {
        row_group_rows: super::data::ROW_GROUP_ROWS,
        ..strata::WriteOptions::default()
    };
    // Two raw files land as objects, as an ingest job would drop them.
    let mut landed = Vec::new();
    for (i, part) in [trips.slice(0, 30_000), trips.slice(30_000, 30_000)]
        .into_iter()
        .enumerate()
    {
        let key = format!("demo/landing/trips-{}.parquet", i + 1);
        let info =
            lake.write_object(&key, &part.schema(), std::slice::from_ref(&part), &options)?;
        say(format!(
            "landed {key} ({} KiB, tier {})",
            info.size >> 10,
            info.tier
        ))?;
        landed.push(key);
    }

    let bronze = lake.table("bronze/demo_trips")?;
    for key in &landed {
        let batches = lake.scan(key)?.run()?.batches;
        let commit = if bronze.exists()? {
            bronze.append(&batches)?
        } else {
            let schema = batches
                .first()
                .map(|b| b.schema())
                .unwrap_or_else(|| trips.schema());
            let by_zone = TableOptions {
                partition_by: vec!["zone".into()],
                description: Some("taxi trips as they landed".into()),
                owner: Some("demo".into()),
                ..TableOptions::default()
            };
            bronze.create(&schema, &batches, &by_zone)?
        };
        say(format!(
            "bronze/demo_trips version {}: {} rows from {key} in {} files",
            commit.version, commit.rows, commit.files_added
        ))?;
    }

    // Silver: the bronze rows with a fare and a zone, without the card numbers; derived once
    // from the bronze version before the last append, then refreshed from the latest.
    let derive = |as_of: AsOf| -> Result<strata::ScanOutput> {
        bronze
            .scan_as_of(as_of)?
            .columns(&["trip_id", "pickup_at", "zone", "fare", "distance_km"])
            .filter(Expr::parse("fare >= 0 AND zone IS NOT NULL")?)
            .run()
    };
    let latest = bronze.version()?;
    let silver = lake.table("silver/demo_trips")?;
    if !silver.exists()? {
        let first = derive(AsOf::Version(latest.saturating_sub(1)))?;
        let commit = silver.create(&first.schema, &first.batches, &TableOptions::default())?;
        say(format!(
            "silver/demo_trips version {}: {} clean rows from bronze version {}",
            commit.version,
            commit.rows,
            latest.saturating_sub(1)
        ))?;
    }
    let clean = derive(AsOf::Latest)?;
    let commit = silver.overwrite(&clean.batches)?;
    say(format!(
        "silver/demo_trips version {}: refreshed with the {} clean rows of the {} in bronze",
        commit.version,
        commit.rows,
        bronze.scan()?.count()?.0,
    ))?;

    // Time travel: the bronze table before its last append.
    if latest > 0 {
        let (then, _) = bronze.scan_as_of(AsOf::Version(latest - 1))?.count()?;
        let (now, _) = bronze.scan()?.count()?;
        say(format!(
            "time travel: bronze/demo_trips had {then} rows at version {} and has {now} at version {latest}",
            latest - 1
        ))?;
    }
    let jfk = bronze.scan()?.filter(Expr::parse("zone = 'JFK'")?).run()?;
    say(format!(
        "scan of zone = 'JFK': {} rows, {} of {} files skipped by their partition",
        jfk.stats.rows_out,
        jfk.stats.files_skipped,
        jfk.stats.files + jfk.stats.files_skipped
    ))?;
    for entry in bronze.history()?.iter().take(3) {
        say(format!(
            "  history v{}: {} +{} files ({} rows)",
            entry.version,
            entry.operation.as_deref().unwrap_or("-"),
            entry.files_added,
            entry
                .rows_added
                .map(|r| r.to_string())
                .unwrap_or_else(|| "?".into())
        ))?;
    }
    // What a vacuum with no retention would delete: files older versions of silver need.
    let dry = silver.vacuum(Duration::ZERO, true, true)?;
    say(format!(
        "vacuum --retain 0 --force --dry-run on silver/demo_trips would delete {} files that only \
         older versions read; nothing deleted (the default keeps them 7 days)",
        dry.files.len()
    ))?;
    for file in dry.files.iter().take(3) {
        say(format!("  {file}"))?;
    }
    Ok(())
}
