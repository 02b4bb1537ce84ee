//! Verification of an audit log: every record's chain, every sealed segment against its
//! signed digest, the digests' chain, missing and foreign segments.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::chain::{fill_line, hash_field, is_pending, TAIL};
use super::{
    digest_path, hex, numbered, record_line, records_part, segment_path, sign, AuditRecord,
    SegmentDigest, GENESIS, RECOVER_ACTION as RECOVER,
};
use crate::error::Result;

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Records checked.
    pub records: u64,
    /// Segments checked (sealed and open).
    pub segments: u64,
    /// Every problem, with where it is.
    pub problems: Vec<String>,
    /// What is intact but proven less strongly: segments sealed when the log was reopened
    /// after its writer stopped (an `audit.recover` record names each), whose digest was made
    /// then, not when the segment filled.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl VerifyReport {
    /// Whether the log is intact.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What one segment holds, checked on its own (the records' hashes and their links to each
/// other); the links between segments and the digests are checked after, in order.
struct SegmentCheck {
    /// Its length in bytes; `None` when the file is missing.
    bytes: Option<u64>,
    /// SHA-256 of its bytes, when its digest is format 1's (which signed it).
    sha: Option<String>,
    /// Its digest's bytes, when it has one that could be read (or why it could not).
    digest: Option<std::result::Result<Vec<u8>, String>>,
    records: u64,
    /// The first record: its line, number and `prev`.
    first: Option<(usize, u64, String)>,
    /// The last record: its number and hash.
    last: Option<(u64, String)>,
    problems: Vec<String>,
    /// `audit.recover` records: their number and the segment they name.
    recovered: Vec<(u64, String)>,
}

/// The fields of a record line that link it, borrowed; the others are required as a
/// record requires them, their values skipped. A string with escapes cannot be borrowed: such
/// a line is checked by the record instead.
#[derive(Deserialize)]
#[allow(dead_code)] // parsed to check the line is a record; only the links are read
struct Links<'a> {
    seq: u64,
    at: i64,
    process: &'a str,
    principal: &'a str,
    action: &'a str,
    resource: &'a str,
    outcome: &'a str,
    prev: &'a str,
    hash: &'a str,
}

/// What `check_segment` needs of a line: its number, `prev`, hash, and whether it is an
/// `audit.recover` record (with the resource it names).
type Written<'a> = (u64, &'a str, &'a str, Option<&'a str>);

/// A line checked as written: a record (its required fields present) ending in its hash,
/// and that hash is SHA-256 over `prev` and the line's bytes before the hash field, closed:
/// the bytes the writer hashed, unchanged. Returns its number, `prev` and hash; `None` when
/// that is not so, and the check by the record (parsed, written again, compared) decides,
/// as it does for a line with escapes. Skips building each record of an intact log twice.
fn as_written(line: &[u8]) -> Option<Written<'_>> {
    const HASH_FIELD: &[u8] = b",\"hash\":\"";
    let links: Links = serde_json::from_slice(line).ok()?;
    if links.hash.len() != 64 || line.len() < TAIL {
        return None;
    }
    let (body, end) = line.split_at(line.len() - TAIL);
    if !end.starts_with(HASH_FIELD)
        || &end[HASH_FIELD.len()..HASH_FIELD.len() + 64] != links.hash.as_bytes()
        || !end.ends_with(b"\"}")
    {
        return None;
    }
    let mut h = Sha256::new();
    h.update(links.prev.as_bytes());
    h.update(body);
    h.update(b"}");
    let recover = (links.action == RECOVER).then_some(links.resource);
    (hex(&h.finalize()) == links.hash).then_some((links.seq, links.prev, links.hash, recover))
}

/// A line that is not as written, checked by its record: whether the line is exactly the
/// record written again (its hash included) from its fields. A line with the same record
/// laid out otherwise (spaces, field order) is changed too: a format 2 digest signs the
/// segment's records through their hashes and its length, not its bytes.
fn by_record(line: &[u8], r: &AuditRecord) -> bool {
    let mut again = Vec::with_capacity(line.len() + 1);
    record_line(
        &mut again,
        r.seq,
        r.at,
        &r.process,
        &r.event.event_ref(),
        &r.prev,
    );
    again.pop(); // the newline
    again == line
}

/// Checks segment `n`. `open`: it has no digest (the writer's open segment, whose map's
/// unused end is zeros). `prev`: the hash its first record follows, when known (for the open
/// segment, whose newest records' hashes may still be pending: they are checked as the fill
/// will make them).
fn check_segment(dir: &Path, n: u64, open: bool, prev: Option<&str>) -> SegmentCheck {
    let mut check = empty_check();
    if !open {
        check.digest = Some(std::fs::read(digest_path(dir, n)).map_err(|e| e.to_string()));
    }
    let Ok(bytes) = std::fs::read(segment_path(dir, n)) else {
        return check;
    };
    check.bytes = Some(bytes.len() as u64);
    let format_1 = match &check.digest {
        Some(Ok(text)) => serde_json::from_slice::<FormatOnly>(text).is_ok_and(|d| d.format == 1),
        _ => false,
    };
    if format_1 {
        check.sha = Some(hex(&Sha256::digest(&bytes)));
    }
    let body = if open {
        records_part(&bytes)
    } else {
        &bytes[..]
    };
    let mut pending_line = Vec::new();
    let mut pending_since: Option<u64> = None;
    let mut chain_prev: Option<String> = prev.map(str::to_string);
    for (i, line) in body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        // A record whose hash the writer's thread has not filled in yet (the newest of a
        // log in use, or of one whose writer stopped): checked as the fill will make it.
        let mut line = line;
        let pending = open && hash_field(line).is_some_and(is_pending);
        if pending {
            let filled = chain_prev
                .as_deref()
                .and_then(|p| <[u8; 64]>::try_from(p.as_bytes()).ok())
                .and_then(|p| {
                    pending_line.clear();
                    pending_line.extend_from_slice(line);
                    fill_line(&mut pending_line, &p)
                });
            if filled.is_none() {
                check.problems.push(format!(
                    "segment {n} line {}: its hash is pending and cannot be filled (not laid out as a record, or after a damaged one)",
                    i + 1
                ));
                chain_prev = None;
                continue;
            }
            line = &pending_line;
        } else if let Some(since) = pending_since {
            check.problems.push(format!(
                "segment {n} line {}: hashed after record {since}, whose hash is pending (the fill goes in order)",
                i + 1
            ));
        }
        // Most lines are checked as written; the rest (and any that fail) by the record.
        let slow;
        let (seq, prev, hash, changed) = match as_written(line) {
            Some((seq, prev, hash, recover)) => {
                if let Some(resource) = recover {
                    check.recovered.push((seq, resource.to_string()));
                }
                (seq, prev, hash, false)
            }
            None => match serde_json::from_slice::<AuditRecord>(line) {
                Ok(r) => {
                    let changed = !by_record(line, &r);
                    if r.event.action == RECOVER {
                        check.recovered.push((r.seq, r.event.resource.clone()));
                    }
                    slow = r;
                    (slow.seq, slow.prev.as_str(), slow.hash.as_str(), changed)
                }
                Err(e) => {
                    check
                        .problems
                        .push(format!("segment {n} line {}: not a record ({e})", i + 1));
                    chain_prev = None;
                    continue;
                }
            },
        };
        if pending {
            pending_since.get_or_insert(seq);
        }
        check.records += 1;
        match &check.last {
            None => check.first = Some((i + 1, seq, prev.to_string())),
            Some((last_seq, last_hash)) => {
                if seq != last_seq + 1 {
                    check.problems.push(format!(
                        "segment {n} line {}: record {} where {} was due (removed, reordered or inserted records)",
                        i + 1,
                        seq,
                        last_seq + 1
                    ));
                }
                if prev != last_hash {
                    check.problems.push(format!(
                        "segment {n} record {seq}: does not follow the record before it"
                    ));
                }
            }
        }
        if changed {
            check.problems.push(format!(
                "segment {n} record {seq}: changed since it was written"
            ));
        }
        chain_prev = Some(hash.to_string());
        match &mut check.last {
            Some((last_seq, last_hash)) => {
                *last_seq = seq;
                last_hash.clear();
                last_hash.push_str(hash);
            }
            None => check.last = Some((seq, hash.to_string())),
        }
    }
    check
}

/// A digest's format, read before the rest.
#[derive(Deserialize)]
struct FormatOnly {
    format: u32,
}

/// Checks the whole log in `dir` for lake `lake` with `key`: every record's hash and its link
/// to the one before, record numbers without gaps or repeats, every sealed segment against its
/// signed digest, every digest's link to the one before, and no segment missing. Sealed
/// segments are read and checked on the rayon pool's threads; their links are checked in
/// order, and the open segment last (its newest records may still wait for their hashes).
pub fn verify(dir: &Path, key: &[u8], lake: &str) -> Result<VerifyReport> {
    use rayon::prelude::*;
    let mut report = VerifyReport::default();
    let segments = numbered(&dir.join("segments"), ".jsonl")?;
    let digests = numbered(&dir.join("digests"), ".json")?;
    let (mut prev_hash, mut next_seq, mut prev_digest) =
        (GENESIS.to_string(), 1u64, GENESIS.to_string());
    let last_segment = segments
        .last()
        .copied()
        .unwrap_or(0)
        .max(digests.last().copied().unwrap_or(0));
    let open_last = last_segment > 0 && !digests.contains(&last_segment);
    let sealed_upto = if open_last {
        last_segment - 1
    } else {
        last_segment
    };
    let mut checks: Vec<SegmentCheck> = (1..=sealed_upto)
        .into_par_iter()
        .map(|n| check_segment(dir, n, !digests.contains(&n), None))
        .collect();
    for n in 1..=last_segment {
        let check = match checks.get_mut(n as usize - 1) {
            Some(check) => std::mem::replace(check, empty_check()),
            // The open segment, its first record following the last one checked.
            None => check_segment(dir, n, true, Some(&prev_hash)),
        };
        let Some(length) = check.bytes else {
            report.problems.push(format!("segment {n} is missing"));
            continue;
        };
        report.segments += 1;
        report.records += check.records;
        if let Some((line, seq, prev)) = &check.first {
            if *seq != next_seq {
                report.problems.push(format!(
                    "segment {n} line {line}: record {seq} where {next_seq} was due (removed, reordered or inserted records)"
                ));
            }
            if prev != &prev_hash {
                report.problems.push(format!(
                    "segment {n} record {seq}: does not follow the record before it"
                ));
            }
        }
        report.problems.extend(check.problems);
        report
            .warnings
            .extend(check.recovered.iter().map(|(seq, resource)| {
                format!(
                    "{resource} was sealed when the log was reopened after its writer stopped \
                     (record {seq}): its digest was made then, not when the segment filled"
                )
            }));
        if let Some((seq, hash)) = &check.last {
            prev_hash = hash.clone();
            next_seq = seq + 1;
        }
        let first = check.first.as_ref().map(|(_, seq, _)| *seq);
        let text = match check.digest {
            None => {
                if n != last_segment {
                    report.problems.push(format!(
                        "segment {n} has no digest but later segments exist"
                    ));
                }
                continue;
            }
            Some(Err(e)) => {
                report
                    .problems
                    .push(format!("digest {n}: cannot read ({e})"));
                continue;
            }
            Some(Ok(text)) => text,
        };
        let d: SegmentDigest = match serde_json::from_slice(&text) {
            Ok(d) => d,
            Err(e) => {
                report.problems.push(format!("digest {n}: damaged ({e})"));
                continue;
            }
        };
        if sign(key, &d)? != d.signature {
            report.problems.push(format!(
                "digest {n}: its signature does not verify under the audit key"
            ));
        }
        if d.lake != lake {
            report.problems.push(format!(
                "digest {n}: belongs to lake {}, not this one (replayed from another lake)",
                d.lake
            ));
        }
        let bytes_sealed = match (d.format, &d.segment_sha256, d.bytes) {
            (1, Some(sha), None) => check.sha.as_ref() == Some(sha),
            (2, None, Some(bytes)) => bytes == length,
            (1 | 2, _, _) => {
                report.problems.push(format!(
                    "digest {n}: damaged (not the fields of a format {} digest)",
                    d.format
                ));
                true
            }
            (format, _, _) => {
                report.problems.push(format!(
                    "digest {n}: format {format} is not one this strata reads (newer?)"
                ));
                true
            }
        };
        if !bytes_sealed {
            report.problems.push(format!(
                "segment {n}: its bytes differ from what its digest sealed (edited or truncated)"
            ));
        }
        if d.previous_digest != prev_digest {
            report
                .problems
                .push(format!("digest {n}: does not name the digest before it"));
        }
        if first != Some(d.first) || d.last + 1 != next_seq || d.last_hash != prev_hash {
            report.problems.push(format!(
                "segment {n}: its records are not those its digest sealed"
            ));
        }
        prev_digest = hex(&Sha256::digest(&text));
    }
    // Sealing a segment starts the next at once: after the last digest, its segment follows.
    if let Some(&last) = digests.last() {
        if last == last_segment && !segment_path(dir, last + 1).exists() {
            report.problems.push(format!(
                "segment {} is missing (the records after the last seal were removed)",
                last + 1
            ));
        }
    }
    Ok(report)
}

fn empty_check() -> SegmentCheck {
    SegmentCheck {
        bytes: None,
        sha: None,
        digest: None,
        records: 0,
        first: None,
        last: None,
        problems: Vec::new(),
        recovered: Vec::new(),
    }
}
