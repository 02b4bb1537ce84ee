//! Writes from C: an Arrow C Stream (or Arrow IPC stream bytes) as a Parquet file, as a Parquet
//! object of the lake, or as a dataset in the lake. All go through strata's one format writer
//! (codec and encoding chosen per column, statistics and the page index), so a file written
//! from C is the file `strata write` would write.

use std::ffi::c_char;
use std::path::Path;

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::datatypes::SchemaRef;
use arrow::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};

use super::args;
use super::guard::{guard, invalid, strata_status};
use super::lake::{lake, strata_lake};
use super::objects::strata_object_info;
use super::stream::{arrow_error, take_stream};
use super::write_options;
use crate::{format::FormatChoice, Error, Lake, Result, WriteOptions};

/// Every batch of the caller's stream, with its schema.
pub(crate) fn collect(reader: ArrowArrayStreamReader) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(arrow_error)?;
    Ok((schema, batches))
}

/// The batches of Arrow IPC stream bytes (schema message, record batches, end marker).
pub(crate) fn read_ipc(data: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let not_ipc = |e: arrow::error::ArrowError| {
        invalid(format!("data is not an Arrow IPC stream: {e}")).set_source(e)
    };
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(data), None)
        .map_err(not_ipc)?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(not_ipc)?;
    Ok((schema, batches))
}

/// Refuses what the format writer would take for something other than one file: a directory
/// (or a name ending in `/`), which it would fill with a dataset's files, and a path in a
/// directory that does not exist, which it would create. What remains (a regular file or a new
/// name, a device, FIFO or socket, a symlink to any of them) the writer's `AtomicFile` handles.
fn check_output_path(path: &Path) -> Result<()> {
    let text = path.as_os_str().to_string_lossy();
    if text.is_empty() || text.ends_with('/') || path.file_name().is_none() {
        return Err(invalid("the output path names no file").with("path", path.display()));
    }
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(invalid(
            "the output path is a directory; name a regular file, a character device, a FIFO \
             or a socket",
        )
        .with("path", path.display()));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(Error::new(
            crate::ErrorKind::NotFound,
            "cannot create the output file: its directory does not exist",
        )
        .with("path", path.display()));
    }
    Ok(())
}

/// Writes the batches of the Arrow C Stream `stream` as a Parquet file at `path`, through
/// strata's format writer, batch by batch in bounded memory: codec and encoding chosen per
/// column on the first batch (the `auto` codec policy), row groups closed as they fill, page
/// statistics and the page index, strata's metadata.
///
/// A regular file (or a new path) is replaced whole or not at all: the bytes go to a staging
/// file created exclusively under an unguessable name beside it, synced and renamed over it. A
/// character device, FIFO or socket is written directly; a symlink is written through; a
/// directory is `STRATA_INVALID_ARGUMENT`, a path in a directory that does not exist
/// `STRATA_NOT_FOUND`. The stream is always consumed and released, even on error.
#[no_mangle]
pub extern "C" fn strata_write_parquet(
    path: *const c_char,
    stream: *mut FFI_ArrowArrayStream,
) -> strata_status {
    guard(|| {
        // Taken before any other argument is checked, so it is released on every path.
        let reader = take_stream(stream)?;
        let path = Path::new(args::text(path, "path")?);
        check_output_path(path)?;
        let options = WriteOptions {
            format: FormatChoice::Parquet,
            ..WriteOptions::default()
        };
        let schema = reader.schema();
        let file = crate::AtomicFile::create(path)?;
        let mut writer = crate::format::ParquetStreamWriter::new(
            file,
            &schema,
            &options,
            "written through strata_write_parquet",
        )?;
        for batch in reader {
            writer.write(&batch.map_err(arrow_error)?)?;
        }
        // A failure before this point drops the staging file; the target is untouched.
        writer.finish()?.commit()
    })
}

/// Writes the batches of the Arrow C Stream `stream` as a Parquet object under `key` in the
/// lake, replacing any object there atomically. The file is written as `strata_lake_write`
/// writes one with no options: through strata's format writer with the codec policy of the
/// tier the lake's placement rules send `key` to (the config's `format.tier_codecs`, else
/// `fast` for the hottest tier and `compact` below), page statistics and the page index; the
/// lake's encryption policy applies to the object. `info` may be NULL. The stream is always
/// consumed and released, even on error.
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
        let lake = self::lake(lake)?;
        let key = args::text(key, "key")?;
        crate::store::validate_key(key)?;
        let options = WriteOptions {
            format: FormatChoice::Parquet,
            ..lake.write_options(key)?
        };
        let (schema, batches) = collect(reader)?;
        let stored = lake.write_object(key, &schema, &batches, &options)?;
        args::put_opt(info, strata_object_info::from(&stored));
        Ok(())
    })
}

/// The dataset name `prefix` as `Lake::write` takes it, checked before any batch is read.
fn dataset_prefix<'a>(prefix: *const c_char) -> Result<&'a str> {
    let prefix = args::text(prefix, "prefix")?;
    let name = prefix.trim_matches('/');
    if name.is_empty() {
        return Err(invalid(
            "a dataset in the lake needs a name (the key prefix of its files)",
        ));
    }
    crate::store::validate_key(name)?;
    Ok(prefix)
}

/// Writes `batches` as dataset `prefix` and hands the summary out as JSON.
fn write_dataset(
    lake: &Lake,
    prefix: &str,
    options: &WriteOptions,
    (schema, batches): (SchemaRef, Vec<RecordBatch>),
    summary_json: *mut *mut c_char,
) -> Result<()> {
    let summary = lake.write(prefix, &schema, &batches, options)?;
    if summary_json.is_null() {
        return Ok(());
    }
    args::put_json(summary_json, "summary_json", &summary)
}

/// Writes the batches of the Arrow C Stream `stream` as the dataset `prefix` of the lake, as
/// `strata write --lake` does: through strata's format writer into files under `prefix/`
/// (Hive `column=value/` directories when partitioned), each put atomically as an object (the
/// lake's placement and encryption policies apply). `strata_lake_scan(lake, prefix, ...)`
/// reads the dataset back. The batches are held in memory until the files are written.
///
/// `options_json` (NULL or "" for the defaults) is a JSON object with any of these keys, the
/// flags of `strata write` (which see for details):
///  - `"codec"`: the codec policy, as `--codec` takes it: `"auto"`, `"fast"`, `"balanced"`,
///    `"compact"`, `"zstd"`, `"zstd:LEVEL"` (1 to 22), `"lz4"`, `"snappy"`, `"gzip"`,
///    `"gzip:LEVEL"` (0 to 9) or `"none"`. Default: the policy of the tier the lake's placement
///    rules send `prefix/` to (the config's `format.tier_codecs`, else `"fast"` for the hottest
///    tier and `"compact"` below);
///  - `"partition_by"`: Hive partition columns, `"region,ts:day"` or `["region", "ts:day"]`
///    (`:year`, `:month`, `:day`, `:hour` cut a timestamp or date column);
///  - `"target_file_size"`: files roll over past this size, bytes or text (`"256MiB"`), 1KiB
///    to 1TiB; default 128MiB;
///  - `"row_group_rows"`: rows per row group, 1 to 1073741824; default 1048576;
///  - `"page_size"`: bytes per data page before compression, bytes or text, 1KiB to 1GiB;
///  - `"format"`: `"auto"` (default), `"parquet"` or `"ipc"`;
///  - `"page_version"`: `"v1"` (default) or `"v2"`;
///  - `"dictionary"`: `"auto"` (default), `"on"` or `"off"`;
///  - `"bloom_filter"`, `"sort_by"`: column names, an array or one comma-separated string;
///  - `"access"`: `"scan"` (default) or `"zero-copy"`;
///  - `"tier"`: the tier the data is meant for: its codec policy is the default codec and its
///    decode-speed floor applies under `"auto"` (placement rules still decide where it goes).
///
/// A key left out or `null` keeps its default. An unknown key, a value of the wrong type or out
/// of its range is `STRATA_INVALID_ARGUMENT` naming the key, and nothing is written.
///
/// On success `*summary_json` (may be NULL if not wanted) receives the write summary as JSON,
/// to free with `strata_string_free`: `format`, `format_reason`, `codec_policy`, `files` (each
/// with the object's `path` (its key), `rows` and `bytes`), `partitions`, `rows`, `bytes_in`,
/// `bytes_out`, `ratio` and `columns` (codec and encoding per column, and why). The stream is
/// always consumed and released, even on error.
#[no_mangle]
pub extern "C" fn strata_lake_write(
    lake: *const strata_lake,
    prefix: *const c_char,
    stream: *mut FFI_ArrowArrayStream,
    options_json: *const c_char,
    summary_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        // Taken before any other argument is checked, so it is released on every path.
        let reader = take_stream(stream)?;
        args::put_opt(summary_json, std::ptr::null_mut());
        let lake = self::lake(lake)?;
        let prefix = dataset_prefix(prefix)?;
        let options = args::opt_text(options_json, "options_json")?;
        let options = write_options::parse(lake, &format!("{prefix}/"), options)?;
        write_dataset(lake, prefix, &options, collect(reader)?, summary_json)
    })
}

/// Like `strata_lake_write`, but the batches come as `len` bytes of Arrow IPC stream at `data`
/// (what `strata_scan_ipc` returns, or any Arrow library writes), for callers without the
/// Arrow C Stream interface (Go's binding). `data` may be NULL only when `len` is 0 (which is
/// not a valid IPC stream). Malformed bytes are `STRATA_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn strata_lake_write_ipc(
    lake: *const strata_lake,
    prefix: *const c_char,
    data: *const u8,
    len: usize,
    options_json: *const c_char,
    summary_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::put_opt(summary_json, std::ptr::null_mut());
        let lake = self::lake(lake)?;
        let prefix = dataset_prefix(prefix)?;
        let data = args::bytes(data, len, "data")?;
        let options = args::opt_text(options_json, "options_json")?;
        let options = write_options::parse(lake, &format!("{prefix}/"), options)?;
        write_dataset(lake, prefix, &options, read_ipc(data)?, summary_json)
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::{CStr, CString};
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, RecordBatchIterator, StringArray};
    use parquet::file::reader::FileReader;
    use parquet::file::serialized_reader::{ReadOptionsBuilder, SerializedFileReader};

    use super::super::guard::{STRATA_INVALID_ARGUMENT, STRATA_NOT_FOUND, STRATA_OK};
    use super::*;

    fn batch() -> RecordBatch {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..600));
        let region: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..600).map(|i| ["a", "b", "c"][i % 3]),
        ));
        RecordBatch::try_from_iter([("id", ids), ("region", region)]).unwrap()
    }

    fn stream() -> FFI_ArrowArrayStream {
        let b = batch();
        let reader =
            RecordBatchIterator::new(vec![Ok(b.slice(0, 250)), Ok(b.slice(250, 350))], b.schema());
        FFI_ArrowArrayStream::new(Box::new(reader))
    }

    /// The codec policy strata recorded in a Parquet file, checking it has a page index.
    fn recorded_policy(bytes: bytes::Bytes) -> String {
        let options = ReadOptionsBuilder::new().with_page_index().build();
        let reader = SerializedFileReader::new_with_options(bytes, options).unwrap();
        let meta = reader.metadata();
        assert!(meta.offset_index().is_some(), "no page index");
        let kv = meta.file_metadata().key_value_metadata().unwrap();
        kv.iter()
            .find(|kv| kv.key == crate::format::metadata_keys::CODEC_POLICY)
            .and_then(|kv| kv.value.clone())
            .unwrap()
    }

    fn open_lake(dir: &Path) -> *mut strata_lake {
        let lake = Lake::open_dir(dir).unwrap();
        Box::into_raw(Box::new(strata_lake { lake }))
    }

    #[test]
    fn files_and_objects_come_from_the_format_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.parquet");
        let c_path = CString::new(path.to_str().unwrap()).unwrap();
        let mut s = stream();
        assert_eq!(strata_write_parquet(c_path.as_ptr(), &mut s), STRATA_OK);
        assert!(s.release.is_none());
        assert_eq!(
            recorded_policy(std::fs::read(&path).unwrap().into()),
            "auto"
        );

        let handle = open_lake(&dir.path().join("lake"));
        let mut s = stream();
        let mut info = strata_object_info::default();
        let status = strata_put_parquet(handle, c"t/ids.parquet".as_ptr(), &mut s, &mut info);
        assert_eq!(status, STRATA_OK);
        // SAFETY: the handle is live until freed below.
        let lake = unsafe { &(*handle).lake };
        let bytes = lake.get("t/ids.parquet").unwrap();
        assert_eq!(info.size, bytes.len() as u64);
        // The default layout puts it on the hot tier, whose policy is `fast`.
        assert_eq!(recorded_policy(bytes), "fast");
        let out = lake.scan("t/ids.parquet").unwrap().run().unwrap();
        assert_eq!(out.stats.rows_out, 600);

        // A bad key is refused and the stream released all the same.
        let mut s = stream();
        let status = strata_put_parquet(handle, c"../x".as_ptr(), &mut s, std::ptr::null_mut());
        assert_eq!(status, STRATA_INVALID_ARGUMENT);
        assert!(s.release.is_none());
        super::super::lake::strata_lake_free(handle);

        // No directory is created for a file, and none is filled with files.
        let mut s = stream();
        let missing =
            CString::new(dir.path().join("no/such/dir/x.parquet").to_str().unwrap()).unwrap();
        assert_eq!(
            strata_write_parquet(missing.as_ptr(), &mut s),
            STRATA_NOT_FOUND
        );
        assert!(!dir.path().join("no").exists());
        for name in ["sub", "sub/"] {
            std::fs::create_dir_all(dir.path().join("sub")).unwrap();
            let p = CString::new(format!("{}/{name}", dir.path().display())).unwrap();
            let mut s = stream();
            assert_eq!(
                strata_write_parquet(p.as_ptr(), &mut s),
                STRATA_INVALID_ARGUMENT
            );
            assert!(s.release.is_none());
            assert_eq!(
                std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
                0
            );
        }
    }

    #[test]
    fn datasets_are_written_with_their_options_and_summarized() {
        let dir = tempfile::tempdir().unwrap();
        let handle = open_lake(dir.path());
        let options =
            CString::new(r#"{"partition_by": "region", "codec": "zstd:3", "row_group_rows": 100}"#)
                .unwrap();
        let mut s = stream();
        let mut summary: *mut c_char = std::ptr::null_mut();
        let status = strata_lake_write(
            handle,
            c"sales".as_ptr(),
            &mut s,
            options.as_ptr(),
            &mut summary,
        );
        assert_eq!(status, STRATA_OK);
        assert!(s.release.is_none());
        // SAFETY: a string strata handed out, freed below.
        let json: serde_json::Value =
            serde_json::from_str(unsafe { CStr::from_ptr(summary) }.to_str().unwrap()).unwrap();
        super::super::buffers::strata_string_free(summary);
        assert_eq!(json["partitions"], 3);
        assert_eq!(json["rows"], 600);
        assert_eq!(json["codec_policy"], "zstd:3");
        let files = json["files"].as_array().unwrap();
        assert_eq!(files.len(), 3);
        assert!(files
            .iter()
            .all(|f| f["path"].as_str().unwrap().starts_with("sales/region=")));
        // SAFETY: the handle is live until freed below.
        let lake = unsafe { &(*handle).lake };
        let west = lake
            .scan("sales")
            .unwrap()
            .filter(crate::Expr::parse("region = 'b'").unwrap())
            .run()
            .unwrap();
        assert_eq!((west.stats.rows_out, west.stats.files_skipped), (200, 2));

        // Bad options: nothing written, the stream released, no summary.
        for (json, key) in [
            (r#"{"partition": "region"}"#, "partition"),
            (r#"{"codec": "zip"}"#, "codec"),
        ] {
            let text = CString::new(json).unwrap();
            let mut s = stream();
            let mut summary: *mut c_char = std::ptr::dangling_mut();
            let status =
                strata_lake_write(handle, c"bad".as_ptr(), &mut s, text.as_ptr(), &mut summary);
            assert_eq!(status, STRATA_INVALID_ARGUMENT, "{json}");
            assert!(s.release.is_none() && summary.is_null());
            // SAFETY: the thread's message is a valid C string.
            let message =
                unsafe { CStr::from_ptr(super::super::guard::strata_last_error_message()) };
            assert!(message.to_str().unwrap().contains(key), "{message:?}");
            assert!(lake.list("bad").unwrap().is_empty());
        }

        // Arrow IPC bytes in: the same dataset; garbage is an invalid argument.
        let mut ipc = Vec::new();
        let b = batch();
        let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut ipc, &b.schema()).unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        drop(w);
        let status = strata_lake_write_ipc(
            handle,
            c"copy/".as_ptr(),
            ipc.as_ptr(),
            ipc.len(),
            std::ptr::null(),
            std::ptr::null_mut(),
        );
        assert_eq!(status, STRATA_OK);
        assert_eq!(lake.scan("copy").unwrap().count().unwrap().0, 600);
        let status = strata_lake_write_ipc(
            handle,
            c"junk".as_ptr(),
            b"junk".as_ptr(),
            4,
            std::ptr::null(),
            std::ptr::null_mut(),
        );
        assert_eq!(status, STRATA_INVALID_ARGUMENT);
        let status = strata_lake_write_ipc(
            handle,
            c"/".as_ptr(),
            ipc.as_ptr(),
            ipc.len(),
            std::ptr::null(),
            std::ptr::null_mut(),
        );
        assert_eq!(status, STRATA_INVALID_ARGUMENT);
        super::super::lake::strata_lake_free(handle);
    }
}
