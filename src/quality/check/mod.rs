//! Checking batches against a rule set: rules run in parallel on rayon, each over all batches.

mod keys;
mod pii;
mod rows;

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::compute::kernels::cmp;
use arrow::compute::{cast, is_not_null};
use arrow::datatypes::{DataType, Float64Type, Int64Type, Schema, TimeUnit};
use rayon::prelude::*;

use super::profile::{char_count, classify, InferredType, ValueKind};
use super::report::{QualityReport, RuleResult};
use super::rules::{CompareOp, Rule, RuleKind, RuleSet};
use super::same_columns;
use super::score::dataset_quality;
use crate::{Error, ErrorKind, Result};
pub(crate) use pii::PiiDetector;
use rows::{column, row_check, Outcome, Sampling};

/// Knobs of a check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The time freshness is measured against; now by default.
    pub now: Option<SystemTime>,
    /// Failed rows sampled per rule.
    pub sample_size: usize,
    /// Whether the sampled rows carry their values as text (`false`: row numbers only,
    /// cheaper when every failing row is sampled).
    pub sample_values: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            now: None,
            sample_size: 10,
            sample_values: true,
        }
    }
}

impl RuleSet {
    /// Checks that every column a rule reads is in `schema`: a rule on a column the data does
    /// not have (a typo) is a `NotFound` error naming the rules and the columns, never a rule
    /// that passes over no rows.
    pub fn check_columns(&self, schema: &Schema) -> Result<()> {
        let absent: Vec<String> = self
            .rules
            .iter()
            .flat_map(|rule| {
                rule.kind
                    .columns()
                    .into_iter()
                    .filter(|c| schema.column_with_name(c).is_none())
                    .map(move |c| format!("rule {:?} reads column {c:?}", rule.name))
            })
            .collect();
        if absent.is_empty() {
            return Ok(());
        }
        let has: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "{}, which the data does not have (the data has {})",
                absent.join("; "),
                if has.is_empty() {
                    "no columns".to_string()
                } else {
                    has.join(", ")
                }
            ),
        ))
    }
}

/// Checks batches that share a schema against every rule, and scores the dataset. A rule on
/// a column the batches do not have is an error ([`RuleSet::check_columns`]); with no
/// batches there is no schema to check, so use [`crate::Scan::check`] for files.
pub fn check_batches(
    batches: &[RecordBatch],
    rules: &RuleSet,
    options: &CheckOptions,
) -> Result<QualityReport> {
    if let Some(first) = batches.first() {
        if let Some(i) = batches
            .iter()
            .position(|b| !same_columns(&b.schema(), &first.schema()))
        {
            return Err(Error::invalid(format!(
                "batch {i} has a different schema from batch 0"
            )));
        }
        rules.check_columns(&first.schema())?;
    }
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let results = rule_results(batches, rules, options)?;
    Ok(QualityReport::new(rows, dataset_quality(batches)?, results))
}

/// Each rule's result over `batches`, in order, without the dataset's quality score (which
/// profiles every column): what a table append's expectations need. The batches' columns are
/// checked by [`check_batches`]'s callers.
pub(crate) fn rule_results(
    batches: &[RecordBatch],
    rules: &RuleSet,
    options: &CheckOptions,
) -> Result<Vec<RuleResult>> {
    if let Some(first) = batches.first() {
        rules.check_columns(&first.schema())?;
    }
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    rules
        .rules
        .par_iter()
        .map(|rule| evaluate(batches, rule, options, rows).map_err(|e| e.with("rule", &rule.name)))
        .collect()
}

fn evaluate(
    batches: &[RecordBatch],
    rule: &Rule,
    options: &CheckOptions,
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
            rows_result(keys::duplicates(batches, &[column.as_str()], false, n.size)?.0)
        }
        RuleKind::PrimaryKey { columns } => {
            let names: Vec<&str> = columns.iter().map(String::as_str).collect();
            rows_result(keys::duplicates(batches, &names, true, n.size)?.0)
        }
        RuleKind::DistinctRatio { column, min, max } => {
            let (outcome, distinct) = keys::duplicates(batches, &[column.as_str()], false, n.size)?;
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

/// A found and a required fraction as percentages, with as many decimals (two to six) as it
/// takes to tell them apart: 97.999% found against 98% required must not read "98.00%, 98.00%
/// required".
fn percents(found: f64, required: f64) -> (String, String) {
    let show = |f: f64, decimals: usize| format!("{:.*}%", decimals, f * 100.0);
    let mut decimals = 2;
    while decimals < 6 && found != required && show(found, decimals) == show(required, decimals) {
        decimals += 1;
    }
    (show(found, decimals), show(required, decimals))
}

fn cast_to(array: &ArrayRef, to: &DataType, name: &str) -> Result<ArrayRef> {
    cast(array, to).map_err(|e| {
        Error::invalid(format!(
            "column {name:?} of type {} cannot be read as {to}: {e}",
            array.data_type()
        ))
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

fn compare(left: &ArrayRef, op: CompareOp, right: &ArrayRef) -> Result<BooleanArray> {
    let numeric = |t: &DataType| t.is_numeric();
    let (l, r) = if left.data_type() == right.data_type() {
        (left.clone(), right.clone())
    } else if numeric(left.data_type()) && numeric(right.data_type()) {
        (
            cast(left, &DataType::Float64).map_err(Error::from)?,
            cast(right, &DataType::Float64).map_err(Error::from)?,
        )
    } else {
        (
            left.clone(),
            cast(right, left.data_type()).map_err(Error::from)?,
        )
    };
    let out = match op {
        CompareOp::Lt => cmp::lt(&l, &r),
        CompareOp::Le => cmp::lt_eq(&l, &r),
        CompareOp::Gt => cmp::gt(&l, &r),
        CompareOp::Ge => cmp::gt_eq(&l, &r),
        CompareOp::Eq => cmp::eq(&l, &r),
        CompareOp::Ne => cmp::neq(&l, &r),
    };
    out.map_err(Error::from)
}

/// The newest value of a date or timestamp column in milliseconds since the epoch.
fn newest_ms(batches: &[RecordBatch], name: &str) -> Result<Option<i64>> {
    let mut newest: Option<i64> = None;
    for batch in batches {
        let array = column(batch, name)?;
        let ms = match array.data_type() {
            DataType::Date32 | DataType::Date64 => cast_to(array, &DataType::Date64, name)?,
            DataType::Timestamp(_, tz) => cast_to(
                array,
                &DataType::Timestamp(TimeUnit::Millisecond, tz.clone()),
                name,
            )?,
            other => {
                return Err(Error::invalid(format!(
                    "freshness needs a date or timestamp column; {name:?} is {other}"
                )))
            }
        };
        let ints = cast_to(&ms, &DataType::Int64, name)?;
        if let Some(max) = arrow::compute::max(ints.as_primitive::<Int64Type>()) {
            newest = Some(newest.map_or(max, |n| n.max(max)));
        }
    }
    Ok(newest)
}
