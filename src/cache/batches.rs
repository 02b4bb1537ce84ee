//! Decoded batches of a row group, keyed by file version, row group and projection, for
//! repeated scans of the same columns. Off unless `cache.batch_percent` gives it a budget.

use std::sync::Arc;

use arrow::array::RecordBatch;

use super::stats::{weighed_cache, CacheStats, Counters};
use crate::config::CacheExpiry;
use crate::read::{DecodedCache, DecodedKey};

/// A moka cache of decoded row groups weighed by their Arrow memory size.
pub struct BatchCache {
    batches: moka::sync::Cache<DecodedKey, Arc<Vec<RecordBatch>>>,
    budget: u64,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for BatchCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchCache")
            .field("budget", &self.budget)
            .finish()
    }
}

fn weight(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .map(|b| b.get_array_memory_size() as u64)
        .sum::<u64>()
        + 256
}

impl BatchCache {
    /// A batch cache of at most `budget` bytes.
    pub fn new(budget: u64, expiry: &CacheExpiry) -> BatchCache {
        let counters = Arc::new(Counters::default());
        BatchCache {
            batches: weighed_cache(
                budget,
                expiry,
                &counters,
                |_: &DecodedKey, v: &Arc<Vec<RecordBatch>>| weight(v),
            ),
            budget,
            counters,
        }
    }

    /// What the cache did so far.
    pub fn stats(&self) -> CacheStats {
        self.batches.run_pending_tasks();
        self.counters.snapshot(
            self.budget,
            self.batches.weighted_size(),
            self.batches.entry_count(),
        )
    }
}

impl DecodedCache for BatchCache {
    fn get(&self, key: &DecodedKey) -> Option<Arc<Vec<RecordBatch>>> {
        let found = self.batches.get(key);
        Counters::bump(if found.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        });
        found
    }

    fn insert(&self, key: DecodedKey, batches: Arc<Vec<RecordBatch>>) {
        if self.budget == 0 || weight(&batches) > self.budget {
            return;
        }
        Counters::bump(&self.counters.inserts);
        self.batches.insert(key, batches);
        self.batches.run_pending_tasks();
    }
}
