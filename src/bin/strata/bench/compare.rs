//! Differences between two runs: each result present in both, by id. A result regressed when
//! it got worse by more than the threshold: its advantage over the baseline measured in the
//! same run when both runs have one (machine load and speed cancel out of a ratio), else its
//! own figure.

use std::io::Write;

use super::record::{BenchRun, Record};
use super::table_out::number;

#[derive(Clone, Debug)]
pub struct Change {
    pub id: String,
    /// `advantage` or the unit of the figure compared.
    pub measure: String,
    pub old: f64,
    pub new: f64,
    /// Percent worse, as the time the same work would take: +25 is a quarter longer (a figure
    /// where higher is better, 1/1.25 of the old); negative: better.
    pub worse_pct: f64,
    pub regressed: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Diff {
    pub changes: Vec<Change>,
    /// Ids in only one of the runs.
    pub only_old: Vec<String>,
    pub only_new: Vec<String>,
    pub machines_differ: bool,
}

impl Diff {
    pub fn regressions(&self) -> Vec<&Change> {
        self.changes.iter().filter(|c| c.regressed).collect()
    }

    pub fn change(&self, id: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.id == id)
    }
}

fn compared(old: &Record, new: &Record) -> Option<(String, f64, f64, bool)> {
    match (old.advantage, new.advantage) {
        (Some(a), Some(b)) => Some(("advantage".into(), a, b, true)),
        _ if old.unit == new.unit => Some((
            old.unit.clone(),
            old.value.median,
            new.value.median,
            new.higher_is_better,
        )),
        _ => None,
    }
}

pub fn diff(old: &BenchRun, new: &BenchRun, fail_over: f64) -> Diff {
    let mut out = Diff {
        machines_differ: old.machine.cpu_model != new.machine.cpu_model
            || old.machine.cores != new.machine.cores,
        ..Diff::default()
    };
    for n in &new.records {
        let Some(o) = old.records.iter().find(|o| o.id == n.id) else {
            out.only_new.push(n.id.clone());
            continue;
        };
        let Some((measure, a, b, higher_better)) = compared(o, n) else {
            continue;
        };
        if !(a.is_finite() && b.is_finite()) || a == 0.0 || b == 0.0 {
            continue;
        }
        let worse_pct = if higher_better {
            (a / b - 1.0) * 100.0
        } else {
            (b / a - 1.0) * 100.0
        };
        out.changes.push(Change {
            id: n.id.clone(),
            measure,
            old: a,
            new: b,
            worse_pct,
            regressed: worse_pct > fail_over,
        });
    }
    for o in &old.records {
        if !new.records.iter().any(|n| n.id == o.id) {
            out.only_old.push(o.id.clone());
        }
    }
    out
}

pub fn print(diff: &Diff, fail_over: f64, out: &mut dyn Write) -> strata::Result<()> {
    let io = crate::util::io;
    if diff.machines_differ {
        writeln!(out, "note: the two runs ran on different machines").map_err(io)?;
    }
    let width = diff
        .changes
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(10)
        .max(10);
    writeln!(
        out,
        "{:<width$}  {:>10}  {:>10}  {:>9}  {:>8}  compared",
        "case", "old", "new", "worse", ""
    )
    .map_err(io)?;
    for c in &diff.changes {
        writeln!(
            out,
            "{:<width$}  {:>10}  {:>10}  {:>8.1}%  {:>8}  {}",
            c.id,
            number(c.old),
            number(c.new),
            c.worse_pct,
            if c.regressed { "REGRESSED" } else { "" },
            c.measure
        )
        .map_err(io)?;
    }
    for id in &diff.only_old {
        writeln!(out, "{id}: only in the old run").map_err(io)?;
    }
    for id in &diff.only_new {
        writeln!(out, "{id}: only in the new run").map_err(io)?;
    }
    let regressed = diff.regressions().len();
    writeln!(
        out,
        "{regressed} regression(s) over {fail_over}% in {} compared result(s)",
        diff.changes.len()
    )
    .map_err(io)?;
    Ok(())
}
