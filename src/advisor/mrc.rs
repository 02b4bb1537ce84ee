//! A miss-ratio curve: the share of read bytes an LRU cache of each size would miss, simulated
//! over a read trace by stack distances (Mattson et al.): one pass, each read's distance being
//! the bytes of the distinct keys read since that key's previous read.

use std::collections::HashMap;

use serde::Serialize;

use super::stats::TraceRead;

/// One point of the curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MissPoint {
    /// Cache size in bytes.
    pub cache_bytes: u64,
    /// Bytes that would be read from the tiers, as a share of all bytes read (0 to 1).
    pub miss_ratio: f64,
}

/// The miss ratio of an LRU cache of each of `sizes` bytes over `trace` (cold misses count).
pub fn miss_ratio_curve(trace: &[TraceRead], sizes: &[u64]) -> Vec<MissPoint> {
    let total: u64 = trace.iter().map(|r| r.bytes).sum();
    // `stack`: keys most recent last; a trace is at most a few thousand reads, so a linear
    // walk of the stack per read is cheap enough.
    let mut stack: Vec<(&str, u64)> = Vec::new();
    let mut at: HashMap<&str, ()> = HashMap::new();
    // Bytes of each read's reuse distance (None: first read).
    let mut distances: Vec<(Option<u64>, u64)> = Vec::with_capacity(trace.len());
    for r in trace {
        let key = r.key.as_str();
        if at.contains_key(key) {
            let mut above = 0u64;
            let mut found = None;
            for (i, (k, b)) in stack.iter().enumerate().rev() {
                if *k == key {
                    found = Some(i);
                    break;
                }
                above += b;
            }
            if let Some(i) = found {
                stack.remove(i);
            }
            distances.push((Some(above + r.bytes), r.bytes));
        } else {
            at.insert(key, ());
            distances.push((None, r.bytes));
        }
        stack.push((key, r.bytes));
    }
    sizes
        .iter()
        .map(|&size| {
            let missed: u64 = distances
                .iter()
                .filter(|(d, _)| d.is_none_or(|d| d > size))
                .map(|(_, b)| b)
                .sum();
            MissPoint {
                cache_bytes: size,
                miss_ratio: if total == 0 {
                    0.0
                } else {
                    missed as f64 / total as f64
                },
            }
        })
        .collect()
}

/// The smallest size of the curve past which a larger cache saves under 5% more of the bytes
/// (the knee), or the largest size.
pub fn knee(curve: &[MissPoint]) -> Option<MissPoint> {
    let last = *curve.last()?;
    curve
        .iter()
        .find(|p| p.miss_ratio - last.miss_ratio < 0.05)
        .copied()
        .or(Some(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(key: &str, bytes: u64) -> TraceRead {
        TraceRead {
            key: key.into(),
            bytes,
        }
    }

    #[test]
    fn a_loop_fits_once_the_cache_holds_it() {
        let trace: Vec<_> = (0..10)
            .flat_map(|_| [read("a", 10), read("b", 10), read("c", 10)])
            .collect();
        let curve = miss_ratio_curve(&trace, &[10, 20, 30, 40]);
        // LRU on a loop larger than the cache misses everything.
        assert_eq!(curve[0].miss_ratio, 1.0);
        assert_eq!(curve[1].miss_ratio, 1.0);
        // Holding the loop, only the three cold reads miss.
        assert!((curve[2].miss_ratio - 0.1).abs() < 1e-9);
        assert_eq!(knee(&curve).map(|p| p.cache_bytes), Some(30));
    }
}
