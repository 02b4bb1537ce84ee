//! Masked copies of Parquet files: read batch by batch by a scan, transformed, written by the
//! one Parquet writer beside the output, then renamed, so a reader of OUTPUT sees the old file
//! or the whole new one, never a part, and a failed run leaves no half-masked file behind.

use std::path::Path;

use arrow::record_batch::RecordBatch;

use crate::atomic_file::AtomicFile;
use crate::error::{Error, Result};
use crate::format::{Codec, CodecPolicy, FormatChoice, ParquetStreamWriter, WriteOptions};
use crate::read::Scan;

/// Rows read per batch: bounds memory while giving the kernels enough rows to split.
const BATCH_ROWS: usize = 64 * 1024;

/// What [`rewrite_parquet`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RewriteStats {
    /// Rows written.
    pub rows: u64,
    /// Batches transformed.
    pub batches: u64,
}

/// Streams the Parquet file `input` through `transform` into the Parquet file `output`
/// (zstd-compressed). The output schema is what `transform` makes of an empty batch with the
/// input's schema (key-value metadata included, strata's own left out), so an input without
/// rows still gives a file with the right columns. Memory holds a few batches and one row
/// group's encoded pages, however large the input.
pub fn rewrite_parquet(
    input: &Path,
    output: &Path,
    mut transform: impl FnMut(&RecordBatch) -> Result<RecordBatch>,
) -> Result<RewriteStats> {
    let scan = Scan::new(input).batch_size(BATCH_ROWS);
    let declared = crate::format::without_strata_metadata(scan.footer()?.schema());
    let schema = transform(&RecordBatch::new_empty(declared))?.schema();
    let mut reader = scan.reader()?;
    let options = WriteOptions {
        format: FormatChoice::Parquet,
        codec: CodecPolicy::Fixed(Codec::Zstd(1)),
        ..WriteOptions::default()
    };
    // Staged beside OUTPUT and renamed over it by `commit`; dropped (removed) on failure.
    let file = AtomicFile::create(output)?;
    let in_output = |e: Error| e.with("path", output.display());
    let mut writer =
        ParquetStreamWriter::new(file, &schema, &options, "masked copy of a Parquet file")?;
    let mut stats = RewriteStats::default();
    while let Some(batch) = reader.next_batch()? {
        let masked = transform(&batch)?;
        writer.write(&masked).map_err(in_output)?;
        stats.rows += masked.num_rows() as u64;
        stats.batches += 1;
    }
    writer.finish().map_err(in_output)?.commit()?;
    Ok(stats)
}
