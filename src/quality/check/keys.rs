//! Key checks that see their rows a batch at a time: uniqueness, compound primary keys,
//! distinct ratios and the dataset score's distinct rows.
//!
//! Every row's key is hashed to 64 bits ([`RowKeys`]) and the hashes go into a [`KeySet`]
//! sized from the rows expected. A key of one integer-like column of at most 8 bytes hashes
//! by a bijection, so the set decides alone. Other keys (strings, several columns) may collide:
//! the hashes seen twice are kept, and one more pass over the batches compares the keys of the
//! rows with those hashes exactly, in Arrow's row format. Rows are visited in order, so the
//! repeats found first are the ones sampled.
//!
//! When the set for every row would exceed the memory budget, the keys are split by hash
//! into passes (a radix partition): each pass reads the batches again and keeps only the keys
//! whose hash falls in its range, so each set holds a share of the keys. Equal keys hash
//! alike and land in the same pass, so counts add up and each pass's first repeats are in row
//! order; the samples are merged at the end.

use std::collections::HashSet;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::buffer::NullBuffer;
use arrow::row::{RowConverter, SortField};

use super::rows::{column, show, Outcome, Sampling};
use crate::quality::hash::KeyHasher;
use crate::quality::key_set::KeySet;
use crate::quality::report::FailedRow;
use crate::quality::row_keys::RowKeys;
use crate::{Error, Result};

/// Keys expected when the row count is unknown; the set grows from there.
const UNKNOWN_KEYS: usize = 1 << 16;
/// At most this many passes, however small the budget.
const MAX_PASSES: u64 = 1 << 12;

/// Which columns make the key.
#[derive(Debug, Clone)]
pub(crate) enum KeyColumns {
    /// These, by name.
    Named(Vec<String>),
    /// Every column of the batches (the dataset score's rows).
    All,
}

/// What a row whose key has a null part does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NullKeys {
    /// It is not checked (uniqueness, distinct ratio).
    Skip,
    /// It fails (primary key).
    Fail,
    /// Null is a value like any other, equal to null (the dataset score's distinct rows).
    Keyed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Hashes into the set.
    Count,
    /// Exact keys of the rows whose hash repeated.
    Verify,
    Done,
}

/// A key check's state across batches and passes.
pub(crate) struct KeyTally {
    columns: KeyColumns,
    nulls_are: NullKeys,
    sampling: Sampling,
    passes: u64,
    pass: u64,
    phase: Phase,
    /// Keys each pass's set is sized for.
    pass_keys: usize,
    set: Option<KeySet>,
    /// Whether hashes are keys (decided at the first batch).
    exact: Option<bool>,
    /// Hashes seen more than once in this pass (inexact keys only).
    candidates: HashSet<u64, KeyHasher>,
    /// Exact keys, in the row format, of the rows with a candidate hash.
    verified: HashSet<Box<[u8]>, KeyHasher>,
    converter: Option<RowConverter>,
    /// Rows of the batches before the current one, in this pass.
    offset: u64,
    /// Rows in all batches (counted in the first pass).
    rows: u64,
    /// Rows with a null key part (first pass; not for `Keyed`).
    nulls: u64,
    /// Whether a null key was seen (`Keyed` with an exact key, where null is left out of the
    /// set and counts as one more distinct key).
    null_key: bool,
    distinct: u64,
    /// Sampled rows that failed for a null key part, in row order.
    null_sample: Vec<FailedRow>,
    /// Sampled repeats: the first of each earlier pass (sorted, cut to the sample size),
    /// then this pass's, in row order.
    repeat_sample: Vec<FailedRow>,
    /// Where this pass's repeats start in `repeat_sample`.
    pass_sample: usize,
}

impl KeyTally {
    /// A tally whose sets stay within `budget` bytes when the batches hold `expected_rows`
    /// rows (`None`: unknown, one pass whose set grows as needed).
    pub(crate) fn new(
        columns: KeyColumns,
        nulls_are: NullKeys,
        sampling: Sampling,
        expected_rows: Option<u64>,
        budget: usize,
    ) -> KeyTally {
        let (passes, pass_keys) = match expected_rows {
            None => (1, UNKNOWN_KEYS),
            Some(rows) => {
                let mut passes = 1u64;
                while passes < MAX_PASSES
                    && KeySet::bytes_for(rows.div_ceil(passes) as usize) > budget
                {
                    passes *= 2;
                }
                (passes, rows.div_ceil(passes) as usize)
            }
        };
        KeyTally {
            columns,
            nulls_are,
            sampling,
            passes,
            pass: 0,
            phase: Phase::Count,
            pass_keys,
            set: None,
            exact: None,
            candidates: HashSet::with_hasher(KeyHasher),
            verified: HashSet::with_hasher(KeyHasher),
            converter: None,
            offset: 0,
            rows: 0,
            nulls: 0,
            null_key: false,
            distinct: 0,
            null_sample: Vec::new(),
            repeat_sample: Vec::new(),
            pass_sample: 0,
        }
    }

    /// Passes over the batches this tally plans (a verification pass may follow each).
    #[cfg(test)]
    pub(crate) fn passes(&self) -> u64 {
        self.passes
    }

    /// Whether the tally needs no more passes over the batches.
    pub(crate) fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Takes the next batch of this pass.
    pub(crate) fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        let offset = self.offset;
        self.offset += batch.num_rows() as u64;
        match self.phase {
            Phase::Count => self.count(batch, offset),
            Phase::Verify => self.verify(batch, offset),
            Phase::Done => Ok(()),
        }
    }

    /// Ends a pass over the batches: what is next depends on what this one found.
    pub(crate) fn end_pass(&mut self) {
        self.offset = 0;
        match self.phase {
            Phase::Count => {
                let held = self.set.take().map_or(0, |s| s.len()) as u64;
                if self.candidates.is_empty() {
                    self.distinct += held;
                    self.next_pass();
                } else {
                    // Each candidate hash counted once in `held`: its keys are counted by
                    // the verification instead.
                    self.distinct += held - self.candidates.len() as u64;
                    self.phase = Phase::Verify;
                }
            }
            Phase::Verify => {
                self.distinct += self.verified.len() as u64;
                self.verified = HashSet::with_hasher(KeyHasher);
                self.candidates = HashSet::with_hasher(KeyHasher);
                self.next_pass();
            }
            Phase::Done => {}
        }
    }

    fn next_pass(&mut self) {
        // Each pass samples its own first repeats; the earliest of all passes are kept.
        self.repeat_sample.sort_unstable_by_key(|r| r.row);
        self.repeat_sample.truncate(self.sampling.size);
        self.pass_sample = self.repeat_sample.len();
        self.pass += 1;
        self.phase = if self.pass < self.passes {
            Phase::Count
        } else {
            Phase::Done
        };
    }

    /// The check's counts once done: rows checked, failed and sampled, and distinct keys.
    pub(crate) fn outcome(mut self) -> (Outcome, u64) {
        let distinct = self.distinct + u64::from(self.null_key);
        let keyed = self.rows - self.nulls;
        let repeated = keyed - self.distinct;
        let (checked, failed) = match self.nulls_are {
            NullKeys::Skip => (keyed, repeated),
            NullKeys::Fail => (self.rows, repeated + self.nulls),
            NullKeys::Keyed => (self.rows, self.rows - distinct),
        };
        let mut sample = std::mem::take(&mut self.repeat_sample);
        sample.append(&mut self.null_sample);
        sample.sort_unstable_by_key(|r| r.row);
        sample.truncate(self.sampling.size);
        let outcome = Outcome {
            checked,
            failed,
            sample,
        };
        (outcome, distinct)
    }

    fn key_columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        match &self.columns {
            KeyColumns::All => Ok(batch.columns().to_vec()),
            KeyColumns::Named(names) => names.iter().map(|n| column(batch, n).cloned()).collect(),
        }
    }

    /// Where every key part is set; `None` when nulls are keys like any other.
    fn valid(&self, cols: &[ArrayRef], exact: bool) -> Option<NullBuffer> {
        if self.nulls_are == NullKeys::Keyed && !exact {
            return None;
        }
        cols.iter().fold(None, |acc, c| {
            NullBuffer::union(acc.as_ref(), c.logical_nulls().as_ref())
        })
    }

    fn in_pass(&self, hash: u64) -> bool {
        self.passes == 1 || ((hash >> 32) * self.passes) >> 32 == self.pass
    }

    /// The batch's keys: their columns, hashes, where they are set, and whether hashes are
    /// keys.
    fn keys(
        &mut self,
        batch: &RecordBatch,
    ) -> Result<(Vec<ArrayRef>, Vec<u64>, Option<NullBuffer>)> {
        let cols = self.key_columns(batch)?;
        let keys = RowKeys::new(std::slice::from_ref(&cols))?;
        let exact = *self.exact.get_or_insert(keys.hash_is_exact());
        let hashes = keys.hashes();
        let valid = self.valid(&cols, exact);
        Ok((cols, hashes, valid))
    }

    /// Repeats this pass may still sample.
    fn room(&self) -> usize {
        let taken = self.repeat_sample.len() - self.pass_sample;
        self.sampling.size.saturating_sub(taken)
    }

    /// A failed row with its key's values (always: key checks sampled values before
    /// [`Sampling::values`] existed, and their reports keep them).
    fn sample(&self, cols: &[ArrayRef], i: usize, offset: u64) -> Result<FailedRow> {
        Ok(FailedRow {
            row: offset + i as u64,
            value: show(cols, i)?,
        })
    }

    fn count(&mut self, batch: &RecordBatch, offset: u64) -> Result<()> {
        let (cols, hashes, valid) = self.keys(batch)?;
        let exact = self.exact == Some(true);
        let first = self.pass == 0;
        if first {
            self.rows += hashes.len() as u64;
        }
        let mut which: Vec<u32> = Vec::with_capacity(hashes.len());
        for (i, &hash) in hashes.iter().enumerate() {
            if valid.as_ref().is_some_and(|v| v.is_null(i)) {
                if first {
                    match self.nulls_are {
                        NullKeys::Keyed => self.null_key = true,
                        NullKeys::Skip => self.nulls += 1,
                        NullKeys::Fail => {
                            self.nulls += 1;
                            if self.null_sample.len() < self.sampling.size {
                                let row = self.sample(&cols, i, offset)?;
                                self.null_sample.push(row);
                            }
                        }
                    }
                }
            } else if self.in_pass(hash) {
                which.push(i as u32);
            }
        }
        let room = self.room();
        let pass_keys = self.pass_keys;
        let set = self
            .set
            .get_or_insert_with(|| KeySet::with_capacity(pass_keys));
        let mut repeats: Vec<usize> = Vec::new();
        let candidates = &mut self.candidates;
        set.insert_each(&hashes, &which, |i, new| {
            if new {
                return;
            }
            if exact {
                if repeats.len() < room {
                    repeats.push(i);
                }
            } else {
                candidates.insert(hashes[i]);
            }
        });
        for i in repeats {
            let row = self.sample(&cols, i, offset)?;
            self.repeat_sample.push(row);
        }
        Ok(())
    }

    fn verify(&mut self, batch: &RecordBatch, offset: u64) -> Result<()> {
        let (cols, hashes, valid) = self.keys(batch)?;
        let which: Vec<usize> = (0..hashes.len())
            .filter(|&i| {
                valid.as_ref().is_none_or(|v| v.is_valid(i))
                    && self.in_pass(hashes[i])
                    && self.candidates.contains(&hashes[i])
            })
            .collect();
        if which.is_empty() {
            return Ok(());
        }
        if self.converter.is_none() {
            let fields = cols
                .iter()
                .map(|c| SortField::new(c.data_type().clone()))
                .collect();
            self.converter = Some(RowConverter::new(fields).map_err(Error::from)?);
        }
        let rows = match &self.converter {
            Some(converter) => converter.convert_columns(&cols).map_err(Error::from)?,
            None => return Err(Error::internal("no row converter for the key columns")),
        };
        for i in which {
            if !self.verified.insert(rows.row(i).as_ref().into()) && self.room() > 0 {
                let row = self.sample(&cols, i, offset)?;
                self.repeat_sample.push(row);
            }
        }
        Ok(())
    }
}
