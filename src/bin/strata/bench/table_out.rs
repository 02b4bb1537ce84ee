//! The terminal table: one line per result, strata's median and spread, the baseline's
//! median, and how strata compares (`advantage`: above 1 is better, whatever the unit).

use std::io::Write;

use super::record::BenchRun;

/// Three significant digits, no exponent for everyday magnitudes.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

pub fn print(run: &BenchRun, out: &mut dyn Write) -> strata::Result<()> {
    let io = crate::util::io;
    writeln!(out, "machine: {}", run.machine.summary()).map_err(io)?;
    writeln!(
        out,
        "settings: scale {}, {} thread(s) for N, {} run(s) per case; figures are medians [min-max]",
        run.settings.scale, run.settings.threads, run.settings.runs
    )
    .map_err(io)?;
    let width = run
        .records
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(10)
        .max(10);
    writeln!(
        out,
        "{:<width$}  {:>22}  {:>10}  {:>9}  baseline",
        "case", "strata", "baseline", "vs base"
    )
    .map_err(io)?;
    for r in &run.records {
        let figure = format!(
            "{} {} [{}-{}]",
            number(r.value.median),
            r.unit,
            number(r.value.min),
            number(r.value.max)
        );
        let (base, vs, name) = match &r.baseline {
            Some(b) => (
                number(b.value.median),
                r.advantage
                    .map(|a| format!("{}x", number(a)))
                    .unwrap_or_else(|| "-".into()),
                format!("{} ({} thr)", b.side.name, b.side.threads),
            ),
            None => ("-".into(), "-".into(), "none".into()),
        };
        writeln!(
            out,
            "{:<width$}  {figure:>22}  {base:>10}  {vs:>9}  {name}",
            r.id
        )
        .map_err(io)?;
    }
    writeln!(
        out,
        "vs base: how many times better strata is than the baseline (higher MB/s, or lower ms); \
         each result's conditions are in --json"
    )
    .map_err(io)?;
    Ok(())
}
