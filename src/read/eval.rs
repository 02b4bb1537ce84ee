//! Exact evaluation of a predicate over Arrow arrays with arrow's compute kernels.
//!
//! The same comparison code serves both row filtering (over a batch's columns) and row-group
//! pruning (over arrays of per-row-group minimums and maximums), so the two cannot disagree on
//! how a literal is typed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, Scalar,
    StringArray,
};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::kernels::{boolean, cmp, comparison};
use arrow::compute::{cast_with_options, is_not_null, is_null, CastOptions};
use arrow::datatypes::{DataType, Int32Type};

use super::expr::{CmpOp, Expr, Literal};
use super::in_list::InSet;
use crate::error::{Error, ErrorKind, Result};

/// Wraps an arrow error from a kernel with the predicate it came from.
pub(crate) fn kernel_error(expr: &dyn std::fmt::Display, err: arrow::error::ArrowError) -> Error {
    Error::from(err).during(format!("cannot evaluate filter `{expr}`"))
}

pub(crate) fn literal_array(lit: &Literal) -> ArrayRef {
    match lit {
        Literal::Bool(v) => Arc::new(BooleanArray::from(vec![*v])),
        Literal::Int(v) => Arc::new(Int64Array::from(vec![*v])),
        Literal::Float(v) => Arc::new(Float64Array::from(vec![*v])),
        Literal::Str(v) => Arc::new(StringArray::from(vec![v.as_str()])),
    }
}

/// The array with a dictionary's values in place of its keys.
pub(crate) fn unpacked(column: &str, array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Dictionary(_, value) => cast_with_options(array, value, &STRICT)
            .map_err(|e| Error::internal(format!("cannot unpack dictionary column {column}: {e}"))),
        _ => Ok(array.clone()),
    }
}

pub(crate) const STRICT: CastOptions<'static> = CastOptions {
    safe: false,
    format_options: arrow::util::display::FormatOptions::new(),
};

/// The type a column of (unpacked) type `ty` and `lit` compare in: the column's, except that
/// a fractional literal against an integer column compares in floating point, so `x > 1.5` is
/// not truncated to `x > 1`.
pub(crate) fn compare_type(ty: &DataType, lit: &Literal) -> DataType {
    let integer_like =
        ty.is_integer() || matches!(ty, DataType::Decimal128(..) | DataType::Decimal256(..));
    if matches!(lit, Literal::Float(_)) && integer_like {
        DataType::Float64
    } else {
        ty.clone()
    }
}

/// The (unpacked) column cast to the type it is compared in.
pub(crate) fn column_as(
    column: &str,
    array: &ArrayRef,
    target: &DataType,
    lit: &Literal,
) -> Result<ArrayRef> {
    if array.data_type() == target {
        return Ok(array.clone());
    }
    cast_with_options(array, target, &STRICT)
        .map_err(|e| Error::invalid(format!("cannot compare column {column} with {lit}: {e}")))
}

/// `lit` as a one-element array of `target`; `ty` is the column's type, for the message.
pub(crate) fn literal_as(
    column: &str,
    ty: &DataType,
    lit: &Literal,
    target: &DataType,
) -> Result<ArrayRef> {
    let array = literal_array(lit);
    if array.data_type() == target {
        return Ok(array);
    }
    cast_with_options(&array, target, &STRICT).map_err(|e| {
        Error::invalid(format!(
            "cannot compare column {column} of type {ty} with {lit}: {e}"
        ))
    })
}

/// Brings a column (or statistics array) and a literal to one type (see [`compare_type`]).
pub(crate) fn coerce(
    column: &str,
    array: &ArrayRef,
    lit: &Literal,
) -> Result<(ArrayRef, ArrayRef)> {
    let array = unpacked(column, array)?;
    let target = compare_type(array.data_type(), lit);
    let lit_array = literal_as(column, array.data_type(), lit, &target)?;
    Ok((column_as(column, &array, &target, lit)?, lit_array))
}

/// `array op lit`, null where the array is null.
pub(crate) fn compare(
    column: &str,
    array: &ArrayRef,
    op: CmpOp,
    lit: &Literal,
) -> Result<BooleanArray> {
    let (array, lit_array) = coerce(column, array, lit)?;
    let scalar = Scalar::new(lit_array);
    let result = match op {
        CmpOp::Eq => cmp::eq(&array, &scalar),
        CmpOp::NotEq => cmp::neq(&array, &scalar),
        CmpOp::Lt => cmp::lt(&array, &scalar),
        CmpOp::LtEq => cmp::lt_eq(&array, &scalar),
        CmpOp::Gt => cmp::gt(&array, &scalar),
        CmpOp::GtEq => cmp::gt_eq(&array, &scalar),
    };
    result.map_err(|e| kernel_error(&format!("{column} {op:?} {lit}"), e))
}

/// `starts_with(array, prefix)` for string columns.
pub(crate) fn starts_with(column: &str, array: &ArrayRef, prefix: &str) -> Result<BooleanArray> {
    let (array, lit_array) = coerce(column, array, &Literal::Str(prefix.to_string()))?;
    if !matches!(
        array.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        return Err(Error::invalid(format!(
            "starts_with needs a string column, but {column} is {}",
            array.data_type()
        )));
    }
    comparison::starts_with(&array, &Scalar::new(lit_array))
        .map_err(|e| kernel_error(&format!("starts_with({column})"), e))
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!("filter column {name} is not in the data"),
        )
        .with("column", name)
    })
}

/// The `IN` sets of one scan, each built once rather than once a batch (a 12,000-value list
/// costs more to build than a batch of 8,192 rows costs to look up). Keyed by the list's node,
/// whose address is fixed while the scan that owns the filter runs, and the column's type.
#[derive(Default)]
pub(crate) struct InSets {
    built: Mutex<HashMap<InKey, Option<Arc<InSet>>>>,
}

/// An `IN` node's address and the type of the column it was built for.
type InKey = (usize, DataType);

impl InSets {
    fn get(
        &self,
        node: &Expr,
        column: &str,
        ty: &DataType,
        values: &[Literal],
    ) -> Result<Option<Arc<InSet>>> {
        let key = (node as *const Expr as usize, ty.clone());
        if let Some(found) = self.built.lock().ok().and_then(|b| b.get(&key).cloned()) {
            return Ok(found);
        }
        let set = InSet::new(column, ty, values)?.map(Arc::new);
        if let Ok(mut built) = self.built.lock() {
            built.insert(key, set.clone());
        }
        Ok(set)
    }
}

/// Evaluates `expr` on every row of `batch` with SQL three-valued logic (null = unknown).
pub(crate) fn evaluate(expr: &Expr, batch: &RecordBatch) -> Result<BooleanArray> {
    evaluate_with(expr, batch, &InSets::default())
}

/// [`evaluate`] with the scan's `IN` sets (built once per scan, shared by its threads).
pub(crate) fn evaluate_in(expr: &Expr, batch: &RecordBatch, sets: &InSets) -> Result<BooleanArray> {
    evaluate_with(expr, batch, sets)
}

/// [`evaluate`] with the scan's `IN` sets. Recursion is as deep as the filter, which a scan
/// bounds (`Expr::MAX_DEPTH`); `AND` and `OR` chains are one node, walked in a loop.
fn evaluate_with(expr: &Expr, batch: &RecordBatch, sets: &InSets) -> Result<BooleanArray> {
    let err = |e| kernel_error(expr, e);
    match expr {
        Expr::Cmp {
            column: c,
            op,
            value,
        } => {
            let array = column(batch, c)?;
            match by_value(array, |values| compare(c, values, *op, value))? {
                Some(mask) => Ok(mask),
                None => compare(c, array, *op, value),
            }
        }
        Expr::In {
            column: c,
            values,
            negated,
        } => {
            let array = column(batch, c)?;
            let any = |array: &ArrayRef| -> Result<BooleanArray> {
                match sets.get(expr, c, array.data_type(), values)? {
                    Some(set) => set.contains(c, array),
                    None => {
                        let mut any = BooleanArray::from(vec![false; array.len()]);
                        for v in values {
                            let eq = compare(c, array, CmpOp::Eq, v)?;
                            any = boolean::or_kleene(&any, &eq).map_err(err)?;
                        }
                        Ok(any)
                    }
                }
            };
            let any = match by_value(array, any)? {
                Some(mask) => mask,
                None => any(array)?,
            };
            if *negated {
                boolean::not(&any).map_err(err)
            } else {
                Ok(any)
            }
        }
        Expr::IsNull { column: c, negated } => {
            let array = column(batch, c)?;
            if *negated {
                is_not_null(array).map_err(err)
            } else {
                is_null(array).map_err(err)
            }
        }
        Expr::StartsWith { column: c, prefix } => {
            let array = column(batch, c)?;
            match by_value(array, |values| starts_with(c, values, prefix))? {
                Some(mask) => Ok(mask),
                None => starts_with(c, array, prefix),
            }
        }
        Expr::And(terms) => fold(terms, batch, sets, true),
        Expr::Or(terms) => fold(terms, batch, sets, false),
        Expr::Not(a) => boolean::not(&evaluate_with(a, batch, sets)?).map_err(err),
    }
}

/// Dictionaries with more values than this and than the batch has rows are unpacked instead:
/// comparing every value of a large dictionary costs more than comparing the batch's rows.
const PER_VALUE_MOST: usize = 1024;

/// A comparison (`evaluate`, which gives one result per value it is handed) on a dictionary
/// column: evaluated once on the dictionary's values, then each row takes its key's result,
/// null where the row is null. `None` when `array` is no dictionary, its dictionary is empty,
/// or it has more values than both the batch's rows and [`PER_VALUE_MOST`]: the caller then
/// evaluates row by row. The results are the same either way: the comparison of a row is the
/// comparison of its value.
fn by_value(
    array: &ArrayRef,
    evaluate: impl FnOnce(&ArrayRef) -> Result<BooleanArray>,
) -> Result<Option<BooleanArray>> {
    let Some(dictionary) = array.as_any_dictionary_opt() else {
        return Ok(None);
    };
    let values = dictionary.values();
    if values.is_empty() || values.len() > array.len().max(PER_VALUE_MOST) {
        return Ok(None);
    }
    let per_value = evaluate(values)?;
    if per_value.len() != values.len() {
        return Err(Error::internal(format!(
            "a filter gave {} results for {} dictionary values",
            per_value.len(),
            values.len()
        )));
    }
    // Per key, as a byte table the row loop indexes directly (one load a row, no call).
    let hits: Vec<bool> = per_value.values().iter().collect();
    let valid: Option<Vec<bool>> = per_value.nulls().map(|n| n.iter().collect());
    let row_nulls = dictionary.keys().logical_nulls();
    let rows = array.len();
    // A null row may hold any key: it reads false, whatever its key (its validity comes
    // from `row_nulls`). A key outside the dictionary reads false and, where the values
    // have nulls, null.
    let (result, by_value) = match array.as_dictionary_opt::<Int32Type>() {
        // The parquet crate's dictionaries have `Int32` keys: read them in place.
        Some(d) => {
            let keys = d.keys().values();
            let at = |table: &[bool], row: usize| {
                usize::try_from(keys[row])
                    .ok()
                    .and_then(|k| table.get(k).copied())
                    .unwrap_or(false)
            };
            (
                BooleanBuffer::collect_bool(rows, |row| at(&hits, row)),
                valid
                    .as_ref()
                    .map(|v| BooleanBuffer::collect_bool(rows, |row| at(v, row))),
            )
        }
        // Other key types are normalized first (each key in 0..values.len(), a null row's
        // too).
        None => {
            let keys = dictionary.normalized_keys();
            let at = |table: &[bool], row: usize| table.get(keys[row]).copied().unwrap_or(false);
            (
                BooleanBuffer::collect_bool(rows, |row| at(&hits, row)),
                valid
                    .as_ref()
                    .map(|v| BooleanBuffer::collect_bool(rows, |row| at(v, row))),
            )
        }
    };
    let nulls = match (row_nulls, by_value) {
        (rows, None) => rows,
        (None, Some(by_value)) => Some(NullBuffer::new(by_value)),
        (Some(rows), Some(by_value)) => Some(NullBuffer::new(rows.inner() & &by_value)),
    };
    Ok(Some(BooleanArray::new(result, nulls)))
}

/// The terms of an `AND` (or `OR`) combined in a loop, stopping early once the result is
/// settled for every row (all false for `AND`, all true for `OR`). An empty batch evaluates
/// every term: that is how a scan checks a filter against the schema before reading rows.
fn fold(terms: &[Expr], batch: &RecordBatch, sets: &InSets, and: bool) -> Result<BooleanArray> {
    let rows = batch.num_rows();
    let mut acc: Option<BooleanArray> = None;
    for term in terms {
        let mask = evaluate_with(term, batch, sets)?;
        let now = match acc.take() {
            None => acc.insert(mask),
            Some(before) => {
                let combined = if and {
                    boolean::and_kleene(&before, &mask)
                } else {
                    boolean::or_kleene(&before, &mask)
                };
                acc.insert(combined.map_err(|e| kernel_error(term, e))?)
            }
        };
        let settled = if and {
            now.true_count() == 0
        } else {
            now.true_count() == rows
        };
        if rows > 0 && now.null_count() == 0 && settled {
            break;
        }
    }
    Ok(acc.unwrap_or_else(|| BooleanArray::from(vec![and; rows])))
}

/// Keeps the rows where `expr` is true (false and null both drop the row).
pub(crate) fn filter(expr: &Expr, batch: &RecordBatch, sets: &InSets) -> Result<RecordBatch> {
    let mask = evaluate_with(expr, batch, sets)?;
    arrow::compute::filter_record_batch(batch, &mask).map_err(|e| kernel_error(expr, e))
}

/// Treats unknown (null) as "may match", which is the safe reading for pruning masks.
pub(crate) fn nulls_true(mask: &BooleanArray) -> BooleanArray {
    if mask.null_count() == 0 {
        return mask.clone();
    }
    mask.iter().map(|v| Some(v.unwrap_or(true))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{DictionaryArray, Int8Array, StringArray};
    use arrow::datatypes::{Int8Type, Schema};

    /// Each comparison on a dictionary column, evaluated once per value, gives what it gives
    /// on the same rows unpacked: null rows, a null dictionary value, values no row uses and
    /// a slice included, with `Int32` keys and others.
    #[test]
    fn per_value_results_match_row_by_row() {
        let values: ArrayRef = Arc::new(StringArray::from(vec![
            Some("JFK"),
            None,
            Some("JAX"),
            Some("LGA"),
            Some("unused"),
        ]));
        let keys = [
            Some(0),
            None,
            Some(1),
            Some(2),
            Some(3),
            Some(0),
            None,
            Some(2),
        ];
        let int32: ArrayRef = Arc::new(
            DictionaryArray::<Int32Type>::try_new(keys.iter().copied().collect(), values.clone())
                .unwrap(),
        );
        let int8: ArrayRef = Arc::new(
            DictionaryArray::<Int8Type>::try_new(
                keys.iter()
                    .map(|k| k.map(|k| k as i8))
                    .collect::<Int8Array>(),
                values,
            )
            .unwrap(),
        );
        let filters = [
            "s = 'JFK'",
            "s <> 'JFK'",
            "s > 'JAX'",
            "s IN ('JFK', 'LGA', 'SFO')",
            "s NOT IN ('JFK')",
            "s LIKE 'J%'",
            "s = 'SFO'",
            "s IS NULL",
            "NOT (s = 'LGA' OR s LIKE 'JA%')",
        ];
        for dictionary in [int32, int8.slice(1, 6), int8] {
            let plain = unpacked("s", &dictionary).unwrap();
            let batch = |column: ArrayRef| {
                let schema = Schema::new(vec![arrow::datatypes::Field::new(
                    "s",
                    column.data_type().clone(),
                    true,
                )]);
                RecordBatch::try_new(Arc::new(schema), vec![column]).unwrap()
            };
            for text in filters {
                let filter = Expr::parse(text).unwrap();
                let sets = InSets::default();
                let got = evaluate_in(&filter, &batch(dictionary.clone()), &sets).unwrap();
                let want = evaluate(&filter, &batch(plain.clone())).unwrap();
                assert_eq!(got, want, "{text} on {}", dictionary.data_type());
            }
        }
    }
}
