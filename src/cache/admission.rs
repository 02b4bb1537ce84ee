//! Cost-aware admission: worth = reads x fetch latency / size (the reference document's cache
//! score), measured per tier, decides whether a fetched block enters the cache at all; moka's
//! TinyLFU then decides among the blocks admitted. A block of a slow tier thus outranks an
//! equally hot block of a fast one, and one-off reads of cheap blocks do not flush the cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use super::stats::TierLatency;

/// A count-min sketch of recent reads with 4-bit saturating counters that halve periodically
/// (TinyLFU's aging), so frequency reflects the recent past.
#[derive(Debug)]
pub(crate) struct FrequencySketch {
    counters: Vec<AtomicU8>,
    mask: usize,
    additions: AtomicU64,
    sample: u64,
}

impl FrequencySketch {
    /// A sketch sized for about `entries` distinct keys.
    pub fn new(entries: u64) -> FrequencySketch {
        let size = (entries.saturating_mul(8))
            .clamp(4096, 1 << 24)
            .next_power_of_two() as usize;
        FrequencySketch {
            counters: (0..size).map(|_| AtomicU8::new(0)).collect(),
            mask: size - 1,
            additions: AtomicU64::new(0),
            sample: size as u64 * 10,
        }
    }

    fn slots(&self, hash: u64) -> [usize; 4] {
        let mut h = hash;
        let mut out = [0usize; 4];
        for slot in &mut out {
            h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29) ^ hash;
            *slot = (h as usize) & self.mask;
        }
        out
    }

    /// Counts one read of `hash`.
    pub fn record(&self, hash: u64) {
        for slot in self.slots(hash) {
            let c = &self.counters[slot];
            let v = c.load(Relaxed);
            if v < 15 {
                // Lost updates under contention only make the estimate a little low.
                c.store(v + 1, Relaxed);
            }
        }
        if self.additions.fetch_add(1, Relaxed) + 1 >= self.sample {
            self.additions.store(0, Relaxed);
            for c in &self.counters {
                c.store(c.load(Relaxed) / 2, Relaxed);
            }
        }
    }

    /// Estimated recent reads of `hash`.
    pub fn estimate(&self, hash: u64) -> u32 {
        self.slots(hash)
            .iter()
            .map(|&s| u32::from(self.counters[s].load(Relaxed)))
            .min()
            .unwrap_or(0)
    }
}

/// Buckets of worth on a log2 scale.
const BUCKETS: usize = 64;

/// Worth of a block: reads x fetch latency (ns) / size, as a log2 bucket.
pub(crate) fn worth_bucket(reads: u32, latency: Duration, size: u64) -> u8 {
    let worth = f64::from(reads.max(1)) * (latency.as_nanos() as f64).max(1.0) / size.max(1) as f64;
    // worth spans about 2^-20 (a cheap 1 MiB block read once) to 2^20; shift it to 0..64.
    (worth.log2() + 32.0).clamp(0.0, (BUCKETS - 1) as f64) as u8
}

/// The admission gate: the bytes held per worth bucket, and the rule.
#[derive(Debug)]
pub(crate) struct WorthGate {
    resident: Vec<AtomicU64>,
    /// A candidate is admitted when at least this share of the held bytes is worth no more
    /// than it (i.e. it would not be the cheapest thing in the cache).
    percentile: f64,
}

impl WorthGate {
    pub fn new() -> WorthGate {
        WorthGate {
            resident: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            percentile: 0.25,
        }
    }

    /// Whether a block of worth `bucket` is admitted into a cache holding `held` of `budget`.
    pub fn admit(&self, bucket: u8, size: u64, held: u64, budget: u64) -> bool {
        if held.saturating_add(size) <= budget {
            // Room to spare: admitting evicts nothing.
            return true;
        }
        let total: u64 = self.resident.iter().map(|b| b.load(Relaxed)).sum();
        if total == 0 {
            return true;
        }
        let at_or_below: u64 = self.resident[..=bucket as usize]
            .iter()
            .map(|b| b.load(Relaxed))
            .sum();
        at_or_below as f64 >= total as f64 * self.percentile
    }

    pub fn add(&self, bucket: u8, bytes: u64) {
        self.resident[bucket as usize].fetch_add(bytes, Relaxed);
    }

    pub fn remove(&self, bucket: u8, bytes: u64) {
        let slot = &self.resident[bucket as usize];
        let _ = slot.fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(bytes)));
    }

    /// Moves a held block to a new bucket (its reads grew).
    pub fn regrade(&self, from: u8, to: u8, bytes: u64) {
        if from != to {
            self.remove(from, bytes);
            self.add(to, bytes);
        }
    }
}

/// Fetch latency measured per tier.
#[derive(Debug, Default)]
pub(crate) struct LatencyBook {
    tiers: Mutex<HashMap<String, Measured>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Measured {
    fetches: u64,
    nanos: u128,
    ns_per_byte: f64,
}

impl LatencyBook {
    /// Records a fetch of `bytes` from `tier` that took `took`.
    pub fn record(&self, tier: &str, bytes: u64, took: Duration) {
        let mut tiers = self.tiers.lock().unwrap_or_else(|p| p.into_inner());
        let m = match tiers.get_mut(tier) {
            Some(m) => m,
            None => tiers.entry(tier.to_string()).or_default(),
        };
        let per_byte = took.as_nanos() as f64 / bytes.max(1) as f64;
        m.ns_per_byte = if m.fetches == 0 {
            per_byte
        } else {
            0.8 * m.ns_per_byte + 0.2 * per_byte
        };
        m.fetches += 1;
        m.nanos += took.as_nanos();
    }

    /// The expected time to fetch `bytes` from `tier`, if it was ever measured.
    pub fn estimate(&self, tier: &str, bytes: u64) -> Option<Duration> {
        let tiers = self.tiers.lock().unwrap_or_else(|p| p.into_inner());
        tiers
            .get(tier)
            .map(|m| Duration::from_nanos((m.ns_per_byte * bytes as f64) as u64))
    }

    /// How many times costlier a byte of `tier` is than a byte of the cheapest tier measured
    /// (1 when `tier` is the cheapest or unmeasured).
    pub fn relative_cost(&self, tier: &str) -> f64 {
        let tiers = self.tiers.lock().unwrap_or_else(|p| p.into_inner());
        let Some(this) = tiers.get(tier) else {
            return 1.0;
        };
        let cheapest = tiers
            .values()
            .map(|m| m.ns_per_byte)
            .fold(f64::INFINITY, f64::min);
        if cheapest > 0.0 && cheapest.is_finite() {
            (this.ns_per_byte / cheapest).max(1.0)
        } else {
            1.0
        }
    }

    pub fn report(&self) -> Vec<TierLatency> {
        let tiers = self.tiers.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<TierLatency> = tiers
            .iter()
            .map(|(tier, m)| TierLatency {
                tier: tier.clone(),
                fetches: m.fetches,
                mean_ms: m.nanos as f64 / m.fetches.max(1) as f64 / 1e6,
                ms_per_mib: m.ns_per_byte * (1u64 << 20) as f64 / 1e6,
            })
            .collect();
        out.sort_by(|a, b| a.tier.cmp(&b.tier));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sketch_counts_and_ages() {
        let sketch = FrequencySketch::new(100);
        for _ in 0..5 {
            sketch.record(42);
        }
        assert!(sketch.estimate(42) >= 5);
        assert!(sketch.estimate(43) <= 1);
        for _ in 0..sketch.sample {
            sketch.record(7);
        }
        assert!(sketch.estimate(42) <= 3, "counts halve as reads go by");
    }

    #[test]
    fn slow_blocks_are_worth_more_than_fast_ones() {
        let slow = worth_bucket(1, Duration::from_millis(20), 1 << 20);
        let fast = worth_bucket(1, Duration::from_micros(200), 1 << 20);
        let hot_fast = worth_bucket(8, Duration::from_micros(200), 1 << 20);
        assert!(slow > fast);
        assert!(slow > hot_fast);
        let gate = WorthGate::new();
        gate.add(slow, 90 << 20);
        gate.add(hot_fast, 10 << 20);
        assert!(gate.admit(fast, 1 << 20, 10, 1 << 30), "room to spare");
        assert!(!gate.admit(fast, 1 << 20, 100 << 20, 100 << 20));
        assert!(gate.admit(slow, 1 << 20, 100 << 20, 100 << 20));
    }
}
