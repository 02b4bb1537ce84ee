//! Masking keys from the key provider: versioned secrets wrapped like data keys.
//!
//! ```toml
//! # strata masking keys: wrapped under key-encryption keys of the key provider
//! version = 1
//!
//! [[keys]]
//! id = "pii"
//! version = 2
//! kek = "k20261201-1a2b3c"
//! wrapped = "<hex>"
//! created_ms = 1796083200000
//! ```
//!
//! Each version of a masking key is 32 random bytes wrapped by the [`KeyProvider`] (a key ring,
//! an environment key or a KMS) exactly as object data keys are, so the file holds no secret
//! and a KMS never has to hand out key material. The wrap context binds the key id and
//! version, so swapping entries in the file makes them fail to unwrap rather than silently
//! exchanging keys. New versions are added, never replaced: tokens carry their version
//! (`piiv2:...`) and stay readable as long as their version is kept.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::keys::{validate_key_id, MaskKey, MaskKeys};
use crate::config::LakeConfig;
use crate::crypto::{check_private, open_key_provider, write_private, KeyProvider, SecretKey};
use crate::error::{Error, ErrorKind, Result};

/// File name of the masking keys inside the data root.
pub const MASK_KEYS_FILE: &str = "maskkeys.toml";

/// The masking keys of `config`'s data root (`<dir>/maskkeys.toml`), wrapped by its key
/// provider. With `create`, a missing key ring is created (masking keys themselves are made
/// by [`MaskKeyRing::ensure`]).
pub fn open_mask_keys(config: &LakeConfig, create: bool) -> Result<MaskKeyRing> {
    let provider = open_key_provider(config, create)?;
    MaskKeyRing::load(&config.dir.join(MASK_KEYS_FILE), provider)
}
const FILE_VERSION: u32 = 1;

/// How errors name the file, and the only names they may quote from it.
const WHAT: &str = "masking keys";
const FIELDS: &[&str] = &["version", "keys", "id", "kek", "wrapped", "created_ms"];

#[derive(Serialize)]
struct MaskKeysFile {
    version: u32,
    keys: Vec<Entry>,
}

/// The file as read, with where each value is (for errors that name the line).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Spanned<u32>,
    #[serde(default)]
    keys: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Spanned<String>,
    version: Spanned<u32>,
    kek: String,
    wrapped: Spanned<String>,
    created_ms: u64,
}

/// Versions of each masking key, by id then version.
type Entries = BTreeMap<String, BTreeMap<u32, Entry>>;

#[derive(Serialize, Clone)]
struct Entry {
    id: String,
    version: u32,
    kek: String,
    wrapped: String,
    created_ms: u64,
}

/// What listing shows of a masking key version; never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaskKeyInfo {
    /// The masking key id policies name.
    pub id: String,
    /// Its version; the highest is current.
    pub version: u32,
    /// The key-encryption key it is wrapped under.
    pub kek: String,
    /// When it was made, ms since the Unix epoch.
    pub created_ms: u64,
}

/// Masking keys kept in a file beside the key ring, unwrapped on demand through a key provider.
pub struct MaskKeyRing {
    path: PathBuf,
    provider: Arc<dyn KeyProvider>,
    entries: Entries,
    /// Unwrapped keys: a scan asks for the same key once per batch, and a KMS round trip
    /// per batch would dominate.
    unwrapped: Mutex<BTreeMap<(String, u32), MaskKey>>,
}

impl std::fmt::Debug for MaskKeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskKeyRing")
            .field("path", &self.path)
            .field("ids", &self.entries.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn context(id: &str, version: u32) -> Vec<u8> {
    let mut c = b"strata mask key v1\0".to_vec();
    c.extend_from_slice(id.as_bytes());
    c.push(0);
    c.extend_from_slice(&version.to_be_bytes());
    c
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The entries of a masking key file's text, by id and version. Errors name the line and
/// the field at fault, never a value.
fn parse(text: &str) -> Result<Entries> {
    let file: RawFile = toml::from_str(text)
        .map_err(|e| crate::config::secret_toml_error(WHAT, text, &e, FIELDS))?;
    let at = |span: std::ops::Range<usize>, message: &str| {
        crate::config::located_error_in(WHAT, text, span.start, message, Some(FIELDS))
    };
    if *file.version.get_ref() != FILE_VERSION {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "masking key file version {} is not supported (this strata reads 1), at {}",
                file.version.get_ref(),
                crate::config::line_and_field(text, file.version.span().start, Some(FIELDS))
            ),
        ));
    }
    // A damaged file may hold anything in any field (a wrapped key where an id goes): the
    // errors below quote no value, the line says where.
    let mut entries = Entries::new();
    for raw in file.keys {
        let id = raw.id.get_ref();
        validate_key_id(id).map_err(|_| {
            at(
                raw.id.span(),
                "a masking key id must be 1-64 ASCII letters, digits, '-' or '_'",
            )
        })?;
        if from_hex(raw.wrapped.get_ref()).is_none() {
            return Err(at(raw.wrapped.span(), "the wrapped key is not hex"));
        }
        let version = *raw.version.get_ref();
        let entry = Entry {
            id: id.clone(),
            version,
            kek: raw.kek,
            wrapped: raw.wrapped.into_inner(),
            created_ms: raw.created_ms,
        };
        if entries
            .entry(entry.id.clone())
            .or_default()
            .insert(version, entry)
            .is_some()
        {
            return Err(at(
                raw.version.span(),
                "this masking key version appears twice",
            ));
        }
    }
    Ok(entries)
}

impl MaskKeyRing {
    /// Loads the masking keys at `path`; a missing file is an empty set (keys are made on first
    /// use by [`MaskKeyRing::ensure`]).
    pub fn load(path: &Path, provider: Arc<dyn KeyProvider>) -> Result<Self> {
        let entries = if path.exists() {
            check_private(path)?;
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io("cannot read the masking keys", path, e))?;
            parse(&text).map_err(|e| e.with("path", path.display()))?
        } else {
            BTreeMap::new()
        };
        Ok(MaskKeyRing {
            path: path.to_path_buf(),
            provider,
            entries,
            unwrapped: Mutex::new(BTreeMap::new()),
        })
    }

    /// Where the masking keys live.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every version of every key, by id then version.
    pub fn list(&self) -> Vec<MaskKeyInfo> {
        self.entries
            .values()
            .flat_map(|v| v.values())
            .map(|e| MaskKeyInfo {
                id: e.id.clone(),
                version: e.version,
                kek: e.kek.clone(),
                created_ms: e.created_ms,
            })
            .collect()
    }

    /// Adds a new random version of key `id` (version 1 for a new id), wrapped under the
    /// provider's active key, and saves the file. Returns the new version.
    pub fn add_version(&mut self, id: &str) -> Result<u32> {
        validate_key_id(id)?;
        let version = self
            .entries
            .get(id)
            .and_then(|v| v.keys().next_back())
            .map_or(Ok(1), |v| {
                v.checked_add(1)
                    .ok_or_else(|| Error::invalid("masking key version overflow"))
            })?;
        let kek = self.provider.active_key_id()?;
        let secret = SecretKey::random()?;
        let wrapped = self.provider.wrap(&kek, &secret, &context(id, version))?;
        let entry = Entry {
            id: id.to_string(),
            version,
            kek,
            wrapped: to_hex(&wrapped),
            created_ms: crate::clock::now_ms(),
        };
        self.entries
            .entry(id.to_string())
            .or_default()
            .insert(version, entry);
        if let Err(e) = self.save() {
            if let Some(versions) = self.entries.get_mut(id) {
                versions.remove(&version);
            }
            return Err(e);
        }
        Ok(version)
    }

    /// Makes version 1 of every id in `ids` that has no key yet; returns the ids it made.
    pub fn ensure<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>> {
        let mut made = Vec::new();
        for id in ids {
            if !self.entries.contains_key(id) {
                self.add_version(id)?;
                made.push(id.to_string());
            }
        }
        Ok(made)
    }

    /// Re-wraps every version under key-encryption key `kek` (after a key-ring rotation, so
    /// old key-encryption keys can be retired). Returns how many were re-wrapped.
    pub fn rewrap(&mut self, kek: &str) -> Result<usize> {
        let mut done = 0;
        let mut next = self.entries.clone();
        for entry in next.values_mut().flat_map(|v| v.values_mut()) {
            if entry.kek == kek {
                continue;
            }
            let secret = self.unwrap_entry(entry)?;
            let wrapped = self
                .provider
                .wrap(kek, &secret, &context(&entry.id, entry.version))?;
            entry.kek = kek.to_string();
            entry.wrapped = to_hex(&wrapped);
            done += 1;
        }
        if done > 0 {
            let previous = std::mem::replace(&mut self.entries, next);
            if let Err(e) = self.save() {
                self.entries = previous;
                return Err(e);
            }
        }
        Ok(done)
    }

    /// How many masking key versions each key-encryption key wraps.
    pub fn kek_usage(&self) -> BTreeMap<String, u64> {
        let mut usage = BTreeMap::new();
        for e in self.entries.values().flat_map(|v| v.values()) {
            *usage.entry(e.kek.clone()).or_insert(0) += 1;
        }
        usage
    }

    fn unwrap_entry(&self, e: &Entry) -> Result<SecretKey> {
        let wrapped = from_hex(&e.wrapped).ok_or_else(|| {
            Error::corrupt("wrapped masking key is not hex")
                .with("key_id", &e.id)
                .with("path", self.path.display())
        })?;
        self.provider
            .unwrap(&e.kek, &wrapped, &context(&e.id, e.version))
            .map_err(|err| err.with("mask_key", &e.id).with("version", e.version))
    }

    fn get(&self, id: &str, version: Option<u32>) -> Result<MaskKey> {
        let versions = self.entries.get(id).ok_or_else(|| {
            Error::not_found("no such masking key")
                .with("key_id", id)
                .with("path", self.path.display())
        })?;
        let entry = match version {
            Some(v) => versions.get(&v).ok_or_else(|| {
                Error::not_found("no such masking key version")
                    .with("key_id", id)
                    .with("version", v)
            })?,
            None => versions
                .values()
                .next_back()
                .ok_or_else(|| Error::not_found("no such masking key").with("key_id", id))?,
        };
        let slot = (entry.id.clone(), entry.version);
        let mut cache = self.unwrapped.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = cache.get(&slot) {
            return Ok(key.clone());
        }
        let secret = self.unwrap_entry(entry)?;
        let key = MaskKey::new(id, entry.version, secret.bytes().to_vec())?;
        cache.insert(slot, key.clone());
        Ok(key)
    }

    fn save(&self) -> Result<()> {
        let file = MaskKeysFile {
            version: FILE_VERSION,
            keys: self
                .entries
                .values()
                .flat_map(|v| v.values())
                .cloned()
                .collect(),
        };
        let body = toml::to_string_pretty(&file)
            .map_err(|e| Error::internal(format!("cannot serialize the masking keys: {e}")))?;
        let text = format!(
            "# strata masking keys: wrapped under key-encryption keys of the key provider\n{body}"
        );
        write_private(&self.path, text.as_bytes())
    }
}

impl MaskKeys for MaskKeyRing {
    fn key(&self, id: &str) -> Result<MaskKey> {
        self.get(id, None)
    }

    fn key_version(&self, id: &str, version: u32) -> Result<MaskKey> {
        self.get(id, Some(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeyRing;

    #[test]
    fn versions_wrap_rotate_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut ring = KeyRing::load_or_create(&dir.path().join("keyring.toml")).unwrap();
        let first_kek = ring.active_key_id().unwrap();
        let path = dir.path().join(MASK_KEYS_FILE);
        let provider: Arc<dyn KeyProvider> =
            Arc::new(KeyRing::load(&dir.path().join("keyring.toml")).unwrap());
        let mut keys = MaskKeyRing::load(&path, provider).unwrap();
        assert_eq!(keys.ensure(["pii", "pii"]).unwrap(), ["pii"]);
        let v1 = keys.key("pii").unwrap();
        assert_eq!(keys.add_version("pii").unwrap(), 2);
        let v2 = keys.key("pii").unwrap();
        assert_eq!(v2.version(), 2);
        assert_ne!(v1.bytes(), v2.bytes());
        assert!(!std::fs::read_to_string(&path)
            .unwrap()
            .contains(&to_hex(v1.bytes())));

        // A new key-encryption key: re-wrapping keeps the masking keys themselves.
        let kek2 = ring.add_key(Some("kek2")).unwrap();
        let provider: Arc<dyn KeyProvider> = Arc::new(ring);
        let mut keys = MaskKeyRing::load(&path, provider.clone()).unwrap();
        assert_eq!(keys.kek_usage().get(&first_kek), Some(&2));
        assert_eq!(keys.rewrap(&kek2).unwrap(), 2);
        let keys = MaskKeyRing::load(&path, provider).unwrap();
        assert_eq!(keys.kek_usage().get(&kek2), Some(&2));
        assert_eq!(keys.key_version("pii", 1).unwrap().bytes(), v1.bytes());
        assert_eq!(keys.key("pii").unwrap().bytes(), v2.bytes());
        assert_eq!(keys.key("nope").unwrap_err().kind(), ErrorKind::NotFound);
    }

    #[test]
    fn swapped_entries_do_not_unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let provider: Arc<dyn KeyProvider> =
            Arc::new(KeyRing::load_or_create(&dir.path().join("keyring.toml")).unwrap());
        let path = dir.path().join(MASK_KEYS_FILE);
        let mut keys = MaskKeyRing::load(&path, provider.clone()).unwrap();
        keys.ensure(["a", "b"]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        // Give key "b" the wrapped bytes of key "a".
        let swapped =
            text.replacen("id = \"b\"", "id = \"c\"", 1)
                .replacen("id = \"a\"", "id = \"b\"", 1);
        write_private(&path, swapped.as_bytes()).unwrap();
        let keys = MaskKeyRing::load(&path, provider).unwrap();
        assert_eq!(keys.key("b").unwrap_err().kind(), ErrorKind::Crypto);
    }
}
