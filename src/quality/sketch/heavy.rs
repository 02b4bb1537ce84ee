//! Misra-Gries frequent values over byte strings, in the mergeable form of Agarwal et al.
//! ("Mergeable Summaries", 2012): counters are kept for at most `2 * capacity` values; when
//! full, the `(capacity + 1)`-th largest count is subtracted from all and the non-positive ones
//! dropped. Every reported count is at most `error()` below the truth.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::quality::hash::KeyHasher;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Counter {
    count: u64,
    value: Vec<u8>,
}

/// Frequent byte-string values with bounded memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HeavyHitters {
    capacity: usize,
    /// Keyed by the value's stable hash; the value itself is kept for reporting.
    counters: HashMap<u64, Counter, KeyHasher>,
    /// Total subtracted from each counter: the bound on undercounting.
    subtracted: u64,
    /// Buffers of dropped counters, reused so that a stream of new values does not allocate.
    #[serde(skip)]
    spare: Vec<Vec<u8>>,
}

impl HeavyHitters {
    pub(crate) fn new(capacity: usize) -> Self {
        HeavyHitters {
            capacity: capacity.max(1),
            counters: HashMap::default(),
            subtracted: 0,
            spare: Vec::new(),
        }
    }

    /// Most a reported count can be below the true count.
    pub(crate) fn error(&self) -> u64 {
        self.subtracted
    }

    #[inline]
    pub(crate) fn insert(&mut self, hash: u64, value: &[u8], weight: u64) {
        if let Some(counter) = self.counters.get_mut(&hash) {
            counter.count += weight;
            return;
        }
        let mut buffer = self.spare.pop().unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(value);
        self.counters.insert(
            hash,
            Counter {
                count: weight,
                value: buffer,
            },
        );
        if self.counters.len() > 2 * self.capacity {
            self.reduce();
        }
    }

    fn reduce(&mut self) {
        let mut counts: Vec<u64> = self.counters.values().map(|c| c.count).collect();
        if counts.len() <= self.capacity {
            return;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let cut = counts[self.capacity];
        self.subtracted += cut;
        for (_, counter) in self.counters.extract_if(|_, c| c.count <= cut) {
            self.spare.push(counter.value);
        }
        for counter in self.counters.values_mut() {
            counter.count -= cut;
        }
    }

    pub(crate) fn merge(&mut self, other: &HeavyHitters) {
        self.subtracted += other.subtracted;
        for (&hash, counter) in &other.counters {
            self.insert(hash, &counter.value, counter.count);
        }
        if self.counters.len() > self.capacity {
            self.reduce();
        }
    }

    /// The `limit` largest counters, ties broken by value so the order is stable.
    pub(crate) fn top(&self, limit: usize) -> Vec<(Vec<u8>, u64)> {
        let mut all: Vec<(&[u8], u64)> = self
            .counters
            .values()
            .map(|c| (c.value.as_slice(), c.count))
            .collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.into_iter()
            .take(limit)
            .map(|(v, c)| (v.to_vec(), c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::hash::hash_bytes;

    #[test]
    fn finds_the_heavy_value_under_a_long_tail() {
        let mut h = HeavyHitters::new(16);
        let mut n = 0u64;
        for i in 0..50_000u64 {
            let v = if i % 5 == 0 {
                b"hot".to_vec()
            } else {
                i.to_string().into_bytes()
            };
            h.insert(hash_bytes(&v), &v, 1);
            n += 1;
        }
        let top = h.top(1);
        assert_eq!(top[0].0, b"hot");
        assert!(top[0].1 <= 10_000 && top[0].1 + h.error() >= 10_000);
        assert!(h.error() <= n / 17);
    }

    #[test]
    fn merge_keeps_the_bound() {
        let mut a = HeavyHitters::new(8);
        let mut b = HeavyHitters::new(8);
        for i in 0..10_000u64 {
            let v = if i % 3 == 0 {
                b"x".to_vec()
            } else {
                i.to_string().into_bytes()
            };
            let target = if i % 2 == 0 { &mut a } else { &mut b };
            target.insert(hash_bytes(&v), &v, 1);
        }
        a.merge(&b);
        let top = a.top(1);
        assert_eq!(top[0].0, b"x");
        assert!(top[0].1 + a.error() >= 3_334);
    }
}
