//! Key checks over whole datasets: uniqueness, compound primary keys and distinct ratios, on
//! Arrow's row format so that any column types and combinations compare exactly.

use std::collections::HashSet;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::DataType;
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
    if let [name] = names {
        if integer_width(column(first, name)?.data_type()).is_some() {
            return integer_duplicates(batches, name, non_null, sample_size);
        }
    }
    row_duplicates(batches, names, non_null, sample_size)
}

/// [`duplicates`] for any columns: keys in Arrow's row format.
fn row_duplicates(
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

/// Byte width of types whose values are integers (compared by their bits, exactly as the
/// row format compares them); floats are left out since -0.0 and 0.0 differ in bits.
fn integer_width(data_type: &DataType) -> Option<usize> {
    use DataType::*;
    match data_type {
        Int8
        | Int16
        | Int32
        | Int64
        | UInt8
        | UInt16
        | UInt32
        | UInt64
        | Date32
        | Date64
        | Time32(_)
        | Time64(_)
        | Timestamp(_, _)
        | Duration(_) => data_type.primitive_width(),
        _ => None,
    }
}

/// [`duplicates`] for one integer column: keys are the values' bits in a `u64` set, about
/// three times faster than encoding rows and hashing bytes (the common single-column id).
fn integer_duplicates(
    batches: &[RecordBatch],
    name: &str,
    non_null: bool,
    sample_size: usize,
) -> Result<(Outcome, u64)> {
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut seen: HashSet<u64, KeyHasher> = HashSet::with_capacity_and_hasher(total, KeyHasher);
    let mut outcome = Outcome::default();
    let mut offset = 0u64;
    for batch in batches {
        let array = column(batch, name)?;
        let width = integer_width(array.data_type()).ok_or_else(|| {
            crate::Error::internal(format!("column {name} changed type between batches"))
        })?;
        let data = array.to_data();
        let start = data.offset() * width;
        let values = &data.buffers()[0].as_slice()[start..start + data.len() * width];
        let cols = std::slice::from_ref(array);
        for (i, bytes) in values.chunks_exact(width).enumerate() {
            let is_null = array.is_null(i);
            if is_null && !non_null {
                continue;
            }
            outcome.checked += 1;
            let mut word = [0u8; 8];
            word[..width].copy_from_slice(bytes);
            if is_null || !seen.insert(u64::from_le_bytes(word)) {
                outcome.fail(offset + i as u64, || show(cols, i), sample_size)?;
            }
        }
        offset += batch.num_rows() as u64;
    }
    Ok((outcome, seen.len() as u64))
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
                let (rows, n_rows) = row_duplicates(&batches, &["k"], non_null, 5).unwrap();
                assert_eq!(n_fast, n_rows);
                assert_eq!(fast.checked, rows.checked);
                assert_eq!(fast.failed, rows.failed);
                assert_eq!(fast.sample, rows.sample);
            }
        }
    }
}
