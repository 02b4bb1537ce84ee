//! Tiered object storage over the `object_store` crate.
//!
//! A [`Store`] is an ordered list of tiers (hottest first) plus a tier index that records where
//! each object lives. Writes are atomic (a reader never sees a partial object); local tiers are
//! read through a memory map without copying; policies move objects between tiers and delete
//! expired ones (see [`Store::run_tiers`]).
//!
//! ```
//! # fn main() -> strata::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let store = strata::store::Store::open(&strata::LakeConfig::local(dir.path()))?;
//! store.put("events/2026/01.json", b"{\"n\":1}".to_vec())?;
//! assert_eq!(&store.get("events/2026/01.json")?[..], b"{\"n\":1}");
//! assert_eq!(store.stat("events/2026/01.json")?.tier, "hot");
//! # Ok(()) }
//! ```

mod cached;
pub mod cost;
mod guard;
mod index;
mod layout;
mod lifecycle;
mod local;
mod lock;
mod multipart;
mod read;
mod reindex;
mod requests;
mod rotate;
mod sealed;
mod sync;
mod sync_journal;
mod tier;
mod write;

use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use crate::config::LakeConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::runtime::Runtime;

use guard::KeyLocks;
use index::{ObjectRecord, TierIndex};
use lock::RootLock;
use tier::Tier;

pub(crate) use cached::{CachedObject, TierFetch};
pub use index::INDEX_FORMAT as TIER_INDEX_FORMAT;
pub use lifecycle::{ActionKind, ActionOutcome, RunOptions, TierAction, TierRunReport};
pub use reindex::ReindexReport;
pub use requests::Counts as RequestCounts;
pub use rotate::RotateReport;
pub use sync::{
    SyncAction, SyncActionKind, SyncDest, SyncOptions, SyncOutcome, SyncReport, SyncRequest,
    SYNC_DIR,
};
pub(crate) use tier::{open_bucket, TablesAt};
pub use tier::{validate_key, MAX_KEY_LEN};

/// File name of the tier index inside the data root.
pub const INDEX_FILE: &str = "index.redb";

/// What `stat` and `list` report about an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectInfo {
    /// The object's key.
    pub key: String,
    /// The tier holding it.
    pub tier: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the content, hex.
    pub checksum: String,
    /// When it was written, ms since the Unix epoch.
    pub created_ms: u64,
    /// When it was last read (or written), ms since the Unix epoch.
    pub last_access_ms: u64,
    /// Reads since it was written.
    pub access_count: u64,
    /// Bytes held by the tier: the size, or the envelope's size when encrypted.
    pub stored_size: u64,
    /// The key-encryption key of an encrypted object.
    pub key_id: Option<String>,
    /// The envelope format version of an encrypted object.
    pub envelope_version: Option<u8>,
}

impl ObjectInfo {
    fn from_record(key: String, r: ObjectRecord) -> Self {
        let size = r.plain_size();
        ObjectInfo {
            key,
            tier: r.tier,
            size,
            checksum: r.checksum,
            created_ms: r.created_ms,
            last_access_ms: r.last_access_ms,
            access_count: r.access_count,
            stored_size: r.size,
            key_id: r.enc.as_ref().map(|e| e.key_id.clone()),
            envelope_version: r.enc.as_ref().map(|e| e.format),
        }
    }
}

/// Options of a put.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// Force encryption on (`Some(true)`) or off (`Some(false)`); `None` follows the policy.
    pub encrypt: Option<bool>,
}

/// Reads not yet written to the index, flushed in batches so reads stay cheap.
const READ_BATCH: usize = 256;

/// Tiered object storage. Cheap to share by reference across threads (`Store: Send + Sync`).
pub struct Store {
    config: LakeConfig,
    tiers: Vec<std::sync::Arc<Tier>>,
    index: TierIndex,
    pending_reads: Mutex<Vec<(String, u64, u64)>>,
    keys: std::sync::RwLock<Option<std::sync::Arc<dyn crate::crypto::KeyProvider>>>,
    locks: KeyLocks,
    runtime: Runtime,
    cache: crate::cache::Cache,
    lock: RootLock,
    /// Re-encodes a Parquet object for a colder tier (set by the lake: the store knows bytes,
    /// not Parquet).
    demotion: Option<DemotionHook>,
    /// Requests made to each tier, for the cost model.
    requests: requests::Requests,
}

/// Re-encodes the plaintext of a Parquet object demoted into tier `(name, position)`; an
/// error or a result no smaller than the input moves the object as it is.
pub type DemotionHook = std::sync::Arc<dyn Fn(Bytes, &str, usize) -> Result<Bytes> + Send + Sync>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.config.dir)
            .field("tiers", &self.tier_names())
            .finish()
    }
}

impl Store {
    /// Opens the data root of `config`, creating it if needed, and takes its lock.
    ///
    /// A missing tier index is rebuilt from the tiers. A damaged one is an error of kind
    /// [`ErrorKind::Corrupt`]; [`Store::open_rebuilding`] sets it aside and rebuilds.
    pub fn open(config: &LakeConfig) -> Result<Store> {
        Self::open_inner(config, false).map(|(store, _)| store)
    }

    /// Opens the data root and rebuilds the tier index from the tiers (`strata tier reindex`).
    /// A damaged index file is kept beside the new one as `index.redb.corrupt-<ms>`.
    pub fn open_rebuilding(config: &LakeConfig) -> Result<(Store, ReindexReport)> {
        let (store, report) = Self::open_inner(config, true)?;
        if let Some(report) = report {
            return Ok((store, report));
        }
        match store.reindex() {
            Ok(report) => Ok((store, report)),
            // Damage that opening did not show: set the file aside now and build afresh.
            Err(e) if e.kind() == ErrorKind::Corrupt => {
                drop(store);
                set_index_aside(&config.dir)?;
                let (store, report) = Self::open_inner(config, true)?;
                match report {
                    Some(report) => Ok((store, report)),
                    None => Err(Error::internal("a new tier index was not built")),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn open_inner(config: &LakeConfig, rebuild: bool) -> Result<(Store, Option<ReindexReport>)> {
        config.validate()?;
        layout::check(config, &sealed::keyring_path(config))?;
        if let Some(backend) = config.encryption.aead_backend {
            crate::crypto::set_aead_backend(backend);
        }
        let root = &config.dir;
        std::fs::create_dir_all(root)
            .map_err(|e| Error::io("cannot create the data root", root, e))?;
        let lock = RootLock::acquire(root, config.lock_timeout)?;
        let runtime = Runtime::new()?;
        let index_path = root.join(INDEX_FILE);
        let (index, created) = match TierIndex::open(&index_path) {
            Err(e) if rebuild && e.kind() == ErrorKind::Corrupt => {
                set_index_aside(root)?;
                TierIndex::open(&index_path)?
            }
            other => other?,
        };
        let names: Vec<&str> = config.tiers.iter().map(|t| t.name.as_str()).collect();
        let requests = requests::Requests::open(root, &names);
        let tiers = config
            .tiers
            .iter()
            .map(|t| {
                // A directory without strata's marker is taken over only when this root's
                // index records objects in it (written by a strata from before the marker).
                let legacy = || Ok(!created && index.has_tier(&t.name)?);
                let mut tier = Tier::open(t, root, &config.retry, &legacy)?;
                tier.requests = requests.tier(&t.name);
                Ok(std::sync::Arc::new(tier))
            })
            .collect::<Result<Vec<_>>>()?;
        let store = Store {
            config: config.clone(),
            tiers,
            index,
            pending_reads: Mutex::new(Vec::new()),
            keys: std::sync::RwLock::new(None),
            locks: KeyLocks::new(),
            runtime,
            cache: crate::cache::Cache::new(&config.cache),
            lock,
            demotion: None,
            requests,
        };
        store.reconcile_puts()?;
        let report = if created {
            Some(store.reindex()?)
        } else {
            None
        };
        Ok((store, report))
    }

    /// Takes over an existing directory as local tier `name` of `config`, without opening the
    /// store: its files become objects at the next reindex (`strata tier adopt`).
    pub fn adopt_tier(config: &LakeConfig, name: &str) -> Result<()> {
        config.validate()?;
        layout::check(config, &sealed::keyring_path(config))?;
        let tier = config
            .tiers
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| {
                Error::not_found("no such tier in the configuration").with("tier", name)
            })?;
        let dir = tier::local_dir_of(tier, &config.dir)
            .ok_or_else(|| Error::invalid("only local tiers are adopted").with("tier", name))?;
        local::LocalDir::open(name, &dir, &|| Ok(true)).map(|_| ())
    }

    /// Finishes or undoes the puts a crash cut short (see `write`), then removes staging files
    /// no put refers to. Runs at open, holding the root lock, before anything else writes.
    fn reconcile_puts(&self) -> Result<()> {
        for (key, intent) in self.index.pending_puts()? {
            // A remote tier that cannot be reached now is resolved at the next open.
            let _ = self.runtime.block_on(self.resolve_put(&key, &intent))?;
        }
        let keep: std::collections::HashSet<String> = self
            .index
            .pending_puts()?
            .into_iter()
            .filter_map(|(_, intent)| intent.staging)
            .collect();
        for tier in &self.tiers {
            if let Some(dir) = tier.local() {
                dir.sweep_staging(&keep);
            }
        }
        Ok(())
    }

    /// Sets how Parquet objects are re-encoded on their way to a colder tier (with
    /// `format.reencode_on_demotion`); without a hook they move as they are.
    pub fn set_demotion_hook(&mut self, hook: DemotionHook) {
        self.demotion = Some(hook);
    }

    /// Replaces tier `name`'s object store by `wrap(store)`: instrumentation, or faults
    /// injected in tests. Remote (S3, memory) tiers only.
    pub fn wrap_tier(
        &mut self,
        name: &str,
        wrap: impl FnOnce(
            std::sync::Arc<dyn object_store::ObjectStore>,
        ) -> std::sync::Arc<dyn object_store::ObjectStore>,
    ) -> Result<()> {
        let slot = self
            .tiers
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::not_found("no such tier").with("tier", name))?;
        *slot = std::sync::Arc::new(slot.wrapped(wrap)?);
        Ok(())
    }

    /// The configuration this store was opened with.
    pub fn config(&self) -> &LakeConfig {
        &self.config
    }

    /// The data root.
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// Tier names, hottest first.
    pub fn tier_names(&self) -> Vec<&str> {
        self.tiers.iter().map(|t| t.name.as_str()).collect()
    }

    /// Tiers as `(name, location)`, hottest first; the location is a directory or bucket URL.
    pub fn tier_locations(&self) -> Vec<(&str, &str)> {
        self.tiers
            .iter()
            .map(|t| (t.name.as_str(), t.location.as_str()))
            .collect()
    }

    /// The directory that holds the tables of tier `tier` (`<tier dir>/tables`), for a local
    /// tier; `None` for other kinds. The store never lists it as objects, and no key reaches it.
    pub fn tables_dir(&self, tier: &str) -> Option<std::path::PathBuf> {
        let tier = self.tiers.iter().find(|t| t.name == tier)?;
        tier.local_dir().map(|dir| dir.join(local::TABLES_DIR))
    }

    /// Where tier `tier` keeps the lake's tables (`tables/` in its directory or under its S3
    /// prefix), and the block cache in front of it when the tier is cached; `None` for a tier
    /// that cannot hold tables (memory) or an unknown name.
    pub(crate) fn tables_at(&self, tier: &str) -> Option<TablesAt> {
        let found = self.tiers.iter().find(|t| t.name == tier)?;
        let cache = self.is_cached_tier(tier).then(|| {
            (
                self.cache.blocks().clone(),
                self.cache.strategy_for(local::TABLES_DIR),
            )
        });
        found.tables_at(cache)
    }

    /// A handle of the store's I/O runtime, for blocking reads from threads strata starts.
    pub(crate) fn io_handle(&self) -> Result<tokio::runtime::Handle> {
        self.runtime.handle()
    }

    /// The name of the first (hottest) tier.
    pub fn first_tier(&self) -> Option<&str> {
        self.tiers.first().map(|t| t.name.as_str())
    }

    /// The file holding `key`'s stored bytes, if it lives in a local tier.
    pub fn local_file(&self, key: &str) -> Option<std::path::PathBuf> {
        let (tier, _) = self.locate(key).ok()?;
        // Only a file reached without links: strata never hands out a path that leads outside.
        tier.open_file(key)?.ok()?;
        tier.local_file(key)
    }

    /// The lock file that keeps other processes out.
    pub fn lock_path(&self) -> &Path {
        self.lock.path()
    }

    /// Writes an object atomically, to the tier the placement rules choose, encrypted when
    /// the encryption policy says so.
    pub fn put(&self, key: &str, data: impl Into<Bytes>) -> Result<ObjectInfo> {
        self.put_with(key, data, &PutOptions::default())
    }

    /// [`Store::put`] with options, e.g. to force encryption on or off.
    pub fn put_with(
        &self,
        key: &str,
        data: impl Into<Bytes>,
        options: &PutOptions,
    ) -> Result<ObjectInfo> {
        let data = data.into();
        let tier = self.place(key, Some(data.len() as u64))?;
        let encrypt = self.wants_encryption(key, tier, options.encrypt);
        let info = self
            .runtime
            .block_on(self.put_bytes(key, tier, data.clone(), encrypt))??;
        self.cache_after_write(key, Some((&info.tier, &data, &info.checksum)));
        Ok(info)
    }

    /// Writes an object from a reader, streaming large ones as multipart uploads.
    /// `size_hint` feeds placement rules that look at size.
    pub fn put_reader(
        &self,
        key: &str,
        reader: &mut dyn std::io::Read,
        size_hint: Option<u64>,
    ) -> Result<ObjectInfo> {
        self.put_reader_with(key, reader, size_hint, &PutOptions::default())
    }

    /// [`Store::put_reader`] with options.
    pub fn put_reader_with(
        &self,
        key: &str,
        reader: &mut dyn std::io::Read,
        size_hint: Option<u64>,
        options: &PutOptions,
    ) -> Result<ObjectInfo> {
        let tier = self.place(key, size_hint)?;
        let encrypt = self.wants_encryption(key, tier, options.encrypt);
        let info = self
            .runtime
            .block_on(self.put_stream(key, tier, reader, encrypt))??;
        self.cache_after_write(key, None);
        Ok(info)
    }

    /// Writes a local file as an object.
    pub fn put_file(&self, key: &str, path: &Path, options: &PutOptions) -> Result<ObjectInfo> {
        let mut file =
            std::fs::File::open(path).map_err(|e| Error::io("cannot open input file", path, e))?;
        let size = file.metadata().map(|m| m.len()).ok();
        self.put_reader_with(key, &mut file, size, options)
    }

    /// Reads a whole object. From a local tier the bytes are a memory map, not a copy (unless
    /// the object is encrypted: then they are the decrypted plaintext).
    pub fn get(&self, key: &str) -> Result<Bytes> {
        let bytes = self.with_version(key, |version| {
            let whole = 0..version.record.plain_size();
            match self.read_cached(version, whole)? {
                Some(bytes) => Ok(bytes),
                None => self.runtime.block_on(self.read_plain(version, None))?,
            }
        })?;
        self.note_read(key)?;
        Ok(bytes)
    }

    /// Reads bytes `range` of an object.
    pub fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes> {
        let bytes = self.with_version(key, |version| {
            let size = version.record.plain_size();
            if range.start > range.end || range.end > size {
                return Err(Error::invalid(format!(
                    "range {}..{} is outside the object of {} bytes",
                    range.start, range.end, size
                ))
                .with("key", key)
                .with("tier", &version.tier.name));
            }
            match self.read_cached(version, range.clone())? {
                Some(bytes) => Ok(bytes),
                None => self
                    .runtime
                    .block_on(self.read_plain(version, Some(range.clone())))?,
            }
        })?;
        self.note_read(key)?;
        Ok(bytes)
    }

    /// Streams a whole object into `out`; returns the bytes written.
    pub fn get_to(&self, key: &str, out: &mut dyn std::io::Write) -> Result<u64> {
        // Retried only while nothing has been written: a remote version replaced before its
        // first byte arrived starts over; after that, the stream is one version throughout.
        let n = self.with_version(key, |version| match &version.record.enc {
            None => self.runtime.block_on(version.read_to(&mut *out))?,
            Some(_) => self
                .runtime
                .block_on(self.read_sealed_to(version, &mut *out))?,
        })?;
        self.note_read(key)?;
        Ok(n)
    }

    /// What the index knows of an object.
    pub fn stat(&self, key: &str) -> Result<ObjectInfo> {
        validate_key(key)?;
        self.flush_reads()?;
        let record = self.index.get(key)?.ok_or_else(|| missing(key))?;
        Ok(ObjectInfo::from_record(key.to_string(), record))
    }

    /// Whether an object exists.
    pub fn exists(&self, key: &str) -> Result<bool> {
        validate_key(key)?;
        Ok(self.index.get(key)?.is_some())
    }

    /// Objects whose keys start with `prefix`, in key order.
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        self.flush_reads()?;
        Ok(self
            .index
            .list(prefix)?
            .into_iter()
            .map(|(k, r)| ObjectInfo::from_record(k, r))
            .collect())
    }

    /// Deletes an object. Once this returns, the object is gone from the index; its bytes are
    /// removed now, or by the next `tier run` if removing them fails.
    pub fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        let done = self.runtime.block_on(async {
            let _guard = self.locks.key(key).await;
            let (old, tiers) = {
                let _view = self.locks.publishing(key).await;
                self.index.commit_delete(key)?
            };
            // The object is gone once the index says so; a copy that cannot be removed now
            // stays recorded as an orphan for the next `tier run`.
            for tier in tiers {
                let _ = self.remove_orphan_locked(&tier, key).await;
            }
            old.map(|_| ()).ok_or_else(|| missing(key))
        })?;
        self.cache_after_write(key, None);
        done
    }

    /// Copies an object to a new key in the same tier; an existing `to` is replaced.
    pub fn copy(&self, from: &str, to: &str) -> Result<ObjectInfo> {
        validate_key(from)?;
        validate_key(to)?;
        let info = self.runtime.block_on(self.copy_within(from, to))??;
        self.cache_after_write(to, None);
        Ok(info)
    }

    /// Renames an object; an existing `to` is replaced. Crash-safe: at every point at least one
    /// of the two keys holds the object.
    pub fn rename(&self, from: &str, to: &str) -> Result<ObjectInfo> {
        if from == to {
            return self.stat(from);
        }
        let info = self.copy(from, to)?;
        self.delete(from)?;
        Ok(info)
    }

    /// Requests made to each tier since counting started (ms since the epoch, kept across
    /// opens in `_cost/requests.json`), for the cost model; the counts are saved first.
    pub fn request_counts(
        &self,
    ) -> Result<(u64, std::collections::BTreeMap<String, RequestCounts>)> {
        self.requests.save_if_changed()?;
        Ok(self.requests.counts())
    }

    /// Writes pending access statistics to the index.
    pub fn flush_reads(&self) -> Result<()> {
        let batch = {
            let mut pending = self.lock_reads();
            std::mem::take(&mut *pending)
        };
        self.index.apply_reads(&batch)
    }

    fn lock_reads(&self) -> std::sync::MutexGuard<'_, Vec<(String, u64, u64)>> {
        // A panic while holding this lock can only lose statistics; keep going.
        self.pending_reads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn note_read(&self, key: &str) -> Result<()> {
        let window = self.promote_window(key).as_millis() as u64;
        let full = {
            let mut pending = self.lock_reads();
            pending.push((key.to_string(), now_ms(), window));
            pending.len() >= READ_BATCH
        };
        if full {
            self.flush_reads()?;
        }
        Ok(())
    }

    fn promote_window(&self, key: &str) -> Duration {
        self.config
            .lifecycle
            .iter()
            .find(|r| key.starts_with(&r.prefix))
            .and_then(|r| r.promote_window)
            .unwrap_or(Duration::from_secs(3600))
    }

    /// The tier new object `key` goes to.
    fn place(&self, key: &str, size: Option<u64>) -> Result<&Tier> {
        validate_key(key)?;
        let name = self
            .config
            .placement
            .iter()
            .find(|rule| {
                key.starts_with(&rule.prefix)
                    && rule
                        .min_size
                        .is_none_or(|min| size.is_some_and(|s| s >= min))
                    && rule
                        .max_size
                        .is_none_or(|max| size.is_some_and(|s| s < max))
            })
            .map(|rule| rule.tier.as_str());
        match name {
            Some(name) => self.tier(name),
            None => self
                .tiers
                .first()
                .map(|t| t.as_ref())
                .ok_or_else(|| Error::config("no tiers configured")),
        }
    }

    fn tier(&self, name: &str) -> Result<&Tier> {
        self.tier_arc(name).map(|t| t.as_ref())
    }

    fn tier_arc(&self, name: &str) -> Result<&std::sync::Arc<Tier>> {
        self.tiers.iter().find(|t| t.name == name).ok_or_else(|| {
            Error::corrupt(format!(
                "the index names unknown tier {name:?}; is the config missing a tier?"
            ))
        })
    }

    fn tier_position(&self, name: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t.name == name)
    }

    /// Finds the tier holding `key`.
    fn locate(&self, key: &str) -> Result<(&Tier, ObjectRecord)> {
        validate_key(key)?;
        let record = self.index.get(key)?.ok_or_else(|| missing(key))?;
        let tier = self.tier(&record.tier).map_err(|e| e.with("key", key))?;
        Ok((tier, record))
    }
}

/// Renames a damaged tier index to `index.redb.corrupt-<ms>` beside it, for inspection.
fn set_index_aside(root: &Path) -> Result<()> {
    let index_path = root.join(INDEX_FILE);
    let aside = root.join(format!("{INDEX_FILE}.corrupt-{}", now_ms()));
    std::fs::rename(&index_path, &aside)
        .map_err(|e| Error::io("cannot set the damaged index aside", &index_path, e))
}

fn missing(key: &str) -> Error {
    Error::not_found("no such object").with("key", key)
}

pub(crate) use crate::clock::{now_ms, to_ms};

impl Drop for Store {
    fn drop(&mut self) {
        // Statistics are advisory: losing them on a failed flush is acceptable.
        let _ = self.flush_reads();
        let _ = self.requests.save_if_changed();
    }
}
