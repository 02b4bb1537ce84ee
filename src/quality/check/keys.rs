//! Key checks over whole datasets: uniqueness, compound primary keys and distinct ratios, on
//! Arrow's row format so that any column types and combinations compare exactly.

use std::collections::HashSet;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::row::{RowConverter, SortField};

use super::rows::{column, show, Outcome};
use crate::quality::arrow_error;
use crate::quality::hash::KeyHasher;
use crate::Result;

/// Rows whose key repeats an earlier row's fail; with `non_null`, rows with a null key part
/// fail too, otherwise they are skipped. Also returns the number of distinct keys.
pub(super) fn duplicates(
    batches: &[RecordBatch],
    names: &[&str],
    non_null: bool,
    sample_size: usize,
) -> Result<(Outcome, u64)> {
    let Some(first) = batches.first() else {
        return Ok((Outcome::default(), 0));
    };
    let fields = names
        .iter()
        .map(|n| Ok(SortField::new(column(first, n)?.data_type().clone())))
        .collect::<Result<Vec<_>>>()?;
    let converter = RowConverter::new(fields).map_err(arrow_error)?;
    let mut columns: Vec<Vec<ArrayRef>> = Vec::with_capacity(batches.len());
    let mut converted = Vec::with_capacity(batches.len());
    for batch in batches {
        let cols = names
            .iter()
            .map(|n| column(batch, n).cloned())
            .collect::<Result<Vec<_>>>()?;
        converted.push(converter.convert_columns(&cols).map_err(arrow_error)?);
        columns.push(cols);
    }
    let mut outcome = Outcome::default();
    // Sized up front: growing rehashes every key, and each rehash reads the row bytes again
    // from all over memory (most of the time of a 10-million-row check).
    let total: usize = converted.iter().map(|r| r.num_rows()).sum();
    let mut seen: HashSet<&[u8], KeyHasher> = HashSet::with_capacity_and_hasher(total, KeyHasher);
    let mut offset = 0u64;
    for (cols, rows) in columns.iter().zip(&converted) {
        for (i, row) in rows.iter().enumerate() {
            let has_null = cols.iter().any(|c| c.is_null(i));
            if has_null && !non_null {
                continue;
            }
            outcome.checked += 1;
            if has_null || !seen.insert(row.data()) {
                outcome.fail(offset + i as u64, || show(cols, i), sample_size)?;
            }
        }
        offset += rows.num_rows() as u64;
    }
    Ok((outcome, seen.len() as u64))
}
