//! In-order scans on several threads share out the columns (src/read/split.rs): each thread
//! reads the same rows, its own columns, and the batches are put side by side. What comes
//! out must be exactly what one thread returns, in the same order, whatever the thread
//! count, batch size, projection, offset or limit; a damaged column on any thread is an
//! error, never a hang.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, StructArray,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Fields};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use strata::{ErrorKind, Scan};

const ROWS: i64 = 50_000;

/// Rows `first..first + rows`: an id, a nullable float, a string, a struct of two fields.
fn batch(first: i64, rows: i64) -> RecordBatch {
    let ids: Vec<i64> = (first..first + rows).collect();
    let id: ArrayRef = Arc::new(Int64Array::from(ids.clone()));
    let price: ArrayRef = Arc::new(Float64Array::from_iter(
        ids.iter().map(|i| (i % 7 != 0).then(|| *i as f64 / 3.0)),
    ));
    let name: ArrayRef = Arc::new(StringArray::from_iter_values(
        ids.iter()
            .map(|i| format!("name-{:x}", i * 2_654_435_761 % 1_000_003)),
    ));
    let inner = Fields::from(vec![
        Field::new("a", DataType::Int32, false),
        Field::new("b", DataType::Utf8, true),
    ]);
    let a: ArrayRef = Arc::new(Int32Array::from_iter_values(
        ids.iter().map(|i| (i % 1000) as i32),
    ));
    let b: ArrayRef = Arc::new(StringArray::from_iter(
        ids.iter()
            .map(|i| (i % 3 != 0).then(|| format!("b{}", i % 11))),
    ));
    let nested: ArrayRef = Arc::new(StructArray::new(inner, vec![a, b], None));
    RecordBatch::try_from_iter([
        ("id", id),
        ("price", price),
        ("name", name),
        ("nested", nested),
    ])
    .unwrap()
}

/// `rows` rows from `first` in row groups of 6,000 (snappy).
fn write(path: &Path, first: i64, rows: i64) {
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(6_000))
        .set_compression(Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch(0, 1).schema(), Some(props)).unwrap();
    w.write(&batch(first, rows)).unwrap();
    w.close().unwrap();
}

/// Every batch the scan returns (each checked against the batch size), and all of them as one.
fn scan(scan: Scan, batch_size: usize) -> (Vec<RecordBatch>, RecordBatch) {
    let out = scan.batch_size(batch_size).run().unwrap();
    for b in &out.batches {
        assert!(b.num_rows() <= batch_size, "{} rows", b.num_rows());
    }
    let all = concat_batches(&out.batches[0].schema(), &out.batches).unwrap();
    assert_eq!(out.stats.rows_out, all.num_rows() as u64);
    (out.batches, all)
}

#[test]
fn in_order_scans_on_several_threads_return_what_one_thread_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write(&path, 0, ROWS);
    let projections: [Option<&[&str]>; 4] = [
        None,
        Some(&["price", "id"]),
        Some(&["name", "nested"]),
        Some(&["nested.b", "id", "price"]),
    ];
    for columns in projections {
        let base = |threads: usize| {
            let s = Scan::new(&path).threads(threads);
            match columns {
                Some(c) => s.columns(c),
                None => s,
            }
        };
        let (_, expected) = scan(base(1), 8192);
        assert_eq!(expected.num_rows(), ROWS as usize);
        for threads in [2, 3, 4] {
            for batch_size in [1000, 8192, 40_000, 100_000] {
                let (batches, all) = scan(base(threads), batch_size);
                assert_eq!(
                    all, expected,
                    "{columns:?} on {threads} threads, {batch_size}"
                );
                // Full batches but a row group's last (9 row groups): slicing the readers'
                // batches keeps the size.
                let short = batches.iter().filter(|b| b.num_rows() < batch_size).count();
                assert!(short <= 9, "{short} short batches of {batch_size}");
            }
        }
    }
}

#[test]
fn offset_and_limit_apply_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write(&path, 0, ROWS);
    for (offset, limit) in [(0, 10), (5_999, 2), (13_000, 30_000), (49_990, 100)] {
        let (_, got) = scan(
            Scan::new(&path).threads(2).offset(offset).limit(limit),
            8192,
        );
        let ids = got.column_by_name("id").unwrap();
        let ids = ids.as_any().downcast_ref::<Int64Array>().unwrap();
        let end = (offset + limit).min(ROWS as u64) as i64;
        assert_eq!(
            ids.values().to_vec(),
            (offset as i64..end).collect::<Vec<_>>(),
            "offset {offset} limit {limit}"
        );
        assert_eq!(got.num_columns(), 4);
    }
}

#[test]
fn files_of_a_dataset_stay_in_order() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.parquet"), 0, 20_000);
    write(&dir.path().join("b.parquet"), 20_000, 30_000);
    let (_, got) = scan(
        Scan::new(dir.path()).threads(2).columns(&["id", "name"]),
        8192,
    );
    let ids = got.column_by_name("id").unwrap();
    let ids = ids.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(ids.values().to_vec(), (0..ROWS).collect::<Vec<_>>());
}

#[test]
fn a_callback_error_stops_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write(&path, 0, ROWS);
    let mut seen = 0;
    let err = Scan::new(&path)
        .threads(2)
        .batch_size(1000)
        .for_each(|_| {
            seen += 1;
            if seen == 3 {
                return Err(strata::Error::new(ErrorKind::InvalidArgument, "enough"));
            }
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(seen, 3);
}

#[test]
fn a_damaged_column_on_any_thread_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("t.parquet");
    write(&good, 0, ROWS);
    let metadata = {
        let file = std::fs::File::open(&good).unwrap();
        parquet::file::reader::SerializedFileReader::new(file)
            .map(|r| parquet::file::reader::FileReader::metadata(&r).clone())
            .unwrap()
    };
    let bytes = std::fs::read(&good).unwrap();
    // Each column chunk of row group 3 in turn, its middle overwritten: whichever thread
    // decodes that column must report it.
    let rg = metadata.row_group(3);
    let mut errors = 0;
    for leaf in 0..rg.num_columns() {
        let (start, len) = rg.column(leaf).byte_range();
        let mut damaged = bytes.clone();
        let middle = (start + len / 2) as usize;
        for b in &mut damaged[middle..middle + 64.min(len as usize / 2)] {
            *b = 0xFF;
        }
        let path = dir.path().join(format!("damaged-{leaf}.parquet"));
        std::fs::write(&path, &damaged).unwrap();
        for threads in [1, 2, 3] {
            let result = Scan::new(&path).threads(threads).run();
            match result {
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Corrupt, "leaf {leaf}: {e}");
                    errors += usize::from(threads == 2);
                }
                // Damage inside values the decoder cannot tell from data (a float's bits):
                // then every thread count must return the same rows as one thread.
                Ok(out) => {
                    let one = Scan::new(&path).threads(1).run().unwrap();
                    let all = |o: &strata::ScanOutput| {
                        concat_batches(&o.batches[0].schema(), &o.batches).unwrap()
                    };
                    assert_eq!(all(&out), all(&one), "leaf {leaf}, {threads} threads");
                }
            }
        }
    }
    // Most of the damage is caught (strings and levels are checked as they decode).
    assert!(
        errors >= 3,
        "{errors} of {} columns damaged reported",
        rg.num_columns()
    );
}
