//! strata's Delta tables against the Python `deltalake` package (delta-rs): it reads every
//! table strata writes (plain, partitioned, overwritten, at an older version) with the same
//! rows, and strata reads and appends to tables it wrote (partitioned, checkpointed, after a
//! delete and an overwrite). Needs python3 with deltalake and pyarrow (skipped locally with
//! the reason, a failure in CI).

mod common;

use std::process::Command;
use std::sync::Arc;

use arrow::array::{AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use strata::table::{AsOf, Table, TableOptions};

/// Prints `{"ids": [...sorted...], "zones": {...zone: count}}` of the table at argv[1]
/// (version argv[2] when given), as delta-rs reads it.
const READ: &str = r#"
import json, sys
from deltalake import DeltaTable
path = sys.argv[1]
dt = DeltaTable(path, version=int(sys.argv[2])) if len(sys.argv) > 2 else DeltaTable(path)
t = dt.to_pyarrow_table()
ids = sorted(t.column("id").to_pylist())
zones = {}
for z in t.column("zone").to_pylist():
    zones[str(z)] = zones.get(str(z), 0) + 1
print(json.dumps({"ids": ids, "zones": zones, "version": dt.version()}), flush=True)
# deltalake 1.6.6 aborts at interpreter exit after to_pyarrow_table ("terminate called without
# an active exception", also on tables it wrote itself): leave without running the teardown.
import os
os._exit(0)
"#;

/// Writes a partitioned table at argv[1] with delta-rs: two appends, a checkpoint, a delete of
/// id < 5, then an overwrite of partition zone=EWR... as a full overwrite with more rows.
const WRITE: &str = r#"
import sys, pyarrow as pa
from deltalake import DeltaTable, write_deltalake
path = sys.argv[1]
def rows(lo, hi):
    zones = ["JFK", "LGA", "EWR"]
    return pa.table({"id": pa.array(range(lo, hi), pa.int64()),
                     "zone": [zones[i % 3] for i in range(lo, hi)]})
write_deltalake(path, rows(0, 30), partition_by=["zone"])
write_deltalake(path, rows(30, 60), mode="append")
dt = DeltaTable(path)
dt.create_checkpoint()
dt.delete("id < 5")
write_deltalake(path, rows(100, 130), mode="overwrite")
write_deltalake(path, rows(130, 140), mode="append")
"#;

fn trips(ids: std::ops::Range<i64>) -> RecordBatch {
    let zones = ["JFK", "LGA", "EWR"];
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids.clone())) as _,
        ),
        (
            "zone",
            Arc::new(StringArray::from_iter_values(
                ids.map(|i| zones[(i % 3) as usize]),
            )) as _,
        ),
    ])
    .unwrap()
}

fn delta_rs_reads(python: &str, path: &std::path::Path, version: Option<u64>) -> serde_json::Value {
    let mut cmd = Command::new(python);
    cmd.args(["-c", READ]).arg(path);
    if let Some(v) = version {
        cmd.arg(v.to_string());
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "deltalake could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn strata_ids(table: &Table, as_of: AsOf) -> Vec<i64> {
    let out = table.scan_as_of(as_of).unwrap().run().unwrap();
    let mut ids: Vec<i64> = out
        .batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn delta_rs_reads_what_strata_writes() {
    let Some(python) = common::python_with("table_interop", &["deltalake", "pyarrow"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for partition_by in [vec![], vec!["zone".to_string()]] {
        let path = dir.path().join(format!("t{}", partition_by.len()));
        let table = Table::at_dir(&path).unwrap();
        let first = trips(0..50);
        let options = TableOptions {
            partition_by: partition_by.clone(),
            ..TableOptions::default()
        };
        table.create(&first.schema(), &[first], &options).unwrap();
        table.append(&[trips(50..80)]).unwrap();
        let read = delta_rs_reads(&python, &path, None);
        let want: Vec<i64> = (0..80).collect();
        assert_eq!(read["ids"], serde_json::json!(want), "{partition_by:?}");
        assert_eq!(read["zones"]["JFK"], 27);
        table.overwrite(&[trips(500..510)]).unwrap();
        let read = delta_rs_reads(&python, &path, None);
        assert_eq!(
            read["ids"],
            serde_json::json!((500..510).collect::<Vec<_>>())
        );
        assert_eq!(read["version"], 2);
        // replaceWhere: the ids below 505 are replaced by 0..3.
        table.overwrite_where("id < 505", &[trips(0..3)]).unwrap();
        let read = delta_rs_reads(&python, &path, None);
        let want: Vec<i64> = (0..3).chain(505..510).collect();
        assert_eq!(read["ids"], serde_json::json!(want));
        assert_eq!(read["version"], 3);
        // An older version, as delta-rs time travels.
        let read = delta_rs_reads(&python, &path, Some(0));
        assert_eq!(read["ids"], serde_json::json!((0..50).collect::<Vec<_>>()));
        // Past a checkpoint (strata writes one at version 9): delta-rs starts from it.
        for v in 4..10i64 {
            table.append(&[trips(v * 1000..v * 1000 + 2)]).unwrap();
        }
        assert!(path
            .join("_delta_log/00000000000000000009.checkpoint.parquet")
            .is_file());
        let read = delta_rs_reads(&python, &path, None);
        let mut want: Vec<i64> = (0..3).chain(505..510).collect();
        want.extend((4..10i64).flat_map(|v| [v * 1000, v * 1000 + 1]));
        assert_eq!(read["ids"], serde_json::json!(want));
        assert_eq!(read["version"], 9);
    }
}

#[test]
fn strata_reads_and_appends_to_what_delta_rs_writes() {
    let Some(python) = common::python_with("table_interop", &["deltalake", "pyarrow"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("py");
    let out = Command::new(&python)
        .args(["-c", WRITE])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = Table::at_dir(&path).unwrap();
    let latest = table.version().unwrap();
    assert_eq!(
        strata_ids(&table, AsOf::Latest),
        (100..140).collect::<Vec<_>>()
    );
    // Before the delete (version 1, after the checkpoint's appends).
    assert_eq!(
        strata_ids(&table, AsOf::Version(1)),
        (0..60).collect::<Vec<_>>()
    );
    // After the delete.
    assert_eq!(
        strata_ids(&table, AsOf::Version(2)),
        (5..60).collect::<Vec<_>>()
    );
    // delta-rs's file statistics prune strata's filtered scans without losing rows.
    let out = table
        .scan()
        .unwrap()
        .filter(strata::Expr::parse("id >= 130 AND zone = 'LGA'").unwrap())
        .run()
        .unwrap();
    assert_eq!(out.stats.rows_out, 4, "{:?}", out.stats); // 130, 133, 136, 139
    assert!(out.stats.files_skipped > 0, "{:?}", out.stats);
    let info = table.info(AsOf::Latest).unwrap();
    assert_eq!(info.partition_by, ["zone"]);
    let history = table.history().unwrap();
    assert_eq!(history.len() as u64, latest + 1);
    assert_eq!(
        history[history.len() - 3].operation.as_deref(),
        Some("DELETE")
    );

    // strata appends; delta-rs reads both writers' rows.
    table.append(&[trips(200..210)]).unwrap();
    let read = delta_rs_reads(&python, &path, None);
    let mut want: Vec<i64> = (100..140).collect();
    want.extend(200..210);
    assert_eq!(read["ids"], serde_json::json!(want));
    assert_eq!(strata_ids(&table, AsOf::Latest), want);
}
