//! Row-level checks: a rule becomes a per-batch kernel that yields, for every row, pass, fail or
//! skipped (null); failures are counted and the first few sampled with their values.

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::quality::report::FailedRow;
use crate::{Error, Result};

/// Counts of one row-level check.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) checked: u64,
    pub(super) failed: u64,
    pub(super) sample: Vec<FailedRow>,
}

/// Which failed rows a check keeps: how many, and whether with their values as text (an
/// append's expectations need every failing row's number, not its value).
#[derive(Debug, Clone, Copy)]
pub(super) struct Sampling {
    pub(super) size: usize,
    pub(super) values: bool,
}

impl Outcome {
    pub(super) fn fail(
        &mut self,
        row: u64,
        value: impl FnOnce() -> Result<String>,
        sampling: Sampling,
    ) -> Result<()> {
        self.failed += 1;
        if self.sample.len() < sampling.size {
            let value = if sampling.values {
                value()?
            } else {
                String::new()
            };
            self.sample.push(FailedRow { row, value });
        }
        Ok(())
    }

    /// Fraction of checked rows that passed (1 when none were checked).
    pub(super) fn pass_fraction(&self) -> f64 {
        if self.checked == 0 {
            1.0
        } else {
            (self.checked - self.failed) as f64 / self.checked as f64
        }
    }
}

/// The column called `name`, or an error naming it.
pub(super) fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::not_found(format!("no column {name:?} in the data")))
}

/// Row `i` of the columns as text, comma-separated.
pub(super) fn show(columns: &[ArrayRef], i: usize) -> Result<String> {
    let options = FormatOptions::default().with_null("null");
    let mut parts = Vec::with_capacity(columns.len());
    for c in columns {
        let formatter = ArrayFormatter::try_new(c.as_ref(), &options).map_err(Error::from)?;
        parts.push(formatter.value(i).to_string());
    }
    Ok(parts.join(", "))
}

/// Adds one batch's verdicts to `outcome`: `ok` holds, per row of `cols`, true (pass), false
/// (fail) or null (not checked); `offset` is the batch's first row across all batches.
pub(super) fn tally_rows(
    outcome: &mut Outcome,
    cols: &[ArrayRef],
    ok: &BooleanArray,
    offset: u64,
    sampling: Sampling,
) -> Result<()> {
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
            outcome.fail(offset + i as u64, || show(cols, i), sampling)?;
        }
        // Failures past the sample are not visited; the count comes from the bitmap.
        outcome.failed = before + failed;
    }
    Ok(())
}
