//! `strata tier`: placement, lifecycle and retention, and rebuilding the tier index.

use std::io::Write;
use std::time::{Duration, SystemTime};

use clap::Subcommand;
use strata::{store::ReindexReport, Lake, LakeConfig, RunOptions};

use crate::flags;
use crate::util::{io, with_progress, write_json};

#[derive(Subcommand)]
pub enum TierCommand {
    /// Apply placement, lifecycle and retention policies.
    Run {
        /// List every action and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
        /// Evaluate policies as if this much time had passed (e.g. 31d), to preview them:
        /// 0s to 100y.
        #[arg(long, value_name = "DURATION", value_parser = flags::after)]
        after: Option<Duration>,
        /// Objects moved at once: 1 to 1024.
        #[arg(long, default_value_t = 8, value_parser = flags::count::<usize>(1, 1024))]
        concurrency: usize,
    },
    /// Move one object to tier TIER now, outside the policies (crash-safe: copied, verified,
    /// then the source removed). A later `tier run` moves it back if the policies say so.
    Move {
        /// The object's key.
        key: String,
        /// The tier it goes to, as named in the configuration.
        tier: String,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the tier index from the tiers themselves.
    Reindex {
        #[arg(long)]
        json: bool,
    },
    /// Take over an existing local directory as tier NAME (strata refuses a tier directory
    /// that holds files it did not write until it is adopted), then reindex so its files
    /// become objects.
    Adopt {
        /// The tier, as named in the configuration.
        name: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: &LakeConfig, command: TierCommand, out: &mut dyn Write) -> strata::Result<()> {
    match command {
        TierCommand::Run {
            dry_run,
            json,
            after,
            concurrency,
        } => {
            let now = match after {
                Some(d) => Some(SystemTime::now().checked_add(d).ok_or_else(|| {
                    strata::Error::new(
                        strata::ErrorKind::InvalidArgument,
                        "--after reaches past the end of the clock; expected 0s to 100y",
                    )
                })?),
                None => None,
            };
            let store = Lake::open(config)?;
            let options = RunOptions {
                dry_run,
                now,
                concurrency,
            };
            let report = with_progress("tier run", |progress| store.run_tiers(&options, progress))?;
            // A dry run prices its plan: what the moves and deletes change in the monthly bill.
            let cost = if dry_run {
                let plan: Vec<_> = report.actions.iter().map(|a| a.planned.clone()).collect();
                Some(store.tier_cost_change(&plan)?)
            } else {
                None
            };
            if json {
                let mut value = serde_json::to_value(&report)
                    .map_err(|e| strata::Error::new(strata::ErrorKind::Internal, e.to_string()))?;
                if let (Some(cost), Some(map)) = (&cost, value.as_object_mut()) {
                    let cost = serde_json::to_value(cost).map_err(|e| {
                        strata::Error::new(strata::ErrorKind::Internal, e.to_string())
                    })?;
                    map.insert("cost_change".into(), cost);
                }
                write_json(out, &value)?;
            } else {
                for a in &report.actions {
                    let status = match (&a.error, dry_run) {
                        (Some(e), _) => format!("FAILED: {e}"),
                        (None, true) => "would do".into(),
                        (None, false) => "done".into(),
                    };
                    writeln!(out, "{} ({status})", a.planned).map_err(io)?;
                }
                writeln!(
                    out,
                    "{} actions{}: {} moved ({} bytes), {} expired, {} orphans removed, {} failed",
                    report.actions.len(),
                    if dry_run {
                        " planned (dry run, nothing changed)"
                    } else {
                        ""
                    },
                    report.moved,
                    report.bytes_moved,
                    report.expired,
                    report.orphans_removed,
                    report.failed
                )
                .map_err(io)?;
                if let Some(cost) = &cost {
                    writeln!(
                        out,
                        "monthly cost change of the planned moves and deletes: {}{}/month \
                         (one-off transfer {}; {} moves, {} deletes priced)",
                        if cost.monthly > 0.0 { "+" } else { "" },
                        crate::cost::usd(cost.monthly),
                        crate::cost::usd(cost.one_off),
                        cost.moves,
                        cost.deletes
                    )
                    .map_err(io)?;
                }
            }
            if report.failed > 0 {
                return Err(strata::Error::new(
                    strata::ErrorKind::Io,
                    format!(
                        "{} tier actions failed; rerun `strata tier run` to retry",
                        report.failed
                    ),
                ));
            }
            Ok(())
        }
        TierCommand::Move { key, tier, json } => {
            let lake = Lake::open(config)?;
            let from = lake.stat(&key)?.tier;
            let bytes = lake.move_to_tier(&key, &tier)?;
            if json {
                return write_json(
                    out,
                    &serde_json::json!({"key": key, "from": from, "to": tier, "bytes_moved": bytes}),
                );
            }
            if bytes == 0 && from == tier {
                writeln!(out, "{key} is already on tier {tier}").map_err(io)
            } else {
                writeln!(
                    out,
                    "moved {key} from tier {from} to {tier} ({bytes} bytes)"
                )
                .map_err(io)
            }
        }
        TierCommand::Reindex { json } => {
            let (store, _) = Lake::open_rebuilding(config)?;
            let report =
                with_progress("reindex", |progress| store.reindex_with_progress(progress))?;
            if json {
                write_json(out, &report)
            } else {
                writeln!(out, "{}", reindexed(&report)).map_err(io)
            }
        }
        TierCommand::Adopt { name, json } => {
            Lake::adopt_tier(config, &name)?;
            let store = Lake::open(config)?;
            let report =
                with_progress("reindex", |progress| store.reindex_with_progress(progress))?;
            if json {
                return write_json(out, &report);
            }
            writeln!(out, "adopted tier {name}; {}", reindexed(&report)).map_err(io)?;
            for skipped in &report.skipped {
                writeln!(out, "  skipped (not an object): {skipped}").map_err(io)?;
            }
            for (key, tiers) in &report.conflicts {
                writeln!(
                    out,
                    "  conflict: {key} differs between tiers; the newest copy wins, the one in {} is not used",
                    tiers.join(", ")
                )
                .map_err(io)?;
            }
            Ok(())
        }
    }
}

/// One line on what a reindex found.
fn reindexed(report: &ReindexReport) -> String {
    format!(
        "reindexed {} objects ({} bytes); {} duplicate copies queued for removal, {} conflicts, {} foreign files skipped",
        report.objects,
        report.bytes,
        report.duplicates,
        report.conflicts.len(),
        report.skipped.len()
    )
}
