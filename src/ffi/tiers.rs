//! Running the tier policies (lifecycle moves, retention deletes) from C.

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
