//! The parquet-testing corpus (vendored in tests/data/parquet-testing): bad files and truncations give errors, never panics; every
//! readable, unencrypted file scans with the same row count as the parquet crate's reader.

mod common;

use std::path::{Path, PathBuf};

use arrow::array::{Array, Int32Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata::{Expr, Scan};

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    files
}

/// Rows the parquet crate itself reads, or None when it cannot read the file.
fn reference_rows(path: &Path) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .ok()?
        .build()
        .ok()?;
    let mut n = 0;
    for batch in reader {
        n += batch.ok()?.num_rows() as u64;
    }
    Some(n)
}

#[test]
fn bad_data_gives_errors() {
    let dir = common::parquet_testing();
    let files = parquet_files(&dir.join("bad_data"));
    assert_eq!(files.len(), 8, "{files:?}");
    for path in files {
        let result = std::panic::catch_unwind(|| Scan::new(&path).run().map(|o| o.stats.rows_out));
        match result {
            Ok(Err(_)) => {}
            // Some "bad" files are only bad for other readers; what matters is no panic.
            Ok(Ok(_)) => {}
            Err(_) => panic!("scan panicked on {}", path.display()),
        }
    }
}

#[test]
fn readable_files_match_the_parquet_crate() {
    let dir = common::parquet_testing();
    let mut checked = 0;
    for path in parquet_files(&dir.join("data")) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains("encrypt") {
            continue;
        }
        let Some(want) = reference_rows(&path) else {
            continue;
        };
        for no_mmap in [false, true] {
            let out = Scan::new(&path)
                .no_mmap(no_mmap)
                .run()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: u64 = out.batches.iter().map(|b| b.num_rows() as u64).sum();
            assert_eq!(got, want, "{name}");
            assert_eq!(out.stats.rows_out, want, "{name}");
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} files checked");
}

#[test]
fn truncations_give_errors() {
    let dir = common::parquet_testing();
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "alltypes_plain.parquet",
        "alltypes_plain.snappy.parquet",
        "nulls.snappy.parquet",
    ] {
        let src = dir.join("data").join(name);
        let bytes = std::fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        let cut = tmp.path().join(name);
        for len in 0..bytes.len() {
            std::fs::write(&cut, &bytes[..len]).unwrap();
            for no_mmap in [false, true] {
                let result = std::panic::catch_unwind(|| Scan::new(&cut).no_mmap(no_mmap).run());
                match result {
                    Ok(Err(_)) => {}
                    Ok(Ok(_)) => panic!("{name} cut to {len} bytes read without error"),
                    Err(_) => panic!("{name} cut to {len} bytes panicked"),
                }
            }
        }
    }
}

/// Inputs the parquet_scan fuzz target found crashing the process, kept so they stay errors.
#[test]
fn fuzz_findings_give_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    for path in parquet_files(&dir) {
        for no_mmap in [false, true] {
            let result = Scan::new(&path).no_mmap(no_mmap).run();
            assert!(result.is_err(), "{} read without error", path.display());
        }
    }
}

/// The one corpus file pyarrow reads and the parquet crate refuses: a parquet-mr 1.12.0 dev
/// build wrote `ColumnMetaData` field 15 as a list (today an `i32`) and a dictionary page offset
/// of 0. strata mends the footer as Arrow C++ reads it and returns pyarrow's rows: 39 values of
/// `l_partkey`, all 1552 (min = max = 1552 in the footer's statistics).
#[test]
fn a_footer_the_parquet_crate_refuses_reads_as_pyarrow_reads_it() {
    let path = common::parquet_testing().join("data/dict-page-offset-zero.parquet");
    assert_eq!(
        reference_rows(&path),
        None,
        "the parquet crate reads it now"
    );
    for no_mmap in [false, true] {
        let out = Scan::new(&path).no_mmap(no_mmap).run().unwrap();
        let values: Vec<Option<i32>> = out
            .batches
            .iter()
            .flat_map(|b| {
                let column = b.column_by_name("l_partkey").unwrap();
                let ints = column.as_any().downcast_ref::<Int32Array>().unwrap();
                (0..ints.len())
                    .map(|i| ints.is_valid(i).then(|| ints.value(i)))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(values, vec![Some(1552); 39], "no_mmap {no_mmap}");
        let filtered = Scan::new(&path)
            .no_mmap(no_mmap)
            .filter(Expr::parse("l_partkey = 1552").unwrap())
            .run()
            .unwrap();
        assert_eq!(filtered.stats.rows_out, 39);
        let none = Scan::new(&path)
            .no_mmap(no_mmap)
            .filter(Expr::parse("l_partkey > 1552").unwrap())
            .run()
            .unwrap();
        assert_eq!(none.stats.rows_out, 0);
    }
}
