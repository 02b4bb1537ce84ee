//! `Scan::reader`: the pull-based reader gives what `run` gives, stops when dropped, and
//! reports errors where they happen (opening at `reader()`, decoding from the items).

mod common;

use std::time::{Duration, Instant};

use arrow::array::{Array, Int64Array, RecordBatch};
use arrow::record_batch::RecordBatchReader;
use strata::{ErrorKind, Expr, Scan};

/// Rows 0..rows (`id` = row) in row groups of 20,000, as a file in `dir`.
fn write_file(dir: &std::path::Path, rows: i64) -> std::path::PathBuf {
    let path = dir.join(format!("t{rows}.parquet"));
    std::fs::write(&path, common::parquet_bytes(rows)).unwrap();
    path
}

fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name("id").unwrap();
            let col = col.as_any().downcast_ref::<Int64Array>().unwrap();
            col.values().to_vec()
        })
        .collect()
}

#[test]
fn the_reader_gives_the_rows_and_schema_that_run_gives() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), 100_000);
    let scans = [
        Scan::new(&path),
        Scan::new(&path).columns(&["id"]),
        Scan::new(&path).filter(Expr::parse("id >= 25000 AND id < 70001").unwrap()),
        Scan::new(&path).offset(15000).limit(30000).batch_size(700),
        Scan::new(&path).threads(2),
        Scan::new(&path).filter(Expr::parse("id < 0").unwrap()),
    ];
    for scan in scans {
        let expected = scan.run().unwrap();
        let reader = scan.clone().reader().unwrap();
        assert_eq!(reader.schema(), expected.schema);
        let got: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        assert_eq!(ids(&got), ids(&expected.batches), "{scan:?}");
        for batch in &got {
            assert_eq!(batch.schema(), expected.schema);
        }
    }
}

#[test]
fn dropping_the_reader_early_stops_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), 200_000);
    let started = Instant::now();
    for _ in 0..20 {
        let mut reader = Scan::new(&path).batch_size(100).reader().unwrap();
        assert_eq!(reader.next_batch().unwrap().unwrap().num_rows(), 100);
        drop(reader);
    }
    // Each drop waits for the scan thread: had a scan run to its end instead, 20 scans of
    // 2000 batches would take far longer than this (a hang would never return).
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn opening_errors_come_from_reader_and_decoding_errors_from_the_items() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Scan::new(dir.path().join("missing.parquet")).reader();
    assert_eq!(missing.err().unwrap().kind(), ErrorKind::NotFound);

    let unknown = Scan::new(write_file(dir.path(), 5000))
        .columns(&["nope"])
        .reader();
    assert!(unknown.is_err());

    // The footer stays intact; the pages of every row group after the first are overwritten.
    let path = write_file(dir.path(), 5000);
    let mut bytes = std::fs::read(&path).unwrap();
    let meta_len = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap());
    let data_end = bytes.len() - 8 - meta_len as usize;
    for b in &mut bytes[data_end / 4..data_end] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let mut reader = Scan::new(&path).batch_size(1000).reader().unwrap();
    let mut failed = None;
    for _ in 0..10 {
        match reader.next_batch() {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let failed = failed.expect("a corrupt page must fail the scan");
    assert!(!failed.to_string().is_empty());
    assert!(
        reader.next_batch().unwrap().is_none(),
        "nothing after an error"
    );
}
