//! strata's Delta tables against DuckDB's Delta reader (the `delta` extension of duckdb 1.5.5,
//! `delta_scan`, built on delta-kernel-rs): it reads every table strata writes (plain,
//! partitioned, after an overwrite and a replaceWhere, at older versions, past a checkpoint)
//! with the rows strata's own scan returns. DuckDB runs in its own venv, `.ci/venv-delta`
//! (`.ci/run` makes it; the rest of CI pins another duckdb in the system python), through
//! tests/interop/duckdb_delta_read.py. Skipped locally without the venv (with the reason), a
//! failure in CI.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int64Type};
use strata::table::{AsOf, Table, TableOptions};

/// The same summary of strata's own scan of `table` at `as_of` (a null zone counts as "None",
/// Python's `str(None)`).
fn strata_reads(table: &Table, as_of: AsOf) -> serde_json::Value {
    let out = table.scan_as_of(as_of).unwrap().run().unwrap();
    let mut ids: Vec<i64> = Vec::new();
    let mut zones: BTreeMap<String, u64> = BTreeMap::new();
    for batch in &out.batches {
        let id = batch.column_by_name("id").unwrap();
        ids.extend(
            id.as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.expect("a null id")),
        );
        let zone =
            arrow::compute::cast(batch.column_by_name("zone").unwrap(), &DataType::Utf8).unwrap();
        for z in zone.as_string::<i32>().iter() {
            *zones.entry(z.unwrap_or("None").to_string()).or_default() += 1;
        }
    }
    ids.sort();
    let rows = ids.len();
    serde_json::json!({"ids": ids, "zones": zones, "rows": rows})
}

/// DuckDB and strata read the same rows at `as_of`, and they are the ids `want`.
fn same(python: &Path, table: &Table, path: &Path, as_of: AsOf, want: &[i64], what: &str) {
    let version = match as_of {
        AsOf::Latest => None,
        AsOf::Version(v) => Some(v),
        AsOf::Time(_) => unreachable!("DuckDB reads by version"),
    };
    let ours = strata_reads(table, as_of);
    assert_eq!(ours["ids"], serde_json::json!(want), "strata, {what}");
    let mut theirs = common::duckdb_reads(python, path, version);
    // (The summary is compared; every row is compared in tests/table_change_interop.rs.)
    theirs.as_object_mut().unwrap().remove("records");
    assert_eq!(theirs, ours, "DuckDB (left) and strata (right), {what}");
}

/// Rows `ids` with zone JFK, LGA or EWR by id % 3.
fn trips(ids: impl IntoIterator<Item = i64>) -> RecordBatch {
    let ids: Vec<i64> = ids.into_iter().collect();
    let zones = ["JFK", "LGA", "EWR"];
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids.clone())) as _),
        (
            "zone",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| zones[(i % 3) as usize]),
            )) as _,
        ),
    ])
    .unwrap()
}

/// Create, append, overwrite and replaceWhere on a table partitioned by `partition_by`; DuckDB
/// reads every version as strata does.
fn writes_read_alike(partition_by: &[&str], test: &str) {
    let Some(python) = common::duckdb_python(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let table = Table::at_dir(&path).unwrap();
    let first = trips(0..50);
    let options = TableOptions {
        partition_by: partition_by.iter().map(|c| c.to_string()).collect(),
        ..TableOptions::default()
    };
    assert_eq!(
        table
            .create(&first.schema(), &[first], &options)
            .unwrap()
            .version,
        0
    );
    assert_eq!(table.append(&[trips(50..80)]).unwrap().version, 1);
    assert_eq!(table.overwrite(&[trips(500..510)]).unwrap().version, 2);
    // replaceWhere: the JFK rows (501, 504, 507) give way to 900, 903, 906, 909 (all JFK). A
    // partitioned table drops the JFK file; a plain one rewrites its file without those rows.
    let jfk = trips((900..912).step_by(3));
    assert_eq!(
        table
            .overwrite_where("zone = 'JFK'", &[jfk])
            .unwrap()
            .version,
        3
    );
    // The latest version, then time travel to each earlier one (their removed files are still
    // there). Reads only at the end: each DuckDB read is a python process loading the extension.
    let v3: Vec<i64> = vec![500, 502, 503, 505, 506, 508, 509, 900, 903, 906, 909];
    same(
        &python,
        &table,
        &path,
        AsOf::Latest,
        &v3,
        "latest (after a replaceWhere)",
    );
    let v0: Vec<i64> = (0..50).collect();
    let v1: Vec<i64> = (0..80).collect();
    let v2: Vec<i64> = (500..510).collect();
    for (version, want, what) in [
        (0, &v0, "created"),
        (1, &v1, "after an append"),
        (2, &v2, "after an overwrite"),
    ] {
        same(
            &python,
            &table,
            &path,
            AsOf::Version(version),
            want,
            &format!("version {version}, {what}"),
        );
    }
}

#[test]
fn duckdb_reads_a_plain_table_at_every_version() {
    writes_read_alike(&[], "table_duckdb plain");
}

#[test]
fn duckdb_reads_a_partitioned_table_at_every_version() {
    writes_read_alike(&["zone"], "table_duckdb partitioned");
}

#[test]
fn duckdb_reads_past_a_checkpoint() {
    let Some(python) = common::duckdb_python("table_duckdb checkpoint") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let table = Table::at_dir(&path).unwrap();
    let first = trips(0..10);
    let options = TableOptions {
        partition_by: vec!["zone".to_string()],
        ..TableOptions::default()
    };
    table.create(&first.schema(), &[first], &options).unwrap();
    // Twelve appends: versions 1..=12, a checkpoint at version 9 (the tenth commit).
    for k in 1..=12i64 {
        let commit = table.append(&[trips(k * 10..k * 10 + 10)]).unwrap();
        assert_eq!(commit.version, k as u64);
    }
    let log = path.join("_delta_log");
    assert!(
        log.join("00000000000000000009.checkpoint.parquet")
            .is_file(),
        "no checkpoint at version 9 in {}",
        log.display()
    );
    assert!(log.join("_last_checkpoint").is_file());
    // Before the checkpoint (JSON commits only), at it, and one commit past it.
    let upto = |v: i64| (0..v * 10 + 10).collect::<Vec<i64>>();
    for version in [5u64, 9, 10] {
        same(
            &python,
            &table,
            &path,
            AsOf::Version(version),
            &upto(version as i64),
            &format!("version {version}"),
        );
    }
    // A replaceWhere after the checkpoint removes files the checkpoint adds.
    let lga = trips((1000..1012).filter(|i| i % 3 == 1));
    assert_eq!(
        table
            .overwrite_where("zone = 'LGA'", &[lga])
            .unwrap()
            .version,
        13
    );
    let mut want: Vec<i64> = (0..130).filter(|i| i % 3 != 1).collect();
    want.extend((1000..1012).filter(|i| i % 3 == 1));
    same(
        &python,
        &table,
        &path,
        AsOf::Latest,
        &want,
        "replaceWhere after the checkpoint",
    );
}

/// Delta's protocol ("Partition Value Serialization"): an empty string partition value is a
/// null. strata writes `"zone": ""` for an empty zone (as delta-rs does), and reads it back as
/// null, as DuckDB and delta-rs do.
#[test]
fn duckdb_and_strata_agree_on_an_empty_string_partition_value() {
    let Some(python) = common::duckdb_python("table_duckdb empty partition value") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let table = Table::at_dir(&path).unwrap();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1i64, 2, 3])) as _),
        (
            "zone",
            Arc::new(StringArray::from(vec![Some("JFK"), Some(""), None])) as _,
        ),
    ])
    .unwrap();
    let options = TableOptions {
        partition_by: vec!["zone".to_string()],
        ..TableOptions::default()
    };
    table.create(&batch.schema(), &[batch], &options).unwrap();
    same(
        &python,
        &table,
        &path,
        AsOf::Latest,
        &[1, 2, 3],
        "empty-string zone",
    );
}
