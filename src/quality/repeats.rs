//! Which rows repeat an earlier row's key: the core of uniqueness, primary-key and
//! distinct-ratio checks and of the dataset score's uniqueness.
//!
//! One hash set over ten million keys misses the cache on nearly every insert, and that was
//! most of a check's time. Here the keys' hashes are first scattered by their top bits into
//! partitions small enough for their sets to stay in cache, and each partition is deduplicated
//! on its own, in parallel. The scatter keeps row order inside a partition, and equal keys
//! always land in the same partition, so "repeats an earlier row" means exactly what it means
//! in a single pass over the rows.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use arrow::buffer::BooleanBuffer;
use rayon::prelude::*;

use super::hash::KeyHasher;

/// Keys per partition aimed at: a set of this many entries fits in a core's L2 cache.
const PARTITION_KEYS: usize = 8192;
/// Keys are scattered into 2^8 buckets by their hash's top bits, then neighbouring buckets are
/// grouped into parts. More buckets make the scatter itself miss the cache and the TLB (12 bits
/// ran 13% slower than 8 on ten million keys; the sets of 8-bit buckets still hit L3).
const PARTITION_BITS: u32 = 8;

/// A key's hash and its row (counted across all batches).
pub(crate) type Keyed = (u64, u64);

/// What [`find_repeats`] found.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Repeats {
    /// Distinct keys.
    pub distinct: u64,
    /// Rows whose key equals an earlier row's.
    pub repeated: u64,
    /// The first repeating rows, in row order, at most the sample size asked for.
    pub first: Vec<u64>,
}

/// Finds the rows whose key repeats an earlier one. `hashes[row]` is the hash of row `row`'s
/// key; rows where `valid` is false are left out (null keys).
///
/// Hashes decide alone when `same` is `None`, which is exact when the hash is a bijection of
/// the key (integers through [`super::hash::hash_u64`]); otherwise `same(a, b)` compares the
/// keys of rows `a` and `b` whenever their hashes agree, so collisions never merge keys.
pub(crate) fn find_repeats(
    hashes: &[u64],
    valid: Option<&BooleanBuffer>,
    same: Option<&(dyn Fn(u64, u64) -> bool + Sync)>,
    sample: usize,
) -> Repeats {
    let (scattered, bounds) = scatter(hashes, valid);
    let parts: Vec<Repeats> = bounds
        .par_windows(2)
        .map_init(
            || HashMap::with_hasher(KeyHasher),
            |first_row, w| repeats_in(&scattered[w[0]..w[1]], first_row, same, sample),
        )
        .collect();
    let mut all = Repeats::default();
    for part in parts {
        all.distinct += part.distinct;
        all.repeated += part.repeated;
        all.first.extend(part.first);
    }
    all.first.sort_unstable();
    all.first.truncate(sample);
    all
}

/// Orders keys by the top bits of their hash (a counting sort that keeps row order inside each
/// bucket); returns them and the bounds of parts of about [`PARTITION_KEYS`] keys each, cut
/// between buckets so that equal keys share a part.
fn scatter(hashes: &[u64], valid: Option<&BooleanBuffer>) -> (Vec<Keyed>, Vec<usize>) {
    let bucket_of = |hash: u64| (hash >> (64 - PARTITION_BITS)) as usize;
    let mut next = vec![0usize; (1 << PARTITION_BITS) + 1];
    let rows = || {
        hashes
            .iter()
            .enumerate()
            .filter(|&(row, _)| valid.is_none_or(|v| v.value(row)))
    };
    for (_, &hash) in rows() {
        next[bucket_of(hash) + 1] += 1;
    }
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    let total = next[next.len() - 1];
    let mut bounds = vec![0];
    for &end in &next[1..] {
        if end - bounds[bounds.len() - 1] >= PARTITION_KEYS || end == total {
            bounds.push(end);
        }
        if end == total {
            break;
        }
    }
    let mut scattered = vec![(0u64, 0u64); total];
    for (row, &hash) in rows() {
        let slot = &mut next[bucket_of(hash)];
        scattered[*slot] = (hash, row as u64);
        *slot += 1;
    }
    (scattered, bounds)
}

fn repeats_in(
    keys: &[Keyed],
    first_row: &mut HashMap<u64, u64, KeyHasher>,
    same: Option<&(dyn Fn(u64, u64) -> bool + Sync)>,
    sample: usize,
) -> Repeats {
    // One map per worker, cleared between parts: a fresh map per part would fault in and
    // zero new pages every time.
    first_row.clear();
    first_row.reserve(keys.len());
    // Distinct keys whose hash an earlier, different key already holds (a 64-bit collision:
    // practically never, but a collision must not turn two keys into one).
    let mut collided: Vec<Keyed> = Vec::new();
    let mut out = Repeats::default();
    for &(hash, row) in keys {
        let repeat = match first_row.entry(hash) {
            Entry::Vacant(slot) => {
                slot.insert(row);
                false
            }
            Entry::Occupied(held) => match same {
                None => true,
                Some(same) => {
                    let earlier = *held.get();
                    same(earlier, row)
                        || collided.iter().any(|&(h, r)| h == hash && same(r, row))
                        || {
                            collided.push((hash, row));
                            false
                        }
                }
            },
        };
        if repeat {
            out.repeated += 1;
            // A part spans several buckets, each in row order but not with each other: keep
            // the smallest rows seen, sorted.
            if out.first.len() < sample || out.first.last().is_some_and(|&l| row < l) {
                let at = out.first.partition_point(|&r| r < row);
                out.first.insert(at, row);
                out.first.truncate(sample);
            }
        } else {
            out.distinct += 1;
        }
    }
    out
}

/// Maps rows counted across batches back to (batch, row in batch).
pub(crate) struct RowLocator {
    starts: Vec<u64>,
    end: u64,
}

impl RowLocator {
    /// From the batches' row counts, in order.
    pub(crate) fn new(lengths: impl IntoIterator<Item = usize>) -> Self {
        let mut next = 0u64;
        let starts = lengths
            .into_iter()
            .map(|n| {
                let start = next;
                next += n as u64;
                start
            })
            .collect();
        RowLocator { starts, end: next }
    }

    /// Rows in all batches.
    pub(crate) fn rows(&self) -> u64 {
        self.end
    }

    /// The batch holding `row` and the row's index in it.
    pub(crate) fn locate(&self, row: u64) -> (usize, usize) {
        let batch = self.starts.partition_point(|&s| s <= row) - 1;
        (batch, (row - self.starts[batch]) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::hash::hash_u64;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// The plain single-pass answer.
    fn one_pass(values: &[u64], sample: usize) -> Repeats {
        let mut seen = HashSet::new();
        let mut out = Repeats::default();
        for (row, v) in values.iter().enumerate() {
            if seen.insert(*v) {
                out.distinct += 1;
            } else {
                out.repeated += 1;
                if out.first.len() < sample {
                    out.first.push(row as u64);
                }
            }
        }
        out
    }

    fn hashed(values: &[u64], hash: impl Fn(u64) -> u64) -> Vec<u64> {
        values.iter().map(|&v| hash(v)).collect()
    }

    #[test]
    fn many_partitions_agree_with_one_pass() {
        let values: Vec<u64> = (0..100_000u64).map(|i| (i * 7919) % 60_011).collect();
        let found = find_repeats(&hashed(&values, hash_u64), None, None, 10);
        assert_eq!(found, one_pass(&values, 10));
    }

    #[test]
    fn colliding_hashes_stay_distinct_keys() {
        // Every key gets the same hash; only `same` can tell them apart.
        let values = [5u64, 6, 5, 7, 6, 6];
        let same = |a: u64, b: u64| values[a as usize] == values[b as usize];
        let found = find_repeats(&hashed(&values, |_| 42), None, Some(&same), 10);
        assert_eq!(found, one_pass(&values, 10));
    }

    #[test]
    fn locates_rows_across_batches() {
        let at = RowLocator::new([3, 0, 2, 5]);
        assert_eq!(at.locate(0), (0, 0));
        assert_eq!(at.locate(2), (0, 2));
        assert_eq!(at.locate(3), (2, 0));
        assert_eq!(at.locate(9), (3, 4));
    }

    proptest! {
        #[test]
        fn agrees_with_one_pass(values in prop::collection::vec(0u64..50, 0..40_000), sample in 0usize..20) {
            // A weak hash (many collisions) through `same`, and the exact one without.
            let same = |a: u64, b: u64| values[a as usize] == values[b as usize];
            let weak = find_repeats(&hashed(&values, |v| v % 7), None, Some(&same), sample);
            let exact = find_repeats(&hashed(&values, hash_u64), None, None, sample);
            let expected = one_pass(&values, sample);
            prop_assert_eq!(weak, expected);
            prop_assert_eq!(exact, one_pass(&values, sample));
        }
    }
}
