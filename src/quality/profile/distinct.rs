//! Distinct counting and value frequencies over 64-bit value keys: exact counts in a map up to
//! a threshold, then a HyperLogLog sketch.
//!
//! The switch depends only on the set of keys seen, and the sketch is filled from the same
//! hashes either way, so the estimate does not depend on how the input was split.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::quality::hash::{hash_u64, KeyHasher};
use crate::quality::sketch::HyperLogLog;
use crate::Result;

/// Exact key counts or, past the threshold, a sketch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum KeyCounts {
    /// Every distinct key with its count.
    Exact(HashMap<u64, u64, KeyHasher>),
    /// Too many distinct keys to keep; a distinct-count sketch.
    Sketch(HyperLogLog),
}

/// Distinct keys of one column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DistinctKeys {
    threshold: usize,
    precision: u8,
    counts: KeyCounts,
}

impl DistinctKeys {
    pub(crate) fn new(threshold: usize, precision: u8) -> Self {
        DistinctKeys {
            threshold,
            precision,
            counts: KeyCounts::Exact(HashMap::default()),
        }
    }

    /// Adds keys; the loop for each state is separate so that the sketch path stays tight.
    #[inline]
    pub(crate) fn insert_all(&mut self, keys: impl Iterator<Item = u64>) -> Result<()> {
        let mut keys = keys;
        if let KeyCounts::Exact(map) = &mut self.counts {
            let mut full = false;
            for key in keys.by_ref() {
                *map.entry(key).or_insert(0) += 1;
                if map.len() > self.threshold {
                    full = true;
                    break;
                }
            }
            if !full {
                return Ok(());
            }
            self.overflow()?;
        }
        self.insert_all_sketch(keys)
    }

    fn insert_all_sketch(&mut self, keys: impl Iterator<Item = u64>) -> Result<()> {
        if let KeyCounts::Sketch(hll) = &mut self.counts {
            for key in keys {
                hll.insert_hash(hash_u64(key));
            }
        }
        Ok(())
    }

    fn overflow(&mut self) -> Result<()> {
        if let KeyCounts::Exact(map) = &self.counts {
            let mut hll = HyperLogLog::new(self.precision)?;
            for &key in map.keys() {
                hll.insert_hash(hash_u64(key));
            }
            self.counts = KeyCounts::Sketch(hll);
        }
        Ok(())
    }

    pub(crate) fn merge(&mut self, other: &DistinctKeys) -> Result<()> {
        match (&mut self.counts, &other.counts) {
            (KeyCounts::Exact(mine), KeyCounts::Exact(theirs)) => {
                for (&key, &count) in theirs {
                    *mine.entry(key).or_insert(0) += count;
                }
                if mine.len() > self.threshold {
                    self.overflow()?;
                }
            }
            (KeyCounts::Sketch(mine), KeyCounts::Sketch(theirs)) => mine.merge(theirs)?,
            (KeyCounts::Sketch(mine), KeyCounts::Exact(theirs)) => {
                for &key in theirs.keys() {
                    mine.insert_hash(hash_u64(key));
                }
            }
            (KeyCounts::Exact(_), KeyCounts::Sketch(theirs)) => {
                self.overflow()?;
                if let KeyCounts::Sketch(mine) = &mut self.counts {
                    mine.merge(theirs)?;
                }
            }
        }
        Ok(())
    }

    /// The distinct count, whether it is exact, and the sketch's stated error bound.
    pub(crate) fn count(&self) -> (u64, bool, f64) {
        match &self.counts {
            KeyCounts::Exact(map) => (map.len() as u64, true, 0.0),
            KeyCounts::Sketch(hll) => (hll.estimate().round() as u64, false, hll.error_bound()),
        }
    }

    /// The most frequent keys when counts are exact, ties broken by key.
    pub(crate) fn top(&self, limit: usize) -> Option<Vec<(u64, u64)>> {
        match &self.counts {
            KeyCounts::Exact(map) => {
                let mut all: Vec<(u64, u64)> = map.iter().map(|(&k, &c)| (k, c)).collect();
                all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                all.truncate(limit);
                Some(all)
            }
            KeyCounts::Sketch(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_sketch() {
        let mut d = DistinctKeys::new(100, 12);
        d.insert_all([1u64, 2, 2, 3].into_iter()).unwrap();
        assert_eq!(d.count(), (3, true, 0.0));
        assert_eq!(d.top(1), Some(vec![(2, 2)]));
        d.insert_all(0..1000u64).unwrap();
        let (n, exact, bound) = d.count();
        assert!(!exact);
        assert!((n as f64 - 1000.0).abs() / 1000.0 <= bound);
        assert!(d.top(1).is_none());
    }

    #[test]
    fn merge_is_independent_of_split() {
        let mut whole = DistinctKeys::new(50, 10);
        whole.insert_all(0..500u64).unwrap();
        let mut a = DistinctKeys::new(50, 10);
        a.insert_all(0..30u64).unwrap();
        let mut b = DistinctKeys::new(50, 10);
        b.insert_all(30..500u64).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.count(), whole.count());
    }
}
