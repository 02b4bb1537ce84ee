//! The audit log's own thread: the slow file work an append used to do on its caller's
//! thread. It seals the segments the appenders filled (cut, `fdatasync`, SHA-256, the signed
//! digest), in order, so each digest names the one before; it keeps a spare segment file
//! created and mapped, so that starting the next segment is a rename; and, with
//! `Durability::Interval`, it syncs the open segment once per interval.
//!
//! On opening, a full segment left without a digest (the writer stopped between starting the
//! next segment and sealing this one) is sealed before anything is appended
//! ([`seal_left_over`]).

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{
    digest_path, hex, map_segment, numbered, records_part, segment_path, sign, Head, SegmentDigest,
    AUDIT_FORMAT, GENESIS,
};
use crate::error::{Error, Result};

/// The spare segment file, made ahead and renamed to the next segment's name when the open
/// one is full. Its name is not a segment's (`numbered` skips it): readers never see it.
pub(super) fn spare_path(dir: &Path) -> PathBuf {
    dir.join("segments").join("next.spare")
}

/// A segment the appenders filled, waiting for its digest.
pub(super) struct FullSegment {
    pub segment: u64,
    pub file: Arc<File>,
    /// Its map: the records are `map[..len]`, the rest zeros.
    pub map: memmap2::MmapMut,
    pub len: usize,
    pub first: u64,
    pub last: u64,
    pub last_hash: String,
}

/// What the appenders and the thread share, under the log's one lock.
pub(super) struct Work {
    /// Full segments to seal, oldest first.
    pub to_seal: VecDeque<FullSegment>,
    /// Whether the thread is sealing one now (taken off `to_seal`).
    pub sealing: bool,
    /// The SHA-256 of the last digest written: the next digest names it.
    pub previous_digest: String,
    /// A segment file made and mapped ahead, for the appender to rename.
    pub spare: Option<(File, memmap2::MmapMut)>,
    /// Whether the thread should make a spare (cleared after it tried, so a failing file
    /// system does not keep it busy: the appender then makes the segment itself).
    pub want_spare: bool,
    /// Records were written since the last interval sync.
    pub dirty: bool,
    pub last_sync: Instant,
    /// `Some(interval)` with `Durability::Interval`: sync the open segment that often.
    pub sync_every: Option<Duration>,
    pub stop: bool,
}

impl Work {
    pub(super) fn new(previous_digest: String) -> Work {
        Work {
            to_seal: VecDeque::new(),
            sealing: false,
            previous_digest,
            spare: None,
            want_spare: true,
            dirty: false,
            last_sync: Instant::now(),
            sync_every: None,
            stop: false,
        }
    }

    /// Whether every full segment has its digest.
    pub(super) fn settled(&self) -> bool {
        self.to_seal.is_empty() && !self.sealing
    }
}

/// What the appenders and the thread share.
pub(super) struct Shared {
    pub dir: PathBuf,
    pub key: Vec<u8>,
    pub lake: String,
    pub head: Mutex<Head>,
    /// Wakes the thread: a segment to seal, the first write after a sync, the stop.
    pub work: Condvar,
    /// Wakes appenders and `settle`: a sync or a seal ended.
    pub done: Condvar,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Head> {
        self.head.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The thread's loop, until `stop` (after sealing what was queued).
pub(super) fn run(shared: Arc<Shared>) {
    let mut head = shared.lock();
    loop {
        // The spare before a seal: an appender that fills the open segment before the spare
        // is ready makes the next one itself, on its own time (seen in a flat-out append).
        if head.work.want_spare && head.work.spare.is_none() && !head.work.stop {
            head.work.want_spare = false;
            drop(head);
            let spare = map_segment(&spare_path(&shared.dir), 0);
            head = shared.lock();
            match spare {
                Ok(spare) => head.work.spare = Some(spare),
                Err(e) => tracing::warn!("cannot make the audit log's spare segment: {e}"),
            }
            continue;
        }
        if let Some(full) = head.work.to_seal.pop_front() {
            head.work.sealing = true;
            let previous = head.work.previous_digest.clone();
            drop(head);
            let sealed = seal_full(&shared, full, &previous);
            head = shared.lock();
            head.work.sealing = false;
            match sealed {
                Ok(digest_sha) => head.work.previous_digest = digest_sha,
                Err(e) => {
                    head.failed.get_or_insert(e.to_string());
                }
            }
            shared.done.notify_all();
            continue;
        }
        if head.work.stop {
            return;
        }
        if head.failed.is_some() {
            head = shared.work.wait(head).unwrap_or_else(|p| p.into_inner());
            continue;
        }
        let work = &mut head.work;
        match work.sync_every {
            Some(every) if work.dirty => {
                let due = work.last_sync + every;
                let now = Instant::now();
                if now < due {
                    head = shared
                        .work
                        .wait_timeout(head, due - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                    continue;
                }
                work.dirty = false;
                let file = head.file.clone();
                drop(head);
                // The map's dirty pages are the file's page cache: fdatasync writes them.
                let synced = file.sync_data();
                head = shared.lock();
                head.work.last_sync = Instant::now();
                if let Err(e) = synced {
                    head.failed
                        .get_or_insert(format!("cannot sync the audit log: {e}"));
                    shared.done.notify_all();
                }
            }
            _ => head = shared.work.wait(head).unwrap_or_else(|p| p.into_inner()),
        }
    }
}

/// Cuts `full` to its records, syncs it and writes its digest; returns the digest's SHA-256.
fn seal_full(shared: &Shared, full: FullSegment, previous: &str) -> Result<String> {
    let path = segment_path(&shared.dir, full.segment);
    full.file
        .set_len(full.len as u64)
        .and_then(|()| full.file.sync_data())
        .map_err(|e| Error::io("cannot seal an audit segment", &path, e))?;
    let sha = hex(&Sha256::digest(&full.map[..full.len]));
    write_digest(
        &shared.dir,
        &shared.key,
        &shared.lake,
        Sealed {
            segment: full.segment,
            first: full.first,
            last: full.last,
            last_hash: &full.last_hash,
            segment_sha256: &sha,
            previous_digest: previous,
        },
    )
}

/// What a digest says of its segment.
struct Sealed<'a> {
    segment: u64,
    first: u64,
    last: u64,
    last_hash: &'a str,
    segment_sha256: &'a str,
    previous_digest: &'a str,
}

/// Signs and writes segment `s.segment`'s digest; returns the SHA-256 of its bytes.
fn write_digest(dir: &Path, key: &[u8], lake: &str, s: Sealed) -> Result<String> {
    let mut digest = SegmentDigest {
        format: AUDIT_FORMAT,
        lake: lake.to_string(),
        segment: s.segment,
        first: s.first,
        last: s.last,
        last_hash: s.last_hash.to_string(),
        segment_sha256: s.segment_sha256.to_string(),
        previous_digest: s.previous_digest.to_string(),
        signature: String::new(),
    };
    digest.signature = sign(key, &digest)?;
    let bytes = serde_json::to_vec_pretty(&digest)
        .map_err(|e| Error::internal(format!("cannot encode a digest: {e}")))?;
    let path = digest_path(dir, s.segment);
    let mut file = crate::atomic_file::AtomicFile::create(&path)?;
    file.write_all(&bytes)
        .map_err(|e| Error::io("cannot write an audit digest", &path, e))?;
    file.commit()?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Seals, in order, the segments after the last digest that are not the last segment: full
/// segments whose writer stopped before their digest was written. Returns their numbers.
/// A segment without a digest before a sealed one is not sealed here (that is a removed
/// digest, which `verify` reports); nor is one with a damaged record (an error).
pub(super) fn seal_left_over(dir: &Path, key: &[u8], lake: &str) -> Result<Vec<u64>> {
    let segments = numbered(&dir.join("segments"), ".jsonl")?;
    let last_digest = numbered(&dir.join("digests"), ".json")?
        .last()
        .copied()
        .unwrap_or(0);
    let mut sealed = Vec::new();
    let Some((_open, older)) = segments.split_last() else {
        return Ok(sealed);
    };
    for &n in older.iter().filter(|n| **n > last_digest) {
        let previous = if n == 1 {
            GENESIS.to_string()
        } else {
            match std::fs::read(digest_path(dir, n - 1)) {
                Ok(bytes) => hex(&Sha256::digest(&bytes)),
                // The digest before is missing too: not a crash's leftover.
                Err(_) => break,
            }
        };
        let path = segment_path(dir, n);
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::io("cannot read an audit segment", &path, e))?;
        let part = records_part(&bytes);
        let span = super::span(part, n, "was left unsealed with a damaged record")?;
        let (Some(first), Some((last, last_hash))) = (span.first, span.last) else {
            break;
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("cannot open an audit segment", &path, e))?;
        file.set_len(part.len() as u64)
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io("cannot seal an audit segment", &path, e))?;
        write_digest(
            dir,
            key,
            lake,
            Sealed {
                segment: n,
                first,
                last,
                last_hash: &last_hash,
                segment_sha256: &hex(&Sha256::digest(part)),
                previous_digest: &previous,
            },
        )?;
        tracing::warn!("audit segment {n} was left without a digest (the writer stopped): sealed");
        sealed.push(n);
    }
    Ok(sealed)
}
