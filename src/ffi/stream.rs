//! Arrow C Stream functions: scans of files and of lake objects out to C, and the same scans
//! as Arrow IPC stream bytes (for bindings without an Arrow library, such as Go's standard
//! library). Writes from a C stream are in `write`.
//!
//! Batches cross as Arrow C Data Interface structs: the exported arrays point at the buffers
//! the scan decoded, so nothing is copied at the boundary.

use std::ffi::c_char;

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::error::ArrowError;
use arrow::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use arrow::ipc::writer::StreamWriter;
use bytes::Bytes;

use super::args;
use super::buffers::{put_bytes, strata_bytes};
use super::guard::{guard, invalid, strata_status};
use super::lake::{lake, strata_lake};
use super::scan_options;
use crate::{Error, ErrorKind, Expr, Result, Scan, ScanReader};

pub(crate) fn arrow_error(err: ArrowError) -> Error {
    Error::from(err)
}

/// Takes ownership of the caller's input stream (leaving it released, as the Arrow C Stream
/// interface asks of consumers) and wraps it as a batch reader.
pub(crate) fn take_stream(stream: *mut FFI_ArrowArrayStream) -> Result<ArrowArrayStreamReader> {
    if stream.is_null() {
        return Err(invalid("stream is NULL"));
    }
    // SAFETY: non-NULL; the caller passes an initialized stream it owns. from_raw moves it out
    // and leaves a released stream behind, so the caller's copy is never released twice.
    let reader = unsafe { ArrowArrayStreamReader::from_raw(stream) };
    reader.map_err(arrow_error)
}

/// Checks the caller's out stream and marks it released, so a caller that releases whatever
/// `release` is set on never calls a garbage pointer after an error.
pub(crate) fn clear_out_stream(out: *mut FFI_ArrowArrayStream) -> Result<()> {
    args::put(out, "out", FFI_ArrowArrayStream::empty())
}

/// A scan's batches for the Arrow C Stream: strata's errors become the Arrow error whose errno
/// `get_next` returns fits them best (`EIO` for I/O and remote tiers, `ENOSYS` for unsupported
/// features, `EINVAL` for the rest), so a C consumer can tell a failed read from damaged data.
struct CStreamReader(ScanReader);

impl Iterator for CStreamReader {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_batch().map_err(stream_error).transpose()
    }
}

impl RecordBatchReader for CStreamReader {
    fn schema(&self) -> arrow::datatypes::SchemaRef {
        self.0.schema()
    }
}

fn stream_error(err: Error) -> ArrowError {
    match err.kind() {
        ErrorKind::Io | ErrorKind::Remote => {
            ArrowError::IoError(err.to_string(), std::io::Error::other(err))
        }
        ErrorKind::Unsupported => ArrowError::NotYetImplemented(err.to_string()),
        _ => ArrowError::ExternalError(Box::new(err)),
    }
}

/// Exports `reader` through the caller's out stream.
pub(crate) fn export_stream(
    reader: Box<dyn RecordBatchReader + Send>,
    out: *mut FFI_ArrowArrayStream,
) -> Result<()> {
    args::put(out, "out", FFI_ArrowArrayStream::new(reader))
}

/// Rows per batch of a scan exported through the C ABI. Every batch crosses the ABI and the
/// consumer's import once (an `ArrowArray` with its children, released one by one), which
/// costs the same for 8K rows as for 64K: with the scan default of 8192, a pyarrow consumer
/// of a 2-column projection of 24M rows spent longer importing its 2,930 batches than strata
/// spent decoding them.
const STREAM_BATCH_ROWS: usize = 65_536;

/// The deepest nesting of parentheses, `AND`, `OR` and `NOT` a scan filter may have; a deeper
/// one is refused with `STRATA_INVALID_ARGUMENT` (by `strata_scan` and `strata_scan_ipc`)
/// without being walked, however deep it is.
#[allow(dead_code)] // for C; Rust uses `Expr::MAX_DEPTH`, equal by test
pub const STRATA_MAX_FILTER_DEPTH: usize = 256;

fn scan_of(
    path: *const c_char,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
) -> Result<Scan> {
    let path = args::text(path, "path")?;
    configure(Scan::new(path), columns, n_columns, filter)
}

/// A scan of lake object (or prefix of objects) `key`, configured as `strata_scan` is.
fn lake_scan_of(
    lake: *const strata_lake,
    key: *const c_char,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
) -> Result<Scan> {
    let lake = self::lake(lake)?;
    let key = args::text(key, "key")?;
    // The arguments are all checked before the lake is asked anything.
    let columns = args::columns(columns, n_columns)?;
    let filter = args::opt_text(filter, "filter")?;
    with_options(lake.scan(key)?, columns, filter)
}

/// `scan` with the C arguments' columns and filter, and the stream's batch size.
fn configure(
    scan: Scan,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
) -> Result<Scan> {
    let columns = args::columns(columns, n_columns)?;
    let filter = args::opt_text(filter, "filter")?;
    with_options(scan, columns, filter)
}

pub(crate) fn with_options(
    scan: Scan,
    columns: Option<Vec<String>>,
    filter: Option<&str>,
) -> Result<Scan> {
    let mut scan = scan.batch_size(STREAM_BATCH_ROWS);
    if let Some(columns) = &columns {
        scan = scan.columns(columns);
    }
    if let Some(filter) = filter.filter(|f| !f.trim().is_empty()) {
        scan = scan.filter(Expr::parse(filter)?);
    }
    Ok(scan)
}

/// Exports a scan's batches through the caller's out stream: setup errors (the input, its
/// columns, the filter) come from here, before any batch is handed out.
pub(crate) fn export_scan(scan: Scan, out: *mut FFI_ArrowArrayStream) -> Result<()> {
    let reader = scan.reader()?;
    export_stream(Box::new(CStreamReader(reader)), out)
}

/// A scan's batches as Arrow IPC stream bytes, encoded as they come: the decoded batches are
/// never all held at once.
pub(crate) fn scan_ipc_bytes(scan: Scan) -> Result<Bytes> {
    let mut reader = scan.reader()?;
    let mut buf = Vec::new();
    let mut writer = StreamWriter::try_new(&mut buf, &reader.schema()).map_err(arrow_error)?;
    while let Some(batch) = reader.next_batch()? {
        writer.write(&batch).map_err(arrow_error)?;
    }
    writer.finish().map_err(arrow_error)?;
    drop(writer);
    Ok(Bytes::from(buf))
}

/// Scans the Parquet file or directory of Parquet files (Hive partitions too) at `path` into
/// the Arrow C Stream `*out`, which the caller must release (`out->release(out)`). On error
/// `*out` is a released stream (`release` is NULL).
///
/// `columns` lists `n_columns` column names to return in that order (NULL and 0 for all;
/// dotted paths select inside structs). `filter` is a row filter such as
/// `"dep_delay > 60 AND origin IN ('JFK','LGA')"`, or NULL / "" for all rows.
///
/// Every error in the scan's setup is returned here, before any batch is read, with the
/// status `strata_scan_ipc`, the Go binding and the C++ wrapper also give for it:
///  - `STRATA_NOT_FOUND`: `path`, a column in `columns` or a column the filter reads does not
///    exist (the message names it);
///  - `STRATA_INVALID_ARGUMENT`: NULL or non-UTF-8 arguments, a filter that does not parse, one
///    nested deeper than `STRATA_MAX_FILTER_DEPTH` levels, or one comparing a column with a
///    literal of another kind (`id = 'abc'` on an integer column; the message names the
///    column);
///  - `STRATA_CORRUPT`, `STRATA_IO`, `STRATA_CRYPTO`: a footer that cannot be read.
///
/// Batches (up to 65,536 rows each) are decoded as the stream is read, a few ahead on a thread
/// of strata's, so memory stays bounded however large the input. Only an error met while
/// decoding (damaged pages, a failed read) comes from the stream: `get_next` returns an errno
/// code as the Arrow C Stream interface specifies (`EIO` for I/O, `EINVAL` otherwise) and
/// `get_last_error` says what happened. Releasing the stream early stops the scan.
#[no_mangle]
pub extern "C" fn strata_scan(
    path: *const c_char,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
    out: *mut FFI_ArrowArrayStream,
) -> strata_status {
    guard(|| {
        clear_out_stream(out)?;
        export_scan(scan_of(path, columns, n_columns, filter)?, out)
    })
}

/// Like `strata_scan`, with scan settings in `options_json` (NULL or "": none), a JSON object
/// with any of these keys:
///  - `"string_views"` (bool, default false): top-level string and binary columns come out as
///    Arrow string views (`Utf8View` "vu", `BinaryView` "vz") instead of `Utf8` and `Binary`.
///    Dictionary-encoded strings (pyarrow's and DuckDB's default) then decode into views of
///    the dictionary without their bytes being copied: a full scan of such a file is much
///    cheaper, for hosts whose Arrow library imports views (pyarrow 16+, polars, DuckDB,
///    arrow-rs, Arrow C++ 15+). Nested and partition columns keep their types.
///  - `"threads"` (1 to 1024): decoding threads (default: strata's pool, one per core, or
///    `RAYON_NUM_THREADS`).
///  - `"batch_size"` (1 to 16777216): rows per batch (default 65,536).
///  - `"keep_order"` (bool, default true): false hands batches out as they are decoded, in no
///    fixed order.
///
/// An unknown key, a value of the wrong type or out of range is `STRATA_INVALID_ARGUMENT`
/// naming the key, as is JSON that does not parse; otherwise everything is as `strata_scan`.
#[no_mangle]
pub extern "C" fn strata_scan_opts(
    path: *const c_char,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
    options_json: *const c_char,
    out: *mut FFI_ArrowArrayStream,
) -> strata_status {
    guard(|| {
        clear_out_stream(out)?;
        let scan = scan_of(path, columns, n_columns, filter)?;
        let options = args::opt_text(options_json, "options_json")?;
        export_scan(scan_options::apply(scan, options)?, out)
    })
}

/// Counts the rows of the Parquet file or directory at `path` that pass `filter` (NULL or "":
/// all rows, from the footers alone) into `*rows`, as `SELECT count(*) ... WHERE` would,
/// without building the rows: only the filter's columns are decoded. `options_json` takes
/// `strata_scan_opts`' keys (`threads` is the one that matters to a count). Statuses as
/// `strata_scan`, plus `STRATA_INVALID_ARGUMENT` for a NULL `rows`; `*rows` is 0 after an
/// error.
#[no_mangle]
pub extern "C" fn strata_scan_count(
    path: *const c_char,
    filter: *const c_char,
    options_json: *const c_char,
    rows: *mut u64,
) -> strata_status {
    guard(|| {
        args::put(rows, "rows", 0)?;
        let scan = scan_of(path, std::ptr::null(), 0, filter)?;
        let options = args::opt_text(options_json, "options_json")?;
        let (n, _) = scan_options::apply(scan, options)?.count()?;
        args::put(rows, "rows", n)
    })
}

/// Like `strata_scan`, but returns the result as Arrow IPC stream bytes (schema message, record
/// batches, end marker) that any Arrow library can read. `*out` receives a handle to free with
/// `strata_bytes_free`; `*data` and `*len` (either may be NULL) the bytes. Setup errors have
/// the statuses `strata_scan` gives; an error while decoding is returned with its own status
/// (`STRATA_CORRUPT`, `STRATA_IO`, ...).
#[no_mangle]
pub extern "C" fn strata_scan_ipc(
    path: *const c_char,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
    out: *mut *mut strata_bytes,
    data: *mut *const u8,
    len: *mut usize,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let bytes = scan_ipc_bytes(scan_of(path, columns, n_columns, filter)?)?;
        put_bytes(bytes, out, data, len)
    })
}

/// Scans the lake object `key` into the Arrow C Stream `*out`, as `strata_scan` scans a file,
/// with the same `columns`, `n_columns` and `filter` arguments, the same statuses for the same
/// setup errors (returned here, before any batch is read; `STRATA_NOT_FOUND` when `key` is
/// neither an object nor a prefix of Parquet objects) and the same stream (batches decoded as
/// it is read; released by the caller; a released stream on error).
///
/// The object is read wherever it lives: a hot or cold local tier, an S3 tier, through the
/// lake's cache; an object sealed by the lake's encryption policy is decrypted, and a Parquet
/// file with modular encryption is read with keys from the lake's key provider (its key ring,
/// or the one `strata_set_key_provider` installed).
///
/// A `key` that is no object but a prefix of objects (`sales` for `sales/region=eu/...`, as
/// `strata_lake_write` writes them; `sales/`, with the `/`, names only the prefix) scans every
/// `.parquet` object under it as one dataset, with Hive partition columns (`region`) from the
/// keys, as `strata_scan` scans a directory; a filter on a partition column skips whole
/// objects.
///
/// The stream holds its own share of the lake: `strata_lake_free` may be called while it is
/// still being read, and the data root stays open (and locked) until the stream is released.
#[no_mangle]
pub extern "C" fn strata_lake_scan(
    lake: *const strata_lake,
    key: *const c_char,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
    out: *mut FFI_ArrowArrayStream,
) -> strata_status {
    guard(|| {
        clear_out_stream(out)?;
        export_scan(lake_scan_of(lake, key, columns, n_columns, filter)?, out)
    })
}

/// Like `strata_lake_scan`, with the scan settings `strata_scan_opts` takes in
/// `options_json` (NULL or "": none); a bad option is `STRATA_INVALID_ARGUMENT` naming it.
#[no_mangle]
pub extern "C" fn strata_lake_scan_opts(
    lake: *const strata_lake,
    key: *const c_char,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
    options_json: *const c_char,
    out: *mut FFI_ArrowArrayStream,
) -> strata_status {
    guard(|| {
        clear_out_stream(out)?;
        // The options are checked before the lake is asked anything.
        let options = args::opt_text(options_json, "options_json")?;
        scan_options::apply(Scan::new("options check"), options)?;
        let scan = lake_scan_of(lake, key, columns, n_columns, filter)?;
        export_scan(scan_options::apply(scan, options)?, out)
    })
}

/// Like `strata_lake_scan`, but returns the result as Arrow IPC stream bytes, as
/// `strata_scan_ipc` does for files: `*out` receives a handle to free with `strata_bytes_free`,
/// `*data` and `*len` (either may be NULL) the bytes. An error while decoding is returned with
/// its own status.
#[no_mangle]
pub extern "C" fn strata_lake_scan_ipc(
    lake: *const strata_lake,
    key: *const c_char,
    columns: *const *const c_char,
    n_columns: usize,
    filter: *const c_char,
    out: *mut *mut strata_bytes,
    data: *mut *const u8,
    len: *mut usize,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let bytes = scan_ipc_bytes(lake_scan_of(lake, key, columns, n_columns, filter)?)?;
        put_bytes(bytes, out, data, len)
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array};
    use parquet::arrow::ArrowWriter;

    use super::super::guard::STRATA_OK;
    use super::*;

    #[test]
    fn the_c_filter_depth_is_the_rust_one() {
        assert_eq!(STRATA_MAX_FILTER_DEPTH, Expr::MAX_DEPTH);
    }

    #[test]
    fn the_stream_hands_out_large_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.parquet");
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..100_000));
        let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let c_path = CString::new(path.to_str().unwrap()).unwrap();
        let mut stream = FFI_ArrowArrayStream::empty();
        let status = strata_scan(
            c_path.as_ptr(),
            std::ptr::null(),
            0,
            std::ptr::null(),
            &mut stream,
        );
        assert_eq!(status, STRATA_OK);
        let reader = ArrowArrayStreamReader::try_new(stream).unwrap();
        let rows: Vec<usize> = reader.map(|b| b.unwrap().num_rows()).collect();
        assert_eq!(rows, vec![STREAM_BATCH_ROWS, 100_000 - STREAM_BATCH_ROWS]);
    }
}
