//! Masking keys: what the operators need from a key provider, and an in-memory one for tests.
//!
//! [`crate::mask::MaskKeyRing`] implements [`MaskKeys`] over the data root's key provider (what the
//! CLI uses); [`MemoryKeys`] serves tests and embedders who manage keys themselves. Keys are named by id and
//! versioned so that tokens and hashes can say which version made them (`k1v2:...`), which is
//! what lets a rotation find and re-tokenize old values.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// One version of one masking key. The bytes are wiped from memory when the key is dropped.
#[derive(Clone)]
pub struct MaskKey {
    id: String,
    version: u32,
    bytes: Zeroizing<Vec<u8>>,
}

impl MaskKey {
    /// A key from its id, version and secret bytes. Ids are ASCII letters, digits, `-` and `_`
    /// (never `:`, which ends the tag of a token).
    pub fn new(id: impl Into<String>, version: u32, bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let id = id.into();
        validate_key_id(&id)?;
        let bytes = Zeroizing::new(bytes.into());
        if bytes.len() < 16 {
            return Err(Error::invalid(format!(
                "masking key {id:?} has {} bytes; at least 16 are needed",
                bytes.len()
            )));
        }
        Ok(MaskKey { id, version, bytes })
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key version; rotation adds a higher one.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The secret bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The tag written before tokens and hashes made with this key: `<id>v<version>`.
    pub fn tag(&self) -> String {
        format!("{}v{}", self.id, self.version)
    }
}

impl fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("MaskKey")
            .field("id", &self.id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

pub(crate) fn validate_key_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        return Err(Error::invalid(format!(
            "masking key id {id:?} must be 1-64 ASCII letters, digits, '-' or '_'"
        )));
    }
    Ok(())
}

/// Where masking operators get their keys. Implementations must be safe to share between threads.
pub trait MaskKeys: Send + Sync {
    /// The current (newest) version of key `id`.
    fn key(&self, id: &str) -> Result<MaskKey>;

    /// A given version of key `id`, to read tokens an older version made.
    fn key_version(&self, id: &str, version: u32) -> Result<MaskKey>;
}

/// Keys held in memory: for tests, and for callers that load keys themselves.
#[derive(Default, Clone)]
pub struct MemoryKeys {
    keys: BTreeMap<String, BTreeMap<u32, MaskKey>>,
}

impl MemoryKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) version `version` of key `id`.
    pub fn insert(&mut self, id: &str, version: u32, bytes: impl Into<Vec<u8>>) -> Result<()> {
        let key = MaskKey::new(id, version, bytes)?;
        self.keys
            .entry(id.to_string())
            .or_default()
            .insert(version, key);
        Ok(())
    }

    /// Builder form of [`MemoryKeys::insert`].
    pub fn with(mut self, id: &str, version: u32, bytes: impl Into<Vec<u8>>) -> Result<Self> {
        self.insert(id, version, bytes)?;
        Ok(self)
    }
}

impl fmt::Debug for MemoryKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.values().flat_map(|v| v.values()))
            .finish()
    }
}

impl MaskKeys for MemoryKeys {
    fn key(&self, id: &str) -> Result<MaskKey> {
        self.keys
            .get(id)
            .and_then(|versions| versions.values().next_back())
            .cloned()
            .ok_or_else(|| Error::not_found("no such masking key").with("key_id", id))
    }

    fn key_version(&self, id: &str, version: u32) -> Result<MaskKey> {
        self.keys
            .get(id)
            .and_then(|versions| versions.get(&version))
            .cloned()
            .ok_or_else(|| {
                Error::not_found("no such masking key version")
                    .with("key_id", id)
                    .with("version", version)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_version_is_current() {
        let keys = MemoryKeys::new()
            .with("k1", 1, [1u8; 16])
            .unwrap()
            .with("k1", 2, [2u8; 16])
            .unwrap();
        assert_eq!(keys.key("k1").unwrap().version(), 2);
        assert_eq!(keys.key_version("k1", 1).unwrap().bytes(), &[1u8; 16]);
        assert_eq!(keys.key("k1").unwrap().tag(), "k1v2");
        assert!(keys.key("nope").is_err());
    }

    #[test]
    fn bad_ids_and_short_keys_are_refused() {
        assert!(MaskKey::new("a:b", 1, [0u8; 16]).is_err());
        assert!(MaskKey::new("k", 1, [0u8; 8]).is_err());
        let debug = format!("{:?}", MaskKey::new("k", 1, [7u8; 16]).unwrap());
        assert!(!debug.contains('7'), "{debug}");
    }
}
