//! A filtered count on one dictionary-encoded numeric column is counted from the dictionary
//! pages (src/read/dictionary_count.rs) when the file is mapped: it must equal the rows the
//! same scan returns (decoded and filtered row by row) and the count of an unmapped scan
//! (which decodes), with nulls, NaN and signed zeros, v1 and v2 pages, pages that fell back
//! to plain encoding, 1 and 2 threads, a limit, and filters on two columns.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::{WriterProperties, WriterVersion};
use strata::{Expr, Scan};

const ROWS: i64 = 40_000;

fn write(path: &Path, version: WriterVersion) {
    let special = [f64::NAN, -0.0, 0.0, f64::INFINITY];
    let delay: Float64Array = (0..ROWS)
        .map(|i| match i % 17 {
            0 => None,
            1 => Some(special[(i / 17) as usize % special.len()]),
            _ => Some(((i * 37) % 300) as f64 - 50.0),
        })
        .collect();
    let id = Int64Array::from_iter_values(0..ROWS);
    // Distinct per row from 30,000 on: with a small dictionary page limit the later pages
    // fall back to plain encoding, and the column is no longer dictionary-only.
    let wide: Int64Array = (0..ROWS)
        .map(|i| Some(if i < 30_000 { i % 50 } else { i * 1_000 }))
        .collect();
    let small: Int32Array = (0..ROWS as i32)
        .map(|i| (i % 5 != 0).then_some(i % 9))
        .collect();
    let columns: [(&str, ArrayRef); 4] = [
        ("id", Arc::new(id)),
        ("delay", Arc::new(delay)),
        ("wide", Arc::new(wide)),
        ("small", Arc::new(small)),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(7_000))
        .set_data_page_row_count_limit(1_000)
        .set_write_batch_size(500)
        .set_dictionary_page_size_limit(4 * 1024)
        .set_writer_version(version)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn dictionary_counts_equal_decoded_rows() {
    let dir = tempfile::tempdir().unwrap();
    for (name, version) in [
        ("v1.parquet", WriterVersion::PARQUET_1_0),
        ("v2.parquet", WriterVersion::PARQUET_2_0),
    ] {
        let path = dir.path().join(name);
        write(&path, version);
        for text in [
            "delay > 74",
            "delay >= 0",
            "delay = 0",
            "delay < -10 OR delay > 200",
            "NOT (delay > 3)",
            "delay IS NULL",
            "small IN (1, 3, 8)",
            "small != 4",
            "small IS NOT NULL AND small < 2",
            "wide > 20",
            "delay > 74 AND small > 3",
            "id > 39000",
        ] {
            let filter = Expr::parse(text).unwrap();
            let rows = Scan::new(&path)
                .filter(filter.clone())
                .no_mmap(true)
                .run()
                .unwrap()
                .stats
                .rows_out;
            for threads in [1, 2] {
                for no_mmap in [false, true] {
                    let (count, _) = Scan::new(&path)
                        .filter(filter.clone())
                        .threads(threads)
                        .no_mmap(no_mmap)
                        .count()
                        .unwrap();
                    assert_eq!(
                        count, rows,
                        "{name} `{text}` threads {threads} no_mmap {no_mmap}"
                    );
                }
            }
            let (limited, _) = Scan::new(&path)
                .filter(filter.clone())
                .limit(5)
                .count()
                .unwrap();
            assert_eq!(limited, rows.min(5), "{name} `{text}` limit 5");
        }
    }
}
