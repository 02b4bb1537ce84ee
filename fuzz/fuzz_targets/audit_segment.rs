//! Any bytes as an audit segment, a digest, or both are verified (reported as problems) or
//! refused, never a panic or a hang: what `strata audit verify` and `audit show` read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let (segment, digest) = data.split_at(data.len() / 2);
    std::fs::create_dir_all(dir.path().join("segments")).unwrap();
    std::fs::create_dir_all(dir.path().join("digests")).unwrap();
    std::fs::write(dir.path().join("segments/000000000001.jsonl"), segment).unwrap();
    std::fs::write(dir.path().join("digests/000000000001.json"), digest).unwrap();
    let _ = strata::governance::verify(dir.path(), &[7u8; 32], "fuzz");
    let _ = strata::governance::audit::read_records(dir.path(), &mut |_| {});
    let _ = strata::governance::AuditLog::open(dir.path(), &[7u8; 32], "fuzz");
});
