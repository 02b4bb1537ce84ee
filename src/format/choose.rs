//! Per-column codec and encoding selection.
//!
//! Each top-level primitive column is sampled (about one data page of rows, taken from several
//! places in the data), encoded once per candidate encoding into an in-memory Parquet chunk
//! without compression, and the encoded bytes are trial-compressed with each candidate codec of
//! the policy. The smallest result whose measured decode speed meets the tier's floor wins
//! (under `auto`, among the codecs that compress at [`WRITE_SPEED_SHARE`] of zstd-1's speed or faster). Encodings
//! are ranked first with one cheap codec so the codec trials run once per column. The sample
//! is taken once per column for the whole write (at most a 64th of the rows), and a column's
//! trials stop at a tenth of the time its rows are expected to take to encode; decode speeds
//! are measured only for the trials about to win.

use std::time::{Duration, Instant};

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

/// The share of a column's write that its trials may take (the "about a tenth").
const TRIAL_SHARE: f64 = 0.10;
/// Trials of one column may always take this long, however small the data: a few encodings
/// of a thousand rows, which the share of a tiny write would not allow.
const MIN_TRIAL_TIME: Duration = Duration::from_millis(3);
/// The sample is at most this fraction of the rows (one in 64), so that encoding it a few
/// times stays a small part of encoding every row once.
const SAMPLE_FRACTION: usize = 64;
/// The fewest rows a sample has (or all of them, when there are fewer).
const MIN_SAMPLE_ROWS: usize = 1024;

/// Rows in the sample: about one data page of this column, at most a 64th of the rows.
fn page_rows(batches: &[RecordBatch], column: usize, options: &WriteOptions) -> usize {
    if options.sample_rows > 0 {
        return options.sample_rows;
    }
    let (bytes, rows) = batches.iter().fold((0usize, 0usize), |(b, r), batch| {
        let a = batch.column(column);
        (b + a.get_buffer_memory_size(), r + a.len())
    });
    let per_row = (bytes / rows.max(1)).max(1);
    let page = (options.page_bytes / per_row).clamp(MIN_SAMPLE_ROWS, 64 * 1024);
    page.min((rows / SAMPLE_FRACTION).max(MIN_SAMPLE_ROWS))
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

/// One trial: an encoding and codec with the size they gave.
#[derive(Clone, Copy)]
struct Trial {
    candidate: Candidate,
    codec: Codec,
    size: usize,
    /// Compression speed on the sample, MB/s of input.
    write_mbps: f64,
}

/// Under `auto`, codecs that compress slower than this share of zstd-1's speed (both measured
/// on the same sample, so a loaded machine slows both alike) are left out: the heavier zstd
/// levels and gzip save a few percent of size at several times the write's cost. No
/// compression is never preferred for its speed alone.
pub(crate) const WRITE_SPEED_SHARE: f64 = 0.7;

/// Encoded samples smaller than this are not held to [`WRITE_SPEED_SHARE`]: compressing a few
/// KiB measures the codec's setup more than its speed (zstd's context grows with the level).
/// A column expected to encode that small costs little to compress anyway and may take any
/// codec; a larger one takes only the [`light`] codecs.
const WRITE_FLOOR_MIN_BYTES: usize = 64 << 10;

/// Codecs that compress at about zstd-1's speed or faster, which `auto` may pick without a
/// measured speed (zstd-3 is the policy's default codec).
fn light(codec: Codec) -> bool {
    matches!(
        codec,
        Codec::None | Codec::Lz4 | Codec::Snappy | Codec::Zstd(1..=3)
    )
}

/// `codec`'s compressed size of `data` and its speed in MB/s of input.
fn timed_size(codec: Codec, data: &[u8]) -> Result<(usize, f64)> {
    let started = Instant::now();
    let size = codec.compressed_size(data)?;
    let seconds = started.elapsed().as_secs_f64();
    let mbps = match codec {
        Codec::None => f64::INFINITY,
        _ => data.len() as f64 / 1e6 / seconds.max(1e-9),
    };
    Ok((size, mbps))
}

fn kib(n: usize) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}

/// What the trials of one column measured: the chosen codec's size on the sample and each
/// codec's size with the chosen encoding (the codecs the time allowed).
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnTrials {
    /// The chosen encoding and codec's compressed size of the sample.
    pub chosen: usize,
    /// Each trialled codec's compressed size of the sample in the chosen encoding.
    pub sizes: Vec<(Codec, usize)>,
}

/// When the trials of one column must stop: a tenth of what encoding every row of it is
/// expected to take (the first encoding's time, scaled from the sample to the rows).
struct Budget {
    started: Instant,
    limit: Option<Duration>,
}

impl Budget {
    fn start() -> Budget {
        Budget {
            started: Instant::now(),
            limit: None,
        }
    }

    /// Sets the limit from the time the first encoding of `sampled` of `total` rows took.
    fn calibrate(&mut self, sampled: usize, total: usize) {
        let first = self.started.elapsed().as_secs_f64();
        let write = first * total as f64 / sampled.max(1) as f64;
        self.limit = Some(Duration::from_secs_f64(write * TRIAL_SHARE).max(MIN_TRIAL_TIME));
    }

    fn left(&self) -> bool {
        self.limit.is_none_or(|l| self.started.elapsed() < l)
    }
}

/// Chooses the codec and encoding of one column from `array`, a sample of `total` rows.
fn choose_column(
    field: &Field,
    array: &ArrayRef,
    total: usize,
    options: &WriteOptions,
    floor: f64,
) -> Result<(ColumnChoice, ColumnTrials)> {
    let mut budget = Budget::start();
    let encodings = candidates(field.data_type(), options.dictionary);
    let codecs = codec_candidates(options.codec);
    // Rank encodings by their size under one cheap codec (zstd-1 sees most of the structure the
    // heavier ones do), then trial the codecs on the best encoding only.
    let probe = match options.codec {
        CodecPolicy::Fixed(c) => c,
        CodecPolicy::Fast => Codec::Lz4,
        _ => Codec::Zstd(1),
    };
    let mut ranked: Vec<(Candidate, Vec<u8>, usize, f64)> = Vec::new();
    let mut skipped: Vec<Candidate> = Vec::new();
    for candidate in encodings {
        if !ranked.is_empty() && !budget.left() {
            skipped.push(candidate);
            continue;
        }
        let bytes = encode(field, array, candidate, options)?;
        if ranked.is_empty() {
            budget.calibrate(array.len(), total);
        }
        let (size, mbps) = timed_size(probe, &bytes)?;
        ranked.push((candidate, bytes, size, mbps));
    }
    ranked.sort_by_key(|(_, _, size, _)| *size);
    // A dictionary within 5% of the best keeps its place: it decodes fastest and lets readers
    // filter on dictionary pages.
    if let Some(pos) = ranked
        .iter()
        .position(|(c, _, _, _)| *c == Candidate::Dictionary)
    {
        if pos > 0 && ranked[pos].2 <= ranked[0].2 + ranked[0].2 / 20 {
            let dict = ranked.remove(pos);
            ranked.insert(0, dict);
        }
    }
    let Some((candidate, bytes, probe_size, probe_mbps)) = ranked.first() else {
        return Err(Error::internal("no encoding candidate"));
    };
    // The codecs in the order the time is spent on them: the probe's size is known, `none`
    // costs nothing, then the fast codecs, then the slow ones that a short budget leaves out.
    let mut trials: Vec<Trial> = Vec::new();
    let mut untried: Vec<Codec> = Vec::new();
    let mut order = codecs.clone();
    order.sort_by_key(|c| match c {
        c if *c == probe => 0,
        Codec::None => 1,
        Codec::Lz4 | Codec::Snappy => 2,
        Codec::Zstd(l) if *l <= 3 => 3,
        _ => 4,
    });
    // A sample too small to time a codec on (see WRITE_FLOOR_MIN_BYTES) of a column that is
    // not: the heavy codecs' speed cannot be shown, and on the whole column they cost several
    // times zstd-1's time (gzip:6 on one column of 4 MB was the last 0.15 s of a write), so
    // `auto` leaves them out rather than trusting them blind.
    let expected = bytes.len() as f64 * total as f64 / array.len().max(1) as f64;
    let unproven = options.codec == CodecPolicy::Auto
        && bytes.len() < WRITE_FLOOR_MIN_BYTES
        && expected >= WRITE_FLOOR_MIN_BYTES as f64;
    let mut heavy: Vec<Codec> = Vec::new();
    for codec in order {
        if unproven && codec != probe && !light(codec) {
            heavy.push(codec);
            continue;
        }
        let (size, write_mbps) = if codec == probe {
            (*probe_size, *probe_mbps)
        } else if codec == Codec::None || budget.left() || trials.is_empty() {
            // Past the budget only while nothing was tried: a policy whose codecs do not
            // include the probe (`compact`: zstd:9, gzip) still gets its cheapest one.
            timed_size(codec, bytes)?
        } else {
            untried.push(codec);
            continue;
        };
        trials.push(Trial {
            candidate: *candidate,
            codec,
            size,
            write_mbps,
        });
    }
    // Cheapest first again, as the policy lists them: ties go to the cheaper codec.
    trials.sort_by_key(|t| codecs.iter().position(|c| *c == t.codec));
    let (best, mbps) = pick(&mut trials.clone(), bytes, floor, options.codec)?;
    let mut reason = format!(
        "{} rows sampled; {} {} ({} encoded)",
        array.len(),
        best.candidate.name(),
        best.codec,
        kib(bytes.len()),
    );
    if trials.len() > 1 {
        reason.push_str(&format!(" -> {}", kib(best.size)));
        if mbps.is_finite() {
            reason.push_str(&format!(" decoding at {mbps:.0} MB/s"));
        }
        if best.write_mbps.is_finite() {
            reason.push_str(&format!(", compressing at {:.0} MB/s", best.write_mbps));
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
            .map(|(c, _, s, _)| format!("{} {}", c.name(), kib(*s)))
            .collect();
        reason.push_str(&format!("; vs {} under {probe}", others.join(", ")));
    }
    if !heavy.is_empty() {
        let names: Vec<String> = heavy.iter().map(Codec::to_string).collect();
        reason.push_str(&format!(
            "; not tried, as the sample is too small to show their speed on {} of column: {}",
            kib(expected as usize),
            names.join(", ")
        ));
    }
    if !skipped.is_empty() || !untried.is_empty() {
        let names: Vec<String> = skipped
            .iter()
            .map(|c| c.name().to_string())
            .chain(untried.iter().map(Codec::to_string))
            .collect();
        reason.push_str(&format!(
            "; not tried within a tenth of the write's time: {}",
            names.join(", ")
        ));
    }
    let measured = ColumnTrials {
        chosen: best.size,
        sizes: trials.iter().map(|t| (t.codec, t.size)).collect(),
    };
    Ok((
        ColumnChoice {
            column: field.name().clone(),
            codec: best.codec,
            encoding: best.candidate.name().to_string(),
            dictionary: best.candidate == Candidate::Dictionary,
            reason,
        },
        measured,
    ))
}

/// The trial to keep: the smallest whose decode speed meets the floor, the cheaper (earlier)
/// codec winning within half a percent (`fast`: LZ4 only where it saves a tenth, since skipping
/// decompression is faster still). Decode speeds are measured only for the trials that would
/// win, one at a time, as measuring each costs as much as compressing.
fn pick(
    trials: &mut Vec<Trial>,
    bytes: &[u8],
    floor: f64,
    policy: CodecPolicy,
) -> Result<(Trial, f64)> {
    let reference = trials
        .iter()
        .find(|t| t.codec == Codec::Zstd(1))
        .map(|t| t.write_mbps);
    if let Some(reference) = reference {
        if policy == CodecPolicy::Auto && bytes.len() >= WRITE_FLOOR_MIN_BYTES {
            trials.retain(|t| {
                t.codec == Codec::None || t.write_mbps >= reference * WRITE_SPEED_SHARE
            });
        }
    }
    let mut fastest: Option<(Trial, f64)> = None;
    while !trials.is_empty() {
        let smallest = trials.iter().map(|t| t.size).min().unwrap_or(0);
        let slack = match policy {
            CodecPolicy::Fast => smallest / 9,
            _ => smallest / 200,
        };
        let Some(pos) = trials.iter().position(|t| t.size <= smallest + slack) else {
            break;
        };
        let trial = trials.remove(pos);
        let mbps = if floor > 0.0 {
            let packed = trial.codec.compress(bytes)?;
            trial.codec.decode_speed(bytes, &packed)?
        } else {
            f64::INFINITY
        };
        if mbps >= floor {
            return Ok((trial, mbps));
        }
        if fastest.is_none_or(|(_, f)| mbps > f) {
            fastest = Some((trial, mbps));
        }
    }
    // Nothing meets the floor (a very slow machine): the fastest decoder.
    fastest.ok_or_else(|| Error::internal("no codec candidate"))
}

/// Chooses codec and encoding for every top-level column that trials cover; other columns
/// (nested, boolean, decimal) get the policy's default codec and the writer's encodings.
pub fn choose_columns(
    schema: &Schema,
    batches: &[RecordBatch],
    options: &WriteOptions,
) -> Result<Vec<ColumnChoice>> {
    Ok(choose_columns_measured(schema, batches, options)?.0)
}

/// [`choose_columns`], with what the trials measured (per column; `None` for the columns no
/// trial covers). Each column is sampled once for the whole write, whatever the row groups
/// and files, and its trials stop at a tenth of the time that encoding its rows is expected to
/// take.
pub(crate) fn choose_columns_measured(
    schema: &Schema,
    batches: &[RecordBatch],
    options: &WriteOptions,
) -> Result<(Vec<ColumnChoice>, Vec<Option<ColumnTrials>>)> {
    // The decode-speed floor is what `auto` trades size against; the named policies and fixed
    // codecs choose among codecs that are fast enough by construction.
    let floor = match options.codec {
        CodecPolicy::Auto => decode_floor(options.tier_position),
        _ => 0.0,
    };
    let fallback = default_codec(options.codec);
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let chosen = schema
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
                return Ok((plain(), None));
            }
            let rows = page_rows(batches, i, options);
            match sample(batches, i, rows)? {
                Some(array) => {
                    choose_column(field, &array, total, options, floor).map(|(c, t)| (c, Some(t)))
                }
                None => Ok((
                    ColumnChoice {
                        reason: "no rows to sample".into(),
                        ..plain()
                    },
                    None,
                )),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(chosen.into_iter().unzip())
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
