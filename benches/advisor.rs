//! What recording access statistics costs a scan: the same scans with the lake's recorder on
//! and off (`Lake::set_access_stats`), in paired rounds (on and off alternate, their order
//! swapped each round, so drift in the machine hits both alike), on a lake table of 24 files
//! (2.4M rows) and a dataset of 8 lake objects: a full scan of two columns and a filtered
//! scan; and the same dataset on a cached tier, read through the block cache (all hits once
//! warm), where the recorder also counts each read's cache hits and misses for the dataset.
//! The figure is the ratio of the medians, on/off; the goal (issue 28) is at most 1.02.
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
    _cached_dir: tempfile::TempDir,
    /// A lake whose only tier is read through the block cache.
    cached: Lake,
}

impl Setup {
    fn set_access_stats(&self, on: bool) {
        self.lake.set_access_stats(on);
        self.cached.set_access_stats(on);
    }
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
    let cached_dir = tempfile::tempdir().expect("a temp dir");
    let mut config = strata::LakeConfig::local(cached_dir.path());
    let hot = config
        .tiers
        .first()
        .map(|t| t.name.clone())
        .expect("a tier");
    config.cache.tiers = Some(vec![hot]);
    let cached = Lake::open(&config).expect("a cached lake");
    cached
        .write("sales", &rows[0].schema(), &rows, &options)
        .expect("a cached dataset");
    Setup {
        _dir: dir,
        lake,
        _cached_dir: cached_dir,
        cached,
    }
}

type Work = fn(&Setup) -> u64;

fn table_full(setup: &Setup) -> u64 {
    let table = setup.lake.table("silver/events").expect("table");
    let scan = table.scan().expect("scan").columns(&["id", "amount"]);
    scan.run().expect("run").stats.rows_out
}

fn table_filtered(setup: &Setup) -> u64 {
    let table = setup.lake.table("silver/events").expect("table");
    let scan = table
        .scan()
        .expect("scan")
        .columns(&["id", "amount"])
        .filter(Expr::parse("region = 'eu' AND amount < 10").expect("filter"));
    scan.run().expect("run").stats.rows_out
}

fn dataset_full(setup: &Setup) -> u64 {
    let scan = setup
        .lake
        .scan("sales")
        .expect("scan")
        .columns(&["id", "amount"]);
    scan.run().expect("run").stats.rows_out
}

fn dataset_cached(setup: &Setup) -> u64 {
    let scan = setup
        .cached
        .scan("sales")
        .expect("scan")
        .columns(&["id", "amount"]);
    scan.run().expect("run").stats.rows_out
}

const WORK: [(&str, Work); 4] = [
    ("table_full", table_full),
    ("table_filtered", table_filtered),
    ("dataset_full", dataset_full),
    ("dataset_cached", dataset_cached),
];

fn time(setup: &Setup, on: bool, work: Work, reps: u32) -> Duration {
    setup.set_access_stats(on);
    let start = Instant::now();
    for _ in 0..reps {
        black_box(work(setup));
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
    for (name, work) in WORK {
        // Warm the caches and maps.
        time(setup, true, work, 2);
        let (mut on, mut off) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            if round % 2 == 0 {
                on.push(time(setup, true, work, 3));
                off.push(time(setup, false, work, 3));
            } else {
                off.push(time(setup, false, work, 3));
                on.push(time(setup, true, work, 3));
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
    setup.set_access_stats(true);
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
                setup.set_access_stats(on);
                b.iter(|| black_box(work(&setup)))
            });
        }
    }
    group.finish();
    setup.set_access_stats(true);
}

criterion_group!(benches, bench);
criterion_main!(benches);
