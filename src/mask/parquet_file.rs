//! Masked copies of Parquet files: read batch by batch, transform, write beside the output,
//! then rename, so a reader of OUTPUT sees the old file or the whole new one, never a part,
//! and a failed run leaves no half-masked file behind.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::record_batch::{RecordBatch, RecordBatchReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, ErrorKind, Result};

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

/// The temporary file beside `output` that becomes it on success.
fn staging_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    output.with_file_name(format!(".{name}.strata-{}.tmp", std::process::id()))
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
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(parquet_error("not a readable Parquet file", input))?
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_error("cannot read the Parquet file", input))?;
    let schema = transform(&RecordBatch::new_empty(reader.schema()))?.schema();
    let staging = staging_path(output);
    let written = (|| {
        let out = File::create(&staging)
            .map_err(|e| Error::io("cannot create the output", &staging, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let mut writer = ArrowWriter::try_new(out, schema, Some(props))
            .map_err(parquet_error("cannot write Parquet", output))?;
        let mut stats = RewriteStats::default();
        for batch in reader {
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
        let out = writer
            .into_inner()
            .map_err(parquet_error("cannot finish the Parquet file", output))?;
        out.sync_all()
            .map_err(|e| Error::io("cannot sync the output", &staging, e))?;
        Ok(stats)
    })();
    let stats = match written {
        Ok(stats) => stats,
        Err(e) => {
            // Best effort: the error that matters is the one above.
            let _ = std::fs::remove_file(&staging);
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(&staging, output) {
        let _ = std::fs::remove_file(&staging);
        return Err(Error::io("cannot move the output into place", output, e));
    }
    Ok(stats)
}
