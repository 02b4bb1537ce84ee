//! A merge's source: its rows as the caller's batches (not copied), its keys in a hash map,
//! the filter on the target its keys give, and target columns patched with source values.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::interleave;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};
use foldhash::fast::RandomState;

use crate::error::{Error, Result};
use crate::read::{Expr, Literal};

/// Source keys with at most this many distinct values per column prune the target with an
/// `IN` list (which bloom filters and dictionaries can answer); more, with a range.
const IN_LIST_MAX: usize = 4096;

/// The columns `on` of `batch`.
fn key_columns(batch: &RecordBatch, on: &[String]) -> Result<Vec<ArrayRef>> {
    on.iter()
        .map(|k| batch.column_by_name(k).cloned())
        .collect::<Option<_>>()
        .ok_or_else(|| Error::internal("a key column went missing"))
}

/// `old` with the rows of `hits` (row, source batch, row in it) set to column `at` of those
/// source rows. Fixed-width columns are copied whole and the few rows overwritten; others
/// are rebuilt row by row. When every hit already holds its source value, `old` itself comes
/// back (the same array): the rewrite then copies the column's chunks rather than encoding
/// them again.
pub(super) fn patch(
    old: &ArrayRef,
    source: &SourceRows,
    at: usize,
    hits: &[(usize, usize, usize)],
) -> Result<ArrayRef> {
    use arrow::datatypes::*;
    if let Some(b) = source
        .batches
        .iter()
        .find(|b| !b.column(at).data_type().equals_datatype(old.data_type()))
    {
        return Err(Error::internal(format!(
            "a source column is {} where the table's is {}",
            b.column(at).data_type(),
            old.data_type()
        )));
    }
    if already_set(old, source, at, hits) {
        return Ok(old.clone());
    }
    macro_rules! fixed {
        ($t:ty) => {
            return Ok(patch_primitive::<$t>(old, source, at, hits))
        };
    }
    match old.data_type() {
        DataType::Int8 => fixed!(Int8Type),
        DataType::Int16 => fixed!(Int16Type),
        DataType::Int32 => fixed!(Int32Type),
        DataType::Int64 => fixed!(Int64Type),
        DataType::UInt8 => fixed!(UInt8Type),
        DataType::UInt16 => fixed!(UInt16Type),
        DataType::UInt32 => fixed!(UInt32Type),
        DataType::UInt64 => fixed!(UInt64Type),
        DataType::Float32 => fixed!(Float32Type),
        DataType::Float64 => fixed!(Float64Type),
        DataType::Date32 => fixed!(Date32Type),
        DataType::Date64 => fixed!(Date64Type),
        DataType::Timestamp(TimeUnit::Second, _) => fixed!(TimestampSecondType),
        DataType::Timestamp(TimeUnit::Millisecond, _) => fixed!(TimestampMillisecondType),
        DataType::Timestamp(TimeUnit::Microsecond, _) => fixed!(TimestampMicrosecondType),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => fixed!(TimestampNanosecondType),
        _ => {}
    }
    // Others: the target's runs between the hits copied whole (array 0), each hit from its
    // source batch (array 1 + the batch).
    let mut data = vec![old.to_data()];
    data.extend(source.batches.iter().map(|b| b.column(at).to_data()));
    // Strings: room for the target's bytes and the hits' (growing by doubling would hold up
    // to twice that).
    let capacities = match old.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => {
            let bytes = |d: &arrow::array::ArrayData| d.buffers().get(1).map_or(0, |b| b.len());
            let extra: usize = hits
                .iter()
                .map(|&(_, b, _)| bytes(&data[1 + b]) / data[1 + b].len().max(1) + 16)
                .sum();
            arrow::array::Capacities::Binary(old.len(), Some(bytes(&data[0]) + extra))
        }
        _ => arrow::array::Capacities::Array(old.len()),
    };
    let mut out =
        arrow::array::MutableArrayData::with_capacities(data.iter().collect(), true, capacities);
    let failed = |e: arrow::error::ArrowError| Error::invalid(format!("cannot merge rows: {e}"));
    let mut next = 0;
    for &(row, b, i) in hits {
        if row > next {
            out.try_extend(0, next, row).map_err(failed)?;
        }
        out.try_extend(1 + b, i, i + 1).map_err(failed)?;
        next = row + 1;
    }
    if next < old.len() {
        out.try_extend(0, next, old.len()).map_err(failed)?;
    }
    Ok(arrow::array::make_array(out.freeze()))
}

/// Whether every hit of `old` already holds its source row's value of column `at` (nulls
/// equal nulls; a type the comparator does not know counts as changed).
fn already_set(
    old: &ArrayRef,
    source: &SourceRows,
    at: usize,
    hits: &[(usize, usize, usize)],
) -> bool {
    use arrow::array::{make_comparator, DynComparator};
    let mut comparators: Vec<Option<DynComparator>> = source.batches.iter().map(|_| None).collect();
    for &(row, b, i) in hits {
        let Some(slot) = comparators.get_mut(b) else {
            return false;
        };
        let equal = match slot {
            Some(compare) => compare(row, i),
            None => {
                let Ok(compare) = make_comparator(
                    old.as_ref(),
                    source.batches[b].column(at).as_ref(),
                    Default::default(),
                ) else {
                    return false;
                };
                slot.insert(compare)(row, i)
            }
        };
        if equal != std::cmp::Ordering::Equal {
            return false;
        }
    }
    true
}

/// [`patch`] of a primitive column: its values and validity copied, then the hits set.
fn patch_primitive<T: arrow::datatypes::ArrowPrimitiveType>(
    old: &ArrayRef,
    source: &SourceRows,
    at: usize,
    hits: &[(usize, usize, usize)],
) -> ArrayRef {
    use arrow::array::AsArray;
    let old = old.as_primitive::<T>();
    let mut values = old.values().to_vec();
    let mut valid: Option<arrow::array::BooleanBufferBuilder> = None;
    let has_nulls = old.null_count() > 0
        || hits
            .iter()
            .any(|&(_, b, i)| source.batches[b].column(at).is_null(i));
    if has_nulls {
        let mut builder = arrow::array::BooleanBufferBuilder::new(old.len());
        match old.nulls() {
            Some(nulls) => builder.append_buffer(nulls.inner()),
            None => builder.append_n(old.len(), true),
        }
        valid = Some(builder);
    }
    for &(row, b, i) in hits {
        let from = source.batches[b].column(at).as_primitive::<T>();
        values[row] = from.value(i);
        if let Some(valid) = valid.as_mut() {
            valid.set_bit(row, from.is_valid(i));
        }
    }
    let nulls = valid.map(|mut v| arrow::buffer::NullBuffer::new(v.finish()));
    Arc::new(
        arrow::array::PrimitiveArray::<T>::new(values.into(), nulls)
            .with_data_type(old.data_type().clone()),
    )
}

/// The source's rows, numbered across the batches they came in.
pub(super) struct SourceRows {
    batches: Vec<RecordBatch>,
    /// The first row number of each batch.
    starts: Vec<usize>,
    pub(super) rows: usize,
}

impl SourceRows {
    pub(super) fn new(batches: Vec<RecordBatch>) -> SourceRows {
        let batches: Vec<RecordBatch> = batches.into_iter().filter(|b| b.num_rows() > 0).collect();
        let mut starts = Vec::with_capacity(batches.len());
        let mut rows = 0;
        for b in &batches {
            starts.push(rows);
            rows += b.num_rows();
        }
        SourceRows {
            batches,
            starts,
            rows,
        }
    }

    /// Row `row` as (batch, row in the batch).
    pub(super) fn locate(&self, row: u32) -> (usize, usize) {
        let row = row as usize;
        let b = self.starts.partition_point(|s| *s <= row).saturating_sub(1);
        (b, row - self.starts.get(b).copied().unwrap_or(0))
    }

    /// Column `name` of every row, as one array.
    pub(super) fn gathered(&self, name: &str) -> Result<ArrayRef> {
        let parts: Vec<&dyn Array> = self
            .batches
            .iter()
            .map(|b| b.column_by_name(name).map(|c| c.as_ref()))
            .collect::<Option<_>>()
            .ok_or_else(|| Error::internal("a key column went missing"))?;
        if parts.is_empty() {
            return Err(Error::internal("the source has no rows"));
        }
        arrow::compute::concat(&parts)
            .map_err(|e| Error::internal(format!("cannot gather a key column: {e}")))
    }

    /// The rows numbered `rows`, as one batch.
    pub(super) fn take(&self, rows: &[u32]) -> Result<RecordBatch> {
        let picks: Vec<(usize, usize)> = rows.iter().map(|r| self.locate(*r)).collect();
        let schema = self.batches[0].schema();
        let columns = (0..schema.fields().len())
            .map(|c| {
                let from: Vec<&dyn Array> =
                    self.batches.iter().map(|b| b.column(c).as_ref()).collect();
                interleave(&from, &picks)
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::internal(format!("cannot take rows: {e}")))?;
        RecordBatch::try_new(schema, columns)
            .map_err(|e| Error::internal(format!("cannot take rows: {e}")))
    }
}

/// The source's keys, each to its source row.
pub(super) struct SourceKeys {
    index: KeyIndex,
    columns: Vec<String>,
}

/// A map of keys to source rows: one integer key column as `i64` (the common case: an id),
/// else any key columns as arrow's row format.
enum KeyIndex {
    Int(HashMap<i64, u32, RandomState>),
    Rows {
        converter: RowConverter,
        rows: HashMap<Box<[u8]>, u32, RandomState>,
    },
}

/// One integer-like key column, as `i64` (what may be one: integer types up to 64 bits
/// signed, dates, times and timestamps; both sides have the table's type).
fn int_key(columns: &[ArrayRef]) -> Result<Option<arrow::array::Int64Array>> {
    let [column] = columns else {
        return Ok(None);
    };
    let ty = column.data_type();
    let fits = ty.is_signed_integer()
        || matches!(
            ty,
            DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::Date32
                | DataType::Date64
                | DataType::Time32(_)
                | DataType::Time64(_)
                | DataType::Timestamp(_, _)
        );
    if !fits {
        return Ok(None);
    }
    let cast = arrow::compute::cast(column, &DataType::Int64)
        .map_err(|e| Error::internal(format!("cannot read a key as an integer: {e}")))?;
    Ok(cast
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .cloned())
}

impl SourceKeys {
    /// The keys of `key_columns` (the source's columns `on`, gathered).
    pub(super) fn new(key_columns: &[ArrayRef], on: &[String]) -> Result<SourceKeys> {
        let rows = key_columns.first().map_or(0, |c| c.len());
        let duplicate = |i: usize| {
            let shown: Vec<String> = on
                .iter()
                .zip(key_columns)
                .map(|(k, c)| {
                    let value = arrow::util::display::array_value_to_string(c, i)
                        .unwrap_or_else(|_| "?".into());
                    format!("{k} = {value}")
                })
                .collect();
            Error::invalid(format!(
                "the source has more than one row with key {}; a merge needs one row per key, \
                 and nothing was written",
                shown.join(", ")
            ))
        };
        // A null key matches nothing: such a row is only ever inserted.
        let null_key = |i: usize| key_columns.iter().any(|c| c.is_null(i));
        let index = if let Some(ints) = int_key(key_columns)? {
            let mut index = HashMap::with_capacity_and_hasher(ints.len(), RandomState::default());
            for (i, key) in ints.iter().enumerate() {
                let Some(key) = key else { continue };
                if index.insert(key, i as u32).is_some() {
                    return Err(duplicate(i));
                }
            }
            KeyIndex::Int(index)
        } else {
            let converter = RowConverter::new(
                key_columns
                    .iter()
                    .map(|c| SortField::new(c.data_type().clone()))
                    .collect(),
            )
            .map_err(|e| Error::invalid(format!("these key columns cannot be compared: {e}")))?;
            let converted = converter
                .convert_columns(key_columns)
                .map_err(|e| Error::internal(format!("cannot index the source keys: {e}")))?;
            let mut index = HashMap::with_capacity_and_hasher(rows, RandomState::default());
            for (i, row) in converted.iter().enumerate() {
                if null_key(i) {
                    continue;
                }
                if index.insert(row.as_ref().into(), i as u32).is_some() {
                    return Err(duplicate(i));
                }
            }
            KeyIndex::Rows {
                converter,
                rows: index,
            }
        };
        Ok(SourceKeys {
            index,
            columns: on.to_vec(),
        })
    }

    /// For each row of `batch`, the source row with its key.
    /// Calls `each(row, source row)` for each row of `batch`, in order.
    pub(super) fn lookup(
        &self,
        batch: &RecordBatch,
        mut each: impl FnMut(usize, Option<u32>),
    ) -> Result<()> {
        let key_columns = key_columns(batch, &self.columns)?;
        match &self.index {
            KeyIndex::Int(index) => {
                let ints = int_key(&key_columns)?
                    .ok_or_else(|| Error::internal("a target key is not an integer"))?;
                for (row, key) in ints.iter().enumerate() {
                    each(row, key.and_then(|k| index.get(&k).copied()));
                }
            }
            KeyIndex::Rows { converter, rows } => {
                let converted = converter
                    .convert_columns(&key_columns)
                    .map_err(|e| Error::internal(format!("cannot read the target keys: {e}")))?;
                for (row, key) in converted.iter().enumerate() {
                    each(row, rows.get(key.as_ref()).copied());
                }
            }
        }
        Ok(())
    }

    /// A filter true for target rows that may hold one of the keys (`key_columns`, the
    /// source's gathered key columns); `None` when the key types have no literals.
    pub(super) fn filter(&self, key_columns: &[ArrayRef]) -> Result<Option<Expr>> {
        let mut all: Option<Expr> = None;
        for (key, column) in self.columns.iter().zip(key_columns) {
            let Some(values) = literals(column) else {
                return Ok(None);
            };
            if values.is_empty() {
                // Only null keys: nothing in the target can match.
                return Ok(Some(
                    Expr::is_null(key.clone()).and(Expr::is_not_null(key.clone())),
                ));
            }
            let term = if values.len() <= IN_LIST_MAX {
                Expr::is_in(key.clone(), values)
            } else {
                let (lo, hi) = min_max(&values);
                Expr::cmp(key.clone(), crate::read::CmpOp::GtEq, lo).and(Expr::cmp(
                    key.clone(),
                    crate::read::CmpOp::LtEq,
                    hi,
                ))
            };
            all = Some(match all {
                Some(e) => e.and(term),
                None => term,
            });
        }
        Ok(all)
    }
}

/// The distinct non-null values of a key column as filter literals; `None` for a type the
/// filter syntax has no literal for.
fn literals(column: &ArrayRef) -> Option<Vec<Literal>> {
    use arrow::array::AsArray;
    use arrow::datatypes::{Int16Type, Int32Type, Int64Type, Int8Type};
    let mut out: Vec<Literal> = Vec::new();
    macro_rules! ints {
        ($t:ty) => {{
            let mut v: Vec<i64> = column
                .as_primitive::<$t>()
                .iter()
                .flatten()
                .map(i64::from)
                .collect();
            v.sort_unstable();
            v.dedup();
            out.extend(v.into_iter().map(Literal::Int));
        }};
    }
    match column.data_type() {
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::Utf8 => {
            let mut v: Vec<&str> = column.as_string::<i32>().iter().flatten().collect();
            v.sort_unstable();
            v.dedup();
            out.extend(v.into_iter().map(|s| Literal::Str(s.to_string())));
        }
        DataType::LargeUtf8 => {
            let mut v: Vec<&str> = column.as_string::<i64>().iter().flatten().collect();
            v.sort_unstable();
            v.dedup();
            out.extend(v.into_iter().map(|s| Literal::Str(s.to_string())));
        }
        _ => return None,
    }
    Some(out)
}

/// The smallest and largest of sorted `values` of one type.
fn min_max(values: &[Literal]) -> (Literal, Literal) {
    (values[0].clone(), values[values.len() - 1].clone())
}
