//! Record hashes filled in after the append (format 2's writer).
//!
//! An append writes its record with `prev` and `hash` holding [`PENDING`] (64 dashes: the
//! same width as a hash, never one), and the log's thread fills both in place, in order,
//! before each interval sync and each seal: SHA-256 leaves the caller's thread. A record's
//! hash is the same as before: SHA-256 over `prev` and the record's JSON up to its `prev`
//! field, closed (`{...,"prev":"<prev>"}`).
//!
//! What that changes: until the fill, the newest records (at most one sync interval's, in the
//! open segment) carry no hash. Nothing is lost: a reopened log fills them before appending,
//! and `verify` and `read_records` chain them as the fill would. Nor is anything less proven:
//! records after the last seal are covered by no signature either way (anyone can recompute
//! an unsigned chain), and a record is filled before the digest that signs it is made.
//!
//! A line's `prev` and `hash` sit at fixed places from its end, so the fill parses nothing.

use sha2::{Digest, Sha256};

/// What `prev` and `hash` hold until the log's thread fills them.
pub(super) const PENDING: [u8; 64] = [b'-'; 64];

/// `,"hash":"`: what comes before a line's hash.
const HASH_FIELD: &[u8] = b",\"hash\":\"";
/// `,"prev":"`: what comes before a line's `prev`.
const PREV_FIELD: &[u8] = b",\"prev\":\"";
/// The bytes of a line after what its hash covers: `,"hash":"`, the hash and `"}`.
pub(super) const TAIL: usize = HASH_FIELD.len() + 64 + 2;

/// Whether a record's hash is still to be filled. A fill cut short (its writer stopped in
/// the middle of the 64 bytes) leaves some dashes: such a record is filled again.
pub(super) fn is_pending(hash: &[u8]) -> bool {
    hash.contains(&b'-')
}

/// Where `prev` and `hash` start in `line` (a record line without its newline), when the line
/// is laid out as this writer writes records: `{...,"prev":"<64>","hash":"<64>"}`.
fn fields(line: &[u8]) -> Option<(usize, usize)> {
    let l = line.len();
    // `{"seq":1` at least before `prev`.
    if l < TAIL + 1 + 64 + PREV_FIELD.len() + 8 {
        return None;
    }
    let hash_at = l - 66;
    let prev_at = hash_at - HASH_FIELD.len() - 1 - 64;
    let laid_out = line.ends_with(b"\"}")
        && &line[hash_at - HASH_FIELD.len()..hash_at] == HASH_FIELD
        && line[prev_at + 64] == b'"'
        && &line[prev_at - PREV_FIELD.len()..prev_at] == PREV_FIELD;
    laid_out.then_some((prev_at, hash_at))
}

/// 64 lowercase hex digits of a SHA-256.
pub(super) fn hex64(sha: &[u8]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in sha.iter().take(32).enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 0xf) as usize];
    }
    out
}

/// The hash `line` (its `prev` in place) should carry: SHA-256 over `prev` and the line up to
/// its hash field, closed with `}`. `prev_at` is where `prev` starts.
fn hash_of(line: &[u8], prev_at: usize) -> [u8; 64] {
    let mut h = Sha256::new();
    h.update(&line[prev_at..prev_at + 64]);
    h.update(&line[..line.len() - TAIL]);
    h.update(b"}");
    hex64(&h.finalize())
}

/// Writes `prev` and the hash into `line` (a record line without its newline); returns the
/// hash. `None` when the line is not laid out as a record.
pub(super) fn fill_line(line: &mut [u8], prev: &[u8; 64]) -> Option<[u8; 64]> {
    let (prev_at, hash_at) = fields(line)?;
    line[prev_at..prev_at + 64].copy_from_slice(prev);
    let hash = hash_of(line, prev_at);
    line[hash_at..hash_at + 64].copy_from_slice(&hash);
    Some(hash)
}

/// The hash field of a line laid out as a record.
pub(super) fn hash_field(line: &[u8]) -> Option<&[u8]> {
    fields(line).map(|(_, at)| &line[at..at + 64])
}

/// Fills every pending record of `part` (whole lines), chaining from `prev`, which ends as
/// the last record's hash. A record already filled is taken as it is (its hash becomes
/// `prev`): the fill resumes where the last one ended. `Err` is the offset of a line not laid
/// out as a record.
pub(super) fn fill_part(part: &mut [u8], prev: &mut [u8; 64]) -> Result<(), usize> {
    let mut start = 0;
    while start < part.len() {
        let end = memchr::memchr(b'\n', &part[start..]).map_or(part.len(), |i| start + i);
        let line = &mut part[start..end];
        if !line.is_empty() {
            let (_, hash_at) = fields(line).ok_or(start)?;
            if is_pending(&line[hash_at..hash_at + 64]) {
                *prev = fill_line(line, prev).ok_or(start)?;
            } else {
                prev.copy_from_slice(&line[hash_at..hash_at + 64]);
            }
        }
        start = end + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_chains_pending_records_and_keeps_filled_ones() {
        let line = |seq: u64| {
            let mut l = format!("{{\"seq\":{seq},\"outcome\":\"ok\",\"prev\":\"").into_bytes();
            l.extend_from_slice(&PENDING);
            l.extend_from_slice(b"\",\"hash\":\"");
            l.extend_from_slice(&PENDING);
            l.extend_from_slice(b"\"}\n");
            l
        };
        let mut part: Vec<u8> = (1..=3).flat_map(line).collect();
        let mut prev = [b'0'; 64];
        fill_part(&mut part, &mut prev).unwrap();
        let first = hash_field(part.split(|b| *b == b'\n').next().unwrap()).unwrap();
        assert!(!is_pending(first));
        // Filling again changes nothing; a fourth record chains from the third.
        let filled = part.clone();
        let mut again = [b'0'; 64];
        fill_part(&mut part, &mut again).unwrap();
        assert_eq!((part.clone(), again), (filled, prev));
        part.extend(line(4));
        fill_part(&mut part, &mut again).unwrap();
        let fourth = part.split(|b| *b == b'\n').nth(3).unwrap();
        assert_eq!(&fourth[fourth.len() - 140..fourth.len() - 76], &prev[..]);
        // A line not laid out as a record is refused at its offset, never a panic.
        let mut bad = b"{\"seq\":1}\nshort\n".to_vec();
        assert_eq!(fill_part(&mut bad, &mut prev), Err(0));
        for n in 0..200 {
            let mut junk = vec![b'"'; n];
            let _ = fill_part(&mut junk, &mut prev);
        }
    }
}
