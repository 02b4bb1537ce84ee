//! Counters each cache keeps, and the snapshots the API, the CLI and the C ABI report.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// Live counters of one cache; cheap to bump from any thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub inserts: AtomicU64,
    pub evictions: AtomicU64,
    pub expirations: AtomicU64,
    pub invalidations: AtomicU64,
    pub rejected: AtomicU64,
    pub prefetched: AtomicU64,
    pub prefetch_hits: AtomicU64,
    pub fetches: AtomicU64,
    pub fetched_bytes: AtomicU64,
    pub fetch_nanos: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// A snapshot, with the bytes and entries held given by the cache.
    pub fn snapshot(&self, budget: u64, bytes: u64, entries: u64) -> CacheStats {
        let hits = self.hits.load(Relaxed);
        let misses = self.misses.load(Relaxed);
        CacheStats {
            budget,
            bytes,
            entries,
            hits,
            misses,
            hit_ratio: if hits + misses == 0 {
                0.0
            } else {
                hits as f64 / (hits + misses) as f64
            },
            inserts: self.inserts.load(Relaxed),
            evictions: self.evictions.load(Relaxed),
            expirations: self.expirations.load(Relaxed),
            invalidations: self.invalidations.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            prefetched: self.prefetched.load(Relaxed),
            prefetch_hits: self.prefetch_hits.load(Relaxed),
            fetches: self.fetches.load(Relaxed),
            fetched_bytes: self.fetched_bytes.load(Relaxed),
            fetch_ms: self.fetch_nanos.load(Relaxed) as f64 / 1e6,
        }
    }
}

/// Block reads of one reader (a table, a dataset scan), counted beside the cache's own
/// totals so the access statistics can say whose reads the cache served. Cheap to bump from
/// any thread: one add per counter per read, not per block.
#[derive(Debug, Default)]
pub struct ReadTally {
    hits: AtomicU64,
    misses: AtomicU64,
    hit_bytes: AtomicU64,
    miss_bytes: AtomicU64,
}

thread_local! {
    /// The tally of the read running on this thread, for readers that reach the cache through
    /// layers that do not pass one along (a whole-object get through the store).
    static CURRENT: std::cell::RefCell<Option<std::sync::Arc<ReadTally>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `read` with the block-cache reads it makes on this thread also counted in `tally`.
pub fn tallying<T>(tally: &std::sync::Arc<ReadTally>, read: impl FnOnce() -> T) -> T {
    /// Puts the previous tally back however `read` ends.
    struct Restore(Option<std::sync::Arc<ReadTally>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(tally.clone())));
    read()
}

/// The tally set by [`tallying`] on this thread, if any.
pub(crate) fn current_tally() -> Option<std::sync::Arc<ReadTally>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// What a [`ReadTally`] counted, taken out of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TalliedReads {
    /// Blocks served from memory.
    pub hits: u64,
    /// Blocks fetched from the tier (or waited for while another reader fetched them).
    pub misses: u64,
    /// Bytes of the blocks served from memory.
    pub hit_bytes: u64,
    /// Bytes of the blocks fetched.
    pub miss_bytes: u64,
}

impl ReadTally {
    /// Adds one read's `[hits, misses, hit_bytes, miss_bytes]`.
    pub(crate) fn add(&self, [hits, misses, hit_bytes, miss_bytes]: [u64; 4]) {
        if hits > 0 {
            self.hits.fetch_add(hits, Relaxed);
            self.hit_bytes.fetch_add(hit_bytes, Relaxed);
        }
        if misses > 0 {
            self.misses.fetch_add(misses, Relaxed);
            self.miss_bytes.fetch_add(miss_bytes, Relaxed);
        }
    }

    /// What was counted since the last take; the counters start again from zero.
    pub fn take(&self) -> TalliedReads {
        TalliedReads {
            hits: self.hits.swap(0, Relaxed),
            misses: self.misses.swap(0, Relaxed),
            hit_bytes: self.hit_bytes.swap(0, Relaxed),
            miss_bytes: self.miss_bytes.swap(0, Relaxed),
        }
    }
}

/// What one cache did since it was created.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CacheStats {
    /// Bytes this cache may hold.
    pub budget: u64,
    /// Bytes held now.
    pub bytes: u64,
    /// Entries held now.
    pub entries: u64,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to fetch or parse.
    pub misses: u64,
    /// hits / (hits + misses), 0 before any lookup.
    pub hit_ratio: f64,
    /// Entries added.
    pub inserts: u64,
    /// Entries evicted to stay within the budget.
    pub evictions: u64,
    /// Entries dropped by their time to live or idle time.
    pub expirations: u64,
    /// Entries dropped because their object was overwritten or deleted.
    pub invalidations: u64,
    /// Fetched entries not admitted: worth (reads x fetch latency / size) too low.
    pub rejected: u64,
    /// Entries fetched ahead of a sequential reader.
    pub prefetched: u64,
    /// Hits on prefetched entries (their first read).
    pub prefetch_hits: u64,
    /// Requests made to the tiers on misses (coalesced: one per run of missing blocks).
    pub fetches: u64,
    /// Bytes those requests returned.
    pub fetched_bytes: u64,
    /// Time spent in those requests, in milliseconds.
    pub fetch_ms: f64,
}

/// Measured fetch latency of one tier.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TierLatency {
    /// The tier.
    pub tier: String,
    /// Fetches timed.
    pub fetches: u64,
    /// Mean time per fetch, in milliseconds.
    pub mean_ms: f64,
    /// Expected time to fetch 1 MiB (per request plus per byte, fitted to recent fetches), in
    /// milliseconds.
    pub ms_per_mib: f64,
}

/// The stats of all caches under one budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CachesStats {
    /// The whole budget.
    pub budget: u64,
    /// Bytes held by all caches together.
    pub bytes: u64,
    /// Parsed Parquet footers and page indexes.
    pub metadata: CacheStats,
    /// Fixed-size blocks of objects from the slower tiers.
    pub blocks: CacheStats,
    /// Decoded batches.
    pub batches: CacheStats,
    /// Fetch latency measured per tier (what cost-aware admission weighs).
    pub tiers: Vec<TierLatency>,
}

/// A moka cache of at most `budget` bytes as `weigh` counts them, with `expiry`, whose
/// evictions, expirations and invalidations are counted in `counters`: the common setup of the
/// footer and batch caches.
pub(crate) fn weighed_cache<K, V>(
    budget: u64,
    expiry: &crate::config::CacheExpiry,
    counters: &std::sync::Arc<Counters>,
    weigh: impl Fn(&K, &V) -> u64 + Send + Sync + 'static,
) -> moka::sync::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let c = counters.clone();
    let mut builder = moka::sync::Cache::builder()
        .max_capacity(budget)
        .weigher(move |k: &K, v: &V| u32::try_from(weigh(k, v)).unwrap_or(u32::MAX))
        .eviction_listener(move |_, _, cause| match cause {
            moka::notification::RemovalCause::Size => Counters::bump(&c.evictions),
            moka::notification::RemovalCause::Expired => Counters::bump(&c.expirations),
            moka::notification::RemovalCause::Explicit => Counters::bump(&c.invalidations),
            moka::notification::RemovalCause::Replaced => {}
        });
    if let Some(ttl) = expiry.ttl {
        builder = builder.time_to_live(ttl);
    }
    if let Some(idle) = expiry.idle {
        builder = builder.time_to_idle(idle);
    }
    builder.build()
}
