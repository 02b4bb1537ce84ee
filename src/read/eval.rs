//! Exact evaluation of a predicate over Arrow arrays with arrow's compute kernels.
//!
//! The same comparison code serves both row filtering (over a batch's columns) and row-group
//! pruning (over arrays of per-row-group minimums and maximums), so the two cannot disagree on
//! how a literal is typed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, Scalar, StringArray,
};
use arrow::compute::kernels::{boolean, cmp, comparison};
use arrow::compute::{cast_with_options, is_not_null, is_null, CastOptions};
use arrow::datatypes::DataType;

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

/// [`evaluate`] with the scan's `IN` sets. Recursion is as deep as the filter, which a scan
/// bounds (`Expr::MAX_DEPTH`); `AND` and `OR` chains are one node, walked in a loop.
fn evaluate_with(expr: &Expr, batch: &RecordBatch, sets: &InSets) -> Result<BooleanArray> {
    let err = |e| kernel_error(expr, e);
    match expr {
        Expr::Cmp {
            column: c,
            op,
            value,
        } => compare(c, column(batch, c)?, *op, value),
        Expr::In {
            column: c,
            values,
            negated,
        } => {
            let array = column(batch, c)?;
            let any = match sets.get(expr, c, array.data_type(), values)? {
                Some(set) => set.contains(c, array)?,
                None => {
                    let mut any = BooleanArray::from(vec![false; batch.num_rows()]);
                    for v in values {
                        let eq = compare(c, array, CmpOp::Eq, v)?;
                        any = boolean::or_kleene(&any, &eq).map_err(err)?;
                    }
                    any
                }
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
        Expr::StartsWith { column: c, prefix } => starts_with(c, column(batch, c)?, prefix),
        Expr::And(terms) => fold(terms, batch, sets, true),
        Expr::Or(terms) => fold(terms, batch, sets, false),
        Expr::Not(a) => boolean::not(&evaluate_with(a, batch, sets)?).map_err(err),
    }
}

/// The terms of an `AND` (or `OR`) combined in a loop, stopping early once the result is
/// settled for every row (all false for `AND`, all true for `OR`). An empty batch evaluates
/// every term: that is how a scan checks a filter against the schema before reading rows.
fn fold(terms: &[Expr], batch: &RecordBatch, sets: &InSets, and: bool) -> Result<BooleanArray> {
    let rows = batch.num_rows();
    let mut acc = BooleanArray::from(vec![and; rows]);
    for term in terms {
        let mask = evaluate_with(term, batch, sets)?;
        let combined = if and {
            boolean::and_kleene(&acc, &mask)
        } else {
            boolean::or_kleene(&acc, &mask)
        };
        acc = combined.map_err(|e| kernel_error(term, e))?;
        let settled = if and {
            acc.true_count() == 0
        } else {
            acc.true_count() == rows
        };
        if rows > 0 && acc.null_count() == 0 && settled {
            break;
        }
    }
    Ok(acc)
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
