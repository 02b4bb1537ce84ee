//! The lake's catalog: opened beside its tables, kept current by every table commit (facts and
//! the run that made them), and filled by registrations, annotations and rebuilds.

use std::path::Path;
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use super::Lake;
use crate::catalog::openlineage::{Event, EventType, OutputFacts};
use crate::catalog::{Catalog, CatalogLog, ColumnLineage, Facts, Kind, Node, RebuildReport, Run};
use crate::config::LineageSink;
use crate::error::{Error, ErrorKind, Result};
use crate::read::Scan;
use crate::store::TablesAt;
use crate::table::{Committed, Source, TableName, WriteEvent, WriteHook};

/// The catalog's folder beside the zones' (`<tables>/_catalog`; zone names cannot start with `_`).
const CATALOG_DIR: &str = "_catalog";

impl Lake {
    /// The lake's catalog (see [`crate::catalog`]): every table of the lake has an entry, kept
    /// current by its commits; datasets and object prefixes have one once registered.
    ///
    /// A principal's handle needs `admin` on the lake (`lake = true`): the catalog's handle
    /// can change entries.
    pub fn catalog(&self) -> Result<Catalog> {
        self.authorize(
            "catalog",
            crate::config::Action::Admin,
            crate::governance::Resource::Lake,
        )?;
        self.open_catalog()
    }

    /// The catalog without a check: for the lake's own bookkeeping (a principal's commit is
    /// recorded whatever the principal may do with the catalog).
    pub(super) fn open_catalog(&self) -> Result<Catalog> {
        if let Some(c) = self.catalog.get() {
            return Ok(c.by(&self.actor()));
        }
        let mut local = None;
        let (store, prefix): (Arc<dyn ObjectStore>, ObjectPath) = match self.tables_at()? {
            TablesAt::Dir(root) => {
                std::fs::create_dir_all(&root)
                    .map_err(|e| Error::io("cannot create the tables directory", &root, e))?;
                let files =
                    object_store::local::LocalFileSystem::new_with_prefix(&root).map_err(|e| {
                        Error::new(ErrorKind::Io, format!("cannot open the catalog: {e}"))
                            .with("path", root.display())
                    })?;
                local = Some(root.join(CATALOG_DIR));
                let files: Arc<dyn ObjectStore> = Arc::new(files);
                (files, ObjectPath::from(CATALOG_DIR))
            }
            TablesAt::Objects { store, prefix, .. } => (store, prefix.join(CATALOG_DIR)),
        };
        let keep: Arc<dyn std::any::Any + Send + Sync> = self.store.clone();
        let mut log = CatalogLog::new(store, prefix, self.store.io_handle()?).keeping(keep);
        if let Some(dir) = local {
            log = log.in_dir(dir);
        }
        let _ = self.catalog.set(Catalog::new(log));
        self.catalog
            .get()
            .map(|c| c.by(&self.actor()))
            .ok_or_else(|| Error::internal("the catalog did not open"))
    }

    /// A handle whose changes the catalog and lineage record as made by `job` (a pipeline's
    /// or service's name; the command line uses its own command line). Shares everything else
    /// with this one.
    pub fn with_job(&self, job: &str) -> Lake {
        Lake {
            job: Some(Arc::from(job)),
            ..self.clone()
        }
    }

    /// Who this handle's changes are by: its job, else `user (program)`.
    pub(crate) fn actor(&self) -> String {
        match &self.job {
            Some(job) => job.to_string(),
            None => crate::catalog::default_actor(),
        }
    }

    /// Sets (or with `None` clears) a receiver of the OpenLineage RunEvents of the lake's
    /// table writes (one JSON document per call: START, then COMPLETE or FAIL), besides the
    /// `[lineage]` sink. Shared by every clone of this lake. The callback runs on the writing
    /// thread; keep it cheap.
    pub fn set_lineage_callback(&self, callback: Option<Arc<LineageCallback>>) {
        *self
            .lineage_callback
            .write()
            .unwrap_or_else(|p| p.into_inner()) = callback;
    }

    /// The hook a lake table calls on each write: the catalog records each commit's facts and
    /// run, and OpenLineage events go to the sink and callback.
    pub(super) fn write_hook(&self) -> Arc<WriteHook> {
        let lake = self.clone();
        Arc::new(move |event: &WriteEvent<'_>| lake.on_write(event))
    }

    fn on_write(&self, event: &WriteEvent<'_>) {
        match event {
            WriteEvent::Started {
                run,
                table,
                sources,
                ..
            } => self.emit(EventType::Start, run, table, None, sources, None),
            WriteEvent::Completed {
                run,
                table,
                committed,
                operation,
            } => {
                self.audit_write(table, operation, committed.map(|c| c.info.version), None);
                if let Some(c) = committed {
                    if let Err(e) = self.record_commit(run, c) {
                        tracing::warn!(
                            table = %c.info.name,
                            "the catalog did not record a commit (`strata catalog rebuild` catches up): {e}"
                        );
                    }
                }
                let sources = committed.map(|c| c.sources.as_slice()).unwrap_or_default();
                self.emit(EventType::Complete, run, table, *committed, sources, None);
            }
            WriteEvent::Failed {
                run,
                table,
                error,
                operation,
            } => {
                self.audit_write(table, operation, None, Some(error));
                let text = error.to_string();
                self.emit(EventType::Fail, run, table, None, &[], Some(&text));
            }
        }
    }

    /// The audit record of a write of `table` (the commit has landed or failed: a failure to
    /// record is logged, not returned).
    fn audit_write(
        &self,
        table: &str,
        operation: &str,
        version: Option<u64>,
        error: Option<&Error>,
    ) {
        if !self.audits(crate::config::Action::Write) {
            return;
        }
        let verb = format!("table.{}", operation.to_ascii_lowercase().replace(' ', "_"));
        let mut event = self.event(
            &verb,
            crate::governance::Resource::Table(table).audit_name(),
        );
        event.version = version;
        event.outcome = match error {
            Some(e) => e.kind().name().into(),
            None => "ok".into(),
        };
        if let Err(e) = self.audit(event) {
            tracing::error!(%table, "cannot record a table write in the audit log: {e}");
        }
    }

    /// Sends an OpenLineage event of a write of `table` to the sink and the callback, if any.
    fn emit(
        &self,
        kind: EventType,
        run: &str,
        table: &str,
        committed: Option<&Committed>,
        sources: &[Source],
        error: Option<&str>,
    ) {
        let config = &self.config().lineage;
        let callback = self
            .lineage_callback
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if config.sink == LineageSink::None && callback.is_none() {
            return;
        }
        let inputs = nodes(sources);
        let outputs = [Node::table(table, committed.map(|c| c.info.version))];
        let facts = committed.map(|c| OutputFacts {
            columns: c
                .info
                .columns
                .iter()
                .map(|(n, t)| (n.clone(), t.clone(), None))
                .collect(),
            lineage: column_lineage(c),
        });
        let job = self.actor();
        let event = Event {
            kind,
            run,
            namespace: &config.namespace,
            job: &job,
            at_ms: crate::clock::now_ms() as i64,
            inputs: &inputs,
            outputs: &outputs,
            output_facts: facts.as_ref(),
            error,
        }
        .to_json()
        .to_string();
        if let (LineageSink::File, Some(path)) = (config.sink, &config.path) {
            let path = self.dir().join(path);
            if let Err(e) = append_line(&path, &event) {
                tracing::warn!(path = %path.display(), "cannot write an OpenLineage event: {e}");
            }
        }
        if let Some(callback) = callback {
            // A host's callback that panics loses its event, not the write.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&event))).is_err()
            {
                tracing::warn!("the OpenLineage callback panicked");
            }
        }
    }

    fn record_commit(&self, run_id: &str, c: &Committed) -> Result<()> {
        let info = &c.info;
        let facts = self.table_facts(info);
        let by = self.actor();
        let run = (!matches!(
            c.operation.as_str(),
            "OPTIMIZE" | "VACUUM START" | "VACUUM END"
        ))
        .then(|| Run {
            id: run_id.to_string(),
            job: by.clone(),
            operation: c.operation.clone(),
            at: crate::clock::now_ms() as i64,
            inputs: nodes(&c.sources),
            outputs: vec![Node::table(&info.name, Some(info.version))],
            columns: column_lineage(c),
        });
        self.open_catalog()?.record_commit(&info.name, facts, run)
    }

    /// A lake table's facts for its catalog entry, from what it is at one version.
    fn table_facts(&self, info: &crate::table::TableInfo) -> Facts {
        Facts {
            kind: Kind::Table,
            location: info.location.clone(),
            tier: self.tables_tier_name(),
            format: "delta".into(),
            // TableInfo does not say which columns are nullable; Delta columns mostly are.
            columns: info
                .columns
                .iter()
                .map(|(n, t)| (n.clone(), t.clone(), true))
                .collect(),
            partition_by: info.partition_by.clone(),
            rows: info.rows,
            bytes: info.bytes,
            files: info.files,
            version: Some(info.version),
            description: info.description.clone(),
            properties: info.properties.clone(),
        }
    }

    /// The name of the tier the lake's tables live on.
    fn tables_tier_name(&self) -> String {
        self.tables_tier()
            .and_then(|i| self.config().tiers.get(i))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }

    /// Registers a Parquet dataset (`kind` dataset: a file or directory at `path`) or an object
    /// prefix of the lake (`kind` objects: `path` is the key prefix) as `name` (`zone/name`),
    /// with its facts read now (schema and rows from the Parquet footers; objects and bytes
    /// from the listing). Registering again refreshes the facts and keeps the annotations.
    pub fn register(&self, name: &str, path: &str, kind: Kind) -> Result<crate::catalog::Entry> {
        let name = TableName::parse(name, &self.config().tables)?.to_string();
        let facts = self.facts_of(path, kind)?;
        let catalog = self.catalog()?;
        if let Some(existing) = catalog.entry(&name)? {
            if existing.kind != kind {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "{name} is already in the catalog as a {}",
                        existing.kind.as_str()
                    ),
                ));
            }
        }
        catalog.record_commit(&name, facts, None)?;
        catalog
            .entry(&name)?
            .ok_or_else(|| Error::internal("a registered entry went missing"))
    }

    fn facts_of(&self, path: &str, kind: Kind) -> Result<Facts> {
        match kind {
            Kind::Table => Err(Error::invalid(
                "tables register themselves when created; register datasets or objects",
            )),
            Kind::Dataset => {
                let at = Path::new(path);
                if !at.exists() {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!("no dataset at {path:?}"),
                    ));
                }
                let scan = Scan::new(at);
                let out = scan.clone().limit(0).run()?;
                let (rows, _) = scan.count()?;
                let (files, bytes) = parquet_files(at);
                Ok(Facts {
                    kind,
                    location: std::fs::canonicalize(at)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| path.to_string()),
                    tier: String::new(),
                    format: "parquet".into(),
                    columns: out
                        .schema
                        .fields()
                        .iter()
                        .map(|f| (f.name().clone(), f.data_type().to_string(), f.is_nullable()))
                        .collect(),
                    rows: Some(rows),
                    bytes,
                    files,
                    ..Facts::default()
                })
            }
            Kind::Objects => {
                let objects = self.list(path)?;
                let tier = objects.first().map(|o| o.tier.clone()).unwrap_or_default();
                Ok(Facts {
                    kind,
                    location: path.to_string(),
                    tier,
                    format: "objects".into(),
                    bytes: objects.iter().map(|o| o.size).sum(),
                    files: objects.len() as u64,
                    ..Facts::default()
                })
            }
        }
    }

    /// Rebuilds the catalog from what survives of it, every table of the lake and every
    /// registered dataset or object prefix as they are now (see [`Catalog::rebuild`]).
    pub fn rebuild_catalog(&self) -> Result<RebuildReport> {
        let catalog = self.catalog()?;
        let mut facts = Vec::new();
        for name in self.tables(None)? {
            let info = self
                .table(&name.to_string())?
                .info(crate::table::AsOf::Latest)?;
            facts.push((info.name.clone(), self.table_facts(&info)));
        }
        // Registered datasets and prefixes that are still there: their facts afresh.
        // A damaged catalog lists nothing here; the rebuild reads what survives itself.
        let survivors: Vec<Arc<crate::catalog::Entry>> = catalog.entries().unwrap_or_default();
        for e in survivors.iter().filter(|e| e.kind != Kind::Table) {
            if let Ok(f) = self.facts_of(&e.location, e.kind) {
                facts.push((e.name.clone(), f));
            }
        }
        catalog.rebuild(facts)
    }
}

/// Parquet files under `path` (or `path` itself) and their bytes.
fn parquet_files(path: &Path) -> (u64, u64) {
    if path.is_file() {
        return (1, std::fs::metadata(path).map(|m| m.len()).unwrap_or(0));
    }
    let (mut files, mut bytes) = (0, 0);
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let p = entry.path();
            if kind.is_dir() {
                stack.push(p);
            } else if kind.is_file() && p.extension().is_some_and(|e| e == "parquet") {
                files += 1;
                bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    (files, bytes)
}

/// A host's receiver of OpenLineage events: one JSON document per call.
pub type LineageCallback = dyn Fn(&str) + Send + Sync;

/// Lineage nodes of a write's sources.
fn nodes(sources: &[Source]) -> Vec<Node> {
    sources
        .iter()
        .map(|s| Node {
            kind: s.kind.clone(),
            name: s.name.clone(),
            version: s.version,
        })
        .collect()
}

/// A commit's column lineage (none when its writes read nothing known).
fn column_lineage(c: &Committed) -> Vec<ColumnLineage> {
    if c.sources.is_empty() {
        return Vec::new();
    }
    c.columns
        .iter()
        .map(|s| ColumnLineage {
            column: s.column.clone(),
            from: s.from.clone(),
            transformation: s.transformation.clone(),
        })
        .collect()
}

/// Appends `line` and a newline to the file at `path` in one write (O_APPEND), creating it.
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    file.write_all(&bytes)
}

impl Lake {
    /// Classifies the columns of the catalog entry `name` (a table or a dataset): the first
    /// `sample_rows` rows run through the PII detectors (emails, phone numbers, card numbers,
    /// national ids, names in free text), and a column most of whose values match a kind is
    /// marked with it (an inferred mark; marks the owner confirmed or set are left alone, and
    /// a column that no longer matches loses its inferred mark). Returns what each column's
    /// values said.
    pub fn classify(
        &self,
        name: &str,
        sample_rows: u64,
        threshold: f64,
    ) -> Result<Vec<crate::quality::ColumnClass>> {
        use crate::catalog::{Mark, MarkSource};
        let catalog = self.catalog()?;
        let entry = catalog.entry(name)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("the catalog has no entry {name:?}"),
            )
        })?;
        let scan = match entry.kind {
            Kind::Table => self.table(name)?.scan()?,
            Kind::Dataset => Scan::new(&entry.location),
            Kind::Objects => {
                return Err(Error::invalid(format!(
                    "{name} is an object prefix: only tables and datasets have columns to classify"
                )))
            }
        };
        let out = scan.limit(sample_rows.max(1)).run()?;
        let classes = crate::quality::classify_columns(&out.batches, threshold)?;
        for class in &classes {
            let mark = class.kind.map(|k| Mark {
                class: k.as_str().to_string(),
                source: MarkSource::Inferred,
                share: Some((class.share * 1000.0).round() / 1000.0),
            });
            let current = entry
                .column(&class.column)
                .and_then(|c| c.classification.clone());
            let same = match (&current, &mark) {
                (Some(a), Some(b)) => a.class == b.class && a.source == b.source,
                (None, None) => true,
                _ => false,
            };
            if !same {
                catalog.classify_column(name, &class.column, mark)?;
            }
        }
        Ok(classes)
    }
}

impl Lake {
    /// Records, for lineage, a run that strata did not commit as a table write (a masked copy
    /// of a file, a host's own job): it read `inputs`, wrote `outputs`, and made each output
    /// column from the input columns `columns` names. Recorded in the catalog as made by this
    /// handle's job; returns the run's id.
    pub fn record_lineage(
        &self,
        operation: &str,
        inputs: &[Source],
        outputs: &[Source],
        columns: &[crate::table::ColumnSource],
    ) -> Result<String> {
        let id = crate::ids::uuid_v4();
        let run = Run {
            id: id.clone(),
            job: self.actor(),
            operation: operation.to_string(),
            at: crate::clock::now_ms() as i64,
            inputs: nodes(inputs),
            outputs: nodes(outputs),
            columns: columns
                .iter()
                .map(|s| ColumnLineage {
                    column: s.column.clone(),
                    from: s.from.clone(),
                    transformation: s.transformation.clone(),
                })
                .collect(),
        };
        self.catalog()?.record_run(run)?;
        Ok(id)
    }
}
