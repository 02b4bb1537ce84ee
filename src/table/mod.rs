//! Delta Lake tables in the lake: `lake.table("silver/trips")`.
//!
//! A table is a directory of Parquet data files and a `_delta_log/` of JSON commits, the
//! layout Spark, Trino, DuckDB, polars and the Python `deltalake` package read as it is. It
//! lives at `<tier>/tables/<zone>/<name>/` on the lake's table tier (`[tables] tier`, default
//! the first local tier); the store never lists those files as objects. strata writes the data files
//! with its own Parquet writer (codec policy, page index, statistics) and fills in the Delta
//! file statistics from what the writer saw; the log (commits with optimistic concurrency,
//! time travel) is `deltalake-core`'s, without DataFusion.
//!
//! ```
//! # fn main() -> strata::Result<()> {
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch, StringArray};
//! use strata::table::TableOptions;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let lake = strata::Lake::open_dir(dir.path())?;
//! let trips = RecordBatch::try_from_iter([
//!     ("id", Arc::new(Int64Array::from(vec![1, 2])) as _),
//!     ("zone", Arc::new(StringArray::from(vec!["JFK", "LGA"])) as _),
//! ]).unwrap();
//!
//! let table = lake.table("bronze/trips")?;
//! table.create(&trips.schema(), &[trips.clone()], &TableOptions::default())?;   // version 0
//! table.append(&[trips])?;                                                       // version 1
//! assert_eq!(table.scan()?.count()?.0, 4);
//! assert_eq!(table.scan_as_of(strata::table::AsOf::Version(0))?.count()?.0, 2);
//! assert_eq!(table.history()?.len(), 2);
//! # Ok(()) }
//! ```

mod change;
mod delta;
mod expire;
mod history;
mod home;
mod hook;
mod maintain;
mod merge;
mod merge_source;
mod name;
mod optimize;
mod options;
mod replace;
mod rewrite;
mod stats;
mod write;
mod writes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arrow::datatypes::{Field, Schema};
use deltalake_core::kernel::engine::arrow_conversion::TryIntoArrow;
use deltalake_core::kernel::StructType;
use deltalake_core::DeltaTable;
use futures::TryStreamExt;
use serde::Serialize;
use url::Url;

use crate::crypto::KeyProvider;
use crate::error::{Error, ErrorKind, Result};
use crate::format::WriteOptions;
use crate::read::{FileList, Scan};
use crate::runtime::Runtime;

pub use change::ChangeReport;
pub use history::{parse_commit, HistoryEntry};
use home::Home;
pub(crate) use home::{TableStore, STAGING_PREFIX};
pub use hook::{ColumnSource, Committed, Source, TableGate, WriteEvent, WriteHook};
pub use maintain::{RestoreReport, VacuumReport, DEFAULT_RETENTION};
pub use merge::{MergeOptions, WhenMatched, WhenNotMatched};
pub use name::TableName;
pub use optimize::{OptimizeOptions, OptimizeReport, ZorderEffect, MAX_ZORDER_COLUMNS};
use options::Settings;
pub use options::TableOptions;
pub(crate) use options::CODEC as CODEC_PROPERTY;

/// Which version of a table to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// The latest version.
    Latest,
    /// Version `n`.
    Version(u64),
    /// The last version committed at or before this time.
    Time(SystemTime),
}

/// What a write committed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Commit {
    /// The version the commit made.
    pub version: u64,
    /// Data files added.
    pub files_added: usize,
    /// Data files removed (kept on disk until vacuum).
    pub files_removed: usize,
    /// Rows written.
    pub rows: u64,
    /// Bytes of the files written.
    pub bytes: u64,
}

/// What a table is at one version.
#[derive(Debug, Clone, Serialize)]
pub struct TableInfo {
    /// The table's name (or path, for a table outside the lake).
    pub name: String,
    /// Where it lives.
    pub location: String,
    /// The version described.
    pub version: u64,
    /// Columns and their types, as Arrow names them.
    pub columns: Vec<(String, String)>,
    /// Partition columns.
    pub partition_by: Vec<String>,
    /// Data files at this version.
    pub files: u64,
    /// Rows in them, when their statistics say.
    pub rows: Option<u64>,
    /// Bytes in them.
    pub bytes: u64,
    /// The description given at creation.
    pub description: Option<String>,
    /// The table's properties (`delta.*` and `strata.*`).
    pub properties: std::collections::BTreeMap<String, String>,
}

/// A Delta table: in the lake (`Lake::table`) or at any directory (`Table::at_dir`). Cheap to
/// clone; every call reads the log afresh, so two handles (or processes) see each other's
/// commits.
#[derive(Clone)]
pub struct Table {
    name: String,
    home: Home,
    url: Url,
    runtime: Arc<Runtime>,
    write: WriteOptions,
    /// Wraps the data keys of encrypted tables (the lake's key provider).
    keys: Option<Arc<dyn KeyProvider>>,
    /// Told how a long write goes.
    progress: Option<Arc<Progress>>,
    /// Told of each commit, with what the writes read.
    observers: hook::Observers,
}

/// How a long write goes: the stage (`write` counts rows, `upload` bytes sent to an object
/// store, `commit` the one commit), and how far it is (done of total). Called from the
/// writing thread; keep it cheap.
pub type Progress = dyn Fn(&str, u64, u64) + Send + Sync;

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.name)
            .field("location", &self.home.location())
            .finish()
    }
}

/// Commits in a row after which a checkpoint is written (`delta.checkpointInterval`).
pub const CHECKPOINT_INTERVAL: u64 = 10;

/// Default target size of a data file.
pub const TARGET_FILE_BYTES: u64 = 128 << 20;

impl Table {
    /// The table stored in directory `dir` (made on create), named `name` in messages, written
    /// with `write` (codec policy, row groups; partitioning comes from the table).
    pub(crate) fn at(name: String, dir: PathBuf, write: WriteOptions) -> Result<Table> {
        Table::new(name, Home::Dir(dir), write)
    }

    /// The table at `at` on an object store, named `name` in messages, written with `write`.
    pub(crate) fn at_store(name: String, at: TableStore, write: WriteOptions) -> Result<Table> {
        Table::new(name, Home::Objects(Arc::new(at)), write)
    }

    fn new(name: String, home: Home, write: WriteOptions) -> Result<Table> {
        let url = home.url()?;
        Ok(Table {
            name,
            home,
            url,
            runtime: Arc::new(Runtime::new()?),
            write,
            keys: None,
            progress: None,
            observers: hook::Observers::default(),
        })
    }

    /// The handle with `progress` told how its writes go (e.g. to draw a progress bar).
    pub fn with_progress(mut self, progress: Arc<Progress>) -> Table {
        self.progress = Some(progress);
        self
    }

    /// The handle with `hook` told of each of its writes: start, then completion (with the
    /// commit) or failure. The lake's tables keep the catalog and lineage current this way.
    pub fn with_write_hook(mut self, hook: Arc<WriteHook>) -> Table {
        self.observers.hook = Some(hook);
        self
    }

    /// The handle with `gate` asked before each of its operations (see [`TableGate`]).
    pub fn with_gate(mut self, gate: Arc<dyn TableGate>) -> Table {
        self.observers.gate = Some(gate);
        self
    }

    /// The handle without its gate (for the lake's own bookkeeping reads).
    pub(crate) fn without_gate(mut self) -> Table {
        self.observers.gate = None;
        self
    }

    /// The handle without a write hook: its writes leave the catalog, lineage and
    /// OpenLineage events alone (for a host that keeps its own, and for measuring what the
    /// bookkeeping costs). `strata catalog rebuild` brings the catalog's facts up to date.
    pub fn without_write_hook(mut self) -> Table {
        self.observers.hook = None;
        self
    }

    /// The handle with its writes recorded as reading `sources` (files, objects, tables at a
    /// version): lineage from them to this table.
    pub fn reading(mut self, sources: Vec<Source>) -> Table {
        self.observers.sources = sources;
        self
    }

    /// Keeps, for the hook's `Completed` event, what the commit that made `snapshot` left
    /// (`operation`; `columns`: where output columns came from). Failures to describe the
    /// table are logged: the commit has landed.
    fn committed(
        &self,
        snapshot: &deltalake_core::table::state::DeltaTableState,
        log_store: &deltalake_core::logstore::LogStoreRef,
        operation: &str,
        columns: Vec<ColumnSource>,
    ) {
        if self.observers.hook.is_none() {
            return;
        }
        match self.info_of(snapshot, log_store) {
            Ok(info) => hook::landed(Committed {
                info,
                operation: operation.to_string(),
                sources: self.observers.sources.clone(),
                columns,
            }),
            Err(e) => tracing::warn!(table = %self.name, "cannot describe a commit: {e}"),
        }
    }

    /// Runs `write`, an `operation` of this table, between the hook's events.
    fn observed<T>(&self, operation: &str, write: impl FnOnce() -> Result<T>) -> Result<T> {
        self.observers.observe(&self.name, operation, write)
    }

    fn report(&self, stage: &str, done: u64, total: u64) {
        if let Some(progress) = &self.progress {
            progress(stage, done, total);
        }
    }

    /// The handle with `keys` for the data keys of encrypted tables.
    pub(crate) fn with_keys(mut self, keys: Option<Arc<dyn KeyProvider>>) -> Table {
        self.keys = keys;
        self
    }

    /// What `table`'s properties say about writing and reading its data files.
    fn settings(&self, table: &DeltaTable) -> Result<Settings> {
        let snapshot = table.snapshot().map_err(|e| self.error(e))?;
        Settings::of(snapshot.metadata().configuration()).map_err(|e| e.with("table", &self.name))
    }

    /// A Delta table in directory `dir`, outside any lake, written in place with 128 MiB
    /// files and, unless the table says otherwise (`strata.codec`), the codec policy of a
    /// lake's hottest tier (`fast`), as a lake's tables get on their default tier.
    pub fn at_dir(dir: impl AsRef<Path>) -> Result<Table> {
        let dir = dir.as_ref().to_path_buf();
        let write = WriteOptions {
            target_file_bytes: TARGET_FILE_BYTES,
            codec: crate::format::CodecPolicy::for_tier_position(0),
            ..WriteOptions::default()
        };
        Table::at(dir.display().to_string(), dir, write)
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory holding the table; `None` for a table on an object store.
    pub fn dir(&self) -> Option<&Path> {
        match &self.home {
            Home::Dir(dir) => Some(dir),
            Home::Objects(_) => None,
        }
    }

    /// Where the table lives: its directory, or its `s3://` URL.
    pub fn location(&self) -> String {
        self.home.location()
    }

    /// Whether the table exists (has a commit).
    pub fn exists(&self) -> Result<bool> {
        self.home.exists(&self.runtime)
    }

    fn block_on<F: std::future::Future>(&self, fut: F) -> Result<F::Output> {
        self.runtime.block_on(fut)
    }

    fn error(&self, e: deltalake_core::DeltaTableError) -> Error {
        delta::delta_error(e, &self.name)
    }

    async fn load(&self, as_of: AsOf) -> Result<DeltaTable> {
        match as_of {
            AsOf::Latest => delta::load(&self.home, &self.url, &self.name, None).await,
            AsOf::Version(v) => {
                match delta::load(&self.home, &self.url, &self.name, None).await {
                    Ok(table) => {
                        let latest = table.version().unwrap_or(0);
                        if v > latest {
                            return Err(Error::new(
                                ErrorKind::NotFound,
                                format!("no version {v}: the latest is {latest}"),
                            )
                            .with("table", &self.name));
                        }
                    }
                    // A damaged later commit leaves the versions before it readable.
                    Err(e) if e.kind() == ErrorKind::Corrupt => {}
                    Err(e) => return Err(e),
                }
                delta::load(&self.home, &self.url, &self.name, Some(v)).await
            }
            AsOf::Time(t) => {
                let when = t
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()
                    .and_then(|d| i64::try_from(d.as_millis()).ok())
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .ok_or_else(|| {
                        Error::invalid("a time travel target before 1970 or past year 262143")
                            .with("table", &self.name)
                    })?;
                let mut table = delta::load(&self.home, &self.url, &self.name, Some(0))
                    .await
                    .map_err(|e| e.with("as_of", when.to_rfc3339()))?;
                let first = table.snapshot().ok().and_then(|s| s.version_timestamp(0));
                if let Some(first) = first {
                    if when.timestamp_millis() < first {
                        return Err(Error::new(
                            ErrorKind::NotFound,
                            format!(
                                "no version at or before {}: the table's first commit is later",
                                when.to_rfc3339()
                            ),
                        )
                        .with("table", &self.name));
                    }
                }
                table
                    .load_with_datetime(when)
                    .await
                    .map_err(|e| self.error(e))?;
                Ok(table)
            }
        }
    }

    /// Deletes the data files no version within `retention` needs (those the current version
    /// removed at least `retention` ago, and files of writes that never committed), and
    /// staging files of killed writes; with `dry_run`, only lists them. A retention below
    /// [`DEFAULT_RETENTION`] (7 days) is refused unless `force`: time travel to versions older
    /// than the retention stops working, and a slow writer's uncommitted files could go.
    pub fn vacuum(
        &self,
        retention: std::time::Duration,
        dry_run: bool,
        force: bool,
    ) -> Result<VacuumReport> {
        self.observers.check(&self.name, "VACUUM", true)?;
        self.block_on(async {
            let table = self.load(AsOf::Latest).await?;
            maintain::vacuum(table, &self.home, retention, dry_run, force)
                .await
                .map_err(|e| match e {
                    maintain::VacuumError::Delta(e) => self.error(e),
                    maintain::VacuumError::Strata(e) => e.with("table", &self.name),
                })
        })?
    }

    /// Makes the table's content that of `version` again, as a new version (history is
    /// kept). Restoring to a version whose files vacuum deleted is an error naming them.
    pub fn restore(&self, version: u64) -> Result<RestoreReport> {
        self.observed("RESTORE", || {
            let report = self.block_on(async {
                let table = self.load(AsOf::Latest).await?;
                let latest = table.version().unwrap_or(0);
                if let Some(e) = maintain::restore_target_error(version, latest) {
                    return Err(e.with("table", &self.name));
                }
                maintain::restore(table, version)
                    .await
                    .map_err(|e| self.error(e))
            })??;
            let (restored, report) = report;
            if let Ok(snapshot) = restored.snapshot() {
                self.committed(snapshot, &restored.log_store(), "RESTORE", Vec::new());
            }
            self.checkpoint_if_due(report.version, None)?;
            Ok(report)
        })
    }

    /// The latest version.
    pub fn version(&self) -> Result<u64> {
        self.observers.check(&self.name, "VERSION", false)?;
        let table = self.block_on(self.load(AsOf::Latest))??;
        Ok(table.version().unwrap_or(0))
    }

    /// A scan of the latest version: its data files only, with partition columns from the
    /// log, pruned by partition values, then by strata's row-group and page pruning.
    pub fn scan(&self) -> Result<Scan> {
        self.scan_as_of(AsOf::Latest)
    }

    /// A scan of the table as it was at `as_of`.
    pub fn scan_as_of(&self, as_of: AsOf) -> Result<Scan> {
        self.observers.check(&self.name, "SCAN", false)?;
        let table = self.block_on(self.load(as_of))??;
        let (list, _) = self.file_list(&table)?;
        // Columns in the table's order (the files hold the partition columns nowhere, so a
        // plain scan would put them last).
        let snapshot = table.snapshot().map_err(|e| self.error(e))?;
        let names: Vec<String> = arrow_schema(snapshot.schema().as_ref())?
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let scan = self.scan_files(&table, list)?.columns(&names);
        let guard = self
            .observers
            .gate
            .as_ref()
            .and_then(|gate| gate.scan_guard(&self.name, table.version().unwrap_or(0)));
        Ok(match guard {
            Some(guard) => scan.guard(guard),
            None => scan,
        })
    }

    /// A scan of the files of `list` from `table`'s snapshot (decrypted when the table is
    /// encrypted).
    fn scan_files(&self, table: &DeltaTable, list: FileList) -> Result<Scan> {
        let scan = self.home.scan(list);
        Ok(
            match self.settings(table)?.decryption(self.keys.as_ref())? {
                Some(decryption) => scan.decryption(decryption),
                None => scan,
            },
        )
    }

    /// The data files of `table`'s loaded version, as Delta's log lists them.
    fn file_views(
        &self,
        table: &DeltaTable,
    ) -> Result<Vec<deltalake_core::kernel::LogicalFileView>> {
        let snapshot = table.snapshot().map_err(|e| self.error(e))?;
        let log_store = table.log_store();
        self.block_on(
            snapshot
                .snapshot()
                .file_views(log_store.as_ref(), None)
                .try_collect::<Vec<_>>(),
        )?
        .map_err(|e| self.error(e))
    }

    /// The data files of `table`'s loaded version as a [`FileList`] (typed partition values),
    /// each with the `remove` action that would drop it.
    fn file_list(
        &self,
        table: &DeltaTable,
    ) -> Result<(FileList, Vec<deltalake_core::kernel::Remove>)> {
        let snapshot = table.snapshot().map_err(|e| self.error(e))?;
        let partition_by: Vec<String> = snapshot.metadata().partition_columns().to_vec();
        let stored: Schema = arrow_schema(snapshot.schema().as_ref())?;
        let partitions: Vec<Field> = partition_by
            .iter()
            .map(|c| {
                stored
                    .field_with_name(c)
                    .map(|f| f.clone().with_nullable(true))
                    .map_err(|_| {
                        Error::new(
                            ErrorKind::Corrupt,
                            format!("partition column {c:?} is not in the table's schema"),
                        )
                        .with("table", &self.name)
                    })
            })
            .collect::<Result<_>>()?;
        let views = self.file_views(table)?;
        let mut files = Vec::with_capacity(views.len());
        for view in views {
            if view.deletion_vector_descriptor().is_some() {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "the table has deletion vectors, which strata does not read yet",
                )
                .with("table", &self.name)
                .with("file", view.path()));
            }
            let values = view.partition_values_map();
            let path = self.home.file(view.path().as_ref());
            // The protocol: an empty partition value is null, whatever the column's type.
            let ordered: Vec<Option<String>> = partition_by
                .iter()
                .map(|c| values.get(c).cloned().flatten().filter(|v| !v.is_empty()))
                .collect();
            let counts = (view.num_records(), view.stats());
            files.push(((path, ordered), (view.remove_action(true), counts)));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let (files, rest): (Vec<_>, Vec<_>) = files.into_iter().unzip();
        let (removes, counts): (Vec<_>, Vec<_>) = rest.into_iter().unzip();
        let schema = write::data_schema(&stored, &partition_by);
        let list = FileList {
            files,
            partitions,
            stats: Some(stats::files_stats(&schema, &counts)),
            schema,
        };
        Ok((list, removes))
    }

    /// The table's commits still in its log, newest first.
    pub fn history(&self) -> Result<Vec<HistoryEntry>> {
        self.observers.check(&self.name, "HISTORY", false)?;
        let table = self.block_on(self.load(AsOf::Latest))??;
        let latest = table.version().unwrap_or(0);
        let log_store = table.log_store();
        let mut entries = Vec::new();
        for version in (0..=latest).rev() {
            let bytes = self
                .block_on(log_store.read_commit_entry(version))?
                .map_err(|e| self.error(e))?;
            let Some(bytes) = bytes else {
                // Older commits were cleaned up after a checkpoint.
                break;
            };
            entries.push(parse_commit(version, &bytes).map_err(|e| e.with("table", &self.name))?);
        }
        Ok(entries)
    }

    /// What the table is at `as_of`: schema, partitioning, files, rows, bytes, properties.
    pub fn info(&self, as_of: AsOf) -> Result<TableInfo> {
        self.observers.check(&self.name, "INFO", false)?;
        let table = self.block_on(self.load(as_of))??;
        let snapshot = table.snapshot().map_err(|e| self.error(e))?;
        self.info_of(snapshot, &table.log_store())
    }

    /// [`Table::info`] of a loaded snapshot.
    fn info_of(
        &self,
        snapshot: &deltalake_core::table::state::DeltaTableState,
        log_store: &deltalake_core::logstore::LogStoreRef,
    ) -> Result<TableInfo> {
        let metadata = snapshot.metadata();
        let stored: Schema = arrow_schema(snapshot.schema().as_ref())?;
        let views: Vec<_> = self
            .block_on(
                snapshot
                    .snapshot()
                    .file_views(log_store.as_ref(), None)
                    .try_collect::<Vec<_>>(),
            )?
            .map_err(|e| self.error(e))?;
        let mut rows = Some(0u64);
        let mut bytes = 0u64;
        for view in &views {
            bytes += view.size().max(0) as u64;
            rows = match (rows, view.num_records()) {
                (Some(total), Some(n)) => Some(total + n as u64),
                _ => None,
            };
        }
        Ok(TableInfo {
            name: self.name.clone(),
            location: self.home.location(),
            version: snapshot.version(),
            columns: stored
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().to_string()))
                .collect(),
            partition_by: metadata.partition_columns().to_vec(),
            files: views.len() as u64,
            rows,
            bytes,
            description: metadata.description().map(str::to_string),
            properties: metadata
                .configuration()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }
}

/// The commit's `engineInfo`: which strata wrote it.
fn engine_info() -> HashMap<String, serde_json::Value> {
    let mut app = HashMap::new();
    app.insert(
        "engineInfo".to_string(),
        serde_json::Value::String(format!("strata/{}", env!("CARGO_PKG_VERSION"))),
    );
    app
}

/// The Arrow schema of a Delta schema: the types Delta stores (microsecond timestamps, ...).
fn arrow_schema(kernel: &StructType) -> Result<Schema> {
    kernel
        .try_into_arrow()
        .map_err(|e| Error::internal(format!("cannot map the Delta schema to Arrow: {e}")))
}
