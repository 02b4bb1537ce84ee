//! `Scan::string_views`: string and binary columns out as views hold the same values as the
//! default types, through filters (pushed into the reader or not), several threads, both
//! orders, the pull reader, and datasets whose files store a column differently.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, DictionaryArray, Float64Array, Int32Array, Int64Array,
    LargeStringArray, RecordBatch, StringArray,
};
use arrow::compute::{cast, concat_batches, lexsort_to_indices, take, SortColumn};
use arrow::datatypes::{DataType, Int32Type, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use strata::{Expr, Scan};

const ROWS: i64 = 40_000;

fn write(path: &Path, batch: &RecordBatch, row_group: usize) {
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// Ids, short repeated strings with nulls (dictionary-encoded by the writer), long unique
/// strings (past a view's 12 inline bytes), binary, and a double.
fn table(offset: i64) -> RecordBatch {
    let ids = offset..offset + ROWS;
    let id: ArrayRef = Arc::new(Int64Array::from_iter_values(ids.clone()));
    let origin: ArrayRef = Arc::new(StringArray::from_iter(ids.clone().map(|i| {
        (i % 11 != 0).then(|| ["JFK", "LGA", "EWR", "BOS"][(i % 4) as usize].to_string())
    })));
    let note: ArrayRef = Arc::new(StringArray::from_iter_values(
        ids.clone()
            .map(|i| format!("a note long enough to be out of line {i}")),
    ));
    let blob: ArrayRef = Arc::new(BinaryArray::from_iter_values(
        ids.clone().map(|i| vec![(i % 5) as u8; (i % 3) as usize]),
    ));
    let delay: ArrayRef = Arc::new(Float64Array::from_iter(
        ids.map(|i| (i % 7 != 0).then_some((i % 400) as f64)),
    ));
    RecordBatch::try_from_iter([
        ("id", id),
        ("origin", origin),
        ("note", note),
        ("blob", blob),
        ("delay", delay),
    ])
    .unwrap()
}

/// All rows of the output, cast to the types of `like` (the default output's) and sorted
/// (scans out of order come out in any order).
fn plain(schema: &Arc<Schema>, batches: &[RecordBatch], like: &Schema) -> RecordBatch {
    let all = concat_batches(schema, batches).unwrap();
    let columns: Vec<ArrayRef> = all
        .columns()
        .iter()
        .zip(like.fields())
        .map(|(c, f)| cast(c, f.data_type()).unwrap())
        .collect();
    let keys: Vec<SortColumn> = columns
        .iter()
        .map(|c| SortColumn {
            values: c.clone(),
            options: None,
        })
        .collect();
    let order = lexsort_to_indices(&keys, None).unwrap();
    let columns: Vec<ArrayRef> = columns
        .iter()
        .map(|c| take(c, &order, None).unwrap())
        .collect();
    let names: Vec<String> = all
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    RecordBatch::try_from_iter(names.into_iter().zip(columns)).unwrap()
}

/// The scan with views off and on: the same rows, and the types each promises (views for
/// every string column but those named in `kept`).
fn same_either_way(scan: Scan) {
    same_keeping(scan, &[])
}

fn same_keeping(scan: Scan, kept: &[&str]) {
    let off = scan.clone().run().unwrap();
    let on = scan.string_views(true).run().unwrap();
    for field in off.schema.fields() {
        assert!(
            !matches!(field.data_type(), DataType::Utf8View | DataType::BinaryView),
            "{field:?} is a view by default"
        );
    }
    for (field, default) in on.schema.fields().iter().zip(off.schema.fields()) {
        let want = match default.data_type() {
            _ if kept.contains(&field.name().as_str()) => default.data_type().clone(),
            DataType::Utf8 | DataType::LargeUtf8 => DataType::Utf8View,
            DataType::Binary | DataType::LargeBinary => DataType::BinaryView,
            other => other.clone(),
        };
        assert_eq!(field.data_type(), &want, "{}", field.name());
    }
    for batch in &on.batches {
        assert_eq!(batch.schema(), on.schema, "a batch differs from the schema");
    }
    assert_eq!(on.stats.rows_out, off.stats.rows_out);
    let (on, off) = (
        plain(&on.schema, &on.batches, &off.schema),
        plain(&off.schema, &off.batches, &off.schema),
    );
    for (i, (a, b)) in on.columns().iter().zip(off.columns()).enumerate() {
        if a != b {
            let row = (0..a.len())
                .find(|&r| a.slice(r, 1) != b.slice(r, 1))
                .unwrap_or(0);
            panic!(
                "column {i} differs first at row {row}: {:?} with views, {:?} without",
                a.slice(row, 1),
                b.slice(row, 1)
            );
        }
    }
}

#[test]
fn views_hold_the_default_values_on_every_path() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("t.parquet");
    write(&path, &table(0), 8_000);
    for threads in [1, 2] {
        for keep_order in [true, false] {
            let scan = Scan::new(&path).threads(threads).keep_order(keep_order);
            same_either_way(scan.clone());
            same_either_way(scan.clone().columns(&["note", "origin"]));
            if keep_order {
                // Out of order, which rows an offset and limit keep is not fixed.
                same_either_way(scan.clone().batch_size(1_000).offset(123).limit(20_000));
            }
            for filter in [
                "origin = 'JFK'",
                "origin IN ('LGA', 'BOS') AND delay > 100",
                "origin LIKE 'E%'",
                "origin IS NULL OR note >= 'a note long enough to be out of line 39'",
                "origin != 'JFK' AND id < 30000",
                "id >= 1000 AND id < 1500",
            ] {
                let filter = Expr::parse(filter).unwrap();
                // Every column out: the reader applies the filter itself; one of its own
                // columns among two: the scan does.
                same_either_way(scan.clone().filter(filter.clone()));
                same_either_way(scan.clone().columns(&["origin", "id"]).filter(filter));
            }
        }
    }
}

#[test]
fn the_pull_reader_announces_the_view_types() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("t.parquet");
    write(&path, &table(0), 8_000);
    let mut reader = Scan::new(&path).string_views(true).reader().unwrap();
    let schema = arrow::record_batch::RecordBatchReader::schema(&reader);
    assert_eq!(
        schema.field_with_name("origin").unwrap().data_type(),
        &DataType::Utf8View
    );
    let mut rows = 0;
    while let Some(batch) = reader.next_batch().unwrap() {
        assert_eq!(batch.schema(), schema);
        rows += batch.num_rows();
    }
    assert_eq!(rows as i64, ROWS);
}

#[test]
fn a_dataset_of_differently_typed_files_reads_as_views() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    write(&dir.join("a.parquet"), &table(0), 8_000);
    // The same columns stored as a dictionary (its Arrow type kept in the footer) and as a
    // large string, plus a column the first file lacks.
    let second = table(ROWS);
    let origin = second.column_by_name("origin").unwrap();
    let keys = Int32Array::from_iter((0..ROWS as usize).map(|i| (!origin.is_null(i)).then_some(0)));
    let values: ArrayRef = Arc::new(StringArray::from(vec!["ORD"]));
    let dictionary: ArrayRef =
        Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).unwrap());
    let note: ArrayRef = Arc::new(LargeStringArray::from_iter_values(
        (0..ROWS).map(|i| format!("large {i}")),
    ));
    let extra: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..ROWS).map(|i| format!("x{}", i % 3)),
    ));
    let batch = RecordBatch::try_from_iter([
        ("id", second.column(0).clone()),
        ("origin", dictionary),
        ("note", note),
        ("blob", second.column(3).clone()),
        ("delay", second.column(4).clone()),
        ("extra", extra),
    ])
    .unwrap();
    write(&dir.join("b.parquet"), &batch, 8_000);
    for threads in [1, 2] {
        let scan = Scan::new(&dir).threads(threads);
        same_either_way(scan.clone());
        same_either_way(scan.clone().filter(Expr::parse("origin = 'ORD'").unwrap()));
        same_either_way(
            scan.clone()
                .columns(&["extra", "note"])
                .filter(Expr::parse("extra IN ('x1') OR note LIKE 'large 1%'").unwrap()),
        );
    }
}

#[test]
fn hive_partition_columns_keep_their_types() {
    let tmp = tempfile::tempdir().unwrap();
    for region in ["eu", "us"] {
        let dir = tmp.path().join(format!("region={region}"));
        std::fs::create_dir_all(&dir).unwrap();
        write(&dir.join("part.parquet"), &table(0), 8_000);
    }
    let scan =
        Scan::new(tmp.path()).filter(Expr::parse("region = 'us' AND origin = 'BOS'").unwrap());
    same_keeping(scan.clone(), &["region"]);
    let on = scan.string_views(true).run().unwrap();
    let region = on
        .schema
        .field_with_name("region")
        .unwrap()
        .data_type()
        .clone();
    let off = Scan::new(tmp.path()).run().unwrap();
    assert_eq!(
        &region,
        off.schema.field_with_name("region").unwrap().data_type()
    );
}
