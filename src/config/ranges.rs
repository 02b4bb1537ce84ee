//! The range of every duration, size and count in the config. [`LakeConfig::validate`] holds
//! each value to its range, so what later adds a duration to a clock (`Instant + timeout`) or
//! loops over a count can rely on it; a value outside is a one-line error naming the key and
//! the range. The README's configuration section lists the same ranges.

use std::time::Duration;

use super::LakeConfig;
use crate::error::{Error, Result};

/// 100 years as a config spells it ("100y": humantime's year is 365.25 days).
pub(crate) const CENTURY: Duration = Duration::from_secs(100 * 31_557_600);
const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// An inclusive range of durations and how the docs write it.
#[derive(Clone, Copy)]
pub(crate) struct Durations(pub Duration, pub Duration, pub &'static str);
/// An inclusive range of sizes or counts and how the docs write it.
#[derive(Clone, Copy)]
pub(crate) struct Numbers(pub u64, pub u64, pub &'static str);

/// `lock_timeout`.
pub(crate) const LOCK_TIMEOUT: Durations = Durations(Duration::ZERO, DAY, "0s to 1d");
/// `multipart_threshold`: at least S3's smallest part, at most its largest single PUT.
pub(crate) const MULTIPART_THRESHOLD: Numbers = Numbers(5 << 20, 5 << 30, "5MiB to 5GiB");
/// Ages, idle times and windows of lifecycle and retention rules.
pub(crate) const RULE_AGE: Durations = Durations(Duration::ZERO, CENTURY, "0s to 100y");
/// `lifecycle.promote_after_reads`.
pub(crate) const PROMOTE_AFTER_READS: Numbers = Numbers(1, u32::MAX as u64, "1 to 4294967295");
/// `retry.max_retries`.
pub(crate) const MAX_RETRIES: Numbers = Numbers(0, 100, "0 to 100");
/// `retry.retry_timeout`.
pub(crate) const RETRY_TIMEOUT: Durations = Durations(Duration::ZERO, DAY, "0s to 1d");
/// `retry.initial_backoff` and `retry.max_backoff`.
pub(crate) const BACKOFF: Durations = Durations(MS, HOUR, "1ms to 1h");
/// `retry.request_timeout` and `retry.connect_timeout`.
pub(crate) const REQUEST_TIMEOUT: Durations = Durations(MS, DAY, "1ms to 1d");
/// `encryption.chunk_size`.
pub(crate) const CHUNK_SIZE: Numbers = Numbers(1 << 10, 16 << 20, "1KiB to 16MiB");
/// `cache.budget`.
pub(crate) const CACHE_BUDGET: Numbers = Numbers(0, 1 << 40, "0 to 1TiB");
/// `cache.metadata_percent` and `cache.batch_percent` (together at most 100).
pub(crate) const PERCENT: Numbers = Numbers(0, 100, "0 to 100");
/// `cache.block_size` (also a power of two).
pub(crate) const BLOCK_SIZE: Numbers = Numbers(4 << 10, 64 << 20, "4KiB to 64MiB");
/// `cache.read_ahead_blocks`.
pub(crate) const READ_AHEAD_BLOCKS: Numbers = Numbers(0, 1024, "0 to 1024");
/// `ttl` and `idle` of `cache.blocks`, `cache.metadata` and `cache.batches`.
pub(crate) const CACHE_EXPIRY: Durations = Durations(MS, CENTURY, "1ms to 100y");

impl Durations {
    /// `key`'s value held to the range.
    pub(crate) fn check(self, key: &str, value: Duration) -> Result<()> {
        if (self.0..=self.1).contains(&value) {
            return Ok(());
        }
        Err(Error::config(format!(
            "{key} must be {} (got {})",
            self.2,
            humantime::format_duration(value)
        )))
    }
}

impl Numbers {
    /// `key`'s value held to the range.
    pub(crate) fn check(self, key: &str, value: u64) -> Result<()> {
        if (self.0..=self.1).contains(&value) {
            return Ok(());
        }
        Err(Error::config(format!(
            "{key} must be {} (got {value})",
            self.2
        )))
    }
}

/// Checks every duration, size and count of `config` against its range.
pub(crate) fn check(config: &LakeConfig) -> Result<()> {
    LOCK_TIMEOUT.check("lock_timeout", config.lock_timeout)?;
    MULTIPART_THRESHOLD.check("multipart_threshold", config.multipart_threshold)?;
    // Placement sizes are only compared with object sizes: any u64 is safe.
    for (i, rule) in config.lifecycle.iter().enumerate() {
        let key = |field: &str| format!("{field} of lifecycle rule {}", i + 1);
        for (field, value) in [
            ("demote_after_age", rule.demote_after_age),
            ("demote_after_idle", rule.demote_after_idle),
            ("promote_window", rule.promote_window),
        ] {
            if let Some(d) = value {
                RULE_AGE.check(&key(field), d)?;
            }
        }
        if let Some(n) = rule.promote_after_reads {
            PROMOTE_AFTER_READS.check(&key("promote_after_reads"), u64::from(n))?;
        }
    }
    for (i, rule) in config.retention.iter().enumerate() {
        let key = format!("delete_after of retention rule {}", i + 1);
        RULE_AGE.check(&key, rule.delete_after)?;
    }
    let retry = &config.retry;
    MAX_RETRIES.check("retry.max_retries", retry.max_retries as u64)?;
    RETRY_TIMEOUT.check("retry.retry_timeout", retry.retry_timeout)?;
    BACKOFF.check("retry.initial_backoff", retry.initial_backoff)?;
    BACKOFF.check("retry.max_backoff", retry.max_backoff)?;
    REQUEST_TIMEOUT.check("retry.request_timeout", retry.request_timeout)?;
    REQUEST_TIMEOUT.check("retry.connect_timeout", retry.connect_timeout)?;
    CHUNK_SIZE.check("encryption.chunk_size", config.encryption.chunk_size)?;
    let cache = &config.cache;
    CACHE_BUDGET.check("cache.budget", cache.budget)?;
    PERCENT.check("cache.metadata_percent", cache.metadata_percent.into())?;
    PERCENT.check("cache.batch_percent", cache.batch_percent.into())?;
    if u16::from(cache.metadata_percent) + u16::from(cache.batch_percent) > 100 {
        return Err(Error::config(
            "cache.metadata_percent + cache.batch_percent must be at most 100",
        ));
    }
    BLOCK_SIZE.check("cache.block_size", cache.block_size)?;
    if !cache.block_size.is_power_of_two() {
        return Err(Error::config(format!(
            "cache.block_size must be a power of two, {} (got {})",
            BLOCK_SIZE.2, cache.block_size
        )));
    }
    READ_AHEAD_BLOCKS.check("cache.read_ahead_blocks", cache.read_ahead_blocks.into())?;
    for (name, expiry) in [
        ("blocks", &cache.blocks),
        ("metadata", &cache.metadata),
        ("batches", &cache.batches),
    ] {
        if let Some(d) = expiry.ttl {
            CACHE_EXPIRY.check(&format!("cache.{name}.ttl"), d)?;
        }
        if let Some(d) = expiry.idle {
            CACHE_EXPIRY.check(&format!("cache.{name}.idle"), d)?;
        }
    }
    Ok(())
}
