//! Reading JSON lines on every thread of the caller's rayon pool: the text is cut at newlines
//! (a JSON string holds no raw newline, so every newline ends a record), each chunk's schema
//! is inferred on its own and, when the chunks agree, decoded with it by arrow's JSON decoder;
//! when they disagree (a field null in one chunk and a number in another, say) the schema is
//! inferred over the whole text, as a one-thread read does. Batches come back in order; a bad
//! record is reported with its line.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::json::reader::infer_json_schema;
use rayon::prelude::*;

use super::lines::{cut, decode_chunks, Chunk};
use crate::error::{Error, Result};

const CHUNKS_PER_THREAD: usize = 4;
const MIN_CHUNK_BYTES: usize = 1 << 20;

fn decode(
    text: &[u8],
    schema: &SchemaRef,
    batch_rows: usize,
) -> Result<Vec<RecordBatch>, ArrowError> {
    arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(batch_rows)
        .build(text)?
        .collect()
}

/// `err` for the first line of `chunk` that `check` refuses, named by its line in the file.
fn with_line(
    text: &[u8],
    chunk: &Chunk,
    err: ArrowError,
    check: &dyn Fn(&[u8]) -> Result<(), ArrowError>,
) -> Error {
    let body = &text[chunk.range.clone()];
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Err(e) = check(line) {
            return Error::from(e).during(format!(
                "malformed JSON input on line {}",
                chunk.first_line + i
            ));
        }
    }
    Error::from(err).during("malformed JSON input")
}

/// Reads JSON lines into batches of at most `batch_rows` rows.
pub(super) fn read_jsonl(text: &[u8], batch_rows: usize) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let threads = rayon::current_num_threads().max(1);
    let pieces = (threads * CHUNKS_PER_THREAD).min(text.len() / MIN_CHUNK_BYTES + 1);
    let chunks = cut(text, 0, 1, pieces, None, b',').unwrap_or_else(|_| {
        vec![Chunk {
            range: 0..text.len(),
            first_line: 1,
        }]
    });
    let infer = |t: &[u8]| infer_json_schema(t, None).map(|(s, _)| s);
    let schemas = chunks
        .par_iter()
        .map(|c| {
            infer(&text[c.range.clone()])
                .map_err(|e| with_line(text, c, e, &|line| infer(line).map(|_| ())))
        })
        .collect::<Result<Vec<_>>>()?;
    let schema = match schemas.split_first() {
        Some((first, rest)) if rest.iter().all(|s| s == first) => first.clone(),
        _ => infer(text).map_err(|e| Error::from(e).during("malformed JSON input"))?,
    };
    let schema: SchemaRef = Arc::new(schema);
    let batches = decode_chunks(
        &chunks,
        |c| decode(&text[c.range.clone()], &schema, batch_rows),
        |chunk, e| with_line(text, chunk, e, &|line| decode(line, &schema, 1).map(|_| ())),
    )?;
    Ok((schema, batches))
}
