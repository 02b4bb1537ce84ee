//! Checked conversions of C arguments: every pointer is tested for NULL, every string for
//! UTF-8 and every length for sanity before anything dereferences it.

use std::ffi::{c_char, CStr, CString};

use super::guard::invalid;
use crate::{Error, Result};

/// A required C string argument as `&str`.
pub(crate) fn text<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(invalid(format!("{name} is NULL")));
    }
    // SAFETY: the caller promises a NUL-terminated string that outlives the call (header).
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str()
        .map_err(|e| invalid(format!("{name} is not valid UTF-8: {e}")))
}

/// An optional C string argument: NULL means absent.
pub(crate) fn opt_text<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        text(ptr, name).map(Some)
    }
}

/// A `(pointer, length)` byte argument. NULL is allowed only with length 0.
pub(crate) fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(invalid(format!("{name} is NULL but its length is {len}")));
    }
    if len > isize::MAX as usize {
        return Err(invalid(format!("{name} length {len} is too large")));
    }
    // SAFETY: non-NULL, and the caller promises `len` readable bytes (header contract).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A `(const char *const *, count)` list of column names; NULL with 0 means "all columns".
pub(crate) fn columns(ptr: *const *const c_char, count: usize) -> Result<Option<Vec<String>>> {
    if count == 0 {
        return Ok(None);
    }
    if ptr.is_null() {
        return Err(invalid(format!("columns is NULL but n_columns is {count}")));
    }
    if count > u32::MAX as usize {
        return Err(invalid(format!("n_columns {count} is too large")));
    }
    // SAFETY: non-NULL, and the caller promises `count` readable pointers (header contract).
    let names = unsafe { std::slice::from_raw_parts(ptr, count) };
    names
        .iter()
        .enumerate()
        .map(|(i, &p)| text(p, &format!("columns[{i}]")).map(str::to_string))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Checks a required out pointer and clears it, so a caller never sees a stale value after an
/// error.
pub(crate) fn out_ptr<T>(out: *mut *mut T, name: &str) -> Result<()> {
    if out.is_null() {
        return Err(invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and the caller promises it is writable.
    unsafe { *out = std::ptr::null_mut() };
    Ok(())
}

/// Writes `value` through a required out pointer.
pub(crate) fn put<T>(out: *mut T, name: &str, value: T) -> Result<()> {
    if out.is_null() {
        return Err(invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and the caller promises it is writable; `write` does not read or drop
    // the (possibly uninitialized) previous contents.
    unsafe { out.write(value) };
    Ok(())
}

/// Writes `value` through an optional out pointer (NULL: the caller does not want it).
pub(crate) fn put_opt<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and the caller promises it is writable.
        unsafe { out.write(value) };
    }
}

/// Hands a string to C; the caller frees it with `strata_string_free`.
pub(crate) fn put_string(out: *mut *mut c_char, name: &str, value: String) -> Result<()> {
    let c =
        CString::new(value).map_err(|_| Error::internal("a result string contains a NUL byte"))?;
    put(out, name, c.into_raw())
}

/// Serializes `value` as JSON and hands it to C.
pub(crate) fn put_json(
    out: *mut *mut c_char,
    name: &str,
    value: &impl serde::Serialize,
) -> Result<()> {
    let json = serde_json::to_string(value)
        .map_err(|e| Error::internal(format!("cannot serialize the result as JSON: {e}")))?;
    put_string(out, name, json)
}
