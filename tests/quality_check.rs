//! Checking a small table against every kind of rule: pass or fail, observed values, affected
//! rows and samples; the weighted score and the dataset quality score; and rules files that are
//! wrong give one-line errors, never panics.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use proptest::prelude::*;
use strata::quality::{check_batches, CheckOptions, QualityReport, RuleSet, Severity};

const DAY_MS: i64 = 86_400_000;
const NOW_MS: i64 = 20_000 * DAY_MS;

fn batches() -> Vec<RecordBatch> {
    let make =
        |ids: Vec<i64>, amounts: Vec<Option<f64>>, emails: Vec<Option<&str>>, ts: Vec<i64>| {
            let n = ids.len();
            let start: Vec<i64> = ids.iter().map(|i| i * 10).collect();
            let end: Vec<i64> = ids
                .iter()
                .map(|i| if *i == 4 { 0 } else { i * 10 + 5 })
                .collect();
            let status: Vec<&str> = (0..n)
                .map(|i| if i == 1 { "lost" } else { "new" })
                .collect();
            RecordBatch::try_from_iter(vec![
                ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                ("amount", Arc::new(Float64Array::from(amounts)) as ArrayRef),
                ("email", Arc::new(StringArray::from(emails)) as ArrayRef),
                (
                    "ts",
                    Arc::new(TimestampMillisecondArray::from(ts)) as ArrayRef,
                ),
                ("start", Arc::new(Int64Array::from(start)) as ArrayRef),
                ("end", Arc::new(Int64Array::from(end)) as ArrayRef),
                ("status", Arc::new(StringArray::from(status)) as ArrayRef),
            ])
            .unwrap()
        };
    vec![
        make(
            vec![1, 2, 3],
            vec![Some(10.0), None, Some(-1.0)],
            vec![Some("a@example.com"), Some("no mail"), None],
            vec![
                NOW_MS - 5 * DAY_MS,
                NOW_MS - 3 * DAY_MS,
                NOW_MS - 2 * DAY_MS,
            ],
        ),
        make(
            vec![4, 2, 6],
            vec![Some(100.0), Some(f64::NAN), Some(50.0)],
            vec![
                Some("b@example.org"),
                Some("4111 1111 1111 1111"),
                Some("call +1 555 123 4567"),
            ],
            vec![NOW_MS - DAY_MS, NOW_MS - 9 * DAY_MS, NOW_MS - 4 * DAY_MS],
        ),
    ]
}

const RULES: &str = r#"
[[rules]]
name = "pk"
check = "primary_key"
columns = ["id"]

[[rules]]
check = "completeness"
column = "amount"
min = 0.8
severity = "warn"

[[rules]]
check = "range"
column = "amount"
min = 0
max = 100
max_exclusive = true

[[rules]]
check = "range"
column = "amount"
min = 0
severity = "info"
mostly = 0.5

[[rules]]
check = "allowed_set"
column = "status"
values = ["new", "done"]
severity = "warn"

[[rules]]
check = "regex"
column = "email"
pattern = "^[^@]+@[^@]+$"
severity = "info"

[[rules]]
check = "length"
column = "status"
min = 3
max = 4

[[rules]]
check = "row_count"
min = 1
max = 10

[[rules]]
check = "freshness"
column = "ts"
max_age = "36h"

[[rules]]
check = "compare"
left = "start"
op = "<"
right = "end"

[[rules]]
check = "pii"
column = "email"
kind = "credit_card"

[[rules]]
check = "pii"
column = "email"
kind = "phone"
severity = "info"

[[rules]]
check = "distinct_ratio"
column = "id"
min = 0.9

[[rules]]
check = "type"
column = "id"
expected = "integral"

[[rules]]
check = "not_null"
column = "email"
mostly = 0.8
"#;

fn report() -> QualityReport {
    let rules = RuleSet::from_toml_str(RULES).unwrap();
    let options = CheckOptions {
        now: Some(UNIX_EPOCH + Duration::from_millis(NOW_MS as u64)),
        ..CheckOptions::default()
    };
    check_batches(&batches(), &rules, &options).unwrap()
}

#[test]
fn every_rule_kind_reports_rows_and_values() {
    let r = report();
    let get = |name: &str| {
        r.results
            .iter()
            .find(|x| x.rule == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let pk = get("pk");
    assert!(!pk.passed);
    assert_eq!((pk.checked_rows, pk.affected_rows), (6, 1));
    assert_eq!((pk.sample[0].row, pk.sample[0].value.as_str()), (4, "2"));

    let completeness = get("completeness(amount)");
    assert!(completeness.passed);
    assert!((completeness.observed - 5.0 / 6.0).abs() < 1e-12);

    let range = get("range(amount)");
    // Rows: 10 ok, null skipped, -1 fails, 100 fails (exclusive), NaN fails, 50 ok.
    assert_eq!((range.checked_rows, range.affected_rows), (5, 3));
    assert_eq!(
        range.sample.iter().map(|s| s.row).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    let mostly = r
        .results
        .iter()
        .filter(|x| x.rule == "range(amount)")
        .nth(1)
        .unwrap();
    assert!(mostly.passed, "{mostly:?}");

    assert_eq!(get("allowed_set(status)").affected_rows, 2);
    assert_eq!(get("regex(email)").affected_rows, 3);
    assert_eq!(get("length(status)").affected_rows, 0);
    assert!(get("row_count()").passed);
    let fresh = get("freshness(ts)");
    assert!(fresh.passed);
    assert_eq!(fresh.observed, 86_400.0);
    let compare = get("compare(start, end)");
    assert_eq!((compare.affected_rows, compare.sample[0].row), (1, 3));
    assert_eq!(compare.sample[0].value, "40, 0");
    let cards = r.results.iter().find(|x| x.rule == "pii(email)").unwrap();
    assert_eq!((cards.affected_rows, cards.sample[0].row), (1, 4));
    let phones = r
        .results
        .iter()
        .filter(|x| x.rule == "pii(email)")
        .nth(1)
        .unwrap();
    assert_eq!((phones.affected_rows, phones.sample[0].row), (1, 5));
    let ratio = get("distinct_ratio(id)");
    assert!(!ratio.passed);
    assert!((ratio.observed - 5.0 / 6.0).abs() < 1e-12);
    assert!(get("type(id)").passed);
    let not_null = get("not_null(email)");
    assert!(not_null.passed && not_null.affected_rows == 1);

    assert!(!r.passed);
    let total: f64 = r.results.iter().map(|x| x.severity.weight()).sum();
    let ok: f64 = r
        .results
        .iter()
        .filter(|x| x.passed)
        .map(|x| x.severity.weight())
        .sum();
    assert!((r.score - ok / total).abs() < 1e-12);
    // Cells: 42, missing 2 (a null amount, a NaN amount) + 1 null email; rows all distinct.
    assert!((r.dataset.completeness - 39.0 / 42.0).abs() < 1e-12);
    assert_eq!(r.dataset.uniqueness, 1.0);
    assert!((r.dataset.score - (39.0 / 42.0 * 0.7 + 0.3)).abs() < 1e-12);
    let json = r.to_json().unwrap();
    assert!(json.contains("\"affected_rows\""));
    assert_eq!(
        r.failures()
            .filter(|f| f.severity == Severity::Error)
            .count(),
        5,
        "{json}"
    );
}

#[test]
fn unknown_columns_and_bad_types_are_errors() {
    let options = CheckOptions::default();
    let rules =
        RuleSet::from_toml_str("[[rules]]\ncheck = \"unique\"\ncolumn = \"nope\"\n").unwrap();
    let err = check_batches(&batches(), &rules, &options).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    let rules = RuleSet::from_toml_str(
        "[[rules]]\ncheck = \"freshness\"\ncolumn = \"id\"\nmax_age = \"1d\"\n",
    )
    .unwrap();
    assert!(check_batches(&batches(), &rules, &options).is_err());
    let _ = SystemTime::now();
}

proptest! {
    #[test]
    fn garbage_rules_files_are_errors_not_panics(text in "\\PC{0,200}") {
        let _ = RuleSet::from_toml_str(&text);
        let _ = RuleSet::from_json_str(&text);
    }

    #[test]
    fn mangled_rules_files_give_one_line_errors(cut in 0usize..RULES.len(), junk in "[=\\[\\]\"a-z0-9 \n]{0,8}") {
        let mut text = RULES.to_string();
        let cut = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.insert_str(cut, &junk);
        if let Err(e) = RuleSet::from_toml_str(&text) {
            let message = e.to_string();
            prop_assert!(!message.contains('\n'), "{}", message);
        }
    }
}
