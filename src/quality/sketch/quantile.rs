//! A KLL quantile sketch (Karnin, Lang, Liberty, "Optimal Quantile Approximation in Streams",
//! 2016), laid out as Apache DataSketches does: level `h` holds items of weight `2^h`, capacities
//! shrink by 2/3 per level below the top with a floor of 8, and a full level is sorted and every
//! other item (random offset) moves up. Sketches merge level by level.
//!
//! Sorting makes each item cost O(log k) comparisons, too slow for a profile that must run at
//! memory speed. So, as the KLL paper suggests for its lowest levels, a sampler sits in front:
//! once a sketch has seen `n` values it takes one uniformly chosen value out of each block of
//! `2^s` into level `s`, with `2^s <= n * SAMPLE_RATE`. That keeps the sampling's own rank error
//! below 0.2% (one standard deviation), which the stated error includes.
//!
//! Compaction offsets and sampled positions come from a seeded generator in the state, so one
//! input in one order gives one sketch; the rank error holds for any input order.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

const MIN_WIDTH: usize = 8;

/// Blocks of `2^s` values are sampled once `2^s <= n * SAMPLE_RATE`; the sampling's rank error
/// then has a standard deviation of at most `sqrt(SAMPLE_RATE / 4) = 0.2%`.
const SAMPLE_RATE: f64 = 1.6e-5;
const SAMPLE_STD: f64 = 0.002;

/// A mergeable quantile sketch over `f64` values with a stated rank error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuantileSketch {
    k: u16,
    n: u64,
    min: Option<f64>,
    max: Option<f64>,
    levels: Vec<Vec<f64>>,
    seed: u64,
    /// Values enter at level `sample_shift`, one per block of `2^sample_shift`.
    sample_shift: u32,
    block_pos: u64,
    block_pick: u64,
    block_item: f64,
    /// Capacity of each level; derived, so rebuilt after deserializing.
    #[serde(skip)]
    caps: Vec<usize>,
}

impl QuantileSketch {
    /// Default accuracy parameter: rank error about 1.33% plus the sampler's 0.6%.
    pub const DEFAULT_K: u16 = 200;

    /// A sketch with accuracy parameter `k` (8..=65535); error shrinks roughly as `1/k`.
    pub fn new(k: u16) -> Result<Self> {
        if (k as usize) < MIN_WIDTH {
            return Err(Error::invalid(format!(
                "quantile sketch k must be at least {MIN_WIDTH}, got {k}"
            )));
        }
        Ok(QuantileSketch {
            k,
            n: 0,
            min: None,
            max: None,
            levels: vec![Vec::new()],
            seed: 0x2545_F491_4F6C_DD1D,
            sample_shift: 0,
            block_pos: 0,
            block_pick: 0,
            block_item: 0.0,
            caps: Vec::new(),
        })
    }

    /// The accuracy parameter.
    pub fn k(&self) -> u16 {
        self.k
    }

    /// Values seen.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The normalized rank error a single quantile query stays within with 99% confidence:
    /// DataSketches' fit for this design, `2.296 / k^0.9723` (1.33% at k = 200), plus three
    /// standard deviations of the sampler (0.6%).
    pub fn rank_error(&self) -> f64 {
        2.296 / (self.k as f64).powf(0.9723) + 3.0 * SAMPLE_STD
    }

    /// Adds a value. NaN is ignored: it has no rank.
    #[inline]
    pub fn insert(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        self.min = Some(self.min.map_or(x, |m| m.min(x)));
        self.max = Some(self.max.map_or(x, |m| m.max(x)));
        self.offer(x);
    }

    /// Adds values that hold no NaN, with their min and max already known. Once the sketch
    /// samples, only the one chosen value of each block is converted and kept: the cost is per
    /// block, not per value.
    #[inline]
    pub(crate) fn insert_dense<T: Copy>(
        &mut self,
        values: &[T],
        to_f64: impl Fn(T) -> f64,
        min: f64,
        max: f64,
    ) {
        self.min = Some(self.min.map_or(min, |m| m.min(min)));
        self.max = Some(self.max.map_or(max, |m| m.max(max)));
        let mut i = 0;
        while i < values.len() {
            if self.sample_shift == 0 {
                self.offer(to_f64(values[i]));
                i += 1;
                continue;
            }
            // The rest of the current block, or of the values if they end first.
            let block = 1u64 << self.sample_shift;
            let take = (block - self.block_pos).min((values.len() - i) as u64);
            if (self.block_pos..self.block_pos + take).contains(&self.block_pick) {
                self.block_item = to_f64(values[i + (self.block_pick - self.block_pos) as usize]);
            }
            self.block_pos += take;
            self.n += take;
            i += take as usize;
            if self.block_pos == block {
                self.block_pos = 0;
                self.block_pick = self.next_random() & (block - 1);
                self.push(self.sample_shift as usize, self.block_item);
            }
        }
    }

    #[inline(always)]
    fn offer(&mut self, x: f64) {
        self.n += 1;
        if self.sample_shift == 0 {
            self.push(0, x);
            return;
        }
        if self.block_pos == self.block_pick {
            self.block_item = x;
        }
        self.block_pos += 1;
        if self.block_pos >> self.sample_shift != 0 {
            self.block_pos = 0;
            self.block_pick = self.next_random() & ((1u64 << self.sample_shift) - 1);
            self.push(self.sample_shift as usize, self.block_item);
        }
    }

    #[inline(always)]
    fn push(&mut self, level: usize, x: f64) {
        if level >= self.levels.len() || self.caps.len() != self.levels.len() {
            self.grow(level);
        }
        let full = match (self.levels.get_mut(level), self.caps.get(level)) {
            (Some(items), Some(&cap)) => {
                items.push(x);
                items.len() >= cap
            }
            _ => false,
        };
        if full {
            self.compress();
        }
    }

    /// Makes sure `level` exists and capacities match the level count.
    fn grow(&mut self, level: usize) {
        while self.levels.len() <= level {
            self.levels.push(Vec::new());
        }
        self.refresh_caps();
    }

    fn refresh_caps(&mut self) {
        let levels = self.levels.len();
        self.caps = (0..levels)
            .map(|h| {
                let depth = levels - h - 1;
                let width = (self.k as f64 * (2.0f64 / 3.0).powi(depth as i32)).ceil() as usize;
                width.max(MIN_WIDTH)
            })
            .collect();
    }

    fn next_random(&mut self) -> u64 {
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        x
    }

    /// One bottom-up pass compacting every full level.
    fn compress_pass(&mut self) -> bool {
        if self.caps.len() != self.levels.len() {
            self.refresh_caps();
        }
        let mut changed = false;
        let mut h = 0;
        while h < self.levels.len() {
            if self.levels[h].len() >= self.caps[h] {
                if h + 1 == self.levels.len() {
                    self.levels.push(Vec::new());
                    self.refresh_caps();
                }
                let offset = (self.next_random() >> 32) as usize & 1;
                let (lower, upper) = self.levels.split_at_mut(h + 1);
                let (Some(src), Some(dst)) = (lower.last_mut(), upper.first_mut()) else {
                    break;
                };
                src.sort_unstable_by(f64::total_cmp);
                // An odd item stays behind so that total weight is conserved exactly.
                let keep = if src.len() % 2 == 1 { src.pop() } else { None };
                dst.extend(src.iter().skip(offset).step_by(2));
                src.clear();
                src.extend(keep);
                changed = true;
            }
            h += 1;
        }
        changed
    }

    fn compress(&mut self) {
        while self.compress_pass() {
            if self
                .levels
                .iter()
                .zip(&self.caps)
                .all(|(l, &c)| l.len() < c)
            {
                break;
            }
        }
        // Raise the sampling level only between blocks, so that every block has one rate.
        if self.block_pos == 0 {
            let allowed = (self.n as f64 * SAMPLE_RATE).max(1.0).log2().floor() as u32;
            if allowed > self.sample_shift {
                self.sample_shift = allowed.min(62);
                self.block_pick = self.next_random() & ((1u64 << self.sample_shift) - 1);
            }
        }
    }

    /// Tells an empty sketch that it is one part of a whole of about `total` values (a chunk
    /// of a column profiled in parallel): it samples from the first value at the rate the
    /// whole allows, instead of inserting every value until its own count grows. The stated
    /// error holds for the merged sketch of the whole.
    pub fn expect(&mut self, total: u64) {
        if self.n != 0 || self.block_pos != 0 {
            return;
        }
        let allowed = (total as f64 * SAMPLE_RATE).max(1.0).log2().floor() as u32;
        if allowed > self.sample_shift {
            self.sample_shift = allowed.min(62);
            self.block_pick = self.next_random() & ((1u64 << self.sample_shift) - 1);
        }
    }

    /// Folds `other` into this sketch.
    pub fn merge(&mut self, other: &QuantileSketch) -> Result<()> {
        if other.k != self.k {
            return Err(Error::invalid(format!(
                "cannot merge quantile sketches with k {} and {}",
                self.k, other.k
            )));
        }
        while self.levels.len() < other.levels.len() {
            self.levels.push(Vec::new());
        }
        for (mine, theirs) in self.levels.iter_mut().zip(&other.levels) {
            mine.extend_from_slice(theirs);
        }
        self.n += other.n;
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, other.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.seed ^= other.seed.rotate_left(17);
        if self.seed == 0 {
            self.seed = 0x2545_F491_4F6C_DD1D;
        }
        // The other sketch's unfinished sample block (fewer than 2^s values) is dropped: it
        // shifts ranks by less than the sampler's stated error.
        self.refresh_caps();
        self.compress();
        Ok(())
    }

    /// Retained items with their weights, sorted by value.
    fn weighted(&self) -> Vec<(f64, u64)> {
        let mut items: Vec<(f64, u64)> = self
            .levels
            .iter()
            .enumerate()
            .flat_map(|(h, level)| level.iter().map(move |&x| (x, 1u64 << h.min(63))))
            .collect();
        items.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        items
    }

    /// The value at quantile `q` in `[0, 1]`; 0 and 1 give the exact minimum and maximum.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.quantiles(&[q]).into_iter().next().flatten()
    }

    /// Several quantiles from one sort of the retained items.
    pub fn quantiles(&self, qs: &[f64]) -> Vec<Option<f64>> {
        if self.n == 0 {
            return vec![None; qs.len()];
        }
        let items = self.weighted();
        let total: u64 = items.iter().map(|i| i.1).sum();
        qs.iter()
            .map(|&q| {
                if q.is_nan() {
                    return None;
                }
                if q <= 0.0 {
                    return self.min;
                }
                if q >= 1.0 {
                    return self.max;
                }
                let target = q * total as f64;
                let mut seen = 0u64;
                for &(x, w) in &items {
                    seen += w;
                    if seen as f64 >= target {
                        return Some(x);
                    }
                }
                self.max
            })
            .collect()
    }

    /// Estimated fraction of values strictly below `x`.
    pub fn rank(&self, x: f64) -> f64 {
        let items = self.weighted();
        let total: u64 = items.iter().map(|i| i.1).sum();
        if total == 0 {
            return 0.0;
        }
        let below: u64 = items.iter().filter(|i| i.0 < x).map(|i| i.1).sum();
        below as f64 / total as f64
    }

    /// Values that cover the most weight, with estimated counts (each within
    /// `2 * rank_error() * count()` of the truth), most frequent first.
    pub fn frequent(&self, limit: usize) -> Vec<(f64, u64)> {
        let mut runs: Vec<(f64, u64)> = Vec::new();
        for (x, w) in self.weighted() {
            match runs.last_mut() {
                Some(last) if last.0.total_cmp(&x).is_eq() => last.1 += w,
                _ => runs.push((x, w)),
            }
        }
        runs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.total_cmp(&b.0)));
        runs.truncate(limit);
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shuffled(n: u64) -> Vec<f64> {
        // A fixed permutation of 0..n (multiplication by an odd constant mod a power of two).
        let size = n.next_power_of_two();
        (0..size)
            .map(|i| (i.wrapping_mul(0x9E37_79B9) & (size - 1)) as f64)
            .filter(|&x| x < n as f64)
            .collect()
    }

    #[test]
    fn small_inputs_are_exact() {
        let mut s = QuantileSketch::new(200).unwrap();
        for x in [5.0, 1.0, 3.0, f64::NAN, 2.0, 4.0] {
            s.insert(x);
        }
        assert_eq!(s.count(), 5);
        assert_eq!(s.quantile(0.0), Some(1.0));
        assert_eq!(s.quantile(0.5), Some(3.0));
        assert_eq!(s.quantile(1.0), Some(5.0));
        assert_eq!(QuantileSketch::new(200).unwrap().quantile(0.5), None);
    }

    #[test]
    fn rank_error_holds_on_a_large_stream() {
        let n = 200_000u64;
        let mut s = QuantileSketch::new(200).unwrap();
        for x in shuffled(n) {
            s.insert(x);
        }
        assert_eq!(s.count(), n);
        for q in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
            let v = s.quantile(q).unwrap();
            let err = (v / n as f64 - q).abs();
            assert!(err <= s.rank_error(), "q={q} v={v} err={err}");
        }
        let retained: usize = s.levels.iter().map(Vec::len).sum();
        assert!(retained < 1000, "{retained}");
        // A million values go through the sampler and keep the error.
        let mut big = QuantileSketch::new(200).unwrap();
        for x in shuffled(1 << 20) {
            big.insert(x);
        }
        assert!(big.sample_shift > 0);
        for q in [0.05, 0.5, 0.95] {
            let v = big.quantile(q).unwrap();
            assert!(
                (v / (1 << 20) as f64 - q).abs() <= big.rank_error(),
                "q={q} v={v}"
            );
        }
    }

    #[test]
    fn merged_sketch_keeps_the_error() {
        let n = 100_000u64;
        let data = shuffled(n);
        let mut parts: Vec<QuantileSketch> = data
            .chunks(7_000)
            .map(|c| {
                let mut s = QuantileSketch::new(200).unwrap();
                c.iter().for_each(|&x| s.insert(x));
                s
            })
            .collect();
        let mut whole = parts.remove(0);
        for p in &parts {
            whole.merge(p).unwrap();
        }
        assert_eq!(whole.count(), n);
        assert_eq!(whole.quantile(0.0), Some(0.0));
        assert_eq!(whole.quantile(1.0), Some((n - 1) as f64));
        let median = whole.quantile(0.5).unwrap();
        assert!((median / n as f64 - 0.5).abs() <= whole.rank_error());
        assert!(whole.merge(&QuantileSketch::new(100).unwrap()).is_err());
    }

    #[test]
    fn serde_round_trip_keeps_working() {
        let mut s = QuantileSketch::new(50).unwrap();
        (0..1000).for_each(|i| s.insert(i as f64));
        let text = serde_json::to_string(&s).unwrap();
        let mut back: QuantileSketch = serde_json::from_str(&text).unwrap();
        (1000..2000).for_each(|i| back.insert(i as f64));
        assert_eq!(back.count(), 2000);
        let m = back.quantile(0.5).unwrap();
        assert!((m / 2000.0 - 0.5).abs() <= back.rank_error(), "{m}");
    }

    #[test]
    fn frequent_values_show_up() {
        let mut s = QuantileSketch::new(200).unwrap();
        for i in 0..100_000u64 {
            s.insert(if i % 4 == 0 { 7.0 } else { i as f64 });
        }
        let top = s.frequent(1);
        assert_eq!(top[0].0, 7.0);
        let err = (top[0].1 as f64 - 25_000.0).abs() / 100_000.0;
        assert!(err <= 2.0 * s.rank_error(), "{top:?}");
    }
}
