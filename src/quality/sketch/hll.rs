//! HyperLogLog distinct counting with Ertl's improved estimator.
//!
//! Ertl's estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017) is
//! unbiased over the whole range without HLL++'s empirical bias tables, so small, medium and
//! huge cardinalities share one formula. Registers merge by maximum, so the estimate of a merged
//! sketch does not depend on how the input was split.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A HyperLogLog sketch over 64-bit hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HyperLogLog {
    precision: u8,
    registers: Vec<u8>,
}

impl HyperLogLog {
    /// Smallest supported precision.
    pub const MIN_PRECISION: u8 = 4;
    /// Largest supported precision (256 KiB of registers).
    pub const MAX_PRECISION: u8 = 18;

    /// A sketch with `2^precision` registers.
    pub fn new(precision: u8) -> Result<Self> {
        if !(Self::MIN_PRECISION..=Self::MAX_PRECISION).contains(&precision) {
            return Err(Error::invalid(format!(
                "HyperLogLog precision {precision} is outside {}..={}",
                Self::MIN_PRECISION,
                Self::MAX_PRECISION
            )));
        }
        Ok(HyperLogLog {
            precision,
            registers: vec![0; 1 << precision],
        })
    }

    /// The precision (log2 of the register count).
    pub fn precision(&self) -> u8 {
        self.precision
    }

    /// Relative standard error of the estimate, `1.04 / sqrt(2^precision)` (0.81% at 14).
    pub fn standard_error(&self) -> f64 {
        1.04 / ((1u64 << self.precision) as f64).sqrt()
    }

    /// The stated error bound: three standard errors, which the estimate stays within for
    /// 99.7% of inputs.
    pub fn error_bound(&self) -> f64 {
        3.0 * self.standard_error()
    }

    /// Adds a value by its 64-bit hash (see the crate's stable hashes; any well-mixed hash works
    /// as long as every merged sketch used the same one).
    #[inline(always)]
    pub fn insert_hash(&mut self, hash: u64) {
        let p = self.precision as u32;
        let index = (hash >> (64 - p)) as usize;
        // The guard bit caps the rank at 65 - p when all remaining bits are zero.
        let rest = (hash << p) | (1u64 << (p - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if let Some(register) = self.registers.get_mut(index) {
            // Branch-free: whether a rank beats its register is a coin flip early on.
            *register = (*register).max(rank);
        }
    }

    /// Folds `other` into this sketch.
    pub fn merge(&mut self, other: &HyperLogLog) -> Result<()> {
        if other.precision != self.precision || other.registers.len() != self.registers.len() {
            return Err(Error::invalid(format!(
                "cannot merge HyperLogLog sketches of precision {} and {}",
                self.precision, other.precision
            )));
        }
        for (a, b) in self.registers.iter_mut().zip(&other.registers) {
            *a = (*a).max(*b);
        }
        Ok(())
    }

    /// The estimated number of distinct values.
    pub fn estimate(&self) -> f64 {
        let p = self.precision as usize;
        let q = 64 - p;
        let m = self.registers.len() as f64;
        let mut histogram = vec![0u32; q + 2];
        for &r in &self.registers {
            let r = (r as usize).min(q + 1);
            histogram[r] += 1;
        }
        let mut z = m * tau(1.0 - histogram[q + 1] as f64 / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + histogram[k] as f64);
        }
        z += m * sigma(histogram[0] as f64 / m);
        let alpha = 1.0 / (2.0 * std::f64::consts::LN_2);
        alpha * m * m / z
    }
}

fn sigma(mut x: f64) -> f64 {
    if x >= 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if z == previous {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x <= 0.0 || x >= 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == previous {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::hash::hash_u64;

    #[test]
    fn empty_is_zero_and_small_counts_are_near_exact() {
        let mut h = HyperLogLog::new(14).unwrap();
        assert_eq!(h.estimate(), 0.0);
        for i in 0..100u64 {
            h.insert_hash(hash_u64(i));
            h.insert_hash(hash_u64(i));
        }
        assert!((h.estimate() - 100.0).abs() < 2.0, "{}", h.estimate());
    }

    #[test]
    fn merge_equals_union() {
        let mut a = HyperLogLog::new(12).unwrap();
        let mut b = HyperLogLog::new(12).unwrap();
        let mut whole = HyperLogLog::new(12).unwrap();
        for i in 0..50_000u64 {
            let h = hash_u64(i);
            whole.insert_hash(h);
            if i % 3 == 0 {
                a.insert_hash(h)
            } else {
                b.insert_hash(h)
            }
        }
        a.merge(&b).unwrap();
        assert_eq!(a, whole);
        assert!(a.merge(&HyperLogLog::new(10).unwrap()).is_err());
    }

    #[test]
    fn bad_precision_is_an_error() {
        assert!(HyperLogLog::new(3).is_err());
        assert!(HyperLogLog::new(19).is_err());
    }

    #[test]
    fn within_error_bound_at_several_sizes() {
        for &n in &[1_000u64, 30_000, 200_000] {
            let mut h = HyperLogLog::new(14).unwrap();
            for i in 0..n {
                h.insert_hash(hash_u64(i.wrapping_mul(7919)));
            }
            let err = (h.estimate() - n as f64).abs() / n as f64;
            assert!(err <= h.error_bound(), "n={n} err={err}");
        }
    }
}
