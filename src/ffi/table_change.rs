//! Table changes from C: delete, update, merge from an Arrow C Stream or IPC bytes, and
//! optimize; each reports what it did as JSON.

use std::ffi::c_char;

use arrow::ffi_stream::FFI_ArrowArrayStream;
use serde::Deserialize;

use super::args;
use super::guard::{guard, invalid, strata_status};
use super::stream::take_stream;
use super::table::{strata_table, table};
use super::write::{collect, read_ipc};
use crate::error::Result;
use crate::table::{MergeOptions, OptimizeOptions, Table, WhenMatched, WhenNotMatched};

/// Deletes the rows of the table matching `predicate` (strata's filter syntax) as one new
/// version, rewriting only the files that hold them. `*report_json` (may be NULL) receives
/// `{"version", "rows_deleted", "rows_updated", "rows_inserted", "rows_copied",
/// "files_scanned", "files_skipped", "files_removed", "files_added", "bytes_added"}` (version
/// null when no row matched and nothing was committed), to free with `strata_string_free`.
/// An unknown column is `STRATA_INVALID_ARGUMENT`; a concurrent commit `STRATA_BUSY`.
#[no_mangle]
pub extern "C" fn strata_table_delete(
    table: *const strata_table,
    predicate: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::put_opt(report_json, std::ptr::null_mut());
        let table = self::table(table)?;
        let predicate = args::text(predicate, "predicate")?;
        let report = table.delete(predicate)?;
        put_report(report_json, &report)
    })
}

/// Sets columns of the rows matching `predicate` (NULL: every row) as one new version: `set`
/// is `"col = value, ..."`, each value a literal, NULL or another column. A value that does
/// not fit its column is `STRATA_INVALID_ARGUMENT` and nothing is written. `*report_json` as
/// for `strata_table_delete`.
#[no_mangle]
pub extern "C" fn strata_table_update(
    table: *const strata_table,
    predicate: *const c_char,
    set: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::put_opt(report_json, std::ptr::null_mut());
        let table = self::table(table)?;
        let predicate = args::opt_text(predicate, "predicate")?;
        let set = args::text(set, "set")?;
        let report = table.update(predicate, set)?;
        put_report(report_json, &report)
    })
}

/// How to merge: `{"on": ["id"], "when_matched": "update"|"delete"|"ignore",
/// "update_columns": [...], "when_not_matched": "insert"|"ignore",
/// "delete_not_matched_by_source": false}`; `on` is required.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeJson {
    on: Vec<String>,
    #[serde(default)]
    when_matched: Option<String>,
    #[serde(default)]
    update_columns: Option<Vec<String>>,
    #[serde(default)]
    when_not_matched: Option<String>,
    #[serde(default)]
    delete_not_matched_by_source: bool,
}

pub(super) fn merge_options(text: &str) -> Result<MergeOptions> {
    let json: MergeJson = serde_json::from_str(text)
        .map_err(|e| invalid(format!("options_json: {e}")).set_source(e))?;
    let when_matched = match json.when_matched.as_deref().unwrap_or("update") {
        "update" => WhenMatched::Update,
        "delete" => WhenMatched::Delete,
        "ignore" => WhenMatched::Ignore,
        other => {
            return Err(invalid(format!(
                "options_json: when_matched {other:?} is not update, delete or ignore"
            )))
        }
    };
    let when_not_matched = match json.when_not_matched.as_deref().unwrap_or("insert") {
        "insert" => WhenNotMatched::Insert,
        "ignore" => WhenNotMatched::Ignore,
        other => {
            return Err(invalid(format!(
                "options_json: when_not_matched {other:?} is not insert or ignore"
            )))
        }
    };
    Ok(MergeOptions {
        on: json.on,
        when_matched,
        update_columns: json.update_columns,
        when_not_matched,
        delete_not_matched_by_source: json.delete_not_matched_by_source,
    })
}

fn merge(
    table: &Table,
    source: Vec<arrow::array::RecordBatch>,
    options_json: &str,
    report_json: *mut *mut c_char,
) -> Result<()> {
    let options = merge_options(options_json)?;
    let report = table.merge(&source, &options)?;
    put_report(report_json, &report)
}

/// Merges the batches of the Arrow C Stream `stream` (one row per key) into the table as one
/// new version, as `options_json` says (an upsert by default; see the JSON above, `on`
/// required). A key of two source rows is `STRATA_INVALID_ARGUMENT` naming it, and nothing is
/// written. `*report_json` as for `strata_table_delete`. The stream is always consumed and
/// released.
#[no_mangle]
pub extern "C" fn strata_table_merge(
    table: *const strata_table,
    stream: *mut FFI_ArrowArrayStream,
    options_json: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        let reader = take_stream(stream)?;
        args::put_opt(report_json, std::ptr::null_mut());
        let table = self::table(table)?;
        let options = args::text(options_json, "options_json")?;
        merge(table, collect(reader)?.1, options, report_json)
    })
}

/// Like `strata_table_merge`, with the source as `len` bytes of Arrow IPC stream at `data`.
#[no_mangle]
pub extern "C" fn strata_table_merge_ipc(
    table: *const strata_table,
    data: *const u8,
    len: usize,
    options_json: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::put_opt(report_json, std::ptr::null_mut());
        let table = self::table(table)?;
        let data = args::bytes(data, len, "data")?;
        let options = args::text(options_json, "options_json")?;
        merge(table, read_ipc(data)?.1, options, report_json)
    })
}

/// How to optimize: `{"zorder_by": ["a", "b"], "where": "day = '2026-12-01'",
/// "target_file_bytes": 134217728}`, every key optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OptimizeJson {
    #[serde(default)]
    zorder_by: Vec<String>,
    #[serde(default, rename = "where")]
    predicate: Option<String>,
    #[serde(default)]
    target_file_bytes: Option<u64>,
    #[serde(default)]
    reencode: bool,
}

/// Compacts the table's small files per partition, or z-orders them by up to 4 columns, as
/// one commit that changes no row; `options_json` (NULL or "" for compaction of every
/// partition) is `{"zorder_by": [...], "where": "PARTITION_EXPR", "target_file_bytes": N,
/// "reencode": true}` (`reencode`: rewrite every file under the table's codec policy).
/// `*report_json` (may be NULL) receives `{"version", "partitions", "files_before",
/// "bytes_before", "files_after", "bytes_after", "attempts", "zorder": [...]}`, to free with
/// `strata_string_free`.
#[no_mangle]
pub extern "C" fn strata_table_optimize(
    table: *const strata_table,
    options_json: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::put_opt(report_json, std::ptr::null_mut());
        let table = self::table(table)?;
        let options: OptimizeJson =
            match args::opt_text(options_json, "options_json")?.filter(|t| !t.trim().is_empty()) {
                Some(text) => serde_json::from_str(text)
                    .map_err(|e| invalid(format!("options_json: {e}")).set_source(e))?,
                None => OptimizeJson::default(),
            };
        let report = table.optimize(&OptimizeOptions {
            zorder_by: options.zorder_by,
            predicate: options.predicate,
            target_file_bytes: options.target_file_bytes,
            reencode: options.reencode,
        })?;
        if report_json.is_null() {
            return Ok(());
        }
        args::put_json(report_json, "report_json", &report)
    })
}

fn put_report(out: *mut *mut c_char, report: &crate::table::ChangeReport) -> Result<()> {
    if out.is_null() {
        return Ok(());
    }
    args::put_json(out, "report_json", report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_options_parse_and_bad_ones_are_errors() {
        let o = merge_options(r#"{"on":["id"],"when_matched":"delete"}"#).unwrap();
        assert_eq!(o.on, ["id"]);
        assert_eq!(o.when_matched, WhenMatched::Delete);
        assert_eq!(o.when_not_matched, WhenNotMatched::Insert);
        for bad in [
            "",
            "{}",
            r#"{"on":"id"}"#,
            r#"{"on":["id"],"when_matched":"upsert"}"#,
            r#"{"on":["id"],"when_not_matched":"delete"}"#,
            r#"{"on":["id"],"extra":1}"#,
        ] {
            assert!(merge_options(bad).is_err(), "{bad}");
        }
    }
}
