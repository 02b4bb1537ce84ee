//! Running the tier policies (lifecycle moves, retention deletes) and reading the cache
//! statistics from C.

use std::ffi::c_char;
use std::time::{Duration, UNIX_EPOCH};

use super::args;
use super::guard::{guard, strata_status};
use super::lake::{lake, strata_lake};
use crate::RunOptions;

/// Applies the lake's lifecycle and retention policies. With `dry_run` nothing changes and the
/// report lists what would happen. `now_ms` is the time the policies are evaluated at (ms since
/// the Unix epoch; 0 means now), which lets callers preview the future. `*json` receives the
/// report (dry_run, actions, moved, bytes_moved, expired, orphans_removed, failed); free it with
/// `strata_string_free`.
#[no_mangle]
pub extern "C" fn strata_tier_run(
    lake: *const strata_lake,
    dry_run: bool,
    now_ms: u64,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let store = self::lake(lake)?;
        let options = RunOptions {
            dry_run,
            now: (now_ms != 0).then(|| UNIX_EPOCH + Duration::from_millis(now_ms)),
            ..RunOptions::default()
        };
        let report = store.run_tiers(&options, &|_, _| {})?;
        args::put_json(json, "json", &report)
    })
}

/// The lake's cache statistics as JSON: `budget`, `bytes`, then per cache (`metadata`,
/// `blocks`, `batches`) `hits`, `misses`, `hit_ratio`, `bytes`, `entries`, `evictions`,
/// `prefetched`, `prefetch_hits` and more, and `tiers`, the fetch latency measured per tier.
/// Free `*json` with `strata_string_free`.
#[no_mangle]
pub extern "C" fn strata_cache_stats_json(
    lake: *const strata_lake,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let store = self::lake(lake)?;
        args::put_json(json, "json", &store.cache_stats())
    })
}

/// Drops the cached blocks of every object whose key starts with `prefix` ("" for all).
#[no_mangle]
pub extern "C" fn strata_cache_invalidate(
    lake: *const strata_lake,
    prefix: *const c_char,
) -> strata_status {
    guard(|| {
        let store = self::lake(lake)?;
        let prefix = args::text(prefix, "prefix")?;
        store.invalidate_cache(prefix);
        Ok(())
    })
}
