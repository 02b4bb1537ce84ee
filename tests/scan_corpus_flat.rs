//! strata's own decoder of flat dictionary-encoded numeric columns (src/read/flat_column.rs)
//! against the parquet crate's reader: the parquet-testing corpus and files pyarrow and DuckDB
//! write (nulls, several pages a chunk, data pages v1 and v2, dictionaries that fall back to
//! plain pages, snappy, zstd and no compression) scan to the same values on 1 and 2 threads,
//! in batches that cut pages and row groups anywhere; damaged pages give errors, not panics.
//! The pyarrow and DuckDB files need python3 with pyarrow and duckdb (skipped locally with the
//! reason, a failure in CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow::compute::{cast, concat};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata::Scan;

/// Every column of the parquet crate's reading of `path`, or None when it cannot read it.
fn reference(path: &Path) -> Option<Vec<(String, ArrayRef)>> {
    let file = std::fs::File::open(path).ok()?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .ok()?
        .build()
        .ok()?;
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().ok()?;
    columns(&schema, &batches)
}

fn columns(
    schema: &arrow::datatypes::Schema,
    batches: &[RecordBatch],
) -> Option<Vec<(String, ArrayRef)>> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            let column = if parts.is_empty() {
                arrow::array::new_empty_array(f.data_type())
            } else {
                concat(&parts).ok()?
            };
            Some((f.name().clone(), column))
        })
        .collect()
}

/// Equal values, nulls in the same places; NaNs equal to NaNs.
fn same(a: &ArrayRef, b: &ArrayRef) -> bool {
    let b = match cast(b, a.data_type()) {
        Ok(b) => b,
        Err(_) => return false,
    };
    a.as_ref() == b.as_ref() || format!("{a:?}") == format!("{b:?}")
}

/// Scans `path` every way that matters here and compares each column with the crate's.
fn check(path: &Path, want: &[(String, ArrayRef)], projections: &[Option<Vec<&str>>]) {
    let name = path.display();
    for projection in projections {
        for (threads, batch_size, views) in [(1, 8192, false), (2, 777, false), (2, 65_536, true)] {
            let mut scan = Scan::new(path)
                .threads(threads)
                .batch_size(batch_size)
                .string_views(views);
            if let Some(columns) = projection {
                scan = scan.columns(columns);
            }
            let out = scan
                .run()
                .unwrap_or_else(|e| panic!("{name} {projection:?} {threads} threads: {e}"));
            assert!(
                out.batches.iter().all(|b| b.num_rows() <= batch_size),
                "{name}: a batch over {batch_size} rows"
            );
            let got = columns(&out.schema, &out.batches).unwrap();
            for (column, array) in &got {
                let (_, expected) = want.iter().find(|(n, _)| n == column).unwrap_or_else(|| {
                    panic!("{name}: strata returned {column} the crate did not")
                });
                assert!(
                    same(array, expected),
                    "{name} column {column} ({projection:?}, {threads} threads, batches of \
                     {batch_size}, views {views}) differs from the parquet crate's"
                );
            }
        }
    }
}

#[test]
fn corpus_files_read_as_the_parquet_crate_reads_them() {
    let dir = common::parquet_testing().join("data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    let mut checked = 0;
    for path in files {
        let Some(want) = reference(&path) else {
            continue;
        };
        // Files the crate reads but strata refuses as damaged are another test's business.
        if Scan::new(&path).run().is_err() {
            continue;
        }
        check(&path, &want, &[None]);
        checked += 1;
    }
    assert!(checked > 20, "only {checked} files checked");
}

/// Writes the test files with pyarrow and DuckDB into `dir`; false (after saying why) when
/// python3, pyarrow or duckdb is missing.
fn write_files(dir: &Path) -> bool {
    const SCRIPT: &str = r#"
import os, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq, duckdb
out = sys.argv[1]
rows = 70_000
rng = np.random.default_rng(3)
def nullable(values, share):
    return pa.array(values, mask=rng.random(rows) < share)
table = pa.table({
    "i8": nullable(rng.integers(-128, 128, rows).astype(np.int8), 0.05),
    "i16": pa.array(rng.integers(-300, 300, rows).astype(np.int16)),
    "i32": nullable(rng.integers(0, 50, rows).astype(np.int32), 0.5),
    "i64": pa.array(rng.integers(-2**40, 2**40, rows) // 2**30),
    "f32": nullable(rng.normal(0, 9, rows).round().astype(np.float32), 0.02),
    "f64": nullable(rng.normal(12, 40, rows).round(), 0.02),
    "nan": pa.array(np.where(rng.random(rows) < 0.1, np.nan, rng.integers(0, 9, rows) * 1.0)),
    "all_null": pa.nulls(rows, pa.float64()),
    "runs": pa.array(np.repeat(np.arange(rows // 1000, dtype=np.int64), 1000)),
    "unique": nullable(np.arange(rows, dtype=np.int64) * 7919 % 1_000_003, 0.01),
    "text": pa.array(np.array(["AA", "B6", "DL", "UA"])[rng.integers(0, 4, rows)]),
})
pq.write_table(table, os.path.join(out, "pyarrow_default.parquet"))
for version in ["1.0", "2.0"]:
    for codec in ["snappy", "zstd", "none"]:
        pq.write_table(table, os.path.join(out, f"pyarrow_v{version}_{codec}.parquet"),
                       row_group_size=30_000, data_page_size=4096, data_page_version=version,
                       compression=codec, dictionary_pagesize_limit=2048)
con = duckdb.connect()
src = os.path.join(out, "pyarrow_default.parquet")
con.execute(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{os.path.join(out, 'duckdb.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 20000)")
"#;
    let run = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(dir)
        .output();
    match run {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            common::skip(&format!(
                "cannot write the pyarrow and DuckDB files: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            false
        }
        Err(e) => {
            common::skip(&format!("python3 cannot run: {e}"));
            false
        }
    }
}

#[test]
fn files_pyarrow_and_duckdb_write_read_as_the_parquet_crate_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    if !write_files(dir.path()) {
        return;
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert_eq!(names.len(), 8, "{names:?}");
    for path in names {
        let want = reference(&path).unwrap();
        check(
            &path,
            &want,
            &[
                None,
                Some(vec!["f64", "i8", "unique"]),
                Some(vec!["text", "i32"]),
            ],
        );
    }
}

#[test]
fn damaged_pages_give_errors_or_rows_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    if !write_files(dir.path()) {
        return;
    }
    let src = dir.path().join("pyarrow_v1.0_none.parquet");
    let bytes = std::fs::read(&src).unwrap();
    let damaged = dir.path().join("damaged.parquet");
    // Bytes of the data pages (the footer is another test's business), every so many.
    let footer = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap());
    let data_end = bytes.len() - 8 - footer as usize;
    let mut scanned = 0;
    // About 150 places spread over the pages, three values each: a scan takes a while in
    // a debug build.
    for at in (4..data_end).step_by((data_end / 150).max(1)) {
        for value in [0x00, 0xff, 0x7f] {
            let mut copy = bytes.clone();
            copy[at] = value;
            std::fs::write(&damaged, &copy).unwrap();
            let result = std::panic::catch_unwind(|| {
                Scan::new(&damaged)
                    .columns(&["i8", "f64", "unique", "runs"])
                    .run()
                    .map(|o| o.stats.rows_out)
            });
            assert!(result.is_ok(), "byte {at} set to {value:#x} panicked");
            scanned += 1;
        }
    }
    assert!(scanned > 100);
}
