//! Reads of objects in the slower tiers through the block cache, and keeping the cache in step
//! with writes (invalidation, write-through).
//!
//! Blocks hold plaintext: an encrypted object's chunks are decrypted once when fetched. Nothing
//! here writes to disk.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use super::read::StoredVersion;
use super::sealed::sealed_range;
use super::Store;
use crate::cache::{Cache, CachesStats, ObjectVersion, RangeFetch};
use crate::config::CacheStrategy;
use crate::crypto::KeyProvider;
use crate::error::{Error, Result};

/// Fetches plaintext ranges of one stored version of an object, from any thread (including
/// the cache's prefetch thread), without borrowing the store.
pub(crate) struct TierFetch {
    version: StoredVersion,
    keys: Option<Arc<dyn KeyProvider>>,
    handle: tokio::runtime::Handle,
}

impl RangeFetch for TierFetch {
    fn tier(&self) -> &str {
        &self.version.tier.name
    }

    fn fetch(&self, range: Range<u64>) -> Result<Bytes> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::invalid(
                "strata's synchronous API was called from inside an async runtime",
            ));
        }
        self.handle.block_on(async {
            match &self.keys {
                None => self.version.read(Some(range)).await,
                Some(keys) => sealed_range(keys.as_ref(), &self.version, Some(range)).await,
            }
        })
    }
}

/// An object version open for cached ranged reads.
pub(crate) struct CachedObject {
    pub version: ObjectVersion,
    pub fetch: Arc<dyn RangeFetch>,
    pub strategy: CacheStrategy,
}

impl Store {
    /// The caches over the slower tiers.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// What the caches did so far: hits, misses, bytes held, evictions, prefetches, per cache,
    /// and the fetch latency measured per tier.
    pub fn cache_stats(&self) -> CachesStats {
        self.cache.stats()
    }

    /// Makes tier `name` slow, for benchmarks and demos of the cache: every read from it waits
    /// `per_call` plus `per_byte` for each byte first (an object store a network away).
    pub fn simulate_latency(
        &mut self,
        name: &str,
        per_call: std::time::Duration,
        per_byte: std::time::Duration,
    ) -> Result<()> {
        let slot = self
            .tiers
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::not_found("no such tier").with("tier", name))?;
        *slot = Arc::new(slot.throttled(per_call, per_byte));
        Ok(())
    }

    /// Drops the cached blocks of every object whose key starts with `prefix`.
    pub fn invalidate_cache(&self, prefix: &str) {
        self.cache.invalidate_prefix(prefix);
    }

    /// Whether reads of `tier` go through the block cache.
    pub(super) fn is_cached_tier(&self, tier: &str) -> bool {
        if self.config.cache.budget == 0 {
            return false;
        }
        match &self.config.cache.tiers {
            Some(tiers) => tiers.iter().any(|t| t == tier),
            None => self.tiers.first().is_some_and(|t| t.name != tier),
        }
    }

    /// A version, ready for cached reads, if its tier is cached.
    pub(crate) fn cached_object(&self, version: &StoredVersion) -> Result<Option<CachedObject>> {
        if !self.is_cached_tier(&version.tier.name) {
            return Ok(None);
        }
        let record = &version.record;
        Ok(Some(CachedObject {
            version: ObjectVersion::new(&version.key, &record.checksum, record.plain_size()),
            fetch: Arc::new(self.tier_fetch(version)?),
            strategy: self.cache.strategy_for(&version.key),
        }))
    }

    /// Fetches plaintext ranges of a version.
    pub(crate) fn tier_fetch(&self, version: &StoredVersion) -> Result<TierFetch> {
        let keys = match version.record.enc {
            Some(_) => Some(self.key_provider(false)?),
            None => None,
        };
        Ok(TierFetch {
            version: version.clone(),
            keys,
            handle: self.runtime.handle()?,
        })
    }

    /// Reads `range` of a version through the block cache when its tier is cached; `None`
    /// when the caller should read directly.
    pub(super) fn read_cached(
        &self,
        version: &StoredVersion,
        range: Range<u64>,
    ) -> Result<Option<Bytes>> {
        let Some(object) = self.cached_object(version)? else {
            return Ok(None);
        };
        self.cache
            .blocks()
            .read(&object.version, range, &object.fetch, object.strategy)
            .map(Some)
    }

    /// Keeps the cache in step with a write of `key`: old blocks go; under write-through the
    /// new content fills the cache when its tier is cached.
    pub(super) fn cache_after_write(&self, key: &str, written: Option<(&str, &Bytes, &str)>) {
        if self.config.cache.budget == 0 {
            return;
        }
        self.cache.blocks().invalidate_object(key);
        if let Some((tier, data, checksum)) = written {
            if self.cache.strategy_for(key) == CacheStrategy::WriteThrough
                && self.is_cached_tier(tier)
            {
                let version = ObjectVersion::new(key, checksum, data.len() as u64);
                self.cache.blocks().fill(&version, data, tier);
            }
        }
    }
}
