//! Row-level change benches on the tests' mixed-type table: 10 commits of 100k rows (1M rows,
//! 10 files), each iteration on a fresh copy of it:
//!
//! - merge of 10k source rows (half updates of existing ids spread through the table, half
//!   inserts), against appending the same 10k rows (the floor: one new file, no rewrite);
//! - delete of about 1% of the rows (`amount > p99`, spread through every file), against the
//!   copy alone;
//! - a point delete (one id), which statistics confine to one file.
//!
//! Run: `cargo bench --bench table_dml`. `benches/table_dml_compare.py` compares whole commands
//! with the Python `deltalake` package's merge and delete on a 10M-row, 40-file table (time
//! and peak RSS), and measures what z-order does for range filters.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use strata::table::{MergeOptions, Table, TableOptions};

#[path = "../tests/common/mixed.rs"]
mod mixed;

const ROWS: usize = 100_000;
const COMMITS: u64 = 10;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The 99th percentile of `amount`.
fn p99(batch: &RecordBatch) -> f64 {
    let mut v: Vec<f64> = batch
        .column_by_name("amount")
        .unwrap()
        .as_primitive::<Float64Type>()
        .iter()
        .flatten()
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() * 99 / 100]
}

/// 10k rows: 5k of existing ids (every 200th) with the rest of their columns from another
/// seed, and 5k new ids.
fn source(schema_batch: &RecordBatch) -> RecordBatch {
    let fresh = mixed::mixed_table(10_000, 99).unwrap();
    let ids: Vec<i64> = (0..5_000)
        .map(|i| i * 200)
        .chain((0..5_000).map(|i| 10_000_000 + i))
        .collect();
    let mut columns = fresh.columns().to_vec();
    let at = fresh.schema().index_of("id").unwrap();
    columns[at] = Arc::new(Int64Array::from(ids));
    RecordBatch::try_new(schema_batch.schema(), columns).unwrap()
}

fn dml(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let table = Table::at_dir(&base).unwrap();
    let mut first = None;
    for k in 0..COMMITS {
        // Ids 0..1M across the commits (mixed_table numbers rows from 0).
        let batch = mixed::mixed_table(ROWS, k + 1).unwrap();
        let ids = Int64Array::from_iter_values(
            batch
                .column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .map(|i| i + (k as i64) * ROWS as i64),
        );
        let mut columns = batch.columns().to_vec();
        columns[batch.schema().index_of("id").unwrap()] = Arc::new(ids);
        let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
        if k == 0 {
            table
                .create(
                    &batch.schema(),
                    std::slice::from_ref(&batch),
                    &TableOptions::default(),
                )
                .unwrap();
            first = Some(batch);
        } else {
            table.append(&[batch]).unwrap();
        }
    }
    let first = first.unwrap();
    let threshold = p99(&first);
    let source = source(&first);
    let mut n = 0;
    let mut fresh = || {
        n += 1;
        let to = dir.path().join(format!("copy{n}"));
        copy_dir(&base, &to);
        Table::at_dir(&to).unwrap()
    };

    let mut group = c.benchmark_group("table_dml");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let on_id = MergeOptions {
        on: vec!["id".into()],
        ..MergeOptions::default()
    };
    group.bench_function("merge_10k_into_1m", |b| {
        b.iter_batched(
            &mut fresh,
            |t| black_box(t.merge(std::slice::from_ref(&source), &on_id).unwrap()),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("append_10k_floor", |b| {
        b.iter_batched(
            &mut fresh,
            |t| black_box(t.append(std::slice::from_ref(&source)).unwrap()),
            BatchSize::PerIteration,
        )
    });
    let spread = format!("amount > {threshold}");
    group.bench_function("delete_1pct_of_1m", |b| {
        b.iter_batched(
            &mut fresh,
            |t| black_box(t.delete(&spread).unwrap()),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("delete_one_id", |b| {
        b.iter_batched(
            &mut fresh,
            |t| black_box(t.delete("id = 123456").unwrap()),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, dml);
criterion_main!(benches);
