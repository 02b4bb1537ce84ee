//! Per-column codec and encoding selection.
//!
//! Each top-level primitive column is sampled (about one data page of rows, taken from several
//! places in the data), encoded once per candidate encoding into an in-memory Parquet chunk
//! without compression, and the encoded bytes are trial-compressed with each candidate codec of
//! the policy. The smallest result whose measured decode speed meets the tier's floor wins.
//! Encodings are ranked first with one cheap codec so the codec trials run once per column.

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::basic::Encoding;
use rayon::prelude::*;
use serde::Serialize;

use super::codec::{Codec, CodecPolicy};
use super::options::{DictionaryMode, WriteOptions};
use super::parquet_file::encode_chunk;
use crate::error::{Error, Result};

/// Decode-speed floors in MB/s of decompressed page data, by tier: the hottest tier must
/// decode near memory speed, a middle tier may trade some speed for size, the coldest barely
/// cares.
pub const DECODE_FLOOR_MBPS: [f64; 3] = [1000.0, 300.0, 50.0];

/// The decode-speed floor of a tier position (`None`: a middle tier).
pub fn decode_floor(tier_position: Option<usize>) -> f64 {
    match tier_position {
        Some(0) => DECODE_FLOOR_MBPS[0],
        None => DECODE_FLOOR_MBPS[1],
        Some(_) => DECODE_FLOOR_MBPS[2],
    }
}

/// How one column is written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnChoice {
    /// The column name.
    pub column: String,
    /// Its codec.
    pub codec: Codec,
    /// The value encoding: `RLE_DICTIONARY` when a dictionary is used, else the encoding of
    /// the values (`PLAIN`, `DELTA_BINARY_PACKED`, `BYTE_STREAM_SPLIT`).
    pub encoding: String,
    /// Whether the column has a dictionary page.
    pub dictionary: bool,
    /// Why, in words (sample sizes and the runner-up).
    pub reason: String,
}

/// The value encoding a trial uses (`None`: dictionary with the writer's fallback).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Candidate {
    Dictionary,
    Plain,
    Delta,
    ByteStreamSplit,
}

impl Candidate {
    fn name(self) -> &'static str {
        match self {
            Candidate::Dictionary => "RLE_DICTIONARY",
            Candidate::Plain => "PLAIN",
            Candidate::Delta => "DELTA_BINARY_PACKED",
            Candidate::ByteStreamSplit => "BYTE_STREAM_SPLIT",
        }
    }

    fn encoding(self) -> Option<Encoding> {
        match self {
            Candidate::Dictionary => None,
            Candidate::Plain => Some(Encoding::PLAIN),
            Candidate::Delta => Some(Encoding::DELTA_BINARY_PACKED),
            Candidate::ByteStreamSplit => Some(Encoding::BYTE_STREAM_SPLIT),
        }
    }
}

/// Encodings worth trying for a type; empty for types left to the writer's defaults.
fn candidates(ty: &DataType, mode: DictionaryMode) -> Vec<Candidate> {
    use DataType::*;
    let mut out = match ty {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Date32 | Date64
        | Timestamp(..) | Time32(_) | Time64(_) | Duration(_) => {
            vec![Candidate::Dictionary, Candidate::Plain, Candidate::Delta]
        }
        Float32 | Float64 => vec![
            Candidate::Dictionary,
            Candidate::Plain,
            Candidate::ByteStreamSplit,
        ],
        Utf8 | LargeUtf8 | Utf8View | Binary | LargeBinary | BinaryView => {
            vec![Candidate::Dictionary, Candidate::Plain]
        }
        _ => Vec::new(),
    };
    match mode {
        DictionaryMode::Auto => {}
        DictionaryMode::On => out.retain(|c| *c == Candidate::Dictionary),
        DictionaryMode::Off => out.retain(|c| *c != Candidate::Dictionary),
    }
    out
}

/// The codecs a policy considers, cheapest first (ties go to the earlier one).
fn codec_candidates(policy: CodecPolicy) -> Vec<Codec> {
    match policy {
        CodecPolicy::Fast => vec![Codec::None, Codec::Lz4],
        CodecPolicy::Balanced => vec![Codec::Zstd(3)],
        CodecPolicy::Compact => vec![Codec::Zstd(9), Codec::Gzip(9)],
        CodecPolicy::Auto => vec![
            Codec::None,
            Codec::Lz4,
            Codec::Snappy,
            Codec::Zstd(1),
            Codec::Zstd(3),
            Codec::Zstd(6),
            Codec::Zstd(9),
            Codec::Gzip(6),
        ],
        CodecPolicy::Fixed(c) => vec![c],
    }
}

/// The codec used for columns no trial covers (nested types) and the file default.
pub fn default_codec(policy: CodecPolicy) -> Codec {
    match policy {
        CodecPolicy::Fast => Codec::Lz4,
        CodecPolicy::Balanced | CodecPolicy::Auto => Codec::Zstd(3),
        CodecPolicy::Compact => Codec::Zstd(9),
        CodecPolicy::Fixed(c) => c,
    }
}

/// About one data page of rows from several places in the data.
fn sample(batches: &[RecordBatch], column: usize, rows: usize) -> Result<Option<ArrayRef>> {
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if total == 0 {
        return Ok(None);
    }
    let rows = rows.min(total);
    const SLICES: usize = 4;
    let per = rows.div_ceil(SLICES);
    let mut parts: Vec<ArrayRef> = Vec::new();
    for s in 0..SLICES {
        let mut start = (total - per.min(total)) * s / (SLICES - 1).max(1);
        let mut want = per.min(total - start);
        for batch in batches {
            if want == 0 {
                break;
            }
            let n = batch.num_rows();
            if start >= n {
                start -= n;
                continue;
            }
            let take = want.min(n - start);
            parts.push(batch.column(column).slice(start, take));
            want -= take;
            start = 0;
        }
        if rows <= per {
            break;
        }
    }
    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
    arrow::compute::concat(&refs)
        .map(Some)
        .map_err(|e| Error::internal(format!("cannot sample a column: {e}")))
}

/// Rows in about one data page of this column.
fn page_rows(batches: &[RecordBatch], column: usize, options: &WriteOptions) -> usize {
    if options.sample_rows > 0 {
        return options.sample_rows;
    }
    let (bytes, rows) = batches.iter().fold((0usize, 0usize), |(b, r), batch| {
        let a = batch.column(column);
        (b + a.get_buffer_memory_size(), r + a.len())
    });
    let per_row = (bytes / rows.max(1)).max(1);
    (options.page_bytes / per_row).clamp(1024, 64 * 1024)
}

/// The encoded, uncompressed bytes of `array` in one column chunk written with `candidate`.
fn encode(
    field: &Field,
    array: &ArrayRef,
    candidate: Candidate,
    options: &WriteOptions,
) -> Result<Vec<u8>> {
    encode_chunk(field, array, candidate.encoding(), options)
}

/// One trial: an encoding and codec with the size and decode speed they gave.
#[derive(Clone, Copy)]
struct Trial {
    candidate: Candidate,
    codec: Codec,
    size: usize,
    mbps: f64,
}

fn kib(n: usize) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}

/// Chooses the codec and encoding of one column.
fn choose_column(
    field: &Field,
    array: &ArrayRef,
    options: &WriteOptions,
    floor: f64,
) -> Result<ColumnChoice> {
    let encodings = candidates(field.data_type(), options.dictionary);
    let codecs = codec_candidates(options.codec);
    // Rank encodings by their size under one cheap codec (zstd-1 sees most of the structure the
    // heavier ones do), then trial every codec on the best encoding only.
    let probe = match options.codec {
        CodecPolicy::Fixed(c) => c,
        CodecPolicy::Fast => Codec::Lz4,
        _ => Codec::Zstd(1),
    };
    let mut ranked: Vec<(Candidate, Vec<u8>, usize)> = Vec::new();
    for candidate in encodings {
        let bytes = encode(field, array, candidate, options)?;
        let (size, _) = probe.trial(&bytes)?;
        ranked.push((candidate, bytes, size));
    }
    ranked.sort_by_key(|(_, _, size)| *size);
    // A dictionary within 5% of the best keeps its place: it decodes fastest and lets readers
    // filter on dictionary pages.
    if let Some(pos) = ranked
        .iter()
        .position(|(c, _, _)| *c == Candidate::Dictionary)
    {
        if pos > 0 && ranked[pos].2 <= ranked[0].2 + ranked[0].2 / 20 {
            let dict = ranked.remove(pos);
            ranked.insert(0, dict);
        }
    }
    let Some((candidate, bytes, _)) = ranked.first() else {
        return Err(Error::internal("no encoding candidate"));
    };
    let mut trials = Vec::new();
    for &codec in &codecs {
        let (size, mbps) = codec.trial(bytes)?;
        trials.push(Trial {
            candidate: *candidate,
            codec,
            size,
            mbps,
        });
    }
    let meets: Vec<&Trial> = trials.iter().filter(|t| t.mbps >= floor).collect();
    let best = if meets.is_empty() {
        // Nothing meets the floor (a very slow machine): the fastest decoder.
        trials
            .iter()
            .max_by(|a, b| a.mbps.total_cmp(&b.mbps))
            .copied()
    } else {
        let smallest = meets.iter().map(|t| t.size).min().unwrap_or(0);
        // Within half a percent of the smallest, the cheaper (earlier) codec wins; `fast`
        // takes LZ4 only where it saves a tenth, since skipping decompression is faster still.
        let slack = match options.codec {
            CodecPolicy::Fast => smallest / 9,
            _ => smallest / 200,
        };
        meets
            .iter()
            .find(|t| t.size <= smallest + slack)
            .copied()
            .copied()
    };
    let Some(best) = best else {
        return Err(Error::internal("no codec candidate"));
    };
    let mut reason = format!(
        "{} rows sampled; {} {} ({} encoded)",
        array.len(),
        best.candidate.name(),
        best.codec,
        kib(bytes.len()),
    );
    if trials.len() > 1 {
        reason.push_str(&format!(" -> {}", kib(best.size)));
        if best.mbps.is_finite() {
            reason.push_str(&format!(" decoding at {:.0} MB/s", best.mbps));
        }
        if floor > 0.0 {
            reason.push_str(&format!(" (floor {floor:.0})"));
        }
        if let Some(other) = trials
            .iter()
            .filter(|t| t.codec != best.codec)
            .min_by_key(|t| t.size)
        {
            reason.push_str(&format!("; next {} {}", other.codec, kib(other.size)));
        }
    }
    if ranked.len() > 1 {
        let others: Vec<String> = ranked[1..]
            .iter()
            .map(|(c, _, s)| format!("{} {}", c.name(), kib(*s)))
            .collect();
        reason.push_str(&format!("; vs {} under {probe}", others.join(", ")));
    }
    Ok(ColumnChoice {
        column: field.name().clone(),
        codec: best.codec,
        encoding: best.candidate.name().to_string(),
        dictionary: best.candidate == Candidate::Dictionary,
        reason,
    })
}

/// Chooses codec and encoding for every top-level column that trials cover; other columns
/// (nested, boolean, decimal) get the policy's default codec and the writer's encodings.
pub fn choose_columns(
    schema: &Schema,
    batches: &[RecordBatch],
    options: &WriteOptions,
) -> Result<Vec<ColumnChoice>> {
    // The decode-speed floor is what `auto` trades size against; the named policies and fixed
    // codecs choose among codecs that are fast enough by construction.
    let floor = match options.codec {
        CodecPolicy::Auto => decode_floor(options.tier_position),
        _ => 0.0,
    };
    let fallback = default_codec(options.codec);
    schema
        .fields()
        .iter()
        .enumerate()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(i, field)| {
            let plain = || ColumnChoice {
                column: field.name().clone(),
                codec: fallback,
                encoding: "default".into(),
                dictionary: options.dictionary != DictionaryMode::Off,
                reason: "writer defaults for this type".into(),
            };
            if candidates(field.data_type(), options.dictionary).is_empty() {
                return Ok(plain());
            }
            let rows = page_rows(batches, i, options);
            match sample(batches, i, rows)? {
                Some(array) => choose_column(field, &array, options, floor),
                None => Ok(ColumnChoice {
                    reason: "no rows to sample".into(),
                    ..plain()
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array, StringArray};
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        let n = 20_000;
        let sorted: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n));
        let low: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..n).map(|i| ["red", "green", "blue"][(i as usize * 7919) % 13 % 3]),
        ));
        let floats: ArrayRef = Arc::new(Float64Array::from_iter_values(
            (0..n).map(|i| 20.0 + (i as f64 * 0.37).sin()),
        ));
        RecordBatch::try_from_iter([("id", sorted), ("color", low), ("temp", floats)]).unwrap()
    }

    #[test]
    fn picks_delta_for_sorted_ints_and_a_dictionary_for_few_values() {
        let b = batch();
        let choices = choose_columns(&b.schema(), &[b], &WriteOptions::default()).unwrap();
        assert_eq!(
            choices[0].encoding, "DELTA_BINARY_PACKED",
            "{:?}",
            choices[0]
        );
        assert!(choices[1].dictionary, "{:?}", choices[1]);
        assert!(!choices[2].reason.is_empty());
    }

    #[test]
    fn forced_codecs_and_dictionary_modes_are_obeyed() {
        let b = batch();
        let options = WriteOptions {
            codec: CodecPolicy::Fixed(Codec::Snappy),
            dictionary: DictionaryMode::Off,
            ..WriteOptions::default()
        };
        let choices = choose_columns(&b.schema(), &[b], &options).unwrap();
        assert!(choices
            .iter()
            .all(|c| c.codec == Codec::Snappy && !c.dictionary));
    }
}
