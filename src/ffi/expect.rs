//! Expectations on table appends and merges from C: a streaming service appends batch by
//! batch and hears, per call, how many rows were kept and how many quarantined.

use std::ffi::c_char;

use arrow::array::RecordBatch;
use arrow::ffi_stream::FFI_ArrowArrayStream;

use super::args;
use super::guard::{guard, strata_status};
use super::lake::{lake, strata_lake};
use super::quality::rules;
use super::stream::take_stream;
use super::table_change::merge_options;
use super::write::{collect, read_ipc};
use crate::error::Result;

/// Appends `batches` to table `name` with expectations, or merges them when `merge` holds the
/// merge's options JSON, and writes the report to `report_json` (when not NULL).
fn expecting(
    lake: *const strata_lake,
    name: *const c_char,
    batches: Vec<RecordBatch>,
    merge: Option<*const c_char>,
    rules_text: *const c_char,
    report_json: *mut *mut c_char,
) -> Result<()> {
    let lake = self::lake(lake)?;
    let name = args::text(name, "name")?;
    let merge = match merge {
        Some(options) => Some(merge_options(args::text(options, "options_json")?)?),
        None => None,
    };
    let rules = rules(rules_text)?;
    let report = match &merge {
        None => lake.append_expecting(name, &batches, &rules)?,
        Some(options) => lake.merge_expecting(name, &batches, options, &rules)?,
    };
    if report_json.is_null() {
        return Ok(());
    }
    args::put_json(report_json, "report_json", &report)
}

/// Appends the batches of the Arrow C Stream `stream` to the existing table `name` of `lake`,
/// with `rules` (a quality rules file's text, TOML, or JSON when it starts with `{`) as
/// expectations: each rule's `expect` says what happens to the rows that fail it: `"warn"`
/// (the default) keeps and counts them, `"drop"` writes them to the table `<name>__quarantine`
/// (created on first use, with an `_errors` column naming the failed rules) and commits the
/// rest, `"fail"` commits nothing. On success `*report_json` (may be NULL; free it with
/// `strata_string_free`) receives `{"version" (null when no row was kept), "rows", "kept",
/// "quarantined", "quarantine": [name, version] or null, "expectations": [{"rule", "expect",
/// "failed"}]}`. The stream is always consumed and released.
///
/// Returns `STRATA_CONFIG` for rules that do not parse; `STRATA_INVALID_ARGUMENT` for a NULL
/// argument, a rule on a column the rows lack, or a failing `"fail"` rule (the message names it; nothing is committed);
/// `STRATA_NOT_FOUND` when the table does not exist; `STRATA_PERMISSION_DENIED` when the
/// handle's principal may not write the table or its quarantine.
#[no_mangle]
pub extern "C" fn strata_lake_append_expecting(
    lake: *const strata_lake,
    name: *const c_char,
    stream: *mut FFI_ArrowArrayStream,
    rules: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        let reader = take_stream(stream)?;
        args::put_opt(report_json, std::ptr::null_mut());
        expecting(lake, name, collect(reader)?.1, None, rules, report_json)
    })
}

/// Like `strata_lake_append_expecting`, with the batches as `len` bytes of Arrow IPC stream
/// at `data`.
#[no_mangle]
pub extern "C" fn strata_lake_append_expecting_ipc(
    lake: *const strata_lake,
    name: *const c_char,
    data: *const u8,
    len: usize,
    rules: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::put_opt(report_json, std::ptr::null_mut());
        let data = args::bytes(data, len, "data")?;
        expecting(lake, name, read_ipc(data)?.1, None, rules, report_json)
    })
}

/// Merges the batches of the Arrow C Stream `stream` (one row per key) into the existing table
/// `name` of `lake` as `options_json` says (as for `strata_table_merge`: `{"on": ["id"], ...}`,
/// `on` required), with `rules` as expectations on the source rows, as
/// `strata_lake_append_expecting` has them: rows failing a `"drop"` rule go to
/// `<name>__quarantine` and are not merged, a failing `"fail"` rule merges nothing. On success
/// `*report_json` (may be NULL; free it with `strata_string_free`) receives the report
/// `strata_lake_append_expecting` gives, `version` being the merge's. The stream is always
/// consumed and released.
///
/// Statuses as for `strata_lake_append_expecting`; also `STRATA_INVALID_ARGUMENT` for
/// `options_json` that does not parse or two kept source rows with one key (nothing merged;
/// rows already quarantined stay quarantined).
#[no_mangle]
pub extern "C" fn strata_lake_merge_expecting(
    lake: *const strata_lake,
    name: *const c_char,
    stream: *mut FFI_ArrowArrayStream,
    options_json: *const c_char,
    rules: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        let reader = take_stream(stream)?;
        args::put_opt(report_json, std::ptr::null_mut());
        expecting(
            lake,
            name,
            collect(reader)?.1,
            Some(options_json),
            rules,
            report_json,
        )
    })
}

/// Like `strata_lake_merge_expecting`, with the source rows as `len` bytes of Arrow IPC stream
/// at `data`.
#[no_mangle]
pub extern "C" fn strata_lake_merge_expecting_ipc(
    lake: *const strata_lake,
    name: *const c_char,
    data: *const u8,
    len: usize,
    options_json: *const c_char,
    rules: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::put_opt(report_json, std::ptr::null_mut());
        let data = args::bytes(data, len, "data")?;
        expecting(
            lake,
            name,
            read_ipc(data)?.1,
            Some(options_json),
            rules,
            report_json,
        )
    })
}
