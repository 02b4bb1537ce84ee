//! Tier settings: what backs each tier, and their flat TOML shape.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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

/// Settings of an S3-compatible tier. Its `Debug` shows whether a secret key is set, never
/// the key.
#[derive(Clone, PartialEq, Default)]
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

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .field("prefix", &self.prefix)
            .finish()
    }
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
