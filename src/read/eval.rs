//! Exact evaluation of a predicate over Arrow arrays with arrow's compute kernels.
//!
//! The same comparison code serves both row filtering (over a batch's columns) and row-group
//! pruning (over arrays of per-row-group minimums and maximums), so the two cannot disagree on
//! how a literal is typed.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, Scalar, StringArray,
};
use arrow::compute::kernels::{boolean, cmp, comparison};
use arrow::compute::{cast_with_options, is_not_null, is_null, CastOptions};
use arrow::datatypes::DataType;

use super::expr::{CmpOp, Expr, Literal};
use crate::error::{Error, ErrorKind, Result};

/// Wraps an arrow error from a kernel with the predicate it came from.
pub(crate) fn kernel_error(expr: &dyn std::fmt::Display, err: arrow::error::ArrowError) -> Error {
    Error::invalid(format!("cannot evaluate filter `{expr}`: {err}")).set_source(err)
}

fn literal_array(lit: &Literal) -> ArrayRef {
    match lit {
        Literal::Bool(v) => Arc::new(BooleanArray::from(vec![*v])),
        Literal::Int(v) => Arc::new(Int64Array::from(vec![*v])),
        Literal::Float(v) => Arc::new(Float64Array::from(vec![*v])),
        Literal::Str(v) => Arc::new(StringArray::from(vec![v.as_str()])),
    }
}

/// Brings a column (or statistics array) and a literal to one type: the column's, except that
/// a fractional literal against an integer column compares in floating point, so `x > 1.5` is
/// not truncated to `x > 1`.
pub(crate) fn coerce(
    column: &str,
    array: &ArrayRef,
    lit: &Literal,
) -> Result<(ArrayRef, ArrayRef)> {
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let mut array = array.clone();
    if let DataType::Dictionary(_, value) = array.data_type() {
        let value = value.as_ref().clone();
        array = cast_with_options(&array, &value, &strict).map_err(|e| {
            Error::internal(format!("cannot unpack dictionary column {column}: {e}"))
        })?;
    }
    let lit_array = literal_array(lit);
    let integer_like = array.data_type().is_integer()
        || matches!(
            array.data_type(),
            DataType::Decimal128(..) | DataType::Decimal256(..)
        );
    if matches!(lit, Literal::Float(_)) && integer_like {
        array = cast_with_options(&array, &DataType::Float64, &strict).map_err(|e| {
            Error::invalid(format!("cannot compare column {column} with {lit}: {e}"))
        })?;
        return Ok((array, lit_array));
    }
    if lit_array.data_type() == array.data_type() {
        return Ok((array, lit_array));
    }
    let lit_cast = cast_with_options(&lit_array, array.data_type(), &strict).map_err(|e| {
        Error::invalid(format!(
            "cannot compare column {column} of type {} with {lit}: {e}",
            array.data_type()
        ))
    })?;
    Ok((array, lit_cast))
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

/// Evaluates `expr` on every row of `batch` with SQL three-valued logic (null = unknown).
pub(crate) fn evaluate(expr: &Expr, batch: &RecordBatch) -> Result<BooleanArray> {
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
            let mut any = BooleanArray::from(vec![false; batch.num_rows()]);
            for v in values {
                let eq = compare(c, array, CmpOp::Eq, v)?;
                any = boolean::or_kleene(&any, &eq).map_err(err)?;
            }
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
        Expr::And(a, b) => {
            boolean::and_kleene(&evaluate(a, batch)?, &evaluate(b, batch)?).map_err(err)
        }
        Expr::Or(a, b) => {
            boolean::or_kleene(&evaluate(a, batch)?, &evaluate(b, batch)?).map_err(err)
        }
        Expr::Not(a) => boolean::not(&evaluate(a, batch)?).map_err(err),
    }
}

/// Keeps the rows where `expr` is true (false and null both drop the row).
pub(crate) fn filter(expr: &Expr, batch: &RecordBatch) -> Result<RecordBatch> {
    let mask = evaluate(expr, batch)?;
    arrow::compute::filter_record_batch(batch, &mask).map_err(|e| kernel_error(expr, e))
}

/// Treats unknown (null) as "may match", which is the safe reading for pruning masks.
pub(crate) fn nulls_true(mask: &BooleanArray) -> BooleanArray {
    if mask.null_count() == 0 {
        return mask.clone();
    }
    mask.iter().map(|v| Some(v.unwrap_or(true))).collect()
}
