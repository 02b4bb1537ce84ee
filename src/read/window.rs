//! Offset and limit applied in order over the batches a scan produces, and planned ahead over
//! whole row groups when no filter makes row counts uncertain.

use arrow::array::RecordBatch;

/// Offset and limit over the ordered stream of matching rows.
pub(super) struct Window {
    skip: u64,
    left: Option<u64>,
    pub(super) emitted: u64,
    /// Rows already committed to decode tasks (no-filter planning only).
    pub(super) planned: u64,
}

impl Window {
    pub(super) fn new(offset: u64, limit: Option<u64>) -> Window {
        Window {
            skip: offset,
            left: limit,
            emitted: 0,
            planned: 0,
        }
    }

    pub(super) fn done(&self) -> bool {
        self.left == Some(0)
    }

    /// True when a whole unfiltered row group of `rows` rows lies inside the offset (and
    /// nothing is planned ahead of it that would consume the offset first).
    pub(super) fn covers_skip(&self, rows: u64) -> bool {
        self.planned == 0 && rows <= self.skip
    }

    /// Accounts for an unfiltered row group without decoding it (count-only or skipped).
    pub(super) fn take_rows(&mut self, rows: u64) {
        let skipped = rows.min(self.skip);
        self.skip -= skipped;
        let mut rest = rows - skipped;
        if let Some(left) = &mut self.left {
            rest = rest.min(*left);
            *left -= rest;
        }
        self.emitted += rest;
    }

    pub(super) fn planned_enough(&self) -> bool {
        self.left
            .is_some_and(|left| self.planned >= self.skip.saturating_add(left))
    }

    pub(super) fn plan(&mut self, rows: u64) {
        self.planned += rows;
    }

    /// Applies the window to the next batch in order.
    pub(super) fn cut(&mut self, batch: RecordBatch) -> Option<RecordBatch> {
        let rows = batch.num_rows() as u64;
        let skipped = rows.min(self.skip);
        self.skip -= skipped;
        let mut take = rows - skipped;
        if let Some(left) = &mut self.left {
            take = take.min(*left);
            *left -= take;
        }
        if take == 0 {
            return None;
        }
        self.emitted += take;
        // Both bounds are within the batch's row count, which fits in usize.
        Some(batch.slice(skipped as usize, take as usize))
    }
}
