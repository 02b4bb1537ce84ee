//! Any bytes as an audit segment, a digest, or both are verified (reported as problems) or
//! refused, never a panic or a hang: what `strata audit verify` and `audit show` read.
//!
//! Two shapes, by the first byte: raw bytes as segment 1 and its digest; or a real format 2
//! log (two sealed segments and an open one whose newest hashes are still pending) with the
//! rest of the input as edits (offset, byte) to one of its files, so that the fuzzer reaches
//! the format 2 checks (pending hashes, lengths, chain-signed digests) past the JSON parser.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use strata::governance::{AuditEvent, AuditLog};

const KEY: [u8; 32] = [7u8; 32];

const FILES: [&str; 5] = [
    "segments/000000000001.jsonl",
    "segments/000000000002.jsonl",
    "segments/000000000003.jsonl",
    "digests/000000000001.json",
    "digests/000000000002.json",
];

/// A format 2 log's files: 10 records, 4 to a segment, the last one's hashes made pending
/// again (as a writer that stopped before its thread filled them leaves them). Built once.
fn real_log() -> &'static [Vec<u8>] {
    static LOG: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), &KEY, "fuzz")
            .unwrap()
            .segment_records(4);
        for i in 0..10u64 {
            log.append(AuditEvent {
                principal: "p".into(),
                action: "get".into(),
                resource: if i % 3 == 0 {
                    format!("k\"{i}")
                } else {
                    format!("k{i}")
                },
                bytes: Some(i),
                outcome: "ok".into(),
                ..AuditEvent::default()
            })
            .unwrap();
        }
        drop(log);
        let mut files: Vec<Vec<u8>> = FILES
            .iter()
            .map(|f| std::fs::read(dir.path().join(f)).unwrap())
            .collect();
        let open = &mut files[2];
        let l = open.len() - 1; // the newline
        open[l - 66..l - 2].fill(b'-');
        open[l - 140..l - 76].fill(b'-');
        files
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let Some((&shape, data)) = data.split_first() else {
        return;
    };
    if shape % 2 == 0 {
        let (segment, digest) = data.split_at(data.len() / 2);
        std::fs::create_dir_all(dir.path().join("segments")).unwrap();
        std::fs::create_dir_all(dir.path().join("digests")).unwrap();
        std::fs::write(dir.path().join("segments/000000000001.jsonl"), segment).unwrap();
        std::fs::write(dir.path().join("digests/000000000001.json"), digest).unwrap();
    } else {
        let which = (shape / 2) as usize % FILES.len();
        for (name, bytes) in FILES.iter().zip(real_log()) {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        let path = dir.path().join(FILES[which]);
        let mut bytes = real_log()[which].clone();
        for edit in data.chunks(3) {
            if let [hi, lo, byte] = *edit {
                let at = (usize::from(hi) << 8 | usize::from(lo)) % (bytes.len() + 1);
                match byte {
                    // A cut, then a byte replaced or inserted.
                    0 => bytes.truncate(at),
                    b if b % 2 == 0 && at < bytes.len() => bytes[at] = b,
                    b => bytes.insert(at, b),
                }
            }
        }
        std::fs::write(&path, bytes).unwrap();
    }
    let _ = strata::governance::verify(dir.path(), &KEY, "fuzz");
    let _ = strata::governance::audit::read_records(dir.path(), &mut |_| {});
    let _ = AuditLog::open(dir.path(), &KEY, "fuzz");
});
