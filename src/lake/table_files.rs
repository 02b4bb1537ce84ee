//! The data files of a table on an object store as inputs of a scan: read by ranges, through
//! the lake's block cache when the tier is cached. A table's data files never change (each
//! write makes new names), so a file's path and size name its version.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::cache::{BlockCache, ObjectVersion, RangeFetch, ReadTally};
use crate::config::CacheStrategy;
use crate::error::{Error, ErrorKind, Result};
use crate::read::{FileVersion, ObjectReader, ObjectSource};
use crate::store::Store;

/// A table's files on one object store (names are full paths in the bucket).
pub(super) struct TableFiles {
    /// Keeps the I/O runtime the reads run on alive, whatever happens to the `Lake`.
    pub(super) store: Arc<Store>,
    pub(super) objects: Arc<dyn ObjectStore>,
    /// The tier (or `s3` for a table outside the lake), for the cache's latency figures.
    pub(super) tier: String,
    pub(super) cache: Option<(BlockCache, CacheStrategy)>,
    /// Where the cache's hits and misses on the table's files are counted for its statistics.
    pub(super) tally: Option<Arc<ReadTally>>,
}

impl std::fmt::Debug for TableFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableFiles")
            .field("tier", &self.tier)
            .finish()
    }
}

struct Fetch {
    objects: Arc<dyn ObjectStore>,
    path: ObjectPath,
    tier: String,
    handle: tokio::runtime::Handle,
}

impl RangeFetch for Fetch {
    fn tier(&self) -> &str {
        &self.tier
    }

    fn fetch(&self, range: Range<u64>) -> Result<Bytes> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::invalid(
                "strata's synchronous API was called from inside an async runtime",
            ));
        }
        self.handle
            .block_on(self.objects.get_range(&self.path, range))
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot read a table's data file: {e}"),
                )
                .with("path", &self.path)
            })
    }
}

struct TableFile {
    version: FileVersion,
    size: u64,
    fetch: Arc<dyn RangeFetch>,
    cached: Option<(BlockCache, ObjectVersion, CacheStrategy)>,
    tally: Option<Arc<ReadTally>>,
}

impl ObjectReader for TableFile {
    fn version(&self) -> FileVersion {
        self.version.clone()
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        match &self.cached {
            Some((cache, version, strategy)) => cache.read_tallied(
                version,
                range,
                &self.fetch,
                *strategy,
                self.tally.as_deref(),
            ),
            None => self.fetch.fetch(range),
        }
    }
}

impl ObjectSource for TableFiles {
    fn open_object(&self, name: &str) -> Result<Arc<dyn ObjectReader>> {
        let path = ObjectPath::parse(name)
            .map_err(|e| Error::invalid(format!("bad table file path {name:?}: {e}")))?;
        let handle = self.store.io_handle()?;
        let head = handle
            .block_on(self.objects.head(&path))
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => Error::new(
                    ErrorKind::NotFound,
                    "a data file the table's log names is gone",
                )
                .with("path", name),
                e => Error::new(
                    ErrorKind::Io,
                    format!("cannot open a table's data file: {e}"),
                )
                .with("path", name),
            })?;
        let tag = head.e_tag.clone().unwrap_or_default();
        let object = ObjectVersion::new(&format!("table:{name}"), &tag, head.size);
        let version = FileVersion {
            path: PathBuf::from(format!("table:{}/{name}", self.tier)),
            len: head.size,
            modified: Some(head.last_modified.into()),
            inode: (u64::MAX - 1, object.version),
        };
        let fetch: Arc<dyn RangeFetch> = Arc::new(Fetch {
            objects: self.objects.clone(),
            path,
            tier: self.tier.clone(),
            handle,
        });
        Ok(Arc::new(TableFile {
            version,
            size: head.size,
            fetch,
            cached: self
                .cache
                .as_ref()
                .map(|(cache, strategy)| (cache.clone(), object, *strategy)),
            tally: self.tally.clone(),
        }))
    }
}
