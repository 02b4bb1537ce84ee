//! Format benches on a mixed-type table (sorted and random ints, floats, low- and
//! high-cardinality strings, timestamps, dates, booleans, nulls):
//!
//! - file size: `auto` against strata with each fixed codec (snappy, lz4, zstd:3) and against
//!   the parquet crate's ArrowWriter defaults with those codecs (printed once; goal: auto at most
//!   1.02x the smallest fixed choice);
//! - scan: decoding the whole `fast` file against the `snappy` one, in process CPU time (decoding
//!   is single-threaded here; goal: fast at least as fast);
//! - write: strata's writer (columns encoded in parallel) against ArrowWriter with the same
//!   WriterProperties (goal: at least as fast), plus the full `write` path with selection.
//!
//! - CSV in: `read_input` of the table as CSV (about 50 MB) on a pool of 1 and of 2 threads
//!   against arrow's one-thread reader (schema inferred over the whole file, then read), and the
//!   whole CSV -> Parquet path under `--codec auto` and `snappy` on 2 threads (goal: 2 threads
//!   at least 1.7x faster than 1; auto at most 1.1x snappy, its trials a tenth of the write).
//!
//! The machine these run on is shared, so besides criterion's figures each comparison is also
//! run as interleaved pairs (A, B, A, B, ...) and the best time of each side is compared: the
//! best of many runs is the one least disturbed by other processes, and interleaving exposes
//! both sides to the same load. Those ratios are printed as `paired:` lines.
//!
//! Run: `cargo bench --bench format`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use bytes::Bytes;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use strata::{format::CodecPolicy, WriteOptions};

// The tests' mixed-type table (tests/format_*.rs use it too).
#[path = "../tests/common/mixed.rs"]
mod mixed;

const ROWS: usize = 1 << 19;
const ROW_GROUP: usize = 1 << 17;

fn table() -> Vec<RecordBatch> {
    let t = mixed::mixed_table(ROWS, 42).unwrap();
    (0..ROWS)
        .step_by(8192)
        .map(|o| t.slice(o, 8192.min(ROWS - o)))
        .collect()
}

fn strata_file(dir: &std::path::Path, batches: &[RecordBatch], codec: &str) -> Bytes {
    let path = dir.join(format!("{}.parquet", codec.replace(':', "")));
    let options = WriteOptions {
        codec: codec.parse::<CodecPolicy>().unwrap(),
        row_group_rows: ROW_GROUP,
        ..WriteOptions::default()
    };
    strata::format::write(&path, &batches[0].schema(), batches, &options).unwrap();
    Bytes::from(std::fs::read(path).unwrap())
}

fn props(c: Compression) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(c)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build()
}

fn arrow_writer(batches: &[RecordBatch], p: WriterProperties) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batches[0].schema(), Some(p)).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    out
}

fn scan(bytes: &Bytes) -> usize {
    ParquetRecordBatchReaderBuilder::try_new(bytes.clone())
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum()
}

/// CPU time of the whole process, in nanoseconds: for single-threaded work (scans) on a shared
/// machine, where wall time also counts other processes' turns.
fn cpu_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn wall_ns() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Process CPU time as a criterion measurement.
struct ProcessCpu;

static NANOS: WallTime = WallTime;

impl Measurement for ProcessCpu {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        cpu_ns().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        NANOS.formatter()
    }
}

/// The best and the median of some timings.
struct Timing {
    best: Duration,
    median: Duration,
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "best {:.1?}, median {:.1?}", self.best, self.median)
    }
}

fn timing(mut ns: Vec<u64>) -> Timing {
    ns.sort_unstable();
    Timing {
        best: Duration::from_nanos(ns[0]),
        median: Duration::from_nanos(ns[ns.len() / 2]),
    }
}

/// Runs `a` and `b` alternately `rounds` times on `clock`; their timings and the ratios of
/// the best and of the median times (b / a: above 1 means `a` is faster).
fn paired(
    rounds: usize,
    clock: fn() -> u64,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (Timing, Timing, String) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = clock();
        a();
        ta.push(clock() - t);
        let t = clock();
        b();
        tb.push(clock() - t);
    }
    let (ta, tb) = (timing(ta), timing(tb));
    let ratio = format!(
        "{:.3} best, {:.3} median",
        tb.best.as_secs_f64() / ta.best.as_secs_f64(),
        tb.median.as_secs_f64() / ta.median.as_secs_f64()
    );
    (ta, tb, ratio)
}

fn sizes_and_scan(c: &mut Criterion<ProcessCpu>) {
    let dir = tempfile::tempdir().unwrap();
    let batches = table();
    let mem = mixed::mixed_table(ROWS, 42)
        .unwrap()
        .get_array_memory_size();
    let auto = strata_file(dir.path(), &batches, "auto");
    let fast = strata_file(dir.path(), &batches, "fast");
    let mut fixed = Vec::new();
    for codec in ["snappy", "lz4", "zstd:3"] {
        fixed.push((codec, strata_file(dir.path(), &batches, codec)));
    }
    let plain = [
        ("snappy", Compression::SNAPPY),
        ("lz4", Compression::LZ4_RAW),
        ("zstd:3", Compression::ZSTD(ZstdLevel::try_new(3).unwrap())),
    ]
    .map(|(n, c)| (n, arrow_writer(&batches, props(c)).len()));
    println!("\nfile sizes, {ROWS} mixed rows ({mem} bytes in memory):");
    println!("  strata auto     {:>10} B", auto.len());
    println!("  strata fast     {:>10} B", fast.len());
    for (n, b) in &fixed {
        println!("  strata {n:<8} {:>10} B", b.len());
    }
    for (n, len) in &plain {
        println!("  ArrowWriter {n:<8} {len:>10} B (parquet crate defaults)");
    }
    let smallest_fixed = fixed.iter().map(|(_, b)| b.len()).min().unwrap();
    let smallest_plain = plain.iter().map(|(_, l)| *l).min().unwrap();
    println!(
        "  auto / smallest strata fixed codec = {:.4} (goal <= 1.02); auto / smallest ArrowWriter = {:.4}",
        auto.len() as f64 / smallest_fixed as f64,
        auto.len() as f64 / smallest_plain as f64
    );

    let snappy = fixed[0].1.clone();
    let snappy_plain = Bytes::from(arrow_writer(&batches, props(Compression::SNAPPY)));
    let (f, s, ratio) = paired(
        30,
        cpu_ns,
        || {
            black_box(scan(&fast));
        },
        || {
            black_box(scan(&snappy));
        },
    );
    println!(
        "paired: scan fast ({f}) vs snappy ({s}), CPU time, 30 rounds: snappy/fast = {ratio} (goal >= 1)"
    );
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Elements(ROWS as u64));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    group.bench_function("snappy", |b| b.iter(|| black_box(scan(&snappy))));
    group.bench_function("fast", |b| b.iter(|| black_box(scan(&fast))));
    group.bench_function("snappy_arrowwriter_defaults", |b| {
        b.iter(|| black_box(scan(&snappy_plain)))
    });
    group.finish();
}

fn write(c: &mut Criterion) {
    let batches = table();
    let schema = batches[0].schema();
    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::Elements(ROWS as u64));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for (name, codec) in [
        ("snappy", Compression::SNAPPY),
        ("zstd3", Compression::ZSTD(ZstdLevel::try_new(3).unwrap())),
    ] {
        let p = props(codec);
        group.bench_function(format!("arrow_writer_{name}"), |b| {
            b.iter(|| black_box(arrow_writer(&batches, p.clone()).len()))
        });
        group.bench_function(format!("strata_{name}"), |b| {
            b.iter(|| {
                black_box(
                    strata::format::write_parquet(
                        Vec::new(),
                        &schema,
                        &batches,
                        p.clone(),
                        ROW_GROUP,
                    )
                    .unwrap()
                    .len(),
                )
            })
        });
    }
    for (name, codec) in [
        ("snappy", Compression::SNAPPY),
        ("zstd3", Compression::ZSTD(ZstdLevel::try_new(3).unwrap())),
    ] {
        let p = props(codec);
        let (a, w, ratio) = paired(
            8,
            wall_ns,
            || {
                black_box(
                    strata::format::write_parquet(
                        Vec::new(),
                        &schema,
                        &batches,
                        p.clone(),
                        ROW_GROUP,
                    )
                    .unwrap(),
                );
            },
            || {
                black_box(arrow_writer(&batches, p.clone()));
            },
        );
        println!(
            "paired: write {name}, same WriterProperties: strata ({a}) vs ArrowWriter ({w}), 8 rounds: ArrowWriter/strata = {ratio} (goal >= 1)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let p = props(Compression::SNAPPY);
    let (a, w, ratio) = paired(
        8,
        wall_ns,
        || {
            black_box(strata_file(dir.path(), &batches, "snappy"));
        },
        || {
            black_box(arrow_writer(&batches, p.clone()));
        },
    );
    println!(
        "paired: write path --codec snappy, encodings chosen per column ({a}) vs ArrowWriter snappy defaults ({w}): ArrowWriter/strata = {ratio}"
    );
    for codec in ["snappy", "auto"] {
        group.bench_function(format!("strata_write_path_{codec}"), |b| {
            b.iter(|| black_box(strata_file(dir.path(), &batches, codec).len()))
        });
    }
    group.finish();
}

/// The table as a CSV file.
fn csv_file(dir: &std::path::Path, batches: &[RecordBatch]) -> std::path::PathBuf {
    let path = dir.join("mixed.csv");
    let mut writer = arrow::csv::Writer::new(std::fs::File::create(&path).unwrap());
    for b in batches {
        writer.write(b).unwrap();
    }
    path
}

/// Arrow's one-thread CSV read: the schema inferred over the whole file, then the rows.
fn arrow_csv(path: &std::path::Path) -> usize {
    let format = arrow::csv::reader::Format::default().with_header(true);
    let (schema, _) = format
        .infer_schema(std::fs::File::open(path).unwrap(), None)
        .unwrap();
    arrow::csv::ReaderBuilder::new(std::sync::Arc::new(schema))
        .with_format(format)
        .build(std::fs::File::open(path).unwrap())
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

fn csv(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = csv_file(dir.path(), &table());
    let read = |threads: usize| {
        let path = path.clone();
        move || {
            let (_, batches) = pool(threads)
                .install(|| strata::format::read_input(&path, None))
                .unwrap();
            black_box(batches.len());
        }
    };
    let mut group = c.benchmark_group("csv");
    group.throughput(Throughput::Bytes(std::fs::metadata(&path).unwrap().len()));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("arrow_one_thread", |b| {
        b.iter(|| black_box(arrow_csv(&path)))
    });
    for threads in [1, 2] {
        group.bench_function(format!("strata_read_input_{threads}_threads"), |b| {
            b.iter(read(threads))
        });
    }
    let (two, one, ratio) = paired(6, wall_ns, read(2), read(1));
    println!(
        "paired: CSV read, 1 thread ({one}) vs 2 threads ({two}): 1/2 = {ratio} (goal >= 1.7)"
    );
    let (_, arrow, ratio) = paired(6, wall_ns, read(2), || {
        black_box(arrow_csv(&path));
    });
    println!(
        "paired: CSV read, strata 2 threads vs arrow one thread ({arrow}): arrow/strata = {ratio}"
    );
    let out = dir.path().join("out.parquet");
    let to_parquet = |codec: &'static str| {
        let (path, out) = (path.clone(), out.clone());
        move || {
            pool(2).install(|| {
                let (schema, batches) = strata::format::read_input(&path, None).unwrap();
                let options = WriteOptions {
                    codec: codec.parse::<CodecPolicy>().unwrap(),
                    ..WriteOptions::default()
                };
                black_box(strata::format::write(&out, &schema, &batches, &options).unwrap());
            })
        }
    };
    for codec in ["auto", "snappy"] {
        group.bench_function(format!("csv_to_parquet_{codec}_2_threads"), |b| {
            b.iter(to_parquet(codec))
        });
    }
    let (auto, snappy, ratio) = paired(6, wall_ns, to_parquet("auto"), to_parquet("snappy"));
    println!(
        "paired: CSV -> Parquet on 2 threads, auto ({auto}) vs snappy ({snappy}): snappy/auto = {ratio} (goal >= 0.9)"
    );
    group.finish();
}

criterion_group! {
    name = scans;
    // Scans decode on one thread: CPU time, steady on a shared machine.
    config = Criterion::default().with_measurement(ProcessCpu);
    targets = sizes_and_scan
}
// Writes encode columns in parallel: wall time, the only clock that shows it.
criterion_group!(writes, write, csv);
criterion_main!(scans, writes);
