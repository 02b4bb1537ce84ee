//! One storage tier: an `object_store` backend plus what strata needs to know about it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, RetryConfig as OsRetryConfig};

use crate::config::{RetryConfig, S3Config, TierConfig, TierKind};
use crate::error::{Error, Result};

/// A tier of the store.
pub(crate) struct Tier {
    pub name: String,
    pub store: Arc<dyn ObjectStore>,
    /// Set for local tiers, whose objects can be memory-mapped.
    pub local: Option<Arc<LocalFileSystem>>,
    /// For messages: the directory or the bucket URL.
    pub location: String,
    /// Key prefix inside the backend (s3 `prefix`).
    prefix: Option<ObjectPath>,
    /// Simulated latency of reads (per request, per byte), for benches and demos.
    pub simulated: Option<(std::time::Duration, std::time::Duration)>,
}

impl Tier {
    pub fn open(config: &TierConfig, root: &Path, retry: &RetryConfig) -> Result<Tier> {
        let name = config.name.clone();
        match &config.kind {
            TierKind::Memory => Ok(Tier {
                name,
                store: Arc::new(InMemory::new()),
                local: None,
                location: "memory".into(),
                prefix: None,
                simulated: None,
            }),
            TierKind::Local { path } => {
                let dir: PathBuf = match path {
                    Some(p) if p.is_absolute() => p.clone(),
                    Some(p) => root.join(p),
                    None => root.join(&name),
                };
                std::fs::create_dir_all(&dir).map_err(|e| {
                    Error::io("cannot create tier directory", &dir, e).with("tier", &name)
                })?;
                let fs = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| Error::from(e).with("tier", &name))?
                    .with_automatic_cleanup(true);
                let fs = Arc::new(fs);
                Ok(Tier {
                    name,
                    store: fs.clone(),
                    local: Some(fs),
                    location: dir.display().to_string(),
                    prefix: None,
                    simulated: None,
                })
            }
            TierKind::S3(s3) => open_s3(name, s3, retry),
        }
    }

    /// This tier with every read waiting `per_call` plus `per_byte` for each byte first.
    pub fn throttled(&self, per_call: std::time::Duration, per_byte: std::time::Duration) -> Tier {
        Tier {
            name: self.name.clone(),
            store: self.store.clone(),
            local: self.local.clone(),
            location: format!("{} (simulated latency)", self.location),
            prefix: self.prefix.clone(),
            simulated: Some((per_call, per_byte)),
        }
    }

    /// The backend path of a key.
    pub fn path(&self, key: &str) -> ObjectPath {
        let key = ObjectPath::from(key);
        match &self.prefix {
            Some(prefix) => prefix.parts().chain(key.parts()).collect(),
            None => key,
        }
    }

    /// The key of a backend path, or None if it lies outside this tier's prefix.
    pub fn key_of(&self, path: &ObjectPath) -> Option<String> {
        match &self.prefix {
            Some(prefix) => path.prefix_match(prefix).map(|parts| {
                parts
                    .map(|p| p.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            }),
            None => Some(path.to_string()),
        }
    }

    /// The prefix to list for keys starting with `key_prefix` directory-wise.
    pub fn list_root(&self) -> Option<ObjectPath> {
        self.prefix.clone()
    }

    /// The file behind a key on a local tier.
    pub fn local_file(&self, key: &str) -> Option<PathBuf> {
        let fs = self.local.as_ref()?;
        fs.path_to_filesystem(&self.path(key)).ok()
    }

    /// Removes the staging files a killed process left in a local tier: object_store writes
    /// `<file>#<n>` and renames it into place, and `#` is never part of a key, so such a file
    /// is always a leftover. Only safe while no put is in flight: the store calls it when it
    /// opens, holding the root lock. Returns how many were removed.
    pub fn sweep_staging(&self) -> usize {
        let Some(root) = self
            .local_file("x")
            .and_then(|p| p.parent().map(PathBuf::from))
        else {
            return 0;
        };
        let mut removed = 0;
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                match entry.file_type() {
                    Ok(t) if t.is_dir() => dirs.push(path),
                    Ok(t)
                        if t.is_file()
                            && entry.file_name().to_string_lossy().contains('#')
                            && std::fs::remove_file(&path).is_ok() =>
                    {
                        removed += 1;
                    }
                    _ => {}
                }
            }
        }
        removed
    }
}

fn open_s3(name: String, s3: &S3Config, retry: &RetryConfig) -> Result<Tier> {
    use object_store::aws::AmazonS3Builder;
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&s3.bucket)
        .with_region(s3.region.as_deref().unwrap_or("us-east-1"))
        .with_allow_http(s3.allow_http)
        .with_virtual_hosted_style_request(s3.virtual_hosted_style)
        .with_retry(OsRetryConfig {
            max_retries: retry.max_retries,
            retry_timeout: retry.retry_timeout,
            backoff: object_store::BackoffConfig {
                init_backoff: retry.initial_backoff,
                max_backoff: retry.max_backoff,
                base: 2.0,
            },
        })
        .with_client_options(
            ClientOptions::new()
                .with_timeout(retry.request_timeout)
                .with_connect_timeout(retry.connect_timeout)
                .with_allow_http(s3.allow_http),
        );
    if let Some(endpoint) = &s3.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(id) = &s3.access_key_id {
        builder = builder.with_access_key_id(id);
    }
    if let Some(secret) = &s3.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    let store = builder
        .build()
        .map_err(|e| Error::config(format!("cannot set up s3 tier: {e}")).with("tier", &name))?;
    let location = format!(
        "s3://{}/{}",
        s3.bucket,
        s3.prefix.as_deref().unwrap_or_default()
    );
    let prefix =
        match s3.prefix.as_deref().map(|p| p.trim_matches('/')) {
            Some(p) if !p.is_empty() => Some(ObjectPath::parse(p).map_err(|e| {
                Error::config(format!("bad s3 prefix {p:?}: {e}")).with("tier", &name)
            })?),
            _ => None,
        };
    Ok(Tier {
        name,
        store: Arc::new(store),
        local: None,
        location,
        prefix,
        simulated: None,
    })
}

/// Longest key accepted, in bytes (S3's limit).
pub const MAX_KEY_LEN: usize = 1024;

/// Checks that a key is portable across every tier kind: S3, local directories and memory.
pub fn validate_key(key: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid(format!("bad key {key:?}: {why}")));
    if key.is_empty() {
        return bad("empty");
    }
    if key.len() > MAX_KEY_LEN {
        return bad("longer than 1024 bytes");
    }
    if key.starts_with('/') || key.ends_with('/') {
        return bad("must not start or end with '/'");
    }
    for segment in key.split('/') {
        if segment.is_empty() {
            return bad("empty path segment ('//')");
        }
        if segment == "." || segment == ".." {
            return bad("'.' and '..' segments are not allowed");
        }
    }
    if key.chars().any(|c| c.is_control() || c == '#' || c == '\\') {
        return bad("control characters, '#' and '\\' are not allowed");
    }
    if ObjectPath::parse(key).is_err() {
        return bad("not a valid object path");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        for good in ["a", "a/b/c.parquet", "x=1/y=2/part-0", "ünïcode/ok"] {
            validate_key(good).unwrap();
        }
        for bad in [
            "", "/a", "a/", "a//b", "../a", "a/./b", "a#1", "a\nb", "a\\b",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_key(&"k".repeat(1025)).is_err());
    }
}
