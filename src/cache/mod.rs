//! The in-memory caches over the slower tiers, under one memory budget (`[cache]` in the
//! config): parsed Parquet footers, fixed-size blocks of objects, and optionally decoded
//! batches.
//!
//! - Blocks ([`BlockCache`]) are aligned, `block_size` bytes, keyed by object, version and
//!   block number: an overwrite makes new keys, so stale bytes are never served, and writes and
//!   deletes also drop the old blocks to free memory. Misses fetch runs of missing blocks in one
//!   request each, once per block however many threads ask (single flight), and are admitted by
//!   worth = reads x fetch latency / size (latency measured per tier) on top of moka's TinyLFU.
//! - Strategies per key prefix: lazy (cache on read), read-ahead (sequential readers get the
//!   next blocks prefetched in the background), write-through (writes fill the cache) and
//!   write-around (writes bypass it).
//! - The bytes held never pass the budget plus 10%, whatever the write pressure: see
//!   [`BlockCache`].
//! - Below the memory caches, the hot local tier is the persistent second level: objects read
//!   repeatedly from a cold tier are promoted to it by the lifecycle rules
//!   (`promote_after_reads`), so they survive a restart and are then read through a memory map.
//!
//! The in-memory caches hold plaintext of encrypted objects; they never write to disk.

mod admission;
mod batches;
mod blocks;
mod flight;
mod footers;
mod readahead;
mod stats;

use std::sync::Arc;

pub use batches::BatchCache;
pub use blocks::{BlockCache, BlockCacheOptions, ObjectVersion, RangeFetch};
pub use footers::FooterCache;
pub use stats::{tallying, CacheStats, CachesStats, ReadTally, TalliedReads, TierLatency};

use crate::config::{CacheConfig, CacheStrategy};

/// The caches of one lake under one budget.
#[derive(Debug, Clone)]
pub struct Cache {
    config: CacheConfig,
    blocks: BlockCache,
    footers: Arc<FooterCache>,
    batches: Option<Arc<BatchCache>>,
}

impl Cache {
    /// The caches `config` describes.
    pub fn new(config: &CacheConfig) -> Cache {
        let blocks = BlockCache::new(&BlockCacheOptions {
            budget: config.block_budget(),
            block_size: config.block_size,
            read_ahead_blocks: config.read_ahead_blocks,
            cost_aware: config.cost_aware,
            expiry: config.blocks.clone(),
        });
        let batches = (config.batch_budget() > 0)
            .then(|| Arc::new(BatchCache::new(config.batch_budget(), &config.batches)));
        Cache {
            config: config.clone(),
            blocks,
            footers: Arc::new(FooterCache::new(config.metadata_budget(), &config.metadata)),
            batches,
        }
    }

    /// The settings.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The block cache.
    pub fn blocks(&self) -> &BlockCache {
        &self.blocks
    }

    /// The footer cache (give it to [`crate::Scan::metadata_cache`]).
    pub fn footers(&self) -> Arc<FooterCache> {
        self.footers.clone()
    }

    /// The batch cache, when it has a budget.
    pub fn batches(&self) -> Option<Arc<BatchCache>> {
        self.batches.clone()
    }

    /// The strategy for `key`.
    pub fn strategy_for(&self, key: &str) -> CacheStrategy {
        self.config.strategy_for(key)
    }

    /// Drops the cached blocks of every object whose key starts with `prefix`.
    pub fn invalidate_prefix(&self, prefix: &str) {
        self.blocks.invalidate_prefix(prefix);
    }

    /// What the caches did so far.
    pub fn stats(&self) -> CachesStats {
        let metadata = self.footers.stats();
        let blocks = self.blocks.stats();
        let batches = self.batches.as_ref().map(|b| b.stats()).unwrap_or_default();
        CachesStats {
            budget: self.config.budget,
            bytes: metadata.bytes + blocks.bytes + batches.bytes,
            metadata,
            blocks,
            batches,
            tiers: self.blocks.tier_latency(),
        }
    }
}
