//! CSV columns read as text, then given the type inferred for them: the same value parsers
//! arrow's CSV decoder uses (`arrow_cast::parse`), applied to a column whose nulls (empty
//! fields) were already found. Reading the text once as strings, inferring from the strings
//! and converting them costs one CSV parse where inferring from the text and decoding it again
//! cost two; text columns, most of a wide file's bytes, are done once read.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, NullArray, PrimitiveArray, StringArray};
use arrow::compute::kernels::cast_utils::{string_to_datetime, Parser};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Float64Type, Int64Type, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use chrono::Utc;

/// A value the inferred type's parser refused (the caller re-reads the text with arrow's
/// decoder to name the line).
#[derive(Debug)]
pub(super) struct Unparsed;

/// `strings` (a CSV column read as text, nulls for empty fields) as `to`, one of the types
/// CSV inference names.
pub(super) fn typed(strings: &StringArray, to: &DataType) -> Result<ArrayRef, Unparsed> {
    Ok(match to {
        DataType::Utf8 => Arc::new(strings.clone()),
        DataType::Null => Arc::new(NullArray::new(strings.len())),
        DataType::Boolean => Arc::new(
            strings
                .iter()
                .map(|v| v.map(parse_bool).transpose())
                .collect::<Result<BooleanArray, Unparsed>>()?,
        ),
        DataType::Int64 => primitive::<Int64Type>(strings, Int64Type::parse)?,
        DataType::Float64 => primitive::<Float64Type>(strings, Float64Type::parse)?,
        DataType::Date32 => primitive::<Date32Type>(strings, Date32Type::parse)?,
        DataType::Timestamp(unit, None) => match unit {
            TimeUnit::Second => {
                primitive::<TimestampSecondType>(strings, |s| instant(s, |d| Some(d.timestamp())))?
            }
            TimeUnit::Millisecond => primitive::<TimestampMillisecondType>(strings, |s| {
                instant(s, |d| Some(d.timestamp_millis()))
            })?,
            TimeUnit::Microsecond => primitive::<TimestampMicrosecondType>(strings, |s| {
                instant(s, |d| Some(d.timestamp_micros()))
            })?,
            TimeUnit::Nanosecond => primitive::<TimestampNanosecondType>(strings, |s| {
                instant(s, |d| d.timestamp_nanos_opt())
            })?,
        },
        // Inference names no other type; anything else stays text rather than guessing.
        _ => Arc::new(strings.clone()),
    })
}

/// arrow-csv's boolean values: `true` or `false` in any case.
fn parse_bool(value: &str) -> Result<bool, Unparsed> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(Unparsed)
    }
}

/// A timestamp without a zone, read as arrow-csv reads it (in UTC).
fn instant(value: &str, unit: impl Fn(chrono::DateTime<Utc>) -> Option<i64>) -> Option<i64> {
    string_to_datetime(&Utc, value).ok().and_then(unit)
}

/// The values parsed into one buffer, the text column's nulls reused as they are (collecting
/// options built the validity again, bit by bit).
fn primitive<T: ArrowPrimitiveType>(
    strings: &StringArray,
    parse: impl Fn(&str) -> Option<T::Native>,
) -> Result<ArrayRef, Unparsed> {
    let nulls = strings.nulls().filter(|n| n.null_count() > 0);
    let mut values = Vec::with_capacity(strings.len());
    for i in 0..strings.len() {
        if nulls.is_some_and(|n| n.is_null(i)) {
            values.push(T::Native::default());
        } else {
            values.push(parse(strings.value(i)).ok_or(Unparsed)?);
        }
    }
    Ok(Arc::new(PrimitiveArray::<T>::new(
        values.into(),
        nulls.cloned(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::csv::reader::Format;
    use arrow::csv::ReaderBuilder;
    use arrow::datatypes::{Field, Schema};

    /// What arrow's decoder gives for a column of `values` read as `to` (beside a key column,
    /// so that an empty value is not an empty line, which CSV skips).
    fn arrow_reads(values: &[&str], to: &DataType) -> Option<ArrayRef> {
        let text: String = values.iter().map(|v| format!("k,{v}\n")).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("c", to.clone(), true),
        ]));
        let mut reader = ReaderBuilder::new(schema)
            .with_format(Format::default().with_header(false))
            .build_buffered(text.as_bytes())
            .unwrap();
        reader.next().unwrap().ok().map(|b| b.column(1).clone())
    }

    #[test]
    fn converts_as_arrows_decoder_reads() {
        let cases: &[(&[&str], DataType)] = &[
            (&["1", "", "-7", "9223372036854775807"], DataType::Int64),
            (&["1.5", "", "-1e5", "NaN", "inf", "2"], DataType::Float64),
            (&["true", "FALSE", "", "True"], DataType::Boolean),
            (&["2024-01-31", "", "1999-12-01"], DataType::Date32),
            (
                &["2024-01-31 10:11:12", "", "2024-01-31T10:11:12Z"],
                DataType::Timestamp(TimeUnit::Second, None),
            ),
            (
                &["2024-01-31T10:11:12.123", "2024-01-31T10:11:12.1+02:00"],
                DataType::Timestamp(TimeUnit::Millisecond, None),
            ),
            (
                &["2024-01-31T10:11:12.123456", ""],
                DataType::Timestamp(TimeUnit::Microsecond, None),
            ),
            (
                &["2024-01-31T10:11:12.123456789", "2262-04-11T23:47:16"],
                DataType::Timestamp(TimeUnit::Nanosecond, None),
            ),
            (&["", ""], DataType::Null),
            (&["a", "", "b c"], DataType::Utf8),
            // Values the parsers refuse: both sides fail.
            (&["1", "x"], DataType::Int64),
            (&["2024-13-45"], DataType::Date32),
            (&["maybe"], DataType::Boolean),
            (
                &["9999-01-01T00:00:00"],
                DataType::Timestamp(TimeUnit::Nanosecond, None),
            ),
        ];
        for (values, to) in cases {
            let strings = arrow_reads(values, &DataType::Utf8).unwrap();
            let strings = strings.as_any().downcast_ref::<StringArray>().unwrap();
            let ours = typed(strings, to).ok();
            let theirs = arrow_reads(values, to);
            match (ours, theirs) {
                (Some(a), Some(b)) => assert_eq!(a.to_data(), b.to_data(), "{values:?} as {to}"),
                (None, None) => {}
                (a, b) => panic!("{values:?} as {to}: ours {a:?}, arrow's {b:?}"),
            }
        }
    }
}
