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

/// Fetch latency measured per tier, as a line fitted to recent fetches: time = per request +
/// per byte x size (least squares with exponential forgetting), since remote tiers are
/// dominated by the per-request part for small reads and by bandwidth for large ones.
#[derive(Debug, Default)]
pub(crate) struct LatencyBook {
    tiers: Mutex<HashMap<String, Measured>>,
}

/// Weight kept by old samples at each new one.
const FORGET: f64 = 0.98;

#[derive(Debug, Default, Clone, Copy)]
struct Measured {
    fetches: u64,
    nanos: u128,
    bytes: u128,
    // Decayed sums for the fit: n, x, y, xx, xy (x = bytes, y = ns).
    n: f64,
    x: f64,
    y: f64,
    xx: f64,
    xy: f64,
}

impl Measured {
    /// Expected ns for a fetch of `bytes`.
    fn estimate(&self, bytes: u64) -> f64 {
        let size = bytes as f64;
        if self.n <= 0.0 {
            return 0.0;
        }
        let (mx, my) = (self.x / self.n, self.y / self.n);
        let var = self.xx / self.n - mx * mx;
        let fitted = if var > 1.0 {
            let slope = ((self.xy / self.n - mx * my) / var).max(0.0);
            let intercept = (my - slope * mx).max(0.0);
            intercept + slope * size
        } else {
            // One size seen so far: scale the mean by size only above it.
            my * (size / mx.max(1.0)).max(1.0)
        };
        fitted.max(1.0)
    }
}

impl LatencyBook {
    /// Records a fetch of `bytes` from `tier` that took `took`.
    pub fn record(&self, tier: &str, bytes: u64, took: Duration) {
        let mut tiers = self.tiers.lock().unwrap_or_else(|p| p.into_inner());
        let m = match tiers.get_mut(tier) {
            Some(m) => m,
            None => tiers.entry(tier.to_string()).or_default(),
        };
        let (x, y) = (bytes as f64, took.as_nanos() as f64);
        m.n = m.n * FORGET + 1.0;
        m.x = m.x * FORGET + x;
        m.y = m.y * FORGET + y;
        m.xx = m.xx * FORGET + x * x;
        m.xy = m.xy * FORGET + x * y;
        m.fetches += 1;
        m.nanos += took.as_nanos();
        m.bytes += u128::from(bytes);
    }

    /// The expected time to fetch `bytes` from `tier`, if it was ever measured.
    pub fn estimate(&self, tier: &str, bytes: u64) -> Option<Duration> {
        let tiers = self.tiers.lock().unwrap_or_else(|p| p.into_inner());
        tiers
            .get(tier)
            .map(|m| Duration::from_nanos(m.estimate(bytes) as u64))
    }

    /// How many times longer a fetch of `bytes` from `tier` takes than from the quickest
    /// tier measured (1 when `tier` is the quickest or unmeasured).
    pub fn relative_cost(&self, tier: &str, bytes: u64) -> f64 {
        let tiers = self.tiers.lock().unwrap_or_else(|p| p.into_inner());
        let Some(this) = tiers.get(tier) else {
            return 1.0;
        };
        let quickest = tiers
            .values()
            .map(|m| m.estimate(bytes))
            .fold(f64::INFINITY, f64::min);
        (this.estimate(bytes) / quickest.max(1.0)).max(1.0)
    }

    pub fn report(&self) -> Vec<TierLatency> {
        let tiers = self.tiers.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<TierLatency> = tiers
            .iter()
            .map(|(tier, m)| TierLatency {
                tier: tier.clone(),
                fetches: m.fetches,
                mean_ms: m.nanos as f64 / m.fetches.max(1) as f64 / 1e6,
                ms_per_mib: m.estimate(1 << 20) / 1e6,
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
    fn latency_fits_per_request_and_per_byte() {
        let book = LatencyBook::default();
        for i in 0..50u64 {
            let size = 10_000 + i * 20_000;
            // 10 ms a request plus 10 ns a byte.
            book.record("s3", size, Duration::from_nanos(10_000_000 + 10 * size));
            book.record("disk", size, Duration::from_nanos(100_000 + size / 2));
        }
        let small = book.estimate("s3", 1000).unwrap().as_secs_f64();
        assert!((small - 0.01001).abs() < 0.001, "{small}");
        let big = book.estimate("s3", 1 << 20).unwrap().as_secs_f64();
        assert!((big - 0.0205).abs() < 0.002, "{big}");
        assert!(book.relative_cost("s3", 4096) > 50.0);
        assert_eq!(book.relative_cost("disk", 4096), 1.0);
        assert_eq!(book.report()[1].fetches, 50);
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
