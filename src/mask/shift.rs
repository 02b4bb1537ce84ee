//! Date shifting by a per-entity offset: every date of one patient (customer, account) moves by
//! the same number of days, so intervals between their events survive while the calendar dates
//! do not. The offset comes from a keyed BLAKE3 of the entity's value, so it is the same on
//! every run and machine, and unknown without the key.
//!
//! A row whose entity is null has no stable offset; its date becomes null rather than being
//! left in clear.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Date64Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::generalize::{per_day, unsupported, MS_PER_DAY};
use super::keys::MaskKey;
use super::strings::CHUNK_ROWS;
use crate::error::{Error, Result};

/// A date-shift operator ready to run.
pub(crate) struct DateShifter {
    key: Zeroizing<[u8; 32]>,
    max_days: u32,
}

impl DateShifter {
    pub(crate) fn new(key: &MaskKey, max_days: u32) -> Result<Self> {
        if max_days == 0 || max_days > 36_500 {
            return Err(Error::invalid(format!(
                "date_shift max_days must be 1..=36500, got {max_days}"
            )));
        }
        Ok(DateShifter {
            key: Zeroizing::new(blake3::derive_key("strata mask date shift v1", key.bytes())),
            max_days,
        })
    }

    /// The offset in days for one entity: in `-max..=max`, never 0.
    pub(crate) fn offset(&self, entity: &[u8]) -> i64 {
        let h = blake3::keyed_hash(&self.key, entity);
        let mut word = [0u8; 8];
        word.copy_from_slice(&h.as_bytes()[..8]);
        let max = u64::from(self.max_days);
        // 2*max buckets mapped onto -max..-1 and 1..max; the modulo bias is below 2^-40.
        let r = (u64::from_le_bytes(word) % (2 * max)) as i64;
        let max = max as i64;
        if r < max {
            r - max
        } else {
            r - max + 1
        }
    }

    /// Shifts `dates` by the offsets of the matching rows of `entities`.
    pub(crate) fn apply(&self, dates: &dyn Array, entities: &dyn Array) -> Result<ArrayRef> {
        if dates.len() != entities.len() {
            return Err(Error::invalid("date and entity columns differ in length"));
        }
        let text = cast(entities, &DataType::LargeUtf8).map_err(Error::from)?;
        let text = text.as_string::<i64>();
        let offsets: Vec<i64> = (0..text.len().div_ceil(CHUNK_ROWS).max(1))
            .into_par_iter()
            .flat_map_iter(|c| {
                let end = ((c + 1) * CHUNK_ROWS).min(text.len());
                (c * CHUNK_ROWS..end).map(|i| {
                    if text.is_null(i) {
                        0
                    } else {
                        self.offset(text.value(i).as_bytes())
                    }
                })
            })
            .collect();
        let nulls = NullBuffer::union(dates.nulls(), text.nulls());
        Ok(match dates.data_type() {
            DataType::Date32 => {
                shift::<Date32Type>(dates, &offsets, nulls, |d, o| d.saturating_add(o as i32))
            }
            DataType::Date64 => shift::<Date64Type>(dates, &offsets, nulls, |d, o| {
                d.saturating_add(o * MS_PER_DAY)
            }),
            DataType::Timestamp(u, _) => {
                let per = per_day(*u);
                let f = move |v: i64, o: i64| v.saturating_add(o * per);
                match u {
                    TimeUnit::Second => shift::<TimestampSecondType>(dates, &offsets, nulls, f),
                    TimeUnit::Millisecond => {
                        shift::<TimestampMillisecondType>(dates, &offsets, nulls, f)
                    }
                    TimeUnit::Microsecond => {
                        shift::<TimestampMicrosecondType>(dates, &offsets, nulls, f)
                    }
                    TimeUnit::Nanosecond => {
                        shift::<TimestampNanosecondType>(dates, &offsets, nulls, f)
                    }
                }
            }
            other => return Err(unsupported("date_shift", other)),
        })
    }
}

fn shift<T: ArrowPrimitiveType>(
    dates: &dyn Array,
    offsets: &[i64],
    nulls: Option<NullBuffer>,
    f: impl Fn(T::Native, i64) -> T::Native,
) -> ArrayRef {
    let typed = dates.as_primitive::<T>();
    let values: Vec<T::Native> = typed
        .values()
        .iter()
        .zip(offsets)
        .map(|(&v, &o)| f(v, o))
        .collect();
    let out =
        PrimitiveArray::<T>::new(values.into(), nulls).with_data_type(dates.data_type().clone());
    Arc::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Date32Array, StringArray};

    #[test]
    fn same_entity_same_offset_never_zero() {
        let key = MaskKey::new("k", 1, [1u8; 16]).unwrap();
        let s = DateShifter::new(&key, 30).unwrap();
        for i in 0..1000 {
            let o = s.offset(format!("p{i}").as_bytes());
            assert!(o != 0 && (-30..=30).contains(&o));
        }
        let dates = Date32Array::from(vec![Some(100), Some(110), Some(100), None]);
        let who = StringArray::from(vec![Some("a"), Some("a"), None, Some("b")]);
        let out = s.apply(&dates, &who).unwrap();
        let out = out.as_primitive::<Date32Type>();
        assert_eq!(out.value(1) - out.value(0), 10);
        assert!(out.is_null(2) && out.is_null(3));
    }
}
