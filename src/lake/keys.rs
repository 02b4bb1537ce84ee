//! The key workflows of a lake, written once for the command line, the C ABI and Rust
//! callers: a new key-encryption key, the list with usage, rotation (objects and masking keys
//! re-wrapped), retirement, and masking-key versions.

use std::sync::Arc;

use serde::Serialize;

use super::Lake;
use crate::config::LakeConfig;
use crate::crypto::{KeyProvider, KeyRing};
use crate::error::{Error, ErrorKind, Result};
use crate::mask::{open_mask_keys, MaskKeyRing};
use crate::store::RotateReport;

/// A lake's keys; from [`Lake::keys`].
pub struct Keys<'a> {
    lake: &'a Lake,
}

/// One key-encryption key of the ring and what it protects (never its material).
#[derive(Debug, Clone, Serialize)]
pub struct KeyRow {
    /// The key's id.
    pub id: String,
    /// Whether new objects are sealed under it.
    pub active: bool,
    /// When it was made, ms since the Unix epoch.
    pub created_ms: u64,
    /// Encrypted objects whose data keys it wraps.
    pub objects: u64,
    /// Masking-key versions it wraps.
    pub masking_keys: Vec<MaskingKeyRow>,
}

/// One version of a masking key (never its material).
#[derive(Debug, Clone, Serialize)]
pub struct MaskingKeyRow {
    /// The masking key's id (what policies name).
    pub id: String,
    /// Its version.
    pub version: u32,
    /// When it was made, ms since the Unix epoch.
    pub created_ms: u64,
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct RotationSummary {
    /// The new active key.
    pub key_id: String,
    /// Objects re-wrapped.
    pub rewrapped: u64,
    /// Objects that failed, with the error; a rerun retries them.
    pub failed: Vec<(String, String)>,
    /// Masking-key versions re-wrapped under the new key.
    pub masking_keys: usize,
}

impl<'a> Keys<'a> {
    pub(super) fn new(lake: &'a Lake) -> Self {
        Keys { lake }
    }

    /// Runs a key workflow: `admin` on the lake for a principal's handle, and audited.
    fn admin<T>(&self, verb: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
        self.lake.governed(
            verb,
            crate::config::Action::Admin,
            crate::governance::Resource::Lake,
            work,
            |_| None,
        )
    }

    fn ring_path(&self) -> std::path::PathBuf {
        self.lake.store.keyring_path()
    }

    /// The masking keys; with `create`, a missing key ring is made (the keys themselves are
    /// made on first use by `MaskKeyRing::ensure`).
    pub fn masking(&self, create: bool) -> Result<MaskKeyRing> {
        self.admin("key.masking", || open_mask_keys(self.lake.config(), create))
    }

    /// Adds a key-encryption key (`id`, or a generated one) and makes it active for new
    /// objects; creates the key ring if there is none. Returns the key's id.
    pub fn new_key(&self, id: Option<&str>) -> Result<String> {
        self.admin("key.new", || {
            let path = self.ring_path();
            let id = if path.exists() {
                KeyRing::load(&path)?.add_key(id)?
            } else {
                KeyRing::create(&path, id)?.active_key_id()?
            };
            self.lake
                .store
                .set_key_provider(Arc::new(KeyRing::load(&path)?));
            Ok(id)
        })
    }

    /// Adds a new version of masking key `id` (wrapped under the active key): new tokens and
    /// hashes use it, old tokens stay readable. Returns the version.
    pub fn new_masking_version(&self, id: &str) -> Result<u32> {
        self.admin("key.new_masking_version", || {
            self.masking(true)?.add_version(id)
        })
    }

    /// The keys of the ring, with how many objects and masking keys each protects.
    pub fn list(&self) -> Result<Vec<KeyRow>> {
        self.admin("key.list", || {
            let ring = KeyRing::load(&self.ring_path())?;
            let usage = self.lake.store.key_usage()?;
            let masks = match self.masking(false) {
                Ok(masks) => masks.list(),
                Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            };
            Ok(ring
                .list()
                .into_iter()
                .map(|k| KeyRow {
                    objects: usage.get(&k.id).copied().unwrap_or(0),
                    masking_keys: masks
                        .iter()
                        .filter(|m| m.kek == k.id)
                        .map(|m| MaskingKeyRow {
                            id: m.id.clone(),
                            version: m.version,
                            created_ms: m.created_ms,
                        })
                        .collect(),
                    id: k.id,
                    active: k.active,
                    created_ms: k.created_ms,
                })
                .collect())
        })
    }

    /// Makes a new active key and re-wraps every encrypted object's data key (headers only)
    /// and every masking key under it; `progress(done, total)` over the objects. Objects that
    /// failed are listed; a rerun retries them.
    pub fn rotate(&self, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<RotationSummary> {
        self.admin("key.rotate", || {
            let mut ring = KeyRing::load_or_create(&self.ring_path())?;
            let id = ring.add_key(None)?;
            self.lake.store.set_key_provider(Arc::new(ring));
            let RotateReport {
                key_id,
                rewrapped,
                failed,
            } = self.lake.store.rotate_keys(&id, progress)?;
            let masking_keys = match self.masking(false) {
                Ok(mut masks) => masks.rewrap(&id)?,
                Err(e) if e.kind() == ErrorKind::NotFound => 0,
                Err(e) => return Err(e),
            };
            Ok(RotationSummary {
                key_id,
                rewrapped,
                failed,
                masking_keys,
            })
        })
    }

    /// Removes key `id` from the ring; refused while any object or masking key still uses it.
    pub fn retire(&self, id: &str) -> Result<()> {
        self.admin("key.retire", || {
            let mut ring = KeyRing::load(&self.ring_path())?;
            let masks = match self.masking(false) {
                Ok(masks) => masks.kek_usage().get(id).copied().unwrap_or(0),
                Err(e) if e.kind() == ErrorKind::NotFound => 0,
                Err(e) => return Err(e),
            };
            let used = self.lake.store.key_usage()?.get(id).copied().unwrap_or(0) + masks;
            if used > 0 {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "key {id} still protects {used} objects or masking keys; run `strata key rotate` first"
                    ),
                ));
            }
            ring.remove_key(id)
        })
    }
}

impl Lake {
    /// The masking keys of the data root `config` names, read without opening the lake (its
    /// lock is not taken): for masking or scanning files outside the lake with keys the lake
    /// keeps. With `create`, a missing key ring is made; two processes making one at once
    /// should go through an open lake's [`Keys::masking`] instead, which holds the lock.
    pub fn mask_keys(config: &LakeConfig, create: bool) -> Result<MaskKeyRing> {
        super::governance::config_admin(config)?;
        open_mask_keys(config, create)
    }
}
