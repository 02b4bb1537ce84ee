//! Delta table benches on the tests' mixed-type table (ints, nullable doubles, repeated short
//! strings, timestamps, dates, booleans), 200k rows per commit:
//!
//! - write: one `Table::append` of 200k rows (data files with codec selection, Delta
//!   statistics, the commit) against the parquet crate's `ArrowWriter` with default properties
//!   writing the same rows to one file (the floor of any table write: no selection, no log);
//! - scan of a table of 10 such commits (2M rows): the whole latest version, a 1%-selective
//!   filter (`amount > p99`, spread through every file), and version 0 by time travel, against
//!   the parquet crate's reader over the same data files, one after another on one thread.
//!
//! Run: `cargo bench --bench table`. `benches/table_compare.py` compares whole commands with
//! the Python `deltalake` package's `write_deltalake` and readers and DuckDB's `delta_scan`
//! (10M rows in 10 commits; the goals), on files other tools wrote too.

use std::hint::black_box;
use std::time::Duration;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Float64Type;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use strata::table::{AsOf, Table, TableOptions};
use strata::Expr;

#[path = "../tests/common/mixed.rs"]
mod mixed;

const ROWS: usize = 200_000;
const COMMITS: u64 = 10;

fn batches(seed: u64) -> Vec<RecordBatch> {
    let t = mixed::mixed_table(ROWS, seed).unwrap();
    (0..ROWS)
        .step_by(8192)
        .map(|o| t.slice(o, 8192.min(ROWS - o)))
        .collect()
}

/// The 99th percentile of `amount` over `batches` (nulls left out).
fn p99(batches: &[RecordBatch]) -> f64 {
    let mut amounts: Vec<f64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("amount")
                .unwrap()
                .as_primitive::<Float64Type>()
                .iter()
                .flatten()
                .collect::<Vec<_>>()
        })
        .collect();
    amounts.sort_by(f64::total_cmp);
    amounts[amounts.len() * 99 / 100]
}

fn data_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    files
}

fn write(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let data = batches(7);
    let schema = data[0].schema();
    let table = Table::at_dir(dir.path().join("t")).unwrap();
    table
        .create(&schema, &data, &TableOptions::default())
        .unwrap();
    let mut group = c.benchmark_group("table_write");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("strata_append_200k", |b| {
        b.iter(|| black_box(table.append(&data).unwrap().version))
    });
    group.bench_function("arrow_writer_default_200k", |b| {
        let path = dir.path().join("arrow.parquet");
        b.iter(|| {
            let file = std::fs::File::create(&path).unwrap();
            let mut writer = ArrowWriter::try_new(file, schema.clone(), None).unwrap();
            for batch in &data {
                writer.write(batch).unwrap();
            }
            black_box(writer.close().unwrap().file_metadata().num_rows())
        })
    });
    group.finish();
}

fn scan(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::at_dir(dir.path().join("t")).unwrap();
    let first = batches(1);
    let threshold = p99(&first);
    table
        .create(&first[0].schema(), &first, &TableOptions::default())
        .unwrap();
    for seed in 2..=COMMITS {
        table.append(&batches(seed)).unwrap();
    }
    let files = data_files(&dir.path().join("t"));
    let filter = format!("amount > {threshold}");
    let matched = table
        .scan()
        .unwrap()
        .filter(Expr::parse(&filter).unwrap())
        .count()
        .unwrap()
        .0;
    println!(
        "table scan bench: {} rows in {} files; `{filter}` matches {matched}",
        ROWS as u64 * COMMITS,
        files.len()
    );

    let mut group = c.benchmark_group("table_scan");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(ROWS as u64 * COMMITS));
    for threads in [1, 2] {
        group.bench_function(format!("strata_full/{threads}"), |b| {
            b.iter(|| {
                let out = table.scan().unwrap().threads(threads).run().unwrap();
                black_box(out.batches.len())
            })
        });
        group.bench_function(format!("strata_filter_1pct/{threads}"), |b| {
            b.iter(|| {
                let out = table
                    .scan()
                    .unwrap()
                    .threads(threads)
                    .filter(Expr::parse(&filter).unwrap())
                    .run()
                    .unwrap();
                black_box(out.batches.len())
            })
        });
    }
    group.bench_function("strata_as_of_v0/1", |b| {
        b.iter(|| {
            let out = table
                .scan_as_of(AsOf::Version(0))
                .unwrap()
                .threads(1)
                .run()
                .unwrap();
            black_box(out.batches.len())
        })
    });
    group.bench_function("parquet_reader_full/1", |b| {
        b.iter(|| {
            let mut rows = 0;
            for path in &files {
                let file = std::fs::File::open(path).unwrap();
                let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                    .unwrap()
                    .build()
                    .unwrap();
                for batch in reader {
                    rows += batch.unwrap().num_rows();
                }
            }
            black_box(rows)
        })
    });
    group.finish();
}

criterion_group!(benches, write, scan);
criterion_main!(benches);
