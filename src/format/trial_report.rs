//! What a write's codec trials measured, for its summary: how long choosing took, and which
//! fixed codecs would have done as well as the choice on the same samples (a fixed codec skips
//! the trials, so when one is within 1% it is the cheaper way to write such data).

use serde::Serialize;

use super::choose::ColumnTrials;
use super::codec::Codec;

/// How close a fixed codec must come to the chosen codecs' size to be named.
const CLOSE: f64 = 0.01;

/// One fixed codec's size of the samples.
#[derive(Debug, Clone, Serialize)]
pub struct FixedCodecSize {
    /// The codec.
    pub codec: Codec,
    /// Its compressed size of every trialled column's sample, in the encodings chosen.
    pub sample_bytes: u64,
}

/// What the codec and encoding trials of a write measured.
#[derive(Debug, Clone, Serialize)]
pub struct CodecTrials {
    /// Wall time spent sampling and trialling, in seconds.
    pub seconds: f64,
    /// Columns whose codec a trial chose (the others take the policy's default).
    pub columns: usize,
    /// The chosen codecs' compressed size of those columns' samples.
    pub sample_bytes: u64,
    /// The codecs trialled on every one of those columns, with their size of the same samples
    /// in the same encodings (a fixed codec may pick other encodings; this compares codecs).
    pub fixed: Vec<FixedCodecSize>,
    /// The fixed codecs within 1% of the chosen codecs' size (or smaller: a codec the time
    /// budget or the compression-speed floor kept from a column), cheapest first.
    pub within_one_percent: Vec<Codec>,
}

impl CodecTrials {
    /// The report of `columns`' trials (`None` where no trial ran), which took `seconds`.
    pub(crate) fn new(seconds: f64, columns: &[Option<ColumnTrials>]) -> CodecTrials {
        let trialled: Vec<&ColumnTrials> = columns.iter().flatten().collect();
        let sample_bytes: u64 = trialled.iter().map(|t| t.chosen as u64).sum();
        let mut fixed = Vec::new();
        if let Some(first) = trialled.first() {
            for &(codec, _) in &first.sizes {
                let sizes: Option<Vec<u64>> = trialled
                    .iter()
                    .map(|t| {
                        t.sizes
                            .iter()
                            .find(|(c, _)| *c == codec)
                            .map(|(_, s)| *s as u64)
                    })
                    .collect();
                if let Some(sizes) = sizes {
                    fixed.push(FixedCodecSize {
                        codec,
                        sample_bytes: sizes.iter().sum(),
                    });
                }
            }
        }
        let within_one_percent = fixed
            .iter()
            .filter(|f| f.sample_bytes as f64 <= sample_bytes as f64 * (1.0 + CLOSE))
            .map(|f| f.codec)
            .collect();
        CodecTrials {
            seconds,
            columns: trialled.len(),
            sample_bytes,
            fixed,
            within_one_percent,
        }
    }

    /// One line for a person: the fixed codecs within 1%, if any.
    pub fn note(&self) -> Option<String> {
        let codec = self.within_one_percent.first()?;
        let size = self
            .fixed
            .iter()
            .find(|f| f.codec == *codec)
            .map_or(0, |f| f.sample_bytes);
        let others: Vec<String> = self.within_one_percent[1..]
            .iter()
            .map(Codec::to_string)
            .collect();
        let change = 100.0 * (size as f64 / self.sample_bytes.max(1) as f64 - 1.0);
        Some(format!(
            "--codec {codec} is within 1% of auto's size on the sample or smaller ({} vs {} \
             bytes, {change:+.1}%{}); a fixed codec skips the trials",
            size,
            self.sample_bytes,
            if others.is_empty() {
                String::new()
            } else {
                format!("; so is {}", others.join(", "))
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_fixed_codecs_within_one_percent() {
        let column = |chosen, sizes: &[(Codec, usize)]| {
            Some(ColumnTrials {
                chosen,
                sizes: sizes.to_vec(),
            })
        };
        let columns = [
            column(
                100,
                &[
                    (Codec::None, 400),
                    (Codec::Snappy, 150),
                    (Codec::Zstd(1), 100),
                ],
            ),
            None,
            column(
                1000,
                &[
                    (Codec::None, 4000),
                    (Codec::Snappy, 1500),
                    (Codec::Zstd(1), 1010),
                ],
            ),
        ];
        let report = CodecTrials::new(0.01, &columns);
        assert_eq!(report.columns, 2);
        assert_eq!(report.sample_bytes, 1100);
        assert_eq!(report.within_one_percent, vec![Codec::Zstd(1)]);
        let note = report.note().unwrap();
        assert!(note.contains("--codec zstd:1 is within 1%"), "{note}");
        assert!(note.contains("+0.9%"), "{note}");
        // A codec not trialled on every column is not compared.
        let columns = [
            column(100, &[(Codec::Zstd(1), 100)]),
            column(100, &[(Codec::Snappy, 100)]),
        ];
        let report = CodecTrials::new(0.01, &columns);
        assert!(report.fixed.is_empty() && report.note().is_none());
    }
}
