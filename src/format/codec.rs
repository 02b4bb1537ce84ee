//! Codecs and codec policies: what `--codec` accepts, how each maps onto Parquet, and the
//! direct compress/decompress calls the `auto` policy uses to trial a column sample.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use serde::Serialize;

use crate::error::{Error, Result};

/// One compression codec, with its level where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// No compression.
    None,
    /// Snappy.
    Snappy,
    /// LZ4 block format (Parquet's `LZ4_RAW`).
    Lz4,
    /// Zstandard at a level (1..=22).
    Zstd(i32),
    /// Gzip (deflate) at a level (0..=9).
    Gzip(u32),
}

/// The default zstd level of `zstd` with no level, as in the zstd tool.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;
/// The default gzip level.
pub const DEFAULT_GZIP_LEVEL: u32 = 6;

impl Codec {
    /// The codec as a Parquet compression setting.
    pub fn to_parquet(self) -> Result<Compression> {
        // The levels are checked here, with the ranges `--codec` names, so that the parquet
        // crate's own check (whose errors are not about arguments) never fails.
        let bad =
            |range: &str| Error::invalid(format!("bad level in codec {self}; it takes {range}"));
        Ok(match self {
            Codec::None => Compression::UNCOMPRESSED,
            Codec::Snappy => Compression::SNAPPY,
            Codec::Lz4 => Compression::LZ4_RAW,
            Codec::Zstd(level) if !(1..=22).contains(&level) => return Err(bad("1..=22")),
            Codec::Gzip(level) if level > 9 => return Err(bad("0..=9")),
            Codec::Zstd(level) => Compression::ZSTD(ZstdLevel::try_new(level)?),
            Codec::Gzip(level) => Compression::GZIP(GzipLevel::try_new(level)?),
        })
    }

    /// The codec of a Parquet compression setting (levels are not stored in files, so the
    /// default level stands in).
    pub fn from_parquet(c: Compression) -> Option<Codec> {
        Some(match c {
            Compression::UNCOMPRESSED => Codec::None,
            Compression::SNAPPY => Codec::Snappy,
            Compression::LZ4_RAW | Compression::LZ4 => Codec::Lz4,
            Compression::ZSTD(l) => Codec::Zstd(l.compression_level()),
            Compression::GZIP(l) => Codec::Gzip(l.compression_level()),
            Compression::BROTLI(_) | Compression::LZO => return None,
        })
    }

    /// Compresses `data` as the Parquet writer would (raw blocks, no framing).
    pub fn compress(self, data: &[u8]) -> Result<Vec<u8>> {
        let fail = |e: &dyn fmt::Display| Error::internal(format!("{self} trial failed: {e}"));
        match self {
            Codec::None => Ok(data.to_vec()),
            Codec::Snappy => snap::raw::Encoder::new()
                .compress_vec(data)
                .map_err(|e| fail(&e)),
            Codec::Lz4 => Ok(lz4_flex::block::compress(data)),
            Codec::Zstd(level) => zstd::bulk::compress(data, level).map_err(|e| fail(&e)),
            Codec::Gzip(level) => {
                use std::io::Write;
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(data.len() / 2),
                    flate2::Compression::new(level),
                );
                enc.write_all(data).map_err(|e| fail(&e))?;
                enc.finish().map_err(|e| fail(&e))
            }
        }
    }

    /// Decompresses what [`Codec::compress`] made; `len` is the uncompressed length.
    pub fn decompress(self, data: &[u8], len: usize) -> Result<Vec<u8>> {
        let fail = |e: &dyn fmt::Display| Error::corrupt(format!("{self} decode failed: {e}"));
        match self {
            Codec::None => Ok(data.to_vec()),
            Codec::Snappy => snap::raw::Decoder::new()
                .decompress_vec(data)
                .map_err(|e| fail(&e)),
            Codec::Lz4 => lz4_flex::block::decompress(data, len).map_err(|e| fail(&e)),
            Codec::Zstd(_) => zstd::bulk::decompress(data, len).map_err(|e| fail(&e)),
            Codec::Gzip(_) => {
                use std::io::Read;
                let mut out = Vec::with_capacity(len);
                flate2::read::GzDecoder::new(data)
                    .read_to_end(&mut out)
                    .map_err(|e| fail(&e))?;
                Ok(out)
            }
        }
    }

    /// Trial-compresses `data`: the compressed size and the decode speed in MB/s of output
    /// (best of a few runs, so one descheduled run does not condemn a codec).
    pub fn trial(self, data: &[u8]) -> Result<(usize, f64)> {
        if data.is_empty() {
            return Ok((0, f64::INFINITY));
        }
        let packed = self.compress(data)?;
        Ok((packed.len(), self.decode_speed(data, &packed)?))
    }

    /// The compressed size of `data`, without the cost of measuring how fast it decodes
    /// (`none` costs nothing).
    pub fn compressed_size(self, data: &[u8]) -> Result<usize> {
        match self {
            Codec::None => Ok(data.len()),
            _ => self.compress(data).map(|p| p.len()),
        }
    }

    /// The decode speed in MB/s of output of `packed`, which is `data` compressed by this
    /// codec (best of a few runs, so one descheduled run does not condemn a codec).
    pub fn decode_speed(self, data: &[u8], packed: &[u8]) -> Result<f64> {
        if data.is_empty() || self == Codec::None {
            return Ok(f64::INFINITY);
        }
        // Small samples are decoded many times over so the clock's resolution and call
        // overheads do not dominate; best of three rounds of 64 KiB or more (some 65 us at
        // 1 GB/s, long beside both). Rounds of 256 KiB made the probe most of a small write's
        // trials.
        let reps = (64 * 1024 / data.len()).clamp(1, 1000);
        // A reader decodes every page of a column with one zstd context; making a context per
        // call (what `decompress` does) costs more than decoding a small sample, and would
        // both slow the trial and undercount zstd's speed.
        let mut zstd = match self {
            Codec::Zstd(_) => Some(
                zstd::bulk::Decompressor::new()
                    .map_err(|e| Error::internal(format!("cannot make a zstd decoder: {e}")))?,
            ),
            _ => None,
        };
        let mut decode = |packed: &[u8]| match zstd.as_mut() {
            Some(z) => z
                .decompress(packed, data.len())
                .map_err(|e| Error::corrupt(format!("{self} decode failed: {e}"))),
            None => self.decompress(packed, data.len()),
        };
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            for _ in 0..reps {
                let back = decode(packed)?;
                if back.len() != data.len() {
                    return Err(Error::internal(format!("{self} trial did not round-trip")));
                }
            }
            best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        }
        Ok(data.len() as f64 / 1e6 / best.max(1e-9))
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Codec::None => f.write_str("none"),
            Codec::Snappy => f.write_str("snappy"),
            Codec::Lz4 => f.write_str("lz4"),
            Codec::Zstd(l) => write!(f, "zstd:{l}"),
            Codec::Gzip(l) => write!(f, "gzip:{l}"),
        }
    }
}

impl Serialize for Codec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What `--codec` names: a named policy or one fixed codec for every column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecPolicy {
    /// Hot, read-heavy data: LZ4 where it pays for itself, else no compression.
    Fast,
    /// zstd level 3 with encodings chosen per column.
    Balanced,
    /// Cold and archive data: the smallest of the candidates per column, zstd up to level 9.
    Compact,
    /// Measures each column on a sample with the candidate codecs and encodings (within a tenth
    /// of the write's time) and keeps the smallest whose decode speed meets the tier's floor
    /// among those that compress at 0.7x zstd-1's speed or faster (where the encoded sample is
    /// 64 KiB or more, enough to measure that; below it, zstd above level 3 and gzip only for
    /// columns expected to encode under 64 KiB).
    Auto,
    /// The same codec for every column (encodings still chosen per column).
    Fixed(Codec),
}

impl CodecPolicy {
    /// The policy a tier gets when none is configured: hot tiers `fast`, others `compact`.
    pub fn for_tier_position(position: usize) -> CodecPolicy {
        if position == 0 {
            CodecPolicy::Fast
        } else {
            CodecPolicy::Compact
        }
    }
}

impl fmt::Display for CodecPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecPolicy::Fast => f.write_str("fast"),
            CodecPolicy::Balanced => f.write_str("balanced"),
            CodecPolicy::Compact => f.write_str("compact"),
            CodecPolicy::Auto => f.write_str("auto"),
            CodecPolicy::Fixed(c) => c.fmt(f),
        }
    }
}

impl Serialize for CodecPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

const CODEC_HELP: &str =
    "expected auto, fast, balanced, compact, zstd[:LEVEL], lz4, snappy, gzip[:LEVEL] or none";

impl FromStr for CodecPolicy {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let (name, level) = match lower.split_once(':') {
            Some((n, l)) => (n, Some(l)),
            None => (lower.as_str(), None),
        };
        let bad = || Error::invalid(format!("unknown codec {text:?}; {CODEC_HELP}"));
        let level_of = |l: &str, range: std::ops::RangeInclusive<i64>| -> Result<i64> {
            match l.parse::<i64>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(Error::invalid(format!(
                    "bad level {l:?} in codec {text:?}; {name} takes {}..={}",
                    range.start(),
                    range.end()
                ))),
            }
        };
        let policy = match (name, level) {
            ("auto", None) => CodecPolicy::Auto,
            ("fast", None) => CodecPolicy::Fast,
            ("balanced", None) => CodecPolicy::Balanced,
            ("compact", None) => CodecPolicy::Compact,
            ("none" | "uncompressed", None) => CodecPolicy::Fixed(Codec::None),
            ("snappy", None) => CodecPolicy::Fixed(Codec::Snappy),
            ("lz4" | "lz4_raw", None) => CodecPolicy::Fixed(Codec::Lz4),
            ("zstd", None) => CodecPolicy::Fixed(Codec::Zstd(DEFAULT_ZSTD_LEVEL)),
            ("zstd", Some(l)) => CodecPolicy::Fixed(Codec::Zstd(level_of(l, 1..=22)? as i32)),
            ("gzip", None) => CodecPolicy::Fixed(Codec::Gzip(DEFAULT_GZIP_LEVEL)),
            ("gzip", Some(l)) => CodecPolicy::Fixed(Codec::Gzip(level_of(l, 0..=9)? as u32)),
            _ => return Err(bad()),
        };
        Ok(policy)
    }
}

/// The Parquet compression of a file written by another tool, for display.
pub fn compression_name(c: Compression) -> String {
    match c {
        Compression::BROTLI(l) if l == BrotliLevel::default() => "brotli".into(),
        other => Codec::from_parquet(other)
            .map(|c| match c {
                // Levels are not recorded in Parquet files.
                Codec::Zstd(_) => "zstd".into(),
                Codec::Gzip(_) => "gzip".into(),
                c => c.to_string(),
            })
            .unwrap_or_else(|| format!("{other:?}").to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling_and_refuses_the_rest() {
        let ok = |s: &str| s.parse::<CodecPolicy>().unwrap();
        assert_eq!(ok("auto"), CodecPolicy::Auto);
        assert_eq!(ok("ZSTD"), CodecPolicy::Fixed(Codec::Zstd(3)));
        assert_eq!(ok("zstd:19"), CodecPolicy::Fixed(Codec::Zstd(19)));
        assert_eq!(ok("gzip:9"), CodecPolicy::Fixed(Codec::Gzip(9)));
        assert_eq!(ok("lz4"), CodecPolicy::Fixed(Codec::Lz4));
        assert_eq!(ok("none"), CodecPolicy::Fixed(Codec::None));
        for bad in [
            "zstd:0", "zstd:23", "zstd:x", "gzip:10", "brotli", "", "fast:1",
        ] {
            let err = bad.parse::<CodecPolicy>().unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn every_codec_round_trips_and_reports_a_speed() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 97).to_le_bytes())
            .collect();
        for c in [
            Codec::None,
            Codec::Snappy,
            Codec::Lz4,
            Codec::Zstd(3),
            Codec::Gzip(6),
        ] {
            let packed = c.compress(&data).unwrap();
            assert_eq!(c.decompress(&packed, data.len()).unwrap(), data, "{c}");
            let (size, speed) = c.trial(&data).unwrap();
            assert_eq!(size, packed.len());
            assert!(speed > 0.0);
            assert!(c.to_parquet().is_ok());
        }
    }
}
