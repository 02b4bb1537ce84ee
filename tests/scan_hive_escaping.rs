//! Hive partition values are percent-decoded as pyarrow and DuckDB decode them (`a%2Fb` is
//! `a/b`), filters on partition columns match the decoded values, and what strata writes
//! scans back to the original values, in strata and in pyarrow.

mod common;

use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use strata::{format::Partitioning, ErrorKind, Expr, Scan, WriteOptions};

/// The awkward values: separators, escapes, spaces, non-ASCII, dots, empty, and a null.
const VALUES: &[Option<&str>] = &[
    Some("a/b"),
    Some("a b"),
    Some("100%"),
    Some("x=y"),
    Some("é ü"),
    Some("plain"),
    Some("a%2Fb"),
    Some("a+b"),
    Some("q'\""),
    Some("#?*:\\"),
    Some("."),
    Some(".."),
    Some(""),
    None,
];

fn write_file(path: &Path, v: i64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let col: ArrayRef = Arc::new(Int64Array::from(vec![v]));
    let batch = RecordBatch::try_from_iter([("v", col)]).unwrap();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// `(v, c)` for every row, sorted by v.
fn rows(dir: &Path, filter: Option<&str>) -> Vec<(i64, Option<String>)> {
    let mut scan = Scan::new(dir);
    if let Some(f) = filter {
        scan = scan.filter(Expr::parse(f).unwrap());
    }
    let mut out = Vec::new();
    for b in scan.run().unwrap().batches {
        let v = b.column_by_name("v").unwrap();
        let v = v.as_any().downcast_ref::<Int64Array>().unwrap();
        let c = b.column_by_name("c").unwrap();
        let c = c.as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            out.push((v.value(i), c.is_valid(i).then(|| c.value(i).to_string())));
        }
    }
    out.sort();
    out
}

fn vs(rows: &[(i64, Option<String>)]) -> Vec<i64> {
    rows.iter().map(|(v, _)| *v).collect()
}

#[test]
fn hand_made_directories_read_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let segments = [
        "a%2Fb",
        "a%20b",
        "100%25",
        "100%",
        "x%3Dy",
        "%C3%A9%20%C3%BC",
        "caf%c3%a9",
        "a+b",
        "%zz",
        "__HIVE_DEFAULT_PARTITION__",
        "%5F%5FHIVE_DEFAULT_PARTITION%5F%5F",
        "plain",
    ];
    for (i, seg) in segments.iter().enumerate() {
        write_file(&dir.path().join(format!("c={seg}/p.parquet")), i as i64);
    }
    let got = rows(dir.path(), None);
    let want: Vec<(i64, Option<String>)> = [
        Some("a/b"),
        Some("a b"),
        Some("100%"),
        Some("100%"),
        Some("x=y"),
        Some("é ü"),
        Some("café"),
        Some("a+b"),
        Some("%zz"),
        None,
        None,
        Some("plain"),
    ]
    .iter()
    .enumerate()
    .map(|(i, c)| (i as i64, c.map(str::to_string)))
    .collect();
    assert_eq!(got, want);

    // Filters see decoded values, and prune whole files by them.
    assert_eq!(vs(&rows(dir.path(), Some("c = 'a/b'"))), [0]);
    assert_eq!(vs(&rows(dir.path(), Some("c = '100%'"))), [2, 3]);
    assert_eq!(
        vs(&rows(dir.path(), Some("c IN ('x=y', 'é ü', 'café')"))),
        [4, 5, 6]
    );
    assert_eq!(vs(&rows(dir.path(), Some("c LIKE 'a%'"))), [0, 1, 7]);
    assert_eq!(vs(&rows(dir.path(), Some("c IS NULL"))), [9, 10]);
    assert!(rows(dir.path(), Some("c = 'a%2Fb'")).is_empty());
    let out = Scan::new(dir.path())
        .filter(Expr::parse("c = 'a/b'").unwrap())
        .run()
        .unwrap();
    assert_eq!(out.stats.files_skipped, segments.len() as u64 - 1);
}

#[test]
fn integer_partitions_are_typed_after_decoding() {
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("n=%31%32/p.parquet"), 0);
    write_file(&dir.path().join("n=7/p.parquet"), 1);
    let out = Scan::new(dir.path())
        .filter(Expr::parse("n = 12").unwrap())
        .run()
        .unwrap();
    assert_eq!(out.stats.rows_out, 1);
    let n = out.batches[0].column_by_name("n").unwrap();
    assert_eq!(
        n.as_any().downcast_ref::<Int64Array>().unwrap().value(0),
        12
    );
}

#[test]
fn a_value_that_is_not_utf8_once_decoded_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("c=%FF/p.parquet"), 0);
    let e = Scan::new(dir.path()).run().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let m = e.to_string();
    assert!(m.contains("%FF") && m.contains("c=%FF"), "{m}");
}

/// A batch of `VALUES` as column c with v = index.
fn awkward_batch() -> RecordBatch {
    let c: ArrayRef = Arc::new(StringArray::from(VALUES.to_vec()));
    let v: ArrayRef = Arc::new(Int64Array::from_iter_values(0..VALUES.len() as i64));
    RecordBatch::try_from_iter([("c", c), ("v", v)]).unwrap()
}

fn original() -> Vec<(i64, Option<String>)> {
    VALUES
        .iter()
        .enumerate()
        .map(|(i, c)| (i as i64, c.map(str::to_string)))
        .collect()
}

#[test]
fn strata_writes_what_it_scans_back() {
    let dir = tempfile::tempdir().unwrap();
    let batch = awkward_batch();
    let options = WriteOptions {
        partitioning: Some(Partitioning::from_str("c").unwrap()),
        ..WriteOptions::default()
    };
    strata::format::write(dir.path(), &batch.schema(), &[batch], &options).unwrap();
    assert!(dir.path().join("c=a%2Fb").is_dir());
    assert!(dir.path().join("c=100%25").is_dir());
    assert_eq!(rows(dir.path(), None), original());
    assert_eq!(vs(&rows(dir.path(), Some("c = 'a/b'"))), [0]);
    assert_eq!(vs(&rows(dir.path(), Some("c = 'a%2Fb'"))), [6]);
    assert_eq!(
        vs(&rows(dir.path(), Some("c IN ('.', '..', '')"))),
        [10, 11, 12]
    );
}

/// pyarrow writes the values with its defaults; strata reads them as pyarrow reads them back.
/// Then pyarrow reads what strata wrote: the original values.
#[test]
fn pyarrow_and_strata_agree_both_ways() {
    let Some(python) = common::python_with("scan_hive_escaping", &["pyarrow"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let by_pyarrow = dir.path().join("by_pyarrow");
    let by_strata = dir.path().join("by_strata");
    let batch = awkward_batch();
    let options = WriteOptions {
        partitioning: Some(Partitioning::from_str("c").unwrap()),
        ..WriteOptions::default()
    };
    strata::format::write(&by_strata, &batch.schema(), &[batch], &options).unwrap();

    let values: Vec<String> = VALUES
        .iter()
        .map(|v| match v {
            Some(s) => format!("{s:?}"),
            None => "None".into(),
        })
        .collect();
    // Python reads Rust's debug quoting of these strings the same (no escapes beyond \\ and \").
    let script = format!(
        r#"
import json, sys
import pyarrow as pa, pyarrow.dataset as ds
values = [{values}]
t = pa.table({{"c": values, "v": pa.array(range(len(values)), pa.int64())}})
ds.write_dataset(t, sys.argv[1], format="parquet", partitioning=["c"],
                 partitioning_flavor="hive")
def read(path):
    r = ds.dataset(path, format="parquet", partitioning="hive").to_table()
    return sorted(zip(r["v"].to_pylist(), r["c"].to_pylist()))
print(json.dumps({{"pyarrow": read(sys.argv[1]), "strata": read(sys.argv[2])}}))
"#,
        values = values.join(", ")
    );
    let out = Command::new(&python)
        .args(["-c", &script])
        .arg(&by_pyarrow)
        .arg(&by_strata)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pairs = |key: &str| -> Vec<(i64, Option<String>)> {
        read[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_i64().unwrap(), p[1].as_str().map(str::to_string)))
            .collect()
    };
    // pyarrow reads its own dataset back as the values it wrote...
    let pyarrow_reads = pairs("pyarrow");
    assert_eq!(pyarrow_reads, original());
    // ...and strata reads pyarrow's dataset the same way.
    assert_eq!(rows(&by_pyarrow, None), pyarrow_reads);
    assert_eq!(vs(&rows(&by_pyarrow, Some("c = 'a/b'"))), [0]);
    // pyarrow reads strata's dataset as the original values.
    assert_eq!(pairs("strata"), original());
}
