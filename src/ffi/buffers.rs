//! Memory strata hands to C: strings (JSON results, key ids) and byte buffers (object contents,
//! Arrow IPC streams). Each has exactly one free function.

use std::ffi::{c_char, CString};

use bytes::Bytes;

use super::args;
use super::guard::{guard, guard_void, strata_status};

/// Bytes owned by strata: an object's content (often a memory map of the stored file, so
/// nothing was copied) or an Arrow IPC stream. Read them through the pointer and length the
/// producing function returned; free with `strata_bytes_free`.
pub struct strata_bytes {
    bytes: Bytes,
}

/// Boxes `bytes` and writes the handle, data pointer and length through the out pointers.
pub(crate) fn put_bytes(
    bytes: Bytes,
    out: *mut *mut strata_bytes,
    data: *mut *const u8,
    len: *mut usize,
) -> crate::Result<()> {
    let ptr = bytes.as_ptr();
    let n = bytes.len();
    args::put(out, "out", Box::into_raw(Box::new(strata_bytes { bytes })))?;
    args::put_opt(data, ptr);
    args::put_opt(len, n);
    Ok(())
}

/// Reads the data pointer and length of `bytes` again. `data` and `len` must not be NULL.
#[no_mangle]
pub extern "C" fn strata_bytes_data(
    bytes: *const strata_bytes,
    data: *mut *const u8,
    len: *mut usize,
) -> strata_status {
    guard(|| {
        if bytes.is_null() {
            return Err(super::guard::invalid("bytes is NULL"));
        }
        // SAFETY: non-NULL; the caller passes a handle strata returned and has not freed.
        let b = unsafe { &(*bytes).bytes };
        args::put(data, "data", b.as_ptr())?;
        args::put(len, "len", b.len())
    })
}

/// Frees bytes returned by strata. NULL is ignored. The data pointer is invalid afterwards.
#[no_mangle]
pub extern "C" fn strata_bytes_free(bytes: *mut strata_bytes) {
    guard_void(|| {
        if !bytes.is_null() {
            // SAFETY: the pointer came from Box::into_raw in put_bytes and is freed once.
            drop(unsafe { Box::from_raw(bytes) });
        }
    })
}

/// Frees a string returned by strata (JSON results, key ids). NULL is ignored.
#[no_mangle]
pub extern "C" fn strata_string_free(text: *mut c_char) {
    guard_void(|| {
        if !text.is_null() {
            // SAFETY: the pointer came from CString::into_raw in args::put_string.
            drop(unsafe { CString::from_raw(text) });
        }
    })
}
