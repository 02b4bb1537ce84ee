//! Exact profile metrics against pandas and DuckDB on the same CSV with nulls and NaNs.
//!
//! Needs `python3` with pandas and duckdb (set `STRATA_PYTHON` to another interpreter). Without
//! them the test prints SKIPPED; with `CI` set it fails instead.

mod common;

use std::io::Write;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use strata::quality::{profile_batches, ProfileOptions, Scalar};

fn data() -> (RecordBatch, String) {
    let n = 5000i64;
    let ints: Vec<Option<i64>> = (0..n)
        .map(|i| (i % 17 != 3).then_some((i * 7919) % 1009 - 500))
        .collect();
    let floats: Vec<Option<f64>> = (0..n)
        .map(|i| match i % 23 {
            0 => None,
            5 => Some(f64::NAN),
            _ => Some(((i * 104_729) % 10_007) as f64 / 8.0 - 600.0),
        })
        .collect();
    let texts: Vec<Option<String>> = (0..n)
        .map(|i| (i % 13 != 0).then(|| format!("k{}", i % 97)))
        .collect();
    let mut csv = String::from("i,f,s\n");
    for r in 0..n as usize {
        let i = ints[r].map_or(String::new(), |v| v.to_string());
        let f = match floats[r] {
            None => String::new(),
            Some(x) if x.is_nan() => "NaN".into(),
            Some(x) => format!("{x}"),
        };
        let s = texts[r].clone().unwrap_or_default();
        csv.push_str(&format!("{i},{f},{s}\n"));
    }
    let batch = RecordBatch::try_from_iter(vec![
        ("i", Arc::new(Int64Array::from(ints)) as ArrayRef),
        ("f", Arc::new(Float64Array::from(floats)) as ArrayRef),
        ("s", Arc::new(StringArray::from(texts)) as ArrayRef),
    ])
    .unwrap();
    (batch, csv)
}

const SCRIPT: &str = r#"
import json, sys, pandas as pd, duckdb
path = sys.argv[1]
df = pd.read_csv(path, dtype={"i": "Int64", "f": "float64", "s": "string"}, keep_default_na=False, na_values={"i": [""], "f": ["", "NaN"], "s": [""]})
out = {"pandas": {}, "duckdb": {}}
for c in ["i", "f"]:
    x = df[c].dropna()
    out["pandas"][c] = {"missing": int(df[c].isnull().sum()), "min": float(x.min()), "max": float(x.max()),
                        "sum": float(x.sum()), "mean": float(x.mean()), "std": float(x.std()),
                        "distinct": int(x.nunique()), "zeros": int((x == 0).sum()), "negatives": int((x < 0).sum())}
out["pandas"]["s"] = {"missing": int(df["s"].isnull().sum()), "distinct": int(df["s"].nunique()),
                      "min_len": int(df["s"].dropna().str.len().min()), "max_len": int(df["s"].dropna().str.len().max())}
con = duckdb.connect()
con.execute(f"create table t as select * from read_csv('{path}', header=true, columns={{'i': 'BIGINT', 'f': 'DOUBLE', 's': 'VARCHAR'}}, nullstr='')")
for c in ["i", "f"]:
    row = con.execute(f"select count(*) filter (where {c} is null or isnan({c}::double)), min({c}) filter (where not isnan({c}::double)), max({c}) filter (where not isnan({c}::double)), sum({c}) filter (where not isnan({c}::double)), avg({c}) filter (where not isnan({c}::double)), stddev_samp({c}) filter (where not isnan({c}::double)), count(distinct {c}) filter (where not isnan({c}::double)) from t").fetchone()
    out["duckdb"][c] = {"missing": row[0], "min": float(row[1]), "max": float(row[2]), "sum": float(row[3]), "mean": float(row[4]), "std": float(row[5]), "distinct": row[6]}
print(json.dumps(out))
"#;

#[test]
fn exact_metrics_match_pandas_and_duckdb() {
    let Some(python) = common::python_with("quality_pandas", &["pandas", "duckdb"]) else {
        return;
    };
    let (batch, csv) = data();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.csv");
    std::fs::write(&path, csv).unwrap();
    let out = Command::new(&python)
        .args(["-c", SCRIPT])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let profile = profile_batches(&[batch], &ProfileOptions::default()).unwrap();
    let num = |s: Option<Scalar>| match s {
        Some(Scalar::Int(i)) => i as f64,
        Some(Scalar::Float(f)) => f,
        other => panic!("{other:?}"),
    };
    for engine in ["pandas", "duckdb"] {
        for c in ["i", "f"] {
            let p = profile.column(c).unwrap();
            let t = &theirs[engine][c];
            let close = |a: f64, b: &serde_json::Value, what: &str| {
                let b = b.as_f64().unwrap();
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "{engine} {c} {what}: ours {a}, theirs {b}"
                );
            };
            assert_eq!(
                p.nulls() + p.nans(),
                t["missing"].as_u64().unwrap(),
                "{engine} {c} missing"
            );
            close(num(p.min()), &t["min"], "min");
            close(num(p.max()), &t["max"], "max");
            close(num(p.sum()), &t["sum"], "sum");
            close(p.mean().unwrap(), &t["mean"], "mean");
            close(p.stddev().unwrap(), &t["std"], "std");
            assert_eq!(
                p.distinct().unwrap().value,
                t["distinct"].as_u64().unwrap(),
                "{engine} {c} distinct"
            );
            if engine == "pandas" {
                assert_eq!(p.zeros().unwrap(), t["zeros"].as_u64().unwrap());
                assert_eq!(p.negatives().unwrap(), t["negatives"].as_u64().unwrap());
            }
        }
    }
    let s = profile.column("s").unwrap();
    let t = &theirs["pandas"]["s"];
    assert_eq!(s.nulls(), t["missing"].as_u64().unwrap());
    assert_eq!(s.distinct().unwrap().value, t["distinct"].as_u64().unwrap());
    assert_eq!(s.min_length().unwrap(), t["min_len"].as_u64().unwrap());
    assert_eq!(s.max_length().unwrap(), t["max_len"].as_u64().unwrap());
    let _ = writeln!(
        std::io::stderr(),
        "pandas and duckdb agree with strata's profile"
    );
}
