//! Row-level changes against other Delta readers and writers: after each delete, update,
//! merge and optimize strata makes, the Python `deltalake` package and DuckDB's `delta_scan`
//! read exactly the rows the same change gives an in-memory model; and strata deletes,
//! updates and merges into a table the Python package wrote, which it then reads as the
//! model says. Needs python3 with deltalake, and `.ci/venv-delta` for DuckDB (skipped locally
//! with the reason, a failure in CI).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use strata::table::{MergeOptions, OptimizeOptions, Table, TableOptions};

type Model = BTreeMap<i64, (String, f64)>;

/// Prints `[[id, zone, fare], ...]` sorted by id of the table at argv[1], as delta-rs reads it.
const READ_ROWS: &str = r#"
import json, sys, os
from deltalake import DeltaTable
t = DeltaTable(sys.argv[1]).to_pyarrow_table()
rows = sorted(zip(t.column("id").to_pylist(), t.column("zone").to_pylist(), t.column("fare").to_pylist()))
print(json.dumps(rows), flush=True)
os._exit(0)
"#;

fn rows(data: &[(i64, &str, f64)]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(data.iter().map(|r| r.0))) as _,
        ),
        (
            "zone",
            Arc::new(StringArray::from_iter_values(data.iter().map(|r| r.1))) as _,
        ),
        (
            "fare",
            Arc::new(Float64Array::from_iter_values(data.iter().map(|r| r.2))) as _,
        ),
    ])
    .unwrap()
}

fn zone(i: i64) -> &'static str {
    ["JFK", "LGA", "EWR"][i.rem_euclid(3) as usize]
}

fn delta_rs_rows(python: &str, path: &Path) -> Model {
    let out = Command::new(python)
        .args(["-c", READ_ROWS])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "deltalake could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<(i64, String, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    rows.into_iter().map(|(i, z, f)| (i, (z, f))).collect()
}

fn duckdb_rows(python: &Path, path: &Path) -> Model {
    let read = common::duckdb_reads(python, path, None);
    read["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                (
                    r["zone"].as_str().unwrap().to_string(),
                    r["fare"].as_f64().unwrap(),
                ),
            )
        })
        .collect()
}

/// Both readers see `model` in the table at `path`.
fn readers_agree(python: &str, duck: Option<&Path>, path: &Path, model: &Model, after: &str) {
    assert_eq!(
        &delta_rs_rows(python, path),
        model,
        "deltalake after {after}"
    );
    if let Some(duck) = duck {
        assert_eq!(&duckdb_rows(duck, path), model, "DuckDB after {after}");
    }
}

#[test]
fn other_readers_see_every_change_strata_makes() {
    let Some(python) = common::python_with("table_change_interop", &["deltalake", "pyarrow"])
    else {
        return;
    };
    let duck = common::duckdb_python("table_change_interop");
    let dir = tempfile::tempdir().unwrap();
    for partitioned in [false, true] {
        let path = dir.path().join(format!("t{}", partitioned as u8));
        let table = Table::at_dir(&path).unwrap();
        let options = TableOptions {
            partition_by: if partitioned {
                vec!["zone".into()]
            } else {
                vec![]
            },
            ..TableOptions::default()
        };
        let mut model = Model::new();
        for k in 0..3i64 {
            let data: Vec<(i64, &str, f64)> = (k * 100..k * 100 + 100)
                .map(|i| (i, zone(i), i as f64))
                .collect();
            if k == 0 {
                table
                    .create(&rows(&data).schema(), &[rows(&data)], &options)
                    .unwrap();
            } else {
                table.append(&[rows(&data)]).unwrap();
            }
            model.extend(data.iter().map(|&(i, z, f)| (i, (z.to_string(), f))));
        }
        readers_agree(&python, duck.as_deref(), &path, &model, "the appends");

        table.delete("id >= 50 AND id < 150").unwrap();
        model.retain(|id, _| !(50..150).contains(id));
        readers_agree(&python, duck.as_deref(), &path, &model, "delete");

        table
            .update(Some("zone = 'LGA' AND id > 200"), "fare = 0.5")
            .unwrap();
        for (id, v) in model.iter_mut() {
            if v.0 == "LGA" && *id > 200 {
                v.1 = 0.5;
            }
        }
        readers_agree(&python, duck.as_deref(), &path, &model, "update");

        let source: Vec<(i64, &str, f64)> = (280..320).map(|i| (i, zone(i), -(i as f64))).collect();
        let merge = MergeOptions {
            on: vec!["id".into()],
            ..MergeOptions::default()
        };
        table.merge(&[rows(&source)], &merge).unwrap();
        model.extend(source.iter().map(|&(i, z, f)| (i, (z.to_string(), f))));
        readers_agree(&python, duck.as_deref(), &path, &model, "merge");

        table.optimize(&OptimizeOptions::default()).unwrap();
        readers_agree(&python, duck.as_deref(), &path, &model, "optimize");
        table
            .optimize(&OptimizeOptions {
                zorder_by: vec!["fare".into()],
                ..OptimizeOptions::default()
            })
            .unwrap();
        readers_agree(&python, duck.as_deref(), &path, &model, "z-order");
    }
}

/// Writes a partitioned table at argv[1] with delta-rs: two appends and a checkpoint.
const WRITE: &str = r#"
import sys, pyarrow as pa
from deltalake import DeltaTable, write_deltalake
path = sys.argv[1]
def rows(lo, hi):
    zones = ["JFK", "LGA", "EWR"]
    return pa.table({"id": pa.array(range(lo, hi), pa.int64()),
                     "zone": [zones[i % 3] for i in range(lo, hi)],
                     "fare": pa.array([float(i) for i in range(lo, hi)], pa.float64())})
write_deltalake(path, rows(0, 100), partition_by=["zone"])
write_deltalake(path, rows(100, 200), mode="append")
DeltaTable(path).create_checkpoint()
"#;

#[test]
fn strata_changes_tables_delta_rs_wrote() {
    let Some(python) = common::python_with("table_change_interop", &["deltalake", "pyarrow"])
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
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
    let mut model: Model = (0..200)
        .map(|i| (i, (zone(i).to_string(), i as f64)))
        .collect();
    let table = Table::at_dir(&path).unwrap();
    let r = table.delete("zone = 'EWR' AND id < 100").unwrap();
    assert!(r.rows_deleted > 0);
    model.retain(|id, v| !(v.0 == "EWR" && *id < 100));
    table.update(Some("id = 7"), "fare = 77.0").unwrap();
    model.get_mut(&7).unwrap().1 = 77.0;
    let source = [(5, "LGA", 5.5), (500, "JFK", 500.5)];
    let merge = MergeOptions {
        on: vec!["id".into()],
        ..MergeOptions::default()
    };
    table.merge(&[rows(&source)], &merge).unwrap();
    for (i, z, f) in source {
        model.insert(i, (z.to_string(), f));
    }
    assert_eq!(delta_rs_rows(&python, &path), model);
    let duck = common::duckdb_python("table_change_interop");
    if let Some(duck) = duck {
        assert_eq!(duckdb_rows(&duck, &path), model);
    }
}
