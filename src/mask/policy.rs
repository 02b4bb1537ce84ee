//! Masking policies: per column and per role, who sees clear text, who sees which operator and
//! who may not see the column at all; written in TOML and applied to record batches.
//!
//! ```toml
//! on_denied = "drop"          # or "error": refuse the batch instead of removing the column
//! unlisted_columns = "clear"  # or "deny": columns the policy does not name
//! missing_columns = "error"   # or "warn": columns the policy names that the data lacks
//!
//! [columns.email]
//! clear = ["dpo"]                         # these roles see clear text
//! deny = ["intern"]                       # these roles do not get the column
//! mask = { op = "email" }                 # every other role
//! roles.analyst = { op = "hash", key = "k1" }
//!
//! [columns.card]
//! roles.support = { op = "partial", keep_last = 4 }
//! ```
//!
//! A column with neither a `mask` nor an entry for the role is denied to that role: forgetting
//! a role fails closed, never open. A column the policy names that the data does not have (a
//! typo such as `[columns.emial]` would leave `email` in clear) is an error naming the column,
//! the policy and the role, whichever roles the column's entry speaks of; with
//! `missing_columns = "warn"` (or [`MaskPolicy::with_missing_columns`]) the caller gets the
//! names back as warnings instead.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use rayon::prelude::*;
use serde::Deserialize;
use toml::Spanned;

use super::keys::{MaskKey, MaskKeys};
use super::op::MaskOp;
use super::prepared::PreparedMask;
use crate::config::{located_error, toml_error_in};
use crate::error::{Error, ErrorKind, Result};

/// What happens to a column a role may not see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDenied {
    /// The column is left out of the result.
    #[default]
    Drop,
    /// The whole batch is refused.
    Error,
}

/// What happens when a policy names a column the data does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingColumns {
    /// The data is refused with an error naming the columns, the policy and the role.
    #[default]
    Error,
    /// The data is masked; the checks return the missing names for the caller to report.
    Warn,
}

/// What a role gets of one column.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ColumnAccess {
    /// The values as stored.
    Clear,
    /// The values through this operator.
    Masked(MaskOp),
    /// Nothing.
    Denied,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    on_denied: OnDenied,
    #[serde(default)]
    unlisted_columns: Unlisted,
    #[serde(default)]
    missing_columns: MissingColumns,
    #[serde(default)]
    columns: BTreeMap<String, RawColumn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Unlisted {
    #[default]
    Clear,
    Deny,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    #[serde(default)]
    clear: Vec<Spanned<String>>,
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    #[serde(default)]
    mask: Option<Spanned<MaskOp>>,
    #[serde(default)]
    roles: BTreeMap<Spanned<String>, Spanned<MaskOp>>,
}

#[derive(Debug, Clone, PartialEq)]
struct ColumnPolicy {
    clear: BTreeSet<String>,
    deny: BTreeSet<String>,
    mask: Option<MaskOp>,
    roles: BTreeMap<String, MaskOp>,
}

impl ColumnPolicy {
    fn access(&self, role: &str) -> ColumnAccess {
        if self.clear.contains(role) {
            ColumnAccess::Clear
        } else if self.deny.contains(role) {
            ColumnAccess::Denied
        } else if let Some(op) = self.roles.get(role).or(self.mask.as_ref()) {
            ColumnAccess::Masked(op.clone())
        } else {
            ColumnAccess::Denied
        }
    }
}

/// A parsed, checked masking policy.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskPolicy {
    on_denied: OnDenied,
    unlisted: Unlisted,
    missing: MissingColumns,
    /// Where the policy came from (its file), for errors about it.
    source: Option<String>,
    columns: BTreeMap<String, ColumnPolicy>,
}

/// Stands in for the key provider while checking a policy, so operator settings (truncation,
/// widths, unkeyed hashing) are validated with line numbers before any key is fetched.
struct CheckKeys;

impl MaskKeys for CheckKeys {
    fn key(&self, id: &str) -> Result<MaskKey> {
        MaskKey::new(id, 1, [0u8; 32])
    }

    fn key_version(&self, id: &str, version: u32) -> Result<MaskKey> {
        MaskKey::new(id, version, [0u8; 32])
    }
}

impl MaskPolicy {
    /// Parses and checks a policy; errors are one line naming the line and field at fault.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| toml_error_in("policy", text, &e))?;
        let at = |pos: usize, column: &str, message: String| {
            located_error(
                "policy",
                text,
                pos,
                &format!("column {column:?}: {message}"),
            )
        };
        let mut columns = BTreeMap::new();
        for (name, raw_col) in raw.columns {
            // Every role may be named once: in `clear`, in `deny` or under `roles`.
            let mut seen: BTreeMap<String, &'static str> = BTreeMap::new();
            let lists = raw_col
                .clear
                .iter()
                .map(|r| (r, "clear"))
                .chain(raw_col.deny.iter().map(|r| (r, "deny")))
                .chain(raw_col.roles.keys().map(|r| (r, "roles")));
            for (role, field) in lists {
                if role.get_ref().is_empty() {
                    return Err(at(
                        role.span().start,
                        &name,
                        format!("empty role name in `{field}`"),
                    ));
                }
                if let Some(first) = seen.insert(role.get_ref().clone(), field) {
                    return Err(at(
                        role.span().start,
                        &name,
                        format!(
                            "role {:?} is in both `{first}` and `{field}`",
                            role.get_ref()
                        ),
                    ));
                }
            }
            let ops = raw_col.mask.iter().chain(raw_col.roles.values());
            for op in ops {
                if let Err(e) = PreparedMask::new(op.get_ref(), &CheckKeys) {
                    return Err(at(op.span().start, &name, e.message().to_string()));
                }
            }
            columns.insert(
                name,
                ColumnPolicy {
                    clear: raw_col.clear.into_iter().map(Spanned::into_inner).collect(),
                    deny: raw_col.deny.into_iter().map(Spanned::into_inner).collect(),
                    mask: raw_col.mask.map(Spanned::into_inner),
                    roles: raw_col
                        .roles
                        .into_iter()
                        .map(|(k, v)| (k.into_inner(), v.into_inner()))
                        .collect(),
                },
            );
        }
        Ok(MaskPolicy {
            on_denied: raw.on_denied,
            unlisted: raw.unlisted_columns,
            missing: raw.missing_columns,
            source: None,
            columns,
        })
    }

    /// Reads and parses a policy file.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io("cannot read policy", path, e))?;
        let policy = Self::from_toml_str(&text).map_err(|e| e.with("path", path.display()))?;
        Ok(policy.with_source(path.display()))
    }

    /// Names where the policy came from (a file, a setting), for the errors that speak of it;
    /// [`MaskPolicy::from_file`] sets the path.
    pub fn with_source(mut self, source: impl std::fmt::Display) -> Self {
        self.source = Some(source.to_string());
        self
    }

    /// What a column named by the policy but absent from the data does: an error (the
    /// default) or a warning the checks return. Overrides the policy's `missing_columns`.
    pub fn with_missing_columns(mut self, missing: MissingColumns) -> Self {
        self.missing = missing;
        self
    }

    /// What a column named by the policy but absent from the data does.
    pub fn missing_columns(&self) -> MissingColumns {
        self.missing
    }

    /// Checks the policy against the schema of the data it is to mask for `role`: every
    /// column the policy names, whichever roles its entry speaks of, must be in `schema`.
    /// Returns the absent names when the policy allows them ([`MissingColumns::Warn`]), for
    /// the caller to report; otherwise they are a `NotFound` error naming them, the policy and
    /// the role.
    pub fn check_columns(&self, schema: &Schema, role: &str) -> Result<Vec<String>> {
        let absent = self.absent_columns(schema, |_| true);
        self.refuse_absent(absent, schema, role)
    }

    /// As [`MaskPolicy::check_columns`], for data already masked for `role` (the input of
    /// [`MaskPolicy::retokenize`]): columns denied to `role` were dropped from it, so only
    /// the columns the role gets must be there.
    pub fn check_masked_columns(&self, schema: &Schema, role: &str) -> Result<Vec<String>> {
        let absent = self.absent_columns(schema, |c| c.access(role) != ColumnAccess::Denied);
        self.refuse_absent(absent, schema, role)
    }

    fn absent_columns(
        &self,
        schema: &Schema,
        expected: impl Fn(&ColumnPolicy) -> bool,
    ) -> Vec<String> {
        self.columns
            .iter()
            .filter(|(name, column)| expected(column) && schema.column_with_name(name).is_none())
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn refuse_absent(
        &self,
        absent: Vec<String>,
        schema: &Schema,
        role: &str,
    ) -> Result<Vec<String>> {
        if absent.is_empty() || self.missing == MissingColumns::Warn {
            return Ok(absent);
        }
        let names: Vec<String> = absent.iter().map(|n| format!("{n:?}")).collect();
        let has: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let has = if has.is_empty() {
            "no columns".to_string()
        } else {
            has.join(", ")
        };
        let noun = if absent.len() == 1 {
            "column"
        } else {
            "columns"
        };
        let message = format!(
            "the masking policy names {noun} {} that the data does not have (the data has \
             {has}); correct the policy, or allow missing columns (missing_columns = \"warn\" \
             in the policy, --allow-missing-columns on the command line)",
            names.join(", "),
        );
        Err(Error::new(ErrorKind::NotFound, message)
            .with(
                "policy",
                self.source.as_deref().unwrap_or("(given as text)"),
            )
            .with("role", shown_role(role)))
    }

    /// What `role` gets of `column`.
    pub fn access(&self, column: &str, role: &str) -> ColumnAccess {
        match self.columns.get(column) {
            Some(c) => c.access(role),
            None => match self.unlisted {
                Unlisted::Clear => ColumnAccess::Clear,
                Unlisted::Deny => ColumnAccess::Denied,
            },
        }
    }

    /// The columns the policy names.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.keys().map(String::as_str)
    }

    /// Whether `role` sees every column in clear: nothing masked or denied, and columns the
    /// policy does not name left clear.
    pub fn clear_for(&self, role: &str) -> bool {
        self.unlisted == Unlisted::Clear
            && self
                .columns
                .values()
                .all(|c| c.access(role) == ColumnAccess::Clear)
    }

    /// Every masking key id the policy's operators name, for making missing keys up front.
    pub fn key_ids(&self) -> BTreeSet<String> {
        let ops = self
            .columns
            .values()
            .flat_map(|c| c.mask.iter().chain(c.roles.values()));
        ops.filter_map(|op| match op {
            MaskOp::Hash { key, .. }
            | MaskOp::Tokenize { key, .. }
            | MaskOp::Fpe { key, .. }
            | MaskOp::DateShift { key, .. } => Some(key.clone()),
            _ => None,
        })
        .collect()
    }

    /// The policy for one role with its keys fetched and operators prepared, to mask many
    /// batches.
    pub fn for_role(&self, role: &str, keys: &dyn MaskKeys) -> Result<RoleMask> {
        let mut masks = BTreeMap::new();
        for (name, column) in &self.columns {
            if let ColumnAccess::Masked(op) = column.access(role) {
                let prepared = PreparedMask::new(&op, keys).map_err(|e| e.with("column", name))?;
                masks.insert(name.clone(), Arc::new(prepared));
            }
        }
        Ok(RoleMask {
            policy: self.clone(),
            role: role.to_string(),
            masks,
            source_checked: false,
        })
    }

    /// Masks `batch` as `role` sees it; the policy's columns are checked against the batch
    /// (see [`MaskPolicy::check_columns`]).
    pub fn apply(
        &self,
        batch: &RecordBatch,
        role: &str,
        keys: &dyn MaskKeys,
    ) -> Result<RecordBatch> {
        self.for_role(role, keys)?.apply(batch)
    }
}

/// How errors and messages show a role; the empty role gets every column's default `mask`.
fn shown_role(role: &str) -> &str {
    if role.is_empty() {
        "(default)"
    } else {
        role
    }
}

/// A [`MaskPolicy`] prepared for one role.
#[derive(Debug)]
pub struct RoleMask {
    policy: MaskPolicy,
    role: String,
    masks: BTreeMap<String, Arc<PreparedMask>>,
    /// Whether the policy was checked against the whole source's schema, so batches may be
    /// projections of it.
    source_checked: bool,
}

enum Outcome {
    Keep(ArrayRef),
    Mask(Arc<PreparedMask>),
    Drop,
}

impl RoleMask {
    /// The role this mask is for.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// Checks the policy against the schema of the whole source (a file, a dataset, a stream)
    /// once, as [`MaskPolicy::check_columns`] does. Until this is called, [`RoleMask::apply`]
    /// checks each batch it is given; after it, batches may be projections of `schema`
    /// (a scan of some columns) that lack columns the policy names.
    pub fn check_schema(&mut self, schema: &Schema) -> Result<Vec<String>> {
        let absent = self.policy.check_columns(schema, &self.role)?;
        self.source_checked = true;
        Ok(absent)
    }

    /// Refuses a filter over columns the role does not see in clear: filtering on clear text
    /// would let the role probe values it is only shown masked (`ssn = '078-05-1120'`).
    pub fn check_filter_columns(&self, columns: &[&str]) -> Result<()> {
        for &name in columns {
            if self.policy.access(name, &self.role) != ColumnAccess::Clear {
                return Err(Error::invalid(format!(
                    "role {:?} may not filter on column {name:?}: it does not see it in clear",
                    self.role
                )));
            }
        }
        Ok(())
    }

    /// Refuses projected columns the role is denied, so asking for one is an error rather
    /// than a column silently missing from the output.
    pub fn check_columns(&self, columns: &[&str]) -> Result<()> {
        for &name in columns {
            // A dotted path selects inside a struct column; the policy names top-level columns.
            let top = name.split('.').next().unwrap_or(name);
            if self.policy.access(top, &self.role) == ColumnAccess::Denied {
                return Err(Error::invalid(format!(
                    "role {:?} may not read column {top:?}",
                    self.role
                )));
            }
        }
        Ok(())
    }

    /// The batch as the role sees it: clear columns as they are, masked columns through their
    /// operator (in parallel), denied columns removed or the batch refused. A column the policy
    /// names that the batch lacks is an error (see [`MaskPolicy::check_columns`]) unless
    /// [`RoleMask::check_schema`] checked the source.
    pub fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let schema = batch.schema();
        if !self.source_checked {
            self.policy.check_columns(&schema, &self.role)?;
        }
        let mut plan = Vec::with_capacity(schema.fields().len());
        for (i, field) in schema.fields().iter().enumerate() {
            let name = field.name();
            let outcome = match self.policy.access(name, &self.role) {
                ColumnAccess::Clear => Outcome::Keep(batch.column(i).clone()),
                ColumnAccess::Masked(_) => match self.masks.get(name) {
                    Some(m) => Outcome::Mask(m.clone()),
                    None => return Err(Error::internal("masked column was not prepared")),
                },
                ColumnAccess::Denied => match self.policy.on_denied {
                    OnDenied::Drop => Outcome::Drop,
                    OnDenied::Error => {
                        return Err(Error::invalid(format!(
                            "role {:?} may not read column {name:?}",
                            self.role
                        )))
                    }
                },
            };
            plan.push((i, outcome));
        }
        let columns = plan
            .into_par_iter()
            .filter_map(|(i, outcome)| {
                let field = schema.field(i);
                match outcome {
                    Outcome::Drop => None,
                    Outcome::Keep(a) => Some(Ok((field.clone(), a))),
                    Outcome::Mask(m) => Some(
                        m.apply_column(batch, i)
                            .map(|a| {
                                // Masking may null values (redact, null entities) or change the
                                // type (text operators on numbers); say so in the field.
                                let f = Field::new(field.name(), a.data_type().clone(), true)
                                    .with_metadata(field.metadata().clone());
                                (f, a)
                            })
                            .map_err(|e| e.with("column", field.name())),
                    ),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
        let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(schema, arrays, &options).map_err(Error::from)
    }
}
