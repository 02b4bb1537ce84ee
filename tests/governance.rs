//! Governance through the lake: principals denied what they are not granted (and audited),
//! column grants and masking views on scans, raw reads of Parquet refused to masked roles,
//! every call in a verifying audit log that detects tampering, erasure of a subject across
//! the tables the catalog marks, retention on tables, and compliance reports with evidence.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use strata::config::Action;
use strata::governance::{AuditQuery, EraseRequest, Framework, Resource, Status};
use strata::table::TableOptions;
use strata::{ErrorKind, Expr, Lake, LakeConfig};

const RULES: &str = r#"
[access]
masking = "masking.toml"

[access.roles.analyst]
purposes = ["analytics"]
grants = [
  { actions = ["read"], zones = ["silver"] },
  { actions = ["read"], tables = ["bronze/trips"], columns = ["id", "fare"] },
  { actions = ["read"], prefixes = ["public/"] },
  { actions = ["write"], prefixes = ["scratch/"] },
]

[access.roles.clinician]
purposes = ["treatment"]
grants = [{ actions = ["read"], zones = ["silver"] }]

[access.roles.ops]
grants = [{ actions = ["admin"], lake = true, zones = ["*"], prefixes = [""] }]

[access.principals]
alice = ["analyst"]
carol = ["clinician"]
root = ["ops"]

[audit]
enabled = true
segment_records = 64

[erasure]
prefixes = ["uploads/"]
"#;

const MASKING: &str = r#"
[columns.email]
clear = ["clinician", "ops"]
mask = { op = "redact" }
"#;

fn open(dir: &std::path::Path) -> Lake {
    std::fs::write(dir.join("masking.toml"), MASKING).unwrap();
    let mut config = common::config(
        dir,
        vec![common::local_tier("hot"), common::local_tier("cold")],
    );
    let rules = LakeConfig::from_toml_str(RULES).unwrap();
    config.access = rules.access;
    config.audit = rules.audit;
    config.erasure = rules.erasure;
    Lake::open(&config).unwrap()
}

fn riders(ids: std::ops::Range<i64>) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(ids.clone())) as _,
        ),
        (
            "email",
            Arc::new(StringArray::from_iter_values(
                ids.clone().map(|i| format!("rider{i}@example.com")),
            )) as _,
        ),
        (
            "fare",
            Arc::new(Float64Array::from_iter_values(ids.map(|i| i as f64))) as _,
        ),
    ])
    .unwrap()
}

fn create(lake: &Lake, name: &str, batch: RecordBatch) {
    lake.table(name)
        .unwrap()
        .create(&batch.schema(), &[batch], &TableOptions::default())
        .unwrap();
}

fn action_records(lake: &Lake, action: &str) -> Vec<strata::governance::AuditRecord> {
    lake.audit_show(&AuditQuery {
        action: Some(action.into()),
        ..AuditQuery::default()
    })
    .unwrap()
}

fn principal_records(lake: &Lake, principal: &str) -> Vec<strata::governance::AuditRecord> {
    lake.audit_show(&AuditQuery {
        principal: Some(principal.into()),
        ..AuditQuery::default()
    })
    .unwrap()
}

fn denied(result: strata::Result<impl std::fmt::Debug>, who: &str) -> strata::Error {
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains(who), "{err}");
    err
}

#[test]
fn a_principal_is_denied_everything_outside_its_grants_and_every_denial_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let lake = open(dir.path());
    lake.put("public/a.txt", b"open".to_vec()).unwrap();
    lake.put("private/b.txt", b"secret".to_vec()).unwrap();
    create(&lake, "gold/kpis", riders(0..5));
    let alice = lake.as_principal("alice").unwrap();
    assert_eq!(alice.principal(), "alice");
    assert_eq!(&alice.get("public/a.txt").unwrap()[..], b"open");
    alice.put("scratch/x", b"mine".to_vec()).unwrap();

    let err = denied(
        alice.get("private/b.txt"),
        "alice may not read object private/b.txt",
    );
    assert!(err.to_string().contains("no grant"), "{err}");
    denied(alice.get_range("private/b.txt", 0..2), "alice");
    denied(alice.stat("private/b.txt"), "alice");
    denied(
        alice.put("public/c.txt", b"x".to_vec()),
        "alice may not write",
    );
    denied(alice.delete("public/a.txt"), "alice");
    denied(alice.rename("public/a.txt", "scratch/a.txt"), "alice");
    denied(alice.copy("private/b.txt", "scratch/b.txt"), "alice");
    denied(alice.scan("private/b.txt"), "alice");
    denied(
        alice.run_tiers(&Default::default(), &|_, _| {}),
        "alice may not admin the lake",
    );
    denied(alice.reindex(), "alice");
    denied(alice.keys().new_key(None), "alice");
    denied(alice.catalog(), "alice");
    denied(alice.audit_verify(), "alice");
    denied(alice.compliance(Framework::Gdpr), "alice");
    denied(alice.erase(&EraseRequest::default()), "alice");
    denied(alice.table_at("/tmp/elsewhere"), "alice");
    let kpis = alice.table("gold/kpis").unwrap();
    denied(kpis.scan(), "alice may not read table gold/kpis");
    denied(kpis.history(), "alice");
    denied(
        kpis.append(&[riders(5..6)]),
        "alice may not write table gold/kpis",
    );
    // Lists show only what the principal may read.
    let listed: Vec<String> = alice.list("").unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(listed, ["public/a.txt", "scratch/x"]); // write includes read
    assert!(alice
        .tables(None)
        .unwrap()
        .iter()
        .all(|t| t.to_string() != "gold/kpis"));
    // A principal's handle cannot become another principal without admin on the lake.
    denied(alice.as_principal("root"), "alice may not admin the lake");
    assert!(lake
        .as_principal("root")
        .unwrap()
        .as_principal("alice")
        .is_ok());
    // An unknown principal is refused at once.
    denied(lake.as_principal("mallory"), "mallory");
    // Nothing alice was denied happened.
    assert!(!lake.exists("public/c.txt").unwrap());
    assert!(lake.exists("public/a.txt").unwrap());
    assert_eq!(lake.table("gold/kpis").unwrap().version().unwrap(), 0);

    let root = lake.as_principal("root").unwrap();
    let records = principal_records(&root, "alice");
    let denials: Vec<_> = records
        .iter()
        .filter(|r| r.event.outcome == "denied")
        .collect();
    assert!(
        denials.len() >= 18,
        "{} denials: {records:#?}",
        denials.len()
    );
    assert!(denials
        .iter()
        .any(|r| r.event.action == "get" && r.event.resource == "object:private/b.txt"));
    assert!(denials
        .iter()
        .any(|r| r.event.action == "table.write" && r.event.resource == "table:gold/kpis"));
    assert!(records
        .iter()
        .any(|r| r.event.action == "get" && r.event.outcome == "ok" && r.event.bytes == Some(4)));
    let mallory = principal_records(&root, "mallory");
    assert_eq!(mallory.len(), 1);
    let report = root.audit_verify().unwrap();
    assert!(report.intact(), "{:?}", report.problems);
    assert!(report.records as usize >= records.len());
    // The policy's arrival is recorded too.
    assert!(action_records(&root, "policy.change").len() == 1);
}

#[test]
fn columns_are_granted_or_masked_never_shown_in_clear_and_filters_on_them_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lake = open(dir.path());
    create(&lake, "silver/riders", riders(0..100));
    create(&lake, "bronze/trips", riders(0..100));
    lake.write_object(
        "public/riders.parquet",
        &riders(0..3).schema(),
        &[riders(0..3)],
        &Default::default(),
    )
    .unwrap();
    let alice = lake.as_principal("alice").unwrap();
    let carol = lake.as_principal("carol").unwrap();

    // Masked view: alice sees the emails redacted, carol (clinician) in clear.
    let out = alice
        .table("silver/riders")
        .unwrap()
        .scan()
        .unwrap()
        .run()
        .unwrap();
    let emails = out.batches[0]
        .column_by_name("email")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .clone();
    assert_eq!(out.stats.rows_out, 100);
    assert!(
        emails.iter().all(|e| !e.unwrap_or("").contains("rider")),
        "{emails:?}"
    );
    let out = carol
        .table("silver/riders")
        .unwrap()
        .scan()
        .unwrap()
        .run()
        .unwrap();
    let clear = out.batches[0].column_by_name("email").unwrap();
    let clear = clear.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(clear.value(0), "rider0@example.com");

    // A filter on a column alice sees masked would let her probe it: refused, counts too.
    let probe = Expr::parse("email = 'rider7@example.com'").unwrap();
    let scan = alice.table("silver/riders").unwrap().scan().unwrap();
    denied(scan.clone().filter(probe.clone()).run(), "alice");
    denied(scan.clone().filter(probe.clone()).count(), "alice");
    assert_eq!(
        scan.filter(Expr::parse("fare < 10").unwrap())
            .count()
            .unwrap()
            .0,
        10
    );
    assert_eq!(
        carol
            .table("silver/riders")
            .unwrap()
            .scan()
            .unwrap()
            .filter(probe)
            .count()
            .unwrap()
            .0,
        1
    );

    // Column grants: bronze/trips only id and fare, and only when projected.
    let trips = alice.table("bronze/trips").unwrap();
    denied(trips.scan().unwrap().run(), "alice");
    let out = trips
        .scan()
        .unwrap()
        .columns(&["id", "fare"])
        .run()
        .unwrap();
    assert_eq!(out.stats.rows_out, 100);
    denied(
        trips.scan().unwrap().columns(&["id", "email"]).run(),
        "alice",
    );
    denied(
        trips
            .scan()
            .unwrap()
            .columns(&["id"])
            .filter(Expr::parse("email = 'x'").unwrap())
            .count(),
        "alice",
    );

    // Lake objects: a scan is masked; the raw bytes of a Parquet file are refused.
    let out = alice.scan("public/riders.parquet").unwrap().run().unwrap();
    let masked = out.batches[0].column_by_name("email").unwrap();
    let masked = masked.as_any().downcast_ref::<StringArray>().unwrap();
    assert!(!masked.value(0).contains("rider"), "{masked:?}");
    denied(alice.get("public/riders.parquet"), "scan it instead");
    assert!(carol.get("public/riders.parquet").is_err()); // carol has no grant on public/

    // Every scan is in the log with its columns, filter and rows.
    let root = lake.as_principal("root").unwrap();
    let scans = root
        .audit_show(&AuditQuery {
            principal: Some("alice".into()),
            resource: Some("bronze/trips".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert!(scans.iter().any(|r| r.event.action == "scan"
        && r.event.outcome == "ok"
        && r.event.columns == ["id", "fare"]
        && r.event.rows == Some(100)
        && r.event.version == Some(0)));
    assert!(scans.iter().any(|r| r.event.outcome == "denied"
        && r.event.detail.as_deref().unwrap_or("").contains("email")));
}

#[test]
fn the_audit_log_survives_reopening_detects_tampering_and_keeps_its_key_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let lake = open(dir.path());
        for i in 0..100 {
            lake.put(&format!("public/{i}"), vec![b'x'; 10]).unwrap();
        }
        create(&lake, "silver/riders", riders(0..10));
        lake.table("silver/riders")
            .unwrap()
            .append(&[riders(10..20)])
            .unwrap();
    }
    let key_file = std::fs::read_to_string(dir.path().join("_audit/audit-key.json")).unwrap();
    assert!(key_file.contains("\"wrapped\""), "{key_file}");
    let lake = open(dir.path());
    let root = lake.as_principal("root").unwrap();
    let report = root.audit_verify().unwrap();
    assert!(report.intact(), "{:?}", report.problems);
    assert!(report.segments >= 2, "{report:?}");
    let writes = root
        .audit_show(&AuditQuery {
            resource: Some("table:silver/riders".into()),
            action: Some("table.write".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].event.version, Some(1));
    assert_eq!(writes[0].event.principal, "host");

    // Edit one record of a sealed segment: verify names the segment and the record.
    let seg = dir.path().join("_audit/segments/000000000001.jsonl");
    let text = std::fs::read_to_string(&seg).unwrap();
    std::fs::write(&seg, text.replacen("public/3\"", "public/9\"", 1)).unwrap();
    let report = root.audit_verify().unwrap();
    assert!(!report.intact());
    assert!(
        report.problems.iter().any(|p| p.contains("segment 1")),
        "{:?}",
        report.problems
    );
    std::fs::write(&seg, text).unwrap();
    assert!(root.audit_verify().unwrap().intact());
    // A removed segment is named.
    let second = dir.path().join("_audit/segments/000000000002.jsonl");
    let kept = std::fs::read(&second).unwrap();
    std::fs::remove_file(&second).unwrap();
    let report = root.audit_verify().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("segment 2 is missing")),
        "{:?}",
        report.problems
    );
    std::fs::write(&second, kept).unwrap();
    // Without the key ring the key cannot be unwrapped: no forged verification either.
    drop(root);
    drop(lake);
    std::fs::rename(
        dir.path().join("keyring.toml"),
        dir.path().join("keyring.away"),
    )
    .unwrap();
    let lake = open(dir.path());
    let err = lake.audit_verify().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Crypto | ErrorKind::NotFound),
        "{err}"
    );
}

#[test]
fn sixteen_threads_and_two_processes_taking_turns_keep_one_unbroken_chain() {
    if let Ok(dir) = std::env::var("STRATA_AUDIT_CHILD") {
        let dir = std::path::PathBuf::from(dir);
        for _ in 0..5 {
            let mut config = common::config(&dir, vec![common::local_tier("hot")]);
            config.lock_timeout = Duration::from_secs(60);
            config.audit.enabled = true;
            config.audit.segment_records = 100;
            let lake = Lake::open(&config).unwrap();
            for i in 0..40 {
                lake.get(&format!("k{}", i % 4)).unwrap();
            }
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![common::local_tier("hot")]);
    config.audit.enabled = true;
    config.audit.segment_records = 100;
    {
        let lake = Lake::open(&config).unwrap();
        for i in 0..4 {
            lake.put(&format!("k{i}"), vec![1u8; 8]).unwrap();
        }
        std::thread::scope(|s| {
            for t in 0..16 {
                let lake = lake.clone();
                s.spawn(move || {
                    for i in 0..50 {
                        lake.get(&format!("k{}", (t + i) % 4)).unwrap();
                    }
                });
            }
        });
    }
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "sixteen_threads_and_two_processes_taking_turns_keep_one_unbroken_chain",
                    "--nocapture",
                ])
                .env("STRATA_AUDIT_CHILD", dir.path())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let lake = Lake::open(&config).unwrap();
    let report = lake.audit_verify().unwrap();
    assert!(report.intact(), "{:?}", report.problems);
    let gets = action_records(&lake, "get");
    assert_eq!(gets.len(), 16 * 50 + 2 * 5 * 40);
    let mut seqs: Vec<u64> = gets.iter().map(|r| r.seq).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), gets.len(), "record numbers repeat");
}

#[test]
fn erasure_finds_the_subject_in_every_marked_table_and_purge_rewrites_history() {
    let dir = tempfile::tempdir().unwrap();
    let lake = open(dir.path());
    create(&lake, "silver/riders", riders(0..50));
    // Another table calls its email column `contact`.
    let contacts = RecordBatch::try_from_iter([
        (
            "contact",
            Arc::new(StringArray::from(vec!["rider7@example.com", "x@y.org"])) as _,
        ),
        ("n", Arc::new(Int64Array::from(vec![1, 2])) as _),
    ])
    .unwrap();
    create(&lake, "gold/contacts", contacts);
    create(&lake, "bronze/trips", riders(0..5)); // not classified: not searched
    for name in ["silver/riders", "gold/contacts"] {
        lake.classify(name, 1000, 0.5).unwrap();
    }
    lake.put("uploads/rider7@example.com/photo.jpg", b"jpg".to_vec())
        .unwrap();
    lake.put("uploads/other/photo.jpg", b"jpg".to_vec())
        .unwrap();
    lake.put("uploads/xrider7@example.com/a.jpg", b"jpg".to_vec())
        .unwrap();

    let (column, value) = EraseRequest::subject("email=rider7@example.com").unwrap();
    let dry = lake
        .erase(&EraseRequest {
            column: column.clone(),
            value: value.clone(),
            dry_run: true,
            ..EraseRequest::default()
        })
        .unwrap();
    assert_eq!(dry.classification.as_deref(), Some("email"));
    let found: Vec<(&str, &str, u64)> = dry
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.column.as_str(), t.rows))
        .collect();
    assert_eq!(
        found,
        [
            ("gold/contacts", "contact", 1),
            ("silver/riders", "email", 1)
        ]
    );
    assert_eq!(dry.objects, ["uploads/rider7@example.com/photo.jpg"]);
    assert_eq!(lake.table("silver/riders").unwrap().version().unwrap(), 0);

    let done = lake
        .erase(&EraseRequest {
            column,
            value,
            purge: true,
            ..EraseRequest::default()
        })
        .unwrap();
    assert!(done.purged);
    assert!(done
        .tables
        .iter()
        .all(|t| t.rows == 1 && t.version == Some(1)));
    assert!(
        done.tables.iter().all(|t| t.files_vacuumed >= 1),
        "{done:?}"
    );
    assert!(!lake.exists("uploads/rider7@example.com/photo.jpg").unwrap());
    assert!(lake.exists("uploads/other/photo.jpg").unwrap());
    assert!(lake.exists("uploads/xrider7@example.com/a.jpg").unwrap());
    let riders_left = lake
        .table("silver/riders")
        .unwrap()
        .scan()
        .unwrap()
        .filter(Expr::parse("email = 'rider7@example.com'").unwrap())
        .count()
        .unwrap()
        .0;
    assert_eq!(riders_left, 0);
    // Purged: the old version's files are gone, so time travel to it fails.
    let old = lake
        .table("silver/riders")
        .unwrap()
        .scan_as_of(strata::table::AsOf::Version(0))
        .and_then(|s| s.run());
    assert!(old.is_err());
    // One audit record lists it, without the subject's value.
    let record = action_records(&lake, "erase");
    assert_eq!(record.len(), 1);
    assert_eq!(Some(record[0].seq), done.audit_record);
    let detail = record[0].event.detail.as_deref().unwrap();
    assert!(detail.contains("silver/riders@v1:1rows"), "{detail}");
    assert!(!serde_json::to_string(&record[0])
        .unwrap()
        .contains("rider7"));
    // Without --purge, the files that held the rows stay for time travel until the window
    // passes; the first tier run after it vacuums them.
    let kept = lake
        .erase(&EraseRequest {
            column: "email".into(),
            value: "x@y.org".into(),
            ..EraseRequest::default()
        })
        .unwrap();
    assert_eq!(kept.tables.len(), 1);
    assert!(kept.tables[0].files_pending_vacuum);
    let version = kept.tables[0].version.unwrap();
    let contacts = lake.table("gold/contacts").unwrap();
    let before = strata::table::AsOf::Version(version - 1);
    assert!(contacts.scan_as_of(before).unwrap().run().is_ok());
    let soon = lake.run_tiers(&Default::default(), &|_, _| {}).unwrap();
    assert!(soon.table_retention.is_empty(), "{soon:?}");
    let later = strata::RunOptions {
        now: Some(SystemTime::now() + Duration::from_secs(8 * 86_400)),
        ..Default::default()
    };
    let report = lake.run_tiers(&later, &|_, _| {}).unwrap();
    assert!(
        report
            .table_retention
            .iter()
            .any(|l| l.starts_with("gold/contacts: erasure vacuum: ") && !l.ends_with(" 0 files")),
        "{report:?}"
    );
    assert!(contacts.scan_as_of(before).and_then(|s| s.run()).is_err());
    // A subject without `=` is a clear error.
    assert!(EraseRequest::subject("rider7").is_err());
}

#[test]
fn retention_deletes_old_rows_as_table_commits() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![common::local_tier("hot")]);
    config.audit.enabled = true;
    config.table_retention = LakeConfig::from_toml_str(
        "[[table_retention]]\nzone = 'bronze'\ncolumn = 'at'\ndelete_after = '365d'\n",
    )
    .unwrap()
    .table_retention;
    let lake = Lake::open(&config).unwrap();
    let now = SystemTime::now();
    let micros = |days_ago: u64| {
        (now - Duration::from_secs(days_ago * 86_400))
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64
    };
    let events = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as _),
        (
            "at",
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    micros(10),
                    micros(400),
                    micros(800),
                    micros(1),
                ])
                .with_timezone("UTC"),
            ) as _,
        ),
    ])
    .unwrap();
    create(&lake, "bronze/events", events.clone());
    create(&lake, "silver/events", events);
    let dry = lake.table_retention(Some("bronze/events"), true).unwrap();
    assert_eq!(dry.len(), 1);
    assert_eq!(dry[0].rows, 2);
    assert_eq!(dry[0].version, None);
    assert_eq!(lake.table("bronze/events").unwrap().version().unwrap(), 0);
    let report = lake.run_tiers(&Default::default(), &|_, _| {}).unwrap();
    assert_eq!(report.table_rows_expired, 2, "{report:?}");
    let table = lake.table("bronze/events").unwrap();
    assert_eq!(table.scan().unwrap().count().unwrap().0, 2);
    assert_eq!(
        table.history().unwrap()[0].operation.as_deref(),
        Some("DELETE")
    );
    // silver is not covered.
    assert_eq!(
        lake.table("silver/events")
            .unwrap()
            .scan()
            .unwrap()
            .count()
            .unwrap()
            .0,
        4
    );
    assert!(action_records(&lake, "table.delete")
        .iter()
        .any(|r| r.event.resource == "table:bronze/events" && r.event.version == Some(1)));
    // A rule naming a column the table lacks is a clear error.
    let mut bad = config.clone();
    bad.table_retention[0].column = Some("missing".into());
    drop((table, lake));
    let lake = Lake::open(&bad).unwrap();
    let err = lake
        .table_retention(Some("bronze/events"), true)
        .unwrap_err();
    assert!(err.to_string().contains("lacks"), "{err}");
}

#[test]
fn retention_by_file_age_removes_whole_old_files_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![common::local_tier("hot")]);
    config.audit.enabled = true;
    config.table_retention = LakeConfig::from_toml_str(
        "[[table_retention]]\ntable = 'bronze/clicks'\ndelete_after = '30d'\n",
    )
    .unwrap()
    .table_retention;
    let lake = Lake::open(&config).unwrap();
    create(&lake, "bronze/clicks", riders(0..10));
    std::thread::sleep(Duration::from_millis(30));
    let between = SystemTime::now();
    std::thread::sleep(Duration::from_millis(30));
    let table = lake.table("bronze/clicks").unwrap();
    table.append(&[riders(10..15)]).unwrap();
    // Thirty days after `between`, the first file is past the rule and the second is not.
    let then = between + Duration::from_secs(30 * 86_400);
    let dry = lake
        .table_retention_at(Some("bronze/clicks"), true, then)
        .unwrap();
    assert_eq!(dry.len(), 1, "{dry:?}");
    assert_eq!((dry[0].rows, dry[0].files, dry[0].version), (10, 1, None));
    assert!(dry[0].rule.contains("files older than 30d"), "{dry:?}");
    assert_eq!(table.version().unwrap(), 1);
    let done = lake
        .table_retention_at(Some("bronze/clicks"), false, then)
        .unwrap();
    assert_eq!(
        (done[0].rows, done[0].files, done[0].version),
        (10, 1, Some(2))
    );
    assert_eq!(table.scan().unwrap().count().unwrap().0, 5);
    let last = &table.history().unwrap()[0];
    assert_eq!(last.operation.as_deref(), Some("DELETE"));
    // The removed file stays for time travel until a vacuum.
    assert_eq!(
        table
            .scan_as_of(strata::table::AsOf::Version(1))
            .unwrap()
            .count()
            .unwrap()
            .0,
        15
    );
    assert!(action_records(&lake, "table.delete")
        .iter()
        .any(|r| r.event.resource == "table:bronze/clicks" && r.event.version == Some(2)));
    // Nothing older is left: a second run commits nothing.
    let again = lake
        .table_retention_at(Some("bronze/clicks"), false, then)
        .unwrap();
    assert_eq!((again[0].rows, again[0].version), (0, None));
    // An empty column is a config error that says how to go by file age.
    let err = LakeConfig::from_toml_str(
        "[[table_retention]]\ntable = 'a/b'\ncolumn = ''\ndelete_after = '30d'\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("file age"), "{err}");
}

#[test]
fn compliance_reports_are_computed_from_the_live_lake_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let lake = open(dir.path());
    create(&lake, "silver/riders", riders(0..20));
    lake.classify("silver/riders", 1000, 0.5).unwrap();
    let _ = lake.as_principal("alice").unwrap().get("private/nothing");
    let gdpr = lake.compliance(Framework::Gdpr).unwrap();
    let by_id = |r: &strata::governance::ComplianceReport, id: &str| {
        r.controls
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no control {id}: {r:#?}"))
            .clone()
    };
    let enc = by_id(&gdpr, "gdpr.personal_data_encrypted");
    assert_eq!(enc.status, Status::Fail);
    assert!(enc.evidence[0].contains("silver/riders: email"), "{enc:?}");
    let retention = by_id(&gdpr, "gdpr.personal_data_retention");
    assert_eq!(retention.status, Status::Fail);
    let audit = by_id(&gdpr, "gdpr.audit_on_and_verifying");
    assert_eq!(audit.status, Status::Pass, "{audit:?}");
    // analyst sees email masked; clinician sees it clear for treatment; ops sees it clear
    // with no purpose stated: the failing control, with its evidence.
    let purpose = by_id(&gdpr, "gdpr.clear_access_has_purpose");
    assert_eq!(purpose.status, Status::Fail);
    assert_eq!(
        purpose.evidence,
        ["role ops reads in clear: silver/riders.email"]
    );
    let denials = by_id(&gdpr, "gdpr.access_denials");
    assert_eq!(denials.status, Status::Warn);
    assert!(denials.evidence[0].starts_with("alice: "), "{denials:?}");
    assert!(gdpr.score > 0.0 && gdpr.score < 100.0);
    assert!(gdpr.failed().count() >= 2);

    let hipaa = lake.compliance(Framework::Hipaa).unwrap();
    assert_eq!(
        by_id(&hipaa, "hipaa.audit_retention_6y").status,
        Status::Fail
    );
    assert_eq!(by_id(&hipaa, "hipaa.phi_reads_logged").status, Status::Pass);
    // ops sees email in clear without the treatment purpose.
    let masked = by_id(&hipaa, "hipaa.phi_masked_for_non_treatment");
    assert_eq!(masked.status, Status::Fail);
    assert!(
        masked.evidence.iter().any(|e| e.contains("role ops")),
        "{masked:?}"
    );
    let json = serde_json::to_value(&hipaa).unwrap();
    assert_eq!(json["framework"], "hipaa");
    assert!(json["controls"][0]["status"].is_string());
    // strata access check's answers.
    assert!(lake
        .access_check("alice", Action::Read, Resource::Table("silver/riders"))
        .is_ok());
    assert!(lake
        .access_check("alice", Action::Write, Resource::Table("silver/riders"))
        .is_err());
}

#[test]
fn bad_policies_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![common::local_tier("hot")]);
    std::fs::write(
        dir.path().join("policy.toml"),
        "[roles.a]\ngrants = [{ actions = ['read'], zones = ['silver'] }]\n[principals]\nbob = ['b']\n",
    )
    .unwrap();
    config.access = LakeConfig::from_toml_str("[access]\npolicy_file = 'policy.toml'\n")
        .unwrap()
        .access;
    let err = Lake::open(&config).unwrap_err();
    assert!(err.to_string().contains("unknown role \"b\""), "{err}");
    std::fs::write(dir.path().join("policy.toml"), "[roles.a]\ngrants = 7\n").unwrap();
    let err = Lake::open(&config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    std::fs::write(
        dir.path().join("policy.toml"),
        "[roles.a]\ngrants = [{ actions = ['read'], zones = ['silver'] }]\n[principals]\nbob = ['a']\n",
    )
    .unwrap();
    let lake = Lake::open(&config).unwrap();
    assert!(lake.as_principal("bob").is_ok());
    // Without [access], a principal's handle may do everything (and is named in the log).
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open_dir(dir.path()).unwrap();
    let anyone = lake.as_principal("anyone").unwrap();
    anyone.put("x", b"1".to_vec()).unwrap();
    assert_eq!(&anyone.get("x").unwrap()[..], b"1");
}

#[test]
fn a_killed_process_loses_no_record_of_a_call_that_returned() {
    use std::io::BufRead;
    if let Ok(dir) = std::env::var("STRATA_AUDIT_KILLED") {
        let mut config =
            common::config(std::path::Path::new(&dir), vec![common::local_tier("hot")]);
        config.audit.enabled = true;
        config.audit.sync_interval = Duration::from_secs(3600); // nothing synced: only the map
        let lake = Lake::open(&config).unwrap();
        for i in 0..300 {
            lake.get(&format!("k{}", i % 4)).unwrap();
        }
        println!("returned 300");
        std::thread::sleep(Duration::from_secs(600));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![common::local_tier("hot")]);
    config.audit.enabled = true;
    {
        let lake = Lake::open(&config).unwrap();
        for i in 0..4 {
            lake.put(&format!("k{i}"), vec![1u8; 8]).unwrap();
        }
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_killed_process_loses_no_record_of_a_call_that_returned",
            "--nocapture",
        ])
        .env("STRATA_AUDIT_KILLED", dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    for line in out.lines() {
        if line.unwrap().contains("returned 300") {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no sync
    child.wait().unwrap();
    config.lock_timeout = Duration::from_secs(30);
    let lake = Lake::open(&config).unwrap();
    let gets = action_records(&lake, "get");
    assert_eq!(gets.len(), 300);
    lake.put("after", b"1".to_vec()).unwrap();
    lake.audit_seal().unwrap();
    let report = lake.audit_verify().unwrap();
    assert!(report.intact(), "{:?}", report.problems);
}
