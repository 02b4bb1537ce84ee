//! Rules: what a dataset must satisfy, each with a severity and, for row-level checks, a
//! `mostly` fraction.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::profile::InferredType;

/// How much a failing rule matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; never fails a check.
    Info,
    /// Should be looked at.
    Warn,
    /// The data is not fit for use; `strata check` exits non-zero.
    Error,
}

impl Severity {
    /// Weight in the overall score: error 3, warn 2, info 1.
    pub fn weight(self) -> f64 {
        match self {
            Severity::Info => 1.0,
            Severity::Warn => 2.0,
            Severity::Error => 3.0,
        }
    }
}

/// A comparison between two columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareOp {
    /// `<`
    #[serde(rename = "<", alias = "lt")]
    Lt,
    /// `<=`
    #[serde(rename = "<=", alias = "le")]
    Le,
    /// `>`
    #[serde(rename = ">", alias = "gt")]
    Gt,
    /// `>=`
    #[serde(rename = ">=", alias = "ge")]
    Ge,
    /// `==`
    #[serde(rename = "==", alias = "eq")]
    Eq,
    /// `!=`
    #[serde(rename = "!=", alias = "ne")]
    Ne,
}

/// Personal data a detector looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// An email address.
    Email,
    /// A phone number: 10 to 15 digits with the usual separators.
    Phone,
    /// A payment card number: 13 to 19 digits passing the Luhn check.
    CreditCard,
    /// A national identity number: a US social security number (`123-45-6789`, with valid
    /// area and group numbers).
    NationalId,
    /// A person's name in free text: a common given name followed by a capitalised word.
    PersonName,
}

impl PiiKind {
    /// Every kind, in the order classification tries them.
    pub const ALL: [PiiKind; 5] = [
        PiiKind::Email,
        PiiKind::CreditCard,
        PiiKind::NationalId,
        PiiKind::Phone,
        PiiKind::PersonName,
    ];

    /// The kind's name in rules files and catalog marks (`email`, `credit_card`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::CreditCard => "credit_card",
            PiiKind::NationalId => "national_id",
            PiiKind::PersonName => "person_name",
        }
    }
}

/// What a rule checks. Row-level checks skip null rows (completeness and not-null are the
/// checks for nulls).
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// At least `min` (a fraction) of the rows are not null. `min` and the rule's `mostly`
    /// say the same thing here; the lower of the two is required.
    Completeness {
        /// The column.
        column: String,
        /// Required non-null fraction.
        min: f64,
    },
    /// Rows are not null.
    NotNull {
        /// The column.
        column: String,
    },
    /// Non-null values occur once; rows repeating an earlier value fail.
    Unique {
        /// The column.
        column: String,
    },
    /// The columns together are non-null and unique.
    PrimaryKey {
        /// The key columns.
        columns: Vec<String>,
    },
    /// Distinct non-null values over non-null rows lies within bounds.
    DistinctRatio {
        /// The column.
        column: String,
        /// Lowest ratio.
        min: Option<f64>,
        /// Highest ratio.
        max: Option<f64>,
    },
    /// Numeric values lie within bounds (NaN fails).
    Range {
        /// The column.
        column: String,
        /// Lower bound.
        min: Option<f64>,
        /// Upper bound.
        max: Option<f64>,
        /// Whether the lower bound itself is outside.
        min_exclusive: bool,
        /// Whether the upper bound itself is outside.
        max_exclusive: bool,
    },
    /// Values (as text) are one of a set.
    AllowedSet {
        /// The column.
        column: String,
        /// Allowed values as text.
        values: Vec<String>,
    },
    /// Values (as text) match a regular expression (anywhere unless anchored).
    Regex {
        /// The column.
        column: String,
        /// The pattern, in the `regex` crate's syntax.
        pattern: String,
    },
    /// Value lengths (characters) lie within bounds.
    Length {
        /// The column.
        column: String,
        /// Shortest allowed.
        min: Option<u64>,
        /// Longest allowed.
        max: Option<u64>,
    },
    /// Values conform to a type: string values by their text, other columns by their type.
    Type {
        /// The column.
        column: String,
        /// The type values must fit.
        expected: InferredType,
    },
    /// The row count lies within bounds.
    RowCount {
        /// Fewest rows.
        min: Option<u64>,
        /// Most rows.
        max: Option<u64>,
    },
    /// The newest date or timestamp is at most `max_age` old.
    Freshness {
        /// A date or timestamp column.
        column: String,
        /// Oldest acceptable newest value.
        max_age: Duration,
    },
    /// `left op right` holds row by row (rows where either side is null are skipped).
    Compare {
        /// Left column.
        left: String,
        /// The comparison.
        op: CompareOp,
        /// Right column.
        right: String,
    },
    /// Values contain no personal data of this kind.
    Pii {
        /// The column.
        column: String,
        /// What to look for.
        kind: PiiKind,
    },
}

impl RuleKind {
    /// The check's name as written in rules files.
    pub fn check_name(&self) -> &'static str {
        match self {
            RuleKind::Completeness { .. } => "completeness",
            RuleKind::NotNull { .. } => "not_null",
            RuleKind::Unique { .. } => "unique",
            RuleKind::PrimaryKey { .. } => "primary_key",
            RuleKind::DistinctRatio { .. } => "distinct_ratio",
            RuleKind::Range { .. } => "range",
            RuleKind::AllowedSet { .. } => "allowed_set",
            RuleKind::Regex { .. } => "regex",
            RuleKind::Length { .. } => "length",
            RuleKind::Type { .. } => "type",
            RuleKind::RowCount { .. } => "row_count",
            RuleKind::Freshness { .. } => "freshness",
            RuleKind::Compare { .. } => "compare",
            RuleKind::Pii { .. } => "pii",
        }
    }

    /// Whether the check passes or fails row by row, so that [`Rule::mostly`] (the share of
    /// rows that must pass) applies. Row counts, freshness and distinct ratios are one
    /// verdict on the whole table: they refuse a `mostly`.
    pub fn is_row_level(&self) -> bool {
        !matches!(
            self,
            RuleKind::RowCount { .. } | RuleKind::Freshness { .. } | RuleKind::DistinctRatio { .. }
        )
    }

    /// The columns the rule reads (so a reader can project only those).
    pub fn columns(&self) -> Vec<&str> {
        match self {
            RuleKind::PrimaryKey { columns } => columns.iter().map(String::as_str).collect(),
            RuleKind::RowCount { .. } => Vec::new(),
            RuleKind::Compare { left, right, .. } => vec![left.as_str(), right.as_str()],
            RuleKind::Completeness { column, .. }
            | RuleKind::NotNull { column }
            | RuleKind::Unique { column }
            | RuleKind::DistinctRatio { column, .. }
            | RuleKind::Range { column, .. }
            | RuleKind::AllowedSet { column, .. }
            | RuleKind::Regex { column, .. }
            | RuleKind::Length { column, .. }
            | RuleKind::Type { column, .. }
            | RuleKind::Freshness { column, .. }
            | RuleKind::Pii { column, .. } => vec![column.as_str()],
        }
    }
}

/// A rule: a check, a severity and the fraction of rows that must pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "super::rules_file::RawRule",
    into = "super::rules_file::RawRule"
)]
pub struct Rule {
    /// A name for reports; defaults to `check(column)`.
    pub name: String,
    /// How much a failure matters.
    pub severity: Severity,
    /// Fraction of checked rows that must pass, 1.0 by default. Only row-level checks
    /// ([`RuleKind::is_row_level`]) take one; checking a table-level rule with another value
    /// is an error.
    pub mostly: f64,
    /// What to check.
    pub kind: RuleKind,
    /// What a table append or merge with these rules as expectations does with rows that
    /// fail it (`expect = "warn" | "drop" | "fail"` in the file); `None` is `warn`.
    pub expect: Option<Expect>,
}

/// What an expectation does with the rows of an append or merge that fail it, as Delta Live
/// Tables' `expect`, `expect or drop` and `expect or fail` do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Keeps the rows and counts them.
    #[default]
    Warn,
    /// Writes them to the table's quarantine table instead, and commits the rest.
    Drop,
    /// Commits nothing.
    Fail,
}

impl Expect {
    /// `warn`, `drop` or `fail`, as the rules file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Warn => "warn",
            Expect::Drop => "drop",
            Expect::Fail => "fail",
        }
    }
}

impl Rule {
    /// An error-severity rule that every row must pass, named after its check and columns.
    pub fn new(kind: RuleKind) -> Rule {
        let name = format!("{}({})", kind.check_name(), kind.columns().join(", "));
        Rule {
            name,
            severity: Severity::Error,
            mostly: 1.0,
            kind,
            expect: None,
        }
    }

    /// Sets the name.
    pub fn named(mut self, name: impl Into<String>) -> Rule {
        self.name = name.into();
        self
    }

    /// Sets the severity.
    pub fn severity(mut self, severity: Severity) -> Rule {
        self.severity = severity;
        self
    }

    /// Sets the fraction of rows that must pass (row-level checks only).
    pub fn mostly(mut self, mostly: f64) -> Rule {
        self.mostly = mostly;
        self
    }
}

/// A list of rules, as read from a rules file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// The rules, checked in this order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}
