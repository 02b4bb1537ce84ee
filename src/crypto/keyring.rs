//! The key-ring file: key-encryption keys by id, and which one is active.
//!
//! ```toml
//! # strata key ring; keep secret: readable by its owner only
//! version = 1
//! active = "k20261201-1a2b3c"
//!
//! [[keys]]
//! id = "k20261201-1a2b3c"
//! key = "<64 hex digits>"
//! created_ms = 1796083200000
//! ```
//!
//! The file is refused when its permissions let anyone but the owner read it, and is replaced
//! atomically (written beside, synced, renamed) so a crash never leaves a half-written ring.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::keys::{
    unwrap_bytes_with, unwrap_with, wrap_bytes_with, wrap_with, KeyProvider, SecretKey,
};
use crate::error::{Error, ErrorKind, Result};

const RING_VERSION: u32 = 1;

/// How errors name the file, and the only names they may quote from it.
const WHAT: &str = "key ring";
const FIELDS: &[&str] = &["version", "active", "keys", "id", "key", "created_ms"];

#[derive(Serialize)]
struct RingFile {
    version: u32,
    active: String,
    keys: Vec<KeyEntry>,
}

#[derive(Serialize)]
struct KeyEntry {
    id: String,
    key: String,
    created_ms: u64,
}

/// The file as read, with where each value is (for errors that name the line).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRing {
    version: Spanned<u32>,
    active: Spanned<String>,
    #[serde(default)]
    keys: Vec<RawKeyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyEntry {
    id: Spanned<String>,
    key: Spanned<String>,
    created_ms: u64,
}

/// Keys by id, with when each was made (ms since the Unix epoch).
type Keys = BTreeMap<String, (SecretKey, u64)>;

/// What `key list` shows of a key; never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key's id.
    pub id: String,
    /// When it was made, ms since the Unix epoch.
    pub created_ms: u64,
    /// Whether new objects are encrypted under it.
    pub active: bool,
}

/// Keys loaded from a key-ring file.
pub struct KeyRing {
    path: PathBuf,
    active: String,
    keys: Keys,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("path", &self.path)
            .field("active", &self.active)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyRing {
    /// Loads the ring at `path`. Errors name the line and the field at fault, never a key.
    pub fn load(path: &Path) -> Result<Self> {
        check_private(path)?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read the key ring", path, e))?;
        let (active, keys) = Self::parse(&text).map_err(|e| e.with("path", path.display()))?;
        Ok(KeyRing {
            path: path.to_path_buf(),
            active,
            keys,
        })
    }

    /// The active key id and the keys of a ring file's text.
    fn parse(text: &str) -> Result<(String, Keys)> {
        let file: RawRing = toml::from_str(text)
            .map_err(|e| crate::config::secret_toml_error(WHAT, text, &e, FIELDS))?;
        let at = |span: std::ops::Range<usize>, message: String| {
            crate::config::located_error_in(WHAT, text, span.start, &message, Some(FIELDS))
        };
        if *file.version.get_ref() != RING_VERSION {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "key ring version {} is not supported (this strata reads 1), at {}",
                    file.version.get_ref(),
                    crate::config::line_and_field(text, file.version.span().start, Some(FIELDS))
                ),
            ));
        }
        // A damaged file may hold anything in any field (a key where an id goes): the errors
        // below quote no value, the line says where.
        let mut keys = BTreeMap::new();
        for entry in file.keys {
            let key = SecretKey::from_hex(entry.key.get_ref())
                .map_err(|e| at(entry.key.span(), e.message().to_string()))?;
            let id = entry.id.get_ref();
            if keys.insert(id.clone(), (key, entry.created_ms)).is_some() {
                return Err(at(
                    entry.id.span(),
                    "this key id appears twice in the key ring".into(),
                ));
            }
        }
        let active = file.active.get_ref();
        if !keys.contains_key(active) {
            return Err(at(
                file.active.span(),
                "the active key is not in the key ring".into(),
            ));
        }
        Ok((active.clone(), keys))
    }

    /// Loads the ring at `path`, or creates it with one new active key.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        if path.exists() {
            return Self::load(path);
        }
        Self::create(path, None)
    }

    /// Creates a ring at `path` with one new active key (id generated unless given).
    pub fn create(path: &Path, id: Option<&str>) -> Result<Self> {
        if path.exists() {
            return Err(
                Error::new(ErrorKind::AlreadyExists, "a key ring exists here")
                    .with("path", path.display()),
            );
        }
        let mut ring = KeyRing {
            path: path.to_path_buf(),
            active: String::new(),
            keys: BTreeMap::new(),
        };
        ring.add_key(id)?;
        Ok(ring)
    }

    /// Adds a new random key, makes it active and saves the ring. Returns its id.
    pub fn add_key(&mut self, id: Option<&str>) -> Result<String> {
        let now = crate::clock::now_ms();
        let id = match id {
            Some(id) => id.to_string(),
            None => {
                let mut tag = [0u8; 3];
                super::keys::fill_random(&mut tag)?;
                format!("k{}-{:02x}{:02x}{:02x}", now, tag[0], tag[1], tag[2])
            }
        };
        if id.is_empty()
            || id.len() > 255
            || id.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(
                Error::invalid("a key id must be 1 to 255 characters without spaces")
                    .with("key_id", &id),
            );
        }
        if self.keys.contains_key(&id) {
            return Err(
                Error::new(ErrorKind::AlreadyExists, "a key with this id exists")
                    .with("key_id", &id),
            );
        }
        self.keys.insert(id.clone(), (SecretKey::random()?, now));
        let previous = std::mem::replace(&mut self.active, id.clone());
        if let Err(e) = self.save() {
            self.keys.remove(&id);
            self.active = previous;
            return Err(e);
        }
        Ok(id)
    }

    /// Removes key `id` from the ring. The caller checks nothing refers to it.
    pub fn remove_key(&mut self, id: &str) -> Result<()> {
        if id == self.active {
            return Err(
                Error::invalid("the active key cannot be retired; rotate first").with("key_id", id),
            );
        }
        let Some(entry) = self.keys.remove(id) else {
            return Err(Error::not_found("no such key in the key ring").with("key_id", id));
        };
        if let Err(e) = self.save() {
            self.keys.insert(id.to_string(), entry);
            return Err(e);
        }
        Ok(())
    }

    /// Keys, oldest first by id order.
    pub fn list(&self) -> Vec<KeyInfo> {
        let mut out: Vec<_> = self
            .keys
            .iter()
            .map(|(id, (_, created_ms))| KeyInfo {
                id: id.clone(),
                created_ms: *created_ms,
                active: *id == self.active,
            })
            .collect();
        out.sort_by_key(|k| (k.created_ms, k.id.clone()));
        out
    }

    /// Where the ring lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn key(&self, id: &str) -> Result<&SecretKey> {
        self.keys.get(id).map(|(k, _)| k).ok_or_else(|| {
            Error::new(ErrorKind::Crypto, "the key ring has no key with this id").with("key_id", id)
        })
    }

    fn save(&self) -> Result<()> {
        let file = RingFile {
            version: RING_VERSION,
            active: self.active.clone(),
            keys: self
                .keys
                .iter()
                .map(|(id, (key, created_ms))| KeyEntry {
                    id: id.clone(),
                    key: key.to_hex(),
                    created_ms: *created_ms,
                })
                .collect(),
        };
        let body = toml::to_string_pretty(&file)
            .map_err(|e| Error::internal(format!("cannot serialize the key ring: {e}")))?;
        let text = format!("# strata key ring: keep secret, readable by its owner only\n{body}");
        write_private(&self.path, text.as_bytes())
    }
}

impl KeyProvider for KeyRing {
    fn active_key_id(&self) -> Result<String> {
        Ok(self.active.clone())
    }

    fn wrap(&self, key_id: &str, data_key: &SecretKey, context: &[u8]) -> Result<Vec<u8>> {
        wrap_with(self.key(key_id)?, data_key, context)
    }

    fn unwrap(&self, key_id: &str, wrapped: &[u8], context: &[u8]) -> Result<SecretKey> {
        unwrap_with(self.key(key_id)?, wrapped, context)
    }

    fn wrap_bytes(&self, key_id: &str, key: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        wrap_bytes_with(self.key(key_id)?, key, context)
    }

    fn unwrap_bytes(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        unwrap_bytes_with(self.key(key_id)?, wrapped, context)
    }
}

#[cfg(unix)]
pub(crate) fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).map_err(|e| Error::io("cannot read the key ring", path, e))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Error::config(format!(
            "the key ring is readable by others (mode {:o}); run `chmod 600` on it",
            mode & 0o777
        ))
        .with("path", path.display()));
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn check_private(_path: &Path) -> Result<()> {
    Ok(())
}

/// Writes `bytes` to `path` atomically with owner-only permissions, through the shared output
/// mechanism (an exclusive, unpredictable staging name; symlinks followed, never replaced).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io("cannot create the key ring folder", parent, e))?;
    }
    let mut file = crate::AtomicFile::create_private(path)?;
    file.write_all(bytes)
        .map_err(|e| Error::io("cannot write the key ring", path, e))?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_creates_rotates_retires_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.toml");
        let mut ring = KeyRing::load_or_create(&path).unwrap();
        let first = ring.active_key_id().unwrap();
        let dek = SecretKey::random().unwrap();
        let wrapped = ring.wrap(&first, &dek, b"c").unwrap();
        let second = ring.add_key(Some("k2")).unwrap();
        assert_eq!(ring.active_key_id().unwrap(), second);
        let ring = KeyRing::load(&path).unwrap();
        assert_eq!(ring.unwrap(&first, &wrapped, b"c").unwrap(), dek);
        assert_eq!(ring.list().len(), 2);
        let mut ring = ring;
        assert!(ring.remove_key("k2").is_err(), "active key retired");
        ring.remove_key(&first).unwrap();
        assert_eq!(
            ring.unwrap(&first, &wrapped, b"c").unwrap_err().kind(),
            ErrorKind::Crypto
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&dek.to_hex()));
    }

    #[cfg(unix)]
    #[test]
    fn ring_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.toml");
        KeyRing::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyRing::load(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn bad_ring_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.toml");
        for text in [
            "version = 1\nactive = 'a'\n",
            "version = 2\nactive = 'a'\n[[keys]]\nid='a'\nkey='00'\ncreated_ms=0\n",
            "version = 1\nactive = 'a'\n[[keys]]\nid='a'\nkey='00'\ncreated_ms=0\n",
            "garbage",
        ] {
            write_private(&path, text.as_bytes()).unwrap();
            assert!(KeyRing::load(&path).is_err(), "{text}");
        }
    }
}
