//! Object functions: put, get (into a caller buffer or as strata-owned bytes), stat, list,
//! delete.

use std::ffi::c_char;

use super::args;
use super::buffers::{put_bytes, strata_bytes};
use super::guard::{guard, invalid, strata_status};
use super::lake::{lake, strata_lake};
use crate::ObjectInfo;

/// The numeric facts about a stored object. `strata_stat_json` gives all facts, including
/// the tier name and checksum.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct strata_object_info {
    /// Size in bytes of the content.
    pub size: u64,
    /// Bytes held by the tier (larger than `size` when encrypted).
    pub stored_size: u64,
    /// When it was written, ms since the Unix epoch.
    pub created_ms: u64,
    /// When it was last read or written, ms since the Unix epoch.
    pub last_access_ms: u64,
    /// Reads since it was written.
    pub access_count: u64,
    /// Whether it is encrypted at rest.
    pub encrypted: bool,
}

impl From<&ObjectInfo> for strata_object_info {
    fn from(info: &ObjectInfo) -> Self {
        strata_object_info {
            size: info.size,
            stored_size: info.stored_size,
            created_ms: info.created_ms,
            last_access_ms: info.last_access_ms,
            access_count: info.access_count,
            encrypted: info.key_id.is_some(),
        }
    }
}

/// Stores `len` bytes at `data` under `key` (atomically replacing any object there). `data`
/// may be NULL only when `len` is 0. `info` may be NULL; otherwise it receives the object's
/// facts.
#[no_mangle]
pub extern "C" fn strata_put(
    lake: *const strata_lake,
    key: *const c_char,
    data: *const u8,
    len: usize,
    info: *mut strata_object_info,
) -> strata_status {
    guard(|| {
        let store = self::lake(lake)?;
        let key = args::text(key, "key")?;
        let data = args::bytes(data, len, "data")?;
        let stored = store.put(key, data.to_vec())?;
        args::put_opt(info, strata_object_info::from(&stored));
        Ok(())
    })
}

/// Copies the object under `key` into the caller's buffer `buf` of `cap` bytes.
///
/// `*len` always receives the object's size when the object exists. With `buf` NULL and `cap`
/// 0 this is a size query and returns STRATA_OK. When `cap` is too small nothing is copied and
/// STRATA_INVALID_ARGUMENT is returned (with `*len` set, so the caller can retry).
#[no_mangle]
pub extern "C" fn strata_get(
    lake: *const strata_lake,
    key: *const c_char,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> strata_status {
    guard(|| {
        let store = self::lake(lake)?;
        let key = args::text(key, "key")?;
        if len.is_null() {
            return Err(invalid("len is NULL"));
        }
        if buf.is_null() && cap != 0 {
            return Err(invalid(format!("buf is NULL but cap is {cap}")));
        }
        let bytes = store.get(key)?;
        args::put(len, "len", bytes.len())?;
        if buf.is_null() {
            return Ok(());
        }
        if bytes.len() > cap {
            return Err(invalid(format!(
                "buffer too small: the object has {} bytes, cap is {cap}",
                bytes.len()
            ))
            .with("key", key));
        }
        // SAFETY: buf is non-NULL with `cap >= bytes.len()` writable bytes (header contract);
        // strata's buffer and the caller's cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len()) };
        Ok(())
    })
}

/// Reads the object under `key` without copying it: `*out` receives a handle whose bytes are
/// at `*data` (`*len` bytes; from a local tier, a memory map of the stored file). `data` and
/// `len` may be NULL (use `strata_bytes_data`). Free the handle with `strata_bytes_free`.
#[no_mangle]
pub extern "C" fn strata_get_bytes(
    lake: *const strata_lake,
    key: *const c_char,
    out: *mut *mut strata_bytes,
    data: *mut *const u8,
    len: *mut usize,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let store = self::lake(lake)?;
        let key = args::text(key, "key")?;
        put_bytes(store.get(key)?, out, data, len)
    })
}

/// Writes the numeric facts about the object under `key` into `*info`.
#[no_mangle]
pub extern "C" fn strata_stat(
    lake: *const strata_lake,
    key: *const c_char,
    info: *mut strata_object_info,
) -> strata_status {
    guard(|| {
        let store = self::lake(lake)?;
        let key = args::text(key, "key")?;
        if info.is_null() {
            return Err(invalid("info is NULL"));
        }
        let stat = store.stat(key)?;
        args::put(info, "info", strata_object_info::from(&stat))
    })
}

/// All facts about the object under `key` as a JSON object (key, tier, size, checksum,
/// created_ms, last_access_ms, access_count, stored_size, key_id, envelope_version). Free
/// `*json` with `strata_string_free`.
#[no_mangle]
pub extern "C" fn strata_stat_json(
    lake: *const strata_lake,
    key: *const c_char,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let store = self::lake(lake)?;
        let key = args::text(key, "key")?;
        args::put_json(json, "json", &store.stat(key)?)
    })
}

/// The objects whose keys start with `prefix` ("" for all), as a JSON array of the objects
/// `strata_stat_json` describes, in key order. Free `*json` with `strata_string_free`.
#[no_mangle]
pub extern "C" fn strata_list_json(
    lake: *const strata_lake,
    prefix: *const c_char,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let store = self::lake(lake)?;
        let prefix = args::text(prefix, "prefix")?;
        args::put_json(json, "json", &store.list(prefix)?)
    })
}

/// Deletes the object under `key`; STRATA_NOT_FOUND when there is none.
#[no_mangle]
pub extern "C" fn strata_delete(lake: *const strata_lake, key: *const c_char) -> strata_status {
    guard(|| {
        let store = self::lake(lake)?;
        let key = args::text(key, "key")?;
        store.delete(key)
    })
}
