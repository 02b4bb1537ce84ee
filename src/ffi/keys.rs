//! Encryption keys from C: the lake's key ring (new, list, rotate) and a callback hook that
//! lets an external KMS wrap and unwrap data keys.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use super::args;
use super::guard::{guard, invalid, strata_status, STRATA_OK};
use super::lake::{lake, strata_lake};
use crate::{crypto::WrapFn, Error, ErrorKind};

/// The most bytes a KMS callback may write: the capacity of its `out` buffer.
pub const STRATA_KMS_MAX_OUTPUT: usize = 4096;

/// A KMS call: wrap (encrypt) or unwrap (decrypt) `input` under the key-encryption key
/// `key_id`, authenticating `context` with it. Writes at most `out_cap` bytes to `out`, their
/// count to `*out_len`, and returns STRATA_OK, or any other status to fail the operation.
/// strata may call it from any thread, concurrently; it must not call back into strata.
pub type strata_kms_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key_id: *const c_char,
        input: *const u8,
        input_len: usize,
        context: *const u8,
        context_len: usize,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> strata_status,
>;

/// Called once with `user_data` when strata no longer needs the callbacks.
pub type strata_free_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// The caller's KMS state. The header requires callbacks that are safe to call from any thread,
/// which is what makes sharing the pointer sound.
struct UserData {
    ptr: *mut c_void,
    free: strata_free_fn,
}

// SAFETY: the contract of strata_set_key_provider requires thread-safe callbacks and data.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: called once, when the last provider reference goes away, as documented.
            unsafe { free(self.ptr) };
        }
    }
}

fn kms_call(call: strata_kms_fn, data: Arc<UserData>, what: &'static str) -> WrapFn {
    Arc::new(move |key_id: &str, input: &[u8], context: &[u8]| {
        let Some(call) = call else {
            return Err(Error::new(
                ErrorKind::Crypto,
                format!("no KMS {what} callback"),
            ));
        };
        let id = CString::new(key_id).map_err(|_| invalid("key id contains a NUL byte"))?;
        let mut out = vec![0u8; STRATA_KMS_MAX_OUTPUT];
        let mut out_len = 0usize;
        // SAFETY: every pointer is valid for the lengths passed for the duration of the call;
        // the callback's own contract is the caller's (header).
        let status = unsafe {
            call(
                data.ptr,
                id.as_ptr(),
                input.as_ptr(),
                input.len(),
                context.as_ptr(),
                context.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut out_len,
            )
        };
        if status != STRATA_OK {
            return Err(Error::new(
                ErrorKind::Crypto,
                format!("the KMS {what} callback failed with status {status}"),
            )
            .with("key_id", key_id));
        }
        if out_len > out.len() {
            return Err(Error::new(
                ErrorKind::Crypto,
                format!("the KMS {what} callback reported {out_len} bytes, more than out_cap"),
            ));
        }
        out.truncate(out_len);
        Ok(out)
    })
}

/// Makes an external KMS the lake's key provider: new objects' data keys are wrapped by `wrap`
/// under `active_key_id`, and read back through `unwrap`. `free_user_data` (may be NULL) is
/// called with `user_data` once the lake no longer needs it (when replaced or closed), and also
/// when this call fails. Both callbacks are required and must be thread-safe.
#[no_mangle]
pub extern "C" fn strata_set_key_provider(
    lake: *const strata_lake,
    active_key_id: *const c_char,
    wrap: strata_kms_fn,
    unwrap: strata_kms_fn,
    user_data: *mut c_void,
    free_user_data: strata_free_fn,
) -> strata_status {
    guard(|| {
        // Owned first, so user_data is freed on every error path below.
        let data = Arc::new(UserData {
            ptr: user_data,
            free: free_user_data,
        });
        let store = self::lake(lake)?;
        let active = args::text(active_key_id, "active_key_id")?;
        if active.is_empty() {
            return Err(invalid("active_key_id is empty"));
        }
        if wrap.is_none() || unwrap.is_none() {
            return Err(invalid("wrap and unwrap callbacks are required"));
        }
        store.use_kms(
            active,
            kms_call(wrap, data.clone(), "wrap"),
            kms_call(unwrap, data, "unwrap"),
        )
    })
}

/// Adds a new key to the lake's key ring (creating the ring, mode 0600, on first use) and makes
/// it active for new objects. `id` may be NULL for a generated id. `*out_id` receives the new
/// key's id; free it with `strata_string_free`.
#[no_mangle]
pub extern "C" fn strata_key_new(
    lake: *const strata_lake,
    id: *const c_char,
    out_id: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(out_id, "out_id")?;
        let store = self::lake(lake)?;
        let id = args::opt_text(id, "id")?;
        let new_id = store.keys().new_key(id)?;
        args::put_string(out_id, "out_id", new_id)
    })
}

/// The keys on the lake's key ring as a JSON array of `{"id", "created_ms", "active",
/// "objects", "masking_keys"}` (never key material); `objects` counts the objects each key
/// protects, `masking_keys` lists the masking-key versions it wraps (`{"id", "version",
/// "created_ms"}`). Free `*json` with `strata_string_free`.
#[no_mangle]
pub extern "C" fn strata_key_list(
    lake: *const strata_lake,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let store = self::lake(lake)?;
        let rows: Vec<_> = store
            .keys()
            .list()?
            .into_iter()
            .map(|k| {
                serde_json::json!({
                    "id": k.id,
                    "created_ms": k.created_ms,
                    "active": k.active,
                    "objects": k.objects,
                    "masking_keys": k.masking_keys,
                })
            })
            .collect();
        args::put_json(json, "json", &rows)
    })
}

/// Makes a new active key and re-wraps every encrypted object's data key under it (headers
/// only; data is not rewritten), and every masking key. `*json` receives `{"key_id", "rewrapped",
/// "failed", "masking_keys"}`; objects
/// in `failed` are retried by a rerun. Free it with `strata_string_free`.
#[no_mangle]
pub extern "C" fn strata_key_rotate(
    lake: *const strata_lake,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let store = self::lake(lake)?;
        let report = store.keys().rotate(&|_, _| {})?;
        args::put_json(json, "json", &report)
    })
}
