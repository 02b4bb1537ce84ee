//! Page-index and bloom-filter pruning: what they skip, and that they never change a result
//! (checked against the same rows written without any statistics).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use proptest::prelude::*;
use strata::{Expr, Scan, ScanStats};

const ROWS: i64 = 10_000;

/// `id` sorted, `code` scattered (id * 7919 mod 10007), `maybe` null every 7th row, `name`
/// = "n{id}", `x` a float with NaN every 11th row.
fn batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("code", DataType::Int64, false),
        Field::new("maybe", DataType::Int64, true),
        Field::new("name", DataType::Utf8, false),
        Field::new("x", DataType::Float64, false),
    ]));
    let ids: Vec<i64> = (0..ROWS).collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(Int64Array::from_iter_values(
                ids.iter().map(|i| i * 7919 % 10007),
            )),
            Arc::new(Int64Array::from_iter(
                ids.iter().map(|i| (i % 7 != 0).then_some(i / 3)),
            )),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("n{i}")),
            )),
            Arc::new(Float64Array::from_iter_values(ids.iter().map(|i| {
                if i % 11 == 0 {
                    f64::NAN
                } else {
                    *i as f64 / 10.0
                }
            }))),
        ],
    )
    .unwrap()
}

/// Two row groups of 5000 rows in pages of 500; with `indexed`, page statistics (hence the
/// page index) and bloom filters on `code` and `name`, else no statistics at all.
fn write(dir: &Path, name: &str, indexed: bool) -> PathBuf {
    let batch = batch();
    let mut props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(5_000))
        .set_data_page_row_count_limit(500)
        .set_write_batch_size(100);
    props = if indexed {
        props
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_column_bloom_filter_enabled("code".into(), true)
            .set_column_bloom_filter_enabled("name".into(), true)
    } else {
        props.set_statistics_enabled(EnabledStatistics::None)
    };
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props.build())).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    path
}

fn ids(path: &Path, filter: &Expr) -> (Vec<i64>, ScanStats) {
    let out = Scan::new(path)
        .columns(&["id"])
        .filter(filter.clone())
        .run()
        .unwrap();
    let mut v = Vec::new();
    for b in &out.batches {
        let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        v.extend(col.values().iter().copied());
    }
    (v, out.stats)
}

#[test]
fn the_page_index_skips_pages_of_a_selective_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.parquet", true);
    let filter = Expr::parse("id >= 1200 AND id < 1300").unwrap();
    let (got, stats) = ids(&path, &filter);
    assert_eq!(got, (1200..1300).collect::<Vec<_>>());
    // The second row group goes by its statistics; in the first, only the page holding
    // 1000..1500 is read (of its 10 pages of `id`, the only column decoded).
    assert_eq!(stats.row_groups_skipped, 1);
    assert_eq!(stats.pages_total, 10);
    assert_eq!(stats.pages_skipped, 9);
    assert_eq!(stats.rows_decoded, 500);
}

#[test]
fn page_ranges_of_different_columns_combine() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.parquet", true);
    // `id` keeps pages 0..500 and 9500..; `maybe` (= id / 3) keeps rows with id >= 9000.
    let filter = Expr::parse("(id < 100 OR id >= 9900) AND maybe >= 3000").unwrap();
    let (got, stats) = ids(&path, &filter);
    let want: Vec<i64> = (9900..ROWS).filter(|i| i % 7 != 0).collect();
    assert_eq!(got, want);
    assert_eq!(stats.row_groups_skipped, 1);
    assert_eq!(stats.rows_decoded, 500);
}

#[test]
fn bloom_filters_skip_row_groups_statistics_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.parquet", true);
    // A code no row has, within every row group's min..max of `code`.
    let missing = (0..10_007)
        .find(|c| (0..ROWS).all(|i| i * 7919 % 10007 != *c))
        .unwrap();
    let (got, stats) = ids(&path, &Expr::parse(&format!("code = {missing}")).unwrap());
    assert!(got.is_empty());
    assert_eq!(stats.row_groups_skipped, 2);
    assert_eq!(stats.row_groups_skipped_bloom, 2);

    // 'n50000' lies between the second row group's min 'n5000' and max 'n9999' but is in
    // neither; 'n4242' keeps the first.
    let (got, stats) = ids(&path, &Expr::parse("name IN ('n4242', 'n50000')").unwrap());
    assert_eq!(got, vec![4242]);
    assert_eq!(stats.row_groups_skipped_bloom, 1);
    let (got, _) = ids(&path, &Expr::parse("code = 7919").unwrap());
    assert_eq!(got, vec![1]);
}

#[test]
fn no_mmap_prunes_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.parquet", true);
    let filter = Expr::parse("name = 'n7777' OR (id >= 10 AND id <= 12)").unwrap();
    let a = Scan::new(&path).filter(filter.clone()).run().unwrap();
    let b = Scan::new(&path).filter(filter).no_mmap(true).run().unwrap();
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.batches, b.batches);
}

fn leaf() -> impl Strategy<Value = String> {
    let op = prop::sample::select(vec!["=", "!=", "<", "<=", ">", ">="]);
    prop_oneof![
        (
            prop::sample::select(vec!["id", "code", "maybe"]),
            op.clone(),
            -10i64..10_020
        )
            .prop_map(|(c, op, v)| format!("{c} {op} {v}")),
        (op, 0u32..1000).prop_map(|(op, v)| format!("x {op} {}", v as f64 / 10.0)),
        (0i64..12_000).prop_map(|v| format!("name = 'n{v}'")),
        prop::collection::vec(0i64..10_100, 1..4).prop_map(|vs| {
            let list: Vec<String> = vs.iter().map(|v| v.to_string()).collect();
            format!("code IN ({})", list.join(", "))
        }),
        Just("maybe IS NULL".to_string()),
        Just("maybe IS NOT NULL".to_string()),
        (0u32..100).prop_map(|v| format!("name LIKE 'n{v}%'")),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn pruning_never_changes_a_result(text in expr()) {
        let dir = tempfile::tempdir().unwrap();
        let indexed = write(dir.path(), "indexed.parquet", true);
        let plain = write(dir.path(), "plain.parquet", false);
        let filter = match Expr::parse(&text) {
            Ok(f) => f,
            // Syntax the generator may produce that the parser rejects is not this test's concern.
            Err(_) => return Ok(()),
        };
        let (want, plain_stats) = ids(&plain, &filter);
        prop_assert_eq!(plain_stats.row_groups_skipped, 0);
        let (got, _) = ids(&indexed, &filter);
        prop_assert_eq!(got, want, "{}", text);
    }
}

/// Damage anywhere in a file with a page index and bloom filters (whose footer may still
/// parse) gives rows or an error: never a panic.
#[test]
fn a_damaged_byte_anywhere_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let batch = batch().slice(0, 300);
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(150))
        .set_data_page_row_count_limit(50)
        .set_write_batch_size(25)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_column_bloom_filter_enabled("code".into(), true)
        .set_column_bloom_filter_enabled("name".into(), true)
        .build();
    let good = dir.path().join("good.parquet");
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(&good).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let bad = dir.path().join("bad.parquet");
    let filter = Expr::parse("code = 7919 OR (id >= 120 AND id < 130) OR name = 'n5'").unwrap();
    for i in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[i] ^= 0x5A;
        std::fs::write(&bad, &damaged).unwrap();
        let result = std::panic::catch_unwind(|| Scan::new(&bad).filter(filter.clone()).run());
        assert!(result.is_ok(), "byte {i} of {} damaged: panic", bytes.len());
    }
}

/// strata's writer records each float column's NaN count in the footer: a column without NaN
/// is pruned by a lower bound too (statistics leave NaN out, and NaN sorts above every
/// number), one with NaN is not, and either way the rows are those of a file without
/// statistics.
#[test]
fn a_lower_bound_prunes_float_row_groups_known_to_hold_no_nan() {
    let dir = tempfile::tempdir().unwrap();
    let options = strata::format::WriteOptions {
        row_group_rows: 1_000,
        ..Default::default()
    };
    let plain = write(dir.path(), "plain.parquet", false);
    let with_nan = dir.path().join("nan.parquet");
    strata::format::write(&with_nan, &batch().schema(), &[batch()], &options).unwrap();
    // The same rows with `x` = id / 10 and no NaN.
    let clean = batch();
    let x: Arc<dyn Array> = Arc::new(Float64Array::from_iter_values(
        (0..ROWS).map(|i| i as f64 / 10.0),
    ));
    let mut columns = clean.columns().to_vec();
    columns[4] = x;
    let clean = RecordBatch::try_new(clean.schema(), columns).unwrap();
    let without_nan = dir.path().join("clean.parquet");
    strata::format::write(&without_nan, &clean.schema(), &[clean], &options).unwrap();

    let filter = Expr::parse("x >= 900").unwrap();
    let (got, stats) = ids(&without_nan, &filter);
    assert_eq!(got, (9000..ROWS).collect::<Vec<_>>());
    assert_eq!(stats.row_groups_skipped, 9, "{stats:?}");
    // With NaN every 11th row, nothing is skipped and the NaN rows match.
    let (got, stats) = ids(&with_nan, &filter);
    assert_eq!(got, ids(&plain, &filter).0);
    assert!(got.contains(&11) && got.contains(&9001), "{got:?}");
    assert_eq!(stats.row_groups_skipped, 0, "{stats:?}");
    let not_equal = Expr::parse("x != 5").unwrap();
    assert_eq!(ids(&with_nan, &not_equal).0, ids(&plain, &not_equal).0);
}

/// A NaN-count record that does not parse (or names no count for the column) is no record:
/// the float column is pruned on upper bounds only, and the rows are those of a file without
/// statistics.
#[test]
fn a_garbled_nan_count_record_prunes_nothing_it_should_not() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "plain.parquet", false);
    let filter = Expr::parse("x >= 900").unwrap();
    for (i, record) in ["not json", "{\"x\": -1}", "{\"y\": 0}", "[0]", ""]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("g{i}.parquet"));
        let batch = batch();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(1_000))
            .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
                strata::NAN_COUNTS_KEY.to_string(),
                record.to_string(),
            )]))
            .build();
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let (got, stats) = ids(&path, &filter);
        assert_eq!(got, ids(&plain, &filter).0, "record {record:?}");
        assert_eq!(stats.row_groups_skipped, 0, "record {record:?}");
    }
}
