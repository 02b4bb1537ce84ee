//! Expectations on table appends and merges, as Delta Live Tables' `expect`, `expect or drop` and
//! `expect or fail`: quality rules checked on the rows before they are committed, each with
//! what to do with the rows that fail it (`expect = "warn" | "drop" | "fail"` in the rules
//! file). Dropped rows go to the table's quarantine table, `<name>__quarantine`, with an
//! `_errors` column naming the rules they failed; the counts per rule go into the commit's
//! metrics and, added up over the appends, into the table's catalog entry.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::Lake;
use crate::error::{Error, ErrorKind, Result};
use crate::quality::{rule_results, CheckOptions, Expect, RuleKind, RuleResult, RuleSet};
use crate::table::{MergeOptions, TableOptions};
use split::Failing;

mod split;

/// The column of a quarantine table that names the rules a row failed.
pub(crate) const ERRORS_COLUMN: &str = "_errors";

/// One expectation's count in an append.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectationCount {
    /// The rule's name.
    pub rule: String,
    /// What it did with failing rows.
    pub expect: Expect,
    /// Rows that failed it (for a rule on the whole batch: 1 when it failed).
    pub failed: u64,
}

/// What an append with expectations did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExpectReport {
    /// The table's version the append made; `None` when no row was kept.
    pub version: Option<u64>,
    /// Rows offered.
    pub rows: u64,
    /// Rows committed to the table.
    pub kept: u64,
    /// Rows written to the quarantine table instead.
    pub quarantined: u64,
    /// The quarantine table's name, and the version its append made.
    pub quarantine: Option<(String, u64)>,
    /// Each rule's count, in the rules file's order.
    pub expectations: Vec<ExpectationCount>,
}

/// The quarantine table of table `name`.
pub(crate) fn quarantine_name(name: &str) -> String {
    format!("{name}__quarantine")
}

impl Lake {
    /// Appends `batches` to table `name` with `rules` as expectations: rows failing a `drop`
    /// rule go to `<name>__quarantine` (created on first use, the table's columns and
    /// `_errors`), the rest is committed as one version whose metrics count each rule's
    /// failures; a `fail` rule that fails commits nothing anywhere (an `InvalidArgument`
    /// error naming the rule); `warn` rules only count. The quarantine is written first,
    /// so a crash between the two appends loses no row (a retry may quarantine rows again).
    pub fn append_expecting(
        &self,
        name: &str,
        batches: &[RecordBatch],
        rules: &RuleSet,
    ) -> Result<ExpectReport> {
        self.expecting(name, batches, rules, |kept, metrics| {
            Ok(Some(
                self.table(name)?
                    .append_with_metrics(kept, metrics)?
                    .version,
            ))
        })
    }

    /// Merges `source` into table `name` ([`crate::table::Table::merge`]) with `rules` as
    /// expectations on the source rows, as [`Lake::append_expecting`] does for an append:
    /// failing `drop` rows go to `<name>__quarantine` and are not merged, a failing `fail`
    /// rule merges nothing, and the merge's commit counts each rule.
    pub fn merge_expecting(
        &self,
        name: &str,
        source: &[RecordBatch],
        options: &MergeOptions,
        rules: &RuleSet,
    ) -> Result<ExpectReport> {
        self.expecting(name, source, rules, |kept, metrics| {
            Ok(self
                .table(name)?
                .merge_with_metrics(kept, options, metrics)?
                .version)
        })
    }

    /// Checks `batches` against `rules`, quarantines the rows `drop` rules fail, and hands
    /// the rest to `land` with the counts as commit metrics; `land` returns the version it
    /// committed, if any.
    fn expecting(
        &self,
        name: &str,
        batches: &[RecordBatch],
        rules: &RuleSet,
        land: impl FnOnce(&[RecordBatch], BTreeMap<String, Value>) -> Result<Option<u64>>,
    ) -> Result<ExpectReport> {
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        let mut report = ExpectReport {
            rows,
            ..ExpectReport::default()
        };
        // Every failing row's number, not a sample: a `drop` needs them all (their values
        // are not needed: the rows themselves go to the quarantine).
        let options = CheckOptions {
            sample_size: usize::MAX,
            sample_values: false,
            ..CheckOptions::default()
        };
        let checked = check(batches, rules, &options).map_err(|e| e.with("table", name))?;
        // (row, rule) for each failure of a `drop` rule: a flat list, not a map of lists,
        // since there may be millions.
        let mut failing: Vec<(u64, u32)> = Vec::new();
        let mut names: Vec<&str> = Vec::with_capacity(rules.rules.len());
        for (i, (rule, result)) in rules.rules.iter().zip(&checked).enumerate() {
            names.push(&rule.name);
            let expect = rule.expect.unwrap_or_default();
            let failed = if rule.kind.is_row_level() {
                result.affected_rows
            } else {
                u64::from(!result.passed)
            };
            if expect == Expect::Fail && failed > 0 {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "expectation {:?} failed ({}); nothing was committed",
                        rule.name, result.message
                    ),
                )
                .with("table", name));
            }
            if expect == Expect::Drop {
                let index = u32::try_from(i)
                    .map_err(|_| Error::invalid("too many rules in one rules file"))?;
                failing.extend(result.sample.iter().map(|r| (r.row, index)));
            }
            report.expectations.push(ExpectationCount {
                rule: rule.name.clone(),
                expect,
                failed,
            });
        }
        // By row, and for a row its rules in the file's order (one rule's rows come sorted).
        if !failing.is_sorted() {
            failing.sort_unstable();
        }
        let failing = Failing {
            rows: failing,
            names,
        };
        report.quarantined = failing.row_count();
        report.kept = rows - report.quarantined;
        // The quarantine is written while the kept rows are cut out: they are independent,
        // and the quarantine commit waits on the disk as much as it computes. The cut, the
        // bulk of the work, stays on this thread (and so on the caller's pool, if any).
        let (kept, quarantined) = std::thread::scope(|s| {
            let quarantined = s.spawn(|| self.quarantine(name, batches, &failing));
            let kept = split::kept(batches, &failing.rows);
            let quarantined = quarantined
                .join()
                .unwrap_or_else(|_| Err(Error::internal("writing the quarantine table panicked")));
            (kept, quarantined)
        });
        report.quarantine = quarantined?;
        let kept = kept?;
        if report.kept > 0 {
            let mut metrics: BTreeMap<String, Value> = BTreeMap::new();
            metrics.insert("numQuarantinedRows".into(), report.quarantined.into());
            for count in &report.expectations {
                metrics.insert(
                    format!("expectations.{}.failedRows", count.rule),
                    count.failed.into(),
                );
            }
            report.version = land(&kept, metrics)?;
        }
        // The counts are kept in the catalog too, added up over the appends. The rows are
        // committed by now, so a catalog that cannot take them is a warning, not a failure.
        let counts = report
            .expectations
            .iter()
            .map(|c| (c.rule.clone(), c.expect.as_str().to_string(), c.failed))
            .collect();
        if let Err(e) = self.open_catalog().and_then(|catalog| {
            catalog.record_expectations(name, report.version, report.rows, counts)
        }) {
            tracing::warn!(
                table = name,
                "cannot record the expectation counts in the catalog: {e}"
            );
        }
        Ok(report)
    }
}

impl Lake {
    /// Appends the rows `failing` names to `name`'s quarantine table (creating it on first
    /// use); the table's name and the version made, when there were any.
    fn quarantine(
        &self,
        name: &str,
        batches: &[RecordBatch],
        failing: &Failing<'_>,
    ) -> Result<Option<(String, u64)>> {
        let dropped = split::dropped(batches, failing)?;
        if dropped.is_empty() {
            return Ok(None);
        }
        let quarantine = quarantine_name(name);
        let table = self.table(&quarantine)?;
        let commit = if table.exists()? {
            table.append(&dropped)?
        } else {
            table.create(&dropped[0].schema(), &dropped, &TableOptions::default())?
        };
        Ok(Some((quarantine, commit.version)))
    }
}

/// Each rule's result over `batches`. Rules that judge each row on its own are checked batch
/// by batch on every pool thread (the failing rows' numbers moved to the append's); a rule
/// across rows (uniqueness, keys) or on the whole batch needs them all at once.
fn check(
    batches: &[RecordBatch],
    rules: &RuleSet,
    options: &CheckOptions,
) -> Result<Vec<RuleResult>> {
    let row_by_row = rules.rules.iter().all(|r| {
        r.kind.is_row_level()
            && !matches!(
                r.kind,
                RuleKind::Unique { .. } | RuleKind::PrimaryKey { .. }
            )
    });
    if !row_by_row || batches.len() < 2 {
        return rule_results(batches, rules, options);
    }
    let offsets = offsets(batches);
    let parts = batches
        .par_iter()
        .zip(offsets)
        .map(|(batch, offset)| {
            let mut results = rule_results(std::slice::from_ref(batch), rules, options)?;
            for r in &mut results {
                r.sample.iter_mut().for_each(|f| f.row += offset);
            }
            Ok(results)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut parts = parts.into_iter();
    let mut merged = parts.next().unwrap_or_default();
    for part in parts {
        for (into, from) in merged.iter_mut().zip(part) {
            into.checked_rows += from.checked_rows;
            into.affected_rows += from.affected_rows;
            into.passed &= from.passed;
            into.sample.extend(from.sample);
        }
    }
    for r in &mut merged {
        r.message = format!("{} of {} rows failed", r.affected_rows, r.checked_rows);
    }
    Ok(merged)
}

/// The append's row number of each batch's first row.
pub(super) fn offsets(batches: &[RecordBatch]) -> Vec<u64> {
    batches
        .iter()
        .scan(0u64, |next, b| {
            let at = *next;
            *next += b.num_rows() as u64;
            Some(at)
        })
        .collect()
}
