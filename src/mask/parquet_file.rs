//! Masked copies of Parquet files: read batch by batch, transform, write beside the output,
//! then rename, so a reader of OUTPUT sees the old file or the whole new one, never a part,
//! and a failed run leaves no half-masked file behind.

use std::fs::File;
use std::path::Path;

use arrow::record_batch::{RecordBatch, RecordBatchReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::atomic_file::AtomicFile;
use crate::error::{catch_corrupt, Error, ErrorKind, Result};

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

fn parquet_error(what: &str, path: &Path) -> impl Fn(parquet::errors::ParquetError) -> Error {
    let what = what.to_string();
    let path = path.display().to_string();
    move |e| Error::new(ErrorKind::InvalidArgument, format!("{what}: {e}")).with("path", &path)
}

/// Streams the Parquet file `input` through `transform` into the Parquet file `output`
/// (zstd-compressed). The output schema is what `transform` makes of an empty batch, so an
/// input without rows still gives a file with the right columns.
pub fn rewrite_parquet(
    input: &Path,
    output: &Path,
    mut transform: impl FnMut(&RecordBatch) -> Result<RecordBatch>,
) -> Result<RewriteStats> {
    let file = File::open(input).map_err(|e| Error::io("cannot open the input", input, e))?;
    let mut reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(parquet_error("not a readable Parquet file", input))?
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_error("cannot read the Parquet file", input))?;
    let schema = transform(&RecordBatch::new_empty(reader.schema()))?.schema();
    // Written beside OUTPUT and renamed over it on success; dropped (removed) on failure.
    let out = AtomicFile::create(output)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(out, schema, Some(props))
        .map_err(parquet_error("cannot write Parquet", output))?;
    let mut stats = RewriteStats::default();
    // The decoder runs guarded: damaged pages can trip assertions inside the parquet crate.
    while let Some(batch) = catch_corrupt("cannot read a batch", || Ok(reader.next()))
        .map_err(|e| e.with("path", input.display()))?
    {
        let batch = batch.map_err(|e| {
            Error::new(ErrorKind::Corrupt, format!("cannot read a batch: {e}"))
                .with("path", input.display())
        })?;
        let masked = transform(&batch)?;
        writer
            .write(&masked)
            .map_err(parquet_error("cannot write Parquet", output))?;
        stats.rows += masked.num_rows() as u64;
        stats.batches += 1;
    }
    writer
        .into_inner()
        .map_err(parquet_error("cannot finish the Parquet file", output))?
        .commit()?;
    Ok(stats)
}
