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
    /// How long to wait for another process to release the data root (0: fail at once).
    #[serde(with = "duration_text")]
    pub lock_timeout: Duration,
    /// Objects at least this large are written with streaming multipart uploads.
    #[serde(with = "size_text")]
    pub multipart_threshold: u64,
}

/// One storage tier.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(try_from = "RawTier", into = "RawTier")]
pub struct TierConfig {
    /// Name used in policies, `stat` output and errors.
    pub name: String,
    /// What backs the tier.
    pub kind: TierKind,
}

/// What backs a tier.
#[derive(Debug, Clone, PartialEq)]
pub enum TierKind {
    /// In-process memory; for tests. Lost when the process ends.
    Memory,
    /// A local directory; relative paths are under the data root; default `<dir>/<name>`.
    Local {
        /// The directory.
        path: Option<PathBuf>,
    },
    /// Any S3-compatible endpoint.
    S3(S3Config),
}

/// Settings of an S3-compatible tier.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct S3Config {
    /// The bucket; it must exist.
    pub bucket: String,
    /// Endpoint URL, e.g. `http://127.0.0.1:9000`; empty for AWS.
    pub endpoint: Option<String>,
    /// Region; default `us-east-1`.
    pub region: Option<String>,
    /// Access key id; falls back to the environment (`AWS_ACCESS_KEY_ID`).
    pub access_key_id: Option<String>,
    /// Secret access key; falls back to the environment.
    pub secret_access_key: Option<String>,
    /// Allow plain HTTP endpoints.
    pub allow_http: bool,
    /// Use virtual-hosted-style requests (`bucket.host`) instead of path-style.
    pub virtual_hosted_style: bool,
    /// A key prefix inside the bucket under which this tier lives.
    pub prefix: Option<String>,
}

/// The flat TOML shape of a tier: one table with a `kind` and the keys that kind takes, so that
/// unknown keys are refused and keys of another kind are named in the error.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTier {
    name: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_http: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    virtual_hosted_style: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<String>,
}

impl TryFrom<RawTier> for TierConfig {
    type Error = String;

    fn try_from(raw: RawTier) -> std::result::Result<Self, String> {
        let s3_keys = [
            ("bucket", raw.bucket.is_some()),
            ("endpoint", raw.endpoint.is_some()),
            ("region", raw.region.is_some()),
            ("access_key_id", raw.access_key_id.is_some()),
            ("secret_access_key", raw.secret_access_key.is_some()),
            ("allow_http", raw.allow_http.is_some()),
            ("virtual_hosted_style", raw.virtual_hosted_style.is_some()),
            ("prefix", raw.prefix.is_some()),
        ];
        let refuse = |kind: &str, keys: &[(&str, bool)]| match keys.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(format!(
                "tier {:?}: `{key}` does not apply to kind {kind:?}",
                raw.name
            )),
            None => Ok(()),
        };
        let kind = match raw.kind.as_str() {
            "memory" => {
                refuse("memory", &s3_keys)?;
                refuse("memory", &[("path", raw.path.is_some())])?;
                TierKind::Memory
            }
            "local" => {
                refuse("local", &s3_keys)?;
                TierKind::Local { path: raw.path }
            }
            "s3" => {
                refuse("s3", &[("path", raw.path.is_some())])?;
                TierKind::S3(S3Config {
                    bucket: raw.bucket.ok_or_else(|| {
                        format!("tier {:?}: kind \"s3\" needs `bucket`", raw.name)
                    })?,
                    endpoint: raw.endpoint,
                    region: raw.region,
                    access_key_id: raw.access_key_id,
                    secret_access_key: raw.secret_access_key,
                    allow_http: raw.allow_http.unwrap_or(false),
                    virtual_hosted_style: raw.virtual_hosted_style.unwrap_or(false),
                    prefix: raw.prefix,
                })
            }
            other => {
                return Err(format!(
                    "tier {:?}: unknown kind {other:?} (expected memory, local or s3)",
                    raw.name
                ))
            }
        };
        Ok(TierConfig {
            name: raw.name,
            kind,
        })
    }
}

impl From<TierConfig> for RawTier {
    fn from(tier: TierConfig) -> Self {
        let mut raw = RawTier {
            name: tier.name,
            ..RawTier::default()
        };
        match tier.kind {
            TierKind::Memory => raw.kind = "memory".into(),
            TierKind::Local { path } => {
                raw.kind = "local".into();
                raw.path = path;
            }
            TierKind::S3(s3) => {
                raw.kind = "s3".into();
                raw.bucket = Some(s3.bucket);
                raw.endpoint = s3.endpoint;
                raw.region = s3.region;
                raw.access_key_id = s3.access_key_id;
                raw.secret_access_key = s3.secret_access_key;
                raw.allow_http = Some(s3.allow_http);
                raw.virtual_hosted_style = Some(s3.virtual_hosted_style);
                raw.prefix = s3.prefix;
            }
        }
        raw
    }
}

/// Which tier new objects go to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlacementRule {
    /// Key prefix the rule applies to ("" for all).
    #[serde(default)]
    pub prefix: String,
    /// Applies only to objects at least this large.
    #[serde(default, with = "opt_size_text")]
    pub min_size: Option<u64>,
    /// Applies only to objects smaller than this.
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
    /// Demote objects older than this (since written).
    #[serde(default, with = "opt_duration_text")]
    pub demote_after_age: Option<Duration>,
    /// Demote objects not read for this long.
    #[serde(default, with = "opt_duration_text")]
    pub demote_after_idle: Option<Duration>,
    /// Promote an object after this many reads within `promote_window`.
    #[serde(default)]
    pub promote_after_reads: Option<u32>,
    /// The window for `promote_after_reads`; default one hour.
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
    /// Delete objects older than this (since written).
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
    /// Plaintext bytes per encrypted chunk: the unit of ranged reads.
    #[serde(with = "size_text")]
    pub chunk_size: u64,
}

impl Default for EncryptionConfig {
    fn default() -> Self {
        EncryptionConfig {
            keyring: None,
            key_env: None,
            prefixes: Vec::new(),
            tiers: Vec::new(),
            chunk_size: crate::crypto::DEFAULT_CHUNK_SIZE as u64,
        }
    }
}

/// Retries with backoff and timeouts for remote tiers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// Give up retrying after this long.
    #[serde(with = "duration_text")]
    pub retry_timeout: Duration,
    /// First backoff.
    #[serde(with = "duration_text")]
    pub initial_backoff: Duration,
    /// Longest backoff.
    #[serde(with = "duration_text")]
    pub max_backoff: Duration,
    /// Timeout of one request.
    #[serde(with = "duration_text")]
    pub request_timeout: Duration,
    /// Timeout to connect.
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

    /// Checks names and references; every later step may rely on what this accepts.
    pub fn validate(&self) -> Result<()> {
        if self.tiers.is_empty() {
            return Err(Error::config("config needs at least one tier"));
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
            if rule.promote_after_reads == Some(0) {
                return Err(Error::config("promote_after_reads must be at least 1"));
            }
        }
        for tier in &self.encryption.tiers {
            known(tier, "encryption.tiers")?;
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.encryption.chunk_size) {
            return Err(Error::config(
                "encryption.chunk_size must be between 1 KiB and 16 MiB",
            ));
        }
        if self.multipart_threshold < 5 * 1024 * 1024 {
            return Err(Error::config(
                "multipart_threshold must be at least 5 MiB (the S3 minimum part size)",
            ));
        }
        Ok(())
    }
}

/// A one-line error naming the line and the text of the field at fault.
pub(crate) fn toml_error(text: &str, err: &toml::de::Error) -> Error {
    toml_error_in("config", text, err)
}

/// [`toml_error`] for another kind of TOML file (`what` is "config", "policy", ...).
pub(crate) fn toml_error_in(what: &str, text: &str, err: &toml::de::Error) -> Error {
    let message = err.message().trim().replace('\n', " ");
    match err.span() {
        Some(span) => located_error(what, text, span.start, &message),
        None => Error::config(format!("invalid {what}: {message}")),
    }
}

/// A one-line error naming the line of `text` that holds byte offset `at`.
pub(crate) fn located_error(what: &str, text: &str, at: usize, message: &str) -> Error {
    let start = at.min(text.len());
    let line_no = text.as_bytes()[..start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    Error::config(format!(
        "invalid {what} at line {line_no} (`{line}`): {message}"
    ))
}

/// Durations as text: "90s", "15m", "7d", "500ms".
mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("bad duration {text:?}: {e}")))
    }
}

mod opt_duration_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration_text::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("bad duration {text:?}: {e}")))
    }
}

/// Sizes as a number of bytes or text: "64MiB", "4KiB", "1GB".
pub(crate) fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("bad size {text:?}: expected a number and a unit like 64MiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        other => return Err(format!("bad size {text:?}: unknown unit {other:?}")),
    };
    let bytes = number * factor as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("bad size {text:?}: out of range"));
    }
    Ok(bytes as u64)
}

mod size_text {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*n)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match Size::deserialize(d)? {
            Size::Bytes(n) => Ok(n),
            Size::Text(t) => super::parse_size(&t).map_err(serde::de::Error::custom),
        }
    }
}

mod opt_size_text {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(n: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match n {
            Some(n) => s.serialize_u64(*n),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        super::size_text::deserialize(d).map(Some)
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
    fn references_are_checked() {
        let err = LakeConfig::from_toml_str("[[placement]]\ntier = 'warm'\n").unwrap_err();
        assert!(err.to_string().contains("warm"), "{err}");
        let text = "[[tiers]]\nname='a'\nkind='memory'\n[[tiers]]\nname='a'\nkind='memory'\n";
        assert!(LakeConfig::from_toml_str(text).is_err());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("4 KiB").unwrap(), 4096);
        assert_eq!(parse_size("10").unwrap(), 10);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("1XB").is_err());
        assert!(parse_size("1e400").is_err());
    }
}
