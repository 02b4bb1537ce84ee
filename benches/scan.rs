//! Scan speed on one generated Parquet file of about 1 GiB (6 columns, 24 row groups of 1M
//! rows, page index), once compressed with snappy and once with zstd:
//!
//! * full scan and a 2-column projection: strata (1 and 2 threads, 2 threads without row
//!   order kept, and 2 partitions on 2 threads, each consuming its own batches:
//!   `strata_partitioned/2`, `Scan::for_each_partitioned`) against the parquet crate's plain `File` reader and the parquet crate over
//!   `Bytes` already in memory (both one thread, which is all they offer);
//! * a 1%-selective range filter, where the page index skips most pages, against the full scan;
//! * for the 2-thread goal, a ceiling: the parquet crate over `Bytes` on two threads by hand,
//!   each decoding half of the row groups with nothing handed between them
//!   (`parquet_bytes_halves/2`). No scan on two threads can do better than that here;
//! * and why: copying as many bytes as the scan's column chunks hold, out of memory, on one
//!   thread and on two (`read_bandwidth/1`, `read_bandwidth/2`). A scan that reads faster
//!   than one thread's share of the memory bandwidth cannot scale past what two get.
//!
//! Like for like: every reader decodes batches of 8,192 rows (strata's default; the parquet
//! crate's own default is 1,024). Two states are compared, each with its own pair:
//! * fresh: `parquet_file` opens the file and parses the footer on every iteration, and so
//!   does `strata_fresh/1`, which runs with no kept maps (`strata::tuning::set_kept_maps(0)`
//!   for its duration): each scan maps the file afresh. The I/O paths differ (pread into
//!   buffers against a memory map); both read from a warm OS page cache.
//! * kept: `parquet_bytes` reads bytes kept in memory across iterations, and `strata/N` reuses
//!   the map strata keeps of a recently scanned file (its default): both find the file's
//!   bytes in memory already.
//!
//! Run: `cargo bench --bench scan`. The files are generated once into `target/scan-bench/`
//! (set `STRATA_SCAN_BENCH_DIR` to put them elsewhere); `benches/scan_compare.py` times DuckDB
//! and polars on the same files. Goals (issue 4): strata at most 0.9x the `File` reader and
//! 1.0x the `Bytes` reader, the filter at most 0.15x the full scan, 2 threads at least 1.7x
//! faster than 1.
//!
//! All of it runs after `strata::tuning::raise_malloc_thresholds`, as the `strata` command
//! does at start: without it, glibc faults in afresh the buffers the parquet crate frees (see
//! src/read/heap.rs), and strata is timed as a host that opted in.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use bytes::Bytes;
use criterion::{criterion_group, Criterion, Throughput};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use strata::{Expr, Scan};

const ROWS: i64 = 24_000_000;
const ROW_GROUP: i64 = 1_000_000;
const ZONES: [&str; 8] = [
    "JFK", "LGA", "EWR", "Midtown", "Harlem", "SoHo", "Astoria", "Queens",
];

fn bench_dir() -> PathBuf {
    std::env::var_os("STRATA_SCAN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/scan-bench"))
}

/// Rows `start..start + n`: `id` sorted, `ts` ascending microseconds, `qty` and `price`
/// pseudo-random, `zone` one of 8 strings, `tag` a 16-hex-digit string per row.
fn rows(start: i64, n: i64) -> RecordBatch {
    let ids: Vec<i64> = (start..start + n).collect();
    let mix = |i: i64| {
        let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^ (x >> 32)
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(ids.clone()))),
        (
            "ts",
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                ids.iter().map(|i| 1_700_000_000_000_000 + i * 1_250),
            )),
        ),
        (
            "qty",
            Arc::new(Int32Array::from_iter_values(
                ids.iter().map(|i| (mix(*i) % 1_000_000) as i32),
            )),
        ),
        (
            "price",
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|i| (mix(i + 7) >> 11) as f64 / 9e9),
            )),
        ),
        (
            "zone",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| ZONES[(mix(i + 3) % 8) as usize]),
            )),
        ),
        (
            "tag",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("{:016x}", mix(i + 11))),
            )),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

/// The bench file for `codec`, written on first use.
fn file(codec: &str) -> PathBuf {
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("scan_{codec}.parquet"));
    if path.exists() {
        return path;
    }
    let compression = match codec {
        "snappy" => Compression::SNAPPY,
        _ => Compression::ZSTD(ZstdLevel::try_new(3).unwrap()),
    };
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP as usize))
        .build();
    let staging = path.with_extension("parquet.tmp");
    let out = std::fs::File::create(&staging).unwrap();
    let mut writer = ArrowWriter::try_new(out, rows(0, 1).schema(), Some(props)).unwrap();
    let chunk = 250_000;
    for start in (0..ROWS).step_by(chunk as usize) {
        writer.write(&rows(start, chunk.min(ROWS - start))).unwrap();
    }
    writer.close().unwrap();
    std::fs::rename(&staging, &path).unwrap();
    eprintln!(
        "wrote {} ({} MiB)",
        path.display(),
        std::fs::metadata(&path).unwrap().len() >> 20
    );
    path
}

/// The parquet crate alone, one thread: rows read.
fn parquet_crate<T: parquet::file::reader::ChunkReader + 'static>(
    input: T,
    columns: Option<&[&str]>,
) -> usize {
    parquet_row_groups(input, columns, None)
}

/// The parquet crate on two threads, each decoding half the row groups of `input` and
/// dropping its batches: rows read.
fn parquet_halves(input: &Bytes, columns: Option<&[&str]>) -> usize {
    let groups = ParquetRecordBatchReaderBuilder::try_new(input.clone())
        .unwrap()
        .metadata()
        .num_row_groups();
    let (first, second): (Vec<usize>, Vec<usize>) = (0..groups).partition(|g| g % 2 == 0);
    std::thread::scope(|s| {
        let other = s.spawn(|| parquet_row_groups(input.clone(), columns, Some(second)));
        parquet_row_groups(input.clone(), columns, Some(first)) + other.join().unwrap()
    })
}

/// One parquet crate reader over `row_groups` (all when `None`): rows read.
fn parquet_row_groups<T: parquet::file::reader::ChunkReader + 'static>(
    input: T,
    columns: Option<&[&str]>,
    row_groups: Option<Vec<usize>>,
) -> usize {
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(input)
        .unwrap()
        .with_batch_size(strata::read::DEFAULT_BATCH_SIZE);
    if let Some(groups) = row_groups {
        builder = builder.with_row_groups(groups);
    }
    let builder = match columns {
        Some(names) => {
            let mask = ProjectionMask::columns(builder.parquet_schema(), names.iter().copied());
            builder.with_projection(mask)
        }
        None => builder,
    };
    builder
        .build()
        .unwrap()
        .map(|b| black_box(b.unwrap()).num_rows())
        .sum()
}

/// Compressed bytes of the column chunks a scan of `columns` (all when `None`) reads.
fn chunk_bytes(input: &Bytes, columns: Option<&[&str]>) -> usize {
    let builder = ParquetRecordBatchReaderBuilder::try_new(input.clone()).unwrap();
    let bytes: i64 = builder
        .metadata()
        .row_groups()
        .iter()
        .flat_map(|rg| rg.columns())
        .filter(|c| columns.is_none_or(|names| names.contains(&c.column_path().string().as_str())))
        .map(|c| c.compressed_size())
        .sum();
    usize::try_from(bytes).unwrap().min(input.len())
}

/// Copies `input` 1 MiB at a time into a buffer that stays in cache, split between `threads`
/// threads: the memory bandwidth a scan of these bytes has at most.
fn read_through(input: &[u8], threads: usize) -> u64 {
    const PIECE: usize = 1 << 20;
    let part = input.len().div_ceil(threads);
    std::thread::scope(|s| {
        let copies: Vec<_> = input
            .chunks(part)
            .map(|part| {
                s.spawn(move || {
                    let mut buffer = vec![0u8; PIECE];
                    let mut sum = 0u64;
                    for piece in part.chunks(PIECE) {
                        buffer[..piece.len()].copy_from_slice(piece);
                        sum += u64::from(black_box(&buffer)[piece.len() - 1]);
                    }
                    sum
                })
            })
            .collect();
        copies.into_iter().map(|c| c.join().unwrap()).sum()
    })
}

/// Two partitions of the scan on two threads, each dropping its own batches.
fn strata_partitioned(path: &Path, columns: Option<&[&str]>, threads: usize) -> u64 {
    let mut scan = Scan::new(path).threads(threads);
    if let Some(c) = columns {
        scan = scan.columns(c);
    }
    let (_, stats) = scan
        .for_each_partitioned(|_, batch| {
            black_box(batch);
            Ok(())
        })
        .unwrap();
    stats.rows_out
}

fn strata_scan(
    path: &Path,
    columns: Option<&[&str]>,
    filter: Option<&Expr>,
    threads: usize,
    keep_order: bool,
) -> u64 {
    let mut scan = Scan::new(path).threads(threads).keep_order(keep_order);
    if let Some(c) = columns {
        scan = scan.columns(c);
    }
    if let Some(f) = filter {
        scan = scan.filter(f.clone());
    }
    // Streamed and dropped batch by batch, as the parquet crate's readers are consumed above.
    let (_, stats) = scan
        .for_each(|batch| {
            black_box(batch);
            Ok(())
        })
        .unwrap();
    stats.rows_out
}

/// One timed thing: its criterion id within its group, and the work.
type Contender<'a> = (String, Box<dyn Fn() -> u64 + 'a>);

/// Everything timed on one file, by group (`scan_{codec}_{label}`), in criterion's order.
fn contenders<'a>(
    path: &'a Path,
    in_memory: &'a Bytes,
    filter: &'a Expr,
    chunks: &'a [(&'static str, &'a [u8])],
) -> Vec<(&'static str, Vec<Contender<'a>>)> {
    let id = |name: &str, threads: Option<usize>| match threads {
        Some(t) => format!("{name}/{t}"),
        None => name.to_string(),
    };
    let mut groups = Vec::new();
    for (label, columns) in [("full", None), ("project_2", Some(&["qty", "price"][..]))] {
        let mut list: Vec<Contender<'a>> = vec![
            (
                id("parquet_file", None),
                Box::new(move || parquet_crate(std::fs::File::open(path).unwrap(), columns) as u64),
            ),
            (
                id("parquet_bytes", None),
                Box::new(move || parquet_crate(in_memory.clone(), columns) as u64),
            ),
        ];
        for threads in [1usize, 2] {
            list.push((
                id("strata", Some(threads)),
                Box::new(move || strata_scan(path, columns, None, threads, true)),
            ));
        }
        // The fresh state of `parquet_file`: no map kept from an earlier scan.
        list.push((
            id("strata_fresh", Some(1)),
            Box::new(move || {
                let kept = strata::tuning::kept_maps();
                strata::tuning::set_kept_maps(0);
                let rows = strata_scan(path, columns, None, 1, true);
                strata::tuning::set_kept_maps(kept);
                rows
            }),
        ));
        list.push((
            id("strata_unordered", Some(2)),
            Box::new(move || strata_scan(path, columns, None, 2, false)),
        ));
        list.push((
            id("strata_partitioned", Some(2)),
            Box::new(move || strata_partitioned(path, columns, 2)),
        ));
        list.push((
            id("parquet_bytes_halves", Some(2)),
            Box::new(move || parquet_halves(in_memory, columns) as u64),
        ));
        // What the machine's memory allows: reading as many bytes as the scan's column
        // chunks hold, 1 MiB at a time into a cached buffer, on one thread and on two.
        let bytes = chunks.iter().find(|(l, _)| *l == label).unwrap().1;
        for threads in [1usize, 2] {
            list.push((
                id("read_bandwidth", Some(threads)),
                Box::new(move || read_through(bytes, threads)),
            ));
        }
        groups.push((label, list));
    }
    let mut list: Vec<Contender<'a>> = Vec::new();
    for threads in [1usize, 2] {
        list.push((
            id("strata", Some(threads)),
            Box::new(move || {
                let rows = strata_scan(path, None, Some(filter), threads, true);
                assert_eq!(rows, (ROWS / 100) as u64);
                rows
            }),
        ));
    }
    groups.push(("filter_1pct", list));
    groups
}

/// Runs `each(codec, file size, contenders by group)` for both bench files.
fn for_each_file(mut each: impl FnMut(&str, u64, Vec<(&'static str, Vec<Contender<'_>>)>)) {
    // Raising glibc's malloc thresholds (src/read/heap.rs) changes how fast every later decode
    // in this process runs, strata's and the parquet crate's alike: done first, so that every
    // contender runs under the same allocator settings, those of the `strata` command.
    strata::tuning::raise_malloc_thresholds();
    let codecs = std::env::var("STRATA_SCAN_CODECS").unwrap_or_else(|_| "snappy,zstd".into());
    for codec in ["snappy", "zstd"] {
        if !codecs.split(',').any(|c| c == codec) {
            continue;
        }
        let path = file(codec);
        let in_memory = Bytes::from(std::fs::read(&path).unwrap());
        let size = in_memory.len() as u64;
        let chunks: Vec<(&str, &[u8])> =
            [("full", None), ("project_2", Some(&["qty", "price"][..]))]
                .into_iter()
                .map(|(label, columns)| (label, &in_memory[..chunk_bytes(&in_memory, columns)]))
                .collect();
        // 1% of the rows, from the middle of a row group: statistics keep one row group and
        // the page index most of its pages out.
        let lo = ROW_GROUP * 12 + ROW_GROUP / 3;
        let filter = Expr::parse(&format!("id >= {lo} AND id < {}", lo + ROWS / 100)).unwrap();
        each(codec, size, contenders(&path, &in_memory, &filter, &chunks));
    }
}

fn scans(c: &mut Criterion) {
    for_each_file(|codec, size, groups| {
        for (label, list) in groups {
            let mut group = c.benchmark_group(format!("scan_{codec}_{label}"));
            group.sample_size(10);
            group.throughput(Throughput::Bytes(size));
            if label == "filter_1pct" {
                group.warm_up_time(Duration::from_secs(1));
                group.measurement_time(Duration::from_secs(5));
            } else {
                group.warm_up_time(Duration::from_secs(2));
                group.measurement_time(Duration::from_secs(15));
            }
            for (id, work) in list {
                group.bench_function(&id, |b| b.iter(|| black_box(work())));
            }
            group.finish();
        }
    });
}

/// `STRATA_SCAN_ROUNDS=N cargo bench --bench scan`: instead of criterion, every contender
/// once per round, in turn, for N rounds (the order rotating between rounds), and the median
/// and fastest time of each. On a shared machine whose load changes from minute to minute,
/// criterion times each contender in its own stretch of 15 s, and a ratio between two of them
/// can swing by 10-20% from run to run; taken round by round, both see the same load.
/// `STRATA_SCAN_CODECS=snappy` (or `zstd`) limits either mode to one file.
fn interleaved(rounds: usize) {
    for_each_file(|codec, _, groups| {
        let mut medians = std::collections::HashMap::new();
        for (label, list) in groups {
            let mut times = vec![Vec::with_capacity(rounds); list.len()];
            for round in 0..rounds {
                for k in 0..list.len() {
                    let i = (k + round) % list.len();
                    let start = std::time::Instant::now();
                    black_box((list[i].1)());
                    times[i].push(start.elapsed().as_secs_f64() * 1e3);
                }
            }
            for ((id, _), mut t) in list.iter().zip(times) {
                t.sort_by(f64::total_cmp);
                let name = format!("scan_{codec}_{label}/{}", id);
                println!(
                    "{name:<48} median {:>9.2} ms  min {:>9.2} ms",
                    t[t.len() / 2],
                    t[0]
                );
                medians.insert(format!("{label}/{}", id), t[t.len() / 2]);
            }
        }
        let m = |k: &str| medians[k];
        for label in ["full", "project_2"] {
            let one = m(&format!("{label}/strata/1"));
            println!(
                "{codec} {label} (1 thread each, batches of 8192): fresh, strata_fresh/1 = {:.2}x parquet_file; kept in memory, strata/1 = {:.2}x parquet_bytes; 2 threads {:.2}x faster in order, {:.2}x unordered, {:.2}x partitioned; parquet halves {:.2}x, read bandwidth {:.2}x",
                m(&format!("{label}/strata_fresh/1")) / m(&format!("{label}/parquet_file")),
                one / m(&format!("{label}/parquet_bytes")),
                one / m(&format!("{label}/strata/2")),
                one / m(&format!("{label}/strata_unordered/2")),
                one / m(&format!("{label}/strata_partitioned/2")),
                m(&format!("{label}/parquet_bytes")) / m(&format!("{label}/parquet_bytes_halves/2")),
                m(&format!("{label}/read_bandwidth/1")) / m(&format!("{label}/read_bandwidth/2")),
            );
        }
        println!(
            "{codec} filter_1pct: {:.3}x the full scan (1 thread)",
            m("filter_1pct/strata/1") / m("full/strata/1")
        );
    });
}

criterion_group!(benches, scans);

fn main() {
    match std::env::var("STRATA_SCAN_ROUNDS") {
        Ok(rounds) => interleaved(
            rounds
                .parse()
                .expect("STRATA_SCAN_ROUNDS: a number of rounds"),
        ),
        Err(_) => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
