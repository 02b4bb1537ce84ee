//! The demo's zone walk: raw files land in the lake, a bronze Delta table takes them in two
//! appends, a silver table is derived from it, a gold table is merged from silver, time travel
//! reads an earlier version, and a vacuum dry run lists the files no version needs any more.
//! The catalog then shows what the walk made, the lineage from the raw files to gold, and the
//! OpenLineage events of every write (written to a file beside the data).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use strata::catalog::{Direction, Query};
use strata::table::{AsOf, MergeOptions, Source, TableOptions};
use strata::{Expr, Lake, Result};

/// Where the demo writes the OpenLineage events of its table writes, under the data root.
pub const EVENTS_FILE: &str = "demo/openlineage-events.jsonl";

/// Runs the walk, printing through `say`. Re-running it on the same data root appends again
/// (tables keep their history), so every run shows the same steps.
pub fn run(lake: &Lake, say: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    say(
        "\n== Tables: raw files land, bronze takes them in, silver is derived, gold merged".into(),
    )?;
    // Every write below is recorded as made by this job, and its OpenLineage events (START,
    // then COMPLETE or FAIL) are collected for the events file.
    let lake = &lake.with_job("strata demo: zone walk");
    let events: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    lake.set_lineage_callback(Some(Arc::new(move |event: &str| {
        if let Ok(mut events) = sink.lock() {
            events.push(event.to_string());
        }
    })));
    let walked = walk(lake, say);
    lake.set_lineage_callback(None);
    walked?;
    let path = lake.dir().join(EVENTS_FILE);
    let lines: Vec<String> = events.lock().map(|e| e.clone()).unwrap_or_default();
    let mut text = lines.join("\n");
    text.push('\n');
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            strata::Error::new(
                strata::ErrorKind::Io,
                format!("cannot create {}: {e}", parent.display()),
            )
        })?;
    }
    let file = strata::AtomicFile::create(&path)?;
    {
        use std::io::Write;
        let mut file = file;
        file.write_all(text.as_bytes()).map_err(|e| {
            strata::Error::new(
                strata::ErrorKind::Io,
                format!("cannot write the events: {e}"),
            )
        })?;
        file.commit()?;
    }
    say(format!(
        "OpenLineage: {} RunEvents of this walk's writes (START and COMPLETE, with schema and column lineage facets) in {}",
        lines.len(),
        path.display()
    ))?;
    Ok(())
}

fn walk(lake: &Lake, say: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
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
        let bronze = lake
            .table("bronze/demo_trips")?
            .reading(vec![Source::object(key.clone())]);
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
        let commit = silver
            .clone()
            .reading(vec![Source::table(
                "bronze/demo_trips",
                Some(latest.saturating_sub(1)),
            )])
            .create(&first.schema, &first.batches, &TableOptions::default())?;
        say(format!(
            "silver/demo_trips version {}: {} clean rows from bronze version {}",
            commit.version,
            commit.rows,
            latest.saturating_sub(1)
        ))?;
    }
    let clean = derive(AsOf::Latest)?;
    let commit = silver
        .clone()
        .reading(vec![Source::table("bronze/demo_trips", Some(latest))])
        .overwrite(&clean.batches)?;
    say(format!(
        "silver/demo_trips version {}: refreshed with the {} clean rows of the {} in bronze",
        commit.version,
        commit.rows,
        bronze.scan()?.count()?.0,
    ))?;

    // Gold: the long trips, merged (upserted) from silver by trip_id.
    let silver_version = silver.version()?;
    let long = silver
        .scan()?
        .filter(Expr::parse("distance_km >= 10")?)
        .run()?;
    let gold = lake
        .table("gold/demo_long_trips")?
        .reading(vec![Source::table(
            "silver/demo_trips",
            Some(silver_version),
        )]);
    if !gold.exists()? {
        gold.create(&long.schema, &[], &TableOptions::default())?;
    }
    // Bronze keeps the duplicates that landed (the quality check above finds them); a merge
    // takes one row per key, so gold takes each trip's first.
    let long_once = first_per_trip(&long.batches)?;
    let merged = gold.merge(
        &long_once,
        &MergeOptions {
            on: vec!["trip_id".into()],
            ..MergeOptions::default()
        },
    )?;
    let commit = format!(
        "gold/demo_long_trips version {}: merged {} long trips from silver ({} updated, {} inserted)",
        merged
            .version
            .map_or_else(|| "unchanged".into(), |v| v.to_string()),
        long.stats.rows_out,
        merged.rows_updated,
        merged.rows_inserted
    );
    say(commit)?;

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
    catalog(lake, say)
}

/// What the catalog knows of the walk: its tables, one searched for, and gold's lineage.
fn catalog(lake: &Lake, say: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    say("\n== The catalog: what the walk made, and how".into())?;
    let catalog = lake.catalog()?;
    catalog.describe(
        "gold/demo_long_trips",
        None,
        "Trips of 10 km or more, merged from silver by trip_id",
    )?;
    catalog.tag("gold/demo_long_trips", &["demo", "daily"])?;
    for e in catalog.search(&Query {
        text: Some("demo_".into()),
        ..Query::default()
    })? {
        say(format!(
            "  {:<24} {:<5} v{} {:>7} rows {:>9} B  owner {}  {}",
            e.name,
            e.format,
            e.version.map_or_else(|| "-".into(), |v| v.to_string()),
            e.rows.map_or_else(|| "?".into(), |r| r.to_string()),
            e.bytes,
            e.owner.as_deref().unwrap_or("-"),
            e.description.as_deref().unwrap_or("")
        ))?;
    }
    let found = catalog.search(&Query {
        tag: Some("daily".into()),
        column_type: Some("double".into()),
        ..Query::default()
    })?;
    let names: Vec<&str> = found.iter().map(|e| e.name.as_str()).collect();
    say(format!(
        "search: tag daily with a double column: {}",
        names.join(", ")
    ))?;
    let walk = catalog.lineage("gold/demo_long_trips", Direction::Upstream, None)?;
    say("lineage of gold/demo_long_trips, upstream (input@version -> output@version):".into())?;
    let at = |n: &strata::catalog::Node| n.version.map(|v| format!("@{v}")).unwrap_or_default();
    for e in &walk.edges {
        say(format!(
            "  {}{} -> {}{}  ({})",
            e.from.name,
            at(&e.from),
            e.to.name,
            at(&e.to),
            e.operation
        ))?;
    }
    if let Some(columns) = walk.columns.get("gold/demo_long_trips") {
        let shown: Vec<String> = columns
            .iter()
            .take(3)
            .map(|c| {
                format!(
                    "{} <- silver/demo_trips.{} ({})",
                    c.column, c.column, c.transformation
                )
            })
            .collect();
        say(format!("  columns: {}, ...", shown.join("; ")))?;
    }
    Ok(())
}

/// Each trip's first row (by `trip_id`), in order.
fn first_per_trip(batches: &[arrow::array::RecordBatch]) -> Result<Vec<arrow::array::RecordBatch>> {
    use arrow::array::{Array, AsArray, BooleanArray};
    use arrow::datatypes::Int64Type;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let Some(ids) = batch.column_by_name("trip_id") else {
            out.push(batch.clone());
            continue;
        };
        let ids = ids.as_primitive::<Int64Type>();
        let keep: BooleanArray = (0..ids.len())
            .map(|i| Some(ids.is_valid(i) && seen.insert(ids.value(i))))
            .collect();
        out.push(
            arrow::compute::filter_record_batch(batch, &keep).map_err(|e| {
                strata::Error::new(
                    strata::ErrorKind::Internal,
                    format!("cannot filter rows: {e}"),
                )
            })?,
        );
    }
    Ok(out)
}
