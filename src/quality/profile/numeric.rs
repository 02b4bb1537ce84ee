//! The fused numeric kernel: one pass over the values buffer and the null bitmap of an integer,
//! float, decimal, date or timestamp array computes counts, extremes, sums, mean and variance,
//! and feeds the distinct counter and the quantile sketch.
//!
//! Work proceeds in blocks small enough to stay in L1: valid (non-null, non-NaN) values of a
//! block are gathered only when the block has gaps, and the block's mean and squared deviations
//! are computed in two sweeps over cached data and folded in with Chan's parallel update, which
//! is as stable as Welford's per-value update without a division per value.

use arrow::buffer::NullBuffer;
use serde::{Deserialize, Serialize};

use super::distinct::DistinctKeys;
use super::ProfileOptions;
use crate::quality::hash::hash_u128;
use crate::quality::sketch::QuantileSketch;
use crate::Result;

/// Rows per block: 4096 values of 8 bytes fill half of a 64 KiB L1 cache.
const BLOCK: usize = 4096;

/// An exact extreme in the column's own domain.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) enum Bound {
    Int(i64),
    UInt(u64),
    Float(f64),
    Wide(i128),
}

impl Bound {
    fn pick(self, other: Bound, want_max: bool) -> Bound {
        use std::cmp::Ordering;
        let order = match (self, other) {
            (Bound::Int(a), Bound::Int(b)) => a.cmp(&b),
            (Bound::UInt(a), Bound::UInt(b)) => a.cmp(&b),
            (Bound::Float(a), Bound::Float(b)) => a.total_cmp(&b),
            (Bound::Wide(a), Bound::Wide(b)) => a.cmp(&b),
            _ => Ordering::Equal,
        };
        match (order, want_max) {
            (Ordering::Less, true) | (Ordering::Greater, false) => other,
            _ => self,
        }
    }
}

fn fold_bound(slot: &mut Option<Bound>, value: Option<Bound>, want_max: bool) {
    *slot = match (*slot, value) {
        (Some(a), Some(b)) => Some(a.pick(b, want_max)),
        (a, b) => a.or(b),
    };
}

/// A native value type the kernel runs over.
pub(crate) trait Native: Copy + PartialOrd + Send + Sync + 'static {
    const ZERO: Self;
    const FLOAT: bool;
    fn to_f64(self) -> f64;
    /// The distinct-count key; reversible (see `NumericState::top`) except for decimals
    /// beyond the `i64` range.
    fn key(self) -> u64;
    fn bound(self) -> Bound;
    fn is_nan(self) -> bool {
        false
    }
    /// The exact sum of a block, or None for floats or on overflow.
    fn sum_block(values: &[Self]) -> Option<i128>;
}

macro_rules! narrow_int {
    ($($t:ty => $variant:ident as $repr:ty),*) => {$(
        impl Native for $t {
            const ZERO: Self = 0;
            const FLOAT: bool = false;
            #[inline(always)]
            fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn key(self) -> u64 { self as $repr as u64 }
            #[inline(always)]
            fn bound(self) -> Bound { Bound::$variant(self as $repr) }
            #[inline]
            fn sum_block(values: &[Self]) -> Option<i128> {
                // A block of 4096 values of at most 32 bits cannot overflow 64 bits.
                Some(values.iter().map(|&v| v as i64).sum::<i64>() as i128)
            }
        }
    )*};
}
narrow_int!(i8 => Int as i64, i16 => Int as i64, i32 => Int as i64,
            u8 => UInt as u64, u16 => UInt as u64, u32 => UInt as u64);

macro_rules! wide_int {
    ($($t:ty => $variant:ident as $repr:ty),*) => {$(
        impl Native for $t {
            const ZERO: Self = 0;
            const FLOAT: bool = false;
            #[inline(always)]
            fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn key(self) -> u64 { self as $repr as u64 }
            #[inline(always)]
            fn bound(self) -> Bound { Bound::$variant(self as $repr) }
            #[inline]
            fn sum_block(values: &[Self]) -> Option<i128> {
                // 4096 values below 2^64 in magnitude sum to below 2^76.
                Some(values.iter().map(|&v| v as i128).sum())
            }
        }
    )*};
}
wide_int!(i64 => Int as i64, u64 => UInt as u64);

impl Native for i128 {
    const ZERO: Self = 0;
    const FLOAT: bool = false;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn key(self) -> u64 {
        match i64::try_from(self) {
            Ok(small) => small as u64,
            Err(_) => hash_u128(self as u128),
        }
    }
    fn bound(self) -> Bound {
        Bound::Wide(self)
    }
    fn sum_block(values: &[Self]) -> Option<i128> {
        values.iter().try_fold(0i128, |acc, &v| acc.checked_add(v))
    }
}

macro_rules! float {
    ($($t:ty),*) => {$(
        impl Native for $t {
            const ZERO: Self = 0.0;
            const FLOAT: bool = true;
            #[inline(always)]
            fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn key(self) -> u64 {
                // -0.0 and 0.0 are one value, as in pandas and SQL.
                if self == 0.0 { 0 } else { (self as f64).to_bits() }
            }
            #[inline(always)]
            fn bound(self) -> Bound { Bound::Float(self as f64) }
            #[inline(always)]
            fn is_nan(self) -> bool { self.is_nan() }
            fn sum_block(_: &[Self]) -> Option<i128> { None }
        }
    )*};
}
float!(f32, f64);

/// Mergeable state of a numeric column. Values are in the column's raw units (unscaled
/// decimals, days, timestamp ticks); the summary converts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NumericState {
    /// Non-null, non-NaN values.
    pub(crate) values: u64,
    pub(crate) nans: u64,
    pub(crate) zeros: u64,
    pub(crate) negatives: u64,
    pub(crate) min: Option<Bound>,
    pub(crate) max: Option<Bound>,
    /// Exact sum for integer and decimal columns; None for floats or after overflowing i128.
    pub(crate) exact_sum: Option<i128>,
    /// Compensated (Neumaier) float sum and its running compensation.
    pub(crate) float_sum: f64,
    float_comp: f64,
    pub(crate) mean: f64,
    /// Sum of squared deviations from the mean.
    pub(crate) m2: f64,
    pub(crate) distinct: DistinctKeys,
    pub(crate) quantiles: QuantileSketch,
}

impl NumericState {
    pub(crate) fn new(float: bool, options: &ProfileOptions) -> Result<Self> {
        Ok(NumericState {
            values: 0,
            nans: 0,
            zeros: 0,
            negatives: 0,
            min: None,
            max: None,
            exact_sum: if float { None } else { Some(0) },
            float_sum: 0.0,
            float_comp: 0.0,
            mean: 0.0,
            m2: 0.0,
            distinct: DistinctKeys::new(options.distinct_threshold, options.hll_precision),
            quantiles: QuantileSketch::new(options.quantile_k)?,
        })
    }

    /// Profiles a values buffer with its validity bitmap.
    pub(crate) fn update<T: Native>(
        &mut self,
        values: &[T],
        nulls: Option<&NullBuffer>,
    ) -> Result<()> {
        let nulls = nulls.filter(|n| n.null_count() > 0);
        let mut valid: Vec<T> = Vec::new();
        let mut not_nan: Vec<T> = Vec::new();
        for start in (0..values.len()).step_by(BLOCK) {
            let end = (start + BLOCK).min(values.len());
            let block = &values[start..end];
            let dense: &[T] = match nulls {
                Some(nulls) => {
                    valid.clear();
                    let bits = nulls.inner().slice(start, end - start);
                    for (from, to) in bits.set_slices() {
                        valid.extend_from_slice(&block[from..to]);
                    }
                    &valid
                }
                None => block,
            };
            let dense: &[T] = if T::FLOAT && dense.iter().any(|v| v.is_nan()) {
                not_nan.clear();
                not_nan.extend(dense.iter().filter(|v| !v.is_nan()));
                self.nans += (dense.len() - not_nan.len()) as u64;
                &not_nan
            } else {
                dense
            };
            self.dense_block(dense)?;
        }
        Ok(())
    }

    /// The fused kernel over values that are all valid and not NaN.
    fn dense_block<T: Native>(&mut self, block: &[T]) -> Result<()> {
        let Some(&first) = block.first() else {
            return Ok(());
        };
        let (mut lo, mut hi) = (first, first);
        for &v in block {
            if v < lo {
                lo = v;
            }
            if v > hi {
                hi = v;
            }
        }
        let zeros = block.iter().filter(|&&v| v == T::ZERO).count() as u64;
        let negatives = block.iter().filter(|&&v| v < T::ZERO).count() as u64;
        let exact = if self.exact_sum.is_some() {
            T::sum_block(block)
        } else {
            None
        };
        let sum = match exact {
            Some(s) => s as f64,
            None => lane_sum(block, |v| v),
        };
        let n = block.len() as f64;
        let mean = sum / n;
        let m2 = lane_sum(block, |v| (v - mean) * (v - mean));

        self.zeros += zeros;
        self.negatives += negatives;
        fold_bound(&mut self.min, Some(lo.bound()), false);
        fold_bound(&mut self.max, Some(hi.bound()), true);
        self.exact_sum = match (self.exact_sum, exact) {
            (Some(a), Some(b)) => a.checked_add(b),
            _ => None,
        };
        self.add_float_sum(sum);
        self.fold_moments(block.len() as u64, mean, m2);
        self.distinct.insert_all(block.iter().map(|v| v.key()))?;
        self.quantiles
            .insert_dense(block, T::to_f64, lo.to_f64(), hi.to_f64());
        Ok(())
    }

    fn add_float_sum(&mut self, x: f64) {
        let t = self.float_sum + x;
        if self.float_sum.abs() >= x.abs() {
            self.float_comp += (self.float_sum - t) + x;
        } else {
            self.float_comp += (x - t) + self.float_sum;
        }
        self.float_sum = t;
    }

    /// Chan et al.'s update of count, mean and M2 with another group's.
    fn fold_moments(&mut self, count: u64, mean: f64, m2: f64) {
        if count == 0 {
            return;
        }
        let total = self.values + count;
        let delta = mean - self.mean;
        let (na, nb, n) = (self.values as f64, count as f64, total as f64);
        self.mean += delta * nb / n;
        self.m2 += m2 + delta * delta * na * nb / n;
        self.values = total;
    }

    pub(crate) fn merge(&mut self, other: &NumericState) -> Result<()> {
        self.nans += other.nans;
        self.zeros += other.zeros;
        self.negatives += other.negatives;
        fold_bound(&mut self.min, other.min, false);
        fold_bound(&mut self.max, other.max, true);
        self.exact_sum = match (self.exact_sum, other.exact_sum) {
            (Some(a), Some(b)) => a.checked_add(b),
            _ => None,
        };
        self.add_float_sum(other.float_sum);
        self.add_float_sum(other.float_comp);
        self.fold_moments(other.values, other.mean, other.m2);
        self.distinct.merge(&other.distinct)?;
        self.quantiles.merge(&other.quantiles)
    }

    /// The sum as a float (exact integer sums converted).
    pub(crate) fn sum_f64(&self) -> f64 {
        match self.exact_sum {
            Some(s) => s as f64,
            None => self.float_sum + self.float_comp,
        }
    }

    /// Sample variance (n - 1 denominator, as pandas and SQL's `stddev`).
    pub(crate) fn variance(&self) -> Option<f64> {
        (self.values > 1).then(|| self.m2 / (self.values - 1) as f64)
    }
}

/// Sum of `f(x)` over a block in eight independent lanes, so the adds vectorize and the
/// rounding error grows with `n / 8` instead of `n`.
#[inline(always)]
fn lane_sum<T: Native>(block: &[T], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut chunks = block.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += f(v.to_f64());
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|&v| f(v.to_f64())).sum();
    lanes.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state<T: Native>(values: &[T], valid: Option<Vec<bool>>) -> NumericState {
        let mut s = NumericState::new(T::FLOAT, &ProfileOptions::default()).unwrap();
        let nulls = valid.map(NullBuffer::from);
        s.update(values, nulls.as_ref()).unwrap();
        s
    }

    #[test]
    fn integer_metrics_are_exact() {
        let s = state(
            &[3i32, -1, 0, 7, 0, 100],
            Some(vec![true, true, true, true, true, false]),
        );
        assert_eq!(s.values, 5);
        assert_eq!(s.zeros, 2);
        assert_eq!(s.negatives, 1);
        assert_eq!(s.min, Some(Bound::Int(-1)));
        assert_eq!(s.max, Some(Bound::Int(7)));
        assert_eq!(s.exact_sum, Some(9));
        assert!((s.mean - 1.8).abs() < 1e-12);
        // Sample variance of 3, -1, 0, 7, 0.
        assert!((s.variance().unwrap() - 10.7).abs() < 1e-9);
        assert_eq!(s.distinct.count().0, 4);
    }

    #[test]
    fn floats_skip_nan_and_treat_negative_zero_as_zero() {
        let s = state(&[1.5f64, f64::NAN, -0.0, 0.0, -2.5], None);
        assert_eq!((s.values, s.nans, s.zeros, s.negatives), (4, 1, 2, 1));
        assert_eq!(s.min, Some(Bound::Float(-2.5)));
        assert_eq!(s.exact_sum, None);
        assert_eq!(s.sum_f64(), -1.0);
        assert_eq!(s.distinct.count().0, 3);
    }

    #[test]
    fn blocks_and_merges_agree_with_one_pass() {
        let values: Vec<i64> = (0..10_000).map(|i| (i * 7919) % 1013 - 500).collect();
        let whole = state(&values, None);
        let mut parts = state(&values[..3333], None);
        parts.merge(&state(&values[3333..], None)).unwrap();
        assert_eq!(parts.exact_sum, whole.exact_sum);
        assert_eq!((parts.min, parts.max), (whole.min, whole.max));
        assert_eq!(parts.distinct.count(), whole.distinct.count());
        assert!((parts.mean - whole.mean).abs() < 1e-9);
        assert!((parts.m2 - whole.m2).abs() / whole.m2 < 1e-12);
    }

    #[test]
    fn decimal_sum_overflow_falls_back_to_float() {
        let s = state(&[i128::MAX, 1], None);
        assert_eq!(s.exact_sum, None);
        assert_eq!(s.max, Some(Bound::Wide(i128::MAX)));
    }
}
