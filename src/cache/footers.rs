//! Parsed Parquet footers (and page indexes) in a moka cache weighed by their in-memory size,
//! behind the reader's [`MetadataCache`] interface.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use parquet::arrow::arrow_reader::ArrowReaderMetadata;

use super::stats::{weighed_cache, CacheStats, Counters};
use crate::config::CacheExpiry;
use crate::read::{FileVersion, MetadataCache};

/// A moka cache of parsed footers keyed by file (or object) version.
pub struct FooterCache {
    footers: moka::sync::Cache<FileVersion, ArrowReaderMetadata>,
    budget: u64,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for FooterCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FooterCache")
            .field("budget", &self.budget)
            .field("entries", &self.footers.entry_count())
            .finish()
    }
}

fn weight(version: &FileVersion, metadata: &ArrowReaderMetadata) -> u64 {
    metadata.metadata().memory_size() as u64 + version.path.as_os_str().len() as u64 + 128
}

impl FooterCache {
    /// A footer cache of at most `budget` bytes.
    pub fn new(budget: u64, expiry: &CacheExpiry) -> FooterCache {
        let counters = Arc::new(Counters::default());
        FooterCache {
            footers: weighed_cache(
                budget,
                expiry,
                &counters,
                |k: &FileVersion, v: &ArrowReaderMetadata| weight(k, v),
            ),
            budget,
            counters,
        }
    }

    /// What the cache did so far.
    pub fn stats(&self) -> CacheStats {
        self.footers.run_pending_tasks();
        self.counters.snapshot(
            self.budget,
            self.footers.weighted_size(),
            self.footers.entry_count(),
        )
    }

    /// Runs moka's pending maintenance now.
    pub fn run_pending_tasks(&self) {
        self.footers.run_pending_tasks();
    }
}

impl MetadataCache for FooterCache {
    fn get(&self, version: &FileVersion) -> Option<ArrowReaderMetadata> {
        let found = self.footers.get(version);
        Counters::bump(if found.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        });
        found
    }

    fn insert(&self, version: FileVersion, metadata: ArrowReaderMetadata) {
        if self.budget == 0 {
            return;
        }
        self.counters.inserts.fetch_add(1, Relaxed);
        self.footers.insert(version, metadata);
        // Footers are few and large: apply the eviction now rather than lazily, so the
        // budget holds.
        self.footers.run_pending_tasks();
    }
}
