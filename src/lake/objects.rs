//! Objects of the lake as inputs of a [`crate::Scan`]: plaintext objects of an uncached local
//! tier are memory-mapped as files are; everything else is read by ranges, through the block
//! cache when the tier is cached (the parsed footer goes to the cache's footer cache when the
//! scan is given it).

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;

use super::Lake;
use crate::cache::{BlockCache, ReadTally};
use crate::error::Result;
use crate::read::{FileVersion, ObjectReader, ObjectSource, Scan};
use crate::store::{CachedObject, Store, TierFetch};

/// One object version open for a scan.
struct LakeObject {
    version: FileVersion,
    size: u64,
    local: Option<PathBuf>,
    read: Reads,
    /// Where the cache's hits and misses are counted for the scan's target.
    tally: Option<Arc<ReadTally>>,
}

enum Reads {
    Cached(BlockCache, CachedObject),
    Direct(Arc<TierFetch>),
}

impl ObjectReader for LakeObject {
    fn version(&self) -> FileVersion {
        self.version.clone()
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        use crate::cache::RangeFetch;
        match &self.read {
            Reads::Cached(cache, object) => cache.read_tallied(
                &object.version,
                range,
                &object.fetch,
                object.strategy,
                self.tally.as_deref(),
            ),
            Reads::Direct(fetch) => fetch.fetch(range),
        }
    }

    fn local_file(&self) -> Option<PathBuf> {
        self.local.clone()
    }
}

impl ObjectSource for Store {
    fn open_object(&self, name: &str) -> Result<Arc<dyn ObjectReader>> {
        open_object(self, name, None)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(Store::list(self, prefix)?
            .into_iter()
            .map(|info| info.key)
            .collect())
    }
}

/// Opens object `name` of `store` for a scan, its cached reads counted in `tally`.
fn open_object(
    store: &Store,
    name: &str,
    tally: Option<Arc<ReadTally>>,
) -> Result<Arc<dyn ObjectReader>> {
    let stored = store.open_version_blocking(name)?;
    store.note_read(name)?;
    let record = &stored.record;
    let object = crate::cache::ObjectVersion::new(name, &record.checksum, 0);
    let version = FileVersion {
        // Not a path on disk: a name no file of a scan can have.
        path: PathBuf::from(format!("lake:{}/{name}", store.dir().display())),
        len: record.plain_size(),
        modified: Some(UNIX_EPOCH + Duration::from_millis(record.created_ms)),
        inode: (u64::MAX, object.version),
    };
    let read = match store.cached_object(&stored)? {
        Some(cached) => Reads::Cached(store.cache().blocks().clone(), cached),
        None => Reads::Direct(Arc::new(store.tier_fetch(&stored)?)),
    };
    // A plaintext object of an uncached local tier is mapped as a file is; the path is the
    // file the version was opened from (a later overwrite gives the scan's next open the
    // new file, which the version check of the metadata cache tells apart).
    let local = match (&read, &record.enc, stored.file()) {
        (Reads::Direct(_), None, Some(_)) => stored.tier.local_file(name),
        _ => None,
    };
    let tally = match read {
        Reads::Cached(..) => tally,
        Reads::Direct(_) => None,
    };
    Ok(Arc::new(LakeObject {
        version,
        size: record.plain_size(),
        local,
        read,
        tally,
    }))
}

/// A lake's scans read through the lake itself: each scan (and each stream made from one)
/// holds its own share of the open data root, so it stays readable after the caller drops
/// its `Lake` (or a C caller frees its handle).
impl ObjectSource for Lake {
    fn open_object(&self, name: &str) -> Result<Arc<dyn ObjectReader>> {
        let object = self.store.open_object(name)?;
        self.note_object_read(name, object.size());
        Ok(object)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        ObjectSource::list(self.store.as_ref(), prefix)
    }
}

/// The objects of one dataset scan: the lake's, with their block-cache reads counted as the
/// dataset's.
#[derive(Debug)]
struct DatasetObjects {
    lake: Lake,
    tally: Option<Arc<ReadTally>>,
}

impl ObjectSource for DatasetObjects {
    fn open_object(&self, name: &str) -> Result<Arc<dyn ObjectReader>> {
        let object = open_object(&self.lake.store, name, self.tally.clone())?;
        self.lake.note_object_read(name, object.size());
        Ok(object)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        ObjectSource::list(self.lake.store.as_ref(), prefix)
    }
}

/// A scan of lake object `key`, or of the Parquet objects under prefix `key` as one dataset,
/// wired to the tiers, the caches and, when the lake has a key provider, Parquet decryption.
pub(super) fn scan(lake: &Lake, key: &str) -> Result<Scan> {
    // `sales/` names only the prefix (keys never end with '/'): checked as `sales` is.
    match key.strip_suffix('/') {
        Some(prefix) if !prefix.is_empty() => crate::store::validate_key(prefix)?,
        _ => crate::store::validate_key(key)?,
    }
    let guard = lake.scan_guard(crate::governance::Resource::Object(key), None)?;
    let store = &lake.store;
    let mut scan = Scan::new(key)
        .objects(Arc::new(DatasetObjects {
            lake: lake.clone(),
            tally: lake.cache_tally(key, "dataset"),
        }))
        .metadata_cache(store.cache().footers());
    if let Some(batches) = store.cache().batches() {
        scan = scan.decoded_cache(batches);
    }
    if let Some(keys) = store.existing_key_provider()? {
        scan = scan.decryption(crate::crypto::ParquetDecryption::from_provider(keys));
    }
    if let Some(guard) = lake.stats_guard(key, guard) {
        scan = scan.guard(guard);
    }
    Ok(scan)
}
