//! Profiles of whole tables: columns and row chunks become rayon tasks; the partial states of
//! each column are merged in input order.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ColumnProfile, ColumnSummary, ProfileOptions};
use crate::quality::same_columns;
use crate::{Error, Result};

/// The mergeable, serializable profile of a table: one [`ColumnProfile`] per column.
///
/// Row groups merge into a file and files into a dataset with [`TableProfile::merge`]; a stored
/// state (serde) can take in the profile of new data the same way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableProfile {
    rows: u64,
    columns: Vec<ColumnProfile>,
}

impl TableProfile {
    /// Rows profiled.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Column profiles in schema order.
    pub fn columns(&self) -> &[ColumnProfile] {
        &self.columns
    }

    /// The profile of the column called `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name() == name)
    }

    /// Folds in the profile of more rows with the same columns.
    pub fn merge(&mut self, other: &TableProfile) -> Result<()> {
        if self.columns.is_empty() && self.rows == 0 {
            *self = other.clone();
            return Ok(());
        }
        if other.columns.is_empty() && other.rows == 0 {
            return Ok(());
        }
        if self.columns.len() != other.columns.len() {
            return Err(Error::invalid(format!(
                "cannot merge a profile of {} columns with one of {}",
                self.columns.len(),
                other.columns.len()
            )));
        }
        for (mine, theirs) in self.columns.iter_mut().zip(&other.columns) {
            mine.merge(theirs)?;
        }
        self.rows += other.rows;
        Ok(())
    }

    /// Every column's summary.
    pub fn summary(&self) -> Vec<ColumnSummary> {
        self.columns.iter().map(ColumnProfile::summary).collect()
    }
}

/// Profiles one array in parallel chunks.
pub fn profile_array(
    name: &str,
    array: &ArrayRef,
    options: &ProfileOptions,
) -> Result<ColumnProfile> {
    let field = Field::new(name, array.data_type().clone(), true);
    let batch = RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![array.clone()])
        .map_err(Error::from)?;
    let mut table = profile_batches(&[batch], options)?;
    table
        .columns
        .pop()
        .ok_or_else(|| Error::internal("profile of one column has no column"))
}

/// Profiles batches that share a schema, in parallel across columns and row chunks.
///
/// Exact metrics (counts, extremes, integer sums, exact distinct counts and frequencies) are
/// the same for any thread count; chunks are merged in input order.
pub fn profile_batches(batches: &[RecordBatch], options: &ProfileOptions) -> Result<TableProfile> {
    let Some(first) = batches.first() else {
        return Ok(TableProfile {
            rows: 0,
            columns: Vec::new(),
        });
    };
    let schema = first.schema();
    if let Some(i) = batches
        .iter()
        .position(|b| !same_columns(&b.schema(), &schema))
    {
        return Err(Error::invalid(format!(
            "batch {i} has a different schema from batch 0"
        )));
    }
    let groups = chunk_groups(batches, options.chunk_rows.max(1));
    let total_rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
    let columns = schema.fields().len();
    let tasks: Vec<(usize, usize)> = (0..columns)
        .flat_map(|c| (0..groups.len()).map(move |g| (c, g)))
        .collect();
    let partials: Vec<Result<ColumnProfile>> = tasks
        .par_iter()
        .map(|&(c, g)| {
            let field = schema.field(c);
            let mut profile = ColumnProfile::new(field.name(), field.data_type(), options)?;
            profile.expect_rows(total_rows);
            for &(b, offset, len) in &groups[g] {
                profile.update(batches[b].column(c).slice(offset, len).as_ref())?;
            }
            Ok(profile)
        })
        .collect();
    let mut per_column: Vec<Vec<ColumnProfile>> = (0..columns).map(|_| Vec::new()).collect();
    for (&(c, _), partial) in tasks.iter().zip(partials) {
        per_column[c].push(partial?);
    }
    let columns = per_column
        .into_par_iter()
        .enumerate()
        .map(|(c, parts)| {
            let mut parts = parts.into_iter();
            let mut whole = match parts.next() {
                Some(p) => p,
                None => {
                    let field = schema.field(c);
                    ColumnProfile::new(field.name(), field.data_type(), options)?
                }
            };
            for part in parts {
                whole.merge(&part)?;
            }
            Ok(whole)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TableProfile {
        rows: batches.iter().map(|b| b.num_rows() as u64).sum(),
        columns,
    })
}

/// Slices of batches grouped into tasks of at most `chunk` rows: (batch, offset, len).
fn chunk_groups(batches: &[RecordBatch], chunk: usize) -> Vec<Vec<(usize, usize, usize)>> {
    let mut groups = Vec::new();
    let mut current = Vec::new();
    let mut rows = 0;
    for (b, batch) in batches.iter().enumerate() {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (chunk - rows).min(batch.num_rows() - offset);
            current.push((b, offset, take));
            rows += take;
            offset += take;
            if rows == chunk {
                groups.push(std::mem::take(&mut current));
                rows = 0;
            }
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array, StringArray};

    fn batch(offset: i64, n: i64) -> RecordBatch {
        let ids: Int64Array = (offset..offset + n).map(Some).collect();
        let xs: Float64Array = (offset..offset + n)
            .map(|i| (i % 7 != 0).then_some(i as f64 / 4.0))
            .collect();
        let names: StringArray = (offset..offset + n)
            .map(|i| Some(format!("n{}", i % 13)))
            .collect();
        RecordBatch::try_from_iter(vec![
            ("id", Arc::new(ids) as ArrayRef),
            ("x", Arc::new(xs) as ArrayRef),
            ("name", Arc::new(names) as ArrayRef),
        ])
        .unwrap()
    }

    #[test]
    fn chunking_does_not_change_exact_metrics() {
        let batches = vec![batch(0, 1000), batch(1000, 2500), batch(3500, 10)];
        let one = profile_batches(&batches, &ProfileOptions::default()).unwrap();
        let small = ProfileOptions {
            chunk_rows: 333,
            ..ProfileOptions::default()
        };
        let many = profile_batches(&batches, &small).unwrap();
        assert_eq!(one.rows(), 3510);
        for (a, b) in one.columns().iter().zip(many.columns()) {
            let (a, b) = (a.summary(), b.summary());
            assert_eq!(
                (a.rows, a.nulls, &a.min, &a.max, &a.sum),
                (b.rows, b.nulls, &b.min, &b.max, &b.sum)
            );
            assert_eq!(a.distinct, b.distinct);
            assert_eq!(a.top, b.top);
        }
        assert_eq!(one.column("x").unwrap().nulls(), 502);
    }

    #[test]
    fn mismatched_schemas_are_refused() {
        let other = RecordBatch::try_from_iter(vec![(
            "id",
            Arc::new(StringArray::from(vec!["a"])) as ArrayRef,
        )])
        .unwrap();
        assert!(profile_batches(&[batch(0, 3), other], &ProfileOptions::default()).is_err());
        assert_eq!(
            profile_batches(&[], &ProfileOptions::default())
                .unwrap()
                .rows(),
            0
        );
    }

    #[test]
    fn state_round_trips_through_json_and_merges() {
        let a = profile_batches(&[batch(0, 100)], &ProfileOptions::default()).unwrap();
        let text = serde_json::to_string(&a).unwrap();
        let mut back: TableProfile = serde_json::from_str(&text).unwrap();
        back.merge(&profile_batches(&[batch(100, 100)], &ProfileOptions::default()).unwrap())
            .unwrap();
        let whole = profile_batches(&[batch(0, 200)], &ProfileOptions::default()).unwrap();
        assert_eq!(back.summary()[0].sum, whole.summary()[0].sum);
        assert_eq!(back.summary()[2].distinct, whole.summary()[2].distinct);
    }
}
