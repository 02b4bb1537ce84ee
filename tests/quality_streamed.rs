//! `Scan::check` streams a file through the rules: on a file of many row groups (written with
//! dictionaries and snappy, as pyarrow and DuckDB write them), with nulls, NaN and repeats in
//! the key columns, its report equals the check of all rows at once, on one thread and two,
//! in small batches, and when the key budget is so small that the keys take several passes
//! over the file.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::compute::concat_batches;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use strata::quality::{check_batches, CheckOptions, RuleSet};
use strata::{Expr, Scan};

const ROWS: i64 = 30_000;

const RULES: &str = r#"
[[rules]]
check = "completeness"
column = "amount"
min = 0.95

[[rules]]
check = "unique"
column = "id"
severity = "warn"

[[rules]]
check = "unique"
column = "city"
severity = "info"

[[rules]]
check = "primary_key"
columns = ["id", "city"]

[[rules]]
check = "distinct_ratio"
column = "amount"
min = 0.1

[[rules]]
check = "range"
column = "amount"
min = 0.0
max = 900.0

[[rules]]
check = "allowed_set"
column = "city"
values = ["c1", "c2", "c3"]
mostly = 0.01
"#;

fn table() -> RecordBatch {
    let rows = 0..ROWS;
    let id: ArrayRef =
        Arc::new(Int64Array::from_iter(rows.clone().map(|i| {
            (i % 97 != 3).then_some(if i % 211 == 0 { i / 3 } else { i })
        })));
    let amount: ArrayRef = Arc::new(Float64Array::from_iter(rows.clone().map(|i| {
        (i % 50 != 7).then_some(if i % 1000 == 9 {
            f64::NAN
        } else {
            ((i * 31) % 1200) as f64 - 100.0
        })
    })));
    let city: ArrayRef = Arc::new(StringArray::from_iter(
        rows.map(|i| (i % 13 != 5).then(|| format!("c{}", (i * 7) % 4000))),
    ));
    RecordBatch::try_from_iter([("id", id), ("amount", amount), ("city", city)]).unwrap()
}

fn write(path: &Path, batch: &RecordBatch) {
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(4_000))
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(true)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

#[test]
fn a_streamed_file_check_equals_the_check_of_all_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let all = table();
    write(&path, &all);
    let rules = RuleSet::from_toml_str(RULES).unwrap();
    let options = CheckOptions::default();
    let expected = check_batches(std::slice::from_ref(&all), &rules, &options).unwrap();
    assert!(expected.results.iter().all(|r| r.checked_rows > 0));
    assert!(expected.results.iter().any(|r| r.affected_rows > 0));
    for threads in [1, 2] {
        for batch_size in [8192, 1000] {
            for key_memory in [1 << 30, 64 << 10] {
                let options = CheckOptions {
                    key_memory,
                    ..CheckOptions::default()
                };
                let got = Scan::new(&path)
                    .threads(threads)
                    .batch_size(batch_size)
                    .check(&rules, &options)
                    .unwrap();
                assert_eq!(
                    got, expected,
                    "{threads} threads, batches of {batch_size}, key budget {key_memory}"
                );
            }
        }
    }
}

#[test]
fn a_filtered_scan_checks_the_rows_it_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write(&path, &table());
    let rules = RuleSet::from_toml_str(RULES).unwrap();
    let scan = Scan::new(&path).filter(Expr::parse("amount > 500").unwrap());
    let kept = scan.run().unwrap();
    let kept = concat_batches(&kept.schema, &kept.batches).unwrap();
    let expected = check_batches(&[kept], &rules, &CheckOptions::default()).unwrap();
    let options = CheckOptions {
        key_memory: 64 << 10,
        ..CheckOptions::default()
    };
    assert_eq!(scan.check(&rules, &options).unwrap(), expected);
}
