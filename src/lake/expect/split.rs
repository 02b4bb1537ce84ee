//! Cutting an append's batches into the rows to keep and the rows to quarantine.
//!
//! The kept rows are nearly all of them (copying them is most of what an expectation costs),
//! so they are cut in pieces of [`PIECE_ROWS`] rows on every pool thread: a piece no rule
//! failed is a slice of its batch (no copy), any other is filtered, and the pieces go to the
//! writer as they are (it encodes batch after batch, so pieces cost it nothing).

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray, UInt32Array};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{filter_record_batch, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;

use super::{offsets, ERRORS_COLUMN};
use crate::error::Result;

/// Rows of a piece of the kept rows: small enough to spread over the pool threads and to stay
/// in the CPU's cache while it is filtered, large enough that the writer hardly sees them.
const PIECE_ROWS: usize = 1 << 16;

/// The rows `drop` rules failed.
pub(super) struct Failing<'r> {
    /// (row of the append, rule index) per failure, by row, a row's rules in the file's order.
    pub rows: Vec<(u64, u32)>,
    /// The rules' names, by index.
    pub names: Vec<&'r str>,
}

impl Failing<'_> {
    /// Rows failing one rule or more.
    pub fn row_count(&self) -> u64 {
        self.rows.chunk_by(|a, b| a.0 == b.0).count() as u64
    }
}

/// The failures among rows `from..to` of the append.
fn within(failing: &[(u64, u32)], from: u64, to: u64) -> &[(u64, u32)] {
    let start = failing.partition_point(|f| f.0 < from);
    let end = start + failing[start..].partition_point(|f| f.0 < to);
    &failing[start..end]
}

/// The rows of `batches` no failure names, in order, as slices and filtered pieces.
pub(super) fn kept(batches: &[RecordBatch], failing: &[(u64, u32)]) -> Result<Vec<RecordBatch>> {
    if failing.is_empty() {
        return Ok(batches.to_vec());
    }
    let pieces: Vec<(&RecordBatch, u64, usize, usize)> = batches
        .iter()
        .zip(offsets(batches))
        .flat_map(|(batch, offset)| {
            (0..batch.num_rows())
                .step_by(PIECE_ROWS)
                .map(move |at| (batch, offset, at, PIECE_ROWS.min(batch.num_rows() - at)))
        })
        .collect();
    let kept = pieces
        .into_par_iter()
        .map(|(batch, offset, at, len)| {
            let from = offset + at as u64;
            let here = within(failing, from, from + len as u64);
            let piece = batch.slice(at, len);
            if here.is_empty() {
                return Ok(piece);
            }
            let mut keep = vec![true; len];
            for (row, _) in here {
                keep[(row - from) as usize] = false;
            }
            let keep = BooleanArray::new(BooleanBuffer::from(keep), None);
            Ok(filter_record_batch(&piece, &keep)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(kept.into_iter().filter(|b| b.num_rows() > 0).collect())
}

/// The rows of `batches` a failure names, a batch per batch that has any, each with an
/// `_errors` column naming the rules it failed (joined by `, `).
pub(super) fn dropped(batches: &[RecordBatch], failing: &Failing<'_>) -> Result<Vec<RecordBatch>> {
    if failing.rows.is_empty() {
        return Ok(Vec::new());
    }
    let parts = batches
        .par_iter()
        .zip(offsets(batches))
        .map(|(batch, offset)| {
            let here = within(&failing.rows, offset, offset + batch.num_rows() as u64);
            if here.is_empty() {
                return Ok(None);
            }
            let rows = here.chunk_by(|a, b| a.0 == b.0);
            let mut take = Vec::new();
            let mut errors = Vec::new();
            for row in rows {
                take.push((row[0].0 - offset) as u32);
                let named: Vec<&str> = row
                    .iter()
                    .map(|(_, rule)| failing.names.get(*rule as usize).copied().unwrap_or("?"))
                    .collect();
                errors.push(named.join(", "));
            }
            let out = take_record_batch(batch, &UInt32Array::from(take))?;
            let mut fields: Vec<Field> = out
                .schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields.push(Field::new(ERRORS_COLUMN, DataType::Utf8, false));
            let mut columns: Vec<ArrayRef> = out.columns().to_vec();
            columns.push(Arc::new(StringArray::from(errors)));
            Ok(Some(RecordBatch::try_new(
                Arc::new(Schema::new(fields)),
                columns,
            )?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(parts.into_iter().flatten().collect())
}
