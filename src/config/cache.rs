//! The `[cache]` section: one memory budget for the in-memory caches, how it is split, their
//! expiry, and the caching strategy per key prefix.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::text::{opt_duration_text, size_text};

/// How reads and writes of objects under a prefix use the block cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheStrategy {
    /// Blocks are cached when read (the default); writes only invalidate.
    #[default]
    Lazy,
    /// As lazy, and sequential reads of an object prefetch its next blocks in the background.
    ReadAhead,
    /// Writes fill the cache with the new object's blocks, so the first read hits.
    WriteThrough,
    /// Writes bypass the cache; reads cache as lazy does. For data written once, read rarely.
    WriteAround,
}

/// Expiry of one cache.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheExpiry {
    /// Entries expire this long after they were cached: 1ms to 100y.
    #[serde(with = "opt_duration_text", skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Entries expire when not read for this long: 1ms to 100y.
    #[serde(with = "opt_duration_text", skip_serializing_if = "Option::is_none")]
    pub idle: Option<Duration>,
}

/// The strategy for keys under a prefix; the first matching rule wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheRule {
    /// Key prefix the rule applies to ("" for all).
    #[serde(default)]
    pub prefix: String,
    /// The strategy for matching keys.
    pub strategy: CacheStrategy,
}

/// The in-memory caches: parsed Parquet footers, fixed-size blocks of objects from slower
/// tiers, and (optionally) decoded batches, all under one budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Bytes all caches may hold together (0 turns caching off): 0 to 1TiB.
    #[serde(with = "size_text")]
    pub budget: u64,
    /// Percent of the budget for parsed Parquet footers and page indexes: 0 to 100, and
    /// at most 100 with `batch_percent`.
    pub metadata_percent: u8,
    /// Percent of the budget for decoded batches (0: no batch cache): 0 to 100.
    pub batch_percent: u8,
    /// Size of a cached block; reads are aligned to it. The rest of the budget holds blocks.
    /// A power of two, 4KiB to 64MiB.
    #[serde(with = "size_text")]
    pub block_size: u64,
    /// Blocks to prefetch ahead of a sequential reader under the read-ahead strategy: 0 to
    /// 1024.
    pub read_ahead_blocks: u32,
    /// Admit blocks by worth (reads x fetch latency / size) on top of TinyLFU, so a block of
    /// a slow tier outranks an equally hot block of a fast one.
    pub cost_aware: bool,
    /// Tiers read through the block cache; default every tier but the hottest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<String>>,
    /// Expiry of cached blocks.
    pub blocks: CacheExpiry,
    /// Expiry of cached footers.
    pub metadata: CacheExpiry,
    /// Expiry of cached batches.
    pub batches: CacheExpiry,
    /// The default strategy.
    pub strategy: CacheStrategy,
    /// Strategies per key prefix; the first matching rule wins, else `strategy`.
    pub rules: Vec<CacheRule>,
}

/// Default budget of all caches together.
pub const DEFAULT_CACHE_BUDGET: u64 = 256 << 20;
/// Default block size.
pub const DEFAULT_BLOCK_SIZE: u64 = 1 << 20;

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            budget: DEFAULT_CACHE_BUDGET,
            metadata_percent: 10,
            batch_percent: 0,
            block_size: DEFAULT_BLOCK_SIZE,
            read_ahead_blocks: 4,
            cost_aware: true,
            tiers: None,
            blocks: CacheExpiry::default(),
            metadata: CacheExpiry::default(),
            batches: CacheExpiry::default(),
            strategy: CacheStrategy::Lazy,
            rules: Vec::new(),
        }
    }
}

impl CacheConfig {
    /// The strategy for `key`.
    pub fn strategy_for(&self, key: &str) -> CacheStrategy {
        self.rules
            .iter()
            .find(|r| key.starts_with(&r.prefix))
            .map_or(self.strategy, |r| r.strategy)
    }

    /// Budget of the footer cache in bytes.
    pub fn metadata_budget(&self) -> u64 {
        self.budget / 100 * u64::from(self.metadata_percent)
    }

    /// Budget of the batch cache in bytes.
    pub fn batch_budget(&self) -> u64 {
        self.budget / 100 * u64::from(self.batch_percent)
    }

    /// Budget of the block cache in bytes: what the other two leave.
    pub fn block_budget(&self) -> u64 {
        self.budget
            .saturating_sub(self.metadata_budget())
            .saturating_sub(self.batch_budget())
    }
}

#[cfg(test)]
mod tests {
    use crate::LakeConfig;

    use super::*;

    #[test]
    fn cache_section_parses_and_round_trips() {
        let config = LakeConfig::from_toml_str(
            r#"
            [cache]
            budget = "64MiB"
            metadata_percent = 5
            batch_percent = 20
            strategy = "lazy"
            blocks = { ttl = "10m", idle = "1m" }

            [[cache.rules]]
            prefix = "logs/"
            strategy = "read-ahead"
            "#,
        )
        .unwrap();
        let cache = &config.cache;
        assert_eq!(cache.budget, 64 << 20);
        assert_eq!(cache.blocks.ttl, Some(Duration::from_secs(600)));
        assert_eq!(cache.strategy_for("logs/a"), CacheStrategy::ReadAhead);
        assert_eq!(cache.strategy_for("other"), CacheStrategy::Lazy);
        assert_eq!(
            cache.block_budget() + cache.metadata_budget() + cache.batch_budget(),
            cache.budget
        );
        let back = LakeConfig::from_toml_str(&config.to_toml_string().unwrap()).unwrap();
        assert_eq!(back, config);
        let err = LakeConfig::from_toml_str("[cache]\nblock_size = 1000\n").unwrap_err();
        assert!(err.to_string().contains("block_size"), "{err}");
        let err = LakeConfig::from_toml_str("[cache.blocks]\nttl = '0s'\n").unwrap_err();
        assert!(err.to_string().contains("ttl"), "{err}");
        let err = LakeConfig::from_toml_str("[cache]\nstrategy = 'eager'\n").unwrap_err();
        assert!(err.to_string().contains("eager"), "{err}");
    }
}
