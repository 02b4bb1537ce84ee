//! A rule on a column the data does not have (a typo in a rules file) is a `NotFound` error
//! naming the rule and the column, from batches, from a file scan and when no rows match or
//! the file has none: never a rule that passes because it saw no rows.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use strata::{
    quality::{check_batches, CheckOptions, RuleSet},
    ErrorKind, Expr, Scan,
};

const RULES: &str = r#"
[[rules]]
check = "not_null"
column = "id"

[[rules]]
name = "emails look right"
check = "regex"
column = "emial"
pattern = "@"

[[rules]]
check = "compare"
left = "id"
op = "<"
right = "idd"
"#;

fn batch(rows: i64) -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows));
    let emails: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..rows).map(|i| format!("u{i}@example.com")),
    ));
    RecordBatch::try_from_iter([("id", ids), ("email", emails)]).unwrap()
}

fn write(path: &Path, rows: i64) {
    let b = batch(rows);
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), b.schema(), None).unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
}

fn assert_names_both(err: &strata::Error) {
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("rule \"emails look right\" reads column \"emial\""),
        "{text}"
    );
    assert!(
        text.contains("rule \"compare(id, idd)\" reads column \"idd\""),
        "{text}"
    );
    assert!(text.contains("the data has id, email"), "{text}");
}

#[test]
fn batches_with_a_rule_on_a_missing_column_are_an_error() {
    let rules = RuleSet::from_toml_str(RULES).unwrap();
    let err = check_batches(&[batch(10)], &rules, &CheckOptions::default()).unwrap_err();
    assert_names_both(&err);
    // Empty batches carry the schema too.
    let err = check_batches(&[batch(0)], &rules, &CheckOptions::default()).unwrap_err();
    assert_names_both(&err);
    let err = rules.check_columns(&batch(0).schema()).unwrap_err();
    assert_names_both(&err);
}

#[test]
fn a_file_without_rows_or_matches_is_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    let rules = RuleSet::from_toml_str(RULES).unwrap();
    for rows in [0, 50] {
        let path = dir.path().join(format!("t{rows}.parquet"));
        write(&path, rows);
        let err = Scan::new(&path)
            .check(&rules, &CheckOptions::default())
            .unwrap_err();
        assert_names_both(&err);
        // A filter that matches nothing leaves no batches, and the schema still decides.
        let err = Scan::new(&path)
            .filter(Expr::parse("id > 1000").unwrap())
            .check(&rules, &CheckOptions::default())
            .unwrap_err();
        assert_names_both(&err);
    }
}

#[test]
fn rules_on_present_columns_still_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write(&path, 0);
    let rules = RuleSet::from_toml_str(
        "[[rules]]\ncheck = \"not_null\"\ncolumn = \"email\"\n[[rules]]\ncheck = \"row_count\"\nmin = 1\n",
    )
    .unwrap();
    let report = Scan::new(&path)
        .check(&rules, &CheckOptions::default())
        .unwrap();
    assert!(report.results[0].passed);
    assert!(!report.results[1].passed, "no rows: the row count fails");
}
