//! Configuration: a TOML file or a builder, with an embedded default that needs nothing.
//!
//! The default is fully local: a data root (`./strata-data`) holding a `hot` tier (`<root>/hot`) and
//! a `cold` tier (`<root>/cold`), a local directory standing in for object storage.
//!
//! ```
//! let config = strata::LakeConfig::from_toml_str(r#"
//!     dir = "/tmp/lake"
//!
//!     [[tiers]]
//!     name = "hot"
//!     kind = "local"
//!
//!     [[tiers]]
//!     name = "cold"
//!     kind = "s3"
//!     bucket = "archive"
//!     endpoint = "http://127.0.0.1:9000"
//!     region = "us-east-1"
//!     allow_http = true
//!
//!     [[lifecycle]]
//!     prefix = "logs/"
//!     demote_after_idle = "7d"
//! "#).unwrap();
//! assert_eq!(config.tiers.len(), 2);
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod access;
mod cache;
mod cost;
mod lineage;
mod ranges;
mod tables;
mod text;
mod tier;

pub use access::{
    AccessConfig, AccessRules, Action, AuditConfig, ComplianceConfig, ErasureConfig, Grant, Role,
    TableRetentionRule,
};
pub use cache::{
    CacheConfig, CacheExpiry, CacheRule, CacheStrategy, DEFAULT_BLOCK_SIZE, DEFAULT_CACHE_BUDGET,
};
pub use cost::{
    CostConfig, Price, PriceOverride, TierPricing, BUILTIN_PRICES, LOCAL_PROVIDER, PRICES_AS_OF,
};
pub use lineage::{LineageConfig, LineageSink};
pub(crate) use tables::is_name;
pub use tables::{TablesConfig, DEFAULT_ZONES};
use text::{duration_text, opt_duration_text, opt_size_text, size_text};
pub(crate) use text::{
    line_and_field, located_error, located_error_in, secret_toml_error, toml_error, toml_error_in,
};
pub use tier::{S3Config, TierConfig, TierKind};

/// The whole configuration of a data root.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LakeConfig {
    /// The data root: holds the tier index, the lock file and the default local tiers.
    pub dir: PathBuf,
    /// Storage tiers, hottest first. At least one.
    pub tiers: Vec<TierConfig>,
    /// Where new objects land; the first matching rule wins, else the hottest tier.
    pub placement: Vec<PlacementRule>,
    /// Demotion and promotion rules applied by `tier run`; the first matching rule wins.
    pub lifecycle: Vec<LifecycleRule>,
    /// Deletion rules applied by `tier run`; any matching rule that has expired deletes.
    pub retention: Vec<RetentionRule>,
    /// Retries and timeouts for remote tiers.
    pub retry: RetryConfig,
    /// Encryption at rest: keys and which objects are encrypted.
    pub encryption: EncryptionConfig,
    /// How long to wait for another process to release the data root (0: fail at once): 0s
    /// to 1d.
    #[serde(with = "duration_text")]
    pub lock_timeout: Duration,
    /// Objects at least this large are written with streaming multipart uploads: 5MiB (S3's
    /// smallest part) to 5GiB (its largest single upload).
    #[serde(with = "size_text")]
    pub multipart_threshold: u64,
    /// The in-memory caches over the slower tiers.
    pub cache: CacheConfig,
    /// Codec policies per tier and re-encoding of Parquet objects on demotion.
    pub format: FormatConfig,
    /// Where the lake's Delta tables live and the zones that group them.
    pub tables: TablesConfig,
    /// Where OpenLineage events of the lake's writes go.
    pub lineage: LineageConfig,
    /// Principals, roles and grants; when present, every call of a principal's handle is
    /// checked and what is not granted is denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessConfig>,
    /// The tamper-evident audit log of operations through the lake.
    pub audit: AuditConfig,
    /// Where `strata erase` looks for a subject's objects.
    pub erasure: ErasureConfig,
    /// Rows deleted from tables once old enough.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_retention: Vec<TableRetentionRule>,
    /// What compliance reports measure against.
    pub compliance: ComplianceConfig,
    /// Storage prices per provider and class, and which tier is billed as which.
    #[serde(skip_serializing_if = "CostConfig::is_default")]
    pub cost: CostConfig,
}

/// How Parquet data is encoded per tier.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FormatConfig {
    /// When a `.parquet` object is demoted to a colder tier, re-encode it with that tier's codec
    /// policy (verified row for row, kept only when smaller) before it is swapped in.
    pub reencode_on_demotion: bool,
    /// Codec policy per tier name (`fast`, `balanced`, `compact`, `auto`, `zstd:9`, ...); a
    /// tier not named here gets `fast` when it is the hottest, else `compact`.
    pub tier_codecs: std::collections::BTreeMap<String, String>,
}

impl FormatConfig {
    /// The codec policy of the tier `name` at `position` (0 is the hottest).
    pub fn tier_codec(&self, name: &str, position: usize) -> Result<crate::format::CodecPolicy> {
        match self.tier_codecs.get(name) {
            Some(text) => text.parse().map_err(|e: Error| {
                Error::config(format!("format.tier_codecs.{name}: {}", e.message()))
            }),
            None => Ok(crate::format::CodecPolicy::for_tier_position(position)),
        }
    }
}

/// Which tier new objects go to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlacementRule {
    /// Key prefix the rule applies to ("" for all).
    #[serde(default)]
    pub prefix: String,
    /// Applies only to objects at least this large (any size, 0 to 16EiB).
    #[serde(default, with = "opt_size_text")]
    pub min_size: Option<u64>,
    /// Applies only to objects smaller than this (any size, 0 to 16EiB).
    #[serde(default, with = "opt_size_text")]
    pub max_size: Option<u64>,
    /// The tier to place matching objects in.
    pub tier: String,
}

/// When objects move down (and back up) the tiers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRule {
    /// Key prefix the rule applies to ("" for all).
    #[serde(default)]
    pub prefix: String,
    /// Demote objects older than this (since written): 0s to 100y.
    #[serde(default, with = "opt_duration_text")]
    pub demote_after_age: Option<Duration>,
    /// Demote objects not read for this long: 0s to 100y.
    #[serde(default, with = "opt_duration_text")]
    pub demote_after_idle: Option<Duration>,
    /// Promote an object after this many reads within `promote_window`: 1 to 4294967295.
    #[serde(default)]
    pub promote_after_reads: Option<u32>,
    /// The window for `promote_after_reads`: 0s to 100y; default one hour.
    #[serde(default, with = "opt_duration_text")]
    pub promote_window: Option<Duration>,
    /// Where demoted objects go; default the next colder tier.
    #[serde(default)]
    pub demote_to: Option<String>,
}

/// When objects are deleted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// Key prefix the rule applies to ("" for all).
    #[serde(default)]
    pub prefix: String,
    /// Delete objects older than this (since written): 0s to 100y.
    #[serde(with = "duration_text")]
    pub delete_after: Duration,
}

/// Encryption at rest: where keys come from and which objects are encrypted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EncryptionConfig {
    /// The key-ring file; default `<dir>/keyring.toml` (created on first use, mode 0600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyring: Option<PathBuf>,
    /// Take the single key (64 hex digits, id `env`) from this environment variable instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// Objects under these key prefixes are encrypted.
    pub prefixes: Vec<String>,
    /// Objects written into these tiers are encrypted.
    pub tiers: Vec<String>,
    /// Plaintext bytes per encrypted chunk, the unit of ranged reads: 1KiB to 16MiB.
    #[serde(with = "size_text")]
    pub chunk_size: u64,
    /// AES-256-GCM implementation for chunks: `ring` (the default: assembly, about 7x faster
    /// here) or `aes-gcm` (pure Rust, for hosts under valgrind). Same bytes either way; applied
    /// process-wide when a store opens. Unset: the `STRATA_AEAD_BACKEND` environment variable
    /// decides, else `ring`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aead_backend: Option<crate::crypto::AeadBackend>,
}

impl Default for EncryptionConfig {
    fn default() -> Self {
        EncryptionConfig {
            keyring: None,
            key_env: None,
            prefixes: Vec::new(),
            tiers: Vec::new(),
            chunk_size: crate::crypto::DEFAULT_CHUNK_SIZE as u64,
            aead_backend: None,
        }
    }
}

/// Retries with backoff and timeouts for remote tiers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Retries after the first attempt: 0 to 100.
    pub max_retries: usize,
    /// Give up retrying after this long: 0s to 1d.
    #[serde(with = "duration_text")]
    pub retry_timeout: Duration,
    /// First backoff: 1ms to 1h.
    #[serde(with = "duration_text")]
    pub initial_backoff: Duration,
    /// Longest backoff: 1ms to 1h.
    #[serde(with = "duration_text")]
    pub max_backoff: Duration,
    /// Timeout of one request: 1ms to 1d.
    #[serde(with = "duration_text")]
    pub request_timeout: Duration,
    /// Timeout to connect: 1ms to 1d.
    #[serde(with = "duration_text")]
    pub connect_timeout: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 5,
            retry_timeout: Duration::from_secs(180),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Default data root.
pub const DEFAULT_DIR: &str = "./strata-data";

impl Default for LakeConfig {
    fn default() -> Self {
        LakeConfig {
            dir: PathBuf::from(DEFAULT_DIR),
            tiers: vec![
                TierConfig {
                    name: "hot".into(),
                    kind: TierKind::Local { path: None },
                },
                TierConfig {
                    name: "cold".into(),
                    kind: TierKind::Local { path: None },
                },
            ],
            placement: Vec::new(),
            lifecycle: vec![LifecycleRule {
                prefix: String::new(),
                demote_after_age: None,
                demote_after_idle: Some(Duration::from_secs(30 * 86_400)),
                promote_after_reads: Some(3),
                promote_window: Some(Duration::from_secs(3600)),
                demote_to: None,
            }],
            retention: vec![RetentionRule {
                prefix: "tmp/".into(),
                delete_after: Duration::from_secs(7 * 86_400),
            }],
            retry: RetryConfig::default(),
            encryption: EncryptionConfig::default(),
            lock_timeout: Duration::ZERO,
            multipart_threshold: 16 * 1024 * 1024,
            format: FormatConfig::default(),
            cache: CacheConfig::default(),
            tables: TablesConfig::default(),
            lineage: LineageConfig::default(),
            access: None,
            audit: AuditConfig::default(),
            erasure: ErasureConfig::default(),
            table_retention: Vec::new(),
            compliance: ComplianceConfig::default(),
            cost: CostConfig::default(),
        }
    }
}

impl LakeConfig {
    /// The embedded default rooted at `dir`.
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        LakeConfig {
            dir: dir.into(),
            ..LakeConfig::default()
        }
    }

    /// Parses and validates a TOML document. Errors name the line and the field.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let config: LakeConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML file. Relative paths in it are taken from the working directory, as the
    /// `--dir` flag is.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io("cannot read config", path, e))?;
        Self::from_toml_str(&text).map_err(|e| e.with("path", path.display()))
    }

    /// The config as TOML.
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| Error::internal(format!("cannot serialize config: {e}")))
    }

    /// Checks names, references and the range of every duration, size and count (see the
    /// fields' docs); every later step may rely on what this accepts.
    pub fn validate(&self) -> Result<()> {
        if self.tiers.is_empty() {
            return Err(Error::config("config needs at least one tier"));
        }
        self.tables.validate()?;
        self.lineage.validate()?;
        if let Some(access) = &self.access {
            access.validate()?;
        }
        self.audit.validate()?;
        self.cost.validate(&self.tiers)?;
        for (i, rule) in self.table_retention.iter().enumerate() {
            rule.validate(i)?;
        }
        if let Some(tier) = &self.tables.tier {
            if !self.tiers.iter().any(|t| &t.name == tier) {
                return Err(Error::config(format!(
                    "tables.tier names {tier:?}, which is not a tier"
                )));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for tier in &self.tiers {
            let name = &tier.name;
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(Error::config(format!(
                    "tier name {name:?} must be non-empty ASCII letters, digits, '-' or '_'"
                )));
            }
            if !seen.insert(name.as_str()) {
                return Err(Error::config(format!("tier {name:?} is defined twice")));
            }
            if let TierKind::S3(s3) = &tier.kind {
                if s3.bucket.is_empty() {
                    return Err(Error::config("s3 tier needs a bucket").with("tier", name));
                }
            }
        }
        let known = |t: &str, what: &str| -> Result<()> {
            if seen.contains(t) {
                Ok(())
            } else {
                Err(Error::config(format!("{what} names unknown tier {t:?}")))
            }
        };
        for rule in &self.placement {
            known(&rule.tier, "placement rule")?;
        }
        for rule in &self.lifecycle {
            if let Some(to) = &rule.demote_to {
                known(to, "lifecycle rule")?;
            }
        }
        for tier in &self.encryption.tiers {
            known(tier, "encryption.tiers")?;
        }
        for (position, tier) in self.tiers.iter().enumerate() {
            self.format.tier_codec(&tier.name, position)?;
        }
        for tier in self.format.tier_codecs.keys() {
            known(tier, "format.tier_codecs")?;
        }
        if let Some(tiers) = &self.cache.tiers {
            for tier in tiers {
                known(tier, "cache.tiers")?;
            }
        }
        ranges::check(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_round_trips_through_toml() {
        let config = LakeConfig::default();
        let text = config.to_toml_string().unwrap();
        let back = LakeConfig::from_toml_str(&text).unwrap();
        assert_eq!(config, back);
    }

    #[test]
    fn empty_document_is_the_default() {
        assert_eq!(
            LakeConfig::from_toml_str("").unwrap(),
            LakeConfig::default()
        );
    }

    #[test]
    fn bad_input_names_line_and_field() {
        let err =
            LakeConfig::from_toml_str("dir = 'x'\n[retry]\nmax_retries = 'many'\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("max_retries"), "{text}");
        let err = LakeConfig::from_toml_str("[[tiers]]\nname='a'\nkind='tape'\n").unwrap_err();
        assert!(err.to_string().contains("tape"), "{err}");
        let err = LakeConfig::from_toml_str("bogus = 1").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err =
            LakeConfig::from_toml_str("[[lifecycle]]\ndemote_after_age = 'soon'\n").unwrap_err();
        assert!(err.to_string().contains("soon"), "{err}");
    }

    #[test]
    fn tier_keys_must_fit_the_kind() {
        let err = LakeConfig::from_toml_str("[[tiers]]\nname='a'\nkind='local'\nbucket='b'\n")
            .unwrap_err();
        assert!(err.to_string().contains("`bucket` does not apply"), "{err}");
        let err = LakeConfig::from_toml_str("[[tiers]]\nname='a'\nkind='s3'\n").unwrap_err();
        assert!(err.to_string().contains("needs `bucket`"), "{err}");
        let err =
            LakeConfig::from_toml_str("[[tiers]]\nname='a'\nkind='local'\npth='x'\n").unwrap_err();
        assert!(err.to_string().contains("pth"), "{err}");
        let s3 = "[[tiers]]\nname='c'\nkind='s3'\nbucket='b'\nallow_http=true\n";
        let config = LakeConfig::from_toml_str(s3).unwrap();
        let back = LakeConfig::from_toml_str(&config.to_toml_string().unwrap()).unwrap();
        assert_eq!(config, back);
    }

    #[test]
    fn tier_codecs_are_checked() {
        let config = LakeConfig::from_toml_str(
            "[format]\nreencode_on_demotion = true\ntier_codecs = { cold = 'zstd:9' }\n",
        )
        .unwrap();
        assert!(config.format.reencode_on_demotion);
        assert_eq!(
            config.format.tier_codec("cold", 1).unwrap(),
            crate::format::CodecPolicy::Fixed(crate::format::Codec::Zstd(9))
        );
        assert_eq!(
            config.format.tier_codec("hot", 0).unwrap(),
            crate::format::CodecPolicy::Fast
        );
        let err =
            LakeConfig::from_toml_str("[format]\ntier_codecs = { cold = 'brotli' }\n").unwrap_err();
        assert!(err.to_string().contains("brotli"), "{err}");
        let err =
            LakeConfig::from_toml_str("[format]\ntier_codecs = { warm = 'fast' }\n").unwrap_err();
        assert!(err.to_string().contains("warm"), "{err}");
        let back = LakeConfig::from_toml_str(&config.to_toml_string().unwrap()).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn references_are_checked() {
        let err = LakeConfig::from_toml_str("[[placement]]\ntier = 'warm'\n").unwrap_err();
        assert!(err.to_string().contains("warm"), "{err}");
        let text = "[[tiers]]\nname='a'\nkind='memory'\n[[tiers]]\nname='a'\nkind='memory'\n";
        assert!(LakeConfig::from_toml_str(text).is_err());
    }
}
