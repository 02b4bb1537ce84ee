//! The tamper-evident audit log: records chained by hash, sealed in segments, each segment
//! closed by a digest signed with HMAC-SHA256 under an audit key, each digest naming the one
//! before it (as CloudTrail's digest files do).
//!
//! Layout under the log's directory, format 2:
//! - `segments/<n, 12 digits>.jsonl`: one record per line; each record carries its number,
//!   the hash of the record before it and its own hash (SHA-256 over the previous hash and the
//!   record's canonical JSON without the hash);
//! - `digests/<n>.json`: written when segment `n` is sealed: its first and last record, the
//!   last record's hash, the segment's length in bytes, the SHA-256 of the previous digest
//!   file, the lake's id, and the HMAC of all that. The last hash chains every record of the
//!   segment (and, through `prev`, every one before), so signing it signs them all; with the
//!   length, and every line required to be its record's canonical JSON, the segment's bytes
//!   are fixed. Format 1's digests signed the SHA-256 of the whole segment file instead
//!   (hashing every record twice); they still verify.
//!
//! An append returns once its record is copied into the open segment's shared memory map
//! (the page cache): a crash of the process loses only the records of operations that had
//! not returned. The records reach the disk within the log's sync interval, or, with
//! [`Durability::EveryAppend`], before each append returns, concurrent appenders sharing one
//! `fdatasync` (group commit).
//!
//! An append does only the record's work on its caller's thread (build the line, copy it,
//! and a rename when a segment fills); its `prev` and `hash` are filled in by the log's
//! thread (audit_worker.rs, audit_chain.rs says what that changes), which also seals full
//! segments, keeps the next segment's file made ahead, and does the interval syncs, so that
//! no caller hashes or waits for the disk unless it asked to.
//!
//! This module is the log itself; the lake writes to it (src/lake/governance.rs).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// The audit log's on-disk format version (of the digests it writes; 1 still verifies).
pub const AUDIT_FORMAT: u32 = 2;

/// Records per segment before it is sealed.
pub const SEGMENT_RECORDS: u64 = 10_000;

/// What an operation was, as the caller describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Who: the principal.
    pub principal: String,
    /// What: `get`, `put`, `scan`, `table.append`, `deny`, ...
    pub action: String,
    /// On what: a key, a table, a prefix.
    pub resource: String,
    /// The columns read or written, when it matters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Rows, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// A table's version, when one was read or written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// More: a scan's filter, an erasure's tables, a policy's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `ok`, `denied`, or the error's kind.
    pub outcome: String,
}

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Its number, from 1.
    pub seq: u64,
    /// When, ms since the epoch.
    pub at: i64,
    /// The process that wrote it (`pid@host`).
    pub process: String,
    /// The operation.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// The hash of the record before it (64 zeros for the first).
    pub prev: String,
    /// SHA-256 over `prev` and this record's canonical JSON without `hash`.
    pub hash: String,
}

/// An event borrowed from its caller: what [`AuditLog::append_ref`] records, without the
/// owned strings an [`AuditEvent`] needs. The resource comes in two parts that the record
/// joins (`["object:", key]`), so the caller builds no string for it.
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    /// Who: the principal.
    pub principal: &'a str,
    /// What: `get`, `put`, `scan`, ...
    pub action: &'a str,
    /// On what: the two parts of the resource's name, joined.
    pub resource: [&'a str; 2],
    /// The columns read or written, when it matters.
    pub columns: &'a [String],
    /// Rows, when known.
    pub rows: Option<u64>,
    /// Bytes, when known.
    pub bytes: Option<u64>,
    /// A table's version, when one was read or written.
    pub version: Option<u64>,
    /// More: a scan's filter, an erasure's tables, a policy's hash.
    pub detail: Option<&'a str>,
    /// `ok`, `denied`, or the error's kind.
    pub outcome: &'a str,
}

impl AuditEvent {
    /// The event, borrowed.
    pub fn event_ref(&self) -> EventRef<'_> {
        EventRef {
            principal: &self.principal,
            action: &self.action,
            resource: [&self.resource, ""],
            columns: &self.columns,
            rows: self.rows,
            bytes: self.bytes,
            version: self.version,
            detail: self.detail.as_deref(),
            outcome: &self.outcome,
        }
    }
}

/// Appends `text` as a JSON string, escaped exactly as serde_json escapes it (the common
/// case, nothing to escape, is one copy).
fn json_str(out: &mut Vec<u8>, parts: &[&str]) {
    out.push(b'"');
    for text in parts {
        if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            // serde_json writes a `str` as a quoted, escaped string: keep its body only.
            let quoted = serde_json::to_vec(text).unwrap_or_default();
            out.extend_from_slice(&quoted[1..quoted.len().saturating_sub(1)]);
        } else {
            out.extend_from_slice(text.as_bytes());
        }
    }
    out.push(b'"');
}

fn json_field(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

fn json_u64(out: &mut Vec<u8>, name: &str, value: Option<u64>) {
    if let Some(v) = value {
        json_field(out, name);
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
}

/// The record's line up to its `prev`, as JSON, `prev` left open: `{...,"prev":"`. The
/// fields come in [`AuditRecord`]'s order, the event's flattened and skipped as serde skips
/// them: the bytes serializing the record with serde_json gives (a test holds the two
/// together), written by hand because this runs on every audited call.
fn write_head(out: &mut Vec<u8>, seq: u64, at: i64, process: &str, e: &EventRef) {
    out.extend_from_slice(b"{\"seq\":");
    out.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
    out.extend_from_slice(b",\"at\":");
    out.extend_from_slice(itoa::Buffer::new().format(at).as_bytes());
    json_field(out, "process");
    json_str(out, &[process]);
    json_field(out, "principal");
    json_str(out, &[e.principal]);
    json_field(out, "action");
    json_str(out, &[e.action]);
    json_field(out, "resource");
    json_str(out, &e.resource);
    if !e.columns.is_empty() {
        json_field(out, "columns");
        out.push(b'[');
        for (i, c) in e.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(out, &[c]);
        }
        out.push(b']');
    }
    json_u64(out, "rows", e.rows);
    json_u64(out, "bytes", e.bytes);
    json_u64(out, "version", e.version);
    if let Some(detail) = e.detail {
        json_field(out, "detail");
        json_str(out, &[detail]);
    }
    json_field(out, "outcome");
    json_str(out, &[e.outcome]);
    out.extend_from_slice(b",\"prev\":\"");
}

/// Writes record `seq`'s line into `line` with `prev` and `hash` [`PENDING`], for the log's
/// thread to fill: what an append does on its caller's thread.
fn pending_line(line: &mut Vec<u8>, seq: u64, at: i64, process: &str, event: &EventRef) {
    line.clear();
    write_head(line, seq, at, process, event);
    line.extend_from_slice(&PENDING);
    line.extend_from_slice(b"\",\"hash\":\"");
    line.extend_from_slice(&PENDING);
    line.extend_from_slice(b"\"}\n");
}

/// Writes record `seq`'s line into `line`, filled (what serializing the whole
/// [`AuditRecord`] gives, and a newline) and returns its hash.
fn record_line(
    line: &mut Vec<u8>,
    seq: u64,
    at: i64,
    process: &str,
    event: &EventRef,
    prev: &str,
) -> [u8; 64] {
    pending_line(line, seq, at, process, event);
    let mut prev64 = PENDING;
    if prev.len() == 64 {
        prev64.copy_from_slice(prev.as_bytes());
    }
    let end = line.len() - 1;
    // Laid out by `pending_line`: always a record; a `prev` that is not 64 bytes (a damaged
    // record's, being checked) stays pending, so its hash matches nothing.
    chain::fill_line(&mut line[..end], &prev64).unwrap_or(PENDING)
}

/// The hash record `seq` should carry.
#[cfg(test)]
fn record_hash(seq: u64, at: i64, process: &str, event: &AuditEvent, prev: &str) -> String {
    let mut line = Vec::with_capacity(400);
    let hash = record_line(&mut line, seq, at, process, &event.event_ref(), prev);
    String::from_utf8_lossy(&hash).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The action of the record a reopened log appends for each segment it sealed then.
const RECOVER_ACTION: &str = "audit.recover";

/// The records of a segment's written part: the first's number, how many, the last's
/// number, and whether any record's hash was filled in by reading it.
pub(super) struct Span {
    pub(super) first: Option<u64>,
    pub(super) records: u64,
    pub(super) last: Option<u64>,
    pub(super) filled: bool,
}

/// Reads the [`Span`] of `part` (segment `segment`'s bytes before the mapped zeros), filling
/// in the hashes its writer left pending (it stopped before its thread filled them), chained
/// from `prev`, which ends as the last record's hash. A line that is not a record, or a
/// pending one not laid out as this writer writes them, is a `Corrupt` error: "audit segment
/// N {damaged}: ...".
pub(super) fn span(
    part: &mut [u8],
    segment: u64,
    damaged: &str,
    prev: &mut [u8; 64],
) -> Result<Span> {
    let mut span = Span {
        first: None,
        records: 0,
        last: None,
        filled: false,
    };
    let bad = |line: usize, why: &dyn std::fmt::Display| {
        Error::new(
            ErrorKind::Corrupt,
            format!("audit segment {segment} {damaged}: line {line}: {why}"),
        )
    };
    for (i, line) in part
        .split_mut(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let r: AuditRecord = serde_json::from_slice(line).map_err(|e| bad(i + 1, &e))?;
        span.first.get_or_insert(r.seq);
        span.records += 1;
        span.last = Some(r.seq);
        if chain::is_pending(r.hash.as_bytes()) {
            *prev = chain::fill_line(line, prev).ok_or_else(|| {
                bad(
                    i + 1,
                    &"its hash is pending but it is not laid out as a record",
                )
            })?;
            span.filled = true;
        } else if r.hash.len() == 64 {
            prev.copy_from_slice(r.hash.as_bytes());
        } else {
            return Err(bad(i + 1, &"its hash is not 64 digits"));
        }
    }
    Ok(span)
}

/// The signed summary of a sealed segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentDigest {
    /// Format version.
    pub format: u32,
    /// The lake the log belongs to.
    pub lake: String,
    /// The segment's number.
    pub segment: u64,
    /// Its first and last record numbers.
    pub first: u64,
    /// Its last record number.
    pub last: u64,
    /// The hash of its last record.
    pub last_hash: String,
    /// Format 1: SHA-256 of the segment file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_sha256: Option<String>,
    /// Format 2: the segment file's length in bytes (its records are signed by `last_hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// SHA-256 of the previous digest file (64 zeros for the first).
    pub previous_digest: String,
    /// HMAC-SHA256 under the audit key of the fields above, as JSON.
    pub signature: String,
}

#[derive(Serialize)]
struct Unsigned<'a> {
    format: u32,
    lake: &'a str,
    segment: u64,
    first: u64,
    last: u64,
    last_hash: &'a str,
    // Format 1's field, then format 2's: a format 1 digest signs the JSON it always did.
    #[serde(skip_serializing_if = "Option::is_none")]
    segment_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    previous_digest: &'a str,
}

fn sign(key: &[u8], d: &SegmentDigest) -> Result<String> {
    let body = serde_json::to_vec(&Unsigned {
        format: d.format,
        lake: &d.lake,
        segment: d.segment,
        first: d.first,
        last: d.last,
        last_hash: &d.last_hash,
        segment_sha256: d.segment_sha256.as_deref(),
        bytes: d.bytes,
        previous_digest: &d.previous_digest,
    })
    .map_err(|e| Error::internal(format!("cannot encode a digest: {e}")))?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|e| Error::internal(format!("bad audit key: {e}")))?;
    mac.update(&body);
    Ok(hex(&mac.finalize().into_bytes()))
}

/// Bytes a segment file is grown by (and first sized to): records are copied into its map.
const GROW: u64 = 4 << 20;

/// Bytes of the open segment's map the log's thread keeps faulted in writable past the last
/// record (about 850 records of 300 bytes): the zeros past `len` it dirties are written at an
/// interval sync and cut off at the seal.
const PREFAULT: usize = 256 << 10;

/// When a record reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Each append returns once its record is in the operating system's page cache (copied
    /// into the segment's shared memory map): a crash of the process loses nothing appended.
    /// The records reach the disk at the latest `interval` later (one `fdatasync` by the
    /// log's thread), and at every seal and close; a power loss can lose that much.
    Interval(std::time::Duration),
    /// Each append returns once its record is on disk; concurrent appends share one
    /// `fdatasync` (group commit).
    EveryAppend,
}

/// Where the writer is.
struct Head {
    /// The open segment's file (shared with a sync running off the lock).
    file: Arc<File>,
    /// The open segment, mapped: records are copied in at `len`; the file beyond is zeros
    /// (cut off at seal and close). Shared with the log's thread, which fills the records'
    /// hashes before `len` while appenders copy after it: both write through its pointer,
    /// never a slice of the whole map.
    map: Arc<memmap2::MmapRaw>,
    len: usize,
    /// The map's pages before this are faulted in writable ahead of the appenders by the
    /// log's thread (`PREFAULT` past `len`), so that an append's copy rarely takes a page
    /// fault (they were most of its time: a first write to a page of the file allocates it).
    prefaulted: usize,
    /// The `len` past which an appender asks the log's thread to fault in more (set by the
    /// thread with each fault-in).
    prefault_at: usize,
    /// The line being written, kept between appends.
    line: Vec<u8>,
    segment: u64,
    in_segment: u64,
    first_in_segment: u64,
    next_seq: u64,
    /// With [`Durability::EveryAppend`]: the highest record number a sync covers, and
    /// whether one is running.
    synced: u64,
    syncing: bool,
    failed: Option<String>,
    /// What the log's thread does: seals, the spare segment, interval syncs.
    work: Work,
}

/// An open audit log, appended to by many threads at once.
pub struct AuditLog {
    shared: Arc<Shared>,
    process: String,
    segment_records: u64,
    durability: Durability,
    /// The log's thread (audit_worker.rs), joined on drop.
    worker: Option<std::thread::JoinHandle<()>>,
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join("segments").join(format!("{n:012}.jsonl"))
}

fn digest_path(dir: &Path, n: u64) -> PathBuf {
    dir.join("digests").join(format!("{n:012}.json"))
}

fn numbered(dir: &Path, ext: &str) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for e in entries.flatten() {
                let name = e.file_name();
                let Some(name) = name.to_str() else { continue };
                if let Some(n) = name.strip_suffix(ext).and_then(|n| n.parse().ok()) {
                    out.push(n);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("cannot list the audit log", dir, e)),
    }
    out.sort_unstable();
    Ok(out)
}

/// `pid@host`: which process on which machine wrote a record.
fn process_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    format!("{}@{}", std::process::id(), host.trim())
}

/// A 64-digit hash as the fill chains it; `None` when it is not 64 bytes.
fn hash64(hash: &str) -> Option<[u8; 64]> {
    hash.as_bytes().try_into().ok()
}

/// Writes `bytes` at the start of the file at `path`, and syncs it.
fn write_at(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::FileExt;
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.write_all_at(bytes, 0).and_then(|()| f.sync_data()))
        .map_err(|e| Error::io("cannot fill an audit segment's pending hashes", path, e))
}

fn sha_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read an audit file", path, e))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Opens segment `path` for appending at `len` (its bytes beyond cut off), sized and mapped.
fn map_segment(path: &Path, len: u64) -> Result<(File, Arc<memmap2::MmapRaw>)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io("cannot open an audit segment", path, e))?;
    let map = size_and_map(&file, path, len, len + GROW)?;
    Ok((file, map))
}

fn size_and_map(file: &File, path: &Path, len: u64, size: u64) -> Result<Arc<memmap2::MmapRaw>> {
    // Zeros past `len` (a torn record's bytes included) before the file grows.
    file.set_len(len)
        .and_then(|()| file.set_len(size))
        .map_err(|e| Error::io("cannot size an audit segment", path, e))?;
    // The segment file is the log's own, under the lake's data root, opened and resized only
    // by this writer (which holds the root's lock); the map is only ever written below the
    // file's length, so its pages stay backed. (A grown segment's old map, which the log's
    // thread may still be filling, maps the same file: its writes land there too.)
    memmap2::MmapRaw::map_raw(file)
        .map(Arc::new)
        .map_err(|e| Error::io("cannot map an audit segment", path, e))
}

/// The bytes of a segment up to its last whole record: the zeros of a mapped segment's
/// unused end, and a torn last line, are not part of it.
fn records_part(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    &bytes[..end]
}

impl AuditLog {
    /// Opens (or starts) the log in `dir` for lake `lake`, signing digests with `key`
    /// (32 bytes from the key provider). A torn last line (a crash mid-write) is cut off: its
    /// operation never returned. A full segment left without its digest (the writer stopped
    /// before its thread sealed it) is sealed now, and a record says so.
    pub fn open(dir: &Path, key: &[u8], lake: &str) -> Result<AuditLog> {
        if key.len() < 32 {
            return Err(Error::invalid("the audit key must be at least 32 bytes"));
        }
        for sub in ["segments", "digests"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d)
                .map_err(|e| Error::io("cannot create the audit log", &d, e))?;
        }
        match std::fs::remove_file(spare_path(dir)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(
                    "cannot remove the audit log's spare segment",
                    &spare_path(dir),
                    e,
                ))
            }
            _ => {}
        }
        let recovered = seal_left_over(dir, key, lake)?;
        let segments = numbered(&dir.join("segments"), ".jsonl")?;
        let digests = numbered(&dir.join("digests"), ".json")?;
        let segment = segments.last().copied().unwrap_or(1);
        let previous_digest = match digests.iter().rev().find(|d| **d < segment) {
            Some(d) => sha_file(&digest_path(dir, *d))?,
            None => GENESIS.to_string(),
        };
        // The last record written: in the open segment, else the last sealed one.
        let (mut last_seq, mut in_segment, mut first) = (0, 0, 0);
        let mut last_hash = [b'0'; 64];
        if let Some(d) = digests.iter().rev().find(|d| **d < segment) {
            let text = std::fs::read(digest_path(dir, *d))
                .map_err(|e| Error::io("cannot read an audit digest", &digest_path(dir, *d), e))?;
            let digest: SegmentDigest = serde_json::from_slice(&text).map_err(|e| {
                Error::new(
                    ErrorKind::Corrupt,
                    format!("audit digest {d} is damaged: {e}"),
                )
            })?;
            last_seq = digest.last;
            last_hash = hash64(&digest.last_hash).ok_or_else(|| {
                Error::new(
                    ErrorKind::Corrupt,
                    format!("audit digest {d} is damaged: its last hash is not 64 digits"),
                )
            })?;
        }
        let path = segment_path(dir, segment);
        if digests.contains(&segment) {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("audit segment {segment} is sealed but no later segment was started"),
            ));
        }
        let mut whole = 0;
        if let Ok(mut bytes) = std::fs::read(&path) {
            whole = records_part(&bytes).len();
            let part = &mut bytes[..whole];
            let span = span(part, segment, "has a damaged record", &mut last_hash)?;
            if let (Some(f), Some(seq)) = (span.first, span.last) {
                (first, in_segment, last_seq) = (f, span.records, seq);
            }
            if span.filled {
                // Hashes its writer left pending: written before anything is appended.
                write_at(&path, part)?;
            }
        }
        let (file, map) = map_segment(&path, whole as u64)?;
        let durability = Durability::Interval(std::time::Duration::from_millis(200));
        let mut work = Work::new(previous_digest);
        work.sync_every = sync_every(durability);
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            key: key.to_vec(),
            lake: lake.to_string(),
            head: Mutex::new(Head {
                file: Arc::new(file),
                map,
                len: whole,
                prefaulted: 0,
                prefault_at: 0,
                line: Vec::with_capacity(512),
                segment,
                in_segment,
                first_in_segment: if in_segment == 0 { last_seq + 1 } else { first },
                next_seq: last_seq + 1,
                synced: last_seq,
                syncing: false,
                failed: None,
                work,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let worker = std::thread::Builder::new()
            .name("strata-audit".into())
            .spawn({
                let shared = shared.clone();
                let chain = Chain {
                    segment,
                    filled: whole,
                    last_hash,
                };
                move || run(shared, chain)
            })
            .map_err(|e| Error::io("cannot start the audit log's thread", dir, e))?;
        let log = AuditLog {
            shared,
            process: process_name(),
            segment_records: SEGMENT_RECORDS,
            durability,
            worker: Some(worker),
        };
        for n in recovered {
            log.append_ref(&EventRef {
                principal: "strata",
                action: RECOVER_ACTION,
                resource: ["segment:", &n.to_string()],
                columns: &[],
                rows: None,
                bytes: None,
                version: None,
                detail: Some("sealed on reopening: its writer stopped before sealing it"),
                outcome: "ok",
            })?;
        }
        Ok(log)
    }

    /// The log sealing a segment every `n` records (default [`SEGMENT_RECORDS`]).
    pub fn segment_records(mut self, n: u64) -> AuditLog {
        self.segment_records = n.max(1);
        self.shared.lock().work.segment_records = self.segment_records;
        self
    }

    /// The log with records reaching the disk as `durability` says (default: within 200 ms).
    pub fn durability(mut self, durability: Durability) -> AuditLog {
        self.durability = durability;
        self.shared.lock().work.sync_every = sync_every(durability);
        self.shared.work.notify_all();
        self
    }

    /// Appends `event`; returns its record number once the record is written (see
    /// [`Durability`] for when that is on disk).
    pub fn append(&self, event: AuditEvent) -> Result<u64> {
        self.append_ref(&event.event_ref())
    }

    /// [`AuditLog::append`] of a borrowed event. The caller's thread builds, hashes and
    /// copies the record, and starts the next segment (a rename of the spare) when this one
    /// is full; sealing it and interval syncs are the log's thread's.
    pub fn append_ref(&self, event: &EventRef) -> Result<u64> {
        let mut head = self.shared.lock();
        if let Some(why) = &head.failed {
            return Err(Error::new(
                ErrorKind::Io,
                format!("the audit log failed: {why}"),
            ));
        }
        let seq = head.next_seq;
        let at = crate::clock::now_ms() as i64;
        let mut line = std::mem::take(&mut head.line);
        pending_line(&mut line, seq, at, &self.process, event);
        let copied = self.copy_in(&mut head, &line);
        head.line = line;
        let mut asked = match copied {
            Ok(asked) => asked,
            Err(e) => {
                head.failed = Some(e.to_string());
                return Err(e);
            }
        };
        head.next_seq += 1;
        head.in_segment += 1;
        if !head.work.dirty {
            // The first write since a fill: the thread fills it (and syncs it within the
            // interval).
            head.work.dirty = true;
            asked = true;
        }
        if head.in_segment >= self.segment_records {
            if let Err(e) = self.next_segment(&mut head) {
                head.failed = Some(e.to_string());
                return Err(e);
            }
        }
        // Woken only when it waits for work: the thread looks at its work under the lock
        // before it waits, so nothing asked while it runs is missed, and a wake is a futex
        // call (std's `notify_one` makes one whether anyone waits or not). After the lock
        // is released, so that the woken thread does not block on it at once.
        let wake = asked && head.work.idle;
        if self.durability == Durability::EveryAppend {
            if wake {
                self.shared.work.notify_one();
            }
            self.sync_to(head, seq)?;
        } else {
            drop(head);
            if wake {
                self.shared.work.notify_one();
            }
        }
        Ok(seq)
    }

    /// Copies `line` into the open segment's map, growing it when full; whether it asked the
    /// log's thread for work (faulting in more of the map).
    fn copy_in(&self, head: &mut Head, line: &[u8]) -> Result<bool> {
        let end = head.len + line.len();
        if end > head.map.len() {
            let path = segment_path(&self.shared.dir, head.segment);
            let size = (end as u64 + GROW).max(head.map.len() as u64 * 2);
            head.map = size_and_map(&head.file, &path, head.len as u64, size)?;
        }
        // SAFETY: `len..end` is inside the map (grown above when not); the appender holding
        // the log's lock is the only writer past `len`, and the log's thread writes only
        // before the `len` it read under that lock: no one else touches these bytes, and no
        // reference to the map's memory is made.
        unsafe {
            std::ptr::copy_nonoverlapping(
                line.as_ptr(),
                head.map.as_mut_ptr().add(head.len),
                line.len(),
            );
        }
        head.len = end;
        if end >= head.prefault_at && !head.work.prefault {
            // Half the pages faulted ahead are used: the log's thread faults the next ones.
            head.work.prefault = true;
            return Ok(true);
        }
        Ok(false)
    }

    /// Starts the next segment (the spare renamed, or a new file when there is none yet) and
    /// queues the full one for the thread to seal. With [`Durability::EveryAppend`], the full
    /// one is synced first: a later sync covers only the new segment.
    fn next_segment(&self, head: &mut Head) -> Result<()> {
        let dir = &self.shared.dir;
        let next = head.segment + 1;
        let path = segment_path(dir, next);
        let (file, map, prefaulted) = match head.work.spare.take() {
            Some(spare) => {
                std::fs::rename(spare_path(dir), &path)
                    .map_err(|e| Error::io("cannot start an audit segment", &path, e))?;
                (spare.file, spare.map, spare.prefaulted)
            }
            None => {
                let (file, map) = map_segment(&path, 0)?;
                (file, map, 0)
            }
        };
        head.work.want_spare = true;
        let last = head.next_seq - 1;
        let full = FullSegment {
            segment: head.segment,
            file: std::mem::replace(&mut head.file, Arc::new(file)),
            map: std::mem::replace(&mut head.map, map),
            len: head.len,
            first: head.first_in_segment,
            last,
        };
        if self.durability == Durability::EveryAppend {
            full.file
                .sync_data()
                .map_err(|e| Error::io("cannot sync an audit segment", &path, e))?;
            head.synced = last;
        }
        head.segment = next;
        head.len = 0;
        // The spare's first pages were faulted in when it was made: the thread is asked for
        // more once half of them are used.
        head.prefaulted = prefaulted;
        head.prefault_at = prefaulted / 2;
        head.work.prefault = prefaulted == 0;
        head.in_segment = 0;
        head.first_in_segment = last + 1;
        head.work.to_seal.push_back(full);
        self.shared.work.notify_one();
        Ok(())
    }

    /// Waits until record `seq` is on disk: the first waiter syncs for everyone written by
    /// then (group commit); the others wait for it.
    fn sync_to<'a>(&'a self, mut head: std::sync::MutexGuard<'a, Head>, seq: u64) -> Result<()> {
        loop {
            if let Some(why) = &head.failed {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("the audit log failed: {why}"),
                ));
            }
            if head.synced >= seq {
                return Ok(());
            }
            if !head.syncing {
                head.syncing = true;
                // Earlier segments were synced when the next one started: this one is all.
                let upto = head.next_seq - 1;
                let file = head.file.clone();
                drop(head);
                // The map's dirty pages are the file's page cache: fdatasync writes them.
                let synced = file.sync_data();
                head = self.shared.lock();
                head.syncing = false;
                match synced {
                    // A new segment meanwhile synced a later record: keep the max.
                    Ok(()) => head.synced = head.synced.max(upto),
                    Err(e) => head.failed = Some(e.to_string()),
                }
                self.shared.done.notify_all();
                continue;
            }
            head = self
                .shared
                .done
                .wait(head)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Seals the open segment (if it has records) and starts the next; returns once every
    /// full segment's digest is written.
    pub fn seal_now(&self) -> Result<()> {
        let mut head = self.shared.lock();
        if head.failed.is_none() && head.in_segment > 0 {
            if let Err(e) = self.next_segment(&mut head) {
                head.failed = Some(e.to_string());
                return Err(e);
            }
        }
        self.settled(head)
    }

    /// Returns once every full segment's digest is written (the log's thread seals them a
    /// moment after they fill) and every record appended so far has its hash filled in:
    /// what `verify` of a log in use waits for.
    pub fn settle(&self) -> Result<()> {
        let mut head = self.shared.lock();
        head.work.fill_now = true;
        self.shared.work.notify_all();
        self.settled(head)
    }

    fn settled(&self, mut head: std::sync::MutexGuard<'_, Head>) -> Result<()> {
        while !head.work.settled() && head.failed.is_none() {
            head = self
                .shared
                .done
                .wait(head)
                .unwrap_or_else(|p| p.into_inner());
        }
        match &head.failed {
            Some(why) => Err(Error::new(
                ErrorKind::Io,
                format!("the audit log failed: {why}"),
            )),
            None => Ok(()),
        }
    }
}

/// The thread's interval sync under `durability`.
fn sync_every(durability: Durability) -> Option<std::time::Duration> {
    match durability {
        Durability::Interval(every) => Some(every.max(std::time::Duration::from_millis(1))),
        Durability::EveryAppend => None,
    }
}

impl Drop for AuditLog {
    /// Lets the thread seal what is queued, removes the spare, and cuts the open segment to
    /// its records and syncs it: at rest, a segment holds records only.
    fn drop(&mut self) {
        self.shared.lock().work.stop = true;
        self.shared.work.notify_all();
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                tracing::error!("the audit log's thread panicked");
            }
        }
        let mut head = self.shared.lock();
        if head.work.spare.take().is_some() {
            if let Err(e) = std::fs::remove_file(spare_path(&self.shared.dir)) {
                tracing::warn!("cannot remove the audit log's spare segment: {e}");
            }
        }
        if let Err(e) = head
            .map
            .flush()
            .and_then(|()| head.file.set_len(head.len as u64))
            .and_then(|()| head.file.sync_data())
        {
            tracing::error!("cannot close the audit log's open segment: {e}");
        }
    }
}

/// What audit records to show (`Lake::audit_show`, `strata audit show`).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Records at or after this time, ms since the epoch.
    pub since_ms: Option<i64>,
    /// Only this principal's.
    pub principal: Option<String>,
    /// Only records whose resource contains this.
    pub resource: Option<String>,
    /// Only this action's (`get`, `scan`, `table.write`, `deny`...).
    pub action: Option<String>,
    /// At most this many, the newest.
    pub limit: Option<usize>,
}

impl AuditQuery {
    /// Whether `record` is one the query asks for (the limit aside).
    pub fn matches(&self, record: &AuditRecord) -> bool {
        let e = &record.event;
        self.since_ms.is_none_or(|t| record.at >= t)
            && self.principal.as_ref().is_none_or(|p| &e.principal == p)
            && self
                .resource
                .as_ref()
                .is_none_or(|s| e.resource.contains(s.as_str()))
            && self.action.as_ref().is_none_or(|a| &e.action == a)
    }
}

/// Calls `each` with every record of the log in `dir`, oldest first; lines that are not
/// records (damage `verify` reports) are skipped. The newest records of a log being written
/// may not have their hashes filled in yet: they come with the hashes the fill will give.
pub fn read_records(dir: &Path, each: &mut dyn FnMut(AuditRecord)) -> Result<()> {
    let mut prev: Option<[u8; 64]> = hash64(GENESIS);
    let mut filled = Vec::new();
    for n in numbered(&dir.join("segments"), ".jsonl")? {
        let path = segment_path(dir, n);
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::io("cannot read an audit segment", &path, e))?;
        for line in records_part(&bytes)
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let Ok(mut r) = serde_json::from_slice::<AuditRecord>(line) else {
                prev = None;
                continue;
            };
            if chain::is_pending(r.hash.as_bytes()) {
                filled.clear();
                filled.extend_from_slice(line);
                let hash = prev.and_then(|p| chain::fill_line(&mut filled, &p));
                if let Some(hash) = hash {
                    r.prev =
                        String::from_utf8_lossy(&filled[filled.len() - 140..][..64]).into_owned();
                    r.hash = String::from_utf8_lossy(&hash).into_owned();
                }
                prev = hash;
            } else {
                prev = hash64(&r.hash);
            }
            each(r);
        }
    }
    Ok(())
}

#[path = "audit_worker.rs"]
mod worker;
#[cfg(test)]
use worker::FaultIn;
use worker::{run, seal_left_over, spare_path, Chain, FullSegment, Shared, Work};

#[path = "audit_chain.rs"]
mod chain;
use chain::PENDING;

#[path = "audit_verify.rs"]
mod verifying;
pub use verifying::{verify, VerifyReport};

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
