//! Parsed Parquet footers kept between scans, keyed by file version, so a file read again is
//! not parsed again. [`MetadataCache`] is the interface (the cache module puts its moka cache
//! behind it); [`MemoryMetadataCache`] is a small built-in one. A scan without a cache parses
//! the footer of each file it opens once.

use std::collections::HashMap;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use parquet::arrow::arrow_reader::ArrowReaderMetadata;

/// One version of a file: a rewrite in place changes the length or modification time, and a
/// replacement by rename (how strata's tiers write) changes the inode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileVersion {
    /// The file's path as given to the scan.
    pub path: PathBuf,
    /// Length in bytes.
    pub len: u64,
    /// Last modification time, where the platform has one.
    pub modified: Option<SystemTime>,
    /// Device and inode numbers (0 off Unix).
    pub inode: (u64, u64),
}

impl FileVersion {
    /// The version of `path` described by `meta`.
    pub fn new(path: &Path, meta: &Metadata) -> FileVersion {
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let inode = (0, 0);
        FileVersion {
            path: path.to_path_buf(),
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

/// Where scans keep and find parsed footers.
pub trait MetadataCache: Send + Sync + std::fmt::Debug {
    /// The footer of this file version, if kept.
    fn get(&self, version: &FileVersion) -> Option<ArrowReaderMetadata>;
    /// Keeps the footer of a file version.
    fn insert(&self, version: FileVersion, metadata: ArrowReaderMetadata);
}

/// A bounded map of footers. When full it forgets everything and starts again: footers are
/// cheap to re-parse, and this keeps the default free of an eviction policy (the cache module
/// has a real one).
#[derive(Debug)]
pub struct MemoryMetadataCache {
    capacity: usize,
    entries: Mutex<HashMap<FileVersion, ArrowReaderMetadata>>,
}

impl MemoryMetadataCache {
    /// A cache of at most `capacity` footers.
    pub fn new(capacity: usize) -> MemoryMetadataCache {
        MemoryMetadataCache {
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Footers held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no footer is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FileVersion, ArrowReaderMetadata>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MetadataCache for MemoryMetadataCache {
    fn get(&self, version: &FileVersion) -> Option<ArrowReaderMetadata> {
        self.lock().get(version).cloned()
    }

    fn insert(&self, version: FileVersion, metadata: ArrowReaderMetadata) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&version) {
            entries.clear();
        }
        entries.insert(version, metadata);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scan;
    use arrow::array::{ArrayRef, Int64Array, RecordBatch};
    use std::sync::Arc;

    fn write(path: &Path, n: i64) {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n));
        let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(path).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[test]
    fn footers_are_reused_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.parquet");
        write(&path, 10);
        let cache = Arc::new(MemoryMetadataCache::new(8));
        let scan = || {
            Scan::new(&path)
                .metadata_cache(cache.clone())
                .count()
                .unwrap()
                .0
        };
        assert_eq!(scan(), 10);
        assert_eq!(cache.len(), 1);
        assert_eq!(scan(), 10);
        assert_eq!(cache.len(), 1, "the same version is parsed once");
        // Replaced by rename, as strata's tiers do: a new version, never the stale footer.
        let next = dir.path().join("b.parquet");
        write(&next, 25);
        std::fs::rename(&next, &path).unwrap();
        assert_eq!(scan(), 25);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn a_full_cache_starts_again() {
        let cache = MemoryMetadataCache::new(1);
        let dir = tempfile::tempdir().unwrap();
        for (i, n) in [3, 4].into_iter().enumerate() {
            let path = dir.path().join(format!("{i}.parquet"));
            write(&path, n);
            Scan::new(&path)
                .metadata_cache(Arc::new(MemoryMetadataCache::new(1)))
                .count()
                .unwrap();
            let file = std::fs::File::open(&path).unwrap();
            let meta = ArrowReaderMetadata::load(&file, Default::default()).unwrap();
            cache.insert(FileVersion::new(&path, &file.metadata().unwrap()), meta);
            assert_eq!(cache.len(), 1);
        }
    }
}
