//! The fused kernel for strings and byte strings: lengths, extremes, distinct values, frequent
//! values and inferred type in one pass over borrowed slices of the values buffer.
//!
//! Lengths of strings are in characters (what pandas' `str.len()` and SQL's `length` report),
//! of binary values in bytes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::infer::TypeCounts;
use super::ProfileOptions;
use crate::quality::hash::{hash_bytes, KeyHasher};
use crate::quality::sketch::{HeavyHitters, HyperLogLog};
use crate::Result;

/// Distinct values with counts up to the threshold, then a sketch plus frequent values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum ValueCounts {
    Exact(#[serde(with = "pairs")] HashMap<Vec<u8>, u64, KeyHasher>),
    Sketch {
        distinct: HyperLogLog,
        frequent: HeavyHitters,
    },
}

/// Byte-string keys as a list of pairs: JSON map keys must be strings, and values may not be
/// UTF-8.
mod pairs {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        map: &HashMap<Vec<u8>, u64, KeyHasher>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<HashMap<Vec<u8>, u64, KeyHasher>, D::Error> {
        let pairs: Vec<(Vec<u8>, u64)> = Vec::deserialize(d)?;
        Ok(pairs.into_iter().collect())
    }
}

/// Mergeable state of a string or binary column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BytesState {
    utf8: bool,
    threshold: usize,
    precision: u8,
    heavy_capacity: usize,
    pub(crate) values: u64,
    pub(crate) empty: u64,
    pub(crate) min: Option<Vec<u8>>,
    pub(crate) max: Option<Vec<u8>>,
    pub(crate) min_len: Option<u64>,
    pub(crate) max_len: Option<u64>,
    pub(crate) total_len: u64,
    pub(crate) counts: ValueCounts,
    pub(crate) types: TypeCounts,
}

/// Characters in valid UTF-8: every byte that is not a continuation byte starts one.
#[inline]
pub(crate) fn char_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

fn replace(slot: &mut Option<Vec<u8>>, value: &[u8]) {
    let buffer = slot.get_or_insert_with(Vec::new);
    buffer.clear();
    buffer.extend_from_slice(value);
}

impl BytesState {
    pub(crate) fn new(utf8: bool, options: &ProfileOptions) -> Self {
        BytesState {
            utf8,
            threshold: options.distinct_threshold,
            precision: options.hll_precision,
            heavy_capacity: options.heavy_capacity,
            values: 0,
            empty: 0,
            min: None,
            max: None,
            min_len: None,
            max_len: None,
            total_len: 0,
            counts: ValueCounts::Exact(HashMap::default()),
            types: TypeCounts::default(),
        }
    }

    /// Profiles the non-null values.
    pub(crate) fn update<'a>(&mut self, values: impl Iterator<Item = &'a [u8]>) -> Result<()> {
        for value in values {
            self.values += 1;
            let len = if self.utf8 {
                char_count(value)
            } else {
                value.len()
            } as u64;
            self.total_len += len;
            self.empty += value.is_empty() as u64;
            self.min_len = Some(self.min_len.map_or(len, |m| m.min(len)));
            self.max_len = Some(self.max_len.map_or(len, |m| m.max(len)));
            if self.min.as_deref().is_none_or(|m| value < m) {
                replace(&mut self.min, value);
            }
            if self.max.as_deref().is_none_or(|m| value > m) {
                replace(&mut self.max, value);
            }
            if self.utf8 {
                self.types.observe(value);
            }
            self.count(value, 1)?;
        }
        Ok(())
    }

    #[inline]
    fn count(&mut self, value: &[u8], weight: u64) -> Result<()> {
        match &mut self.counts {
            ValueCounts::Exact(map) => {
                if let Some(count) = map.get_mut(value) {
                    *count += weight;
                } else {
                    map.insert(value.to_vec(), weight);
                    if map.len() > self.threshold {
                        self.overflow()?;
                    }
                }
            }
            ValueCounts::Sketch { distinct, frequent } => {
                let hash = hash_bytes(value);
                distinct.insert_hash(hash);
                frequent.insert(hash, value, weight);
            }
        }
        Ok(())
    }

    fn overflow(&mut self) -> Result<()> {
        let ValueCounts::Exact(map) = &mut self.counts else {
            return Ok(());
        };
        let map = std::mem::take(map);
        let mut distinct = HyperLogLog::new(self.precision)?;
        let mut frequent = HeavyHitters::new(self.heavy_capacity);
        for (value, count) in &map {
            let hash = hash_bytes(value);
            distinct.insert_hash(hash);
            frequent.insert(hash, value, *count);
        }
        self.counts = ValueCounts::Sketch { distinct, frequent };
        Ok(())
    }

    pub(crate) fn merge(&mut self, other: &BytesState) -> Result<()> {
        self.values += other.values;
        self.empty += other.empty;
        self.total_len += other.total_len;
        self.min_len = match (self.min_len, other.min_len) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max_len = match (self.max_len, other.max_len) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(m) = &other.min {
            if self.min.as_deref().is_none_or(|mine| m.as_slice() < mine) {
                replace(&mut self.min, m);
            }
        }
        if let Some(m) = &other.max {
            if self.max.as_deref().is_none_or(|mine| m.as_slice() > mine) {
                replace(&mut self.max, m);
            }
        }
        self.types.merge(&other.types);
        match &other.counts {
            ValueCounts::Exact(map) => {
                for (value, count) in map {
                    self.count(value, *count)?;
                }
            }
            ValueCounts::Sketch { distinct, frequent } => {
                self.overflow()?;
                if let ValueCounts::Sketch {
                    distinct: mine,
                    frequent: my_frequent,
                } = &mut self.counts
                {
                    mine.merge(distinct)?;
                    my_frequent.merge(frequent);
                }
            }
        }
        Ok(())
    }

    /// Distinct count, whether exact, and the stated error bound.
    pub(crate) fn distinct(&self) -> (u64, bool, f64) {
        match &self.counts {
            ValueCounts::Exact(map) => (map.len() as u64, true, 0.0),
            ValueCounts::Sketch { distinct, .. } => (
                distinct.estimate().round() as u64,
                false,
                distinct.error_bound(),
            ),
        }
    }

    /// The most frequent values with counts, whether exact, and the bound on undercounting.
    pub(crate) fn top(&self, limit: usize) -> (Vec<(Vec<u8>, u64)>, bool, u64) {
        match &self.counts {
            ValueCounts::Exact(map) => {
                let mut all: Vec<(&Vec<u8>, u64)> = map.iter().map(|(v, &c)| (v, c)).collect();
                all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let top = all
                    .into_iter()
                    .take(limit)
                    .map(|(v, c)| (v.clone(), c))
                    .collect();
                (top, true, 0)
            }
            ValueCounts::Sketch { frequent, .. } => (frequent.top(limit), false, frequent.error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_metrics() {
        let mut s = BytesState::new(true, &ProfileOptions::default());
        let values = ["b", "", "héllo", "b", "12"];
        s.update(values.iter().map(|v| v.as_bytes())).unwrap();
        assert_eq!(s.values, 5);
        assert_eq!(s.empty, 1);
        assert_eq!((s.min_len, s.max_len), (Some(0), Some(5)));
        assert_eq!(s.min.as_deref(), Some(&b""[..]));
        assert_eq!(s.max.as_deref(), Some("héllo".as_bytes()));
        assert_eq!(s.distinct(), (4, true, 0.0));
        assert_eq!(s.top(1).0, vec![(b"b".to_vec(), 2)]);
        assert_eq!(s.types.inferred(), super::super::InferredType::Text);
    }

    #[test]
    fn overflow_keeps_heavy_values_and_estimates_distinct() {
        let options = ProfileOptions {
            distinct_threshold: 100,
            ..ProfileOptions::default()
        };
        let mut s = BytesState::new(false, &options);
        let values: Vec<String> = (0..5000)
            .map(|i| {
                if i % 2 == 0 {
                    "hot".to_string()
                } else {
                    format!("v{i}")
                }
            })
            .collect();
        s.update(values.iter().map(|v| v.as_bytes())).unwrap();
        let (n, exact, bound) = s.distinct();
        assert!(!exact);
        assert!((n as f64 - 2501.0).abs() / 2501.0 <= bound, "{n}");
        let (top, exact, err) = s.top(1);
        assert!(!exact);
        assert_eq!(top[0].0, b"hot");
        assert!(top[0].1 <= 2500 && top[0].1 + err >= 2500);
    }
}
