//! Writing scan results: an aligned table, CSV or JSON lines for people and scripts; Parquet
//! or an Arrow IPC file for other engines.

use std::io::Write;
use std::str::FromStr;

use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, ErrorKind, Result};

/// A format for scan output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    /// An aligned, boxed table for people.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row.
    Jsonl,
    /// A Parquet file (zstd, page statistics).
    Parquet,
    /// An Arrow IPC file (Feather v2), the zero-copy format for Arrow readers.
    Ipc,
}

impl FromStr for ScanFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "table" => Ok(ScanFormat::Table),
            "csv" => Ok(ScanFormat::Csv),
            "jsonl" => Ok(ScanFormat::Jsonl),
            "parquet" => Ok(ScanFormat::Parquet),
            "ipc" => Ok(ScanFormat::Ipc),
            other => Err(Error::invalid(format!(
                "unknown output format {other}; expected table, csv, jsonl, parquet or ipc"
            ))),
        }
    }
}

fn write_error(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("cannot write scan output: {e}"))
}

/// Writes `batches` (of `schema`, which Parquet and IPC need even without rows) to `out` in
/// `format`.
pub fn write_batches(
    out: &mut dyn Write,
    format: ScanFormat,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    match format {
        ScanFormat::Table => {
            let table = arrow::util::pretty::pretty_format_batches(batches).map_err(write_error)?;
            writeln!(out, "{table}").map_err(write_error)
        }
        ScanFormat::Csv => {
            let mut writer = arrow::csv::Writer::new(out);
            for batch in batches {
                writer.write(batch).map_err(write_error)?;
            }
            Ok(())
        }
        ScanFormat::Jsonl => {
            let mut writer = arrow::json::LineDelimitedWriter::new(out);
            for batch in batches {
                writer.write(batch).map_err(write_error)?;
            }
            writer.finish().map_err(write_error)
        }
        ScanFormat::Parquet => write_parquet(out, schema, batches),
        ScanFormat::Ipc => {
            let mut writer =
                arrow::ipc::writer::FileWriter::try_new(out, schema).map_err(write_error)?;
            for batch in batches {
                writer.write(batch).map_err(write_error)?;
            }
            writer.finish().map_err(write_error)
        }
    }
}

/// A buffer the Parquet writer fills and the caller drains after each batch: the writer needs
/// a `Send` sink, and `out` (a locked stdout, say) is not.
#[derive(Clone, Default)]
struct Staging(Arc<Mutex<Vec<u8>>>);

impl Staging {
    fn drain_into(&self, out: &mut dyn Write) -> Result<()> {
        let mut buf = self.0.lock().unwrap_or_else(|p| p.into_inner());
        out.write_all(&buf).map_err(write_error)?;
        buf.clear();
        Ok(())
    }
}

impl Write for Staging {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_parquet(out: &mut dyn Write, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let staging = Staging::default();
    let mut writer =
        ArrowWriter::try_new(staging.clone(), schema.clone(), Some(props)).map_err(write_error)?;
    for batch in batches {
        writer.write(batch).map_err(write_error)?;
        staging.drain_into(out)?;
    }
    writer.close().map_err(write_error)?;
    staging.drain_into(out)
}
