//! The one guard every export goes through, the status codes and the per-thread last error.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::panic_text;

use crate::{Error, ErrorKind, Result};

/// The result of every strata function: `STRATA_OK` (0) or an error code. On an error,
/// `strata_last_error_message()` says what happened on the calling thread.
pub type strata_status = i32;

/// Success.
pub const STRATA_OK: strata_status = 0;
/// A caller passed something unusable: a NULL pointer, bad UTF-8, a bad length, a bad key.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_INVALID_ARGUMENT: strata_status = 1;
/// The object, key, tier or file does not exist.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_NOT_FOUND: strata_status = 2;
/// The target exists and the operation refuses to replace it.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_ALREADY_EXISTS: strata_status = 3;
/// Local I/O failed.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_IO: strata_status = 4;
/// Stored bytes are damaged.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_CORRUPT: strata_status = 5;
/// The configuration is invalid.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_CONFIG: strata_status = 6;
/// Another process holds the data root.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_BUSY: strata_status = 7;
/// A remote tier failed.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_REMOTE: strata_status = 8;
/// The format or feature is not supported by this build.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_UNSUPPORTED: strata_status = 9;
/// An internal invariant broke (a bug in strata), including a caught panic.
pub const STRATA_INTERNAL: strata_status = 10;
/// Decryption or authentication failed.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_CRYPTO: strata_status = 11;
/// The principal of the handle may not do this (`[access]` in the config); the message names
/// the principal, the action and the resource.
#[allow(dead_code)] // for C; Rust returns `ErrorKind::code()`, equal by test
pub const STRATA_PERMISSION_DENIED: strata_status = 12;

thread_local! {
    // Per thread so concurrent callers (64 goroutines on one lake) never read each other's
    // messages; a CString so the pointer handed out is NUL-terminated and stable.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Runs one export's body: catches panics, records the error message for this thread and
/// returns the status. Every `extern "C"` function in this crate is `guard(|| ...)`.
pub(crate) fn guard(body: impl FnOnce() -> Result<()>) -> strata_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            clear_message();
            STRATA_OK
        }
        Ok(Err(err)) => {
            set_message(err.to_string());
            err.kind().code()
        }
        Err(payload) => {
            set_message(format!(
                "internal error: strata panicked: {}",
                panic_text(&*payload)
            ));
            STRATA_INTERNAL
        }
    }
}

/// For the `free` functions, which return nothing: a panic in a destructor is swallowed (and
/// recorded) rather than unwinding into C. Otherwise the thread's message is left alone, so C
/// code can free its buffers after an error and still read what went wrong.
pub(crate) fn guard_void(body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        set_message(format!(
            "internal error: strata panicked while freeing: {}",
            panic_text(&*payload)
        ));
    }
}

/// Empties this thread's message without allocating: success is the hot path (small gets).
fn clear_message() {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            if !slot.is_empty() {
                *slot = CString::default();
            }
        }
    });
}

fn set_message(message: String) {
    // Interior NULs would truncate the C string silently; show them instead.
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // try_with: during thread teardown the slot may be gone; losing a message beats aborting.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = message;
        }
    });
}

/// The message of the last failed strata call on the calling thread, or "" after a
/// successful call (the `strata_*_free` functions leave it alone). Never NULL. The pointer stays valid until the next strata call on
/// this thread; copy the text to keep it.
#[no_mangle]
pub extern "C" fn strata_last_error_message() -> *const c_char {
    const EMPTY: &std::ffi::CStr = c"";
    catch_unwind(|| {
        LAST_ERROR
            .try_with(|slot| match slot.try_borrow() {
                Ok(message) => message.as_ptr(),
                Err(_) => EMPTY.as_ptr(),
            })
            .unwrap_or(EMPTY.as_ptr())
    })
    .unwrap_or(EMPTY.as_ptr())
}

/// The error a body returns for a bad argument.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_internal_errors() {
        let status = guard(|| panic!("boom"));
        assert_eq!(status, STRATA_INTERNAL);
        // SAFETY: the pointer is a valid C string owned by this thread's slot.
        let text = unsafe { std::ffi::CStr::from_ptr(strata_last_error_message()) };
        assert!(text.to_str().unwrap().contains("boom"));
        assert_eq!(guard(|| Ok(())), STRATA_OK);
        // SAFETY: as above.
        let text = unsafe { std::ffi::CStr::from_ptr(strata_last_error_message()) };
        assert_eq!(text.to_bytes(), b"");
    }

    #[test]
    fn codes_match_error_kinds() {
        assert_eq!(STRATA_INVALID_ARGUMENT, ErrorKind::InvalidArgument.code());
        assert_eq!(STRATA_CRYPTO, ErrorKind::Crypto.code());
        assert_eq!(STRATA_PERMISSION_DENIED, ErrorKind::PermissionDenied.code());
    }
}
