//! The audit log's own thread: the work an append used to do on its caller's thread. It
//! fills in the records' hashes (audit_chain.rs), in order; it seals the segments the
//! appenders filled (their last hashes filled, cut, `fdatasync`, the signed digest), in
//! order, so each digest names the one before; it keeps a spare segment file created and
//! mapped, so that starting the next segment is a rename; and, with `Durability::Interval`,
//! it fills and syncs the open segment once per interval (with `EveryAppend`, it fills as
//! records come: the appenders sync).
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

use super::chain::fill_part;
use super::{
    digest_path, hash64, hex, map_segment, numbered, records_part, segment_path, sign, write_at,
    Head, SegmentDigest, AUDIT_FORMAT, GENESIS, PREFAULT,
};
use crate::error::{Error, ErrorKind, Result};

/// The spare segment file, made ahead and renamed to the next segment's name when the open
/// one is full. Its name is not a segment's (`numbered` skips it): readers never see it.
pub(super) fn spare_path(dir: &Path) -> PathBuf {
    dir.join("segments").join("next.spare")
}

/// The next segment's file, made and mapped ahead.
pub(super) struct Spare {
    pub file: File,
    pub map: Arc<memmap2::MmapRaw>,
    /// Its first bytes faulted in writable: the next segment's first records fault nothing.
    pub prefaulted: usize,
}

/// A segment the appenders filled, waiting for its digest.
pub(super) struct FullSegment {
    pub segment: u64,
    pub file: Arc<File>,
    /// Its map: the records are `map[..len]`, the rest zeros.
    pub map: Arc<memmap2::MmapRaw>,
    pub len: usize,
    pub first: u64,
    pub last: u64,
}

/// How far the records' hashes are filled in: segment `segment` up to byte `filled`, the
/// last filled record's hash `last_hash`. Only the log's thread fills, in order.
pub(super) struct Chain {
    pub segment: u64,
    pub filled: usize,
    pub last_hash: [u8; 64],
}

impl Chain {
    /// Fills segment `segment`'s records in `map[self.filled..len]` (whole records, all
    /// written before `len` was read under the log's lock).
    fn fill(&mut self, segment: u64, map: &memmap2::MmapRaw, len: usize) -> Result<()> {
        if segment != self.segment || len < self.filled || len > map.len() {
            return Err(Error::internal(format!(
                "the audit log's hashes are filled to segment {} byte {}, asked for segment {segment} byte {len}",
                self.segment, self.filled
            )));
        }
        // SAFETY: `filled..len` is inside the map (checked above), and holds whole records
        // appenders copied in before `len` was read under the log's lock (which orders their
        // writes before this); appenders write only past `len`, and only this thread fills:
        // nothing else reads or writes these bytes while this slice lives.
        let part = unsafe {
            std::slice::from_raw_parts_mut(map.as_mut_ptr().add(self.filled), len - self.filled)
        };
        fill_part(part, &mut self.last_hash).map_err(|at| {
            Error::new(
                ErrorKind::Corrupt,
                format!(
                    "audit segment {segment}: the record at byte {} is not laid out as a record",
                    self.filled + at
                ),
            )
        })?;
        self.filled = len;
        Ok(())
    }
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
    pub spare: Option<Spare>,
    /// Whether the thread should make a spare (cleared after it tried, so a failing file
    /// system does not keep it busy: the appender then makes the segment itself).
    pub want_spare: bool,
    /// Records were written since the last interval sync.
    pub dirty: bool,
    pub last_sync: Instant,
    /// `Some(interval)` with `Durability::Interval`: sync the open segment that often.
    pub sync_every: Option<Duration>,
    /// `settle` asks for every record written so far to be filled now.
    pub fill_now: bool,
    /// The appenders are past half the pages faulted in ahead: fault in more.
    pub prefault: bool,
    /// Faulting in ahead failed (a kernel without `MADV_POPULATE_WRITE`): not tried again.
    pub prefault_off: bool,
    /// The thread waits for work: an appender asking for some wakes it (only then).
    pub idle: bool,
    pub stop: bool,
    /// Records per segment (the appenders start the next one at this many).
    pub segment_records: u64,
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
            fill_now: false,
            prefault: true,
            prefault_off: false,
            idle: false,
            stop: false,
            segment_records: super::SEGMENT_RECORDS,
        }
    }

    /// Whether every full segment has its digest (and the fill `settle` asked for is done).
    pub(super) fn settled(&self) -> bool {
        self.to_seal.is_empty() && !self.sealing && !self.fill_now
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

/// The thread's loop, until `stop` (after sealing what was queued and filling the rest).
pub(super) fn run(shared: Arc<Shared>, mut chain: Chain) {
    let mut head = shared.lock();
    loop {
        // The spare before a seal: an appender that fills the open segment before the spare
        // is ready makes the next one itself, on its own time (seen in a flat-out append).
        if head.work.want_spare && head.work.spare.is_none() && !head.work.stop {
            head.work.want_spare = false;
            let prefault_off = head.work.prefault_off;
            drop(head);
            let spare = map_segment(&spare_path(&shared.dir), 0).map(|(file, map)| {
                // Its first pages faulted in now, off the lock: else an appender's first
                // writes to the next segment fault them in, reading ahead over the file's
                // hole (in the gets bench, such faults were 0.8% of the caller's time, perf).
                let n = PREFAULT.min(map.len());
                let prefaulted = if prefault_off {
                    0
                } else {
                    map.advise_range(memmap2::Advice::PopulateWrite, 0, n)
                        .map_or(0, |()| n)
                };
                Spare {
                    file,
                    map,
                    prefaulted,
                }
            });
            head = shared.lock();
            match spare {
                Ok(spare) => head.work.spare = Some(spare),
                Err(e) => tracing::warn!("cannot make the audit log's spare segment: {e}"),
            }
            continue;
        }
        if head.work.prefault && !head.work.prefault_off && !head.work.stop {
            head = prefault(&shared, head);
            continue;
        }
        if head.failed.is_none() {
            if let Some(full) = head.work.to_seal.pop_front() {
                head.work.sealing = true;
                let previous = head.work.previous_digest.clone();
                drop(head);
                let sealed = seal_full(&shared, &mut chain, full, &previous);
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
        }
        if head.failed.is_some() {
            // Nothing more is written: `settle` and the appenders see the failure.
            head.work.to_seal.clear();
            head.work.fill_now = false;
            shared.done.notify_all();
            if head.work.stop {
                return;
            }
            head = wait_for_work(&shared, head, None);
            continue;
        }
        let work = &mut head.work;
        let due = match work.sync_every {
            Some(every) if work.dirty => Some(work.last_sync + every),
            _ => None,
        };
        let fill = work.fill_now || work.stop || (work.dirty && work.sync_every.is_none());
        if !fill {
            match due {
                Some(due) if Instant::now() < due => {
                    let wait = due - Instant::now();
                    head = wait_for_work(&shared, head, Some(wait));
                    continue;
                }
                Some(_) => {}
                None => {
                    head = wait_for_work(&shared, head, None);
                    continue;
                }
            }
        }
        // Fill what was written (and sync it, when the interval is due): off the lock, the
        // appenders writing on past `len`.
        let sync = due.is_some_and(|due| Instant::now() >= due) || head.work.stop;
        let (asked, stop) = (head.work.fill_now, head.work.stop);
        // A fill alone (`settle`'s, between interval syncs) leaves the records to the next
        // sync: only a sync, or a fill under `EveryAppend` (whose appenders sync), is done
        // with them.
        if sync || head.work.sync_every.is_none() {
            head.work.dirty = false;
        }
        let (segment, map, len, file) =
            (head.segment, head.map.clone(), head.len, head.file.clone());
        drop(head);
        let mut done = chain.fill(segment, &map, len);
        if sync && done.is_ok() {
            // The map's dirty pages are the file's page cache: fdatasync writes them.
            unmap_for_sync(&map);
            done = file.sync_data().map_err(|e| {
                Error::io(
                    "cannot sync the audit log",
                    &super::segment_path(&shared.dir, segment),
                    e,
                )
            });
        }
        head = shared.lock();
        if sync {
            head.work.last_sync = Instant::now();
            // The pages faulted in ahead were unmapped for the sync (and written, zeros):
            // an appender's write would fault. Fault them in again.
            if head.segment == segment {
                head.prefaulted = head.len;
                head.work.prefault = true;
            }
        }
        if let Err(e) = done {
            head.failed.get_or_insert(e.to_string());
        }
        if asked {
            head.work.fill_now = false;
        }
        shared.done.notify_all();
        if stop {
            return;
        }
    }
}

/// What one fault-in ahead does: map bytes `from..to`, and where the appenders ask for the
/// next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FaultIn {
    pub from: usize,
    pub to: usize,
    pub ask_at: usize,
}

impl FaultIn {
    /// The fault-in for a segment whose records end at `len` (`in_segment` of the
    /// `segment_records` it holds), faulted in up to `prefaulted`, mapped up to `map_len`.
    pub(super) fn plan(
        prefaulted: usize,
        len: usize,
        map_len: usize,
        in_segment: u64,
        segment_records: u64,
    ) -> FaultIn {
        let from = prefaulted.max(len);
        let mut to = len.saturating_add(PREFAULT).min(map_len);
        if let Some(per_record) = len.checked_div(in_segment as usize) {
            // Near the segment's end, no further than its records will reach (as long as
            // those so far, and a page): zeros faulted in past the last record are written by
            // the interval syncs, then freed (and, on a file system mounted with `discard`,
            // discarded) when the seal cuts the file to its records: ext4_truncate and its
            // discard were a third of this thread's samples in the gets bench (perf), now gone.
            let left = segment_records.saturating_sub(in_segment) as usize;
            let reach = left.saturating_add(1).saturating_mul(per_record);
            to = to.min(len.saturating_add(reach).saturating_add(4096));
        }
        // The appenders ask again once half of what is faulted in ahead is used, and at least
        // a page on: near the segment's end, where `to` stops at the records' reach, asking at
        // `to - PREFAULT / 2` (as this did) asked at every append of a segment's last ~430
        // records: 3,087 wakes of this thread per 100k gets (strace), not ~300, and the
        // caller preempted by it ~2,500 times.
        let ask_at = to
            .saturating_sub(PREFAULT / 2)
            .max(len.saturating_add(to.saturating_sub(len) / 2))
            .max(len.saturating_add(4096));
        FaultIn { from, to, ask_at }
    }
}

/// Waits on `shared.work` (at most `timeout`), marked idle meanwhile: appenders wake the
/// thread only then.
fn wait_for_work<'a>(
    shared: &'a Shared,
    mut head: MutexGuard<'a, Head>,
    timeout: Option<Duration>,
) -> MutexGuard<'a, Head> {
    head.work.idle = true;
    let mut head = match timeout {
        Some(t) => {
            shared
                .work
                .wait_timeout(head, t)
                .unwrap_or_else(|p| p.into_inner())
                .0
        }
        None => shared.work.wait(head).unwrap_or_else(|p| p.into_inner()),
    };
    head.work.idle = false;
    head
}

/// Faults in the open segment's map writable up to `PREFAULT` bytes past its last record,
/// off the lock (the appenders write on meanwhile; the fault-in changes no byte).
fn prefault<'a>(shared: &'a Shared, mut head: MutexGuard<'a, Head>) -> MutexGuard<'a, Head> {
    head.work.prefault = false;
    let map = head.map.clone();
    let ahead = FaultIn::plan(
        head.prefaulted,
        head.len,
        map.len(),
        head.in_segment,
        head.work.segment_records,
    );
    head.prefault_at = ahead.ask_at;
    let (from, to) = (ahead.from, ahead.to);
    if from >= to {
        return head;
    }
    drop(head);
    let done = map.advise_range(memmap2::Advice::PopulateWrite, from, to - from);
    let mut head = shared.lock();
    match done {
        // Only if the segment did not change meanwhile.
        Ok(()) if Arc::ptr_eq(&head.map, &map) => head.prefaulted = head.prefaulted.max(to),
        Ok(()) => {}
        // Not a kernel that can (before Linux 5.14): the appenders fault pages in.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            tracing::debug!("audit segments are not faulted in ahead: {e}");
            head.work.prefault_off = true;
        }
        // A segment cut meanwhile (grown, sealed): the next round faults in the new one.
        Err(_) => {}
    }
    head
}

/// Unmaps the whole of `map` (its pages stay in the file's page cache, dirty) before a sync
/// writes it. Writeback write-protects each mapped page it writes, and each of those is a TLB
/// shootdown: an interrupt of the core the appender runs on, then a write fault when it next
/// writes that page (the pages faulted in ahead). Unmapped first, a range costs one; the
/// appender's next write faults its page back in, as it would have after the write-protect.
/// In the gets bench (about 112k records), this thread's TLB flushes went from 11,528 (6,889
/// of them interrupts sent to the other core) to 144 (95).
fn unmap_for_sync(map: &memmap2::MmapRaw) {
    // SAFETY: `MADV_DONTNEED` on a shared file mapping drops page table entries only: the
    // pages and their bytes stay in the file's page cache (a dirty entry marks its page
    // dirty), and the next access maps them again. No one holds a reference into the map
    // (appenders and the fill write through its pointer), and every byte reads the same
    // after as before: nothing can observe it but as page faults.
    let dropped =
        unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, map.len()) };
    if let Err(e) = dropped {
        // Only the shootdowns are not saved: the sync is the same.
        tracing::debug!("audit segment not unmapped before its sync: {e}");
    }
}

/// Fills `full`'s last hashes, cuts it to its records, syncs it and writes its digest;
/// returns the digest's SHA-256. The chain moves on to the next segment.
fn seal_full(
    shared: &Shared,
    chain: &mut Chain,
    full: FullSegment,
    previous: &str,
) -> Result<String> {
    let path = segment_path(&shared.dir, full.segment);
    chain.fill(full.segment, &full.map, full.len)?;
    unmap_for_sync(&full.map);
    full.file
        .set_len(full.len as u64)
        .and_then(|()| full.file.sync_data())
        .map_err(|e| Error::io("cannot seal an audit segment", &path, e))?;
    let last_hash = String::from_utf8_lossy(&chain.last_hash).into_owned();
    *chain = Chain {
        segment: full.segment + 1,
        filled: 0,
        last_hash: chain.last_hash,
    };
    write_digest(
        &shared.dir,
        &shared.key,
        &shared.lake,
        Sealed {
            segment: full.segment,
            first: full.first,
            last: full.last,
            last_hash: &last_hash,
            bytes: full.len as u64,
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
    bytes: u64,
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
        segment_sha256: None,
        bytes: Some(s.bytes),
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
        // The digest before: its SHA-256, and its last hash, which this segment's chain
        // continues (its pending hashes are filled from it).
        let (previous, mut last_hash) = if n == 1 {
            (GENESIS.to_string(), [b'0'; 64])
        } else {
            match std::fs::read(digest_path(dir, n - 1)) {
                Ok(bytes) => {
                    let digest: SegmentDigest = serde_json::from_slice(&bytes).map_err(|e| {
                        Error::new(
                            ErrorKind::Corrupt,
                            format!("audit digest {} is damaged: {e}", n - 1),
                        )
                    })?;
                    let last = hash64(&digest.last_hash).ok_or_else(|| {
                        Error::new(
                            ErrorKind::Corrupt,
                            format!(
                                "audit digest {} is damaged: its last hash is not 64 digits",
                                n - 1
                            ),
                        )
                    })?;
                    (hex(&Sha256::digest(&bytes)), last)
                }
                // The digest before is missing too: not a crash's leftover.
                Err(_) => break,
            }
        };
        let path = segment_path(dir, n);
        let mut bytes = std::fs::read(&path)
            .map_err(|e| Error::io("cannot read an audit segment", &path, e))?;
        let whole = records_part(&bytes).len();
        let part = &mut bytes[..whole];
        let span = super::span(
            part,
            n,
            "was left unsealed with a damaged record",
            &mut last_hash,
        )?;
        let (Some(first), Some(last)) = (span.first, span.last) else {
            break;
        };
        if span.filled {
            write_at(&path, part)?;
        }
        let last_hash = String::from_utf8_lossy(&last_hash).into_owned();
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
                bytes: whole as u64,
                previous_digest: &previous,
            },
        )?;
        tracing::warn!("audit segment {n} was left without a digest (the writer stopped): sealed");
        sealed.push(n);
    }
    Ok(sealed)
}
