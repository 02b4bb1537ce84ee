//! A check that sees its rows a batch at a time: each rule keeps a tally (counts and the first
//! failed rows) that a batch adds to, so memory does not grow with the data. Only key checks
//! (uniqueness, primary keys, distinct ratios and the dataset score's distinct rows) keep
//! state across batches, and may ask for more passes over them (see [`super::keys`]).

use std::collections::HashSet;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::compute::is_not_null;
use arrow::datatypes::{DataType, Float64Type};
use rayon::prelude::*;

use super::keys::{KeyColumns, KeyTally, NullKeys};
use super::rows::{column, tally_rows, Outcome, Sampling};
use super::{cast_to, compare, newest_ms, CheckOptions, PiiDetector};
use crate::quality::profile::{char_count, classify, InferredType, ValueKind};
use crate::quality::report::RuleResult;
use crate::quality::row_keys::RowKeys;
use crate::quality::rules::{Rule, RuleKind};
use crate::quality::score::{missing_cells, DatasetQuality};
use crate::quality::sketch::HyperLogLog;
use crate::{Error, Result};

/// Precision of the score's distinct-row estimate: 64 KiB of registers (they stay in cache),
/// a standard error of 0.41%.
const SKETCH_PRECISION: u8 = 16;

/// A row-level rule's verdicts on one batch's columns: per row true (pass), false (fail) or
/// null (not checked).
type Kernel<'a> = Box<dyn Fn(&[ArrayRef]) -> Result<BooleanArray> + Send + Sync + 'a>;

/// What one rule has seen so far.
enum RuleTally<'a> {
    Rows {
        names: Vec<&'a str>,
        kernel: Kernel<'a>,
        sampling: Sampling,
        /// Rows tallied so far: the next batch's first row number.
        offset: u64,
        outcome: Outcome,
    },
    /// Boxed: a key tally is large, a row-level one small.
    Keys(Box<KeyTally>),
    RowCount,
    Freshness {
        column: &'a str,
        newest: Option<i64>,
    },
}

/// What a tally ends as, for [`super::result_of`].
pub(super) enum Tallied {
    Rows(Outcome),
    Keys(Outcome, u64),
    RowCount,
    Freshness(Option<i64>),
}

/// The dataset score's counts: missing cells as they come, distinct rows across batches,
/// exactly up to [`CheckOptions::exact_distinct_rows`] rows, estimated beyond.
struct ScoreTally {
    rows: u64,
    cells: u64,
    missing: u64,
    /// The exact count's key set; `None` for batches without columns (whose rows are all
    /// alike), and once the rows exceed the exact limit.
    keys: Option<KeyTally>,
    /// The estimate, fed in the first pass while the rows may exceed the exact limit (from
    /// the start when the expected rows do; unknown, until they do not).
    sketch: Option<HyperLogLog>,
    /// Rows up to which the count is exact.
    exact_limit: u64,
}

/// Every rule's tally (and the dataset score's), fed the same batches pass after pass until
/// none needs another.
pub(crate) struct Checker<'a> {
    rules: &'a [Rule],
    tallies: Vec<RuleTally<'a>>,
    score: Option<ScoreTally>,
    rows: u64,
    first_pass: bool,
}

impl<'a> Checker<'a> {
    /// Tallies for `rules` (and the dataset score with `score`), their key sets sized for
    /// `expected_rows` rows (an upper bound is fine; `None` when unknown).
    pub(crate) fn new(
        rules: &'a [Rule],
        options: &CheckOptions,
        expected_rows: Option<u64>,
        score: bool,
    ) -> Result<Checker<'a>> {
        let sets = rules
            .iter()
            .filter(|r| {
                matches!(
                    r.kind,
                    RuleKind::Unique { .. }
                        | RuleKind::PrimaryKey { .. }
                        | RuleKind::DistinctRatio { .. }
                )
            })
            .count()
            + usize::from(score);
        let budget = options.key_memory / sets.max(1);
        let tallies = rules
            .iter()
            .map(|rule| {
                tally_for(rule, options, expected_rows, budget)
                    .map_err(|e| e.with("rule", &rule.name))
            })
            .collect::<Result<Vec<_>>>()?;
        let score = score
            .then(|| ScoreTally::new(options, expected_rows, budget))
            .transpose()?;
        Ok(Checker {
            rules,
            tallies,
            score,
            rows: 0,
            first_pass: true,
        })
    }

    /// Adds a batch of the current pass; the rules share the caller's rayon pool.
    pub(crate) fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        let first = self.first_pass;
        if first {
            self.rows += batch.num_rows() as u64;
        }
        let rules = self.rules;
        let (ruled, scored) = rayon::join(
            || {
                self.tallies
                    .par_iter_mut()
                    .zip(rules)
                    .with_max_len(1)
                    .try_for_each(|(tally, rule)| {
                        tally
                            .push(batch, first)
                            .map_err(|e| e.with("rule", &rule.name))
                    })
            },
            || match &mut self.score {
                Some(score) => score.push(batch, first),
                None => Ok(()),
            },
        );
        ruled.and(scored)
    }

    /// Ends a pass over the batches.
    pub(crate) fn end_pass(&mut self) {
        self.first_pass = false;
        for tally in &mut self.tallies {
            if let RuleTally::Keys(keys) = tally {
                keys.end_pass();
            }
        }
        if let Some(score) = &mut self.score {
            score.end_pass();
        }
    }

    /// Whether every tally is complete; otherwise the same batches must come again.
    pub(crate) fn done(&self) -> bool {
        !self.first_pass
            && self.tallies.iter().all(|t| match t {
                RuleTally::Keys(keys) => keys.done(),
                _ => true,
            })
            && self.score.as_ref().is_none_or(ScoreTally::done)
    }

    /// Rows seen, each rule's result and the dataset score (when asked for).
    pub(crate) fn finish(
        self,
        options: &CheckOptions,
    ) -> Result<(u64, Vec<RuleResult>, Option<DatasetQuality>)> {
        let rows = self.rows;
        let results = self
            .rules
            .iter()
            .zip(self.tallies)
            .map(|(rule, tally)| {
                let tallied = match tally {
                    RuleTally::Rows { outcome, .. } => Tallied::Rows(outcome),
                    RuleTally::Keys(keys) => {
                        let (outcome, distinct) = keys.outcome();
                        Tallied::Keys(outcome, distinct)
                    }
                    RuleTally::RowCount => Tallied::RowCount,
                    RuleTally::Freshness { newest, .. } => Tallied::Freshness(newest),
                };
                super::result_of(rule, tallied, options, rows)
            })
            .collect();
        Ok((rows, results, self.score.map(ScoreTally::finish)))
    }
}

impl RuleTally<'_> {
    fn push(&mut self, batch: &RecordBatch, first: bool) -> Result<()> {
        match self {
            RuleTally::Keys(keys) => keys.push(batch),
            _ if !first => Ok(()),
            RuleTally::Rows {
                names,
                kernel,
                sampling,
                offset,
                outcome,
            } => {
                let cols = names
                    .iter()
                    .map(|n| column(batch, n).cloned())
                    .collect::<Result<Vec<_>>>()?;
                let ok = kernel(&cols)?;
                let first_row = *offset;
                *offset += batch.num_rows() as u64;
                tally_rows(outcome, &cols, &ok, first_row, *sampling)
            }
            RuleTally::RowCount => Ok(()),
            RuleTally::Freshness { column, newest } => {
                if let Some(max) = newest_ms(std::slice::from_ref(batch), column)? {
                    *newest = Some(newest.map_or(max, |n| n.max(max)));
                }
                Ok(())
            }
        }
    }
}

impl ScoreTally {
    fn new(options: &CheckOptions, expected_rows: Option<u64>, budget: usize) -> Result<Self> {
        let exact_limit = options.exact_distinct_rows;
        let within = expected_rows.map(|rows| rows <= exact_limit);
        let keys = (within != Some(false)).then(|| {
            KeyTally::new(
                KeyColumns::All,
                NullKeys::Keyed,
                Sampling {
                    size: 0,
                    values: false,
                },
                expected_rows,
                budget,
            )
        });
        let sketch = match within {
            Some(true) => None,
            _ => Some(HyperLogLog::new(SKETCH_PRECISION)?),
        };
        Ok(ScoreTally {
            rows: 0,
            cells: 0,
            missing: 0,
            keys,
            sketch,
            exact_limit,
        })
    }

    fn push(&mut self, batch: &RecordBatch, first: bool) -> Result<()> {
        if first {
            self.rows += batch.num_rows() as u64;
            self.cells += (batch.num_rows() * batch.num_columns()) as u64;
            self.missing += batch
                .columns()
                .iter()
                .map(|c| missing_cells(c.as_ref()))
                .sum::<u64>();
            if batch.num_columns() == 0 {
                self.keys = None;
                self.sketch = None;
            }
            if self.rows > self.exact_limit && self.sketch.is_some() {
                // Past the limit (the rows were unknown up front): the sketch, fed from the
                // first row on, counts from here.
                self.keys = None;
            }
            if let Some(sketch) = &mut self.sketch {
                let keys = RowKeys::new(&[batch.columns().to_vec()])?;
                for hash in keys.hashes() {
                    sketch.insert_hash(hash);
                }
            }
        }
        match &mut self.keys {
            Some(keys) => keys.push(batch),
            None => Ok(()),
        }
    }

    /// Whether the exact count needs no more passes.
    fn done(&self) -> bool {
        self.keys.as_ref().is_none_or(KeyTally::done)
    }

    fn end_pass(&mut self) {
        if let Some(keys) = &mut self.keys {
            keys.end_pass();
        }
    }

    fn finish(self) -> DatasetQuality {
        if self.rows == 0 {
            return DatasetQuality {
                completeness: 1.0,
                uniqueness: 1.0,
                score: 1.0,
                uniqueness_error: None,
            };
        }
        let completeness = if self.cells == 0 {
            1.0
        } else {
            1.0 - self.missing as f64 / self.cells as f64
        };
        let (distinct, uniqueness_error) = match (self.keys, self.sketch) {
            (Some(keys), _) => (keys.outcome().1 as f64, None),
            // At least one row is distinct, and at most every row.
            (None, Some(sketch)) => (
                sketch.estimate().round().clamp(1.0, self.rows as f64),
                Some(sketch.error_bound()),
            ),
            (None, None) => (1.0, None),
        };
        let uniqueness = distinct / self.rows as f64;
        DatasetQuality {
            completeness,
            uniqueness,
            score: completeness * 0.7 + uniqueness * 0.3,
            uniqueness_error,
        }
    }
}

/// The tally a rule starts from: its kernel built once (patterns compiled, sets filled), so
/// a bad rule fails before any row is read.
fn tally_for<'a>(
    rule: &'a Rule,
    options: &CheckOptions,
    expected_rows: Option<u64>,
    budget: usize,
) -> Result<RuleTally<'a>> {
    let sampling = Sampling {
        size: options.sample_size,
        values: options.sample_values,
    };
    if !rule.kind.is_row_level() && rule.mostly != 1.0 {
        return Err(Error::invalid(format!(
            "`mostly` does not apply to check {:?}: it is one verdict on the whole table",
            rule.kind.check_name()
        )));
    }
    let rows = |names: Vec<&'a str>, kernel: Kernel<'a>| RuleTally::Rows {
        names,
        kernel,
        sampling,
        offset: 0,
        outcome: Outcome::default(),
    };
    let keys = |names: Vec<String>, nulls: NullKeys, sampling: Sampling| {
        RuleTally::Keys(Box::new(KeyTally::new(
            KeyColumns::Named(names),
            nulls,
            sampling,
            expected_rows,
            budget,
        )))
    };
    Ok(match &rule.kind {
        RuleKind::NotNull { column } | RuleKind::Completeness { column, .. } => rows(
            vec![column],
            Box::new(|cols| is_not_null(cols[0].as_ref()).map_err(Error::from)),
        ),
        RuleKind::Unique { column } => keys(vec![column.clone()], NullKeys::Skip, sampling),
        RuleKind::PrimaryKey { columns } => keys(columns.clone(), NullKeys::Fail, sampling),
        RuleKind::DistinctRatio { column, .. } => keys(
            vec![column.clone()],
            NullKeys::Skip,
            Sampling {
                size: 0,
                values: false,
            },
        ),
        RuleKind::Range {
            column,
            min,
            max,
            min_exclusive,
            max_exclusive,
        } => {
            let (min, max, lo_open, hi_open) = (*min, *max, *min_exclusive, *max_exclusive);
            rows(
                vec![column],
                Box::new(move |cols| {
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
                }),
            )
        }
        RuleKind::AllowedSet { column, values } => {
            let allowed: HashSet<&str> = values.iter().map(String::as_str).collect();
            rows(
                vec![column],
                text_kernel(column, move |v| allowed.contains(v)),
            )
        }
        RuleKind::Regex { column, pattern } => {
            let re = regex::Regex::new(pattern)
                .map_err(|e| Error::invalid(format!("bad pattern: {e}").replace('\n', " ")))?;
            rows(vec![column], text_kernel(column, move |v| re.is_match(v)))
        }
        RuleKind::Length { column, min, max } => {
            let (min, max) = (*min, *max);
            rows(
                vec![column],
                text_kernel(column, move |v| {
                    let len = char_count(v.as_bytes()) as u64;
                    min.is_none_or(|m| len >= m) && max.is_none_or(|m| len <= m)
                }),
            )
        }
        RuleKind::Type { column, expected } => {
            let expected = *expected;
            let text = text_kernel(column, move |v| {
                classify(v.as_bytes()).conforms_to(expected)
            });
            rows(
                vec![column],
                Box::new(move |cols| {
                    let kind = ValueKind::of(cols[0].data_type());
                    if kind == ValueKind::Utf8 {
                        return text(cols);
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
                    let c = &cols[0];
                    Ok((0..c.len())
                        .map(|i| c.is_valid(i).then_some(conforms))
                        .collect())
                }),
            )
        }
        RuleKind::Pii { column, kind } => {
            let detector = PiiDetector::new(*kind)?;
            rows(
                vec![column],
                text_kernel(column, move |v| !detector.detect(v)),
            )
        }
        RuleKind::Compare { left, op, right } => {
            let op = *op;
            rows(
                vec![left, right],
                Box::new(move |cols| compare(&cols[0], op, &cols[1])),
            )
        }
        RuleKind::RowCount { .. } => RuleTally::RowCount,
        RuleKind::Freshness { column, .. } => RuleTally::Freshness {
            column,
            newest: None,
        },
    })
}

/// A check over values as text (other types are cast to text first).
fn text_kernel<'a>(name: &'a str, ok: impl Fn(&str) -> bool + Send + Sync + 'a) -> Kernel<'a> {
    Box::new(move |cols| {
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
