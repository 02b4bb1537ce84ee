//! Row-level table changes: delete, update and merge rewrite only the files that may hold a
//! matching row, commit once with their metrics, and commit nothing when nothing matches; bad
//! input is an error before anything is written; and random sequences of appends, deletes,
//! updates and merges give the rows the same sequence gives an in-memory model.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};
use proptest::prelude::*;
use strata::table::{MergeOptions, Table, TableOptions, WhenMatched, WhenNotMatched};
use strata::{ErrorKind, Lake};

const ZONES: [&str; 3] = ["JFK", "LGA", "EWR"];

/// Rows `(id, zone, fare)`.
fn rows(rows: &[(i64, &str, f64)]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))) as _,
        ),
        (
            "zone",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))) as _,
        ),
        (
            "fare",
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.2))) as _,
        ),
    ])
    .unwrap()
}

fn trips(ids: std::ops::Range<i64>) -> RecordBatch {
    let data: Vec<(i64, &str, f64)> = ids
        .map(|i| (i, ZONES[(i % 3) as usize], i as f64))
        .collect();
    rows(&data)
}

/// The table's rows as `id -> (zone, fare)`.
fn contents(table: &Table) -> BTreeMap<i64, (String, f64)> {
    let out = table.scan().unwrap().run().unwrap();
    let mut all = BTreeMap::new();
    for b in &out.batches {
        let id = b.column_by_name("id").unwrap().as_primitive::<Int64Type>();
        let zone = b.column_by_name("zone").unwrap().as_string::<i32>();
        let fare = b
            .column_by_name("fare")
            .unwrap()
            .as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            let previous = all.insert(id.value(i), (zone.value(i).to_string(), fare.value(i)));
            assert!(previous.is_none(), "id {} twice", id.value(i));
        }
    }
    all
}

fn lake() -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path(), vec![common::local_tier("hot")]);
    let lake = Lake::open(&config).unwrap();
    (dir, lake)
}

/// A table of ids 0..300 in 3 appends (so 3 files per zone partition, ids in ranges).
fn table(lake: &Lake, name: &str, partitioned: bool) -> Table {
    let table = lake.table(name).unwrap();
    let options = TableOptions {
        partition_by: if partitioned {
            vec!["zone".into()]
        } else {
            vec![]
        },
        ..TableOptions::default()
    };
    let first = trips(0..100);
    table.create(&first.schema(), &[first], &options).unwrap();
    table.append(&[trips(100..200)]).unwrap();
    table.append(&[trips(200..300)]).unwrap();
    table
}

#[test]
fn delete_rewrites_only_files_with_matching_rows() {
    let (_dir, lake) = lake();
    for partitioned in [false, true] {
        let name = format!("bronze/del{}", partitioned as u8);
        let table = table(&lake, &name, partitioned);
        let before = contents(&table);
        // ids 150..160 live in the second append's files only.
        let r = table.delete("id >= 150 AND id < 160").unwrap();
        assert_eq!(r.rows_deleted, 10, "{r:?}");
        assert_eq!(r.version, Some(3));
        let files_per_append = if partitioned { 3 } else { 1 };
        assert_eq!(r.files_removed, files_per_append, "{r:?}");
        assert!(r.files_skipped >= 2 * files_per_append, "{r:?}");
        assert_eq!(r.rows_copied, 90);
        let mut want = before.clone();
        want.retain(|id, _| !(150..160).contains(id));
        assert_eq!(contents(&table), want);
        // A whole partition: its files go without being rewritten.
        let r = table.delete("zone = 'EWR'").unwrap();
        assert_eq!(
            r.rows_copied,
            if partitioned { 0 } else { 200 - 7 },
            "{r:?}"
        );
        want.retain(|_, (zone, _)| zone != "EWR");
        assert_eq!(contents(&table), want);
        // Nothing matches: nothing is committed.
        let version = table.version().unwrap();
        let r = table.delete("id > 100000").unwrap();
        assert_eq!((r.version, r.rows_deleted), (None, 0));
        assert_eq!(table.version().unwrap(), version);
        // History carries the operation, its predicate and metrics.
        let h = &table.history().unwrap()[0];
        assert_eq!(h.operation.as_deref(), Some("DELETE"));
        assert_eq!(h.parameters["predicate"], "zone = 'EWR'");
        assert!(h.metrics["numDeletedRows"].as_u64().unwrap() > 0, "{h:?}");
    }
}

#[test]
fn update_sets_literals_nulls_and_other_columns() {
    let (_dir, lake) = lake();
    let table = table(&lake, "silver/upd", true);
    let mut want = contents(&table);
    let r = table
        .update(Some("id < 5"), "fare = 1000.5, zone = 'JFK'")
        .unwrap();
    assert_eq!(r.rows_updated, 5, "{r:?}");
    for id in 0..5 {
        want.insert(id, ("JFK".into(), 1000.5));
    }
    assert_eq!(contents(&table), want);
    // A column from another column of the same row (cast to the target type).
    let r = table.update(Some("id = 7"), "fare = id").unwrap();
    assert_eq!(r.rows_updated, 1);
    want.get_mut(&7).unwrap().1 = 7.0;
    assert_eq!(contents(&table), want);
    // No predicate: every row.
    let r = table.update(None, "fare = 0").unwrap();
    assert_eq!(r.rows_updated, 300);
    for v in want.values_mut() {
        v.1 = 0.0;
    }
    assert_eq!(contents(&table), want);
    let h = &table.history().unwrap()[0];
    assert_eq!(h.operation.as_deref(), Some("UPDATE"));
    assert_eq!(h.metrics["numUpdatedRows"], 300);
}

#[test]
fn merge_upserts_deletes_and_prunes_the_target() {
    let (_dir, lake) = lake();
    let table = table(&lake, "gold/merge", false);
    let mut want = contents(&table);
    // Half updates (ids 250..260), half inserts (ids 1000..1010).
    let mut source: Vec<(i64, &str, f64)> = (250..260).map(|i| (i, "JFK", -1.0)).collect();
    source.extend((1000..1010).map(|i| (i, "LGA", 5.0)));
    let options = MergeOptions {
        on: vec!["id".into()],
        ..MergeOptions::default()
    };
    let r = table.merge(&[rows(&source)], &options).unwrap();
    assert_eq!((r.rows_updated, r.rows_inserted), (10, 10), "{r:?}");
    // Only the third append's file holds ids 250..260.
    assert_eq!(r.files_removed, 1, "{r:?}");
    assert_eq!(r.files_skipped, 2, "{r:?}");
    for (id, zone, fare) in &source {
        want.insert(*id, (zone.to_string(), *fare));
    }
    assert_eq!(contents(&table), want);
    let h = &table.history().unwrap()[0];
    assert_eq!(h.operation.as_deref(), Some("MERGE"));
    assert_eq!(h.metrics["numTargetRowsInserted"], 10);

    // Matched rows deleted, unmatched ignored.
    let options = MergeOptions {
        on: vec!["id".into()],
        when_matched: WhenMatched::Delete,
        when_not_matched: WhenNotMatched::Ignore,
        ..MergeOptions::default()
    };
    let r = table
        .merge(&[rows(&[(1, "x", 0.0), (5000, "x", 0.0)])], &options)
        .unwrap();
    assert_eq!((r.rows_deleted, r.rows_inserted), (1, 0));
    want.remove(&1);
    assert_eq!(contents(&table), want);

    // Only some columns updated; the source may lack the others.
    let fares = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![2])) as _),
        ("fare", Arc::new(Float64Array::from(vec![42.0])) as _),
    ])
    .unwrap();
    let options = MergeOptions {
        on: vec!["id".into()],
        when_not_matched: WhenNotMatched::Ignore,
        ..MergeOptions::default()
    };
    table.merge(&[fares], &options).unwrap();
    want.get_mut(&2).unwrap().1 = 42.0;
    assert_eq!(contents(&table), want);

    // Delete what the source lacks: the table becomes the source.
    let options = MergeOptions {
        on: vec!["id".into()],
        delete_not_matched_by_source: true,
        ..MergeOptions::default()
    };
    table.merge(&[trips(0..3)], &options).unwrap();
    let want: BTreeMap<i64, (String, f64)> = (0..3)
        .map(|i| (i, (ZONES[i as usize % 3].to_string(), i as f64)))
        .collect();
    assert_eq!(contents(&table), want);
}

/// The data files under `dir` (paths relative to it) and the columns each says it copied from
/// the file it replaced (`strata.columns.copied`; `None`: encoded whole).
fn copied_columns(dir: &std::path::Path) -> BTreeMap<String, Option<String>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                let reader =
                    SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
                let copied = reader
                    .metadata()
                    .file_metadata()
                    .key_value_metadata()
                    .and_then(|kv| {
                        kv.iter()
                            .find(|kv| kv.key == strata::format::COPIED_COLUMNS_KEY)
                            .cloned()
                    })
                    .and_then(|kv| kv.value);
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, copied);
            }
        }
    }
    out
}

#[test]
fn changes_that_keep_rows_encode_only_the_columns_they_change() {
    let (_dir, lake) = lake();
    let table = table(&lake, "gold/columns", false);
    let dir = table.dir().unwrap().to_path_buf();
    let mut want = contents(&table);
    let new_files = |before: &BTreeMap<String, Option<String>>| -> Vec<Option<String>> {
        copied_columns(&dir)
            .into_iter()
            .filter(|(rel, _)| !before.contains_key(rel))
            .map(|(_, copied)| copied)
            .collect()
    };

    // An update of one column copies the other two.
    let before = copied_columns(&dir);
    let r = table
        .update(Some("id >= 10 AND id < 20"), "fare = 1.5")
        .unwrap();
    assert_eq!((r.rows_updated, r.files_removed), (10, 1), "{r:?}");
    assert_eq!(
        new_files(&before),
        vec![Some(r#"["id","zone"]"#.to_string())]
    );
    for id in 10..20 {
        want.get_mut(&id).unwrap().1 = 1.5;
    }
    assert_eq!(contents(&table), want);

    // A merge that updates every column, where only fare differs: zone is copied too.
    let source: Vec<(i64, &str, f64)> = (120..125)
        .map(|i| (i, ZONES[(i % 3) as usize], -2.0))
        .collect();
    let options = MergeOptions {
        on: vec!["id".into()],
        ..MergeOptions::default()
    };
    let before = copied_columns(&dir);
    let r = table.merge(&[rows(&source)], &options).unwrap();
    assert_eq!(
        (r.rows_updated, r.rows_inserted, r.files_removed),
        (5, 0, 1),
        "{r:?}"
    );
    assert_eq!(
        new_files(&before),
        vec![Some(r#"["id","zone"]"#.to_string())]
    );
    for (id, _, fare) in &source {
        want.get_mut(id).unwrap().1 = *fare;
    }
    assert_eq!(contents(&table), want);

    // Zone changes as well: only the key is copied.
    let before = copied_columns(&dir);
    table
        .merge(&[rows(&[(121, "XYZ", -2.0), (122, "XYZ", 3.0)])], &options)
        .unwrap();
    assert_eq!(new_files(&before), vec![Some(r#"["id"]"#.to_string())]);
    want.insert(121, ("XYZ".into(), -2.0));
    want.insert(122, ("XYZ".into(), 3.0));
    assert_eq!(contents(&table), want);

    // Matched rows that already hold the source's values: no file is written, and the merge
    // still counts them as updated.
    let version = table.version().unwrap();
    let before = copied_columns(&dir);
    let r = table
        .merge(&[rows(&[(121, "XYZ", -2.0)])], &options)
        .unwrap();
    assert_eq!(
        (r.rows_updated, r.files_removed, r.version),
        (1, 0, None),
        "{r:?}"
    );
    assert_eq!(table.version().unwrap(), version);
    assert!(new_files(&before).is_empty());

    // A merge that deletes rows encodes its files whole.
    let delete = MergeOptions {
        on: vec!["id".into()],
        when_matched: WhenMatched::Delete,
        ..MergeOptions::default()
    };
    let before = copied_columns(&dir);
    table.merge(&[rows(&[(30, "x", 0.0)])], &delete).unwrap();
    assert_eq!(new_files(&before), vec![None]);
    want.remove(&30);
    assert_eq!(contents(&table), want);
}

#[test]
fn bad_changes_are_errors_and_write_nothing() {
    let (_dir, lake) = lake();
    let table = table(&lake, "raw/bad", true);
    let dir = table.dir().unwrap().to_path_buf();
    let before = common::snapshot(&dir);
    let on_id = MergeOptions {
        on: vec!["id".into()],
        ..MergeOptions::default()
    };
    let errors = [
        table.delete("nope = 1").unwrap_err(),
        table.delete("id >").unwrap_err(),
        table.update(Some("id = 1"), "nope = 1").unwrap_err(),
        table.update(Some("id = 1"), "id = 'abc'").unwrap_err(),
        table.update(Some("id = 1"), "fare = zone").unwrap_err(),
        table.update(Some("nope = 1"), "fare = 1").unwrap_err(),
        table.update(None, "fare = 1, fare = 2").unwrap_err(),
        // A key of two source rows.
        table
            .merge(&[rows(&[(1, "JFK", 1.0), (1, "LGA", 2.0)])], &on_id)
            .unwrap_err(),
        // A key the source lacks, a key the table lacks, no key.
        table
            .merge(
                &[RecordBatch::try_from_iter([(
                    "fare",
                    Arc::new(Float64Array::from(vec![1.0])) as _,
                )])
                .unwrap()],
                &on_id,
            )
            .unwrap_err(),
        table
            .merge(
                &[trips(0..1)],
                &MergeOptions {
                    on: vec!["nope".into()],
                    ..MergeOptions::default()
                },
            )
            .unwrap_err(),
        table
            .merge(&[trips(0..1)], &MergeOptions::default())
            .unwrap_err(),
        // A key of another type that does not fit.
        table
            .merge(
                &[RecordBatch::try_from_iter([(
                    "id",
                    Arc::new(StringArray::from(vec!["x"])) as _,
                )])
                .unwrap()],
                &on_id,
            )
            .unwrap_err(),
    ];
    for e in &errors {
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    assert!(errors[0].to_string().contains("nope"), "{}", errors[0]);
    assert!(errors[7].to_string().contains("id = 1"), "{}", errors[7]);
    assert_eq!(common::snapshot(&dir), before, "nothing written");
}

#[derive(Debug, Clone)]
enum Step {
    Append(Vec<i64>),
    Delete(i64, i64),
    Update(i64, i64, f64),
    Merge(Vec<(i64, f64)>, bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        proptest::collection::btree_set(0i64..60, 1..8)
            .prop_map(|s| Step::Append(s.into_iter().collect())),
        (0i64..60, 1i64..20).prop_map(|(lo, n)| Step::Delete(lo, lo + n)),
        (0i64..60, 1i64..20, -5.0f64..5.0).prop_map(|(lo, n, f)| Step::Update(lo, lo + n, f)),
        (
            proptest::collection::btree_map(0i64..80, -5.0f64..5.0, 1..10),
            any::<bool>()
        )
            .prop_map(|(m, by_source)| Step::Merge(m.into_iter().collect(), by_source)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_changes_match_a_model(partitioned in any::<bool>(), steps in proptest::collection::vec(step(), 1..6)) {
        let dir = tempfile::tempdir().unwrap();
        let table = Table::at_dir(dir.path().join("t")).unwrap();
        let options = TableOptions {
            partition_by: if partitioned { vec!["zone".into()] } else { vec![] },
            ..TableOptions::default()
        };
        let zone = |i: i64| ZONES[i.rem_euclid(3) as usize];
        let mut model: BTreeMap<i64, (String, f64)> = BTreeMap::new();
        let first = trips(0..10);
        table.create(&first.schema(), &[first], &options).unwrap();
        for i in 0..10 {
            model.insert(i, (zone(i).to_string(), i as f64));
        }
        for step in steps {
            match step {
                Step::Append(ids) => {
                    // Appends only add new ids (the model is keyed by id).
                    let ids: Vec<i64> = ids.into_iter().map(|i| i + 1000 * (model.len() as i64 + 1)).collect();
                    let data: Vec<(i64, &str, f64)> = ids.iter().map(|&i| (i, zone(i), 1.0)).collect();
                    table.append(&[rows(&data)]).unwrap();
                    for &i in &ids {
                        model.insert(i, (zone(i).to_string(), 1.0));
                    }
                }
                Step::Delete(lo, hi) => {
                    table.delete(&format!("id >= {lo} AND id < {hi}")).unwrap();
                    model.retain(|id, _| !(lo..hi).contains(id));
                }
                Step::Update(lo, hi, fare) => {
                    table.update(Some(&format!("id >= {lo} AND id < {hi}")), &format!("fare = {fare:?}")).unwrap();
                    for (_, v) in model.range_mut(lo..hi) {
                        v.1 = fare;
                    }
                }
                Step::Merge(source, by_source) => {
                    let data: Vec<(i64, &str, f64)> = source.iter().map(|&(i, f)| (i, zone(i), f)).collect();
                    let options = MergeOptions {
                        on: vec!["id".into()],
                        delete_not_matched_by_source: by_source,
                        ..MergeOptions::default()
                    };
                    table.merge(&[rows(&data)], &options).unwrap();
                    if by_source {
                        model.retain(|id, _| source.iter().any(|(s, _)| s == id));
                    }
                    for &(i, f) in &source {
                        model.insert(i, (zone(i).to_string(), f));
                    }
                }
            }
            prop_assert_eq!(contents(&table), model.clone());
        }
        // Every version other engines would read is a valid table: the files named exist.
        let out = table.scan().unwrap().run().unwrap();
        prop_assert_eq!(out.batches.iter().map(|b| b.num_rows()).sum::<usize>(), model.len());
        prop_assert!(out.batches.iter().all(|b| b.column(0).null_count() == 0));
    }
}

#[test]
fn the_command_line_deletes_updates_and_merges() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let csv = dir.path().join("trips.csv");
    std::fs::write(
        &csv,
        "id,zone,fare\n1,JFK,1.5\n2,LGA,2.5\n3,EWR,3.5\n4,JFK,4.5\n",
    )
    .unwrap();
    let source = dir.path().join("source.csv");
    std::fs::write(&source, "id,zone,fare\n4,JFK,40.0\n9,LGA,9.0\n").unwrap();
    let c = |args: &[&str]| {
        let mut all = vec!["--dir", d, "table"];
        all.extend_from_slice(args);
        common::cli_ok(&all)
    };
    c(&["create", "bronze/t", "--from", csv.to_str().unwrap()]);
    let out = c(&["delete", "bronze/t", "--where", "id = 1", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (r["rows_deleted"].as_u64(), r["version"].as_u64()),
        (Some(1), Some(1))
    );
    let out = c(&[
        "update",
        "bronze/t",
        "--set",
        "fare = 0",
        "--where",
        "zone = 'LGA'",
    ]);
    assert!(
        String::from_utf8_lossy(&out).contains("1 updated"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let out = c(&[
        "merge",
        "bronze/t",
        source.to_str().unwrap(),
        "--on",
        "id",
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (r["rows_updated"].as_u64(), r["rows_inserted"].as_u64()),
        (Some(1), Some(1))
    );
    let out = c(&["scan", "bronze/t", "--format", "csv", "--filter", "id >= 4"]);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("4,JFK,40") && text.contains("9,LGA,9"),
        "{text}"
    );
    let out = c(&["optimize", "bronze/t", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(
        r["files_after"].as_u64() < r["files_before"].as_u64(),
        "{r}"
    );
    let e = common::cli_err(&[
        "--dir", d, "table", "delete", "bronze/t", "--where", "nope = 1",
    ]);
    assert!(e.contains("nope"), "{e}");
    let out = common::cli(&[
        "--dir",
        d,
        "table",
        "merge",
        "bronze/t",
        csv.to_str().unwrap(),
        "--on",
        "id",
        "--when-matched",
        "explode",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("explode"));
}

#[test]
fn optimize_compacts_small_files_and_zorders_for_range_filters() {
    use strata::table::OptimizeOptions;
    let dir = tempfile::tempdir().unwrap();
    let table = Table::at_dir(dir.path().join("t")).unwrap();
    let options = TableOptions {
        partition_by: vec!["zone".into()],
        ..TableOptions::default()
    };
    // 20 appends of 300 rows: 60 small files over 3 partitions, ids in random-ish order.
    let scrambled = |k: i64| -> RecordBatch {
        let data: Vec<(i64, &str, f64)> = (0..300)
            .map(|i| {
                let id = (k * 300 + i) * 7919 % 6000;
                (id, ZONES[(i % 3) as usize], ((id * 31) % 1000) as f64)
            })
            .collect();
        rows(&data)
    };
    let first = scrambled(0);
    table.create(&first.schema(), &[first], &options).unwrap();
    for k in 1..20 {
        table.append(&[scrambled(k)]).unwrap();
    }
    let before = contents(&table);
    assert_eq!(table.info(strata::table::AsOf::Latest).unwrap().files, 60);

    // Compaction: each partition's 20 small files become one.
    let r = table.optimize(&OptimizeOptions::default()).unwrap();
    assert_eq!(
        (r.files_before, r.files_after, r.partitions),
        (60, 3, 3),
        "{r:?}"
    );
    assert_eq!(contents(&table), before, "optimize changes no row");
    let h = &table.history().unwrap()[0];
    assert_eq!(h.operation.as_deref(), Some("OPTIMIZE"));
    // Nothing left to compact: nothing committed.
    let again = table.optimize(&OptimizeOptions::default()).unwrap();
    assert_eq!(again.version, None);

    // Z-order by id and fare into small files: a 1% range on either reads fewer files.
    let z = table
        .optimize(&OptimizeOptions {
            zorder_by: vec!["id".into(), "fare".into()],
            target_file_bytes: Some(1024),
            predicate: Some("zone = 'JFK'".into()),
            reencode: false,
        })
        .unwrap();
    assert_eq!(z.partitions, 1, "only JFK: {z:?}");
    assert!(z.files_after > 2, "{z:?}");
    assert_eq!(contents(&table), before);
    assert_eq!(z.zorder.len(), 2, "{z:?}");
    for e in &z.zorder {
        assert!(
            e.files_read_after < e.files_after,
            "z-order should let a range filter skip files: {e:?}"
        );
    }
    // Bad input: too many columns, a partition column, a non-partition predicate.
    let bad = |o: OptimizeOptions| table.optimize(&o).unwrap_err();
    let e = bad(OptimizeOptions {
        zorder_by: vec!["id".into(); 5],
        ..OptimizeOptions::default()
    });
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = bad(OptimizeOptions {
        zorder_by: vec!["zone".into()],
        ..OptimizeOptions::default()
    });
    assert!(e.to_string().contains("partition"), "{e}");
    let e = bad(OptimizeOptions {
        predicate: Some("id = 1".into()),
        ..OptimizeOptions::default()
    });
    assert!(e.to_string().contains("partition"), "{e}");
}

#[test]
fn optimize_commits_on_top_of_appends_that_landed_first() {
    use strata::table::OptimizeOptions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let table = Table::at_dir(&path).unwrap();
    let first = trips(0..10);
    table
        .create(&first.schema(), &[first], &TableOptions::default())
        .unwrap();
    for k in 1..6 {
        table.append(&[trips(k * 10..k * 10 + 10)]).unwrap();
    }
    // Appends race the optimize from another handle; none is lost and the optimize lands.
    let other = Table::at_dir(&path).unwrap();
    let report = std::thread::scope(|s| {
        let appender = s.spawn(|| {
            for k in 100..104 {
                other.append(&[trips(k * 10..k * 10 + 10)]).unwrap();
            }
        });
        let report = table.optimize(&OptimizeOptions::default());
        appender.join().unwrap();
        report
    });
    let report = report.unwrap();
    assert!(report.version.is_some(), "{report:?}");
    let ids: Vec<i64> = contents(&table).keys().copied().collect();
    let want: Vec<i64> = (0..60).chain(1000..1040).collect();
    assert_eq!(ids, want);
}

#[test]
fn a_delete_racing_appends_commits_on_top_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let table = Table::at_dir(&path).unwrap();
    let first = trips(0..1000);
    table
        .create(&first.schema(), &[first], &TableOptions::default())
        .unwrap();
    for k in 1..4 {
        table.append(&[trips(k * 1000..k * 1000 + 1000)]).unwrap();
    }
    let other = Table::at_dir(&path).unwrap();
    let deleted = std::thread::scope(|s| {
        let appender = s.spawn(|| {
            for k in 10..16 {
                other.append(&[trips(k * 1000..k * 1000 + 10)]).unwrap();
            }
        });
        let r = table.delete("id >= 1000 AND id < 3000");
        appender.join().unwrap();
        r
    });
    // The delete either went first or committed on top of the appends: nothing is lost.
    let r = deleted.unwrap();
    assert_eq!(r.rows_deleted, 2000, "{r:?}");
    let ids: Vec<i64> = contents(&table).keys().copied().collect();
    let want: Vec<i64> = (0..1000)
        .chain(3000..4000)
        .chain((10..16).flat_map(|k| k * 1000..k * 1000 + 10))
        .collect();
    assert_eq!(ids, want);
}
