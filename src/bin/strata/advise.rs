//! `strata advise`: recommendations from the lake's access statistics, and their application.

use std::io::Write;

use clap::Args;
use strata::advisor::{Applied, Recommendation};
use strata::{Lake, LakeConfig};

use crate::util::{io, write_json};

/// Recommend partitioning or z-order columns, compaction, codecs, formats, tier placement and
/// the cache budget from the access statistics the lake records and the data's own metadata,
/// each with its evidence and estimated effect. With --apply, carry out the safe ones
/// (z-order and compaction, as table commits), printing the plan first.
#[derive(Args)]
pub struct AdviseArgs {
    /// A table (`zone/name`) or object prefix; default: the whole lake.
    name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Apply the safe recommendations (after printing the plan).
    #[arg(long)]
    apply: bool,
    /// With --apply: only recommendations of this kind (zorder, compact, tier, ...).
    #[arg(long, value_name = "KIND", requires = "apply")]
    only: Option<String>,
    /// With --apply: print the plan and change nothing.
    #[arg(long, requires = "apply")]
    dry_run: bool,
}

pub fn run(config: &LakeConfig, args: AdviseArgs, out: &mut dyn Write) -> strata::Result<()> {
    let lake = Lake::open(config)?;
    let recs = lake.advise(args.name.as_deref())?;
    if !args.apply {
        if args.json {
            return write_json(out, &recs);
        }
        return print_recommendations(&recs, out);
    }
    let plan = lake.apply_advice(&recs, args.only.as_deref(), true)?;
    if args.dry_run {
        if args.json {
            return write_json(out, &plan);
        }
        return print_applied("plan", &plan, out);
    }
    if !args.json {
        print_applied("plan", &plan, out)?;
    }
    let applied = lake.apply_advice(&recs, args.only.as_deref(), false)?;
    if args.json {
        return write_json(out, &applied);
    }
    print_applied("applied", &applied, out)?;
    if let Some(failed) = applied.iter().find(|a| a.outcome.starts_with("failed")) {
        return Err(strata::Error::new(
            strata::ErrorKind::Internal,
            format!("{} {}: {}", failed.kind, failed.target, failed.outcome),
        ));
    }
    Ok(())
}

fn print_recommendations(recs: &[Recommendation], out: &mut dyn Write) -> strata::Result<()> {
    if recs.is_empty() {
        writeln!(
            out,
            "no recommendations (the lake records access as it works; come back after some scans)"
        )
        .map_err(io)?;
        return Ok(());
    }
    for r in recs {
        let how = if r.apply.is_some() {
            "--apply"
        } else {
            "advice"
        };
        writeln!(out, "{} {} [{how}]: {}", r.kind, r.target, r.advice).map_err(io)?;
        let evidence: Vec<String> = r.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(out, "  evidence: {}", evidence.join(", ")).map_err(io)?;
        if !r.effect.is_empty() {
            let effect: Vec<String> = r.effect.iter().map(|(k, v)| format!("{k}={v}")).collect();
            writeln!(out, "  estimated effect: {}", effect.join(", ")).map_err(io)?;
        }
    }
    Ok(())
}

fn print_applied(what: &str, applied: &[Applied], out: &mut dyn Write) -> strata::Result<()> {
    if applied.is_empty() {
        writeln!(out, "{what}: nothing to apply").map_err(io)?;
        return Ok(());
    }
    writeln!(out, "{what}:").map_err(io)?;
    for a in applied {
        write!(out, "  {}: {}", a.action, a.outcome).map_err(io)?;
        if a.outcome == "done" {
            write!(
                out,
                " (version {}, {} files of {} bytes -> {} files of {} bytes)",
                a.version
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "-".into()),
                a.files_before,
                a.bytes_before,
                a.files_after,
                a.bytes_after
            )
            .map_err(io)?;
        }
        writeln!(out).map_err(io)?;
    }
    Ok(())
}
