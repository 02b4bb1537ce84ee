//! The block cache: fixed-size, aligned blocks of objects from slower tiers, keyed by object,
//! version and block number, so an overwritten object can never be served stale.
//!
//! A read takes the blocks it spans from the cache; runs of missing blocks are fetched with one
//! ranged request each (single flight per block), measured per tier, and admitted by worth
//! (see `admission`). The bytes held never pass the budget plus 10%: moka evicts lazily, so
//! every insert first reserves its bytes and, when they do not fit, runs moka's pending
//! evictions before trying again; a block that still does not fit is served but not kept.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use moka::notification::RemovalCause;

use super::admission::{worth_bucket, FrequencySketch, LatencyBook, WorthGate};
use super::flight::{Claim, Flights};
use super::readahead::{Job, Prefetcher, SequenceDetector};
use super::stats::{CacheStats, Counters, ReadTally, TierLatency};
use crate::config::{CacheExpiry, CacheStrategy};
use crate::error::{Error, Result};

/// One version of one object, as blocks are keyed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectVersion {
    /// The object's key.
    pub key: Arc<str>,
    /// A hash of the object's version (its checksum or etag): a new version, new blocks.
    pub version: u64,
    /// The object's size in bytes (plaintext when encrypted).
    pub size: u64,
}

impl ObjectVersion {
    /// The version of `key` whose content has checksum or etag `etag`.
    pub fn new(key: &str, etag: &str, size: u64) -> ObjectVersion {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        etag.hash(&mut h);
        size.hash(&mut h);
        ObjectVersion {
            key: Arc::from(key),
            version: h.finish(),
            size,
        }
    }
}

/// How the cache fetches bytes of one object version from its tier.
pub trait RangeFetch: Send + Sync {
    /// The tier the bytes come from (latency is measured per tier).
    fn tier(&self) -> &str;
    /// Reads bytes `range` of the object.
    fn fetch(&self, range: Range<u64>) -> Result<Bytes>;
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BlockKey {
    object: Arc<str>,
    version: u64,
    block: u64,
}

#[derive(Debug, Clone)]
struct Block {
    bytes: Bytes,
    /// Set while a prefetched block waits for its first read.
    prefetched: Arc<AtomicBool>,
    /// Its worth bucket in the admission gate.
    bucket: Arc<AtomicU8>,
}

/// Most extra reads a costly block counts for (moka's counters saturate at 15).
const MAX_BOOST: u32 = 15;

fn weight(key: &BlockKey, block: &Block) -> u64 {
    block.bytes.len() as u64 + key.object.len() as u64 + 96
}

/// The block cache. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct BlockCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("budget", &self.inner.budget)
            .field("block_size", &self.inner.block_size)
            .finish()
    }
}

pub(crate) struct Inner {
    blocks: moka::sync::Cache<BlockKey, Block>,
    block_size: u64,
    budget: u64,
    held: Arc<AtomicU64>,
    counters: Arc<Counters>,
    gate: Option<Arc<WorthGate>>,
    sketch: FrequencySketch,
    latency: LatencyBook,
    flights: Flights<BlockKey>,
    sequence: SequenceDetector,
    prefetcher: Prefetcher,
    read_ahead: u64,
    maintenance: Mutex<()>,
    hasher: std::collections::hash_map::RandomState,
    /// Objects with blocks admitted: key -> version -> blocks up to, for exact invalidation.
    objects: Mutex<HashMap<Arc<str>, HashMap<u64, u64>>>,
}

/// Settings of a [`BlockCache`].
#[derive(Debug, Clone)]
pub struct BlockCacheOptions {
    /// Bytes the cache may hold (0: nothing is kept).
    pub budget: u64,
    /// Block size; a power of two.
    pub block_size: u64,
    /// Blocks fetched ahead of a sequential reader (read-ahead strategy).
    pub read_ahead_blocks: u32,
    /// Worth-based admission on top of TinyLFU.
    pub cost_aware: bool,
    /// Time to live and idle time.
    pub expiry: CacheExpiry,
}

impl Default for BlockCacheOptions {
    fn default() -> Self {
        BlockCacheOptions {
            budget: crate::config::DEFAULT_CACHE_BUDGET,
            block_size: crate::config::DEFAULT_BLOCK_SIZE,
            read_ahead_blocks: 4,
            cost_aware: true,
            expiry: CacheExpiry::default(),
        }
    }
}

impl BlockCache {
    /// A block cache with these settings.
    pub fn new(options: &BlockCacheOptions) -> BlockCache {
        let held = Arc::new(AtomicU64::new(0));
        let counters = Arc::new(Counters::default());
        let gate = options.cost_aware.then(|| Arc::new(WorthGate::new()));
        let mut builder = moka::sync::Cache::builder()
            .max_capacity(options.budget)
            .weigher(|k: &BlockKey, v: &Block| u32::try_from(weight(k, v)).unwrap_or(u32::MAX))
            .support_invalidation_closures();
        if let Some(ttl) = options.expiry.ttl {
            builder = builder.time_to_live(ttl);
        }
        if let Some(idle) = options.expiry.idle {
            builder = builder.time_to_idle(idle);
        }
        let (h, c, g) = (held.clone(), counters.clone(), gate.clone());
        let builder = builder.eviction_listener(move |k, v: Block, cause| {
            let w = weight(&k, &v);
            let _ = h.fetch_update(Relaxed, Relaxed, |x| Some(x.saturating_sub(w)));
            if let Some(g) = &g {
                g.remove(v.bucket.load(Relaxed), w);
            }
            match cause {
                RemovalCause::Size => Counters::bump(&c.evictions),
                RemovalCause::Expired => Counters::bump(&c.expirations),
                RemovalCause::Explicit => Counters::bump(&c.invalidations),
                RemovalCause::Replaced => {}
            }
        });
        let block_size = options.block_size.max(1).next_power_of_two();
        BlockCache {
            inner: Arc::new(Inner {
                blocks: builder.build(),
                block_size,
                budget: options.budget,
                held,
                counters,
                gate,
                sketch: FrequencySketch::new(options.budget / block_size),
                latency: LatencyBook::default(),
                flights: Flights::new(),
                sequence: SequenceDetector::default(),
                prefetcher: Prefetcher::default(),
                read_ahead: u64::from(options.read_ahead_blocks),
                maintenance: Mutex::new(()),
                hasher: Default::default(),
                objects: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The block size.
    pub fn block_size(&self) -> u64 {
        self.inner.block_size
    }

    /// Reads bytes `range` of `object`: cached blocks from memory, missing ones through
    /// `fetch` (runs of consecutive missing blocks in one request). Under
    /// [`CacheStrategy::ReadAhead`], sequential reads prefetch the next blocks in the
    /// background.
    pub fn read(
        &self,
        object: &ObjectVersion,
        range: Range<u64>,
        fetch: &Arc<dyn RangeFetch>,
        strategy: CacheStrategy,
    ) -> Result<Bytes> {
        self.read_tallied(object, range, fetch, strategy, None)
    }

    /// [`BlockCache::read`], with the blocks served from memory and those fetched also
    /// added to `tally` (the reader's own count, e.g. one table's, beside the cache's total);
    /// without one, to the tally [`super::tallying`] set on this thread, if any.
    pub fn read_tallied(
        &self,
        object: &ObjectVersion,
        range: Range<u64>,
        fetch: &Arc<dyn RangeFetch>,
        strategy: CacheStrategy,
        tally: Option<&ReadTally>,
    ) -> Result<Bytes> {
        let inner = &self.inner;
        if range.start > range.end || range.end > object.size {
            return Err(Error::invalid(format!(
                "range {}..{} is outside the object of {} bytes",
                range.start, range.end, object.size
            ))
            .with("key", &object.key));
        }
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        let bs = inner.block_size;
        let (first, last) = (range.start / bs, (range.end - 1) / bs);
        let blocks = match tally {
            Some(tally) => inner.blocks_for(object, first..last + 1, fetch, false, Some(tally))?,
            None => {
                let current = super::stats::current_tally();
                inner.blocks_for(object, first..last + 1, fetch, false, current.as_deref())?
            }
        };
        if strategy == CacheStrategy::ReadAhead {
            let count = object.size.div_ceil(bs);
            if let Some(ahead) =
                inner
                    .sequence
                    .observe(object, first, last, inner.read_ahead, count)
            {
                let job = Job {
                    object: object.clone(),
                    blocks: ahead,
                    fetch: fetch.clone(),
                };
                inner.prefetcher.submit(Arc::downgrade(&self.inner), job);
            }
        }
        let skip = (range.start - first * bs) as usize;
        let len = (range.end - range.start) as usize;
        if let [only] = blocks.as_slice() {
            return Ok(only.slice(skip..skip + len));
        }
        let mut out = BytesMut::with_capacity(len);
        let mut at = range.start;
        for (i, block) in blocks.iter().enumerate() {
            let base = (first + i as u64) * bs;
            let from = (at - base) as usize;
            let to = ((range.end - base) as usize).min(block.len());
            if from < to {
                out.extend_from_slice(&block[from..to]);
                at = base + to as u64;
            }
        }
        Ok(out.freeze())
    }

    /// Fills the cache with `data`, the whole content of `object` (write-through).
    pub fn fill(&self, object: &ObjectVersion, data: &Bytes, tier: &str) {
        let bs = self.inner.block_size as usize;
        for (i, chunk) in data.chunks(bs).enumerate() {
            let key = self.inner.key(object, i as u64);
            let latency = self
                .inner
                .latency
                .estimate(tier, chunk.len() as u64)
                .unwrap_or_default();
            self.inner
                .admit(key, Bytes::copy_from_slice(chunk), latency, false, true);
        }
    }

    /// Drops every block of every version of `key`.
    pub fn invalidate_object(&self, key: &str) {
        // Keys carry the version, so this only frees memory; a stale block is never read.
        let versions = self.inner.lock_objects().remove(key);
        let object: Arc<str> = Arc::from(key);
        for (version, upto) in versions.unwrap_or_default() {
            for block in 0..upto {
                self.inner.blocks.invalidate(&BlockKey {
                    object: object.clone(),
                    version,
                    block,
                });
            }
        }
    }

    /// Drops every block of every object whose key starts with `prefix`.
    pub fn invalidate_prefix(&self, prefix: &str) {
        self.inner
            .lock_objects()
            .retain(|k, _| !k.starts_with(prefix));
        let prefix = prefix.to_string();
        let _ = self
            .inner
            .blocks
            .invalidate_entries_if(move |k, _| k.object.starts_with(&prefix));
        self.inner.blocks.run_pending_tasks();
    }

    /// Runs moka's pending maintenance (evictions, expiry, invalidations) now.
    pub fn run_pending_tasks(&self) {
        self.inner.blocks.run_pending_tasks();
    }

    /// Bytes held now (blocks and their keys).
    pub fn held(&self) -> u64 {
        self.inner.held.load(Relaxed)
    }

    /// What the cache did so far.
    pub fn stats(&self) -> CacheStats {
        let inner = &self.inner;
        inner.blocks.run_pending_tasks();
        inner
            .counters
            .snapshot(inner.budget, self.held(), inner.blocks.entry_count())
    }

    /// Fetch latency measured per tier.
    pub fn tier_latency(&self) -> Vec<TierLatency> {
        self.inner.latency.report()
    }
}

impl Inner {
    fn lock_objects(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, HashMap<u64, u64>>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn key(&self, object: &ObjectVersion, block: u64) -> BlockKey {
        BlockKey {
            object: object.key.clone(),
            version: object.version,
            block,
        }
    }

    fn hash(&self, key: &BlockKey) -> u64 {
        self.hasher.hash_one(key)
    }

    fn block_range(&self, object: &ObjectVersion, block: u64) -> Range<u64> {
        let start = block * self.block_size;
        start..(start + self.block_size).min(object.size)
    }

    fn block_len(&self, object: &ObjectVersion, block: u64) -> u64 {
        let r = self.block_range(object, block);
        r.end - r.start
    }

    /// The blocks `wanted` of `object`, from the cache or fetched.
    fn blocks_for(
        &self,
        object: &ObjectVersion,
        wanted: Range<u64>,
        fetch: &Arc<dyn RangeFetch>,
        prefetch: bool,
        tally: Option<&ReadTally>,
    ) -> Result<Vec<Bytes>> {
        let mut out: Vec<Option<Bytes>> = vec![None; (wanted.end - wanted.start) as usize];
        // This read's own [hits, misses, hit bytes, miss bytes], added to `tally` once.
        let mut mine = [0u64; 4];
        let mut leaders = Vec::new();
        let mut followers = Vec::new();
        for (i, b) in wanted.clone().enumerate() {
            let key = self.key(object, b);
            let hash = self.hash(&key);
            if !prefetch {
                self.sketch.record(hash);
            }
            if let Some(block) = self.blocks.get(&key) {
                if prefetch {
                    continue;
                }
                Counters::bump(&self.counters.hits);
                mine[0] += 1;
                mine[2] += block.bytes.len() as u64;
                if block.prefetched.swap(false, Relaxed) {
                    Counters::bump(&self.counters.prefetch_hits);
                }
                if let Some(gate) = &self.gate {
                    let reads = self.sketch.estimate(hash);
                    let cost = self
                        .latency
                        .estimate(fetch.tier(), block.bytes.len() as u64)
                        .unwrap_or_default();
                    let to = worth_bucket(reads, cost, block.bytes.len() as u64);
                    let from = block.bucket.swap(to, Relaxed);
                    gate.regrade(from, to, weight(&key, &block));
                    self.boost(&key, fetch.tier(), block.bytes.len() as u64);
                }
                out[i] = Some(block.bytes);
                continue;
            }
            match self.flights.claim(&key) {
                Claim::Leader(leader) => {
                    // Someone may have inserted it between the lookup and the claim.
                    // (`contains_key` first: a second `get` would count as another read in
                    // TinyLFU's frequency sketch.)
                    let raced = self.blocks.contains_key(&key);
                    if let Some(block) = raced.then(|| self.blocks.get(&key)).flatten() {
                        leader.finish(&Ok(block.bytes.clone()));
                        if !prefetch {
                            Counters::bump(&self.counters.hits);
                            mine[0] += 1;
                            mine[2] += block.bytes.len() as u64;
                            out[i] = Some(block.bytes);
                        }
                        continue;
                    }
                    if !prefetch {
                        Counters::bump(&self.counters.misses);
                        mine[1] += 1;
                        mine[3] += self.block_len(object, b);
                    }
                    leaders.push((i, b, key, leader));
                }
                Claim::Follower(flight) => {
                    if prefetch {
                        continue;
                    }
                    // Counted as a miss: the block was not there when asked for.
                    Counters::bump(&self.counters.misses);
                    mine[1] += 1;
                    mine[3] += self.block_len(object, b);
                    followers.push((i, flight));
                }
            }
        }
        if let Some(tally) = tally {
            tally.add(mine);
        }
        // Runs of consecutive blocks this caller leads: one request each.
        let mut start = 0;
        while start < leaders.len() {
            let mut end = start + 1;
            while end < leaders.len() && leaders[end].1 == leaders[end - 1].1 + 1 {
                end += 1;
            }
            let run = leaders.drain(start..end).collect::<Vec<_>>();
            let span = self.block_range(object, run[0].1).start
                ..self.block_range(object, run[run.len() - 1].1).end;
            let t = Instant::now();
            let fetched = fetch.fetch(span.clone()).and_then(|bytes| {
                if bytes.len() as u64 == span.end - span.start {
                    Ok(bytes)
                } else {
                    Err(Error::new(
                        crate::error::ErrorKind::Remote,
                        format!(
                            "the tier returned {} bytes for a range of {}; the read was cut short",
                            bytes.len(),
                            span.end - span.start
                        ),
                    )
                    .with("key", &object.key)
                    .with("tier", fetch.tier()))
                }
            });
            let took = t.elapsed();
            let fetched = match fetched {
                Ok(bytes) => {
                    Counters::bump(&self.counters.fetches);
                    self.counters
                        .fetched_bytes
                        .fetch_add(bytes.len() as u64, Relaxed);
                    self.counters
                        .fetch_nanos
                        .fetch_add(took.as_nanos() as u64, Relaxed);
                    self.latency.record(fetch.tier(), bytes.len() as u64, took);
                    bytes
                }
                Err(e) => {
                    for (_, _, _, leader) in run {
                        leader.finish(&Err(Error::new(e.kind(), e.to_string())));
                    }
                    return Err(e);
                }
            };
            let per_byte = took.as_nanos() as f64 / fetched.len().max(1) as f64;
            for (i, b, key, leader) in run {
                let r = self.block_range(object, b);
                let at = (r.start - span.start) as usize..(r.end - span.start) as usize;
                // Copied: a slice would pin the whole fetch (or a whole file's map) in memory,
                // and the budget counts heap bytes the cache owns.
                let bytes = Bytes::copy_from_slice(&fetched[at]);
                let cost = Duration::from_nanos((per_byte * bytes.len() as f64) as u64);
                self.admit(key.clone(), bytes.clone(), cost, prefetch, prefetch);
                if self.gate.is_some() {
                    self.boost(&key, fetch.tier(), bytes.len() as u64);
                }
                leader.finish(&Ok(bytes.clone()));
                out[i] = Some(bytes);
            }
            start = 0;
        }
        for (i, flight) in followers {
            out[i] = Some(flight.wait()?);
        }
        if prefetch {
            return Ok(Vec::new());
        }
        out.into_iter()
            .map(|b| b.ok_or_else(|| Error::internal("a cached block went missing")))
            .collect()
    }

    /// Makes moka's TinyLFU see a block of a costly tier as read more often, in proportion to
    /// its cost relative to the cheapest tier (capped): TinyLFU then weighs reads x latency
    /// when it compares a candidate with its victim, and keeps the costly blocks longer.
    fn boost(&self, key: &BlockKey, tier: &str, bytes: u64) {
        let cost = self.latency.relative_cost(tier, bytes);
        let extra = (cost.round() as u32).clamp(1, MAX_BOOST) - 1;
        for _ in 0..extra {
            let _ = self.blocks.get(key);
        }
    }

    /// Keeps a fetched block if it is worth it and fits.
    fn admit(&self, key: BlockKey, bytes: Bytes, cost: Duration, prefetched: bool, force: bool) {
        let hash = self.hash(&key);
        let bucket = worth_bucket(self.sketch.estimate(hash), cost, bytes.len() as u64);
        let block = Block {
            bytes,
            prefetched: Arc::new(AtomicBool::new(prefetched)),
            bucket: Arc::new(AtomicU8::new(bucket)),
        };
        let w = weight(&key, &block);
        if let Some(gate) = &self.gate {
            if !force && !gate.admit(bucket, w, self.held.load(Relaxed), self.budget) {
                Counters::bump(&self.counters.rejected);
                return;
            }
        }
        if !self.reserve(w) {
            Counters::bump(&self.counters.rejected);
            return;
        }
        if let Some(gate) = &self.gate {
            gate.add(bucket, w);
        }
        {
            let mut objects = self.lock_objects();
            if objects.len() > 1024 + (self.budget / self.block_size) as usize * 4 {
                // Mostly evicted objects by now; forgetting them only means an overwrite
                // leaves their old blocks to eviction.
                objects.clear();
            }
            let upto = objects
                .entry(key.object.clone())
                .or_default()
                .entry(key.version)
                .or_default();
            *upto = (*upto).max(key.block + 1);
        }
        Counters::bump(&self.counters.inserts);
        if prefetched {
            Counters::bump(&self.counters.prefetched);
        }
        self.blocks.insert(key, block);
        if self.held.load(Relaxed) > self.budget {
            self.evict_now();
        }
    }

    /// Reserves `w` bytes within budget + 10%, evicting first when they do not fit.
    fn reserve(&self, w: u64) -> bool {
        let limit = self.budget.saturating_add(self.budget / 10);
        for _ in 0..4 {
            let held = self.held.load(Relaxed);
            if held.saturating_add(w) <= limit {
                if self
                    .held
                    .compare_exchange(held, held + w, Relaxed, Relaxed)
                    .is_ok()
                {
                    return true;
                }
                continue;
            }
            self.evict_now();
        }
        false
    }

    /// Applies moka's pending evictions; one thread at a time, others go on.
    fn evict_now(&self) {
        if let Ok(_turn) = self.maintenance.try_lock() {
            self.blocks.run_pending_tasks();
        } else {
            std::thread::yield_now();
        }
    }

    /// Fetches the blocks of a read-ahead job that are neither cached nor in flight.
    pub(crate) fn prefetch(&self, job: &Job) {
        let wanted: Vec<u64> = job
            .blocks
            .clone()
            .filter(|&b| {
                let key = self.key(&job.object, b);
                !self.blocks.contains_key(&key) && !self.flights.in_flight(&key)
            })
            .collect();
        if let (Some(&first), Some(&last)) = (wanted.first(), wanted.last()) {
            // Best effort: a failed prefetch is retried by the read that needs the block.
            let _ = self.blocks_for(&job.object, first..last + 1, &job.fetch, true, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Counting {
        data: Bytes,
        calls: AtomicUsize,
        delay: Duration,
    }

    impl RangeFetch for Counting {
        fn tier(&self) -> &str {
            "slow"
        }
        fn fetch(&self, range: Range<u64>) -> Result<Bytes> {
            self.calls.fetch_add(1, Relaxed);
            std::thread::sleep(self.delay);
            Ok(self.data.slice(range.start as usize..range.end as usize))
        }
    }

    fn source(len: usize, delay: Duration) -> Arc<Counting> {
        Arc::new(Counting {
            data: Bytes::from((0..len).map(|i| (i % 251) as u8).collect::<Vec<_>>()),
            calls: AtomicUsize::new(0),
            delay,
        })
    }

    fn cache(budget: u64, block_size: u64) -> BlockCache {
        BlockCache::new(&BlockCacheOptions {
            budget,
            block_size,
            ..BlockCacheOptions::default()
        })
    }

    #[test]
    fn reads_hit_after_the_first_and_match_the_source() {
        let src = source(10_000, Duration::ZERO);
        let fetch: Arc<dyn RangeFetch> = src.clone();
        let cache = cache(1 << 20, 4096);
        let obj = ObjectVersion::new("a", "v1", 10_000);
        for range in [0..10_000, 100..5000, 4095..4097, 9000..10_000, 7..7] {
            let got = cache
                .read(&obj, range.clone(), &fetch, CacheStrategy::Lazy)
                .unwrap();
            assert_eq!(
                got,
                src.data.slice(range.start as usize..range.end as usize)
            );
        }
        assert_eq!(
            src.calls.load(Relaxed),
            1,
            "one coalesced fetch of three blocks"
        );
        let stats = cache.stats();
        assert_eq!(stats.misses, 3);
        assert!(stats.hits >= 5);
        assert!(cache
            .read(&obj, 0..10_001, &fetch, CacheStrategy::Lazy)
            .is_err());
    }

    #[test]
    fn read_ahead_prefetches_the_next_blocks() {
        let src = source(64 * 4096, Duration::from_millis(1));
        let fetch: Arc<dyn RangeFetch> = src.clone();
        let cache = cache(8 << 20, 4096);
        let obj = ObjectVersion::new("seq", "v1", 64 * 4096);
        for b in 0..64u64 {
            let got = cache
                .read(
                    &obj,
                    b * 4096..(b + 1) * 4096,
                    &fetch,
                    CacheStrategy::ReadAhead,
                )
                .unwrap();
            assert_eq!(
                got[..],
                src.data[(b * 4096) as usize..((b + 1) * 4096) as usize]
            );
            if b % 8 == 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let stats = cache.stats();
        assert!(stats.prefetched > 0, "{stats:?}");
        assert!(stats.prefetch_hits > 0, "{stats:?}");
    }
}
