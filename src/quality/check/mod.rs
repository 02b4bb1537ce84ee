//! Checking batches against a rule set: each batch goes to every rule's tally in turn (the
//! rules in parallel on rayon), so only key checks keep anything across batches.

#[cfg(test)]
mod collected;
mod keys;
mod pii;
mod rows;
mod tally;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow::array::{ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::compute::cast;
use arrow::compute::kernels::cmp;
use arrow::datatypes::{DataType, Int64Type, Schema, TimeUnit};

use super::report::{QualityReport, RuleResult};
use super::rules::{CompareOp, Rule, RuleKind, RuleSet};
use super::same_columns;
use super::score::DatasetQuality;
use crate::{Error, ErrorKind, Result};
pub(crate) use pii::PiiDetector;
use rows::{column, Outcome};
pub(crate) use tally::Checker;
use tally::Tallied;

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
    /// Bytes the key sets of uniqueness, primary-key and distinct-ratio checks and of the
    /// dataset score's distinct rows may take together (1 GiB by default), when the rows to
    /// check are known up front (batches, or one file's footer). Keys beyond it are checked
    /// in several passes over the data, each holding the keys of one hash range.
    pub key_memory: usize,
    /// Rows up to which the dataset score counts distinct rows exactly, with a key set over
    /// every row (1 Mi by default; `u64::MAX`: always). When more rows may come (a file's
    /// footer counts more, though a filter may keep fewer) the score's uniqueness is a
    /// HyperLogLog estimate (0.41% standard error) and says so
    /// ([`super::DatasetQuality::uniqueness_error`]): over ten million rows the exact count
    /// took a third of a check's time in cache misses, for a part the score weighs 0.3.
    pub exact_distinct_rows: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            now: None,
            sample_size: 10,
            sample_values: true,
            key_memory: 1 << 30,
            exact_distinct_rows: 1 << 20,
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
    let (rows, results, dataset) = check_slices(batches, rules, options, true)?;
    let dataset = dataset.ok_or_else(|| Error::internal("the check kept no dataset score"))?;
    Ok(QualityReport::new(rows, dataset, results))
}

/// Each rule's result over `batches`, in order, without the dataset's quality score (which
/// looks at every column): what a table append's expectations need. The batches' columns are
/// checked by [`check_batches`]'s callers.
pub(crate) fn rule_results(
    batches: &[RecordBatch],
    rules: &RuleSet,
    options: &CheckOptions,
) -> Result<Vec<RuleResult>> {
    if let Some(first) = batches.first() {
        rules.check_columns(&first.schema())?;
    }
    Ok(check_slices(batches, rules, options, false)?.1)
}

/// Streams `batches` through a [`Checker`] as many times as its key checks need.
fn check_slices(
    batches: &[RecordBatch],
    rules: &RuleSet,
    options: &CheckOptions,
    score: bool,
) -> Result<(u64, Vec<RuleResult>, Option<DatasetQuality>)> {
    let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let mut checker = Checker::new(&rules.rules, options, Some(rows), score)?;
    while !checker.done() {
        for batch in batches {
            checker.push(batch)?;
        }
        checker.end_pass();
    }
    checker.finish(options)
}

/// A rule's result from its tally over `rows` rows.
fn result_of(rule: &Rule, tallied: Tallied, options: &CheckOptions, rows: u64) -> RuleResult {
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
    match (&rule.kind, tallied) {
        (RuleKind::Completeness { min, .. }, Tallied::Rows(outcome)) => {
            let fraction = outcome.pass_fraction();
            let required_fraction = min.min(rule.mostly);
            let (found, required) = percents(fraction, required_fraction);
            let message = format!(
                "{found} of rows are not null ({} null), {required} required",
                outcome.failed,
            );
            result(fraction >= required_fraction, fraction, outcome, message)
        }
        (RuleKind::DistinctRatio { min, max, .. }, Tallied::Keys(outcome, distinct)) => {
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
        (RuleKind::RowCount { min, max }, _) => {
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
        (RuleKind::Freshness { max_age, .. }, Tallied::Freshness(newest)) => {
            let now = options.now.unwrap_or_else(SystemTime::now);
            let now_ms = match now.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            };
            match newest {
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
        (_, Tallied::Rows(outcome) | Tallied::Keys(outcome, _)) => rows_result(outcome),
        // A tally always matches its rule's kind; nothing else reaches here.
        (_, Tallied::RowCount | Tallied::Freshness(_)) => rows_result(Outcome::default()),
    }
}

/// A found and a required fraction as percentages, with as many decimals (two to six) as it
/// takes to tell them apart: 97.999% found against 98% required must not read "98.00%, 98.00%
/// required".
pub(super) fn percents(found: f64, required: f64) -> (String, String) {
    let show = |f: f64, decimals: usize| format!("{:.*}%", decimals, f * 100.0);
    let mut decimals = 2;
    while decimals < 6 && found != required && show(found, decimals) == show(required, decimals) {
        decimals += 1;
    }
    (show(found, decimals), show(required, decimals))
}

pub(super) fn cast_to(array: &ArrayRef, to: &DataType, name: &str) -> Result<ArrayRef> {
    cast(array, to).map_err(|e| {
        Error::invalid(format!(
            "column {name:?} of type {} cannot be read as {to}: {e}",
            array.data_type()
        ))
    })
}

pub(super) fn compare(left: &ArrayRef, op: CompareOp, right: &ArrayRef) -> Result<BooleanArray> {
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
pub(super) fn newest_ms(batches: &[RecordBatch], name: &str) -> Result<Option<i64>> {
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
