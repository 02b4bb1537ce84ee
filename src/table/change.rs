//! Row-level changes without a query engine: delete and update (merge is in merge.rs).
//!
//! Copy-on-write, file by file: a file is read only when its partition values and statistics
//! say it may hold a matching row (a filtered count first, which the Delta statistics, the
//! footer's row-group statistics and the page index keep cheap), and only a file with a
//! matching row is rewritten: its other rows are copied into a new file with the table's
//! codec policy, and one commit removes the old files and adds the new ones. Memory is one
//! file's rows at a time, never the table's. A change that matches nothing commits nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, BooleanArray, RecordBatch, Scalar};
use arrow::compute::{can_cast_types, cast_with_options, CastOptions};
use arrow::datatypes::{Schema, SchemaRef};
use deltalake_core::kernel::{Action, Remove};
use deltalake_core::protocol::DeltaOperation;
use deltalake_core::DeltaTable;
use serde::Serialize;
use serde_json::Value;

use super::rewrite::{Changed, Rewriting, Rewritten, Touches};
use super::{arrow_schema, replace, write, AsOf, Commit, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::format::WriteOptions;
use crate::read::{evaluate_filter, literal_array, Assignment, Expr, FileList, SetValue};

/// What a delete, update or merge did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ChangeReport {
    /// The version committed; `None` when nothing matched and nothing was committed.
    pub version: Option<u64>,
    /// Rows deleted.
    pub rows_deleted: u64,
    /// Rows updated.
    pub rows_updated: u64,
    /// Rows inserted (merge).
    pub rows_inserted: u64,
    /// Rows of rewritten files that the change left as they were (written again).
    pub rows_copied: u64,
    /// Files read because they may hold a matching row.
    pub files_scanned: u64,
    /// Files ruled out by their partition values and statistics, never read.
    pub files_skipped: u64,
    /// Files the commit removed.
    pub files_removed: u64,
    /// Files the commit added.
    pub files_added: u64,
    /// Bytes of the added files.
    pub bytes_added: u64,
}

/// The latest version of a table, ready to be changed.
pub(super) struct Target {
    pub(super) table: DeltaTable,
    /// The table's schema, as Arrow types Delta stores.
    pub(super) stored: SchemaRef,
    pub(super) partition_by: Vec<String>,
    /// The table's write options (codec, file size, encryption).
    pub(super) write: WriteOptions,
    /// Its data files, and the remove action of each.
    pub(super) files: FileList,
    pub(super) removes: Vec<Remove>,
}

impl Target {
    /// Checks that `columns` are the table's; `what` names their use in the error.
    pub(super) fn check_columns<'a>(
        &self,
        columns: impl IntoIterator<Item = &'a str>,
        what: &str,
    ) -> Result<()> {
        let unknown: Vec<&str> = columns
            .into_iter()
            .filter(|c| self.stored.field_with_name(c).is_err())
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "{what} names columns the table does not have: {}; nothing was written",
            unknown.join(", ")
        )))
    }

    /// Rows in file `i`, when its statistics say.
    pub(super) fn rows(&self, i: usize) -> Option<u64> {
        self.files
            .stats
            .as_ref()
            .and_then(|s| s.rows.get(i).copied())
            .filter(|n| *n > 0)
    }
}

/// What a commit does about commits that landed after the version it read.
#[derive(Debug, Clone, Copy)]
pub(super) enum Landed {
    /// Reports them: a `Busy` error, nothing committed.
    Report,
    /// Commits again on top while they only appended, each commit retrying `retries` times
    /// on a version number another writer took.
    OnTop { retries: usize },
}

impl Table {
    /// Deletes the rows matching `predicate` (strata's filter syntax) as one new version.
    /// Only files that may hold a matching row are read; a file whose rows all match is
    /// removed, one with some is rewritten without them. Nothing matched: no new version.
    /// A concurrent commit makes it a `Busy` error, with nothing written.
    pub fn delete(&self, predicate: &str) -> Result<ChangeReport> {
        self.observed("DELETE", || {
            let expr = Expr::parse(predicate)?;
            let target = self.target()?;
            target.check_columns(expr.columns(), "the predicate")?;
            let keep = |batch: &RecordBatch| {
                let kept = replace::keep_unmatched(&expr, batch)?;
                let deleted = (batch.num_rows() - kept.num_rows()) as u64;
                Ok((
                    kept,
                    Changed {
                        updated: 0,
                        deleted,
                    },
                ))
            };
            let how = Rewriting {
                filter: Some(&expr),
                drop_whole: true,
                keeps_partitions: true,
                touches: Touches::Rows,
            };
            let done = self.rewrite(&target, &how, &keep)?;
            let report = &done.report;
            let metrics = BTreeMap::from([
                ("numDeletedRows", report.rows_deleted),
                ("numCopiedRows", report.rows_copied),
            ]);
            let operation = DeltaOperation::Delete {
                predicate: Some(predicate.to_string()),
            };
            self.commit_change(&target, operation, metrics, done)
        })
    }

    /// Sets columns of the rows matching `predicate` (every row when `None`) as one new version:
    /// `set` is a list like `"fare = 0, zone = 'JFK', note = NULL, total = fare"` (a literal,
    /// NULL, or another column's value before the update). Only files with a matching row are
    /// rewritten. An unknown column, or a value that does not fit the column's type, is an
    /// error before anything is written.
    pub fn update(&self, predicate: Option<&str>, set: &str) -> Result<ChangeReport> {
        self.observed("UPDATE", || {
            let assignments = Assignment::parse_list(set)?;
            let expr = predicate.map(Expr::parse).transpose()?;
            let target = self.target()?;
            if let Some(expr) = &expr {
                target.check_columns(expr.columns(), "the predicate")?;
            }
            let values = assigned_values(&target.stored, &assignments)?;
            let apply = |batch: &RecordBatch| {
                let matched = match &expr {
                    Some(expr) => true_only(&evaluate_filter(expr, batch)?),
                    None => BooleanArray::from(vec![true; batch.num_rows()]),
                };
                let hits = matched.true_count() as u64;
                if hits == 0 {
                    return Ok((batch.clone(), Changed::default()));
                }
                let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
                for (column, value) in &values {
                    let at = batch
                        .schema()
                        .index_of(column)
                        .map_err(|_| Error::internal(format!("the scan lost column {column:?}")))?;
                    let old = batch.column(at);
                    let new = value.array(batch, old.data_type())?;
                    let zipped = match &new {
                        Datumish::Scalar(one) => arrow::compute::kernels::zip::zip(
                            &matched,
                            &Scalar::new(one.clone()),
                            old,
                        ),
                        Datumish::Array(array) => {
                            arrow::compute::kernels::zip::zip(&matched, array, old)
                        }
                    };
                    columns[at] = zipped
                        .map_err(|e| Error::internal(format!("cannot set {column:?}: {e}")))?;
                }
                let out = RecordBatch::try_new(batch.schema(), columns).map_err(|e| {
                    Error::invalid(format!("the updated rows do not fit the table: {e}"))
                })?;
                Ok((
                    out,
                    Changed {
                        updated: hits,
                        deleted: 0,
                    },
                ))
            };
            let how = Rewriting {
                filter: expr.as_ref(),
                drop_whole: false,
                keeps_partitions: !values
                    .iter()
                    .any(|(column, _)| target.partition_by.contains(column)),
                touches: Touches::Columns {
                    names: values.iter().map(|(column, _)| column.clone()).collect(),
                    probe: false,
                },
            };
            let done = self.rewrite(&target, &how, &apply)?;
            let metrics = BTreeMap::from([
                ("numUpdatedRows", done.report.rows_updated),
                ("numCopiedRows", done.report.rows_copied),
            ]);
            let operation = DeltaOperation::Update {
                predicate: predicate.map(str::to_string),
            };
            self.commit_change(&target, operation, metrics, done)
        })
    }

    /// The latest version, ready to change.
    pub(super) fn target(&self) -> Result<Target> {
        let table = self.block_on(self.load(AsOf::Latest))??;
        let snapshot = table.snapshot().map_err(|e| self.error(e))?;
        let partition_by: Vec<String> = snapshot.metadata().partition_columns().to_vec();
        let stored: Schema = arrow_schema(snapshot.schema().as_ref())?;
        let write = self
            .settings(&table)?
            .write_options(&self.write, self.keys.as_ref())?;
        let (files, removes) = self.file_list(&table)?;
        Ok(Target {
            table,
            stored: Arc::new(stored),
            partition_by,
            write,
            files,
            removes,
        })
    }

    /// Writes `rows` (of the table's schema) as new data files of `target`.
    pub(super) fn write_rows(
        &self,
        target: &Target,
        rows: &[RecordBatch],
    ) -> Result<write::Written> {
        self.home.write_files(
            &self.runtime,
            &target.stored,
            rows,
            &target.partition_by,
            &target.write,
            &|stage, done, total| self.report(stage, done, total),
        )
    }

    /// Commits what a rewrite prepared, as `operation` with `metrics`; with no file changed,
    /// commits nothing and returns the report as it is.
    pub(super) fn commit_change(
        &self,
        target: &Target,
        operation: DeltaOperation,
        metrics: BTreeMap<&str, u64>,
        done: Rewritten,
    ) -> Result<ChangeReport> {
        self.commit_change_with(target, operation, metrics, BTreeMap::new(), done)
    }

    /// [`Table::commit_change`] with `extra` metrics from the caller (an expectation's
    /// counts) beside the operation's own.
    pub(super) fn commit_change_with(
        &self,
        target: &Target,
        operation: DeltaOperation,
        metrics: BTreeMap<&str, u64>,
        extra: BTreeMap<String, Value>,
        done: Rewritten,
    ) -> Result<ChangeReport> {
        let Rewritten {
            mut report,
            removes,
            adds,
        } = done;
        if removes.is_empty() && adds.is_empty() {
            return Ok(report);
        }
        report.files_removed = removes.len() as u64;
        report.files_added = adds.len() as u64;
        let mut all: BTreeMap<String, Value> = extra;
        all.extend(
            metrics
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::from(v))),
        );
        all.insert("numRemovedFiles".into(), Value::from(report.files_removed));
        all.insert("numAddedFiles".into(), Value::from(report.files_added));
        all.insert("numAddedBytes".into(), Value::from(report.bytes_added));
        // A merge's inserts could duplicate a key a concurrent append brought: it never
        // commits on top of another commit. A delete or update may, when the other commits
        // only appended (the rows it read are all still there, unchanged).
        let landed = match operation {
            DeltaOperation::Merge { .. } => Landed::Report,
            _ => Landed::OnTop { retries: 0 },
        };
        let (version, _) =
            self.commit_on_top(&target.table, &removes, &adds, operation, all, landed)?;
        report.version = Some(version);
        Ok(report)
    }

    /// Commits `removes` and `adds` as `operation` on top of `read` (the version the change
    /// read). When other commits landed first: with `on_top`, commits again on the latest
    /// version as long as every file it removes is still in the table (they only appended),
    /// up to 5 times (each commit retrying `retries` times on a version number another writer
    /// took, when nothing stands in its way); otherwise, or when one of those files is gone, a `Busy` error with
    /// nothing committed. Returns the version made and the attempts it took.
    pub(super) fn commit_on_top(
        &self,
        read: &DeltaTable,
        removes: &[Remove],
        adds: &[deltalake_core::kernel::Add],
        operation: DeltaOperation,
        metrics: BTreeMap<String, Value>,
        landed: Landed,
    ) -> Result<(u64, u32)> {
        let (on_top, retries) = match landed {
            Landed::Report => (false, 0),
            Landed::OnTop { retries } => (true, retries),
        };
        const ATTEMPTS: u32 = 5;
        let what = operation.name().to_lowercase();
        let mut latest: Option<DeltaTable> = None;
        for attempt in 1..=ATTEMPTS {
            if let Some(table) = &latest {
                let (_, present) = self.file_list(table)?;
                let present: std::collections::HashSet<&str> =
                    present.iter().map(|r| r.path.as_str()).collect();
                if let Some(gone) = removes.iter().find(|r| !present.contains(r.path.as_str())) {
                    return Err(Error::new(
                        ErrorKind::Busy,
                        format!(
                            "a concurrent commit removed {} while this {what} ran; nothing was \
                             committed, run it again",
                            gone.path
                        ),
                    )
                    .with("table", &self.name));
                }
            }
            let actions: Vec<Action> = removes
                .iter()
                .cloned()
                .map(Action::Remove)
                .chain(adds.iter().cloned().map(Action::Add))
                .collect();
            let counts = Commit {
                version: 0,
                files_added: adds.len(),
                files_removed: removes.len(),
                rows: 0,
                bytes: 0,
            };
            let base = latest.as_ref().unwrap_or(read);
            match self.commit_with_metrics(
                base,
                actions,
                operation.clone(),
                retries,
                counts,
                metrics.clone(),
            ) {
                Ok(done) => return Ok((done.version, attempt)),
                Err(e) if e.kind() == ErrorKind::Busy && on_top && attempt < ATTEMPTS => {
                    latest = Some(self.block_on(self.load(AsOf::Latest))??);
                }
                Err(e) if e.kind() == ErrorKind::Busy => {
                    return Err(Error::new(
                        ErrorKind::Busy,
                        format!(
                            "another commit landed while this {what} ran; nothing was \
                             committed, run it again"
                        ),
                    )
                    .with("table", &self.name)
                    .set_source(e))
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::new(
            ErrorKind::Busy,
            format!("other commits kept landing while this {what} ran; nothing was committed"),
        )
        .with("table", &self.name))
    }
}

/// `mask` with nulls as false.
pub(super) fn true_only(mask: &BooleanArray) -> BooleanArray {
    mask.iter().map(|v| Some(v == Some(true))).collect()
}

/// What one assignment puts in its column.
enum Assigned {
    /// One value, already of the column's type.
    Value(ArrayRef),
    /// Another column's values, cast to this column's type.
    Column(String),
}

impl Assigned {
    fn array(&self, batch: &RecordBatch, ty: &arrow::datatypes::DataType) -> Result<Datumish> {
        match self {
            Assigned::Value(one) => Ok(Datumish::Scalar(one.clone())),
            Assigned::Column(name) => {
                let column = batch
                    .column_by_name(name)
                    .ok_or_else(|| Error::internal(format!("the scan lost column {name:?}")))?;
                let cast = cast_with_options(column, ty, &STRICT).map_err(|e| {
                    Error::invalid(format!("a value of column {name:?} does not fit: {e}"))
                })?;
                Ok(Datumish::Array(cast))
            }
        }
    }
}

/// An array or a one-value scalar, for `zip`.
enum Datumish {
    Scalar(ArrayRef),
    Array(ArrayRef),
}

const STRICT: CastOptions<'static> = CastOptions {
    safe: false,
    format_options: arrow::util::display::FormatOptions::new(),
};

/// Each assignment's value checked against the table's column type, before any write.
fn assigned_values(
    stored: &SchemaRef,
    assignments: &[Assignment],
) -> Result<Vec<(String, Assigned)>> {
    let mut out = Vec::with_capacity(assignments.len());
    for a in assignments {
        let field = stored.field_with_name(&a.column).map_err(|_| {
            Error::invalid(format!(
                "--set names column {:?}, which the table does not have; nothing was written",
                a.column
            ))
        })?;
        let ty = field.data_type();
        let value = match &a.value {
            SetValue::Null if !field.is_nullable() => {
                return Err(Error::invalid(format!(
                    "column {:?} is not nullable and cannot be set to NULL",
                    a.column
                )))
            }
            SetValue::Null => Assigned::Value(new_null_array(ty, 1)),
            SetValue::Literal(lit) => {
                let one = cast_with_options(&literal_array(lit), ty, &STRICT).map_err(|e| {
                    Error::invalid(format!(
                        "{lit:?} does not fit column {:?} ({ty}): {e}; nothing was written",
                        a.column
                    ))
                })?;
                Assigned::Value(one)
            }
            SetValue::Column(source) => {
                let from = stored.field_with_name(source).map_err(|_| {
                    Error::invalid(format!(
                        "--set {} = {source}: the table has no column {source:?}",
                        a.column
                    ))
                })?;
                if !can_cast_types(from.data_type(), ty) {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "column {source:?} ({}) cannot be assigned to {:?} ({ty})",
                            from.data_type(),
                            a.column
                        ),
                    ));
                }
                Assigned::Column(source.clone())
            }
        };
        out.push((a.column.clone(), value));
    }
    Ok(out)
}
