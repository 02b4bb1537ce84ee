//! Cutting a CSV or JSON-lines text into chunks that end at record boundaries, so that each
//! chunk parses on its own thread and the chunks' rows, in order, are the file's rows.
//!
//! A newline inside a quoted CSV field does not end a record. The quoting state at any offset
//! is the parity of the quote characters before it (a quote inside a quoted field is written
//! twice, `""`, which keeps the parity), so the quotes of equal slices of the text are counted
//! in parallel and a prefix sum gives each cut point its state. That holds only when every
//! field that holds a quote is quoted (RFC 4180); a quote inside an unquoted field (`5" disk`)
//! is literal to a CSV parser but would flip the parity, so such a text is reported as not
//! cuttable and parsed in one piece.

use std::ops::Range;

use arrow::array::RecordBatch;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// A slice of the text that holds whole records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Chunk {
    /// Byte offsets in the text.
    pub range: Range<usize>,
    /// The 1-based line of the text the chunk starts on (newlines before it, plus one).
    pub first_line: usize,
}

/// Why a text cannot be cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Uncuttable {
    /// A quoted field is still open at the end of the text; it opened on this 1-based line.
    UnterminatedQuote { line: usize },
    /// A quote inside an unquoted field: the quoting state cannot be told from the parity.
    StrayQuote,
}

/// Per slice: its quotes and newlines, and whether a quote that would open a field (an
/// even-numbered one, counting from the slice's start under each starting state) stands
/// somewhere other than at the start of a field.
#[derive(Default, Clone, Copy)]
struct Tally {
    quotes: usize,
    newlines: usize,
    stray_if_even: bool,
    stray_if_odd: bool,
}

fn tally(text: &[u8], range: Range<usize>, quote: Option<u8>, delimiter: u8) -> Tally {
    let slice = &text[range.clone()];
    // memchr finds the newlines with vector instructions; a byte loop was 6% of a CSV write.
    let newlines = memchr::memchr_iter(b'\n', slice).count();
    let Some(q) = quote else {
        return Tally {
            newlines,
            ..Tally::default()
        };
    };
    let mut t = Tally {
        newlines,
        ..Tally::default()
    };
    for i in memchr::memchr_iter(q, slice) {
        // The quote that the parity says opens a field must stand at a field's start; `""`
        // inside a quoted field (its second quote) and closing quotes are exempt.
        let at = range.start + i;
        let prev = at.checked_sub(1).map(|p| text[p]);
        let stray = !matches!(prev, None | Some(b'\n' | b'\r'))
            && prev != Some(delimiter)
            && prev != Some(q);
        // A quote at an even count from the slice's start opens a field when the slice starts
        // outside quotes; at an odd count when it starts inside.
        if t.quotes.is_multiple_of(2) {
            t.stray_if_even |= stray;
        } else {
            t.stray_if_odd |= stray;
        }
        t.quotes += 1;
    }
    t
}

/// The first offset after `from` that ends a record (just past a `\n` outside quotes), given
/// whether `from` is inside quotes.
fn next_boundary(text: &[u8], from: usize, mut quoted: bool, quote: Option<u8>) -> Option<usize> {
    for (i, &b) in text[from..].iter().enumerate() {
        if Some(b) == quote {
            quoted = !quoted;
        } else if b == b'\n' && !quoted {
            return Some(from + i + 1);
        }
    }
    None
}

/// The end of the first record from `start` (the header line of a CSV text), or the text's end.
pub(super) fn first_record_end(text: &[u8], start: usize, quote: Option<u8>) -> usize {
    next_boundary(text, start, false, quote).unwrap_or(text.len())
}

/// Cuts `text[start..]` into about `pieces` chunks of whole records. `quote` is the CSV quote
/// character (`None` for JSON lines, whose strings hold no raw newline); `first_line` is the
/// line `start` is on.
pub(super) fn cut(
    text: &[u8],
    start: usize,
    first_line: usize,
    pieces: usize,
    quote: Option<u8>,
    delimiter: u8,
) -> Result<Vec<Chunk>, Uncuttable> {
    let len = text.len() - start;
    let pieces = pieces.clamp(1, len.max(1));
    let bounds: Vec<usize> = (0..=pieces).map(|i| start + len * i / pieces).collect();
    let tallies: Vec<Tally> = bounds
        .par_windows(2)
        .map(|w| tally(text, w[0]..w[1], quote, delimiter))
        .collect();
    // Each slice's starting state (quotes and lines before it), then the checks.
    let mut quotes = 0usize;
    let mut lines = first_line;
    let mut starts = Vec::with_capacity(pieces);
    for t in &tallies {
        starts.push((quotes % 2 == 1, lines));
        let stray = if quotes.is_multiple_of(2) {
            t.stray_if_even
        } else {
            t.stray_if_odd
        };
        if stray {
            return Err(Uncuttable::StrayQuote);
        }
        quotes += t.quotes;
        lines += t.newlines;
    }
    if quotes % 2 == 1 {
        return Err(Uncuttable::UnterminatedQuote {
            line: open_quote_line(text, start, first_line, quote),
        });
    }
    // The cut after each slice boundary, and its line.
    let cuts: Vec<Option<(usize, usize)>> = (1..pieces)
        .into_par_iter()
        .map(|i| {
            let (quoted, line) = starts[i];
            next_boundary(text, bounds[i], quoted, quote).map(|end| {
                let newlines = memchr::memchr_iter(b'\n', &text[bounds[i]..end]).count();
                (end, line + newlines)
            })
        })
        .collect();
    let mut chunks = Vec::with_capacity(pieces);
    let mut from = (start, first_line);
    for (end, line) in cuts.into_iter().flatten() {
        if end > from.0 {
            chunks.push(Chunk {
                range: from.0..end,
                first_line: from.1,
            });
            from = (end, line);
        }
    }
    if from.0 < text.len() || chunks.is_empty() {
        chunks.push(Chunk {
            range: from.0..text.len(),
            first_line: from.1,
        });
    }
    Ok(chunks)
}

/// The line on which the quoted field that never closes opened.
fn open_quote_line(text: &[u8], start: usize, first_line: usize, quote: Option<u8>) -> usize {
    let mut line = first_line;
    let mut opened = first_line;
    let mut quoted = false;
    for &b in &text[start..] {
        if Some(b) == quote {
            quoted = !quoted;
            if quoted {
                opened = line;
            }
        } else if b == b'\n' {
            line += 1;
        }
    }
    opened
}

/// Decodes every chunk on the pool's threads and returns the batches in the text's order;
/// the first chunk (in order) that fails becomes the error `failed` makes of it.
pub(super) fn decode_chunks<E: Send>(
    chunks: &[Chunk],
    decode: impl Fn(&Chunk) -> std::result::Result<Vec<RecordBatch>, E> + Sync,
    failed: impl FnOnce(&Chunk, E) -> Error,
) -> Result<Vec<RecordBatch>> {
    let decoded: Vec<_> = chunks.par_iter().map(&decode).collect();
    let mut batches = Vec::new();
    for (chunk, result) in chunks.iter().zip(decoded) {
        match result {
            Ok(b) => batches.extend(b),
            Err(e) => return Err(failed(chunk, e)),
        }
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &[u8], chunks: &[Chunk]) -> Vec<String> {
        chunks
            .iter()
            .map(|c| String::from_utf8_lossy(&text[c.range.clone()]).into_owned())
            .collect()
    }

    #[test]
    fn cuts_only_between_records() {
        let text = b"a,b\n1,\"x\ny\"\n2,\"p\"\"q\"\n3,z\n4,\"\n\n\"\n5,w";
        let header = first_record_end(text, 0, Some(b'"'));
        assert_eq!(header, 4);
        for pieces in 1..12 {
            let chunks = cut(text, header, 2, pieces, Some(b'"'), b',').unwrap();
            let joined: String = rows(text, &chunks).concat();
            assert_eq!(joined.as_bytes(), &text[header..], "{pieces}");
            for c in &chunks {
                let body = &text[c.range.clone()];
                // Every chunk holds an even number of quotes: none splits a quoted field.
                assert_eq!(
                    body.iter().filter(|&&b| b == b'"').count() % 2,
                    0,
                    "{pieces}"
                );
                let line = 1 + text[..c.range.start]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                assert_eq!(c.first_line, line, "{pieces}");
            }
        }
    }

    #[test]
    fn an_open_quote_and_a_stray_quote_are_named() {
        let text = b"a,b\n1,x\n2,\"open\n3,y\n";
        assert_eq!(
            cut(text, 4, 2, 3, Some(b'"'), b','),
            Err(Uncuttable::UnterminatedQuote { line: 3 })
        );
        let text = b"a,b\n1,5\" disk\n2,y\n";
        assert_eq!(
            cut(text, 4, 2, 3, Some(b'"'), b','),
            Err(Uncuttable::StrayQuote)
        );
        // JSON lines: quotes do not matter.
        let text = b"{\"a\":\"x\"}\n{\"a\":\"y\"}\n";
        let chunks = cut(text, 0, 1, 4, None, b',').unwrap();
        assert_eq!(rows(text, &chunks).concat().as_bytes(), text);
    }
}
