//! `strata audit ...`: the tamper-evident audit log: verify it, show its records, seal it.

use std::io::Write;

use clap::{Args, Subcommand};
use strata::governance::{AuditQuery, AuditRecord, VerifyReport};
use strata::{Lake, LakeConfig};

use crate::flags;
use crate::util::{io, time, write_json};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the whole log: every record's hash and link to the one before, numbers without
    /// gaps, every sealed segment against its signed digest. Prints what was checked and every
    /// problem; exits non-zero when the log is not intact.
    Verify(VerifyArgs),
    /// The records of the log, oldest first, filtered.
    Show(ShowArgs),
    /// Seal the open segment now (sign its digest), so everything written so far is covered by
    /// a signature.
    Seal,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// As JSON: records, segments, problems, intact.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    /// Only records at or after T: RFC 3339 (2026-12-01T00:00:00Z), a date (2026-12-01,
    /// midnight UTC) or a duration ago (1h, 7d: 0s to 100y).
    #[arg(long, value_name = "T", value_parser = flags::since)]
    since: Option<i64>,
    /// Only this principal's records (`host` for calls without one).
    #[arg(long, value_name = "P")]
    principal: Option<String>,
    /// Only records whose resource contains R (`object:KEY`, `table:ZONE/NAME`, `lake`).
    #[arg(long, value_name = "R")]
    resource: Option<String>,
    /// Only this action's records (`get`, `put`, `scan`, `table.append`, ...).
    #[arg(long, value_name = "A")]
    action: Option<String>,
    /// At most N records, the newest: 1 to 1000000000.
    #[arg(long, value_name = "N", value_parser = flags::count::<usize>(1, 1_000_000_000))]
    limit: Option<usize>,
    /// As one JSON array of records.
    #[arg(long)]
    json: bool,
}

pub fn run(config: &LakeConfig, command: AuditCommand, out: &mut dyn Write) -> strata::Result<()> {
    let lake = Lake::open(config)?;
    match command {
        AuditCommand::Verify(args) => verify(&lake, args.json, out),
        AuditCommand::Show(args) => {
            let query = AuditQuery {
                since_ms: args.since,
                principal: args.principal,
                resource: args.resource,
                action: args.action,
                limit: args.limit,
            };
            let records = lake.audit_show(&query)?;
            if args.json {
                return write_json(out, &records);
            }
            show(&records, out)
        }
        AuditCommand::Seal => {
            lake.audit_seal()?;
            writeln!(
                out,
                "sealed: every record written so far is covered by a signed digest"
            )
            .map_err(io)
        }
    }
}

fn verify(lake: &Lake, json: bool, out: &mut dyn Write) -> strata::Result<()> {
    let report: VerifyReport = lake.audit_verify()?;
    if json {
        #[derive(serde::Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            report: &'a VerifyReport,
            intact: bool,
        }
        write_json(
            out,
            &Shown {
                report: &report,
                intact: report.intact(),
            },
        )?;
    } else {
        writeln!(
            out,
            "checked {} records in {} segments",
            report.records, report.segments
        )
        .map_err(io)?;
        for p in &report.problems {
            writeln!(out, "problem: {p}").map_err(io)?;
        }
        for w in &report.warnings {
            writeln!(out, "warning: {w}").map_err(io)?;
        }
        if report.intact() {
            writeln!(out, "the audit log is intact").map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    if report.intact() {
        return Ok(());
    }
    Err(strata::Error::new(
        strata::ErrorKind::Corrupt,
        format!(
            "the audit log is not intact: {} problems, the first: {}",
            report.problems.len(),
            report.problems[0]
        ),
    ))
}

fn show(records: &[AuditRecord], out: &mut dyn Write) -> strata::Result<()> {
    let header = [
        "TIME",
        "PRINCIPAL",
        "ACTION",
        "RESOURCE",
        "OUTCOME",
        "ROWS/BYTES",
    ];
    let rows: Vec<[String; 6]> = records
        .iter()
        .map(|r| {
            let e = &r.event;
            let amount = match (e.rows, e.bytes) {
                (Some(rows), Some(bytes)) => format!("{rows} rows, {bytes} B"),
                (Some(rows), None) => format!("{rows} rows"),
                (None, Some(bytes)) => format!("{bytes} B"),
                (None, None) => "-".into(),
            };
            [
                // Before 1970 only by a damaged record; shown as the epoch.
                time(u64::try_from(r.at).unwrap_or(0)),
                e.principal.clone(),
                e.action.clone(),
                e.resource.clone(),
                e.outcome.clone(),
                amount,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| -> String {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        text
    };
    writeln!(out, "{}", line(&header)).map_err(io)?;
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells)).map_err(io)?;
    }
    writeln!(out, "{} records", rows.len()).map_err(io)
}
