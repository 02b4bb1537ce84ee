//! The audit log's formats, as checked in under tests/fixtures: later versions keep verifying
//! and reading them. Format 1 (tests/fixtures/audit-v1) digests signed each segment file's
//! SHA-256; format 2 (audit-v2) digests sign the chain (last hash, record range, segment
//! length). `STRATA_REGENERATE_FIXTURES=1` writes the current format's fixture again (only
//! when the format changes on purpose, with a new directory for the new version); the older
//! ones are never rewritten.

use std::path::{Path, PathBuf};

use strata::governance::{audit::read_records, verify, AuditEvent, AuditLog, SegmentDigest};

const KEY: [u8; 32] = *b"strata audit fixture key 32 byte";
const LAKE: &str = "fixture-lake";

fn fixture(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/audit-v{version}"))
}

/// 40 records, 16 to a segment: two sealed segments and an open one. Some strings need
/// escaping (format 2 requires each line to be its record's canonical JSON).
fn regenerate(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let log = AuditLog::open(dir, &KEY, LAKE).unwrap().segment_records(16);
    for i in 0..40u64 {
        log.append(AuditEvent {
            principal: if i % 3 == 0 { "alice" } else { "host" }.into(),
            action: if i % 5 == 0 { "scan" } else { "get" }.into(),
            resource: if i % 11 == 0 {
                format!("object:k/\"{i}\"\t")
            } else {
                format!("object:k/{i}")
            },
            columns: if i % 5 == 0 {
                vec!["id".into()]
            } else {
                vec![]
            },
            rows: (i % 5 == 0).then_some(i),
            bytes: Some(i * 10),
            version: None,
            detail: (i % 7 == 0).then(|| "filter id > 3".to_string()),
            outcome: if i == 9 { "denied" } else { "ok" }.into(),
        })
        .unwrap();
    }
}

/// What both formats' fixtures hold, verified and read back.
fn check(dir: &Path) {
    let report = verify(dir, &KEY, LAKE).unwrap();
    assert!(report.intact(), "{:?}", report.problems);
    assert_eq!((report.records, report.segments), (40, 3));
    let mut records = Vec::new();
    read_records(dir, &mut |r| records.push(r)).unwrap();
    assert_eq!(records.len(), 40);
    let r = &records[9];
    assert_eq!((r.seq, r.event.outcome.as_str()), (10, "denied"));
    assert_eq!(records[35].event.columns, ["id"]);
    assert_eq!(records[35].event.rows, Some(35));
    assert_eq!(records[14].event.detail.as_deref(), Some("filter id > 3"));
    // Under another key or for another lake, the digests do not verify.
    let other = verify(dir, &[1u8; 32], LAKE).unwrap();
    assert!(other.problems.iter().any(|p| p.contains("signature")));
    let replayed = verify(dir, &KEY, "another-lake").unwrap();
    assert!(replayed
        .problems
        .iter()
        .any(|p| p.contains("another lake") || p.contains("replayed")));
}

fn digest_format(dir: &Path, n: u64) -> SegmentDigest {
    let text = std::fs::read(dir.join(format!("digests/{n:012}.json"))).unwrap();
    serde_json::from_slice(&text).unwrap()
}

#[test]
fn the_format_1_fixture_still_verifies_and_reads() {
    let dir = fixture(1);
    assert_eq!(digest_format(&dir, 1).format, 1);
    check(&dir);
}

#[test]
fn the_format_2_fixture_verifies_and_reads() {
    let dir = fixture(2);
    if std::env::var_os("STRATA_REGENERATE_FIXTURES").is_some() {
        regenerate(&dir);
    }
    let d = digest_format(&dir, 2);
    assert_eq!(
        (d.format, d.segment_sha256, d.bytes.is_some()),
        (2, None, true)
    );
    check(&dir);
    let mut records = Vec::new();
    read_records(&dir, &mut |r| records.push(r)).unwrap();
    assert_eq!(records[11].event.resource, "object:k/\"11\"\t");
}
