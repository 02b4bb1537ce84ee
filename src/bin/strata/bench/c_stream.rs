//! `scan/lineitem/full/c_stream`: the full scan a C, C++ or Go host makes, through the C ABI's
//! `strata_scan` and the Arrow C Stream it fills, drained as `bindings/c/bench_scan.c` drains it
//! (each array's length read, the array released), against the same scan read to its end in
//! Rust (`Scan::new(FILE)` with the stream's batch size, every batch consumed and dropped).
//! Both sides run the scan with strata's defaults (rayon's pool) on the same file, warm; the
//! ratio is what crossing the boundary costs. This replaces the `#[ignore]`d timing test that
//! no run checked: here the figure is measured with every `strata bench scan`.

use std::ffi::{c_char, CStr, CString};
use std::hint::black_box;
use std::path::Path;

use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow::ffi_stream::FFI_ArrowArrayStream;

use super::measure::{millis, pair};
use super::record::{Record, Side, Spread};
use super::{other, Context};

/// The stream's batch size, as `strata_scan` sets it (include/strata.h: up to 65,536 rows).
const STREAM_BATCH_ROWS: usize = 65_536;

// The C ABI as a host links it: the symbols of the strata library this binary is built with.
extern "C" {
    fn strata_scan(
        path: *const c_char,
        columns: *const *const c_char,
        n_columns: usize,
        filter: *const c_char,
        out: *mut FFI_ArrowArrayStream,
    ) -> i32;
    fn strata_last_error_message() -> *const c_char;
}

/// One record: the full scan of `file` through the C stream against the same scan in Rust.
pub fn record(ctx: &Context, file: &Path) -> strata::Result<Record> {
    let threads = rayon::current_num_threads();
    let id = format!("scan/lineitem/full/c_stream/threads={threads}");
    ctx.progress.case(&id);
    let path = CString::new(file.to_string_lossy().as_bytes())
        .map_err(|_| other(&id, "the data file's path holds a NUL byte"))?;
    let rust = || -> strata::Result<u64> {
        let (_, stats) = strata::Scan::new(file)
            .batch_size(STREAM_BATCH_ROWS)
            .for_each(|batch| {
                black_box(batch);
                Ok(())
            })?;
        Ok(stats.rows_out)
    };
    let through_c = || drain(&id, &path);
    // Untimed runs: page cache and footer cache warm on both sides, the rows checked equal.
    let (a, b) = (through_c()?, rust()?);
    if a != b {
        return Err(other(
            &id,
            format!("the C stream gave {a} rows, the Rust scan {b}: not the same work"),
        ));
    }
    let (ours, theirs) = pair(&id, ctx.runs, &mut || through_c().map(drop), &mut || {
        rust().map(drop)
    })?;
    let side = |name: &str, io: &str| Side {
        name: name.into(),
        threads,
        batch_rows: Some(STREAM_BATCH_ROWS),
        io: io.into(),
        state: "warm: OS page cache and footer cache, by an untimed run".into(),
    };
    Ok(Record::new(
        id,
        "ms",
        false,
        Spread::of(millis(&ours)),
        side(
            "strata_scan (C ABI), Arrow C Stream drained as bench_scan.c does",
            "memory map of the file",
        ),
    )
    .against(
        side(
            "strata::Scan in Rust, read to its end",
            "memory map of the same file",
        ),
        Spread::of(millis(&theirs)),
    )
    .note(format!(
        "{a} rows; the baseline is strata itself without the boundary, so the ratio is the C stream's cost (the issue's goal: at most 1.05)"
    ))
    .extra("rows", a as f64))
}

/// Scans `path` through `strata_scan` and reads the stream to its end; the rows it gave.
fn drain(id: &str, path: &CStr) -> strata::Result<u64> {
    let mut stream = FFI_ArrowArrayStream::empty();
    // SAFETY: `path` is a NUL-terminated string; no columns, no filter; `stream` is a valid,
    // released stream for strata_scan to fill.
    let status = unsafe {
        strata_scan(
            path.as_ptr(),
            std::ptr::null(),
            0,
            std::ptr::null(),
            &mut stream,
        )
    };
    if status != 0 {
        // SAFETY: strata_last_error_message returns this thread's message, NUL-terminated,
        // valid until the next strata call on the thread.
        let message = unsafe { CStr::from_ptr(strata_last_error_message()) };
        return Err(other(
            id,
            format!("strata_scan: {}", message.to_string_lossy()),
        ));
    }
    let (Some(get_schema), Some(get_next)) = (stream.get_schema, stream.get_next) else {
        return Err(other(id, "strata_scan gave a stream without callbacks"));
    };
    let mut schema = FFI_ArrowSchema::empty();
    // SAFETY: the stream is live (filled by strata_scan) and `schema` is empty; the schema is
    // released when dropped.
    if unsafe { get_schema(&mut stream, &mut schema) } != 0 {
        return Err(other(id, "the stream's get_schema failed"));
    }
    drop(schema);
    let mut rows = 0u64;
    loop {
        let mut array = FFI_ArrowArray::empty();
        // SAFETY: as above; a released array marks the end of the stream.
        if unsafe { get_next(&mut stream, &mut array) } != 0 {
            return Err(other(id, "the stream's get_next failed"));
        }
        if array.is_released() {
            break;
        }
        rows += array.len() as u64;
        // Dropping the array calls its release callback, as a C host does.
    }
    // Dropping the stream calls its release callback.
    Ok(rows)
}
