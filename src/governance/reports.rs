//! What erasure, table retention and compliance requests ask and report: plain data, shared
//! by the lake (which computes them), the command line, the C ABI and Go (which print them as
//! JSON). Serialized field names are part of the JSON surfaces.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A right-to-erasure request (`strata erase`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EraseRequest {
    /// The identifier's column (`email`) or classification (`email`, `phone`, `national_id`,
    /// ...): tables whose catalog entry marks a column with that classification are searched,
    /// whatever the column is called there.
    pub column: String,
    /// The subject's value (`alice@example.com`).
    pub value: String,
    /// Only these tables (`zone/name`); empty: every table the catalog marks.
    pub tables: Vec<String>,
    /// Search every classified table (the default when `tables` is empty).
    pub all_classified: bool,
    /// Vacuum at once with no retention: the files that held the rows go now, and time travel
    /// to older versions stops working (history is rewritten; the report says so).
    pub purge: bool,
    /// List what would be erased; change nothing.
    pub dry_run: bool,
}

impl EraseRequest {
    /// Parses `COLUMN=VALUE`.
    pub fn subject(text: &str) -> Result<(String, String)> {
        match text.split_once('=') {
            Some((c, v)) if !c.trim().is_empty() && !v.is_empty() => {
                Ok((c.trim().to_string(), v.to_string()))
            }
            _ => Err(Error::invalid(format!(
                "subject {text:?}: expected COLUMN=VALUE (email=alice@example.com)"
            ))),
        }
    }
}

/// One table an erasure touched (or would).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErasedTable {
    /// `zone/name`.
    pub table: String,
    /// The column the subject's value was matched in.
    pub column: String,
    /// The subject's rows (found, in a dry run; deleted otherwise).
    pub rows: u64,
    /// The version the delete committed (none in a dry run or when no row matched).
    pub version: Option<u64>,
    /// Data files vacuumed (deleted from storage) now.
    pub files_vacuumed: u64,
    /// Whether files holding the subject's rows are still kept for time travel until the
    /// retention window passes (the first `strata tier run` after it vacuums them;
    /// `--purge` deletes them now).
    pub files_pending_vacuum: bool,
}

/// What an erasure did (or would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EraseReport {
    /// The subject's column or classification.
    pub column: String,
    /// The classification searched, when the column names one.
    pub classification: Option<String>,
    /// The tables with the subject's rows.
    pub tables: Vec<ErasedTable>,
    /// Objects removed (or that would be) under `[erasure] prefixes`: keys with a segment that
    /// is the value (or the value and an extension).
    pub objects: Vec<String>,
    /// Whether history was rewritten (`purge`).
    pub purged: bool,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The audit record's number, when one was written.
    pub audit_record: Option<u64>,
}

/// One retention action on a table (`strata table retention`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionAction {
    /// `zone/name`.
    pub table: String,
    /// The rule that applied, as the config says it (`column ts older than 365d`).
    pub rule: String,
    /// The delete's predicate.
    pub predicate: String,
    /// Rows deleted (or that would be).
    pub rows: u64,
    /// Data files the commit removed (or, by file age, would remove); 0 in a dry run by column.
    #[serde(default)]
    pub files: u64,
    /// The version the delete committed.
    pub version: Option<u64>,
}

/// Which regulation a compliance report assesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    /// The EU's General Data Protection Regulation.
    Gdpr,
    /// The US Health Insurance Portability and Accountability Act.
    Hipaa,
}

impl Framework {
    /// Parses `gdpr` or `hipaa`.
    pub fn parse(text: &str) -> Result<Framework> {
        match text.to_ascii_lowercase().as_str() {
            "gdpr" => Ok(Framework::Gdpr),
            "hipaa" => Ok(Framework::Hipaa),
            other => Err(Error::invalid(format!(
                "unknown framework {other:?}: expected gdpr or hipaa"
            ))),
        }
    }
}

/// A control's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Met.
    Pass,
    /// Not met.
    Fail,
    /// Met in part, or could not be fully checked.
    Warn,
}

/// One control of a compliance report, computed from the live lake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control {
    /// A stable id (`gdpr.pii_encrypted`).
    pub id: String,
    /// What it checks, in words.
    pub title: String,
    /// Its result.
    pub status: Status,
    /// What was found: tables, columns, roles, keys, counts.
    pub evidence: Vec<String>,
}

/// A compliance report (`strata compliance`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceReport {
    /// The framework.
    pub framework: Framework,
    /// When it was computed, ms since the epoch.
    pub at: i64,
    /// Every control.
    pub controls: Vec<Control>,
    /// 0 to 100: passes count 1, warnings half.
    pub score: f64,
}

impl ComplianceReport {
    /// The report of `controls`, scored.
    pub fn new(framework: Framework, controls: Vec<Control>) -> ComplianceReport {
        let points: f64 = controls
            .iter()
            .map(|c| match c.status {
                Status::Pass => 1.0,
                Status::Warn => 0.5,
                Status::Fail => 0.0,
            })
            .sum();
        let score = if controls.is_empty() {
            100.0
        } else {
            (points * 1000.0 / controls.len() as f64).round() / 10.0
        };
        ComplianceReport {
            framework,
            at: crate::clock::now_ms() as i64,
            controls,
            score,
        }
    }

    /// The controls that failed.
    pub fn failed(&self) -> impl Iterator<Item = &Control> {
        self.controls.iter().filter(|c| c.status == Status::Fail)
    }
}
