//! Hive-partitioned datasets: partition columns from paths, pruning of whole files by them,
//! and schema merging across files that differ.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::DataType;
use parquet::arrow::ArrowWriter;
use strata::{Expr, Scan};

fn write(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn ints(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

fn i64s(batches: &[RecordBatch], name: &str) -> Vec<Option<i64>> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name(name).unwrap();
            let c = c.as_any().downcast_ref::<Int64Array>().unwrap();
            c.iter().collect::<Vec<_>>()
        })
        .collect()
}

/// year=2023/ and year=2024/ with month partitions, plus a null partition and engine files
/// that must be ignored.
fn hive(dir: &Path) {
    write(
        &dir.join("year=2023/month=12/a.parquet"),
        vec![("v", ints(&[1, 2]))],
    );
    write(
        &dir.join("year=2024/month=1/a.parquet"),
        vec![("v", ints(&[3]))],
    );
    write(
        &dir.join("year=2024/month=2/a.parquet"),
        vec![("v", ints(&[4, 5]))],
    );
    write(
        &dir.join("year=__HIVE_DEFAULT_PARTITION__/month=3/a.parquet"),
        vec![("v", ints(&[6]))],
    );
    std::fs::write(dir.join("_SUCCESS"), b"").unwrap();
    std::fs::write(dir.join("year=2024/.a.parquet.crc"), b"junk").unwrap();
}

#[test]
fn partition_columns_come_from_paths() {
    let dir = tempfile::tempdir().unwrap();
    hive(dir.path());
    let out = Scan::new(dir.path()).run().unwrap();
    let names: Vec<String> = out
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["v", "year", "month"]);
    assert_eq!(out.schema.field(1).data_type(), &DataType::Int64);
    assert_eq!(i64s(&out.batches, "v"), [1, 2, 3, 4, 5, 6].map(Some));
    assert_eq!(
        i64s(&out.batches, "year"),
        [
            Some(2023),
            Some(2023),
            Some(2024),
            Some(2024),
            Some(2024),
            None
        ]
    );
}

#[test]
fn partition_filters_skip_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    hive(dir.path());
    let out = Scan::new(dir.path())
        .filter(Expr::parse("year = 2024 AND v > 3").unwrap())
        .run()
        .unwrap();
    assert_eq!(i64s(&out.batches, "v"), [Some(4), Some(5)]);
    assert_eq!(out.stats.files_skipped, 2);
    assert_eq!(out.stats.files, 2);
    let (n, _) = Scan::new(dir.path())
        .filter(Expr::parse("year IS NULL").unwrap())
        .count()
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn schemas_merge_across_files() {
    let dir = tempfile::tempdir().unwrap();
    // The first file has x as Int32 and a column y; the second x as Int64 and a column z.
    write(
        &dir.path().join("part=1/a.parquet"),
        vec![
            ("x", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
            ("y", Arc::new(StringArray::from(vec!["a", "b"]))),
        ],
    );
    write(
        &dir.path().join("part=2/b.parquet"),
        vec![
            ("x", ints(&[3_000_000_000])),
            ("z", Arc::new(Float64Array::from(vec![0.5]))),
        ],
    );
    let out = Scan::new(dir.path()).run().unwrap();
    let names: Vec<String> = out
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["x", "y", "z", "part"]);
    assert_eq!(out.schema.field(0).data_type(), &DataType::Int64);
    for b in &out.batches {
        assert_eq!(b.schema(), out.schema, "every batch has the merged schema");
    }
    assert_eq!(
        i64s(&out.batches, "x"),
        [Some(1), Some(2), Some(3_000_000_000)]
    );
    let z: Vec<Option<f64>> = out
        .batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name("z").unwrap();
            c.as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .iter()
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(z, [None, None, Some(0.5)]);

    // A filter on a column one file lacks: null there, so no row of that file matches.
    let out = Scan::new(dir.path())
        .columns(&["x", "y"])
        .filter(Expr::parse("z > 0").unwrap())
        .run()
        .unwrap();
    assert_eq!(i64s(&out.batches, "x"), [Some(3_000_000_000)]);
    assert_eq!(out.batches[0].column(1).null_count(), 1);
}

#[test]
fn incompatible_schemas_name_both_files() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.parquet"), vec![("x", ints(&[1]))]);
    write(
        &dir.path().join("b.parquet"),
        vec![("x", Arc::new(StringArray::from(vec!["one"])) as ArrayRef)],
    );
    let err = Scan::new(dir.path()).run().unwrap_err().to_string();
    assert!(
        err.contains("a.parquet") && err.contains("b.parquet") && err.contains("column x"),
        "{err}"
    );
}
