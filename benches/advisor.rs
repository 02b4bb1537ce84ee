//! What recording access statistics costs a scan: the same scans with the lake's recorder on
//! and off (`Lake::set_access_stats`), in paired rounds (on and off alternate, their order
//! swapped each round, so drift in the machine hits both alike), on a lake table of 24 files
//! (2.4M rows) and a dataset of 8 lake objects: a full scan of two columns and a filtered
//! scan. The figure is the ratio of the medians, on/off; the goal (issue 28) is at most 1.02.
//!
//! Run: `cargo bench --bench advisor` (`STRATA_ADVISOR_BENCH_ROUNDS`, default 15, sets the
//! rounds of the paired measurement; criterion's own timings of both modes follow).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use criterion::{criterion_group, criterion_main, Criterion};
use strata::table::TableOptions;
use strata::{Expr, Lake};

const FILES: i64 = 24;
const PER_FILE: i64 = 100_000;

fn mix(i: i64) -> u64 {
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn batch(from: i64, n: i64) -> RecordBatch {
    let regions = ["eu", "us", "apac", "latam"];
    let ids: Vec<i64> = (from..from + n).collect();
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids.iter().copied())) as _,
        ),
        (
            "region",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|&i| regions[(mix(i) % 4) as usize]),
            )) as _,
        ),
        (
            "amount",
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|&i| (mix(-i) % 100_000) as f64 * 0.01),
            )) as _,
        ),
    ])
    .expect("a batch")
}

struct Setup {
    _dir: tempfile::TempDir,
    lake: Lake,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("a temp dir");
    let lake = Lake::open_dir(dir.path()).expect("a lake");
    let table = lake.table("silver/events").expect("a table");
    let first = batch(0, PER_FILE);
    table
        .create(&first.schema(), &[first], &TableOptions::default())
        .expect("create");
    for i in 1..FILES {
        table
            .append(&[batch(i * PER_FILE, PER_FILE)])
            .expect("append");
    }
    let rows: Vec<RecordBatch> = (0..8).map(|i| batch(i * PER_FILE, PER_FILE)).collect();
    let options = strata::WriteOptions {
        target_file_bytes: 1 << 20,
        ..strata::WriteOptions::default()
    };
    lake.write("sales", &rows[0].schema(), &rows, &options)
        .expect("a dataset");
    Setup { _dir: dir, lake }
}

type Work = fn(&Lake) -> u64;

fn table_full(lake: &Lake) -> u64 {
    let table = lake.table("silver/events").expect("table");
    let scan = table.scan().expect("scan").columns(&["id", "amount"]);
    scan.run().expect("run").stats.rows_out
}

fn table_filtered(lake: &Lake) -> u64 {
    let table = lake.table("silver/events").expect("table");
    let scan = table
        .scan()
        .expect("scan")
        .columns(&["id", "amount"])
        .filter(Expr::parse("region = 'eu' AND amount < 10").expect("filter"));
    scan.run().expect("run").stats.rows_out
}

fn dataset_full(lake: &Lake) -> u64 {
    let scan = lake.scan("sales").expect("scan").columns(&["id", "amount"]);
    scan.run().expect("run").stats.rows_out
}

const WORK: [(&str, Work); 3] = [
    ("table_full", table_full),
    ("table_filtered", table_filtered),
    ("dataset_full", dataset_full),
];

fn time(lake: &Lake, on: bool, work: Work, reps: u32) -> Duration {
    lake.set_access_stats(on);
    let start = Instant::now();
    for _ in 0..reps {
        black_box(work(lake));
    }
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Paired rounds: prints, per workload, the median times with the recorder on and off and
/// their ratio.
fn paired(setup: &Setup) {
    let rounds: usize = std::env::var("STRATA_ADVISOR_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let lake = &setup.lake;
    for (name, work) in WORK {
        // Warm the caches and maps.
        time(lake, true, work, 2);
        let (mut on, mut off) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            if round % 2 == 0 {
                on.push(time(lake, true, work, 3));
                off.push(time(lake, false, work, 3));
            } else {
                off.push(time(lake, false, work, 3));
                on.push(time(lake, true, work, 3));
            }
        }
        let (on, off) = (median(on), median(off));
        println!(
            "advisor/{name}: stats on {:.3} ms, off {:.3} ms per 3 scans, ratio {:.4} (goal <= 1.02)",
            on.as_secs_f64() * 1e3,
            off.as_secs_f64() * 1e3,
            on.as_secs_f64() / off.as_secs_f64()
        );
    }
    lake.set_access_stats(true);
}

fn bench(c: &mut Criterion) {
    let setup = setup();
    paired(&setup);
    let mut group = c.benchmark_group("advisor");
    group.sample_size(20);
    for (name, work) in WORK {
        for on in [true, false] {
            let id = format!("{name}/stats_{}", if on { "on" } else { "off" });
            group.bench_function(id, |b| {
                setup.lake.set_access_stats(on);
                b.iter(|| black_box(work(&setup.lake)))
            });
        }
    }
    group.finish();
    setup.lake.set_access_stats(true);
}

criterion_group!(benches, bench);
criterion_main!(benches);
