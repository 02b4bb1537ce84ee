//! Catalog costs, in one run:
//!
//! 1. Search over 10,000 entries (tables' and datasets' shapes: names across zones, a
//!    description, tags on some, a dozen columns with descriptions on some): p50 and p99
//!    latency of text, tag, classification and column-type queries, each answered from the
//!    catalog handle as a host holds it (it checks for other writers' records first).
//!    Goal: p99 under 5 ms.
//! 2. The bookkeeping of a table write (the catalog's facts and lineage record, on every
//!    commit): 10 appends of 10k rows to a lake table with it and without it
//!    (`Table::without_write_hook`), alternating, best of 5 rounds each. Goal: at most 3%.
//!
//! Run: `cargo bench --bench catalog`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use strata::catalog::{Kind, Query};
use strata::table::TableOptions;
use strata::Lake;

const ENTRIES: usize = 10_000;
const ZONES: [&str; 4] = ["raw", "bronze", "silver", "gold"];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn batch(from: i64, rows: i64) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(from..from + rows)) as _,
        ),
        (
            "zone",
            Arc::new(StringArray::from_iter_values(
                (from..from + rows).map(|i| ["JFK", "LGA", "EWR"][(i % 3) as usize]),
            )) as _,
        ),
        (
            "fare",
            Arc::new(Float64Array::from_iter_values(
                (from..from + rows).map(|i| i as f64 * 0.5),
            )) as _,
        ),
    ])
    .unwrap()
}

fn search_bench(lake: &Lake) {
    // A dataset of a dozen columns, registered under 10,000 names.
    let files = tempfile::tempdir().unwrap();
    let mut columns: Vec<(String, Arc<dyn arrow::array::Array>)> = Vec::new();
    for c in 0..12 {
        let name = match c {
            0 => "rider_email".to_string(),
            1 => "pickup_zone".to_string(),
            _ => format!("metric_{c}"),
        };
        let array: Arc<dyn arrow::array::Array> = if c < 2 {
            Arc::new(StringArray::from(vec!["a"]))
        } else {
            Arc::new(Float64Array::from(vec![1.0]))
        };
        columns.push((name, array));
    }
    let one = RecordBatch::try_from_iter(columns).unwrap();
    let path = files.path().join("part.parquet");
    let mut file = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut file, one.schema(), None).unwrap();
    w.write(&one).unwrap();
    w.close().unwrap();
    let catalog = lake.catalog().unwrap();
    let started = Instant::now();
    for i in 0..ENTRIES {
        let name = format!("{}/dataset_{i:05}", ZONES[i % ZONES.len()]);
        lake.register(&name, path.to_str().unwrap(), Kind::Dataset)
            .unwrap();
        if i % 10 == 0 {
            catalog
                .tag(&name, &["daily", &format!("team{}", i % 7)])
                .unwrap();
        }
        if i % 25 == 0 {
            catalog
                .describe(
                    &name,
                    None,
                    &format!("Trips of fleet {i} with fares and zones"),
                )
                .unwrap();
            catalog
                .describe(&name, Some("rider_email"), "Where receipts go")
                .unwrap();
        }
    }
    println!(
        "catalog: {ENTRIES} entries registered in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let queries: Vec<(&str, Query)> = vec![
        (
            "text `fleet 12`",
            Query {
                text: Some("fleet 12".into()),
                ..Query::default()
            },
        ),
        (
            "text `dataset_0999`",
            Query {
                text: Some("dataset_0999".into()),
                ..Query::default()
            },
        ),
        (
            "tag team3 in silver",
            Query {
                tag: Some("team3".into()),
                zone: Some("silver".into()),
                ..Query::default()
            },
        ),
        (
            "column type string + text `receipts`",
            Query {
                text: Some("receipts".into()),
                column_type: Some("string".into()),
                ..Query::default()
            },
        ),
    ];
    for (what, q) in &queries {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..200 {
            let t = Instant::now();
            found = std::hint::black_box(catalog.search(q).unwrap()).len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "catalog search over {ENTRIES} entries, {what}: {found} found, p50 {:.2} ms, p99 {:.2} ms (goal p99 < 5 ms)",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3
        );
    }
}

fn overhead_bench(lake: &Lake) {
    const COMMITS: i64 = 10;
    const ROWS: i64 = 10_000;
    let run = |name: &str, hooked: bool| -> Duration {
        let mut table = lake.table(name).unwrap();
        if !hooked {
            table = table.without_write_hook();
        }
        let first = batch(0, ROWS);
        let t = Instant::now();
        table
            .create(&first.schema(), &[first], &TableOptions::default())
            .unwrap();
        for c in 1..COMMITS {
            table.append(&[batch(c * ROWS, ROWS)]).unwrap();
        }
        t.elapsed()
    };
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for round in 0..5 {
        // Alternate which goes first.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for hooked in order {
            let name = format!(
                "bronze/append_{}_{round}",
                if hooked { "on" } else { "off" }
            );
            let took = run(&name, hooked);
            if hooked {
                with.push(took);
            } else {
                without.push(took);
            }
        }
    }
    with.sort();
    without.sort();
    let ratio = with[0].as_secs_f64() / without[0].as_secs_f64();
    println!(
        "catalog: {COMMITS} commits of {ROWS} rows: {:.1} ms with catalog and lineage bookkeeping, {:.1} ms without (best of 5): {:+.1}% (goal <= +3%); medians {:.1} / {:.1} ms",
        with[0].as_secs_f64() * 1e3,
        without[0].as_secs_f64() * 1e3,
        (ratio - 1.0) * 100.0,
        with[2].as_secs_f64() * 1e3,
        without[2].as_secs_f64() * 1e3,
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open_dir(dir.path()).unwrap();
    overhead_bench(&lake);
    search_bench(&lake);
}
