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

    /// Whether [`TextKernel::mask_ascii`] may be used: on ASCII input the output has the
    /// same byte length as the input and is ASCII too.
    fn ascii_in_place(&self) -> bool {
        false
    }

    /// Masks an ASCII value in place, giving the bytes [`TextKernel::map`] would append.
    fn mask_ascii(&self, _value: &mut [u8]) {}
}

/// Applies `kernel` to every non-null value. Utf8, LargeUtf8 and Utf8View keep their type; any
/// other type is cast to Utf8 first (so `42` is treated as the text "42") and returns Utf8.
pub(crate) fn map_text<K: TextKernel>(array: &dyn Array, kernel: &K) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Utf8 if kernel.ascii_in_place() => {
            match in_place(array.as_string::<i32>(), kernel)? {
                Some(out) => Ok(out),
                None => map_chunks(
                    array,
                    kernel,
                    |a| Ok(a.as_string::<i32>().clone()),
                    run::<i32, K>,
                ),
            }
        }
        DataType::LargeUtf8 if kernel.ascii_in_place() => {
            match in_place(array.as_string::<i64>(), kernel)? {
                Some(out) => Ok(out),
                None => map_chunks(
                    array,
                    kernel,
                    |a| Ok(a.as_string::<i64>().clone()),
                    run::<i64, K>,
                ),
            }
        }
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
            cast(&out, &DataType::Utf8View).map_err(Error::from)
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

/// The fast path of length-preserving masks over all-ASCII data: copy the value bytes once,
/// mask each value where it lies (in parallel over chunks of rows) and keep the offsets, so
/// nothing is appended, no offsets are rebuilt and no chunks are joined. The bytes under null
/// slots, which may still hold a clear value, are zeroed. `None` when a value is not
/// ASCII: the general path then handles characters properly.
fn in_place<O: OffsetSizeTrait, K: TextKernel>(
    array: &GenericStringArray<O>,
    kernel: &K,
) -> Result<Option<ArrayRef>> {
    let offsets = array.value_offsets();
    let (Some(first), Some(last)) = (offsets.first(), offsets.last()) else {
        return Ok(None);
    };
    let (start, end) = (first.as_usize(), last.as_usize());
    let src = array
        .value_data()
        .get(start..end)
        .ok_or_else(|| Error::internal("string offsets outside their values"))?;
    if !src.is_ascii() {
        return Ok(None);
    }
    // A slice starts its values at `start`; only its own bytes are copied, so offsets shift.
    let offsets: OffsetBuffer<O> = if start == 0 {
        array.offsets().clone()
    } else {
        let base = *first;
        OffsetBuffer::new(ScalarBuffer::from(
            offsets.iter().map(|&o| o - base).collect::<Vec<O>>(),
        ))
    };
    let mut values = src.to_vec();
    let ends: &[O] = &offsets;
    let rows = array.len();
    let mut chunks = Vec::with_capacity(rows.div_ceil(CHUNK_ROWS));
    let mut rest: &mut [u8] = &mut values;
    let mut at = 0usize;
    for first_row in (0..rows).step_by(CHUNK_ROWS) {
        let last_row = (first_row + CHUNK_ROWS).min(rows);
        let chunk_end = ends[last_row].as_usize();
        let (chunk, tail) = std::mem::take(&mut rest).split_at_mut(chunk_end - at);
        chunks.push((first_row..last_row, at, chunk));
        rest = tail;
        at = chunk_end;
    }
    let nulls = array.nulls();
    let mask_chunk = |(rows, base, chunk): (std::ops::Range<usize>, usize, &mut [u8])| {
        for i in rows {
            let (a, b) = (ends[i].as_usize() - base, ends[i + 1].as_usize() - base);
            if let Some(value) = chunk.get_mut(a..b) {
                if nulls.is_none_or(|n| n.is_valid(i)) {
                    kernel.mask_ascii(value);
                } else {
                    // Nothing of a value under a null may survive, not even kept ends.
                    value.fill(0);
                }
            }
        }
    };
    if chunks.len() > 1 {
        chunks.into_par_iter().for_each(mask_chunk);
    } else {
        chunks.into_iter().for_each(mask_chunk);
    }
    // SAFETY: `values` was all ASCII and `mask_ascii` (or zeroing) writes only ASCII bytes without changing
    // lengths (the contract of `ascii_in_place`), so it is valid UTF-8 and every offset is a
    // character boundary; the offsets are the input's, rebased to start at 0 and end at
    // `values.len()`.
    let array = unsafe {
        GenericStringArray::<O>::new_unchecked(
            offsets,
            Buffer::from_vec(values),
            array.nulls().cloned(),
        )
    };
    Ok(Some(Arc::new(array)))
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
    concat(&refs).map_err(Error::from)
}

fn run<O: OffsetSizeTrait, K: TextKernel>(
    array: &GenericStringArray<O>,
    kernel: &K,
    first_row: usize,
) -> Result<ArrayRef> {
    // Most kernels write about as many bytes as they read: size the buffer for that.
    let bytes = array.value_data().len();
    let out = map_values::<O, K>(
        array.len(),
        bytes,
        array.nulls(),
        |i| array.value(i),
        kernel,
        first_row,
    )?;
    finish(out, array.nulls().cloned())
}

fn run_view<K: TextKernel>(
    array: &StringViewArray,
    kernel: &K,
    first_row: usize,
) -> Result<ArrayRef> {
    // Views are rebuilt from a LargeUtf8 result by one cast; the per-value work dominates.
    let bytes = array.total_buffer_bytes_used() + array.len() * 4;
    let out = map_values::<i64, K>(
        array.len(),
        bytes,
        array.nulls(),
        |i| array.value(i),
        kernel,
        first_row,
    )?;
    finish(out, array.nulls().cloned())
}

struct Mapped<O> {
    values: String,
    offsets: Vec<O>,
}

fn map_values<'a, O: OffsetSizeTrait, K: TextKernel>(
    len: usize,
    bytes: usize,
    nulls: Option<&NullBuffer>,
    value: impl Fn(usize) -> &'a str,
    kernel: &K,
    first_row: usize,
) -> Result<Mapped<O>> {
    let mut values = String::with_capacity(bytes + len * 4);
    let mut offsets = Vec::with_capacity(len + 1);
    offsets.push(O::usize_as(0));
    let mut scratch = K::Scratch::default();
    for i in 0..len {
        if nulls.is_none_or(|n| n.is_valid(i)) {
            kernel
                .map(value(i), &mut scratch, &mut values)
                .map_err(|e| e.with("row", first_row + i))?;
        }
        offsets.push(O::from_usize(values.len()).ok_or_else(|| {
            Error::invalid("masked text exceeds 2 GiB in one array; use LargeUtf8")
        })?);
    }
    Ok(Mapped { values, offsets })
}

fn finish<O: OffsetSizeTrait>(out: Mapped<O>, nulls: Option<NullBuffer>) -> Result<ArrayRef> {
    let offsets = OffsetBuffer::new(ScalarBuffer::from(out.offsets));
    let values = Buffer::from_vec(out.values.into_bytes());
    // SAFETY: the bytes come from a `String`, so they are valid UTF-8, and every offset is a
    // length of that `String` taken after a whole value was appended, so it is a char boundary;
    // `OffsetBuffer::new` checked the offsets are monotonic, and they end at `values.len()`.
    let array = unsafe { GenericStringArray::<O>::new_unchecked(offsets, values, nulls) };
    Ok(Arc::new(array))
}
