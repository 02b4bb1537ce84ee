//! The `Lake`: strata's one front door.
//!
//! A `Lake` owns an open data root: the tiered store (with its cache, key providers and I/O
//! runtime), the masking keys, and the hooks that tie the subsystems together (Parquet
//! re-encoding on demotion, scans wired to tiers, cache and decryption, writes through the one
//! Parquet writer). The command line, the C ABI, the Go binding and the demo all go through it;
//! nothing above this module wires subsystems by hand.
//!
//! A `Lake` is `Send + Sync` and cheap to clone (the clones share one open root). Scans and
//! streams made from it hold their own share, so dropping the last `Lake` while a scan is still
//! being read is safe: the root closes when the last of them goes.
//!
//! ```
//! # fn main() -> strata::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let lake = strata::Lake::open_dir(dir.path())?;
//! lake.put("raw/2026/12/01.csv", b"id,amount\n1,9.5\n".to_vec())?;
//! assert_eq!(&lake.get("raw/2026/12/01.csv")?[..], b"id,amount\n1,9.5\n");
//! assert_eq!(lake.stat("raw/2026/12/01.csv")?.tier, "hot");
//! # Ok(()) }
//! ```

mod advise;
mod catalog;
mod compliance;
mod cost;
mod demote;
mod erasure;
mod expect;
mod governance;
mod guards;
mod keys;
mod objects;
mod retention;
mod stats;
mod sync;
mod table_files;
mod tables;
mod write;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::config::{Action, LakeConfig};
use crate::error::Result;
use crate::governance::Resource;
use crate::read::Scan;
use crate::store::{
    ObjectInfo, PutOptions, ReindexReport, RunOptions, Store, TierAction, TierRunReport,
};

pub use catalog::LineageCallback;
pub use expect::{ExpectReport, ExpectationCount};
pub use keys::{KeyRow, Keys, MaskingKeyRow, RotationSummary};

/// An open data lake. See the [module docs](self).
#[derive(Clone)]
pub struct Lake {
    /// The access statistics recorder, shared by the clones and their scans. First, so that
    /// it is dropped (and written) before the store: it checks that the root still exists.
    stats: Arc<stats::StatsRecorder>,
    store: Arc<Store>,
    /// The catalog, opened on first use and shared by the clones.
    catalog: Arc<std::sync::OnceLock<crate::catalog::Catalog>>,
    /// The job this handle's changes are recorded as (`Lake::with_job`).
    job: Option<Arc<str>>,
    /// A host's receiver of OpenLineage events, shared by the clones.
    lineage_callback: Arc<std::sync::RwLock<Option<Arc<catalog::LineageCallback>>>>,
    /// Access rules, masking views and the audit log, shared by the clones.
    gov: Arc<governance::Governance>,
    /// Who this handle acts as (`Lake::as_principal`); `None`: the host.
    principal: Option<Arc<str>>,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake").field("store", &self.store).finish()
    }
}

impl Lake {
    /// Opens the data root of `config`, creating it if needed, and takes its lock.
    pub fn open(config: &LakeConfig) -> Result<Lake> {
        Lake::from_store(Store::open(config)?)
    }

    /// Opens (creating if needed) a lake with the default layout rooted at `dir`: local hot
    /// and cold tiers, the default policies.
    pub fn open_dir(dir: impl AsRef<Path>) -> Result<Lake> {
        Lake::open(&LakeConfig::local(dir.as_ref()))
    }

    /// Opens the data root and rebuilds the tier index from the tiers (`strata tier
    /// reindex`); a damaged index file is set aside first.
    pub fn open_rebuilding(config: &LakeConfig) -> Result<(Lake, ReindexReport)> {
        governance::config_admin(config)?;
        let (store, report) = Store::open_rebuilding(config)?;
        Ok((Lake::from_store(store)?, report))
    }

    /// Takes over an existing directory as local tier `name` of `config`, without opening the
    /// lake: its files become objects at the next reindex (`strata tier adopt`).
    pub fn adopt_tier(config: &LakeConfig, name: &str) -> Result<()> {
        governance::config_admin(config)?;
        Store::adopt_tier(config, name)
    }

    fn from_store(mut store: Store) -> Result<Lake> {
        let gov = governance::Governance::load(store.config(), store.dir())?;
        demote::install(&mut store);
        write::sweep_staging(store.dir());
        let stats = Arc::new(stats::StatsRecorder::new(store.dir()));
        Ok(Lake {
            store: Arc::new(store),
            catalog: Arc::new(std::sync::OnceLock::new()),
            job: None,
            lineage_callback: Arc::new(std::sync::RwLock::new(None)),
            gov: Arc::new(gov),
            principal: None,
            stats,
        })
    }

    /// The configuration this lake was opened with.
    pub fn config(&self) -> &LakeConfig {
        self.store.config()
    }

    /// The data root.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// The tiered store underneath: for specialist work (cache statistics, simulated
    /// latency in benches) that the lake does not offer itself.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Writes an object atomically, to the tier the placement rules choose, encrypted when
    /// the encryption policy says so.
    pub fn put(&self, key: &str, data: impl Into<Bytes>) -> Result<ObjectInfo> {
        let data = data.into();
        self.governed(
            "put",
            Action::Write,
            Resource::Object(key),
            || self.store.put(key, data),
            size,
        )
    }

    /// [`Lake::put`] with options, e.g. to force encryption on or off.
    pub fn put_with(
        &self,
        key: &str,
        data: impl Into<Bytes>,
        options: &PutOptions,
    ) -> Result<ObjectInfo> {
        let data = data.into();
        self.governed(
            "put",
            Action::Write,
            Resource::Object(key),
            || self.store.put_with(key, data, options),
            size,
        )
    }

    /// Writes an object from a reader, streamed (never held whole in memory).
    pub fn put_reader(
        &self,
        key: &str,
        reader: &mut dyn std::io::Read,
        size_hint: Option<u64>,
        options: &PutOptions,
    ) -> Result<ObjectInfo> {
        self.governed(
            "put",
            Action::Write,
            Resource::Object(key),
            || self.store.put_reader_with(key, reader, size_hint, options),
            size,
        )
    }

    /// Writes a local file as an object.
    pub fn put_file(&self, key: &str, path: &Path, options: &PutOptions) -> Result<ObjectInfo> {
        self.governed(
            "put",
            Action::Write,
            Resource::Object(key),
            || self.store.put_file(key, path, options),
            size,
        )
    }

    /// Reads a whole object (a memory map on local tiers; decrypted when sealed).
    pub fn get(&self, key: &str) -> Result<Bytes> {
        let get = || self.raw_read("get", key, || self.store.get(key), |b| Some(b.len() as u64));
        self.counted_get(key, get, |b| b.len() as u64)
    }

    /// Reads bytes `range` of an object.
    pub fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes> {
        let get = || {
            self.raw_read(
                "get",
                key,
                || self.store.get_range(key, range),
                |b| Some(b.len() as u64),
            )
        };
        self.counted_get(key, get, |b| b.len() as u64)
    }

    /// Streams a whole object into `out`; returns the bytes written.
    pub fn get_to(&self, key: &str, out: &mut dyn std::io::Write) -> Result<u64> {
        let n = self.raw_read("get", key, || self.store.get_to(key, out), |n| Some(*n))?;
        self.note_object_read(key, n);
        Ok(n)
    }

    /// What the index knows of an object.
    pub fn stat(&self, key: &str) -> Result<ObjectInfo> {
        self.governed(
            "stat",
            Action::Read,
            Resource::Object(key),
            || self.store.stat(key),
            |_| None,
        )
    }

    /// Whether an object exists.
    pub fn exists(&self, key: &str) -> Result<bool> {
        self.governed(
            "stat",
            Action::Read,
            Resource::Object(key),
            || self.store.exists(key),
            |_| None,
        )
    }

    /// Objects whose keys start with `prefix`, in key order; for a principal's handle, those
    /// it may read.
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let mut out = self.store.list(prefix)?;
        if let Some((policy, principal)) = self.checked() {
            out.retain(|o| {
                policy
                    .check(principal, Action::Read, Resource::Object(&o.key))
                    .is_ok()
            });
        }
        if self.audits(Action::Read) {
            let mut event = self.event("list", Resource::Object(prefix).audit_name());
            event.rows = Some(out.len() as u64);
            event.outcome = "ok".into();
            self.audit(event)?;
        }
        Ok(out)
    }

    /// Deletes an object.
    pub fn delete(&self, key: &str) -> Result<()> {
        self.governed(
            "delete",
            Action::Write,
            Resource::Object(key),
            || self.store.delete(key),
            |_| None,
        )
    }

    /// Copies an object to a new key in the same tier; an existing `to` is replaced.
    pub fn copy(&self, from: &str, to: &str) -> Result<ObjectInfo> {
        self.authorize("copy", Action::Read, Resource::Object(from))?;
        self.governed(
            "copy",
            Action::Write,
            Resource::Object(to),
            || self.store.copy(from, to),
            size,
        )
    }

    /// Renames an object; an existing `to` is replaced.
    pub fn rename(&self, from: &str, to: &str) -> Result<ObjectInfo> {
        self.authorize("move", Action::Write, Resource::Object(from))?;
        self.governed(
            "move",
            Action::Write,
            Resource::Object(to),
            || self.store.rename(from, to),
            size,
        )
    }

    /// The actions the tier policies call for at `now`, without changing anything.
    pub fn plan_tiers(&self, now: SystemTime) -> Result<Vec<TierAction>> {
        self.authorize("tier.plan", Action::Admin, Resource::Lake)?;
        self.store.plan_tiers(now)
    }

    /// Applies the tier policies (`strata tier run`), then the `[[table_retention]]` rules
    /// (table deletes, in the report's `table_retention`); `progress(done, total)` as tier
    /// actions end.
    pub fn run_tiers(
        &self,
        options: &RunOptions,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<TierRunReport> {
        self.governed(
            "tier.run",
            Action::Admin,
            Resource::Lake,
            || {
                let mut report = self.store.run_tiers(options, progress)?;
                let now = options.now.unwrap_or_else(SystemTime::now);
                for a in self.table_retention_at(None, options.dry_run, now)? {
                    report.table_rows_expired += a.rows;
                    report
                        .table_retention
                        .push(format!("{}: {}: {} rows", a.table, a.rule, a.rows));
                }
                report
                    .table_retention
                    .extend(self.vacuum_erased(now, options.dry_run)?);
                Ok(report)
            },
            |_| None,
        )
    }

    /// Moves object `key` to tier `to` now, outside the tier policies (`strata tier move`,
    /// the advisor's tier advice): crash-safe as a tier run's moves are. Returns the bytes
    /// moved, 0 when the object was already there. A later tier run may move it back if
    /// the policies say so.
    pub fn move_to_tier(&self, key: &str, to: &str) -> Result<u64> {
        // Placement is the lake's business (as a tier run is); the record names the object.
        self.authorize("tier.move", Action::Admin, Resource::Lake)?;
        self.governed(
            "tier.move",
            Action::Write,
            Resource::Object(key),
            || self.store.move_to_tier(key, to),
            |moved| Some(*moved),
        )
    }

    /// Rebuilds the tier index from the tiers (access statistics restart from zero).
    pub fn reindex(&self) -> Result<ReindexReport> {
        self.governed(
            "reindex",
            Action::Admin,
            Resource::Lake,
            || self.store.reindex(),
            |_| None,
        )
    }

    /// [`Lake::reindex`] with `progress(hashed, listed)`.
    pub fn reindex_with_progress(
        &self,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ReindexReport> {
        self.governed(
            "reindex",
            Action::Admin,
            Resource::Lake,
            || self.store.reindex_with_progress(progress),
            |_| None,
        )
    }

    /// A scan of the lake object (a Parquet file) `key`, through the tiers and the cache,
    /// decrypting Parquet modular encryption with the lake's key provider when the object is
    /// encrypted. A `key` that is no object but a prefix of objects (`sales` for the
    /// `sales/region=eu/part-0.parquet` that [`Lake::write`] makes) scans every Parquet object
    /// under it as one dataset, with Hive partition columns from the keys, as a directory scan
    /// does; a filter on those columns skips whole objects (`sales/`, with the `/`, names only
    /// the prefix, even where an object `sales` exists). Add projection, filter and the rest
    /// as with any [`Scan`]. The scan holds its own share of the lake: it (and a reader made
    /// from it) stays usable after this `Lake` is dropped.
    pub fn scan(&self, key: &str) -> Result<Scan> {
        objects::scan(self, key)
    }

    /// Uses `keys` (e.g. a KMS through [`crate::crypto::CallbackKeyProvider`]) for encryption at rest
    /// instead of the key ring the configuration names.
    pub fn set_key_provider(&self, keys: Arc<dyn crate::crypto::KeyProvider>) -> Result<()> {
        self.governed(
            "key.provider",
            Action::Admin,
            Resource::Lake,
            || {
                self.store.set_key_provider(keys);
                Ok(())
            },
            |_| None,
        )
    }

    /// Wraps and unwraps data keys through an external KMS from now on: `wrap` and `unwrap`
    /// are called with a key id, the data key (or its wrapped form) and the object's context;
    /// new objects are sealed under `active_key_id`. The C ABI's `strata_set_key_provider`
    /// comes here.
    pub fn use_kms(
        &self,
        active_key_id: &str,
        wrap: crate::crypto::WrapFn,
        unwrap: crate::crypto::WrapFn,
    ) -> Result<()> {
        let provider = crate::crypto::CallbackKeyProvider::new(active_key_id, wrap, unwrap);
        self.set_key_provider(Arc::new(provider))
    }

    /// What the caches did so far (hits, misses, bytes, evictions, per cache and tier).
    pub fn cache_stats(&self) -> crate::cache::CachesStats {
        self.store.cache_stats()
    }

    /// Drops the cached blocks of every object whose key starts with `prefix`.
    pub fn invalidate_cache(&self, prefix: &str) {
        // Changes nothing stored, shows nothing: no check.
        self.store.invalidate_cache(prefix)
    }

    /// The key workflows: new keys, rotation, retirement, masking keys.
    pub fn keys(&self) -> Keys<'_> {
        Keys::new(self)
    }
}

/// The bytes an object call moved, for its audit record.
fn size(info: &ObjectInfo) -> Option<u64> {
    Some(info.size)
}

impl Lake {
    /// A raw read of `key`'s bytes: checked, refused for a principal who may not see every
    /// column of a Parquet object in clear, and audited.
    fn raw_read<T>(
        &self,
        verb: &str,
        key: &str,
        work: impl FnOnce() -> Result<T>,
        bytes: impl FnOnce(&T) -> Option<u64>,
    ) -> Result<T> {
        let columns = self.authorize(verb, Action::Read, Resource::Object(key))?;
        self.check_raw_read(verb, key, &columns)?;
        self.recorded(verb, Action::Read, Resource::Object(key), work, bytes)
    }
}

// A lake is handed between threads and shared by the C ABI's handles.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Lake>();
};
