//! Boolean columns: counts of true and false straight from the bitmaps (popcount, no per-value
//! work).

use arrow::array::{Array, BooleanArray};
use serde::{Deserialize, Serialize};

/// Mergeable state of a boolean column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BooleanState {
    pub(crate) trues: u64,
    pub(crate) falses: u64,
}

impl BooleanState {
    pub(crate) fn update(&mut self, array: &BooleanArray) {
        let valid = (array.len() - array.null_count()) as u64;
        let trues = array.true_count() as u64;
        self.trues += trues;
        self.falses += valid - trues;
    }

    pub(crate) fn merge(&mut self, other: &BooleanState) {
        self.trues += other.trues;
        self.falses += other.falses;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_skip_nulls() {
        let mut s = BooleanState::default();
        s.update(&BooleanArray::from(vec![
            Some(true),
            None,
            Some(false),
            Some(true),
        ]));
        assert_eq!(
            s,
            BooleanState {
                trues: 2,
                falses: 1
            }
        );
    }
}
