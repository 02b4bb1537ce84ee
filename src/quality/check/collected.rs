//! The collected reference: every rule evaluated over all batches at once, as checks ran
//! before they streamed. Tests hold the streamed results to it.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, RecordBatch};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::is_not_null;
use arrow::datatypes::{DataType, Float64Type};

use super::rows::{column, show, Outcome, Sampling};
use super::{cast_to, compare, newest_ms, percents, PiiDetector};
use crate::quality::profile::{char_count, classify, InferredType, ValueKind};
use crate::quality::repeats::{find_repeats, RowLocator};
use crate::quality::report::{FailedRow, RuleResult};
use crate::quality::row_keys::RowKeys;
use crate::quality::rules::{Rule, RuleKind, RuleSet};
use crate::{Error, Result};

/// Each rule's result over `batches`, evaluated over all of them at once.
pub(crate) fn rule_results(
    batches: &[RecordBatch],
    rules: &RuleSet,
    options: &super::CheckOptions,
) -> Result<Vec<RuleResult>> {
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    rules
        .rules
        .iter()
        .map(|rule| evaluate(batches, rule, options, rows).map_err(|e| e.with("rule", &rule.name)))
        .collect()
}

fn evaluate(
    batches: &[RecordBatch],
    rule: &Rule,
    options: &super::CheckOptions,
    rows: u64,
) -> Result<RuleResult> {
    let n = Sampling {
        size: options.sample_size,
        values: options.sample_values,
    };
    let result = |passed: bool, observed: f64, outcome: Outcome, message: String| RuleResult {
        rule: rule.name.clone(),
        check: rule.kind.check_name().to_string(),
        severity: rule.severity,
        passed,
        observed,
        checked_rows: outcome.checked,
        affected_rows: outcome.failed,
        sample: outcome.sample,
        message,
    };
    if !rule.kind.is_row_level() && rule.mostly != 1.0 {
        return Err(Error::invalid(format!(
            "`mostly` does not apply to check {:?}: it is one verdict on the whole table",
            rule.kind.check_name()
        )));
    }
    let rows_result = |outcome: Outcome| {
        let fraction = outcome.pass_fraction();
        let passed = fraction >= rule.mostly;
        let (found, required) = percents(fraction, rule.mostly);
        let message = if outcome.failed == 0 {
            format!(
                "all {} checked rows passed ({found}, {required} required)",
                outcome.checked
            )
        } else {
            format!(
                "{} of {} rows failed; {found} passed, {required} required",
                outcome.failed, outcome.checked,
            )
        };
        result(passed, fraction, outcome, message)
    };
    Ok(match &rule.kind {
        RuleKind::NotNull { column } => rows_result(not_null(batches, column, n)?),
        RuleKind::Completeness { column, min } => {
            let outcome = not_null(batches, column, n)?;
            let fraction = outcome.pass_fraction();
            let required_fraction = min.min(rule.mostly);
            let (found, required) = percents(fraction, required_fraction);
            let message = format!(
                "{found} of rows are not null ({} null), {required} required",
                outcome.failed,
            );
            result(fraction >= required_fraction, fraction, outcome, message)
        }
        RuleKind::Unique { column } => {
            rows_result(duplicates(batches, &[column.as_str()], false, n.size)?.0)
        }
        RuleKind::PrimaryKey { columns } => {
            let names: Vec<&str> = columns.iter().map(String::as_str).collect();
            rows_result(duplicates(batches, &names, true, n.size)?.0)
        }
        RuleKind::DistinctRatio { column, min, max } => {
            let (outcome, distinct) = duplicates(batches, &[column.as_str()], false, n.size)?;
            let ratio = if outcome.checked == 0 {
                1.0
            } else {
                distinct as f64 / outcome.checked as f64
            };
            let passed = min.is_none_or(|m| ratio >= m) && max.is_none_or(|m| ratio <= m);
            let message = format!(
                "{distinct} distinct of {} non-null values (ratio {ratio:.4})",
                outcome.checked
            );
            let outcome = Outcome {
                checked: outcome.checked,
                failed: 0,
                sample: Vec::new(),
            };
            result(passed, ratio, outcome, message)
        }
        RuleKind::Range {
            column,
            min,
            max,
            min_exclusive,
            max_exclusive,
        } => {
            let (min, max, lo_open, hi_open) = (*min, *max, *min_exclusive, *max_exclusive);
            rows_result(row_check(batches, &[column.as_str()], n, |cols| {
                let values = cast_to(&cols[0], &DataType::Float64, column)?;
                let values = values.as_primitive::<Float64Type>();
                let x = values.values();
                // A bit per row straight from the values (NaN fails: it is in no range);
                // nulls stay unchecked.
                let within = BooleanBuffer::collect_bool(x.len(), |i| {
                    let x = x[i];
                    let above = min.is_none_or(|m| if lo_open { x > m } else { x >= m });
                    let below = max.is_none_or(|m| if hi_open { x < m } else { x <= m });
                    above && below
                });
                Ok(BooleanArray::new(within, values.nulls().cloned()))
            })?)
        }
        RuleKind::AllowedSet { column, values } => {
            let allowed: HashSet<&str> = values.iter().map(String::as_str).collect();
            rows_result(text_check(batches, column, n, |v| allowed.contains(v))?)
        }
        RuleKind::Regex { column, pattern } => {
            let re = regex::Regex::new(pattern)
                .map_err(|e| Error::invalid(format!("bad pattern: {e}").replace('\n', " ")))?;
            rows_result(text_check(batches, column, n, |v| re.is_match(v))?)
        }
        RuleKind::Length { column, min, max } => {
            let (min, max) = (*min, *max);
            rows_result(text_check(batches, column, n, |v| {
                let len = char_count(v.as_bytes()) as u64;
                min.is_none_or(|m| len >= m) && max.is_none_or(|m| len <= m)
            })?)
        }
        RuleKind::Type { column, expected } => {
            rows_result(type_check(batches, column, *expected, n)?)
        }
        RuleKind::Pii { column, kind } => {
            let detector = PiiDetector::new(*kind)?;
            rows_result(text_check(batches, column, n, |v| !detector.detect(v))?)
        }
        RuleKind::Compare { left, op, right } => {
            let op = *op;
            rows_result(row_check(
                batches,
                &[left.as_str(), right.as_str()],
                n,
                |cols| compare(&cols[0], op, &cols[1]),
            )?)
        }
        RuleKind::RowCount { min, max } => {
            let passed = min.is_none_or(|m| rows >= m) && max.is_none_or(|m| rows <= m);
            let bounds = format!(
                "[{}, {}]",
                min.map_or("-".into(), |m| m.to_string()),
                max.map_or("-".into(), |m| m.to_string())
            );
            let message = format!("{rows} rows; allowed {bounds}");
            result(
                passed,
                rows as f64,
                Outcome {
                    checked: rows,
                    ..Outcome::default()
                },
                message,
            )
        }
        RuleKind::Freshness { column, max_age } => {
            let now = options.now.unwrap_or_else(SystemTime::now);
            let now_ms = match now.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            };
            match newest_ms(batches, column)? {
                Some(newest) => {
                    let age = Duration::from_millis(now_ms.saturating_sub(newest).max(0) as u64);
                    let passed = age <= *max_age;
                    let message = format!(
                        "newest value is {} old; at most {} allowed",
                        humantime::format_duration(Duration::from_secs(age.as_secs())),
                        humantime::format_duration(*max_age)
                    );
                    result(
                        passed,
                        age.as_secs_f64(),
                        Outcome {
                            checked: rows,
                            ..Outcome::default()
                        },
                        message,
                    )
                }
                None => result(
                    false,
                    f64::INFINITY,
                    Outcome::default(),
                    "no non-null values".into(),
                ),
            }
        }
    })
}

fn not_null(batches: &[RecordBatch], name: &str, n: Sampling) -> Result<Outcome> {
    row_check(batches, &[name], n, |cols| {
        is_not_null(cols[0].as_ref()).map_err(Error::from)
    })
}

/// A check over values as text (other types are cast to text first).
fn text_check(
    batches: &[RecordBatch],
    name: &str,
    n: Sampling,
    ok: impl Fn(&str) -> bool,
) -> Result<Outcome> {
    row_check(batches, &[name], n, |cols| {
        let text = match cols[0].data_type() {
            DataType::Utf8 => cols[0].clone(),
            _ => cast_to(&cols[0], &DataType::Utf8, name)?,
        };
        Ok(text
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(&ok))
            .collect::<BooleanArray>())
    })
}

fn type_check(
    batches: &[RecordBatch],
    name: &str,
    expected: InferredType,
    n: Sampling,
) -> Result<Outcome> {
    let Some(first) = batches.first() else {
        return Ok(Outcome::default());
    };
    let kind = ValueKind::of(column(first, name)?.data_type());
    if kind == ValueKind::Utf8 {
        return text_check(batches, name, n, |v| {
            classify(v.as_bytes()).conforms_to(expected)
        });
    }
    let actual = match kind {
        ValueKind::Int | ValueKind::UInt => InferredType::Integral,
        ValueKind::Float | ValueKind::Decimal { .. } => InferredType::Fractional,
        ValueKind::Boolean => InferredType::Boolean,
        ValueKind::Date32 => InferredType::Date,
        ValueKind::Date64 | ValueKind::Timestamp { .. } => InferredType::Timestamp,
        _ => InferredType::Text,
    };
    let conforms = actual.conforms_to(expected);
    row_check(batches, &[name], n, |cols| {
        let c = &cols[0];
        Ok((0..c.len())
            .map(|i| c.is_valid(i).then_some(conforms))
            .collect())
    })
}

/// Runs `kernel` over each batch's `names` columns. The kernel returns, per row, true (pass),
/// false (fail) or null (not checked).
fn row_check(
    batches: &[RecordBatch],
    names: &[&str],
    sampling: Sampling,
    kernel: impl Fn(&[ArrayRef]) -> Result<BooleanArray>,
) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut offset = 0u64;
    for batch in batches {
        let cols = names
            .iter()
            .map(|n| column(batch, n).cloned())
            .collect::<Result<Vec<_>>>()?;
        let ok = kernel(&cols)?;
        let checked = (ok.len() - ok.null_count()) as u64;
        let passed = ok.true_count() as u64;
        outcome.checked += checked;
        let failed = checked - passed;
        if failed > 0 {
            let before = outcome.failed;
            // The failing rows' bits (checked and false), visited word by word.
            let failing = match ok.nulls() {
                Some(valid) => &!ok.values() & valid.inner(),
                None => !ok.values(),
            };
            let room = sampling.size.saturating_sub(outcome.sample.len());
            for i in failing.set_indices().take(room) {
                outcome.fail(offset + i as u64, || show(&cols, i), sampling)?;
            }
            // Failures past the sample are not visited; the count comes from the bitmap.
            outcome.failed = before + failed;
        }
        offset += batch.num_rows() as u64;
    }
    Ok(outcome)
}

fn duplicates(
    batches: &[RecordBatch],
    names: &[&str],
    non_null: bool,
    sample_size: usize,
) -> Result<(Outcome, u64)> {
    let columns = key_columns(batches, names)?;
    duplicates_of(&columns, RowKeys::new(&columns)?, non_null, sample_size)
}

/// The key columns of every batch.
fn key_columns(batches: &[RecordBatch], names: &[&str]) -> Result<Vec<Vec<ArrayRef>>> {
    let columns = batches
        .iter()
        .map(|b| names.iter().map(|n| column(b, n).cloned()).collect())
        .collect::<Result<Vec<Vec<ArrayRef>>>>()?;
    if let Some(first) = columns.first() {
        for cols in &columns {
            for (c, f) in cols.iter().zip(first) {
                if c.data_type() != f.data_type() {
                    return Err(crate::Error::invalid(format!(
                        "key columns change type between batches ({} and {})",
                        f.data_type(),
                        c.data_type()
                    )));
                }
            }
        }
    }
    Ok(columns)
}

fn duplicates_of(
    columns: &[Vec<ArrayRef>],
    keys: RowKeys,
    non_null: bool,
    sample_size: usize,
) -> Result<(Outcome, u64)> {
    let rows = keys.rows();
    // Where every key part is set, over all batches; `None` when no key part is ever null.
    let nulls_of: Vec<Option<NullBuffer>> = columns
        .iter()
        .map(|cols| {
            cols.iter().fold(None, |acc, c| {
                NullBuffer::union(acc.as_ref(), c.logical_nulls().as_ref())
            })
        })
        .collect();
    let valid = nulls_of.iter().any(Option::is_some).then(|| {
        let mut all = BooleanBufferBuilder::new(rows as usize);
        for (cols, n) in columns.iter().zip(&nulls_of) {
            match n {
                Some(n) => all.append_buffer(n.inner()),
                None => all.append_n(cols[0].len(), true),
            }
        }
        all.finish()
    });
    let nulls: Vec<u64> = match &valid {
        Some(v) => v
            .iter()
            .enumerate()
            .filter(|(_, ok)| !ok)
            .map(|(r, _)| r as u64)
            .collect(),
        None => Vec::new(),
    };
    let hashes = keys.hashes();
    let same = |a, b| keys.same(a, b);
    let same: Option<&(dyn Fn(u64, u64) -> bool + Sync)> = if keys.hash_is_exact() {
        None
    } else {
        Some(&same)
    };
    let repeats = find_repeats(&hashes, valid.as_ref(), same, sample_size);
    let at = RowLocator::new(columns.iter().map(|cols| cols[0].len()));
    let skipped = if non_null { 0 } else { nulls.len() as u64 };
    let mut failed_rows = repeats.first;
    if non_null {
        failed_rows.extend(nulls.iter().take(sample_size));
        failed_rows.sort_unstable();
        failed_rows.truncate(sample_size);
    }
    let sample = failed_rows
        .into_iter()
        .map(|row| {
            let (batch, i) = at.locate(row);
            Ok(FailedRow {
                row,
                value: show(&columns[batch], i)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let outcome = Outcome {
        checked: rows - skipped,
        failed: repeats.repeated + if non_null { nulls.len() as u64 } else { 0 },
        sample,
    };
    Ok((outcome, repeats.distinct))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int16Array, Int64Array, TimestampMillisecondArray};
    use std::sync::Arc;

    fn batches(array: ArrayRef) -> Vec<RecordBatch> {
        // Two batches, the second a slice with an offset, as scans hand them over.
        let a = array.slice(0, 40);
        let b = array.slice(40, array.len() - 40);
        [a, b]
            .into_iter()
            .map(|c| RecordBatch::try_from_iter([("k", c)]).unwrap())
            .collect()
    }

    #[test]
    fn the_integer_path_agrees_with_the_row_format() {
        let values = (0..100i64).map(|i| (i % 9 != 4).then_some((i * 37) % 23 - 11));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter(values.clone())),
            Arc::new(Int16Array::from_iter(
                values.clone().map(|v| v.map(|v| v as i16)),
            )),
            Arc::new(TimestampMillisecondArray::from_iter(values)),
        ];
        for array in columns {
            let batches = batches(array);
            for non_null in [false, true] {
                let (fast, n_fast) = duplicates(&batches, &["k"], non_null, 5).unwrap();
                let (rows, n_rows) = duplicates_of(
                    &key_columns(&batches, &["k"]).unwrap(),
                    RowKeys::in_row_format(&key_columns(&batches, &["k"]).unwrap()).unwrap(),
                    non_null,
                    5,
                )
                .unwrap();
                assert_eq!(n_fast, n_rows);
                assert_eq!(fast.checked, rows.checked);
                assert_eq!(fast.failed, rows.failed);
                assert_eq!(fast.sample, rows.sample);
            }
        }
    }
}

/// The streamed check (batch by batch, key sets across batches, passes when over budget)
/// against this collected reference.
#[cfg(test)]
mod streamed {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use arrow::array::{
        ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
        TimestampMillisecondArray,
    };

    use super::super::keys::{KeyColumns, KeyTally, NullKeys};
    use super::super::{check_batches, rule_results as streamed, CheckOptions};
    use super::{rule_results as collected, Sampling};
    use crate::quality::score::dataset_quality;
    use crate::quality::RuleSet;

    const RULES: &str = r#"
        [[rules]]
        check = "completeness"
        column = "price"
        min = 0.9
        [[rules]]
        check = "not_null"
        column = "id"
        mostly = 0.5
        [[rules]]
        check = "unique"
        column = "id"
        [[rules]]
        check = "unique"
        column = "name"
        [[rules]]
        check = "unique"
        column = "price"
        [[rules]]
        check = "primary_key"
        columns = ["small", "name"]
        [[rules]]
        check = "distinct_ratio"
        column = "small"
        min = 0.5
        [[rules]]
        check = "range"
        column = "price"
        min = 0.0
        max = 900.0
        [[rules]]
        check = "allowed_set"
        column = "name"
        values = ["n1", "n2", "n3"]
        [[rules]]
        check = "regex"
        column = "name"
        pattern = "^n[0-9]+$"
        [[rules]]
        check = "length"
        column = "name"
        max = 2
        [[rules]]
        check = "type"
        column = "name"
        expected = "integral"
        [[rules]]
        check = "type"
        column = "small"
        expected = "integral"
        [[rules]]
        check = "compare"
        left = "small"
        op = "<"
        right = "id"
        [[rules]]
        check = "row_count"
        min = 10
        [[rules]]
        check = "freshness"
        column = "ts"
        max_age = "30d"
        [[rules]]
        check = "pii"
        column = "name"
        kind = "email"
    "#;

    /// Batches of uneven sizes (one empty) with nulls, NaN, signed zeros and repeats in
    /// every key column, the later ones slices with offsets, as scans hand them over.
    fn batches() -> Vec<RecordBatch> {
        let n = 5_000usize;
        let id: ArrayRef =
            Arc::new(Int64Array::from_iter((0..n as i64).map(|i| {
                (i % 53 != 5).then_some(if i % 41 == 0 { i / 2 } else { i })
            })));
        let price: ArrayRef = Arc::new(Float64Array::from_iter((0..n).map(|i| {
            (i % 31 != 2).then_some(match i % 97 {
                0 => f64::NAN,
                1 => -0.0,
                2 => 0.0,
                _ => ((i * 37) % 1000) as f64,
            })
        })));
        let name: ArrayRef = Arc::new(StringArray::from_iter((0..n).map(|i| {
            (i % 29 != 3).then(|| {
                if i % 211 == 0 {
                    format!("x{i}@example.com")
                } else {
                    format!("n{}", (i * 7) % 1500)
                }
            })
        })));
        let small: ArrayRef = Arc::new(Int32Array::from_iter(
            (0..n).map(|i| (i % 43 != 1).then_some((i % 2500) as i32)),
        ));
        let ts: ArrayRef = Arc::new(TimestampMillisecondArray::from_iter_values(
            (0..n as i64).map(|i| 1_700_000_000_000 + i * 1000),
        ));
        let all = RecordBatch::try_from_iter(vec![
            ("id", id),
            ("price", price),
            ("name", name),
            ("small", small),
            ("ts", ts),
        ])
        .unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        for len in [700, 0, 1, 1800, 2499] {
            out.push(all.slice(at, len));
            at += len;
        }
        assert_eq!(at, n);
        out
    }

    fn options(sample_size: usize, sample_values: bool, key_memory: usize) -> CheckOptions {
        CheckOptions {
            now: Some(UNIX_EPOCH + Duration::from_secs(1_700_010_000)),
            sample_size,
            sample_values,
            key_memory,
            exact_distinct_rows: u64::MAX,
        }
    }

    #[test]
    fn streamed_results_equal_the_collected_ones() {
        let rules = RuleSet::from_toml_str(RULES).unwrap();
        let batches = batches();
        for options in [
            options(10, true, 1 << 30),
            options(0, true, 1 << 30),
            options(usize::MAX, false, 1 << 30),
            // A budget so small every key check takes many passes (the radix path).
            options(7, true, 2048),
            options(usize::MAX, false, 4096),
        ] {
            let expected = collected(&batches, &rules, &options).unwrap();
            let got = streamed(&batches, &rules, &options).unwrap();
            assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                assert_eq!(g, e, "rule {} with {options:?}", e.rule);
            }
            assert!(expected
                .iter()
                .any(|r| r.affected_rows > 0 && r.check == "unique"));
            let report = check_batches(&batches, &rules, &options).unwrap();
            assert_eq!(report.results, expected);
            assert_eq!(report.dataset, dataset_quality(&batches).unwrap());
        }
    }

    #[test]
    fn a_small_budget_splits_keys_into_passes() {
        let sampling = Sampling {
            size: 3,
            values: true,
        };
        let tally = |budget| {
            KeyTally::new(
                KeyColumns::Named(vec!["id".into()]),
                NullKeys::Skip,
                sampling,
                Some(5_000),
                budget,
            )
        };
        assert_eq!(tally(1 << 30).passes(), 1);
        assert!(tally(4096).passes() >= 4);
        // Over the budget the passes find what one pass finds.
        let batches = batches();
        let run = |mut t: KeyTally| {
            while !t.done() {
                for b in &batches {
                    t.push(b).unwrap();
                }
                t.end_pass();
            }
            let (outcome, distinct) = t.outcome();
            (outcome.checked, outcome.failed, outcome.sample, distinct)
        };
        assert_eq!(run(tally(4096)), run(tally(1 << 30)));
    }

    #[test]
    fn the_score_streams_like_the_reference_over_nulls_only_and_no_columns() {
        let rules = RuleSet::from_toml_str("").unwrap();
        let nulls: ArrayRef = Arc::new(Int64Array::from(vec![None, None, Some(1), None]));
        let batch = RecordBatch::try_from_iter(vec![("a", nulls)]).unwrap();
        let batches = vec![batch.slice(0, 2), batch.slice(2, 2)];
        let report = check_batches(&batches, &rules, &CheckOptions::default()).unwrap();
        assert_eq!(report.dataset, dataset_quality(&batches).unwrap());
        assert_eq!(report.dataset.uniqueness, 0.5);
    }

    #[test]
    fn over_the_exact_limit_the_score_estimates_distinct_rows_and_says_so() {
        let rules = RuleSet::from_toml_str("").unwrap();
        let batches = batches();
        let exact = dataset_quality(&batches).unwrap();
        assert_eq!(exact.uniqueness_error, None);
        let options = CheckOptions {
            exact_distinct_rows: 1000,
            ..CheckOptions::default()
        };
        // Rows known up front (check_batches) and unknown (a directory's scan): both switch
        // to the estimate, the second once the rows pass the limit.
        let known = check_batches(&batches, &rules, &options).unwrap().dataset;
        let mut checker = super::super::Checker::new(&rules.rules, &options, None, true).unwrap();
        while !checker.done() {
            for b in &batches {
                checker.push(b).unwrap();
            }
            checker.end_pass();
        }
        let unknown = checker.finish(&options).unwrap().2.unwrap();
        for got in [known, unknown] {
            let bound = got.uniqueness_error.expect("an estimate says so");
            assert!((got.uniqueness - exact.uniqueness).abs() <= bound * exact.uniqueness);
            assert_eq!(got.completeness, exact.completeness);
            assert!((got.score - (got.completeness * 0.7 + got.uniqueness * 0.3)).abs() < 1e-12);
        }
        // At the limit the count stays exact.
        let options = CheckOptions {
            exact_distinct_rows: 5000,
            ..CheckOptions::default()
        };
        assert_eq!(
            check_batches(&batches, &rules, &options).unwrap().dataset,
            exact
        );
    }
}
