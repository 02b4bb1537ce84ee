//! Writing scan results as text: an aligned table, CSV or JSON lines.

use std::io::Write;
use std::str::FromStr;

use arrow::array::RecordBatch;

use crate::error::{Error, ErrorKind, Result};

/// A text format for scan output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    /// An aligned, boxed table for people.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row.
    Jsonl,
}

impl FromStr for ScanFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "table" => Ok(ScanFormat::Table),
            "csv" => Ok(ScanFormat::Csv),
            "jsonl" => Ok(ScanFormat::Jsonl),
            other => Err(Error::invalid(format!(
                "unknown output format {other}; expected table, csv or jsonl"
            ))),
        }
    }
}

fn write_error(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("cannot write scan output: {e}"))
}

/// Writes `batches` to `out` in `format`.
pub fn write_batches(
    out: &mut dyn Write,
    format: ScanFormat,
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
    }
}
