//! The lake handle: opening a data root from a TOML config, closing it, and the version.

use std::ffi::c_char;
use std::path::Path;

use super::args;
use super::guard::{guard, guard_void, invalid, strata_status};
use crate::{Lake, LakeConfig, Result};

/// An open data lake (its tiers, tier index and keys). Safe to share between threads: every
/// function taking a `const strata_lake *` may run concurrently on one handle. Close it with
/// `strata_lake_free` once no other thread uses it.
pub struct strata_lake {
    pub(crate) lake: Lake,
}

/// The handle behind a `const strata_lake *` argument.
pub(crate) fn lake<'a>(ptr: *const strata_lake) -> Result<&'a Lake> {
    if ptr.is_null() {
        return Err(invalid("lake is NULL"));
    }
    // SAFETY: non-NULL; the caller passes a handle from strata_open* that it has not freed.
    Ok(unsafe { &(*ptr).lake })
}

fn open(config: Result<LakeConfig>, out: *mut *mut strata_lake) -> Result<()> {
    let lake = Lake::open(&config?)?;
    args::put(out, "out", Box::into_raw(Box::new(strata_lake { lake })))
}

/// The library version, e.g. "0.1.0", as a static string (do not free it).
#[no_mangle]
pub extern "C" fn strata_version(out: *mut *const c_char) -> strata_status {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    guard(|| args::put(out, "out", VERSION.as_ptr().cast()))
}

/// Opens the lake described by `config_toml`, a TOML config as in the README (an empty string
/// gives the default: data root `./strata-data`, local hot and cold tiers). On success `*out`
/// is a new handle; on error it is NULL.
#[no_mangle]
pub extern "C" fn strata_open(
    config_toml: *const c_char,
    out: *mut *mut strata_lake,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let text = args::text(config_toml, "config_toml")?;
        open(LakeConfig::from_toml_str(text), out)
    })
}

/// Opens the lake described by the TOML config file at `config_path`.
#[no_mangle]
pub extern "C" fn strata_open_file(
    config_path: *const c_char,
    out: *mut *mut strata_lake,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let path = args::text(config_path, "config_path")?;
        open(LakeConfig::from_file(Path::new(path)), out)
    })
}

/// Opens (creating if needed) a lake with the default layout rooted at directory `dir`.
#[no_mangle]
pub extern "C" fn strata_open_dir(dir: *const c_char, out: *mut *mut strata_lake) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let dir = args::text(dir, "dir")?;
        if dir.is_empty() {
            return Err(invalid("dir is empty"));
        }
        open(Ok(LakeConfig::local(dir)), out)
    })
}

/// Closes a lake: flushes read statistics, releases the data root's lock and frees the handle.
/// NULL is ignored. No other thread may be using the handle. A stream from `strata_lake_scan`
/// holds its own share of the lake and stays readable after this: the data root is closed
/// (and its lock released) when the last such stream is released too.
#[no_mangle]
pub extern "C" fn strata_lake_free(lake: *mut strata_lake) {
    guard_void(|| {
        if !lake.is_null() {
            // SAFETY: the pointer came from Box::into_raw in open and is freed once.
            drop(unsafe { Box::from_raw(lake) });
        }
    })
}
