//! The keys of rows over one or more columns, hashed and compared for duplicate finding.
//!
//! When every key column is fixed-width (integers, floats, dates, times, timestamps, durations,
//! decimals), keys are read straight from the columns' value buffers; otherwise they are
//! encoded in Arrow's row format, which compares any types exactly but costs a copy of every
//! key. Both compare the same way: nulls equal nulls, values by their bits (so floats by their
//! bits, as the row format orders them: -0.0 and 0.0 differ, NaNs equal when their bits are).

use arrow::array::{Array, ArrayRef};
use arrow::buffer::{Buffer, NullBuffer};
use arrow::row::{RowConverter, Rows, SortField};

use super::hash::{hash_bytes, hash_u128, hash_u64};
use super::repeats::RowLocator;
use crate::{Error, Result};

/// Stands in for a null key part in a hash.
const NULL_PART: u64 = 0x6E75_6C6C_4B45_5953;

/// Row keys over batches; rows are counted across batches.
pub(crate) struct RowKeys {
    keys: Keys,
    at: RowLocator,
}

enum Keys {
    /// Per batch, per key column.
    Fixed(Vec<Vec<FixedColumn>>),
    /// Per batch.
    Rows(Vec<Rows>),
}

struct FixedColumn {
    /// The batch's values only (the array's offset applied).
    values: Buffer,
    width: usize,
    nulls: Option<NullBuffer>,
}

impl FixedColumn {
    fn value(&self, i: usize) -> &[u8] {
        &self.values.as_slice()[i * self.width..(i + 1) * self.width]
    }

    /// Appends every value's [`part_hash`] to `out`, [`NULL_PART`] for nulls: a tight loop
    /// over the values for the common widths, then the nulls patched.
    fn part_hashes(&self, out: &mut Vec<u64>) {
        let start = out.len();
        let bytes = self.values.as_slice();
        match self.width {
            8 => out.extend(bytes.chunks_exact(8).map(|c| {
                let mut word = [0u8; 8];
                word.copy_from_slice(c);
                hash_u64(u64::from_le_bytes(word))
            })),
            4 => out.extend(bytes.chunks_exact(4).map(|c| {
                let mut word = [0u8; 4];
                word.copy_from_slice(c);
                hash_u64(u64::from(u32::from_le_bytes(word)))
            })),
            0 => {}
            w => out.extend(bytes.chunks_exact(w).map(part_hash)),
        }
        if let Some(nulls) = self.nulls.as_ref().filter(|n| n.null_count() > 0) {
            for (h, valid) in out[start..].iter_mut().zip(nulls.iter()) {
                if !valid {
                    *h = NULL_PART;
                }
            }
        }
    }

    fn part(&self, i: usize) -> Option<&[u8]> {
        self.nulls
            .as_ref()
            .is_none_or(|n| n.is_valid(i))
            .then(|| self.value(i))
    }
}

impl RowKeys {
    /// Keys of `columns` (per batch, the key columns in order; every batch the same types).
    pub(crate) fn new(columns: &[Vec<ArrayRef>]) -> Result<Self> {
        let fixed = columns.first().is_some_and(|cols| {
            cols.iter()
                .all(|c| c.data_type().is_primitive() && c.data_type().primitive_width().is_some())
        });
        if !fixed {
            return Self::in_row_format(columns);
        }
        let at = RowLocator::new(columns.iter().map(|cols| cols[0].len()));
        let batches = columns
            .iter()
            .map(|cols| {
                cols.iter()
                    .map(|c| {
                        let data = c.to_data();
                        let width = c.data_type().primitive_width().unwrap_or(0);
                        FixedColumn {
                            values: data.buffers()[0]
                                .slice_with_length(data.offset() * width, data.len() * width),
                            width,
                            nulls: c.logical_nulls(),
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(RowKeys {
            keys: Keys::Fixed(batches),
            at,
        })
    }

    /// Keys in Arrow's row format, whatever the column types.
    pub(crate) fn in_row_format(columns: &[Vec<ArrayRef>]) -> Result<Self> {
        let at = RowLocator::new(
            columns
                .iter()
                .map(|cols| cols.first().map_or(0, |c| c.len())),
        );
        let Some(first) = columns.first() else {
            return Ok(RowKeys {
                keys: Keys::Rows(Vec::new()),
                at,
            });
        };
        let fields = first
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields).map_err(Error::from)?;
        let rows = columns
            .iter()
            .map(|cols| converter.convert_columns(cols).map_err(Error::from))
            .collect::<Result<Vec<_>>>()?;
        Ok(RowKeys {
            keys: Keys::Rows(rows),
            at,
        })
    }

    /// Rows in all batches.
    pub(crate) fn rows(&self) -> u64 {
        self.at.rows()
    }

    /// Whether equal hashes mean equal keys for rows without nulls: one key column of at most
    /// 8 bytes, hashed by [`hash_u64`], a bijection.
    pub(crate) fn hash_is_exact(&self) -> bool {
        matches!(&self.keys, Keys::Fixed(b) if b.first().is_some_and(|c| c.len() == 1 && c[0].width <= 8))
    }

    /// Every row's key hash, in row order.
    pub(crate) fn hashes(&self) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.rows() as usize);
        match &self.keys {
            Keys::Rows(batches) => {
                for rows in batches {
                    out.extend(rows.iter().map(|r| hash_bytes(r.data())));
                }
            }
            Keys::Fixed(batches) => {
                let mut parts = Vec::new();
                for cols in batches {
                    let start = out.len();
                    for (k, col) in cols.iter().enumerate() {
                        if k == 0 {
                            col.part_hashes(&mut out);
                        } else {
                            parts.clear();
                            col.part_hashes(&mut parts);
                            for (h, part) in out[start..].iter_mut().zip(&parts) {
                                *h = hash_u64(h.rotate_left(27) ^ part);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether rows `a` and `b` have equal keys.
    pub(crate) fn same(&self, a: u64, b: u64) -> bool {
        let (a, b) = (self.at.locate(a), self.at.locate(b));
        match &self.keys {
            Keys::Rows(batches) => batches[a.0].row(a.1) == batches[b.0].row(b.1),
            Keys::Fixed(batches) => batches[a.0]
                .iter()
                .zip(&batches[b.0])
                .all(|(x, y)| x.part(a.1) == y.part(b.1)),
        }
    }
}

/// Hash of one fixed-width value; for widths up to 8 bytes a bijection of the value's bits.
#[inline]
fn part_hash(bytes: &[u8]) -> u64 {
    match bytes.len() {
        0..=8 => {
            let mut word = [0u8; 8];
            word[..bytes.len()].copy_from_slice(bytes);
            hash_u64(u64::from_le_bytes(word))
        }
        16 => {
            let mut word = [0u8; 16];
            word.copy_from_slice(bytes);
            hash_u128(u128::from_le_bytes(word))
        }
        _ => hash_bytes(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray};
    use std::sync::Arc;

    fn both(columns: &[Vec<ArrayRef>]) -> (RowKeys, RowKeys) {
        (
            RowKeys::new(columns).unwrap(),
            RowKeys::in_row_format(columns).unwrap(),
        )
    }

    #[test]
    fn fixed_keys_compare_like_the_row_format() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![
            Some(1),
            Some(1),
            None,
            None,
            Some(2),
            Some(1),
        ]));
        let b: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(0.5),
            Some(0.5),
            None,
            None,
            Some(-0.0),
            Some(0.0),
        ]));
        let d: ArrayRef = Arc::new(
            Decimal128Array::from(vec![7i128, 7, 8, 8, 9, 9])
                .with_precision_and_scale(20, 2)
                .unwrap(),
        );
        // Two batches, the second a slice with an offset.
        let columns = vec![
            vec![a.slice(0, 2), b.slice(0, 2), d.slice(0, 2)],
            vec![a.slice(2, 4), b.slice(2, 4), d.slice(2, 4)],
        ];
        let (fixed, rows) = both(&columns);
        assert!(matches!(fixed.keys, Keys::Fixed(_)));
        let hashes = fixed.hashes();
        for x in 0..6 {
            for y in 0..6 {
                assert_eq!(fixed.same(x, y), rows.same(x, y), "rows {x} and {y}");
                if fixed.same(x, y) {
                    assert_eq!(hashes[x as usize], hashes[y as usize]);
                }
            }
        }
        assert!(fixed.same(0, 1) && fixed.same(2, 3) && !fixed.same(4, 5));
    }

    #[test]
    fn one_integer_column_hashes_exactly() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![3, -3, 3]));
        let keys = RowKeys::new(&[vec![a]]).unwrap();
        assert!(keys.hash_is_exact());
        let h = keys.hashes();
        assert_eq!(h[0], h[2]);
        assert_ne!(h[0], h[1]);
    }

    #[test]
    fn strings_use_the_row_format() {
        let s: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "x"]));
        let keys = RowKeys::new(&[vec![s]]).unwrap();
        assert!(!keys.hash_is_exact());
        assert!(keys.same(0, 2) && !keys.same(0, 1));
    }
}
