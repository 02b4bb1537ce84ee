//! Output helpers shared by the commands: progress bars, JSON, times and I/O errors.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};

/// Runs `work` with a progress bar (drawn only when stderr is a terminal).
pub fn with_progress<T>(
    what: &str,
    work: impl FnOnce(&(dyn Fn(u64, u64) + Sync)) -> strata::Result<T>,
) -> strata::Result<T> {
    // Hidden automatically when stderr is not a terminal.
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} {eta}") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    let result = work(&|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    result
}

/// A progress bar for a write in stages (drawn only when stderr is a terminal), and the
/// callback that moves it: `(stage, done, total)`; stages named `upload` count bytes.
pub fn stage_progress() -> (ProgressBar, std::sync::Arc<strata::table::Progress>) {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} {bar:40} {pos}/{len} {elapsed}") {
        bar.set_style(style);
    }
    let moved = bar.clone();
    let callback = move |stage: &str, done: u64, total: u64| {
        if moved.message() != stage {
            moved.set_message(stage.to_string());
            moved.reset_elapsed();
        }
        moved.set_position(done);
        moved.set_length(total);
    };
    (bar, std::sync::Arc::new(callback))
}

/// The file behind `-o PATH`: `None` (stdout) without one or for `-`; else the shared output
/// mechanism, which stages and renames a regular file, writes a character device, FIFO or
/// socket directly, follows a symlink and refuses a directory.
pub fn output_file(path: Option<&Path>) -> strata::Result<Option<strata::AtomicFile>> {
    match path {
        Some(path) if path.as_os_str() != "-" => strata::AtomicFile::create(path).map(Some),
        _ => Ok(None),
    }
}

pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> strata::Result<()> {
    let text = serde_json::to_string(value)
        .map_err(|e| strata::Error::new(strata::ErrorKind::Internal, e.to_string()))?;
    writeln!(out, "{text}").map_err(io)
}

pub fn time(ms: u64) -> String {
    // RFC 3339 stops at the year 9999; a later time (a damaged index) is shown as it is
    // rather than tripping humantime's formatter.
    const YEAR_10000_MS: u64 = 253_402_300_800_000;
    if ms >= YEAR_10000_MS {
        return format!("{ms} ms after 1970");
    }
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

pub fn io(e: std::io::Error) -> strata::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        // `strata get KEY | head` closing the pipe is not worth a scary message.
        return strata::Error::new(strata::ErrorKind::Io, "output closed early");
    }
    strata::Error::new(strata::ErrorKind::Io, format!("cannot write output: {e}"))
}
