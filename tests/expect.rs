//! Expectations on table appends and merges: `warn` counts, `drop` quarantines into `<name>__quarantine`
//! with `_errors`, `fail` commits nothing; counts go into the commit's metrics.

mod common;

use std::sync::Arc;

use arrow::array::{AsArray, Float64Array, Int64Array, RecordBatch};
use strata::quality::{Expect, RuleSet};
use strata::table::TableOptions;
use strata::{ErrorKind, Lake};

fn trips(ids: &[i64], fares: &[Option<f64>]) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids.to_vec())) as _),
        ("fare", Arc::new(Float64Array::from(fares.to_vec())) as _),
    ])
    .unwrap()
}

const RULES: &str = r#"
[[rules]]
name = "fare_in_range"
check = "range"
column = "fare"
min = 0
max = 500
expect = "drop"

[[rules]]
name = "fare_present"
check = "not_null"
column = "fare"
expect = "drop"

[[rules]]
name = "small_id"
check = "range"
column = "id"
max = 100
expect = "warn"
"#;

fn lake(dir: &std::path::Path) -> Lake {
    let lake = Lake::open(&common::config(dir, vec![common::local_tier("hot")])).unwrap();
    let first = trips(&[0], &[Some(1.0)]);
    lake.table("bronze/trips")
        .unwrap()
        .create(&first.schema(), &[first], &TableOptions::default())
        .unwrap();
    lake
}

#[test]
fn drop_rules_quarantine_rows_with_their_errors_and_the_rest_commits() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let rules = RuleSet::from_toml_str(RULES).unwrap();
    assert_eq!(rules.rules[0].expect, Some(Expect::Drop));
    // Two batches, as a streaming service appends them one call at a time.
    let a = trips(&[1, 2, 3, 4], &[Some(10.0), Some(-5.0), None, Some(20.0)]);
    let b = trips(&[5, 200, 7], &[Some(900.0), Some(30.0), Some(40.0)]);
    let report = lake
        .append_expecting("bronze/trips", &[a, b], &rules)
        .unwrap();
    assert_eq!((report.rows, report.kept, report.quarantined), (7, 4, 3));
    assert_eq!(report.version, Some(1));
    let counts: Vec<(&str, u64)> = report
        .expectations
        .iter()
        .map(|e| (e.rule.as_str(), e.failed))
        .collect();
    assert_eq!(
        counts,
        [("fare_in_range", 2), ("fare_present", 1), ("small_id", 1)]
    );
    let table = lake.table("bronze/trips").unwrap();
    assert_eq!(table.scan().unwrap().count().unwrap().0, 5);
    // The warned row (id 200) is kept.
    let kept = table
        .scan()
        .unwrap()
        .filter(strata::Expr::parse("id = 200").unwrap())
        .count()
        .unwrap()
        .0;
    assert_eq!(kept, 1);
    // The quarantine holds the dropped rows and names the rules each failed.
    let (name, version) = report.quarantine.clone().unwrap();
    assert_eq!((name.as_str(), version), ("bronze/trips__quarantine", 0));
    let quarantine = lake.table(&name).unwrap();
    let batches = quarantine.scan().unwrap().run().unwrap();
    let mut rows: Vec<(i64, String)> = Vec::new();
    for b in &batches.batches {
        let ids = b
            .column_by_name("id")
            .unwrap()
            .as_primitive::<arrow::datatypes::Int64Type>();
        let errors = b.column_by_name("_errors").unwrap().as_string::<i32>();
        for i in 0..b.num_rows() {
            rows.push((ids.value(i), errors.value(i).to_string()));
        }
    }
    rows.sort();
    assert_eq!(
        rows,
        [
            (2, "fare_in_range".to_string()),
            (3, "fare_present".to_string()),
            (5, "fare_in_range".to_string())
        ]
    );
    // The commit's metrics count each rule.
    let history = table.history().unwrap();
    let metrics = &history[0].metrics;
    assert_eq!(metrics["numQuarantinedRows"], 3, "{metrics:?}");
    assert_eq!(metrics["expectations.fare_in_range.failedRows"], 2);
    // A second append adds to the same quarantine table.
    let c = trips(&[8], &[Some(-1.0)]);
    let again = lake.append_expecting("bronze/trips", &[c], &rules).unwrap();
    assert_eq!((again.kept, again.version), (0, None));
    assert_eq!(again.quarantine.unwrap().1, 1);
    assert_eq!(table.version().unwrap(), 1);
    // The catalog adds the counts up over both appends, per rule.
    let entry = lake
        .catalog()
        .unwrap()
        .entry("bronze/trips")
        .unwrap()
        .unwrap();
    let fare = &entry.expectations["fare_in_range"];
    assert_eq!(
        (
            fare.expect.as_str(),
            fare.appends,
            fare.rows_checked,
            fare.failed_rows
        ),
        ("drop", 2, 8, 3),
        "{fare:?}"
    );
    assert_eq!((fare.last_failed, fare.last_version), (1, None));
    let small = &entry.expectations["small_id"];
    assert_eq!((small.expect.as_str(), small.failed_rows), ("warn", 1));
}

#[test]
fn a_failing_fail_rule_commits_nothing_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let rules = RuleSet::from_toml_str(&format!(
        "{RULES}\n[[rules]]\nname = \"no_free_rides\"\ncheck = \"range\"\ncolumn = \"fare\"\nmin = 0.5\nexpect = \"fail\"\n"
    ))
    .unwrap();
    let batch = trips(&[1, 2], &[Some(0.0), Some(-3.0)]);
    let err = lake
        .append_expecting("bronze/trips", &[batch], &rules)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("no_free_rides"), "{err}");
    assert_eq!(lake.table("bronze/trips").unwrap().version().unwrap(), 0);
    assert!(!lake
        .table("bronze/trips__quarantine")
        .unwrap()
        .exists()
        .unwrap());
}

#[test]
fn bad_expectations_are_errors_naming_the_rule() {
    // `drop` needs a row-level check; an unknown action is refused.
    let err = RuleSet::from_toml_str(
        "[[rules]]\nname = \"enough\"\ncheck = \"row_count\"\nmin = 5\nexpect = \"drop\"\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("enough"), "{err}");
    let err = RuleSet::from_toml_str(
        "[[rules]]\ncheck = \"not_null\"\ncolumn = \"a\"\nexpect = \"explode\"\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("explode"), "{err}");
    // A rule on a column the rows lack is an error before anything is written.
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let rules = RuleSet::from_toml_str(
        "[[rules]]\ncheck = \"not_null\"\ncolumn = \"nope\"\nexpect = \"drop\"\n",
    )
    .unwrap();
    let err = lake
        .append_expecting("bronze/trips", &[trips(&[1], &[Some(1.0)])], &rules)
        .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    assert_eq!(lake.table("bronze/trips").unwrap().version().unwrap(), 0);
}

#[test]
fn a_merge_with_expectations_quarantines_failing_source_rows_and_merges_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let rules = RuleSet::from_toml_str(RULES).unwrap();
    // Row 0 exists (fare 1.0): the source updates it, inserts 1 and 3, and drops 2 (a
    // negative fare) into the quarantine.
    let source = trips(
        &[0, 1, 2, 3],
        &[Some(5.0), Some(7.0), Some(-2.0), Some(9.0)],
    );
    let options = strata::table::MergeOptions {
        on: vec!["id".into()],
        ..Default::default()
    };
    let report = lake
        .merge_expecting("bronze/trips", &[source], &options, &rules)
        .unwrap();
    assert_eq!((report.rows, report.kept, report.quarantined), (4, 3, 1));
    assert_eq!(report.version, Some(1));
    assert_eq!(
        report.quarantine.as_ref().map(|(n, v)| (n.as_str(), *v)),
        Some(("bronze/trips__quarantine", 0))
    );
    let table = lake.table("bronze/trips").unwrap();
    let out = table.scan().unwrap().run().unwrap();
    let mut rows: Vec<(i64, f64)> = Vec::new();
    for b in &out.batches {
        let ids = b.column(0).as_primitive::<arrow::datatypes::Int64Type>();
        let fares = b.column(1).as_primitive::<arrow::datatypes::Float64Type>();
        rows.extend((0..b.num_rows()).map(|i| (ids.value(i), fares.value(i))));
    }
    rows.sort_by_key(|r| r.0);
    assert_eq!(rows, [(0, 5.0), (1, 7.0), (3, 9.0)]);
    let history = table.history().unwrap();
    assert_eq!(history[0].operation.as_deref(), Some("MERGE"));
    let metrics = &history[0].metrics;
    assert_eq!(metrics["numQuarantinedRows"], 1, "{metrics:?}");
    assert_eq!(metrics["expectations.fare_in_range.failedRows"], 1);
    assert_eq!(metrics["numTargetRowsInserted"], 2);
    // A failing `fail` rule merges nothing.
    let strict = RuleSet::from_toml_str(
        "[[rules]]\nname = \"positive\"\ncheck = \"range\"\ncolumn = \"fare\"\nmin = 0\nexpect = \"fail\"\n",
    )
    .unwrap();
    let err = lake
        .merge_expecting(
            "bronze/trips",
            &[trips(&[4], &[Some(-1.0)])],
            &options,
            &strict,
        )
        .unwrap_err();
    assert!(err.to_string().contains("positive"), "{err}");
    assert_eq!(table.version().unwrap(), 1);
}

/// Rules a row can fail together: a `drop` rule on the fare and another on the id.
const TWO_DROP_RULES: &str = r#"
[[rules]]
name = "fare_not_negative"
check = "range"
column = "fare"
min = 0
expect = "drop"

[[rules]]
name = "id_small"
check = "range"
column = "id"
max = 1000000
expect = "drop"
"#;

/// Large batches are cut in pieces to keep and filter: failures at the pieces' edges, in
/// the first and last row, one row failing two rules, and whole stretches with no failure
/// (kept as slices) all land where they should, in order.
#[test]
fn failures_across_large_batches_keep_every_other_row_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let rules = RuleSet::from_toml_str(TWO_DROP_RULES).unwrap();
    let failing_fare: Vec<i64> = vec![
        1, 65_535, 65_536, 65_537, 131_071, 199_999, 200_000, 330_000,
    ];
    let failing_id: Vec<i64> = vec![65_536];
    let batch = |from: i64, to: i64| {
        let ids: Vec<i64> = (from..to)
            .map(|i| {
                if failing_id.contains(&i) {
                    2_000_000 + i
                } else {
                    i
                }
            })
            .collect();
        let fares: Vec<Option<f64>> = (from..to)
            .map(|i| Some(if failing_fare.contains(&i) { -1.0 } else { 1.0 }))
            .collect();
        trips(&ids, &fares)
    };
    // 200,000 rows, then 150,000: the second batch's first row is row 200,000.
    let batches = [batch(1, 200_001), batch(200_001, 350_001)];
    let report = lake
        .append_expecting("bronze/trips", &batches, &rules)
        .unwrap();
    assert_eq!((report.rows, report.quarantined), (350_000, 8));
    let table = lake.table("bronze/trips").unwrap();
    let out = table.scan().unwrap().columns(&["id"]).run().unwrap();
    let ids: Vec<i64> = out
        .batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    let expected: Vec<i64> = std::iter::once(0)
        .chain((1..350_001).filter(|i| !failing_fare.contains(i) && !failing_id.contains(i)))
        .collect();
    assert_eq!(ids.len(), expected.len());
    assert!(
        ids == expected,
        "the kept rows are not the expected ones in order"
    );
    let quarantine = lake.table("bronze/trips__quarantine").unwrap();
    let mut rows: Vec<(i64, String)> = Vec::new();
    for b in &quarantine.scan().unwrap().run().unwrap().batches {
        let ids = b
            .column_by_name("id")
            .unwrap()
            .as_primitive::<arrow::datatypes::Int64Type>();
        let errors = b.column_by_name("_errors").unwrap().as_string::<i32>();
        for i in 0..b.num_rows() {
            rows.push((ids.value(i), errors.value(i).to_string()));
        }
    }
    rows.sort();
    let mut want: Vec<(i64, String)> = failing_fare
        .iter()
        .filter(|i| !failing_id.contains(i))
        .map(|&i| (i, "fare_not_negative".to_string()))
        .collect();
    want.push((2_065_536, "fare_not_negative, id_small".to_string()));
    want.sort();
    assert_eq!(rows, want);
}
