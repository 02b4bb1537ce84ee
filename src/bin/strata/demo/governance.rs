//! The governance step of the demo, on a lake of its own (`<root>/governed`, made fresh each
//! run) configured with principals, roles, a masking view and the audit log: a denied read, a
//! masked read, an erasure, an audit verify and a compliance report with a failing control.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use strata::governance::{AuditQuery, EraseRequest, Framework, Status};
use strata::table::TableOptions;
use strata::{Lake, LakeConfig, Result};

use super::{internal, io};

const CONFIG: &str = r#"
[access]
masking = "masking.toml"

[access.roles.analyst]
purposes = ["analytics"]
grants = [{ actions = ["read"], zones = ["silver"] }, { actions = ["read"], prefixes = ["reports/"] }]

[access.roles.dpo]
purposes = ["erasure requests"]
grants = [{ actions = ["admin"], lake = true, zones = ["*"], prefixes = [""] }]

[access.principals]
alice = ["analyst"]
dana = ["dpo"]

[audit]
enabled = true
"#;

const MASKING: &str = r#"
[columns.email]
clear = ["dpo"]
mask = { op = "email" }
"#;

fn patients() -> Result<RecordBatch> {
    let column = |v: [&str; 3]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
    RecordBatch::try_from_iter([
        ("patient", column(["p-001", "p-002", "p-003"])),
        (
            "email",
            column(["zoe@example.com", "li.wei@example.org", "ana@example.net"]),
        ),
        ("ward", column(["cardiology", "oncology", "cardiology"])),
    ])
    .map_err(|e| internal(format!("demo: {e}")))
}

/// Runs the step, printing through `say`.
pub fn run(root: &Path, say: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    say(
        "\n== Governance: principals, a masked and a denied read, erasure, audit, compliance"
            .into(),
    )?;
    let dir = root.join("governed");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io("demo: cannot clear", &dir, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| io("demo: cannot create", &dir, e))?;
    std::fs::write(dir.join("masking.toml"), MASKING)
        .map_err(|e| io("demo: cannot write", &dir.join("masking.toml"), e))?;
    let mut config = LakeConfig::from_toml_str(CONFIG)?;
    config.dir = dir.clone();
    let host = Lake::open(&config)?;
    let table = host.table("silver/patients")?;
    let batch = patients()?;
    table.create(&batch.schema(), &[batch], &TableOptions::default())?;
    host.classify("silver/patients", 1000, 0.5)?;
    host.put("private/notes.txt", b"ward rota".to_vec())?;
    say(format!(
        "lake at {} with roles analyst (alice) and dpo (dana); audit log in {}",
        dir.display(),
        dir.join("_audit").display()
    ))?;

    let alice = host.as_principal("alice")?;
    let out = alice.table("silver/patients")?.scan()?.run()?;
    let emails = out
        .batches
        .first()
        .and_then(|b| b.column_by_name("email").cloned())
        .ok_or_else(|| internal("demo: no email column"))?;
    let shown: Vec<&str> = emails.as_string::<i32>().iter().flatten().collect();
    say(format!(
        "alice scans silver/patients: emails masked as {shown:?}"
    ))?;
    match alice.get("private/notes.txt") {
        Err(e) => say(format!("alice gets private/notes.txt: denied ({e})"))?,
        Ok(_) => return Err(internal("demo: alice read what she was not granted")),
    }

    let dana = host.as_principal("dana")?;
    let (column, value) = EraseRequest::subject("email=li.wei@example.org")?;
    let report = dana.erase(&EraseRequest {
        column,
        value,
        ..EraseRequest::default()
    })?;
    for t in &report.tables {
        say(format!(
            "dana erases email=li.wei@example.org: {} row(s) deleted from {} (column {}) at version {}; its files go at the next vacuum after the retention window",
            t.rows,
            t.table,
            t.column,
            t.version.map_or("-".into(), |v| v.to_string())
        ))?;
    }
    let verify = dana.audit_verify()?;
    say(format!(
        "audit verify: {} records in {} segment(s), {}",
        verify.records,
        verify.segments,
        if verify.intact() {
            "intact".to_string()
        } else {
            format!("PROBLEMS: {:?}", verify.problems)
        }
    ))?;
    let denials = dana.audit_show(&AuditQuery {
        principal: Some("alice".into()),
        ..AuditQuery::default()
    })?;
    for r in denials.iter().filter(|r| r.event.outcome == "denied") {
        say(format!(
            "  record {}: {} {} {} -> {}",
            r.seq, r.event.principal, r.event.action, r.event.resource, r.event.outcome
        ))?;
    }

    let compliance = dana.compliance(Framework::Gdpr)?;
    say(format!("compliance (gdpr): score {}", compliance.score))?;
    for c in &compliance.controls {
        let status = match c.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
        };
        say(format!("  {status} {}: {}", c.id, c.title))?;
        if c.status == Status::Fail {
            for e in &c.evidence {
                say(format!("       evidence: {e}"))?;
            }
        }
    }
    Ok(())
}
