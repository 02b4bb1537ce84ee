//! `strata cost`: what the lake costs a month at the `[cost]` prices.

use std::io::Write;

use clap::Args;
use strata::{Lake, LakeConfig};

use crate::util::{io, write_json};

/// Monthly cost per tier (storage of the bytes held, requests, retrieval, egress of the reads
/// counted), per zone (objects by the first segment of their keys) and per table, at the
/// `[cost]` prices (built-in list prices unless overridden).
#[derive(Args)]
pub struct CostArgs {
    #[arg(long)]
    json: bool,
}

pub fn run(config: &LakeConfig, args: CostArgs, out: &mut dyn Write) -> strata::Result<()> {
    let lake = Lake::open(config)?;
    let report = lake.cost_report()?;
    if args.json {
        return write_json(out, &report);
    }
    let days = report.request_window_ms as f64 / 86_400_000.0;
    writeln!(
        out,
        "monthly cost in {} at prices as of {} (requests counted over {days:.1} days)",
        report.currency, report.prices_as_of
    )
    .map_err(io)?;
    writeln!(
        out,
        "{:<12} {:<22} {:>8} {:>14} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "tier",
        "billed as",
        "objects",
        "bytes",
        "storage",
        "requests",
        "retrieval",
        "egress",
        "total"
    )
    .map_err(io)?;
    for t in &report.tiers {
        writeln!(
            out,
            "{:<12} {:<22} {:>8} {:>14} {:>10} {:>10} {:>10} {:>10} {:>10}",
            t.tier,
            format!("{}/{}", t.provider, t.class),
            t.objects,
            t.object_bytes + t.table_bytes,
            usd(t.monthly.storage),
            usd(t.monthly.requests),
            usd(t.monthly.retrieval),
            usd(t.monthly.egress),
            usd(t.monthly.total)
        )
        .map_err(io)?;
    }
    writeln!(out, "total {}/month", usd(report.total.total)).map_err(io)?;
    if !report.zones.is_empty() {
        writeln!(out, "objects by zone:").map_err(io)?;
        for z in &report.zones {
            let zone = if z.zone.is_empty() {
                "(top level)"
            } else {
                &z.zone
            };
            writeln!(
                out,
                "  {zone:<20} {:<12} {:>8} objects {:>14} bytes {:>10}/month",
                z.tier,
                z.objects,
                z.bytes,
                usd(z.monthly_storage)
            )
            .map_err(io)?;
        }
    }
    if !report.tables.is_empty() {
        writeln!(out, "tables:").map_err(io)?;
        for t in &report.tables {
            writeln!(
                out,
                "  {:<20} {:<12} {:>8} files {:>14} bytes {:>10}/month",
                t.table,
                t.tier,
                t.files,
                t.bytes,
                usd(t.monthly_storage)
            )
            .map_err(io)?;
        }
    }
    Ok(())
}

/// Dollars with enough digits to show a small lake's cents and fractions of them.
pub fn usd(amount: f64) -> String {
    if amount < 0.0 {
        return format!("-{}", usd(-amount));
    }
    if amount.abs() >= 1.0 || amount == 0.0 {
        format!("${amount:.2}")
    } else {
        format!("${amount:.6}")
    }
}
