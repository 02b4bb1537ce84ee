//! Generalisation: numbers into buckets, dates and timestamps down to their month or year.
//!
//! Types are kept (an Int32 age stays Int32, a Timestamp stays a Timestamp with its unit and
//! time zone) so masked data drops into the same schema. Dates are truncated in UTC.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, AsArray, PrimitiveArray};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};

use super::op::DateUnit;
use crate::error::{Error, ErrorKind, Result};

pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// Units of a timestamp per day.
pub(crate) fn per_day(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 86_400,
        TimeUnit::Millisecond => MS_PER_DAY,
        TimeUnit::Microsecond => MS_PER_DAY * 1_000,
        TimeUnit::Nanosecond => MS_PER_DAY * 1_000_000,
    }
}

pub(crate) fn unsupported(op: &str, t: &DataType) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("`{op}` does not apply to columns of type {t}"),
    )
}

/// Applies `f` to each value of a primitive array, keeping nulls and the exact data type
/// (timestamps keep their time zone).
fn map_primitive<T: ArrowPrimitiveType>(
    array: &dyn Array,
    f: impl Fn(T::Native) -> T::Native,
) -> ArrayRef {
    let typed = array.as_primitive::<T>();
    let out: PrimitiveArray<T> = typed.unary(f);
    Arc::new(out.with_data_type(array.data_type().clone()))
}

macro_rules! bucket_int {
    ($t:ty, $native:ty, $array:expr, $w:expr) => {{
        let w = i128::from($w);
        map_primitive::<$t>($array, move |v| {
            let b = i128::from(v).div_euclid(w) * w;
            // A bucket floor below the type's range (i8 -128 in buckets of 10) clamps to it.
            b.clamp(i128::from(<$native>::MIN), i128::from(<$native>::MAX)) as $native
        })
    }};
}

/// Rounds each number down to a multiple of `width`.
pub(crate) fn bucket(array: &dyn Array, width: f64) -> Result<ArrayRef> {
    if !(width.is_finite() && width > 0.0) {
        return Err(Error::invalid(format!(
            "bucket width must be a positive number, got {width}"
        )));
    }
    let t = array.data_type();
    if matches!(t, DataType::Float32 | DataType::Float64) {
        return Ok(match t {
            DataType::Float32 => {
                let w = width as f32;
                map_primitive::<Float32Type>(array, move |v| (v / w).floor() * w)
            }
            _ => map_primitive::<Float64Type>(array, move |v| (v / width).floor() * width),
        });
    }
    if !t.is_integer() {
        return Err(unsupported("bucket", t));
    }
    if width.fract() != 0.0 || width > i64::MAX as f64 {
        return Err(Error::invalid(format!(
            "bucket width for integer column must be a whole number, got {width}"
        )));
    }
    let w = width as i64;
    Ok(match t {
        DataType::Int8 => bucket_int!(Int8Type, i8, array, w),
        DataType::Int16 => bucket_int!(Int16Type, i16, array, w),
        DataType::Int32 => bucket_int!(Int32Type, i32, array, w),
        DataType::Int64 => bucket_int!(Int64Type, i64, array, w),
        DataType::UInt8 => bucket_int!(UInt8Type, u8, array, w),
        DataType::UInt16 => bucket_int!(UInt16Type, u16, array, w),
        DataType::UInt32 => bucket_int!(UInt32Type, u32, array, w),
        DataType::UInt64 => bucket_int!(UInt64Type, u64, array, w),
        other => return Err(unsupported("bucket", other)),
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m)
}

/// First day of the month or year holding day `days`.
fn truncate_days(days: i64, unit: DateUnit) -> i64 {
    let (y, m) = civil_from_days(days);
    match unit {
        DateUnit::Month => days_from_civil(y, m, 1),
        DateUnit::Year => days_from_civil(y, 1, 1),
    }
}

fn truncate_scaled(v: i64, per: i64, unit: DateUnit) -> i64 {
    truncate_days(v.div_euclid(per), unit).saturating_mul(per)
}

/// Truncates dates and timestamps to their month or year.
pub(crate) fn date_truncate(array: &dyn Array, unit: DateUnit) -> Result<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Date32 => {
            map_primitive::<Date32Type>(array, move |d| truncate_days(i64::from(d), unit) as i32)
        }
        DataType::Date64 => {
            map_primitive::<Date64Type>(array, move |v| truncate_scaled(v, MS_PER_DAY, unit))
        }
        DataType::Timestamp(u, _) => {
            let per = per_day(*u);
            let f = move |v| truncate_scaled(v, per, unit);
            match u {
                TimeUnit::Second => map_primitive::<TimestampSecondType>(array, f),
                TimeUnit::Millisecond => map_primitive::<TimestampMillisecondType>(array, f),
                TimeUnit::Microsecond => map_primitive::<TimestampMicrosecondType>(array, f),
                TimeUnit::Nanosecond => map_primitive::<TimestampNanosecondType>(array, f),
            }
        }
        other => return Err(unsupported("date_truncate", other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Date32Array, Int32Array, Int8Array};

    #[test]
    fn civil_round_trips() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m) = civil_from_days(days);
            let first = days_from_civil(y, m, 1);
            assert!(first <= days && days - first < 31, "{days}");
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_017), (2000, 3));
    }

    #[test]
    fn buckets_and_truncation() {
        let ages = Int32Array::from(vec![Some(37), None, Some(-1)]);
        let out = bucket(&ages, 10.0).unwrap();
        assert_eq!(
            out.as_primitive::<Int32Type>(),
            &Int32Array::from(vec![Some(30), None, Some(-10)])
        );
        let small = Int8Array::from(vec![-128i8]);
        assert_eq!(
            bucket(&small, 10.0)
                .unwrap()
                .as_primitive::<Int8Type>()
                .value(0),
            -128
        );
        assert!(bucket(&ages, 2.5).is_err());
        let d = Date32Array::from(vec![days_from_civil(2024, 7, 19) as i32]);
        let m = date_truncate(&d, DateUnit::Month).unwrap();
        assert_eq!(
            m.as_primitive::<Date32Type>().value(0),
            days_from_civil(2024, 7, 1) as i32
        );
        let y = date_truncate(&d, DateUnit::Year).unwrap();
        assert_eq!(
            y.as_primitive::<Date32Type>().value(0),
            days_from_civil(2024, 1, 1) as i32
        );
    }
}
