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
    let mut writer = BatchWriter::new(out, format);
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish(schema)
}

/// Writes scan output batch by batch as a scan streams it, so memory holds a batch, not the
/// result: CSV, JSON lines and Arrow IPC go out as they come. A table (its column widths
/// depend on every row) and Parquet (its per-column codec choices sample every row group) are
/// written at [`BatchWriter::finish`], from batches held until then.
///
/// ```
/// # fn main() -> strata::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("t.parquet");
/// # let batch = arrow::array::RecordBatch::try_from_iter([(
/// #     "id",
/// #     std::sync::Arc::new(arrow::array::Int64Array::from(vec![1, 2, 3])) as arrow::array::ArrayRef,
/// # )]).unwrap();
/// # strata::read::write_batches(&mut std::fs::File::create(&path).unwrap(), strata::ScanFormat::Parquet, &batch.schema(), &[batch]).unwrap();
/// let mut out = Vec::new();
/// let mut writer = strata::read::BatchWriter::new(&mut out, strata::ScanFormat::Csv);
/// let (schema, _stats) = strata::Scan::new(&path).for_each(|batch| writer.write(&batch))?;
/// writer.finish(&schema)?;
/// assert_eq!(String::from_utf8(out).unwrap(), "id\n1\n2\n3\n");
/// # Ok(())
/// # }
/// ```
pub struct BatchWriter<'a> {
    format: ScanFormat,
    state: State<'a>,
}

enum State<'a> {
    /// Nothing written yet: the first batch's schema starts the writer.
    Waiting(&'a mut dyn Write),
    Csv(arrow::csv::Writer<&'a mut dyn Write>),
    Jsonl(arrow::json::LineDelimitedWriter<&'a mut dyn Write>),
    Ipc(arrow::ipc::writer::FileWriter<&'a mut dyn Write>),
    /// Table and Parquet: held until `finish`.
    Held(&'a mut dyn Write, Vec<RecordBatch>),
    /// Failed or finished.
    Done,
}

impl<'a> BatchWriter<'a> {
    /// A writer of `format` into `out`.
    pub fn new(out: &'a mut dyn Write, format: ScanFormat) -> BatchWriter<'a> {
        let state = match format {
            ScanFormat::Table | ScanFormat::Parquet => State::Held(out, Vec::new()),
            _ => State::Waiting(out),
        };
        BatchWriter { format, state }
    }

    /// Writes (or, for a table or Parquet, keeps) one batch. Every batch must have the first
    /// one's schema.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if let State::Waiting(_) = self.state {
            let State::Waiting(out) = std::mem::replace(&mut self.state, State::Done) else {
                unreachable!("matched above");
            };
            self.state = self.start(out, &batch.schema())?;
        }
        match &mut self.state {
            State::Csv(w) => w.write(batch).map_err(write_error),
            State::Jsonl(w) => w.write(batch).map_err(write_error),
            State::Ipc(w) => w.write(batch).map_err(write_error),
            State::Held(_, batches) => {
                batches.push(batch.clone());
                Ok(())
            }
            State::Waiting(_) | State::Done => {
                Err(Error::invalid("scan output is already finished or failed"))
            }
        }
    }

    /// Ends the output; `schema` is what Parquet and IPC record when no batch came.
    pub fn finish(mut self, schema: &SchemaRef) -> Result<()> {
        let state = std::mem::replace(&mut self.state, State::Done);
        let state = match state {
            State::Waiting(out) => self.start(out, schema)?,
            other => other,
        };
        match state {
            State::Csv(_) => Ok(()),
            State::Jsonl(mut w) => w.finish().map_err(write_error),
            State::Ipc(mut w) => w.finish().map_err(write_error),
            State::Held(out, batches) => match self.format {
                ScanFormat::Parquet => write_parquet(out, schema_of(&batches, schema), &batches),
                _ => {
                    let table = arrow::util::pretty::pretty_format_batches(&batches)
                        .map_err(write_error)?;
                    writeln!(out, "{table}").map_err(write_error)
                }
            },
            State::Waiting(_) | State::Done => Ok(()),
        }
    }

    fn start(&self, out: &'a mut dyn Write, schema: &SchemaRef) -> Result<State<'a>> {
        Ok(match self.format {
            ScanFormat::Csv => State::Csv(arrow::csv::Writer::new(out)),
            ScanFormat::Jsonl => State::Jsonl(arrow::json::LineDelimitedWriter::new(out)),
            ScanFormat::Ipc => State::Ipc(
                arrow::ipc::writer::FileWriter::try_new(out, schema).map_err(write_error)?,
            ),
            ScanFormat::Table | ScanFormat::Parquet => State::Held(out, Vec::new()),
        })
    }
}

/// The batches' own schema (masking may change column types), else `schema`.
fn schema_of<'s>(batches: &'s [RecordBatch], schema: &'s SchemaRef) -> &'s SchemaRef {
    batches
        .first()
        .map(RecordBatch::schema_ref)
        .unwrap_or(schema)
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
