//! A file `strata mask` writes is ordinary Parquet: pyarrow reads it, with the masked values
//! and the nulls where strata put them. Needs `python3` with pyarrow (`STRATA_PYTHON` picks
//! another interpreter); without it the test is skipped with the reason (a failure in CI).

mod common;

use std::process::Command;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use common::strata_bin;

const SCRIPT: &str = r#"
import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({c: t.column(c).to_pylist() for c in t.column_names}))
"#;

#[test]
fn pyarrow_reads_the_masked_copy() {
    let Some(python) = common::python_with("cli_mask_pyarrow", &["pyarrow"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.parquet");
    let output = tmp.path().join("out.parquet");
    let policy = tmp.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[columns.phone]\nmask = { op = \"partial\", keep_last = 2 }\n\
         [columns.card]\nmask = { op = \"tokenize\", key = \"k\", alphabet = \"digits\" }\n",
    )
    .unwrap();
    let phone: ArrayRef = Arc::new(StringArray::from(vec![Some("5550100"), None]));
    let card: ArrayRef = Arc::new(StringArray::from(vec![None, Some("4111111111111111")]));
    let batch = RecordBatch::try_from_iter([("phone", phone), ("card", card)]).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&input).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let out = Command::new(strata_bin())
        .arg("--dir")
        .arg(tmp.path().join("root"))
        .arg("mask")
        .arg(&input)
        .arg(&output)
        .arg("--policy")
        .arg(&policy)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let read = Command::new(&python)
        .args(["-c", SCRIPT])
        .arg(&output)
        .output()
        .unwrap();
    assert!(read.status.success(), "{read:?}");
    let got: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(got["phone"], serde_json::json!(["*****00", null]));
    assert!(got["card"][0].is_null());
    let token = got["card"][1].as_str().unwrap();
    assert!(
        token.starts_with("kv1:") && token.len() == 4 + 16,
        "{token}"
    );
    assert_ne!(&token[4..], "4111111111111111");
}
