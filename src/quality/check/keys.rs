//! Key checks over whole datasets: uniqueness, compound primary keys and distinct ratios, on
//! [`RowKeys`] deduplicated by [`find_repeats`].

use arrow::array::{Array, ArrayRef, BooleanBufferBuilder, RecordBatch};
use arrow::buffer::NullBuffer;

use super::rows::{column, show, Outcome};
use crate::quality::repeats::{find_repeats, RowLocator};
use crate::quality::report::FailedRow;
use crate::quality::row_keys::RowKeys;
use crate::Result;

/// Rows whose key repeats an earlier row's fail; with `non_null`, rows with a null key part
/// fail too, otherwise they are skipped. Also returns the number of distinct keys.
pub(super) fn duplicates(
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
