//! Writing scan results: an aligned table, CSV or JSON lines for people and scripts; Parquet
//! or an Arrow IPC file for other engines.

use std::io::Write;
use std::str::FromStr;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

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
    /// A Parquet file (codecs and encodings chosen per column, page statistics).
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

/// Parquet through the format module, so scan output gets the same per-column codec and
/// encoding choices as `strata write`.
fn write_parquet(out: &mut dyn Write, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let bytes = crate::format::parquet_bytes(
        schema,
        batches,
        &crate::format::WriteOptions::default(),
        "scan output written as Parquet",
    )?;
    out.write_all(&bytes).map_err(write_error)
}
