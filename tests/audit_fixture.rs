//! The audit log's format 1, as checked in under tests/fixtures/audit-v1: later versions keep
//! verifying and reading it. `STRATA_REGENERATE_FIXTURES=1` writes it again (only when the
//! format changes on purpose, with a new directory for the new version).

use std::path::{Path, PathBuf};

use strata::governance::{audit::read_records, verify, AuditEvent, AuditLog};

const KEY: [u8; 32] = *b"strata audit fixture key 32 byte";
const LAKE: &str = "fixture-lake";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit-v1")
}

fn regenerate(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let log = AuditLog::open(dir, &KEY, LAKE).unwrap().segment_records(16);
    for i in 0..40u64 {
        log.append(AuditEvent {
            principal: if i % 3 == 0 { "alice" } else { "host" }.into(),
            action: if i % 5 == 0 { "scan" } else { "get" }.into(),
            resource: format!("object:k/{i}"),
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

#[test]
fn the_format_1_fixture_still_verifies_and_reads() {
    let dir = fixture();
    if std::env::var_os("STRATA_REGENERATE_FIXTURES").is_some() {
        regenerate(&dir);
    }
    let report = verify(&dir, &KEY, LAKE).unwrap();
    assert!(report.intact(), "{:?}", report.problems);
    assert_eq!((report.records, report.segments), (40, 3));
    let mut records = Vec::new();
    read_records(&dir, &mut |r| records.push(r)).unwrap();
    assert_eq!(records.len(), 40);
    let r = &records[9];
    assert_eq!((r.seq, r.event.outcome.as_str()), (10, "denied"));
    assert_eq!(records[35].event.columns, ["id"]);
    assert_eq!(records[35].event.rows, Some(35));
    assert_eq!(records[14].event.detail.as_deref(), Some("filter id > 3"));
    // Under another key or for another lake, the digests do not verify.
    let other = verify(&dir, &[1u8; 32], LAKE).unwrap();
    assert!(other.problems.iter().any(|p| p.contains("signature")));
    let replayed = verify(&dir, &KEY, "another-lake").unwrap();
    assert!(replayed
        .problems
        .iter()
        .any(|p| p.contains("another lake") || p.contains("replayed")));
}
