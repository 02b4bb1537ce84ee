//! Writes that add data: create, append (with mergeSchema), overwrite and replaceWhere, and
//! the one commit path every write and change goes through (with its checkpoint check).

use std::future::IntoFuture;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake_core::kernel::transaction::CommitBuilder;
use deltalake_core::kernel::{Action, MetadataExt, StructType};
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaTable, TableProperty};

use super::options::Settings;
use super::{
    arrow_schema, change, delta, engine_info, maintain, replace, write, AsOf, Commit, FileList,
    Table, TableOptions, CHECKPOINT_INTERVAL,
};
use crate::error::{Error, ErrorKind, Result};

impl Table {
    /// Creates the table with `schema` (partitioned and described as `options` say) and
    /// `batches` as its first data, as version 0. An existing table is an `AlreadyExists`
    /// error and is left alone.
    pub fn create(
        &self,
        schema: &SchemaRef,
        batches: &[RecordBatch],
        options: &TableOptions,
    ) -> Result<Commit> {
        self.observed("CREATE TABLE", || {
            write::check_partition_columns(schema, &options.partition_by)?;
            if self.exists()? {
                return Err(
                    Error::new(ErrorKind::AlreadyExists, "the table already exists")
                        .with("table", &self.name),
                );
            }
            let kernel: StructType = schema
                .as_ref()
                .try_into_kernel()
                .map_err(|e| Error::invalid(format!("a column type Delta cannot store: {e}")))?;
            // The Arrow types Delta stores (microsecond timestamps, ...): the data is cast to them.
            let stored: Schema = arrow_schema(&kernel)?;
            let stored = Arc::new(stored);
            let batches = write::conform(batches, &stored)?;
            let configuration = options.properties()?;
            let settings = Settings::of(
                &configuration
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
                    .collect(),
            )?;
            let write = settings.write_options(&self.write, self.keys.as_ref())?;
            self.home.prepare()?;
            let written = self.home.write_files(
                &self.runtime,
                &stored,
                &batches,
                &options.partition_by,
                &write,
                &|stage, done, total| self.report(stage, done, total),
            )?;
            let files_added = written.adds.len();
            let table = delta::unloaded(&self.home, &self.url, &self.name)?;
            let mut builder = table
                .create()
                .with_table_name(self.name.clone())
                .with_columns(kernel.fields().cloned())
                .with_partition_columns(options.partition_by.clone())
                .with_configuration_property(
                    TableProperty::CheckpointInterval,
                    Some(CHECKPOINT_INTERVAL.to_string()),
                )
                .with_configuration(configuration)
                .with_raise_if_key_not_exists(false)
                .with_actions(written.adds.into_iter().map(Action::Add));
            if let Some(description) = &options.description {
                builder = builder.with_comment(description.clone());
            }
            self.report("commit", 0, 1);
            let created = self
                .block_on(builder.into_future())?
                .map_err(|e| self.error(e))?;
            self.report("commit", 1, 1);
            if let Ok(snapshot) = created.snapshot() {
                self.committed(snapshot, &created.log_store(), "CREATE TABLE", Vec::new());
            }
            self.checkpoint_if_due(created.version().unwrap_or(0), Some(CHECKPOINT_INTERVAL))?;
            Ok(Commit {
                version: created.version().unwrap_or(0),
                files_added,
                files_removed: 0,
                rows: written.rows,
                bytes: written.bytes,
            })
        })
    }

    /// Appends `batches` as a new version. Two writers appending at once both commit (each
    /// retries on the other's version number). Columns must match the table's.
    pub fn append(&self, batches: &[RecordBatch]) -> Result<Commit> {
        self.observed("WRITE", || {
            self.commit_write(batches, SaveMode::Append, false, Default::default())
        })
    }

    /// [`Table::append`], with `metrics` added to the commit's `operationMetrics` (an
    /// expectation's counts per rule, say).
    pub fn append_with_metrics(
        &self,
        batches: &[RecordBatch],
        metrics: std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Result<Commit> {
        self.observed("WRITE", || {
            self.commit_write(batches, SaveMode::Append, false, metrics)
        })
    }

    /// Appends `batches`, evolving the schema when they bring new columns (Delta's
    /// mergeSchema): each new column is added as nullable (older rows read it as null), and
    /// nullable table columns the batches lack are written as nulls. A column whose type
    /// differs from the table's, or a missing non-nullable column, is still an error.
    pub fn append_merging_schema(&self, batches: &[RecordBatch]) -> Result<Commit> {
        self.observed("WRITE", || {
            self.commit_write(batches, SaveMode::Append, true, Default::default())
        })
    }

    /// Replaces the table's rows with `batches` as a new version (older versions stay
    /// readable by time travel until vacuum). A concurrent overwrite is reported as a
    /// conflict (`Busy`), never merged.
    pub fn overwrite(&self, batches: &[RecordBatch]) -> Result<Commit> {
        self.observed("WRITE", || {
            self.commit_write(batches, SaveMode::Overwrite, false, Default::default())
        })
    }

    pub(super) fn commit_write(
        &self,
        batches: &[RecordBatch],
        mode: SaveMode,
        merge_schema: bool,
        metrics: std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Result<Commit> {
        let table = self.block_on(self.load(AsOf::Latest))??;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if rows == 0 && mode == SaveMode::Append {
            // Nothing to add: no new version (an empty commit would only lengthen the log).
            return Ok(Commit {
                version: table.version().unwrap_or(0),
                files_added: 0,
                files_removed: 0,
                rows: 0,
                bytes: 0,
            });
        }
        let snapshot = table.snapshot().map_err(|e| self.error(e))?;
        let metadata = snapshot.metadata();
        let partition_by: Vec<String> = metadata.partition_columns().to_vec();
        let stored: Schema = arrow_schema(snapshot.schema().as_ref())?;
        let mut stored = Arc::new(stored);
        let mut actions: Vec<Action> = Vec::new();
        if merge_schema {
            if let Some(merged) = write::merged_schema(&stored, batches)? {
                let kernel: StructType = merged.as_ref().try_into_kernel().map_err(|e| {
                    Error::invalid(format!("a new column's type Delta cannot store: {e}"))
                })?;
                let metadata = snapshot
                    .metadata()
                    .clone()
                    .with_schema(&kernel)
                    .map_err(|e| {
                        Error::invalid(format!("cannot merge the new columns: {e}"))
                            .with("table", &self.name)
                    })?;
                actions.push(Action::Metadata(metadata));
                stored = Arc::new(arrow_schema(&kernel)?);
            }
        }
        let batches = write::conform_filling(batches, &stored, merge_schema)?;
        let write = self
            .settings(&table)?
            .write_options(&self.write, self.keys.as_ref())?;
        let written = self.home.write_files(
            &self.runtime,
            &stored,
            &batches,
            &partition_by,
            &write,
            &|stage, done, total| self.report(stage, done, total),
        )?;
        let mut files_removed = 0;
        if mode == SaveMode::Overwrite {
            let (_, removes) = self.file_list(&table)?;
            files_removed = removes.len();
            actions.extend(removes.into_iter().map(Action::Remove));
        }
        let files_added = written.adds.len();
        actions.extend(written.adds.into_iter().map(Action::Add));
        let operation = DeltaOperation::Write {
            mode,
            partition_by: (!partition_by.is_empty()).then(|| partition_by.clone()),
            predicate: None,
        };
        let counts = Commit {
            version: 0,
            files_added,
            files_removed,
            rows: written.rows,
            bytes: written.bytes,
        };
        if mode == SaveMode::Append && !merge_schema {
            // A blind append conflicts with nothing: it retries on the next version number,
            // and commits again on top of a delete, update or overwrite that landed first
            // (deltalake's checker, without a query engine, calls that a conflict).
            let adds: Vec<deltalake_core::kernel::Add> = actions
                .into_iter()
                .filter_map(|a| match a {
                    Action::Add(add) => Some(add),
                    _ => None,
                })
                .collect();
            let (version, _) = self.commit_on_top(
                &table,
                &[],
                &adds,
                operation,
                metrics,
                change::Landed::OnTop { retries: 15 },
            )?;
            return Ok(Commit { version, ..counts });
        }
        // An overwrite (or a schema change) that lost a race is reported.
        let retries = if mode == SaveMode::Append { 15 } else { 0 };
        self.commit_with_metrics(&table, actions, operation, retries, counts, metrics)
    }

    /// Commits `actions` on top of `table`'s loaded version (retrying `retries` times on a
    /// version another writer took first), then writes a checkpoint when one is due; returns
    /// `counts` with the version made.
    pub(super) fn commit(
        &self,
        table: &DeltaTable,
        actions: Vec<Action>,
        operation: DeltaOperation,
        retries: usize,
        counts: Commit,
    ) -> Result<Commit> {
        self.commit_with_metrics(
            table,
            actions,
            operation,
            retries,
            counts,
            Default::default(),
        )
    }

    /// [`Table::commit`] with the operation's `metrics` (`operationMetrics` in the commit).
    pub(super) fn commit_with_metrics(
        &self,
        table: &DeltaTable,
        actions: Vec<Action>,
        operation: DeltaOperation,
        retries: usize,
        counts: Commit,
        metrics: std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Result<Commit> {
        let snapshot = table.snapshot().map_err(|e| self.error(e))?;
        self.report("commit", 0, 1);
        let operation_name = operation.name().to_string();
        let columns = column_lineage(&operation, snapshot);
        let mut app = engine_info();
        if !metrics.is_empty() {
            app.insert(
                "operationMetrics".to_string(),
                serde_json::Value::Object(metrics.into_iter().collect()),
            );
        }
        let commit = CommitBuilder::default()
            .with_actions(actions)
            .with_app_metadata(app)
            .with_max_retries(retries)
            .build(Some(snapshot), table.log_store(), operation);
        let done = self
            .block_on(commit.into_future())?
            .map_err(|e| self.error(e))?;
        self.report("commit", 1, 1);
        self.committed(&done.snapshot, &table.log_store(), &operation_name, columns);
        let interval = snapshot
            .metadata()
            .configuration()
            .get("delta.checkpointInterval")
            .map_or(Some(CHECKPOINT_INTERVAL), |v| v.parse::<u64>().ok());
        self.checkpoint_if_due(done.version(), interval)?;
        Ok(Commit {
            version: done.version(),
            ..counts
        })
    }

    /// Writes a checkpoint when `version` completes the table's checkpoint interval
    /// (`delta.checkpointInterval`, 10 for tables strata creates). A checkpoint that fails is
    /// logged, not returned: the commit stands and readers replay the log instead. `interval` is
    /// the table's, when the caller knows it (`None`: read it from the log at `version`).
    pub(super) fn checkpoint_if_due(&self, version: u64, interval: Option<u64>) -> Result<()> {
        // With the interval known (the table's before this commit), most commits need no
        // further read of the log.
        if interval.is_some_and(|every| every == 0 || !(version + 1).is_multiple_of(every)) {
            return Ok(());
        }
        self.block_on(async {
            let Ok(table) = delta::load(&self.home, &self.url, &self.name, Some(version)).await
            else {
                return;
            };
            let interval = table
                .snapshot()
                .ok()
                .and_then(|s| {
                    s.metadata()
                        .configuration()
                        .get("delta.checkpointInterval")
                        .and_then(|v| v.parse::<u64>().ok())
                })
                .unwrap_or(CHECKPOINT_INTERVAL);
            maintain::checkpoint_if_due(&table, version, interval).await;
        })
    }

    /// Replaces the rows matching `predicate` (strata's filter syntax, e.g. `"day = '2026-12-01'"`)
    /// with `batches`, every row of which must match it (Delta's replaceWhere), as one new
    /// version. Files without a matching row stay as they are; a file with some matching rows
    /// is rewritten without them. A concurrent commit is reported as a conflict (`Busy`).
    pub fn overwrite_where(&self, predicate: &str, batches: &[RecordBatch]) -> Result<Commit> {
        self.observed("WRITE", || {
            let expr = crate::read::Expr::parse(predicate)?;
            let table = self.block_on(self.load(AsOf::Latest))??;
            let settings = self.settings(&table)?;
            let snapshot = table.snapshot().map_err(|e| self.error(e))?;
            let partition_by: Vec<String> = snapshot.metadata().partition_columns().to_vec();
            let stored: Schema = arrow_schema(snapshot.schema().as_ref())?;
            let stored = Arc::new(stored);
            let new_rows = write::conform(batches, &stored)?;
            replace::check_all_match(&expr, predicate, &new_rows)?;
            let (list, removes) = self.file_list(&table)?;
            let mut actions: Vec<Action> = Vec::new();
            let mut rewritten: Vec<RecordBatch> = Vec::new();
            let mut files_removed = 0;
            for ((file, values), remove) in list.files.iter().zip(removes) {
                let one = FileList {
                    files: vec![(file.clone(), values.clone())],
                    partitions: list.partitions.clone(),
                    schema: list.schema.clone(),
                    stats: None,
                };
                match replace::classify(&expr, self.scan_files(&table, one)?)? {
                    replace::Matches::None => continue,
                    replace::Matches::All => {}
                    replace::Matches::Some(kept) => {
                        rewritten.extend(write::conform(&kept, &stored)?)
                    }
                }
                actions.push(Action::Remove(remove));
                files_removed += 1;
            }
            let mut all = rewritten;
            all.extend(new_rows);
            let write = settings.write_options(&self.write, self.keys.as_ref())?;
            let written = self.home.write_files(
                &self.runtime,
                &stored,
                &all,
                &partition_by,
                &write,
                &|stage, done, total| self.report(stage, done, total),
            )?;
            let files_added = written.adds.len();
            actions.extend(written.adds.into_iter().map(Action::Add));
            let operation = DeltaOperation::Write {
                mode: SaveMode::Overwrite,
                partition_by: (!partition_by.is_empty()).then(|| partition_by.clone()),
                predicate: Some(predicate.to_string()),
            };
            let counts = Commit {
                version: 0,
                files_added,
                files_removed,
                rows: written.rows,
                bytes: written.bytes,
            };
            self.commit(&table, actions, operation, 0, counts)
        })
    }
}

/// Where a commit's columns came from, when its operation says: a merge sets the table's
/// columns from the source's of the same name (source 0).
fn column_lineage(
    operation: &DeltaOperation,
    snapshot: &deltalake_core::table::state::DeltaTableState,
) -> Vec<super::ColumnSource> {
    match operation {
        DeltaOperation::Merge { .. } => snapshot
            .schema()
            .fields()
            .map(|f| super::ColumnSource {
                column: f.name().to_string(),
                from: vec![(0, f.name().to_string())],
                transformation: "merge".to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}
