//! Retention on tables: `[[table_retention]]` rules applied as table deletes (commits that
//! show in history and the audit log), by `strata table retention` and `strata tier run`.

use std::time::SystemTime;

use super::erasure::ident;
use super::Lake;
use crate::catalog::Kind;
use crate::config::TableRetentionRule;
use crate::error::{Error, Result};
use crate::governance::RetentionAction;
use crate::read::Expr;
use crate::table::AsOf;

/// The cutoff `now - delete_after` as a literal the column's type reads.
fn cutoff(rule: &TableRetentionRule, data_type: &str, now: SystemTime) -> Result<String> {
    let column = rule.column.as_deref().unwrap_or_default();
    let at = now
        .checked_sub(rule.delete_after)
        .unwrap_or(std::time::UNIX_EPOCH);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    if data_type.starts_with("Timestamp") || data_type == "Utf8" || data_type == "LargeUtf8" {
        Ok(text)
    } else if data_type.starts_with("Date") {
        Ok(text[..10].to_string())
    } else {
        Err(Error::invalid(format!(
            "table retention on column {column} needs a timestamp, date or ISO 8601 text column, not {data_type}"
        )))
    }
}

impl Lake {
    /// Applies the `[[table_retention]]` rules to table `name` (or to every table of the
    /// lake), or with `dry_run` counts what they would delete. Each rule's delete is one
    /// table commit (it shows in history and the audit log).
    pub fn table_retention(
        &self,
        name: Option<&str>,
        dry_run: bool,
    ) -> Result<Vec<RetentionAction>> {
        self.table_retention_at(name, dry_run, SystemTime::now())
    }

    /// [`Lake::table_retention`] as of `now`.
    pub fn table_retention_at(
        &self,
        name: Option<&str>,
        dry_run: bool,
        now: SystemTime,
    ) -> Result<Vec<RetentionAction>> {
        if let Some(n) = name {
            if !self.table(n)?.exists()? {
                return Err(Error::new(
                    crate::error::ErrorKind::NotFound,
                    format!("table {n} does not exist"),
                ));
            }
        }
        let rules = &self.config().table_retention;
        let mut actions = Vec::new();
        if rules.is_empty() {
            return Ok(actions);
        }
        let tables: Vec<String> = match name {
            Some(n) => vec![n.to_string()],
            None => self.tables(None)?.iter().map(|t| t.to_string()).collect(),
        };
        let entries = if rules.iter().any(|r| r.classification.is_some()) {
            self.open_catalog()?.entries()?
        } else {
            Vec::new()
        };
        for table_name in tables {
            let zone = table_name.split_once('/').map_or("", |(z, _)| z);
            let classes: Vec<&str> = entries
                .iter()
                .filter(|e| e.kind == Kind::Table && e.name == table_name)
                .flat_map(|e| e.columns.iter())
                .filter_map(|c| c.classification.as_ref().map(|m| m.class.as_str()))
                .collect();
            let covered: Vec<&TableRetentionRule> = rules
                .iter()
                .filter(|r| {
                    r.zone.as_deref().is_some_and(|z| z == "*" || z == zone)
                        || r.table.as_deref() == Some(table_name.as_str())
                        || r.classification
                            .as_deref()
                            .is_some_and(|c| classes.contains(&c))
                })
                .collect();
            if covered.is_empty() {
                continue;
            }
            let table = self.table(&table_name)?;
            let info = table.info(AsOf::Latest)?;
            for rule in covered {
                let mut action = RetentionAction {
                    table: table_name.clone(),
                    rule: rule.describe(),
                    ..RetentionAction::default()
                };
                let Some(column) = &rule.column else {
                    // By file age: whole files go, none is read.
                    let before = now
                        .checked_sub(rule.delete_after)
                        .unwrap_or(std::time::UNIX_EPOCH);
                    let change = table.expire_files(before, dry_run)?;
                    action.predicate = format!(
                        "file added before {}",
                        humantime::format_rfc3339_seconds(before)
                    );
                    action.rows = change.rows_deleted;
                    action.files = change.files_removed;
                    action.version = change.version;
                    actions.push(action);
                    continue;
                };
                let Some((_, data_type)) = info.columns.iter().find(|(c, _)| c == column) else {
                    return Err(Error::invalid(format!(
                        "retention rule ({}) names column {column}, which table {table_name} lacks",
                        rule.describe(),
                    )));
                };
                action.predicate =
                    format!("{} < '{}'", ident(column), cutoff(rule, data_type, now)?);
                if dry_run {
                    action.rows = table
                        .scan()?
                        .filter(Expr::parse(&action.predicate)?)
                        .count()?
                        .0;
                } else {
                    let change = table.delete(&action.predicate)?;
                    action.rows = change.rows_deleted;
                    action.files = change.files_removed;
                    action.version = change.version;
                }
                actions.push(action);
            }
        }
        Ok(actions)
    }
}
