//! `strata profile` and `strata check` on a Parquet file: JSON and table output, exit codes,
//! projection to the rule columns, and rules files with mistakes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use common::strata_bin;
use parquet::arrow::ArrowWriter;

fn strata(dir: &Path, args: &[&str]) -> Output {
    Command::new(strata_bin())
        .arg("--dir")
        .arg(dir.join("root"))
        .args(args)
        .output()
        .unwrap()
}

/// 1,000 rows: id 0..1000 with 999 repeated, amount with 10 nulls and 5 NaNs, a city column.
fn write_file(dir: &Path) -> PathBuf {
    let ids: Int64Array = (0..1000)
        .map(|i| Some(if i == 999 { 998 } else { i }))
        .collect();
    let amounts: Float64Array = (0..1000)
        .map(|i| match i % 100 {
            0 => None,
            1 if i < 500 => Some(f64::NAN),
            _ => Some(i as f64 / 2.0),
        })
        .collect();
    let cities: StringArray = (0..1000)
        .map(|i| Some(["Oslo", "Lima", "Pune"][i % 3]))
        .collect();
    let batch = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(ids) as ArrayRef),
        ("amount", Arc::new(amounts) as ArrayRef),
        ("city", Arc::new(cities) as ArrayRef),
    ])
    .unwrap();
    let path = dir.join("t.parquet");
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    path
}

#[test]
fn profile_prints_exact_metrics_as_json_and_a_table() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_file(tmp.path());
    let out = strata(tmp.path(), &["profile", file.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["rows"], 1000);
    let amount = &json["columns"][1];
    assert_eq!(amount["name"], "amount");
    assert_eq!(
        (amount["nulls"].as_u64(), amount["nans"].as_u64()),
        (Some(10), Some(5))
    );
    assert_eq!(json["columns"][0]["distinct"]["value"], 999);
    assert_eq!(json["columns"][0]["distinct"]["exact"], true);

    let out = strata(
        tmp.path(),
        &[
            "profile",
            file.to_str().unwrap(),
            "--columns",
            "city",
            "--threads",
            "1",
        ],
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("1000 rows, 1 columns"), "{text}");
    assert!(text.contains("city") && text.contains("Lima") && !text.contains("amount"));
}

#[test]
fn check_exits_non_zero_only_when_an_error_rule_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_file(tmp.path());
    let rules = tmp.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\ncheck = \"unique\"\ncolumn = \"id\"\nseverity = \"warn\"\n\n\
         [[rules]]\ncheck = \"not_null\"\ncolumn = \"amount\"\nseverity = \"info\"\n",
    )
    .unwrap();
    let out = strata(
        tmp.path(),
        &[
            "check",
            file.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["results"][0]["affected_rows"], 1);
    assert_eq!(report["results"][1]["affected_rows"], 10);
    // Only the rule columns were read, so the dataset score covers id and amount alone:
    // 15 missing cells (nulls and NaNs) of 2,000.
    let completeness = report["dataset"]["completeness"].as_f64().unwrap();
    assert!(
        (completeness - (1.0 - 15.0 / 2000.0)).abs() < 1e-12,
        "{completeness}"
    );

    std::fs::write(
        &rules,
        "[[rules]]\ncheck = \"range\"\ncolumn = \"amount\"\nmax = 100.0\n",
    )
    .unwrap();
    let out = strata(
        tmp.path(),
        &[
            "check",
            file.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("FAIL  error"), "{text}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("1 error-severity rules did not hold"), "{err}");
}

#[test]
fn bad_rules_and_bad_files_give_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_file(tmp.path());
    let rules = tmp.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\ncheck = \"range\"\ncolumn = \"amount\"\nmn = 1\n",
    )
    .unwrap();
    let out = strata(
        tmp.path(),
        &[
            "check",
            file.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("line 4") && err.contains("mn"), "{err}");

    std::fs::write(&rules, "[[rules]]\ncheck = \"unique\"\ncolumn = \"nope\"\n").unwrap();
    let out = strata(
        tmp.path(),
        &[
            "check",
            file.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success() && err.contains("nope"), "{err}");

    let junk = tmp.path().join("junk.parquet");
    std::fs::write(&junk, b"PAR1 this is not parquet PAR1").unwrap();
    let out = strata(tmp.path(), &["profile", junk.to_str().unwrap()]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success() && err.starts_with("strata: error:"),
        "{err}"
    );
}
