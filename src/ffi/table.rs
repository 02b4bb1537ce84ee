//! Delta tables from C: open a lake's table, append (creating it) from an Arrow C Stream or
//! IPC bytes, scan a version into an Arrow C Stream or IPC bytes, history as JSON.

use std::ffi::c_char;

use arrow::ffi_stream::FFI_ArrowArrayStream;
use serde::Deserialize;

use super::args;
use super::buffers::{put_bytes, strata_bytes};
use super::guard::{guard, invalid, strata_status};
use super::lake::{lake, strata_lake};
use super::stream::{clear_out_stream, export_scan, scan_ipc_bytes, take_stream, with_options};
use super::write::{collect, read_ipc};
use crate::error::Result;
use crate::table::{AsOf, Source, Table, TableOptions};

/// An open table of a lake (a handle; the table need not exist until the first append).
pub struct strata_table {
    table: Table,
}

pub(super) fn table<'a>(ptr: *const strata_table) -> Result<&'a Table> {
    if ptr.is_null() {
        return Err(invalid("table is NULL"));
    }
    // SAFETY: non-NULL; the caller passes a handle from strata_table_open it has not freed.
    Ok(unsafe { &(*ptr).table })
}

/// Opens the table `name` (`zone/name`, e.g. `"silver/trips"`) of `lake` into `*out`, to free
/// with `strata_table_free`; a `name` that is a path (`/data/trips`) or URI
/// (`s3://bucket/prefix`, with the lake's S3 settings) opens the Delta table there. The table
/// need not exist: the first `strata_table_append` creates it. An unknown zone or a bad name
/// is `STRATA_INVALID_ARGUMENT`. The handle is independent of the lake handle (either may be
/// freed first).
#[no_mangle]
pub extern "C" fn strata_table_open(
    lake: *const strata_lake,
    name: *const c_char,
    out: *mut *mut strata_table,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let lake = self::lake(lake)?;
        let name = args::text(name, "name")?;
        let table = lake.table(name)?;
        args::put(out, "out", Box::into_raw(Box::new(strata_table { table })))
    })
}

/// Frees a table handle. NULL is ignored.
#[no_mangle]
pub extern "C" fn strata_table_free(table: *mut strata_table) {
    if !table.is_null() {
        // SAFETY: a handle from strata_table_open, freed once (the caller's contract).
        drop(unsafe { Box::from_raw(table) });
    }
}

/// How a table is created by its first append.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CreateOptions {
    #[serde(default)]
    partition_by: Vec<String>,
    description: Option<String>,
    owner: Option<String>,
    /// A codec policy (`auto`, `fast`, `balanced`, `compact`, `zstd:3`, ...).
    codec: Option<String>,
    /// Data files roll over past this many bytes.
    target_file_bytes: Option<u64>,
    /// Encrypt every data file under this key id of the lake's key provider.
    encryption_key: Option<String>,
}

fn append(
    table: &Table,
    (schema, batches): (arrow::datatypes::SchemaRef, Vec<arrow::array::RecordBatch>),
    options_json: Option<&str>,
    commit_json: *mut *mut c_char,
) -> Result<()> {
    let options: CreateOptions = match options_json.filter(|t| !t.trim().is_empty()) {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| invalid(format!("options_json: {e}")).set_source(e))?,
        None => CreateOptions::default(),
    };
    let commit = if table.exists()? {
        table.append(&batches)?
    } else {
        let codec = options
            .codec
            .map(|c| c.parse::<crate::format::CodecPolicy>())
            .transpose()
            .map_err(|e| invalid(format!("options_json: codec: {e}")))?;
        let options = TableOptions {
            partition_by: options.partition_by,
            description: options.description,
            owner: options.owner,
            codec,
            target_file_bytes: options.target_file_bytes,
            encryption: options
                .encryption_key
                .map(crate::crypto::ParquetEncryption::uniform),
        };
        table.create(&schema, &batches, &options)?
    };
    if commit_json.is_null() {
        return Ok(());
    }
    args::put_json(commit_json, "commit_json", &commit)
}

/// Appends the batches of the Arrow C Stream `stream` to the table as one new version; the
/// first append creates the table with the stream's schema. `options_json` (NULL or "")
/// applies only to that creation: `{"partition_by": ["zone"], "description": "...",
/// "owner": "...", "codec": "zstd:3", "target_file_bytes": 134217728, "encryption_key":
/// "key id"}`. Columns that differ from the table's are `STRATA_INVALID_ARGUMENT`
/// naming them, and nothing is committed; an append that lost a race retries on the next
/// version. On success `*commit_json` (may be NULL) receives `{"version", "files_added",
/// "files_removed", "rows", "bytes"}`, to free with `strata_string_free`. The stream is
/// always consumed and released.
#[no_mangle]
pub extern "C" fn strata_table_append(
    table: *const strata_table,
    stream: *mut FFI_ArrowArrayStream,
    options_json: *const c_char,
    commit_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        let reader = take_stream(stream)?;
        args::put_opt(commit_json, std::ptr::null_mut());
        let table = self::table(table)?;
        let options = args::opt_text(options_json, "options_json")?;
        append(table, collect(reader)?, options, commit_json)
    })
}

/// Like `strata_table_append`, with the batches as `len` bytes of Arrow IPC stream at `data`.
#[no_mangle]
pub extern "C" fn strata_table_append_ipc(
    table: *const strata_table,
    data: *const u8,
    len: usize,
    options_json: *const c_char,
    commit_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::put_opt(commit_json, std::ptr::null_mut());
        let table = self::table(table)?;
        let data = args::bytes(data, len, "data")?;
        let options = args::opt_text(options_json, "options_json")?;
        append(table, read_ipc(data)?, options, commit_json)
    })
}

/// The version to read: `version` when it is 0 or more, else the one current at
/// `timestamp_ms` (ms since the epoch) when that is 0 or more, else the latest.
fn as_of(version: i64, timestamp_ms: i64) -> Result<AsOf> {
    if version >= 0 {
        Ok(AsOf::Version(version as u64))
    } else if timestamp_ms >= 0 {
        std::time::UNIX_EPOCH
            .checked_add(std::time::Duration::from_millis(timestamp_ms as u64))
            .map(AsOf::Time)
            .ok_or_else(|| invalid("timestamp_ms is past what the system clock can hold"))
    } else {
        Ok(AsOf::Latest)
    }
}

/// Scans the table into the Arrow C Stream `*out` as `strata_lake_scan` scans objects
/// (projection, filter, the same setup errors), at `version` (>= 0), else as of
/// `timestamp_ms` (>= 0: the version current then), else the latest (pass -1 for both).
/// A version that does not exist, or a time before the first commit, is `STRATA_NOT_FOUND`.
#[no_mangle]
pub extern "C" fn strata_table_scan(
    table: *const strata_table,
    version: i64,
    timestamp_ms: i64,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
    out: *mut FFI_ArrowArrayStream,
) -> strata_status {
    guard(|| {
        clear_out_stream(out)?;
        let table = self::table(table)?;
        let columns = args::columns(columns, n_columns)?;
        let filter = args::opt_text(filter, "filter")?;
        let scan = table.scan_as_of(as_of(version, timestamp_ms)?)?;
        export_scan(with_options(scan, columns, filter)?, out)
    })
}

/// Like `strata_table_scan`, with the result as Arrow IPC stream bytes (`*out` to free with
/// `strata_bytes_free`; `*data`, `*len` may be NULL).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn strata_table_scan_ipc(
    table: *const strata_table,
    version: i64,
    timestamp_ms: i64,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
    out: *mut *mut strata_bytes,
    data: *mut *const u8,
    len: *mut usize,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let table = self::table(table)?;
        let columns = args::columns(columns, n_columns)?;
        let filter = args::opt_text(filter, "filter")?;
        let scan = table.scan_as_of(as_of(version, timestamp_ms)?)?;
        put_bytes(
            scan_ipc_bytes(with_options(scan, columns, filter)?)?,
            out,
            data,
            len,
        )
    })
}

/// The table's commits, newest first, as a JSON array into `*history_json` (free with
/// `strata_string_free`): each with `version`, `timestamp_ms`, `operation`, `parameters`,
/// `files_added`, `files_removed`, `rows_added`, `bytes_added`, `engine`, `app_id`.
#[no_mangle]
pub extern "C" fn strata_table_history(
    table: *const strata_table,
    history_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(history_json, "history_json")?;
        let table = self::table(table)?;
        args::put_json(history_json, "history_json", &table.history()?)
    })
}

/// One element of `strata_table_reading`'s `sources_json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceArg {
    kind: String,
    name: String,
    version: Option<u64>,
}

/// The sources of `sources_json`, checked: a known kind, a name, a version only on a table.
fn sources(text: &str) -> Result<Vec<Source>> {
    let args: Vec<SourceArg> = serde_json::from_str(text)
        .map_err(|e| invalid(format!("sources_json: {e}")).set_source(e))?;
    args.into_iter()
        .enumerate()
        .map(|(i, s)| {
            if !matches!(s.kind.as_str(), "file" | "object" | "table" | "dataset") {
                return Err(invalid(format!(
                    "sources_json[{i}]: kind is {:?}; it is \"file\", \"object\", \"table\" or \
                     \"dataset\"",
                    s.kind
                )));
            }
            if s.name.trim().is_empty() {
                return Err(invalid(format!("sources_json[{i}]: name is empty")));
            }
            if s.version.is_some() && s.kind != "table" {
                return Err(invalid(format!(
                    "sources_json[{i}]: a version is for a table source, not a {}",
                    s.kind
                )));
            }
            Ok(Source {
                kind: s.kind,
                name: s.name,
                version: s.version,
            })
        })
        .collect()
}

/// A new handle `*out` on the same table as `table`, whose writes are recorded (catalog
/// lineage and OpenLineage inputs) as reading `sources_json`: a JSON array of `{"kind":
/// "file" | "object" | "table" | "dataset", "name": "path, key or zone/name", "version": N}`
/// (`version` optional, for a table only); `[]` records no inputs. Free it with
/// `strata_table_free`; `table` is unchanged. JSON that is not such an array, an unknown kind,
/// an empty name or a version on a source that is not a table is `STRATA_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn strata_table_reading(
    table: *const strata_table,
    sources_json: *const c_char,
    out: *mut *mut strata_table,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let table = self::table(table)?;
        let sources = sources(args::text(sources_json, "sources_json")?)?;
        let table = table.clone().reading(sources);
        args::put(out, "out", Box::into_raw(Box::new(strata_table { table })))
    })
}
