//! Delta file statistics (`numRecords`, `minValues`, `maxValues`, `nullCount`) from a data
//! file's Parquet footer: what strata's writer saw, in the formats Delta readers expect.
//!
//! Only top-level primitive columns get min/max, as delta-rs writes them: numbers as JSON
//! numbers, strings as strings (a max longer than 32 characters is left out rather than cut,
//! since a cut max would be below the real one), dates as `YYYY-MM-DD`, timestamps at
//! millisecond precision (`...T12:00:00.000Z` with a time zone, without `Z` otherwise; a
//! reader treats a max as that plus 1 ms). A column whose footer lacks a row group's statistics
//! gets none: missing statistics only cost pruning, never correctness.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{sort_to_indices, SortOptions};
use arrow::datatypes::{DataType, Schema};
use chrono::{DateTime, NaiveDate};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::file::metadata::ParquetMetaData;
use serde_json::{Map, Number, Value};

/// Columns past this many (in schema order) get no statistics: Delta's default
/// `delta.dataSkippingNumIndexedCols`.
pub(crate) const INDEXED_COLUMNS: usize = 32;

/// The statistics key under which strata records its float columns' NaN counts (not in the
/// Delta protocol; other readers ignore it): `{"fare": 0}`.
pub(crate) const NAN_COUNT: &str = "strata.nanCount";

/// Longest string kept as a max.
const MAX_STRING: usize = 32;

/// The statistics JSON of a file of `schema` (its data columns) with footer `metadata`.
pub(crate) fn file_stats(schema: &Schema, metadata: &ParquetMetaData) -> String {
    let rows: i64 = metadata.row_groups().iter().map(|rg| rg.num_rows()).sum();
    let mut mins = Map::new();
    let mut maxes = Map::new();
    let mut nulls = Map::new();
    for field in schema.fields().iter().take(INDEXED_COLUMNS) {
        let Ok(converter) = StatisticsConverter::try_new(
            field.name(),
            schema,
            metadata.file_metadata().schema_descr(),
        ) else {
            continue;
        };
        let groups = metadata.row_groups();
        if let Ok(counts) = converter.row_group_null_counts(groups) {
            if counts.null_count() == 0 {
                let total: u64 = counts.values().iter().sum();
                nulls.insert(field.name().clone(), Value::from(total));
            }
        }
        if !matches!(
            field.data_type(),
            DataType::Struct(_) | DataType::List(_) | DataType::Map(..)
        ) {
            if let Ok(values) = converter.row_group_mins(groups) {
                if let Some(v) = extreme(&values, false) {
                    mins.insert(field.name().clone(), v);
                }
            }
            if let Ok(values) = converter.row_group_maxes(groups) {
                if let Some(v) = extreme(&values, true) {
                    maxes.insert(field.name().clone(), v);
                }
            }
        }
    }
    let mut stats = Map::new();
    stats.insert("numRecords".into(), Value::from(rows));
    if let Some(nans) = footer_nan_counts(schema, metadata) {
        stats.insert(NAN_COUNT.into(), nans);
    }
    stats.insert("minValues".into(), Value::Object(mins));
    stats.insert("maxValues".into(), Value::Object(maxes));
    stats.insert("nullCount".into(), Value::Object(nulls));
    Value::Object(stats).to_string()
}

/// The NaN counts of the file's indexed float columns, from what strata's writer recorded in
/// its footer (`None` when it recorded none).
fn footer_nan_counts(schema: &Schema, metadata: &ParquetMetaData) -> Option<Value> {
    let json = metadata
        .file_metadata()
        .key_value_metadata()?
        .iter()
        .find(|kv| kv.key == crate::read::NAN_COUNTS_KEY)?
        .value
        .as_deref()?;
    let counts: Map<String, Value> = serde_json::from_str(json).ok()?;
    let kept: Map<String, Value> = schema
        .fields()
        .iter()
        .take(INDEXED_COLUMNS)
        .filter(|f| f.data_type().is_floating())
        .filter_map(|f| {
            let n = counts.get(f.name())?.as_u64()?;
            Some((f.name().clone(), Value::from(n)))
        })
        .collect();
    (!kept.is_empty()).then_some(Value::Object(kept))
}

/// The smallest (or largest) of the row groups' values as a Delta stats value; `None` when a
/// row group's value is missing (unknown, or a row group of nulls only, which Delta cannot
/// tell apart here) or the type has no stats form.
fn extreme(values: &ArrayRef, largest: bool) -> Option<Value> {
    if values.is_empty() || values.null_count() > 0 {
        return None;
    }
    let options = SortOptions {
        descending: largest,
        nulls_first: false,
    };
    let first = sort_to_indices(values, Some(options), Some(1)).ok()?;
    let at = first.values().first().copied()? as usize;
    json_value(values, at, largest)
}

/// Value `at` of `array` in Delta's stats form.
fn json_value(array: &ArrayRef, at: usize, is_max: bool) -> Option<Value> {
    use arrow::datatypes::*;
    let number = |n: Option<Number>| n.map(Value::Number);
    match array.data_type() {
        DataType::Int8 => Some(array.as_primitive::<Int8Type>().value(at).into()),
        DataType::Int16 => Some(array.as_primitive::<Int16Type>().value(at).into()),
        DataType::Int32 => Some(array.as_primitive::<Int32Type>().value(at).into()),
        DataType::Int64 => Some(array.as_primitive::<Int64Type>().value(at).into()),
        DataType::UInt8 => Some(array.as_primitive::<UInt8Type>().value(at).into()),
        DataType::UInt16 => Some(array.as_primitive::<UInt16Type>().value(at).into()),
        DataType::UInt32 => Some(array.as_primitive::<UInt32Type>().value(at).into()),
        DataType::UInt64 => Some(array.as_primitive::<UInt64Type>().value(at).into()),
        DataType::Float32 => number(Number::from_f64(
            array.as_primitive::<Float32Type>().value(at) as f64,
        )),
        DataType::Float64 => number(Number::from_f64(
            array.as_primitive::<Float64Type>().value(at),
        )),
        DataType::Utf8 => text(array.as_string::<i32>().value(at), is_max),
        DataType::LargeUtf8 => text(array.as_string::<i64>().value(at), is_max),
        DataType::Utf8View => text(array.as_string_view().value(at), is_max),
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(at);
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
            let date = epoch.checked_add_signed(chrono::Duration::days(days.into()))?;
            Some(Value::String(date.format("%Y-%m-%d").to_string()))
        }
        DataType::Timestamp(unit, tz) => {
            let raw = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(at),
                TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(at),
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(at),
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(at),
            };
            let micros = match unit {
                TimeUnit::Second => raw.checked_mul(1_000_000)?,
                TimeUnit::Millisecond => raw.checked_mul(1_000)?,
                TimeUnit::Microsecond => raw,
                TimeUnit::Nanosecond => raw.div_euclid(1_000),
            };
            let time = DateTime::from_timestamp_micros(micros)?;
            let text = if tz.is_some() {
                time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            } else {
                time.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
            };
            Some(Value::String(text))
        }
        _ => None,
    }
}

fn text(value: &str, is_max: bool) -> Option<Value> {
    if is_max && value.chars().count() > MAX_STRING {
        return None;
    }
    Some(Value::String(value.to_string()))
}

/// The statistics of a table's files (each: its `numRecords` from the log, and its stats
/// JSON) as typed arrays over the files, for skipping files a filter cannot match. Values that
/// do not parse as the column's type are unknown. Two readings keep pruning safe against
/// other writers: a string max of 32 characters or more may be cut short (delta-rs and Spark
/// cut them), so it is unknown; a timestamp max is stored at millisecond precision, so the
/// bound is one millisecond later.
pub(crate) fn files_stats(
    schema: &Schema,
    files: &[(Option<usize>, Option<String>)],
) -> crate::read::FileStats {
    use arrow::array::{StringArray, UInt64Array};
    let parsed: Vec<Option<Value>> = files
        .iter()
        .map(|(_, json)| json.as_deref().and_then(|j| serde_json::from_str(j).ok()))
        .collect();
    let rows = files
        .iter()
        .zip(&parsed)
        .map(|((n, _), p)| {
            n.map(|n| n as u64)
                .or_else(|| p.as_ref()?.get("numRecords")?.as_u64())
                .unwrap_or(0)
        })
        .collect::<Vec<u64>>();
    let mut columns = Vec::new();
    for field in schema.fields().iter().take(INDEXED_COLUMNS) {
        let ty = field.data_type();
        if !is_prunable(ty) {
            continue;
        }
        let name = field.name();
        let texts = |key: &str, is_max: bool| -> StringArray {
            parsed
                .iter()
                .map(|p| {
                    let v = p.as_ref()?.get(key)?.get(name)?;
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        _ => return None,
                    };
                    let cut = is_max
                        && matches!(
                            ty,
                            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                        )
                        && text.chars().count() >= MAX_STRING;
                    (!cut).then_some(text)
                })
                .collect()
        };
        let cast = |a: StringArray| arrow::compute::cast(&a, ty).ok();
        let (Some(mins), Some(mut maxes)) = (
            cast(texts("minValues", false)),
            cast(texts("maxValues", true)),
        ) else {
            continue;
        };
        if let DataType::Timestamp(unit, _) = ty {
            maxes = one_ms_later(&maxes, *unit).unwrap_or(maxes);
        }
        let null_counts: UInt64Array = parsed
            .iter()
            .map(|p| p.as_ref()?.get("nullCount")?.get(name)?.as_u64())
            .collect();
        // strata's own files say how many NaN a float column holds: with none, a lower bound
        // may skip the file (statistics leave NaN out).
        let nan_free = ty.is_floating().then(|| {
            parsed
                .iter()
                .map(|p| Some(p.as_ref()?.get(NAN_COUNT)?.get(name)?.as_u64()? == 0))
                .collect::<arrow::array::BooleanArray>()
        });
        columns.push((
            name.clone(),
            crate::read::UnitStats {
                mins,
                maxes,
                null_counts,
                nan_free,
            },
        ));
    }
    crate::read::FileStats { rows, columns }
}

/// Types whose Delta stats strata reads for pruning.
fn is_prunable(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Date32
            | DataType::Timestamp(_, _)
    )
}

/// `maxes` (timestamps in `unit`) plus one millisecond, saturating.
fn one_ms_later(maxes: &ArrayRef, unit: arrow::datatypes::TimeUnit) -> Option<ArrayRef> {
    use arrow::datatypes::TimeUnit;
    let step: i64 = match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1_000_000,
    };
    let as_i64 = arrow::compute::cast(maxes, &DataType::Int64).ok()?;
    let bumped: arrow::array::Int64Array = as_i64
        .as_primitive::<arrow::datatypes::Int64Type>()
        .iter()
        .map(|v| v.map(|v| v.saturating_add(step)))
        .collect();
    arrow::compute::cast(&bumped, maxes.data_type()).ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::Field;
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::ParquetMetaDataReader;
    use parquet::file::properties::WriterProperties;

    use super::*;

    #[test]
    fn stats_hold_counts_bounds_and_nulls_of_every_row_group() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("city", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(5), None, Some(-3), Some(9)])),
                Arc::new(StringArray::from(vec![
                    Some("oslo"),
                    Some("bergen"),
                    None,
                    Some(&"z".repeat(40)[..]),
                ])),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let metadata = ParquetMetaDataReader::new()
            .parse_and_finish(&bytes::Bytes::from(out))
            .unwrap();
        let stats: Value = serde_json::from_str(&file_stats(&schema, &metadata)).unwrap();
        assert_eq!(stats["numRecords"], 4);
        assert_eq!(stats["minValues"]["id"], -3);
        assert_eq!(stats["maxValues"]["id"], 9);
        assert_eq!(stats["nullCount"]["id"], 1);
        assert_eq!(stats["minValues"]["city"], "bergen");
        // The longest value is past 32 characters: no max rather than a cut one.
        assert!(stats["maxValues"].get("city").is_none());
        assert_eq!(stats["nullCount"]["city"], 1);
    }
}
