//! Rules files in TOML or JSON. Each rule is one flat table:
//!
//! ```toml
//! [[rules]]
//! name = "amount in range"
//! check = "range"
//! column = "amount"
//! min = 0
//! max = 10000
//! max_exclusive = true
//! severity = "warn"
//! mostly = 0.99
//! ```
//!
//! A rule is validated while it is deserialized (`try_from`), so both parsers report the line of
//! the rule at fault, and the message names the field.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::profile::InferredType;
use super::rules::{CompareOp, Expect, PiiKind, Rule, RuleKind, RuleSet, Severity};
use crate::config::toml_error_in;
use crate::{Error, Result};

/// A value of an allowed set as written: text, number or boolean; compared as text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum SetValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl SetValue {
    fn text(&self) -> String {
        match self {
            SetValue::Bool(b) => b.to_string(),
            SetValue::Int(i) => i.to_string(),
            SetValue::Float(f) => f.to_string(),
            SetValue::Text(s) => s.clone(),
        }
    }
}

/// The flat shape of a rule in a file: one table whose `check` says which keys apply.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    check: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mostly: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    columns: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_exclusive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_exclusive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<Vec<SetValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<InferredType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_age: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    left: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    op: Option<CompareOp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    right: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<PiiKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect: Option<Expect>,
}

fn need<T>(label: &str, field: &str, value: Option<T>) -> std::result::Result<T, String> {
    value.ok_or_else(|| format!("{label}: missing field `{field}`"))
}

fn fraction(
    label: &str,
    field: &str,
    value: Option<f64>,
) -> std::result::Result<Option<f64>, String> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) => Err(format!(
            "{label}: field `{field}` must be a fraction between 0 and 1, got {v}"
        )),
        other => Ok(other),
    }
}

fn bound(label: &str, field: &str, value: Option<f64>) -> std::result::Result<Option<u64>, String> {
    match value {
        Some(v) if v < 0.0 || v.fract() != 0.0 => Err(format!(
            "{label}: field `{field}` must be a non-negative integer, got {v}"
        )),
        other => Ok(other.map(|v| v as u64)),
    }
}

/// Fails on the first key that is set but not used by the check (used keys are taken out of
/// `raw` before this runs).
fn refuse_rest(label: &str, r: &RawRule) -> std::result::Result<(), String> {
    let set = [
        ("column", r.column.is_some()),
        ("columns", r.columns.is_some()),
        ("min", r.min.is_some()),
        ("max", r.max.is_some()),
        ("min_exclusive", r.min_exclusive.is_some()),
        ("max_exclusive", r.max_exclusive.is_some()),
        ("values", r.values.is_some()),
        ("pattern", r.pattern.is_some()),
        ("expected", r.expected.is_some()),
        ("max_age", r.max_age.is_some()),
        ("left", r.left.is_some()),
        ("op", r.op.is_some()),
        ("right", r.right.is_some()),
        ("kind", r.kind.is_some()),
    ];
    match set.iter().find(|(_, s)| *s) {
        Some((field, _)) => Err(format!(
            "{label}: field `{field}` does not apply to check {:?}",
            r.check
        )),
        None => Ok(()),
    }
}

impl TryFrom<RawRule> for Rule {
    type Error = String;

    fn try_from(mut raw: RawRule) -> std::result::Result<Self, String> {
        let label = match &raw.name {
            Some(name) => format!("rule {name:?}"),
            None => format!("rule with check {:?}", raw.check),
        };
        let name = raw.name.take();
        let severity = raw.severity.take().unwrap_or(Severity::Error);
        let expect = raw.expect.take();
        let mostly = raw.mostly.take();
        let mostly_set = mostly.is_some();
        let mostly = fraction(&label, "mostly", mostly)?.unwrap_or(1.0);
        let column = raw.column.take();
        let kind = match raw.check.as_str() {
            "completeness" => {
                let min = raw.min.take();
                if min.is_some() && mostly_set {
                    return Err(format!(
                        "{label}: fields `min` and `mostly` both set the fraction of non-null rows completeness requires; set one"
                    ));
                }
                RuleKind::Completeness {
                    column: need(&label, "column", column)?,
                    min: fraction(&label, "min", min)?.unwrap_or(1.0),
                }
            }
            "not_null" => RuleKind::NotNull {
                column: need(&label, "column", column)?,
            },
            "unique" => RuleKind::Unique {
                column: need(&label, "column", column)?,
            },
            "primary_key" => {
                let columns = need(&label, "columns", raw.columns.take())?;
                if columns.is_empty() {
                    return Err(format!("{}: field `columns` is empty", label));
                }
                RuleKind::PrimaryKey { columns }
            }
            "distinct_ratio" => {
                let (min, max) = (raw.min.take(), raw.max.take());
                RuleKind::DistinctRatio {
                    column: need(&label, "column", column)?,
                    min: fraction(&label, "min", min)?,
                    max: fraction(&label, "max", max)?,
                }
            }
            "range" => {
                let (min, max) = (raw.min.take(), raw.max.take());
                if min.is_none() && max.is_none() {
                    return Err(format!("{}: needs field `min` or `max`", label));
                }
                RuleKind::Range {
                    column: need(&label, "column", column)?,
                    min,
                    max,
                    min_exclusive: raw.min_exclusive.take().unwrap_or(false),
                    max_exclusive: raw.max_exclusive.take().unwrap_or(false),
                }
            }
            "allowed_set" => RuleKind::AllowedSet {
                column: need(&label, "column", column)?,
                values: need(&label, "values", raw.values.take())?
                    .iter()
                    .map(SetValue::text)
                    .collect(),
            },
            "regex" => {
                let pattern = need(&label, "pattern", raw.pattern.take())?;
                if let Err(e) = regex::Regex::new(&pattern) {
                    let first = e.to_string().lines().last().unwrap_or("").trim().to_string();
                    return Err(format!("{}: field `pattern` is not a valid regex: {first}", label));
                }
                RuleKind::Regex {
                    column: need(&label, "column", column)?,
                    pattern,
                }
            }
            "length" => {
                let (min, max) = (raw.min.take(), raw.max.take());
                RuleKind::Length {
                    column: need(&label, "column", column)?,
                    min: bound(&label, "min", min)?,
                    max: bound(&label, "max", max)?,
                }
            }
            "type" => RuleKind::Type {
                column: need(&label, "column", column)?,
                expected: need(&label, "expected", raw.expected.take())?,
            },
            "row_count" => {
                if column.is_some() {
                    return Err(format!("{}: field `column` does not apply to check \"row_count\"", label));
                }
                let (min, max) = (raw.min.take(), raw.max.take());
                RuleKind::RowCount {
                    min: bound(&label, "min", min)?,
                    max: bound(&label, "max", max)?,
                }
            }
            "freshness" => {
                let text = need(&label, "max_age", raw.max_age.take())?;
                let max_age: Duration = humantime::parse_duration(&text).map_err(|e| {
                    format!("{}: field `max_age` {text:?} is not a duration: {e}", label)
                })?;
                RuleKind::Freshness {
                    column: need(&label, "column", column)?,
                    max_age,
                }
            }
            "compare" => {
                if column.is_some() {
                    return Err(format!("{}: field `column` does not apply to check \"compare\" (use `left` and `right`)", label));
                }
                RuleKind::Compare {
                    left: need(&label, "left", raw.left.take())?,
                    op: need(&label, "op", raw.op.take())?,
                    right: need(&label, "right", raw.right.take())?,
                }
            }
            "pii" => RuleKind::Pii {
                column: need(&label, "column", column)?,
                kind: need(&label, "kind", raw.kind.take())?,
            },
            other => {
                return Err(format!(
                    "{}: field `check` has unknown value {other:?} (expected completeness, not_null, unique, primary_key, distinct_ratio, range, allowed_set, regex, length, type, row_count, freshness, compare or pii)",
                    label
                ))
            }
        };
        refuse_rest(&label, &raw)?;
        if mostly_set && !kind.is_row_level() {
            return Err(format!(
                "{label}: field `mostly` does not apply to check {:?}: it is one verdict on the whole table, not a share of rows",
                raw.check
            ));
        }
        if matches!(expect, Some(Expect::Drop)) && !kind.is_row_level() {
            return Err(format!(
                "{label}: expect = \"drop\" needs a check that passes or fails row by row, not {:?}",
                raw.check
            ));
        }
        let mut rule = Rule::new(kind).severity(severity).mostly(mostly);
        rule.expect = expect;
        if let Some(name) = name {
            rule = rule.named(name);
        }
        Ok(rule)
    }
}

impl From<Rule> for RawRule {
    fn from(rule: Rule) -> RawRule {
        let mut raw = RawRule {
            name: Some(rule.name),
            check: rule.kind.check_name().to_string(),
            severity: Some(rule.severity),
            mostly: (rule.mostly != 1.0 && rule.kind.is_row_level()).then_some(rule.mostly),
            expect: rule.expect,
            ..RawRule::default()
        };
        match rule.kind {
            RuleKind::Completeness { column, min } => {
                // One field, as the file takes it: the fraction the check requires.
                raw.column = Some(column);
                raw.min = Some(min.min(rule.mostly));
                raw.mostly = None;
            }
            RuleKind::NotNull { column } | RuleKind::Unique { column } => raw.column = Some(column),
            RuleKind::PrimaryKey { columns } => raw.columns = Some(columns),
            RuleKind::DistinctRatio { column, min, max } => {
                raw.column = Some(column);
                (raw.min, raw.max) = (min, max);
            }
            RuleKind::Range {
                column,
                min,
                max,
                min_exclusive,
                max_exclusive,
            } => {
                raw.column = Some(column);
                (raw.min, raw.max) = (min, max);
                raw.min_exclusive = min_exclusive.then_some(true);
                raw.max_exclusive = max_exclusive.then_some(true);
            }
            RuleKind::AllowedSet { column, values } => {
                raw.column = Some(column);
                raw.values = Some(values.into_iter().map(SetValue::Text).collect());
            }
            RuleKind::Regex { column, pattern } => {
                raw.column = Some(column);
                raw.pattern = Some(pattern);
            }
            RuleKind::Length { column, min, max } => {
                raw.column = Some(column);
                (raw.min, raw.max) = (min.map(|v| v as f64), max.map(|v| v as f64));
            }
            RuleKind::Type { column, expected } => {
                raw.column = Some(column);
                raw.expected = Some(expected);
            }
            RuleKind::RowCount { min, max } => {
                (raw.min, raw.max) = (min.map(|v| v as f64), max.map(|v| v as f64));
            }
            RuleKind::Freshness { column, max_age } => {
                raw.column = Some(column);
                raw.max_age = Some(humantime::format_duration(max_age).to_string());
            }
            RuleKind::Compare { left, op, right } => {
                (raw.left, raw.op, raw.right) = (Some(left), Some(op), Some(right));
            }
            RuleKind::Pii { column, kind } => {
                raw.column = Some(column);
                raw.kind = Some(kind);
            }
        }
        raw
    }
}

/// The line on which the last object at depth 2 (a rule inside `{"rules": [...]}`) that closes
/// before `line`:`column` opens.
fn json_rule_start_line(text: &str, line: usize, column: usize) -> Option<usize> {
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            offset += column.min(l.len());
            break;
        }
        offset += l.len() + 1;
    }
    let (mut in_string, mut escaped) = (false, false);
    let mut opens: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut last = None;
    for (i, b) in text.bytes().enumerate().take(offset) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                opens.push(i);
            }
            b'}' | b']' => {
                let start = opens.pop();
                if depth == 3 && b == b'}' {
                    last = start;
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    last.map(|start| text[..start].matches('\n').count() + 1)
}

impl RuleSet {
    /// Parses a TOML rules file. Errors are one line naming the line and the field.
    pub fn from_toml_str(text: &str) -> Result<RuleSet> {
        toml::from_str(text).map_err(|e| toml_error_in("rules file", text, &e))
    }

    /// Parses a JSON rules file (`{"rules": [...]}`). Errors name the line and the field.
    pub fn from_json_str(text: &str) -> Result<RuleSet> {
        serde_json::from_str(text).map_err(|e| {
            let mut message = e.to_string().replace('\n', " ");
            // A rule is validated once its object has been read, so serde_json points past
            // its end; name the line where the rule starts instead.
            if let Some(line) = message
                .starts_with("rule ")
                .then(|| json_rule_start_line(text, e.line(), e.column()))
                .flatten()
            {
                if let Some(at) = message.rfind(" at line ") {
                    message.truncate(at);
                }
                message = format!("rule at line {line}: {message}");
            }
            Error::config(format!("invalid rules file: {message}")).set_source(e)
        })
    }

    /// Reads a rules file: JSON if the name ends in `.json`, TOML otherwise.
    pub fn from_file(path: &Path) -> Result<RuleSet> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read rules file", path, e))?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let rules = if json {
            RuleSet::from_json_str(&text)
        } else {
            RuleSet::from_toml_str(&text)
        };
        rules.map_err(|e| e.with("path", path.display()))
    }

    /// The rules as TOML, in the shape `from_toml_str` reads.
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| Error::internal(format!("cannot serialize rules: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[rules]]
name = "ids"
check = "primary_key"
columns = ["id"]

[[rules]]
check = "range"
column = "amount"
min = 0
max = 100
max_exclusive = true
severity = "warn"
mostly = 0.9

[[rules]]
check = "allowed_set"
column = "status"
values = ["new", 1, true]

[[rules]]
check = "freshness"
column = "ts"
max_age = "2days"

[[rules]]
check = "compare"
left = "start"
op = "<="
right = "end"
"#;

    #[test]
    fn reads_toml_and_round_trips() {
        let set = RuleSet::from_toml_str(GOOD).unwrap();
        assert_eq!(set.rules.len(), 5);
        assert_eq!(set.rules[0].name, "ids");
        assert_eq!(set.rules[1].severity, Severity::Warn);
        assert_eq!(set.rules[1].name, "range(amount)");
        assert_eq!(
            set.rules[2].kind,
            RuleKind::AllowedSet {
                column: "status".into(),
                values: vec!["new".into(), "1".into(), "true".into()]
            }
        );
        let text = set.to_toml_string().unwrap();
        assert_eq!(RuleSet::from_toml_str(&text).unwrap(), set);
        let json = serde_json::to_string_pretty(&set).unwrap();
        assert_eq!(RuleSet::from_json_str(&json).unwrap(), set);
    }

    fn toml_err(text: &str) -> String {
        RuleSet::from_toml_str(text).unwrap_err().to_string()
    }

    #[test]
    fn toml_errors_name_line_and_field() {
        let e =
            toml_err("[[rules]]\ncheck = \"range\"\ncolumn = \"a\"\nmin = 1\npattern = \"x\"\n");
        assert!(e.contains("line ") && e.contains("`pattern`"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = toml_err("[[rules]]\ncheck = \"range\"\n\n[[rules]]\ncheck = \"unique\"\n");
        assert!(e.contains("line ") && e.contains("`min` or `max`"), "{e}");
        let e = toml_err("[[rules]]\ncheck = \"unique\"\ncolumn = \"a\"\n\n[[rules]]\ncheck = \"unique\"\ncolum = \"b\"\n");
        assert!(e.contains("line 7") && e.contains("colum"), "{e}");
        let e = toml_err("[[rules]]\ncheck = \"regex\"\ncolumn = \"a\"\npattern = \"(\"\n");
        assert!(e.contains("`pattern`") && !e.contains('\n'), "{e}");
        let e = toml_err("[[rules]]\ncheck = \"unique\"\ncolumn = \"a\"\nmostly = 1.5\n");
        assert!(e.contains("`mostly`"), "{e}");
        let e = toml_err("[[rules]]\ncheck = \"nope\"\n");
        assert!(e.contains("`check`"), "{e}");
        let e = toml_err("[[rules]]\ncheck = \"freshness\"\ncolumn = \"t\"\nmax_age = \"soon\"\n");
        assert!(e.contains("`max_age`"), "{e}");
    }

    #[test]
    fn json_errors_name_line_and_field() {
        let text = "{\"rules\": [\n  {\"check\": \"unique\", \"column\": \"a\"},\n  {\"check\": \"length\", \"column\": \"a\", \"min\": -1}\n]}";
        let e = RuleSet::from_json_str(text).unwrap_err().to_string();
        assert!(e.contains("rule at line 3") && e.contains("`min`"), "{e}");
        assert!(!e.contains("line 4"), "{e}");
        let e = RuleSet::from_json_str("{\"rules\": [{\"check\": 5}]}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1"), "{e}");
    }
}
