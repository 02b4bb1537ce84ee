//! Sets of row numbers as sorted, disjoint, non-adjacent half-open ranges: what the pruners
//! compute, since the units they prune (row groups, or one column's pages) have different
//! boundaries for different columns and only row numbers combine across them.

use std::ops::Range;

use arrow::array::{Array, BooleanArray};
use parquet::arrow::arrow_reader::{RowSelection, RowSelector};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowRanges(Vec<Range<u64>>);

impl RowRanges {
    /// Every row in `0..total`.
    pub(crate) fn all(total: u64) -> RowRanges {
        RowRanges::from_sorted((total > 0).then_some(0..total).into_iter())
    }

    /// The rows of the units whose mask value is true (a null counts as true). Unit `i` covers
    /// `starts[i]..starts[i + 1]`, the last one up to `total`. A mask whose length does not
    /// match `starts` proves nothing, so it keeps everything.
    pub(crate) fn from_units(mask: &BooleanArray, starts: &[u64], total: u64) -> RowRanges {
        if mask.len() != starts.len() {
            return RowRanges::all(total);
        }
        let kept = (0..starts.len())
            .filter(|&i| mask.is_null(i) || mask.value(i))
            .map(|i| {
                let end = starts.get(i + 1).copied().unwrap_or(total).min(total);
                starts[i].min(end)..end
            });
        RowRanges::from_sorted(kept)
    }

    /// Builds from ranges in ascending order, merging touching ones and dropping empty ones.
    fn from_sorted(ranges: impl Iterator<Item = Range<u64>>) -> RowRanges {
        let mut out: Vec<Range<u64>> = Vec::new();
        for r in ranges.filter(|r| r.start < r.end) {
            match out.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => out.push(r),
            }
        }
        RowRanges(out)
    }

    pub(crate) fn intersect(&self, other: &RowRanges) -> RowRanges {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < self.0.len() && j < other.0.len() {
            let (a, b) = (&self.0[i], &other.0[j]);
            let start = a.start.max(b.start);
            let end = a.end.min(b.end);
            if start < end {
                out.push(start..end);
            }
            if a.end <= b.end {
                i += 1;
            } else {
                j += 1;
            }
        }
        RowRanges::from_sorted(out.into_iter())
    }

    pub(crate) fn union(&self, other: &RowRanges) -> RowRanges {
        let mut all: Vec<Range<u64>> = self.0.iter().chain(&other.0).cloned().collect();
        all.sort_by_key(|r| r.start);
        RowRanges::from_sorted(all.into_iter())
    }

    /// True when some row of `range` is in the set.
    pub(crate) fn overlaps(&self, range: &Range<u64>) -> bool {
        // The first range ending after `range.start` is the only candidate.
        let i = self.0.partition_point(|r| r.end <= range.start);
        self.0.get(i).is_some_and(|r| r.start < range.end)
    }

    /// Number of rows in the set.
    pub(crate) fn rows(&self) -> u64 {
        self.0.iter().map(|r| r.end - r.start).sum()
    }

    /// The parquet reader's selection of these rows out of `0..total`.
    pub(crate) fn selection(&self, total: u64) -> RowSelection {
        let mut selectors = Vec::with_capacity(self.0.len() * 2 + 1);
        let mut at = 0;
        for r in &self.0 {
            let end = r.end.min(total);
            if r.start >= end {
                continue;
            }
            if r.start > at {
                selectors.push(RowSelector::skip(to_usize(r.start - at)));
            }
            selectors.push(RowSelector::select(to_usize(end - r.start)));
            at = end;
        }
        if total > at {
            selectors.push(RowSelector::skip(to_usize(total - at)));
        }
        RowSelection::from(selectors)
    }
}

/// Row counts within one row group fit in memory, hence in usize.
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(r: &[Range<u64>]) -> RowRanges {
        RowRanges::from_sorted(r.iter().cloned())
    }

    #[test]
    fn units_become_merged_ranges() {
        let mask = BooleanArray::from(vec![Some(true), Some(true), Some(false), None]);
        let got = RowRanges::from_units(&mask, &[0, 10, 20, 30], 35);
        assert_eq!(got, ranges(&[0..20, 30..35]));
        assert_eq!(got.rows(), 25);
    }

    #[test]
    fn a_mask_of_the_wrong_length_keeps_everything() {
        let mask = BooleanArray::from(vec![false]);
        assert_eq!(RowRanges::from_units(&mask, &[0, 5], 9), RowRanges::all(9));
    }

    #[test]
    fn intersect_and_union() {
        let a = ranges(&[0..10, 20..30]);
        let b = RowRanges::all(25).intersect(&ranges(&[5..25, 40..41]));
        assert_eq!(a.intersect(&b), ranges(&[5..10, 20..25]));
        assert_eq!(a.union(&b), RowRanges::all(30));
        assert_eq!(a.intersect(&RowRanges::all(0)), ranges(&[]));
    }

    #[test]
    fn overlaps_finds_partial_hits() {
        let a = ranges(&[10..20, 40..50]);
        assert!(a.overlaps(&(15..16)));
        assert!(a.overlaps(&(0..11)));
        assert!(!a.overlaps(&(20..40)));
        assert!(!a.overlaps(&(50..60)));
    }

    #[test]
    fn selection_covers_all_rows() {
        let sel = ranges(&[2..4, 8..10]).selection(12);
        let selectors: Vec<RowSelector> = sel.into();
        let total: usize = selectors.iter().map(|s| s.row_count).sum();
        assert_eq!(total, 12);
        let picked: usize = selectors
            .iter()
            .filter(|s| !s.skip)
            .map(|s| s.row_count)
            .sum();
        assert_eq!(picked, 4);
    }
}
