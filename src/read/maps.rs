//! Maps of recently scanned files, kept so that scanning a file again starts with its pages
//! mapped already.
//!
//! Mapping a file costs little; filling its page tables does not. On a warm page cache a scan
//! of a freshly mapped file spends a good part of its time mapping pages in (a fault or a
//! populate call per 4 KiB page) and, when the map is dropped, tearing them down again: a
//! 2-column projection of a 1 GiB file took 1.37x the time of the same decode over bytes
//! already in memory. The next scan of the same file version reuses a kept map, whose pages
//! are then mapped already.
//!
//! What a kept map costs: address space, page tables (about 2 MB per GB mapped), resident
//! file pages counted in the process's RSS (shared with the page cache, reclaimable by the
//! kernel), and, for a file deleted or replaced meanwhile, its blocks on disk until the map is
//! dropped. So at most [`kept_maps`] maps are kept (64 by default; 0 keeps none), each for at
//! most [`KEEP_IDLE`] after its last use (checked whenever a file is mapped), and
//! [`forget_maps`] drops them all at once. A file rewritten in place has a new version (length
//! or modification time) and so gets a new map. Off Unix no map is kept: there a mapped file
//! cannot be deleted or replaced. The settings are process-wide, reached as
//! `strata::tuning::{set_kept_maps, kept_maps, forget_maps}`.

use std::collections::BTreeSet;
use std::fs::File;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use memmap2::Mmap;

use super::metadata::FileVersion;

/// How long a kept map survives without being used.
pub const KEEP_IDLE: Duration = Duration::from_secs(30);

static CAPACITY: AtomicUsize = AtomicUsize::new(if cfg!(unix) { 64 } else { 0 });
static KEPT: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

struct Kept {
    version: FileVersion,
    map: Arc<FileMap>,
    used: Instant,
}

/// A read-only map of a file, and the ranges of it already paged in.
pub(crate) struct FileMap {
    map: Mmap,
    /// Start offsets of the ranges paged in: a kept map's page tables stay filled, and walking
    /// them again costs a tenth of a projection's time. (A B-tree, not a hash set: maps kept
    /// until exit must show as reachable to leak checkers, and a hash table is only pointed
    /// into, which valgrind reports as "possibly lost".)
    paged: Mutex<BTreeSet<usize>>,
}

impl FileMap {
    fn new(map: Mmap) -> Arc<FileMap> {
        Arc::new(FileMap {
            map,
            paged: Mutex::new(BTreeSet::new()),
        })
    }

    /// Pages in `len` bytes from `start` (a column chunk), unless done before: one
    /// `MADV_POPULATE_READ` maps the pages the decoder would otherwise fault in one at a time.
    /// Advice only: a kernel without it (before Linux 5.14) just faults as before; pages the
    /// kernel reclaims meanwhile are faulted in again as usual.
    pub(crate) fn page_in(&self, start: usize, len: usize) {
        #[cfg(target_os = "linux")]
        if start
            .checked_add(len)
            .is_some_and(|end| end <= self.map.len())
            && self
                .paged
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(start)
        {
            let _ = self
                .map
                .advise_range(memmap2::Advice::PopulateRead, start, len);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (start, len);
    }
}

impl AsRef<[u8]> for FileMap {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

/// A shared file map as the owner of `Bytes`.
pub(crate) struct SharedMap(pub(crate) Arc<FileMap>);

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        &self.0.map
    }
}

fn kept() -> MutexGuard<'static, Vec<Kept>> {
    KEPT.lock().unwrap_or_else(|p| p.into_inner())
}

/// How many file maps are kept between scans (process-wide).
pub fn kept_maps() -> usize {
    CAPACITY.load(Ordering::Relaxed)
}

/// Sets how many file maps are kept between scans (process-wide); 0 keeps none and drops
/// those kept. Ignored off Unix, where none are kept.
pub fn set_kept_maps(maps: usize) {
    if cfg!(unix) {
        CAPACITY.store(maps, Ordering::Relaxed);
        trim(maps);
    }
}

/// Drops every kept map now, e.g. after deleting files whose disk space must come back.
pub fn forget_maps() {
    trim(0);
}

/// Drops the kept maps of files under `dir` (a table rewrite's files, which the commit removes:
/// their pages would only swell the process's RSS until they expire).
pub(crate) fn forget_under(dir: &std::path::Path) {
    let dropped: Vec<Kept> = {
        let mut kept = kept();
        let (gone, live): (Vec<Kept>, Vec<Kept>) = std::mem::take(&mut *kept)
            .into_iter()
            .partition(|k| k.version.path.starts_with(dir));
        *kept = live;
        gone
    };
    drop(dropped);
}

/// Drops kept maps beyond `capacity`, least recently used first (unmapped outside the lock).
fn trim(capacity: usize) {
    let dropped: Vec<Kept> = {
        let mut kept = kept();
        kept.sort_by_key(|k| std::cmp::Reverse(k.used));
        let keep = kept.len().min(capacity);
        kept.split_off(keep)
    };
    drop(dropped);
}

/// A read-only map of `file`, whose version is `version`: a kept one if there is one.
///
/// # Safety
/// As for [`Mmap::map`]: the caller accepts that the file may change under the map (see the
/// source module's docs on files that change).
pub(crate) unsafe fn map(version: &FileVersion, file: &File) -> std::io::Result<Arc<FileMap>> {
    let capacity = kept_maps();
    if capacity == 0 {
        // SAFETY: the caller's contract.
        return Ok(FileMap::new(unsafe { Mmap::map(file)? }));
    }
    let now = Instant::now();
    let (found, expired) = {
        let mut kept = kept();
        let (live, expired): (Vec<Kept>, Vec<Kept>) = std::mem::take(&mut *kept)
            .into_iter()
            .partition(|k| now.duration_since(k.used) < KEEP_IDLE);
        *kept = live;
        let found = kept.iter_mut().find(|k| k.version == *version).map(|k| {
            k.used = now;
            k.map.clone()
        });
        (found, expired)
    };
    drop(expired);
    if let Some(map) = found {
        return Ok(map);
    }
    // SAFETY: the caller's contract.
    let map = FileMap::new(unsafe { Mmap::map(file)? });
    {
        let mut kept = kept();
        // Read again under the lock: `set_kept_maps(0)` may have run meanwhile.
        if kept_maps() > 0 && !kept.iter().any(|k| k.version == *version) {
            kept.push(Kept {
                version: version.clone(),
                map: map.clone(),
                used: now,
            });
        }
    }
    trim(kept_maps());
    Ok(map)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;

    /// One test drives the process-wide state, so that parallel tests do not race on it.
    #[test]
    fn maps_are_kept_per_version_bounded_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str, body: &[u8]| {
            let path = dir.path().join(name);
            std::fs::File::create(&path)
                .unwrap()
                .write_all(body)
                .unwrap();
            let file = File::open(&path).unwrap();
            let version = FileVersion::new(&path, &file.metadata().unwrap());
            (path, file, version)
        };
        let (path, file, version) = open("a", b"first version");
        let first = unsafe { map(&version, &file) }.unwrap();
        let again = unsafe { map(&version, &file) }.unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the same version reuses its map"
        );

        // A replacement by rename is a new version (inode), with its own map and bytes.
        let (tmp, _, _) = open("a.tmp", b"second, longer version");
        std::fs::rename(&tmp, &path).unwrap();
        let file = File::open(&path).unwrap();
        let replaced = FileVersion::new(&path, &file.metadata().unwrap());
        assert_ne!(replaced, version);
        let second = unsafe { map(&replaced, &file) }.unwrap();
        assert_eq!(&second.map[..], b"second, longer version");
        assert_eq!(
            &first.map[..],
            b"first version",
            "the old map still shows the old file"
        );

        // Bounded: with room for one, at most one is kept; with none, nothing is. Other
        // tests scan meanwhile, so only what they cannot change is asserted.
        let holds = |v: &FileVersion| kept().iter().any(|k| k.version == *v);
        set_kept_maps(1);
        assert!(kept().len() <= 1);
        assert!(!holds(&version), "the older map went first");
        set_kept_maps(0);
        assert!(kept().is_empty());
        let uncached = unsafe { map(&replaced, &file) }.unwrap();
        assert!(!Arc::ptr_eq(&uncached, &second), "none kept at capacity 0");
        assert!(!holds(&replaced));
        set_kept_maps(64);
        let _ = unsafe { map(&replaced, &file) }.unwrap();
        assert!(holds(&replaced));
        forget_maps();
        assert!(!holds(&replaced));
    }
}
