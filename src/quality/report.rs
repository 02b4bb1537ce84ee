//! Check reports: per-rule results, the severity-weighted score and the dataset quality score.

use serde::Serialize;

use super::rules::Severity;
use super::score::DatasetQuality;
use crate::{Error, Result};

/// A row that failed a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedRow {
    /// Row index across all checked batches, from 0.
    pub row: u64,
    /// The offending value(s) as text.
    pub value: String,
}

/// The outcome of one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResult {
    /// The rule's name.
    pub rule: String,
    /// The check, as named in rules files.
    pub check: String,
    /// The rule's severity.
    pub severity: Severity,
    /// Whether the rule held.
    pub passed: bool,
    /// What was measured: the passing fraction for row-level checks, the non-null fraction,
    /// the distinct ratio, the row count, or the age of the newest value in seconds.
    pub observed: f64,
    /// Rows the rule looked at (rows where the checked value is not null for row-level checks).
    pub checked_rows: u64,
    /// Rows that failed.
    pub affected_rows: u64,
    /// Some failed rows with their values.
    pub sample: Vec<FailedRow>,
    /// One line saying what happened.
    pub message: String,
}

/// The outcome of checking a dataset against a rule set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityReport {
    /// Rows checked.
    pub rows: u64,
    /// Whether no error-severity rule failed.
    pub passed: bool,
    /// Passed rules weighted by severity (error 3, warn 2, info 1) over all rules; 1 with none.
    pub score: f64,
    /// The dataset quality score and its parts.
    pub dataset: DatasetQuality,
    /// One result per rule, in rule order.
    pub results: Vec<RuleResult>,
}

impl QualityReport {
    pub(crate) fn new(rows: u64, dataset: DatasetQuality, results: Vec<RuleResult>) -> Self {
        let total: f64 = results.iter().map(|r| r.severity.weight()).sum();
        let passed_weight: f64 = results
            .iter()
            .filter(|r| r.passed)
            .map(|r| r.severity.weight())
            .sum();
        QualityReport {
            rows,
            passed: !results
                .iter()
                .any(|r| !r.passed && r.severity == Severity::Error),
            score: if total > 0.0 {
                passed_weight / total
            } else {
                1.0
            },
            dataset,
            results,
        }
    }

    /// Results of rules that failed.
    pub fn failures(&self) -> impl Iterator<Item = &RuleResult> {
        self.results.iter().filter(|r| !r.passed)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::internal(format!("cannot serialize report: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(severity: Severity, passed: bool) -> RuleResult {
        RuleResult {
            rule: "r".into(),
            check: "unique".into(),
            severity,
            passed,
            observed: 1.0,
            checked_rows: 1,
            affected_rows: 0,
            sample: vec![],
            message: String::new(),
        }
    }

    #[test]
    fn score_weights_by_severity() {
        let dataset = DatasetQuality {
            completeness: 1.0,
            uniqueness: 1.0,
            score: 1.0,
            uniqueness_error: None,
        };
        let r = QualityReport::new(
            1,
            dataset.clone(),
            vec![result(Severity::Error, true), result(Severity::Info, false)],
        );
        assert!(r.passed);
        assert_eq!(r.score, 0.75);
        let r = QualityReport::new(
            1,
            dataset.clone(),
            vec![result(Severity::Error, false), result(Severity::Warn, true)],
        );
        assert!(!r.passed);
        assert_eq!(r.score, 0.4);
        assert_eq!(QualityReport::new(0, dataset, vec![]).score, 1.0);
        assert!(r.to_json().unwrap().contains("\"severity\": \"error\""));
    }
}
