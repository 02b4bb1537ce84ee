//! Merge (upsert) without a query engine: the source's keys in a hash map, the target streamed
//! file by file through the rewrite (src/table/rewrite.rs), and only files that may hold one
//! of the source's keys (by partition values, Delta statistics, row-group statistics, bloom
//! filters and the page index, through a filter on the keys) are read at all. Memory is the
//! source as the caller holds it (not copied), its keys, and a batch and an encoded row group
//! per file being rewritten.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::Schema;
use deltalake_core::protocol::{DeltaOperation, MergePredicate};

use super::change::ChangeReport;
use super::merge_source::{patch, SourceKeys, SourceRows};
use super::rewrite::{Changed, Rewriting, Rewritten, Touches};
use super::{write, Table};
use crate::error::{Error, Result};

/// What a merge does with a target row whose key the source has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenMatched {
    /// Set the row's columns to the source row's (all the source has, or those named).
    #[default]
    Update,
    /// Delete the row.
    Delete,
    /// Leave it.
    Ignore,
}

/// What a merge does with a source row whose key the target lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenNotMatched {
    /// Insert it.
    #[default]
    Insert,
    /// Leave it out.
    Ignore,
}

/// How a merge matches and what it does; the default is an upsert.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// Key columns, in the source and the table; rows match when all are equal (a null key
    /// matches nothing).
    pub on: Vec<String>,
    /// For matched target rows.
    pub when_matched: WhenMatched,
    /// The columns an update sets (`None`: every column the source has).
    pub update_columns: Option<Vec<String>>,
    /// For source rows the target lacks.
    pub when_not_matched: WhenNotMatched,
    /// Delete target rows whose key the source lacks (every target file is then read).
    pub delete_not_matched_by_source: bool,
}

impl Table {
    /// Merges `source` into the table as one new version (an upsert by default): target rows
    /// whose key (`options.on`) the source has are updated (or deleted, or left), source rows
    /// whose key the target lacks are inserted (or left out), and with
    /// `delete_not_matched_by_source` target rows the source lacks are deleted. Only target
    /// files that may hold a source key are read, one at a time; a source with two rows of one
    /// key is an error naming it, before anything is written.
    pub fn merge(&self, source: &[RecordBatch], options: &MergeOptions) -> Result<ChangeReport> {
        self.merge_with_metrics(source, options, BTreeMap::new())
    }

    /// [`Table::merge`], with `metrics` added to the commit's `operationMetrics` (an
    /// expectation's counts per rule, say).
    pub fn merge_with_metrics(
        &self,
        source: &[RecordBatch],
        options: &MergeOptions,
        metrics: BTreeMap<String, serde_json::Value>,
    ) -> Result<ChangeReport> {
        let extra = metrics;
        self.observed("MERGE", || {
            if options.on.is_empty() {
                return Err(Error::invalid("a merge needs key columns (--on)"));
            }
            let target = self.target()?;
            let Some(first) = source.first() else {
                return Ok(ChangeReport::default());
            };
            let source_schema = first.schema();
            let source_columns: Vec<&str> = source_schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            target.check_columns(source_columns.iter().copied(), "the source")?;
            target.check_columns(options.on.iter().map(String::as_str), "--on")?;
            for key in &options.on {
                if !source_columns.contains(&key.as_str()) {
                    return Err(Error::invalid(format!(
                        "the source has no key column {key:?}; nothing was written"
                    )));
                }
            }
            let updated: Vec<String> = match &options.update_columns {
                Some(columns) => {
                    target.check_columns(columns.iter().map(String::as_str), "the update")?;
                    if let Some(missing) = columns
                        .iter()
                        .find(|c| !source_columns.contains(&c.as_str()))
                    {
                        return Err(Error::invalid(format!(
                            "the update sets {missing:?}, which the source does not have"
                        )));
                    }
                    columns.clone()
                }
                None => source_columns.iter().map(|c| c.to_string()).collect(),
            };
            // The source as the table's types and column order; columns it lacks are null (an
            // insert then needs them nullable: conform says which are not).
            // An insert writes whole rows, so columns the source lacks must be nullable; without
            // inserts they are never written, and stand in as nulls whatever the table says.
            let shape = if options.when_not_matched == WhenNotMatched::Insert {
                target.stored.clone()
            } else {
                Arc::new(Schema::new(
                    target
                        .stored
                        .fields()
                        .iter()
                        .map(|f| {
                            let lacking = !source_columns.contains(&f.name().as_str());
                            Arc::new(f.as_ref().clone().with_nullable(f.is_nullable() || lacking))
                        })
                        .collect::<Vec<_>>(),
                ))
            };
            // The source stays in the batches it came in (sharing their buffers, when no column
            // needed a cast): only its key columns are gathered into one array each.
            let source = SourceRows::new(write::conform_filling(source, &shape, true)?);
            let key_columns = options
                .on
                .iter()
                .map(|k| source.gathered(k))
                .collect::<Result<Vec<_>>>()?;
            let keys = SourceKeys::new(&key_columns, &options.on)?;

            // Which target files may hold a source key.
            let prune = if options.delete_not_matched_by_source {
                None
            } else {
                keys.filter(&key_columns)?
            };
            drop(key_columns);
            // Files are rewritten on several threads: which source rows matched is shared.
            let matched_source: Vec<AtomicBool> =
                (0..source.rows).map(|_| AtomicBool::new(false)).collect();
            let update_at: Vec<usize> = updated
                .iter()
                .filter(|c| !options.on.contains(c))
                .filter_map(|c| target.stored.index_of(c).ok())
                .collect();
            let change = |batch: &RecordBatch| -> Result<(RecordBatch, Changed)> {
                // Matches are few per batch: the rows to update (row, source row) and, for
                // deletes, the rows to drop, as lists rather than masks over every row.
                let mut hits: Vec<(usize, u32)> = Vec::new();
                let mut dropped: Vec<usize> = Vec::new();
                keys.lookup(batch, |row, hit| match hit {
                    Some(at) => {
                        matched_source[at as usize].store(true, Ordering::Relaxed);
                        match options.when_matched {
                            WhenMatched::Update => hits.push((row, at)),
                            WhenMatched::Delete => dropped.push(row),
                            WhenMatched::Ignore => {}
                        }
                    }
                    None if options.delete_not_matched_by_source => dropped.push(row),
                    None => {}
                })?;
                let (updated, deleted) = (hits.len() as u64, dropped.len() as u64);
                let mut out = batch.clone();
                if updated > 0 && !update_at.is_empty() {
                    let hits: Vec<(usize, usize, usize)> = hits
                        .iter()
                        .map(|&(row, at)| {
                            let (b, i) = source.locate(at);
                            (row, b, i)
                        })
                        .collect();
                    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
                    for &at in &update_at {
                        let name = target.stored.field(at).name();
                        let position = batch.schema().index_of(name).map_err(|_| {
                            Error::internal(format!("the scan lost column {name:?}"))
                        })?;
                        columns[position] = patch(batch.column(position), &source, at, &hits)?;
                    }
                    out = RecordBatch::try_new(batch.schema(), columns)
                        .map_err(|e| Error::internal(format!("cannot merge rows: {e}")))?;
                }
                if deleted > 0 {
                    let mut keep = vec![true; batch.num_rows()];
                    for row in dropped {
                        keep[row] = false;
                    }
                    out = filter_record_batch(&out, &BooleanArray::from(keep))
                        .map_err(|e| Error::internal(format!("cannot drop rows: {e}")))?;
                }
                // Matched rows an update of no column leaves as they are: not updated.
                let updated = if update_at.is_empty() { 0 } else { updated };
                Ok((out, Changed { updated, deleted }))
            };
            let drops_rows =
                options.when_matched == WhenMatched::Delete || options.delete_not_matched_by_source;
            let Rewritten {
                mut report,
                removes,
                mut adds,
            } = self.rewrite(
                &target,
                &Rewriting {
                    filter: prune.as_ref(),
                    drop_whole: false,
                    keeps_partitions: !update_at
                        .iter()
                        .any(|&at| target.partition_by.contains(target.stored.field(at).name())),
                    // An update patches columns in place and leaves a column whose matched values
                    // were already the source's as it was: a probe finds what changed.
                    touches: if drops_rows {
                        Touches::Rows
                    } else {
                        Touches::Columns {
                            names: update_at
                                .iter()
                                .map(|&at| target.stored.field(at).name().clone())
                                .collect(),
                            probe: true,
                        }
                    },
                },
                &change,
            )?;
            if options.when_not_matched == WhenNotMatched::Insert {
                let inserts: Vec<u32> = (0..source.rows as u32)
                    .filter(|i| !matched_source[*i as usize].load(Ordering::Relaxed))
                    .collect();
                if !inserts.is_empty() {
                    let rows = source.take(&inserts)?;
                    report.rows_inserted = rows.num_rows() as u64;
                    let written = self.write_rows(&target, &[rows])?;
                    report.bytes_added += written.bytes;
                    adds.extend(written.adds);
                }
            }
            let metrics = BTreeMap::from([
                ("numSourceRows", source.rows as u64),
                ("numTargetRowsUpdated", report.rows_updated),
                ("numTargetRowsDeleted", report.rows_deleted),
                ("numTargetRowsInserted", report.rows_inserted),
                ("numTargetRowsCopied", report.rows_copied),
            ]);
            let on = options
                .on
                .iter()
                .map(|k| format!("target.{k} = source.{k}"))
                .collect::<Vec<_>>()
                .join(" AND ");
            let action = |what: &str| MergePredicate {
                action_type: what.to_string(),
                predicate: None,
            };
            let operation = DeltaOperation::Merge {
                predicate: None,
                merge_predicate: Some(on),
                matched_predicates: match options.when_matched {
                    WhenMatched::Update => vec![action("update")],
                    WhenMatched::Delete => vec![action("delete")],
                    WhenMatched::Ignore => vec![],
                },
                not_matched_predicates: match options.when_not_matched {
                    WhenNotMatched::Insert => vec![action("insert")],
                    WhenNotMatched::Ignore => vec![],
                },
                not_matched_by_source_predicates: if options.delete_not_matched_by_source {
                    vec![action("delete")]
                } else {
                    vec![]
                },
            };
            self.commit_change_with(
                &target,
                operation,
                metrics,
                extra,
                Rewritten {
                    report,
                    removes,
                    adds,
                },
            )
        })
    }
}
