//! Arrow C Stream functions: scans out to C, Parquet written from a C stream, scans as Arrow
//! IPC stream bytes (for bindings without an Arrow library, such as Go's standard library).
//!
//! Batches cross as Arrow C Data Interface structs: the exported arrays point at the buffers
//! the scan decoded, so nothing is copied at the boundary.

use std::ffi::c_char;
use std::path::Path;

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::error::ArrowError;
use arrow::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use arrow::ipc::writer::StreamWriter;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;

use super::args;
use super::buffers::{put_bytes, strata_bytes};
use super::guard::{guard, invalid, strata_status};
use super::lake::{lake, strata_lake};
use super::objects::strata_object_info;
use crate::{AtomicFile, Error, ErrorKind, Expr, Result, Scan, ScanReader};

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
    let columns = args::columns(columns, n_columns)?;
    let filter = args::opt_text(filter, "filter")?;
    let mut scan = Scan::new(path).batch_size(STREAM_BATCH_ROWS);
    if let Some(columns) = &columns {
        scan = scan.columns(columns);
    }
    if let Some(filter) = filter.filter(|f| !f.trim().is_empty()) {
        scan = scan.filter(Expr::parse(filter)?);
    }
    Ok(scan)
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
        let reader = scan_of(path, columns, n_columns, filter)?.reader()?;
        export_stream(Box::new(CStreamReader(reader)), out)
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
        // Encoded as the batches come: the decoded batches are never all held at once.
        let mut reader = scan_of(path, columns, n_columns, filter)?.reader()?;
        let mut buf = Vec::new();
        let mut writer = StreamWriter::try_new(&mut buf, &reader.schema()).map_err(arrow_error)?;
        while let Some(batch) = reader.next_batch()? {
            writer.write(&batch).map_err(arrow_error)?;
        }
        writer.finish().map_err(arrow_error)?;
        drop(writer);
        put_bytes(Bytes::from(buf), out, data, len)
    })
}

/// Writes every batch of `reader` as one Parquet file into `sink`.
fn write_parquet<W: std::io::Write + Send>(reader: ArrowArrayStreamReader, sink: W) -> Result<u64> {
    let schema = reader.schema();
    let mut writer = ArrowWriter::try_new(sink, schema, None).map_err(parquet_error)?;
    let mut rows = 0u64;
    for batch in reader {
        let batch: RecordBatch = batch.map_err(arrow_error)?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(parquet_error)?;
    }
    writer.close().map_err(parquet_error)?;
    Ok(rows)
}

fn parquet_error(err: parquet::errors::ParquetError) -> Error {
    Error::from(err)
}

/// Writes the batches of the Arrow C Stream `stream` as a Parquet file at `path`. A regular
/// file (or a new path) is replaced whole or not at all: the bytes go to a staging file created
/// exclusively under an unguessable name beside it, synced and renamed over it. A character
/// device, FIFO or socket is written directly; a symlink is written through; a directory is
/// `STRATA_INVALID_ARGUMENT`. The stream is always consumed and released, even on error.
#[no_mangle]
pub extern "C" fn strata_write_parquet(
    path: *const c_char,
    stream: *mut FFI_ArrowArrayStream,
) -> strata_status {
    guard(|| {
        // Taken before any other argument is checked, so it is released on every path.
        let reader = take_stream(stream)?;
        let path = Path::new(args::text(path, "path")?);
        // Dropped uncommitted on an error: the staging file goes and the target is untouched.
        let mut file = AtomicFile::create(path)?;
        write_parquet(reader, &mut file)?;
        file.commit()
    })
}

/// Writes the batches of the Arrow C Stream `stream` as a Parquet object under `key` in the
/// lake. `info` may be NULL. The stream is always consumed and released, even on error.
#[no_mangle]
pub extern "C" fn strata_put_parquet(
    lake: *const strata_lake,
    key: *const c_char,
    stream: *mut FFI_ArrowArrayStream,
    info: *mut strata_object_info,
) -> strata_status {
    guard(|| {
        // Taken before any other argument is checked, so it is released on every path.
        let reader = take_stream(stream)?;
        let store = self::lake(lake)?;
        let key = args::text(key, "key")?;
        let mut buf = Vec::new();
        write_parquet(reader, &mut buf)?;
        let stored = store.put(key, buf)?;
        args::put_opt(info, strata_object_info::from(&stored));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array};

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
