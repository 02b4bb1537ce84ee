//! String columns whose chunks are all dictionary-encoded are decoded as dictionaries and
//! expanded by strata (src/read/dictionary.rs). What comes out must be exactly what the
//! parquet crate's own reader returns: same types, values and nulls, with and without
//! projection, filter, offset, limit and threads, next to columns that fell back to plain
//! pages or never had a dictionary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Int64Array, LargeStringArray, RecordBatch, StringArray,
};
use arrow::compute::{concat_batches, filter_record_batch};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use strata::{Expr, Scan};

const ROWS: i64 = 40_000;

/// Whether row `i` passes a filter.
type RowTest = dyn Fn(i64) -> bool;

fn zone(i: i64) -> Option<String> {
    (i % 13 != 0).then(|| format!("z{}", i % 8))
}

/// An id; `zone`, few short values with nulls; `tag`, a distinct value per row (its
/// dictionary overflows, so later pages are plain); `label`, few values longer than 16 bytes;
/// `note`, a large string with nulls; `plain`, strings never dictionary-encoded.
fn batch() -> RecordBatch {
    let ids: Vec<i64> = (0..ROWS).collect();
    let id: ArrayRef = Arc::new(Int64Array::from(ids.clone()));
    let zone: ArrayRef = Arc::new(StringArray::from_iter(ids.iter().map(|i| zone(*i))));
    let tag: ArrayRef =
        Arc::new(StringArray::from_iter_values(ids.iter().map(|i| {
            format!("{:016x}", (*i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        })));
    let labels: Vec<Vec<u8>> = (0..5)
        .map(|k| format!("a label longer than sixteen bytes #{k}").into_bytes())
        .collect();
    let label: ArrayRef = Arc::new(BinaryArray::from_iter_values(
        ids.iter().map(|i| labels[(i % 5) as usize].as_slice()),
    ));
    let note: ArrayRef =
        Arc::new(LargeStringArray::from_iter(ids.iter().map(|i| {
            (i % 3 != 1).then(|| ["", "ok", "late"][(i % 3) as usize])
        })));
    let plain: ArrayRef = Arc::new(StringArray::from_iter_values(
        ids.iter().map(|i| format!("p{}", i % 4)),
    ));
    RecordBatch::try_from_iter([
        ("id", id),
        ("zone", zone),
        ("tag", tag),
        ("label", label),
        ("note", note),
        ("plain", plain),
    ])
    .unwrap()
}

/// Row groups of 7,000 rows, pages of 1,000, dictionaries of at most 16 KiB.
fn write(path: &Path) {
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(7_000))
        .set_data_page_row_count_limit(1_000)
        .set_write_batch_size(1_000)
        .set_dictionary_page_size_limit(16 * 1024)
        .set_column_dictionary_enabled(ColumnPath::from("plain"), false)
        .set_compression(Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let data = batch();
    let mut w = ArrowWriter::try_new(file, data.schema(), Some(props)).unwrap();
    w.write(&data).unwrap();
    w.close().unwrap();
}

/// The test file, written into a directory of its own (kept while the guard lives).
fn written() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.parquet");
    write(&path);
    (dir, path)
}

/// The file as the parquet crate reads it by itself.
fn expected(path: &Path) -> RecordBatch {
    parquet_reads(&std::fs::read(path).unwrap()).unwrap()
}

fn all(scan: Scan) -> RecordBatch {
    let out = scan.run().unwrap();
    concat_batches(&out.batches[0].schema(), &out.batches).unwrap()
}

#[test]
fn the_file_has_the_chunks_this_test_is_about() {
    let (_dir, path) = written();
    let meta = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .metadata()
        .clone();
    assert!(meta.num_row_groups() > 1);
    let only_dictionary = |leaf: usize| {
        meta.row_groups().iter().all(|rg| {
            rg.column(leaf)
                .page_encoding_stats_mask()
                .is_some_and(|m| m.is_only(Encoding::RLE_DICTIONARY))
        })
    };
    // zone, label and note are dictionary-encoded throughout; tag falls back; plain never
    // has a dictionary.
    assert_eq!(
        (0..6).map(only_dictionary).collect::<Vec<_>>(),
        [false, true, false, true, true, false]
    );
}

#[test]
fn scans_return_what_the_parquet_crate_reads() {
    let (_dir, path) = written();
    let expected = expected(&path);
    for threads in [1, 2, 3] {
        for batch_size in [999, 8192, 100_000] {
            let got = all(Scan::new(&path).threads(threads).batch_size(batch_size));
            assert_eq!(got, expected, "{threads} threads, batches of {batch_size}");
        }
        for no_mmap in [false, true] {
            let got = all(Scan::new(&path).threads(threads).no_mmap(no_mmap));
            assert_eq!(got, expected, "{threads} threads, no_mmap {no_mmap}");
        }
    }
    // Projections put the dictionary columns at other positions.
    for columns in [
        &["note", "zone"][..],
        &["label"],
        &["tag", "zone", "plain"],
        &["id", "note"],
    ] {
        let want = expected
            .project(
                &columns
                    .iter()
                    .map(|c| expected.schema().index_of(c).unwrap())
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        for threads in [1, 2] {
            let got = all(Scan::new(&path).threads(threads).columns(columns));
            assert_eq!(got, want, "{columns:?} on {threads} threads");
        }
    }
}

#[test]
fn filters_offsets_and_limits_see_the_same_strings() {
    let (_dir, path) = written();
    let expected = expected(&path);
    let keep = |f: &dyn Fn(i64) -> bool| {
        let mask = BooleanArray::from_iter((0..ROWS).map(|i| Some(f(i))));
        filter_record_batch(&expected, &mask).unwrap()
    };
    let cases: [(&str, Box<RowTest>); 4] = [
        (
            "zone = 'z3'",
            Box::new(|i| zone(i).as_deref() == Some("z3")),
        ),
        ("zone IS NULL", Box::new(|i| zone(i).is_none())),
        (
            "id >= 12345 AND id < 20000",
            Box::new(|i| (12_345..20_000).contains(&i)),
        ),
        (
            "note = 'late' OR zone IN ('z1', 'z2')",
            Box::new(|i| i % 3 == 2 || matches!(zone(i).as_deref(), Some("z1" | "z2"))),
        ),
    ];
    for (filter, f) in cases {
        let want = keep(&*f);
        assert!(want.num_rows() > 0, "{filter}");
        for threads in [1, 2] {
            let got = all(Scan::new(&path)
                .threads(threads)
                .filter(Expr::parse(filter).unwrap()));
            assert_eq!(got, want, "{filter} on {threads} threads");
        }
    }
    let got = all(Scan::new(&path).threads(2).offset(6_990).limit(25));
    assert_eq!(got, expected.slice(6_990, 25));
}

/// Damage anywhere in a dictionary-encoded chunk (its dictionary page, its keys, the page
/// headers) gives a `Corrupt` error or the rows the parquet crate itself returns; never a
/// panic, and never strings the parquet crate would not return.
#[test]
fn damaged_dictionary_chunks_give_errors_or_the_same_rows() {
    let (dir, good) = written();
    let bytes = std::fs::read(&good).unwrap();
    let meta = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&good).unwrap())
        .unwrap()
        .metadata()
        .clone();
    let path = dir.path().join("damaged.parquet");
    let mut errors = 0;
    // zone, label and note in row group 1: every 37th byte of the chunk, one at a time.
    for leaf in [1, 3, 4] {
        let (start, len) = meta.row_group(1).column(leaf).byte_range();
        for at in (start..start + len).step_by(37) {
            let mut damaged = bytes.clone();
            damaged[at as usize] ^= 0x5A;
            std::fs::write(&path, &damaged).unwrap();
            let theirs = parquet_reads(&damaged);
            for threads in [1, 2] {
                match Scan::new(&path).threads(threads).run() {
                    Err(e) => {
                        assert_eq!(e.kind(), strata::ErrorKind::Corrupt, "byte {at}: {e}");
                        errors += usize::from(threads == 1);
                    }
                    Ok(out) => {
                        let got = concat_batches(&out.batches[0].schema(), &out.batches).unwrap();
                        let want = theirs.as_ref().unwrap_or_else(|e| {
                            panic!("byte {at}: strata read a file the parquet crate refuses: {e}")
                        });
                        assert_eq!(&got, want, "byte {at} on {threads} threads");
                    }
                }
            }
        }
    }
    assert!(errors > 0, "no damage was caught");
}

/// What the parquet crate reads from `data` by itself, with the page index as strata reads
/// (pages found by their offsets, not by walking the headers); a panic counts as a refusal.
fn parquet_reads(data: &[u8]) -> Result<RecordBatch, String> {
    let data = bytes::Bytes::copy_from_slice(data);
    std::panic::catch_unwind(|| {
        let options = ArrowReaderOptions::new()
            .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Optional);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(data, options)
            .and_then(|b| b.build())
            .map_err(|e| e.to_string())?;
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        Ok(concat_batches(&batches[0].schema(), &batches).unwrap())
    })
    .unwrap_or_else(|_| Err("the parquet crate panicked".to_string()))
}
