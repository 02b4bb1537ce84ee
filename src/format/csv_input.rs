//! Reading a CSV text on every thread of the caller's rayon pool: the text is cut at record
//! boundaries ([`super::lines`]), each chunk is decoded by arrow's CSV decoder as text, the
//! column types are inferred from every value and merged into one schema
//! ([`super::infer_csv`]), then each column is converted to its type ([`super::csv_typed`]). The batches come back in the text's order. A text whose quoting
//! the cut cannot follow is read in one piece, the same way.

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::csv::reader::Format;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;

use super::csv_typed::{typed, Unparsed};
use super::infer_csv::{add_bits, data_type};
use super::lines::{cut, decode_chunks, first_record_end, Chunk, Uncuttable};
use crate::error::{Error, Result};

const DELIMITER: u8 = b',';
const QUOTE: u8 = b'"';

/// Chunks per thread: more than one, so a slow chunk does not leave the others idle.
const CHUNKS_PER_THREAD: usize = 4;
/// No chunk smaller than this: below it, per-chunk costs outweigh the parallelism.
const MIN_CHUNK_BYTES: usize = 1 << 20;

fn malformed(e: arrow::error::ArrowError) -> Error {
    Error::from(e).during("malformed CSV input")
}

/// The column names of the header line.
fn header(text: &[u8]) -> Result<Vec<String>> {
    let end = first_record_end(text, 0, Some(QUOTE));
    let mut reader = csv_core::ReaderBuilder::new()
        .delimiter(DELIMITER)
        .quote(QUOTE)
        .build();
    let line = &text[..end];
    let mut out = vec![0u8; line.len() + 1];
    let mut ends = vec![0usize; line.len() + 2];
    // The header line is whole, so one call reads it; the empty call ends it if it has no
    // terminator.
    let (mut result, _, mut out_len, mut ends_len) = reader.read_record(line, &mut out, &mut ends);
    if result == csv_core::ReadRecordResult::InputEmpty {
        let (r, _, o, e) = reader.read_record(&[], &mut out[out_len..], &mut ends[ends_len..]);
        result = r;
        out_len += o;
        ends_len += e;
    }
    if result != csv_core::ReadRecordResult::Record {
        return Err(Error::invalid("malformed CSV input: no header line"));
    }
    let _ = out_len;
    let mut start = 0;
    ends[..ends_len]
        .iter()
        .map(|&end| {
            let name = std::str::from_utf8(&out[start..end])
                .map(str::to_string)
                .map_err(|_| {
                    Error::invalid("malformed CSV input: the header (line 1) is not UTF-8")
                });
            start = end;
            name
        })
        .collect()
}

/// Decodes the records of `text` (no header) with `schema`.
fn decode(text: &[u8], schema: &SchemaRef, batch_rows: usize) -> Result<Vec<RecordBatch>> {
    arrow::csv::ReaderBuilder::new(schema.clone())
        .with_format(Format::default().with_header(false))
        .with_batch_size(batch_rows)
        .build_buffered(text)
        .map_err(malformed)?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(malformed)
}

/// The error of the first bad record: the text up to the end of the failing chunk decoded in
/// one piece, so arrow counts the lines from the top of the file, as a one-thread read would.
fn first_error(text: &[u8], end: usize, schema: &SchemaRef, err: Error) -> Error {
    let whole = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_format(Format::default().with_header(true))
        .build_buffered(&text[..end])
        .and_then(|reader| reader.collect::<std::result::Result<Vec<_>, _>>());
    match whole {
        Err(e) => malformed(e),
        Ok(_) => err,
    }
}

/// Reads a CSV text with a header line into batches of at most `batch_rows` rows.
pub(super) fn read_csv(text: &[u8], batch_rows: usize) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    if text.is_empty() {
        return Err(Error::invalid(
            "malformed CSV input: the file is empty (no header line)",
        ));
    }
    let names = header(text)?;
    let body = first_record_end(text, 0, Some(QUOTE));
    let threads = rayon::current_num_threads().max(1);
    let pieces = (threads * CHUNKS_PER_THREAD).min((text.len() - body) / MIN_CHUNK_BYTES + 1);
    let chunks = match cut(text, body, 2, pieces, Some(QUOTE), DELIMITER) {
        Ok(chunks) => chunks,
        Err(Uncuttable::UnterminatedQuote { line }) => {
            return Err(Error::invalid(format!(
                "malformed CSV input: the quoted field opened on line {line} is never closed"
            )))
        }
        Err(Uncuttable::StrayQuote) => vec![Chunk {
            range: body..text.len(),
            first_line: 2,
        }],
    };
    // One parse: every column as text (empty fields null), the types inferred from those
    // strings, then each column converted (text columns are already done).
    let as_text: SchemaRef = Arc::new(Schema::new(
        names
            .iter()
            .map(|name| Field::new(name, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let strings = decode_chunks(
        &chunks,
        |c| decode(&text[c.range.clone()], &as_text, batch_rows),
        |chunk, e| first_error(text, chunk.range.end, &as_text, e),
    )?;
    let bits = strings
        .par_iter()
        .fold(
            || vec![0u16; names.len()],
            |mut bits, batch| {
                for (b, column) in bits.iter_mut().zip(batch.columns()) {
                    add_bits(b, column.as_string::<i32>());
                }
                bits
            },
        )
        .reduce(
            || vec![0u16; names.len()],
            |a, b| a.iter().zip(&b).map(|(x, y)| x | y).collect(),
        );
    let schema: SchemaRef = Arc::new(Schema::new(
        names
            .iter()
            .zip(&bits)
            .map(|(name, &b)| Field::new(name, data_type(b), true))
            .collect::<Vec<_>>(),
    ));
    let converted = strings
        .into_par_iter()
        .map(|batch| {
            let columns = batch
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(column, field)| typed(column.as_string::<i32>(), field.data_type()))
                .collect::<std::result::Result<Vec<_>, Unparsed>>()?;
            RecordBatch::try_new(schema.clone(), columns).map_err(|_| Unparsed)
        })
        .collect::<std::result::Result<Vec<_>, Unparsed>>();
    // A value the inferred type's parser refuses (a date-shaped `2024-13-45`): arrow's decoder
    // reads the text again to say which line, as a one-thread read would.
    let batches = converted.map_err(|Unparsed| {
        first_error(
            text,
            text.len(),
            &schema,
            Error::invalid("malformed CSV input: a value does not parse as its column's type"),
        )
    })?;
    Ok((schema, batches))
}
