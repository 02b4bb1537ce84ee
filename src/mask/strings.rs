//! Running a per-value text kernel over any Arrow string array, in parallel over chunks.
//!
//! Each kernel appends one output value to a `String` that the chunk reuses, so the hot loop
//! allocates nothing per value; the `String` type keeps the output valid UTF-8 without a second
//! validation pass. Nulls stay nulls: the input's validity buffer is reused as is.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, GenericStringArray, OffsetSizeTrait, StringViewArray,
};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::compute::{cast, concat};
use arrow::datatypes::DataType;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Rows per parallel chunk: large enough to amortise scheduling, small enough to spread work.
pub(crate) const CHUNK_ROWS: usize = 32 * 1024;

/// A per-value text transform.
pub(crate) trait TextKernel: Sync {
    /// Per-chunk working memory, reused from value to value.
    type Scratch: Default;

    /// Appends the masked form of `value` to `out`.
    fn map(&self, value: &str, scratch: &mut Self::Scratch, out: &mut String) -> Result<()>;
}

/// Applies `kernel` to every non-null value. Utf8, LargeUtf8 and Utf8View keep their type; any
/// other type is cast to Utf8 first (so `42` is treated as the text "42") and returns Utf8.
pub(crate) fn map_text<K: TextKernel>(array: &dyn Array, kernel: &K) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Utf8 => map_chunks(
            array,
            kernel,
            |a| Ok(a.as_string::<i32>().clone()),
            run::<i32, K>,
        ),
        DataType::LargeUtf8 => map_chunks(
            array,
            kernel,
            |a| Ok(a.as_string::<i64>().clone()),
            run::<i64, K>,
        ),
        DataType::Utf8View => {
            let out = map_chunks(
                array,
                kernel,
                |a| Ok(a.as_string_view().clone()),
                run_view::<K>,
            )?;
            cast(&out, &DataType::Utf8View).map_err(arrow_error)
        }
        other => {
            let text = cast(array, &DataType::Utf8).map_err(|e| {
                Error::new(
                    crate::error::ErrorKind::Unsupported,
                    format!("a text operator cannot read type {other}: {e}"),
                )
            })?;
            map_text(text.as_ref(), kernel)
        }
    }
}

/// Splits into chunks, maps them in parallel and joins the results in order.
fn map_chunks<A, K, F, R>(array: &dyn Array, kernel: &K, typed: F, run: R) -> Result<ArrayRef>
where
    K: TextKernel,
    A: Send + Sync,
    F: Fn(&dyn Array) -> Result<A> + Sync,
    R: Fn(&A, &K, usize) -> Result<ArrayRef> + Sync,
{
    let len = array.len();
    if len <= CHUNK_ROWS {
        return run(&typed(array)?, kernel, 0);
    }
    let parts = (0..len.div_ceil(CHUNK_ROWS))
        .into_par_iter()
        .map(|c| {
            let start = c * CHUNK_ROWS;
            let slice = array.slice(start, CHUNK_ROWS.min(len - start));
            run(&typed(slice.as_ref())?, kernel, start)
        })
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
    concat(&refs).map_err(arrow_error)
}

fn run<O: OffsetSizeTrait, K: TextKernel>(
    array: &GenericStringArray<O>,
    kernel: &K,
    first_row: usize,
) -> Result<ArrayRef> {
    let out = map_values(
        array.len(),
        array.nulls(),
        |i| array.value(i),
        kernel,
        first_row,
    )?;
    finish::<O>(out, array.nulls().cloned())
}

fn run_view<K: TextKernel>(
    array: &StringViewArray,
    kernel: &K,
    first_row: usize,
) -> Result<ArrayRef> {
    // Views are rebuilt from a LargeUtf8 result by one cast; the per-value work dominates.
    let out = map_values(
        array.len(),
        array.nulls(),
        |i| array.value(i),
        kernel,
        first_row,
    )?;
    finish::<i64>(out, array.nulls().cloned())
}

struct Mapped {
    values: String,
    ends: Vec<usize>,
}

fn map_values<'a, K: TextKernel>(
    len: usize,
    nulls: Option<&NullBuffer>,
    value: impl Fn(usize) -> &'a str,
    kernel: &K,
    first_row: usize,
) -> Result<Mapped> {
    let mut values = String::with_capacity(len * 8);
    let mut ends = Vec::with_capacity(len);
    let mut scratch = K::Scratch::default();
    for i in 0..len {
        if nulls.is_none_or(|n| n.is_valid(i)) {
            kernel
                .map(value(i), &mut scratch, &mut values)
                .map_err(|e| e.with("row", first_row + i))?;
        }
        ends.push(values.len());
    }
    Ok(Mapped { values, ends })
}

fn finish<O: OffsetSizeTrait>(out: Mapped, nulls: Option<NullBuffer>) -> Result<ArrayRef> {
    let mut offsets = Vec::with_capacity(out.ends.len() + 1);
    offsets.push(O::usize_as(0));
    for &end in &out.ends {
        offsets.push(O::from_usize(end).ok_or_else(|| {
            Error::invalid("masked text exceeds 2 GiB in one array; use LargeUtf8")
        })?);
    }
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    let values = Buffer::from_vec(out.values.into_bytes());
    // SAFETY: the bytes come from a `String`, so they are valid UTF-8, and every offset is a
    // length of that `String` taken after a whole value was appended, so it is a char boundary;
    // `OffsetBuffer::new` checked the offsets are monotonic, and they end at `values.len()`.
    let array = unsafe { GenericStringArray::<O>::new_unchecked(offsets, values, nulls) };
    Ok(Arc::new(array))
}

pub(crate) fn arrow_error(err: arrow::error::ArrowError) -> Error {
    Error::invalid(format!("arrow: {err}")).set_source(err)
}
