//! Key rotation over masked batches: tokens made under old key versions are re-tokenized
//! with the current version; hashes (one-way) are only counted, so the caller can say how many
//! must be recomputed from clear text.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use serde::Serialize;

use super::keys::MaskKeys;
use super::op::MaskOp;
use super::policy::{ColumnAccess, MaskPolicy};
use super::token::{parse_tag, retokenize};
use crate::error::{Error, Result};

/// What a rotation found in one column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ColumnRotation {
    /// The operator the policy names for the column (`tokenize` or `hash`).
    pub op: String,
    /// The masking key id.
    pub key: String,
    /// The key's current version.
    pub current_version: u32,
    /// Values already under the current version.
    pub current: u64,
    /// Tokens moved from an older version to the current one.
    pub retokenized: u64,
    /// Hashes made with an older version: one-way, so they must be recomputed from clear text.
    pub stale: u64,
}

impl ColumnRotation {
    fn add(&mut self, other: &ColumnRotation) {
        self.current += other.current;
        self.retokenized += other.retokenized;
        self.stale += other.stale;
    }
}

/// Per column, what [`MaskPolicy::retokenize`] did, summed over batches with
/// [`RotationReport::add`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RotationReport {
    /// By column name.
    pub columns: BTreeMap<String, ColumnRotation>,
}

impl RotationReport {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: &RotationReport) {
        for (name, col) in &other.columns {
            self.columns
                .entry(name.clone())
                .or_insert_with(|| ColumnRotation {
                    op: col.op.clone(),
                    key: col.key.clone(),
                    current_version: col.current_version,
                    ..ColumnRotation::default()
                })
                .add(col);
        }
    }
}

/// Counts values under the current version and under older ones.
fn count_versions(array: &dyn Array, current: u32) -> Result<(u64, u64)> {
    let text = cast(array, &DataType::LargeUtf8).map_err(Error::from)?;
    let (mut now, mut old) = (0, 0);
    for (row, value) in text.as_string::<i64>().iter().enumerate() {
        let Some(value) = value else { continue };
        let (_, version, _) = parse_tag(value).ok_or_else(|| {
            Error::invalid("value has no key-version tag (`<key id>v<version>:...`)")
                .with("row", row)
        })?;
        if version == current {
            now += 1;
        } else {
            old += 1;
        }
    }
    Ok((now, old))
}

impl MaskPolicy {
    /// Moves the tokens of an already masked batch (as `role` was given it) to the current
    /// version of their keys. Columns the policy tokenizes for `role` are re-tokenized;
    /// columns it hashes are copied and their stale values counted; every other column is
    /// copied unchanged. A column the role gets that the batch lacks is an error (see
    /// [`MaskPolicy::check_masked_columns`]).
    pub fn retokenize(
        &self,
        batch: &RecordBatch,
        role: &str,
        keys: &dyn MaskKeys,
    ) -> Result<(RecordBatch, RotationReport)> {
        let schema = batch.schema();
        self.check_masked_columns(&schema, role)?;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        let mut report = RotationReport::default();
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            let name = field.name();
            let in_column = |e: Error| e.with("column", name);
            let ColumnAccess::Masked(op) = self.access(name, role) else {
                columns.push(array.clone());
                continue;
            };
            let key = match &op {
                MaskOp::Tokenize { key, .. } | MaskOp::Hash { key, .. } => key,
                _ => {
                    columns.push(array.clone());
                    continue;
                }
            };
            let current = keys.key(key).map_err(in_column)?.version();
            let (now, old) = count_versions(array.as_ref(), current).map_err(in_column)?;
            let mut rotation = ColumnRotation {
                op: op.name().to_string(),
                key: key.clone(),
                current_version: current,
                current: now,
                ..ColumnRotation::default()
            };
            if matches!(op, MaskOp::Tokenize { .. }) && old > 0 {
                let moved = retokenize(array.as_ref(), &op, keys).map_err(in_column)?;
                // Keep the file's column type (the kernels return the type they were given).
                columns.push(if moved.data_type() == array.data_type() {
                    moved
                } else {
                    cast(&moved, array.data_type()).map_err(Error::from)?
                });
                rotation.retokenized = old;
            } else {
                columns.push(array.clone());
                rotation.stale = if matches!(op, MaskOp::Hash { .. }) {
                    old
                } else {
                    0
                };
            }
            report.columns.insert(name.clone(), rotation);
        }
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(Error::from)?;
        Ok((batch, report))
    }
}
