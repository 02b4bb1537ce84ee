//! `strata erase` (the right to erasure) and `strata compliance` (a framework's controls
//! checked against the live lake).

use std::io::Write;

use clap::Args;
use strata::governance::{ComplianceReport, EraseReport, EraseRequest, Framework, Status};
use strata::{Lake, LakeConfig};

use crate::util::{io, time, write_json};

#[derive(Args)]
pub struct EraseArgs {
    /// The subject: COLUMN=VALUE, where COLUMN is a column name or a classification (`email`,
    /// `phone`, `national_id`, ...) matched through the catalog's marks
    /// (email=alice@example.com).
    #[arg(long, value_name = "COLUMN=VALUE")]
    subject: String,
    /// Only these tables (ZONE/NAME), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "T1,T2",
        conflicts_with = "all_classified"
    )]
    tables: Vec<String>,
    /// Every table whose catalog entry marks a column with the subject's classification (the
    /// default without --tables).
    #[arg(long)]
    all_classified: bool,
    /// Vacuum the files that held the rows now, with no retention: history is rewritten and
    /// time travel to earlier versions stops working.
    #[arg(long)]
    purge: bool,
    /// List what would be erased; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ComplianceArgs {
    /// gdpr or hipaa.
    #[arg(long, value_name = "F", value_parser = parse_framework)]
    framework: Framework,
    /// Exit 1 when a control fails (by default the exit code is 0 whatever the report says).
    #[arg(long)]
    fail_on_fail: bool,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

fn parse_framework(text: &str) -> Result<Framework, String> {
    Framework::parse(text).map_err(|e| e.message().to_string())
}

pub fn erase(config: &LakeConfig, args: EraseArgs, out: &mut dyn Write) -> strata::Result<()> {
    let (column, value) = EraseRequest::subject(&args.subject)?;
    let request = EraseRequest {
        column,
        value,
        all_classified: args.all_classified,
        tables: args.tables,
        purge: args.purge,
        dry_run: args.dry_run,
    };
    let lake = Lake::open(config)?.with_job(&crate::catalog::job());
    let report = lake.erase(&request)?;
    if args.json {
        return write_json(out, &report);
    }
    print_erase(&report, out)
}

fn print_erase(r: &EraseReport, out: &mut dyn Write) -> strata::Result<()> {
    let mut w = |s: String| writeln!(out, "{s}").map_err(io);
    let searched = match &r.classification {
        Some(c) => format!("{} (classification {c})", r.column),
        None => r.column.clone(),
    };
    if r.dry_run {
        w(format!(
            "dry run: nothing changed; would erase by {searched}"
        ))?;
    } else {
        w(format!("erased by {searched}"))?;
    }
    let rows: u64 = r.tables.iter().map(|t| t.rows).sum();
    w(format!(
        "{} tables, {rows} rows, {} objects{}",
        r.tables.len(),
        r.objects.len(),
        if r.dry_run {
            " would be erased"
        } else {
            " erased"
        }
    ))?;
    for t in &r.tables {
        let mut line = format!("  {}: {} rows in column {}", t.table, t.rows, t.column);
        if let Some(v) = t.version {
            line.push_str(&format!(", committed as version {v}"));
        }
        if t.files_vacuumed > 0 {
            line.push_str(&format!(", {} files vacuumed", t.files_vacuumed));
        }
        if t.files_pending_vacuum {
            line.push_str(
                ", files with the rows kept for time travel until vacuum (or --purge) removes them",
            );
        }
        w(line)?;
    }
    let object_verb = if r.dry_run { "would remove" } else { "removed" };
    for key in &r.objects {
        w(format!("  object {object_verb}: {key}"))?;
    }
    if r.purged {
        w(
            "history rewritten (--purge): the files that held the rows are gone; time travel to \
           versions before the erasure no longer works"
                .into(),
        )?;
    }
    if let Some(seq) = r.audit_record {
        w(format!("audit record {seq}"))?;
    }
    Ok(())
}

pub fn compliance(
    config: &LakeConfig,
    args: ComplianceArgs,
    out: &mut dyn Write,
) -> strata::Result<()> {
    let lake = Lake::open(config)?;
    let report = lake.compliance(args.framework)?;
    if args.json {
        write_json(out, &report)?;
    } else {
        print_compliance(&report, out)?;
    }
    out.flush().map_err(io)?;
    let failed = report.failed().count();
    if args.fail_on_fail && failed > 0 {
        let ids: Vec<&str> = report.failed().map(|c| c.id.as_str()).collect();
        return Err(strata::Error::new(
            strata::ErrorKind::InvalidArgument,
            format!(
                "compliance failed: {failed} controls did not pass ({})",
                ids.join(", ")
            ),
        ));
    }
    Ok(())
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Warn => "WARN",
    }
}

fn print_compliance(r: &ComplianceReport, out: &mut dyn Write) -> strata::Result<()> {
    let name = match r.framework {
        Framework::Gdpr => "GDPR",
        Framework::Hipaa => "HIPAA",
    };
    writeln!(
        out,
        "{name} compliance report, {}",
        time(u64::try_from(r.at).unwrap_or(0))
    )
    .map_err(io)?;
    for c in &r.controls {
        writeln!(out, "{}  {}  {}", status(c.status), c.id, c.title).map_err(io)?;
        for e in &c.evidence {
            writeln!(out, "        {e}").map_err(io)?;
        }
    }
    let count = |s: Status| r.controls.iter().filter(|c| c.status == s).count();
    writeln!(
        out,
        "score {:.1} of 100: {} passed, {} warnings, {} failed",
        r.score,
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail)
    )
    .map_err(io)
}
