//! The lake's catalog: opened beside its tables, kept current by every table commit (facts and
//! the run that made them), and filled by registrations, annotations and rebuilds.

use std::path::Path;
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use super::Lake;
use crate::catalog::{Catalog, CatalogLog, Facts, Kind, Node, RebuildReport, Run};
use crate::error::{Error, ErrorKind, Result};
use crate::read::Scan;
use crate::store::TablesAt;
use crate::table::{CommitHook, Committed, TableName};

/// The catalog's folder beside the zones' (`<tables>/_catalog`; zone names cannot start with `_`).
const CATALOG_DIR: &str = "_catalog";

impl Lake {
    /// The lake's catalog (see [`crate::catalog`]): every table of the lake has an entry, kept
    /// current by its commits; datasets and object prefixes have one once registered.
    pub fn catalog(&self) -> Result<Catalog> {
        if let Some(c) = self.catalog.get() {
            return Ok(c.by(&self.actor()));
        }
        let (store, prefix): (Arc<dyn ObjectStore>, ObjectPath) = match self.tables_at()? {
            TablesAt::Dir(root) => {
                std::fs::create_dir_all(&root)
                    .map_err(|e| Error::io("cannot create the tables directory", &root, e))?;
                let local =
                    object_store::local::LocalFileSystem::new_with_prefix(&root).map_err(|e| {
                        Error::new(ErrorKind::Io, format!("cannot open the catalog: {e}"))
                            .with("path", root.display())
                    })?;
                (Arc::new(local), ObjectPath::from(CATALOG_DIR))
            }
            TablesAt::Objects { store, prefix, .. } => (store, prefix.join(CATALOG_DIR)),
        };
        let log = CatalogLog::new(store, prefix, self.store.io_handle()?);
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

    /// The hook a lake table calls after each commit: records the table's facts and the run.
    pub(super) fn catalog_hook(&self) -> Arc<CommitHook> {
        let lake = self.clone();
        Arc::new(move |committed: &Committed| {
            if let Err(e) = lake.record_commit(committed) {
                tracing::warn!(
                    table = %committed.info.name,
                    "the catalog did not record a commit (`strata catalog rebuild` catches up): {e}"
                );
            }
        })
    }

    fn record_commit(&self, c: &Committed) -> Result<()> {
        let info = &c.info;
        let facts = Facts {
            kind: Kind::Table,
            location: info.location.clone(),
            tier: self.tables_tier_name(),
            format: "delta".into(),
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
        };
        let by = self.actor();
        let run = (!matches!(
            c.operation.as_str(),
            "OPTIMIZE" | "VACUUM START" | "VACUUM END"
        ))
        .then(|| Run {
            id: uuid(),
            job: by.clone(),
            operation: c.operation.clone(),
            at: crate::clock::now_ms() as i64,
            inputs: c
                .sources
                .iter()
                .map(|s| Node {
                    kind: s.kind.clone(),
                    name: s.name.clone(),
                    version: s.version,
                })
                .collect(),
            outputs: vec![Node::table(&info.name, Some(info.version))],
            columns: c
                .columns
                .iter()
                .filter(|_| !c.sources.is_empty())
                .map(|s| crate::catalog::ColumnLineage {
                    column: s.column.clone(),
                    from: s.from.clone(),
                    transformation: s.transformation.clone(),
                })
                .collect(),
        });
        self.catalog()?.record_commit(&info.name, facts, run)
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
            facts.push((
                info.name.clone(),
                Facts {
                    kind: Kind::Table,
                    location: info.location,
                    tier: self.tables_tier_name(),
                    format: "delta".into(),
                    columns: info
                        .columns
                        .into_iter()
                        .map(|(n, t)| (n, t, true))
                        .collect(),
                    partition_by: info.partition_by,
                    rows: info.rows,
                    bytes: info.bytes,
                    files: info.files,
                    version: Some(info.version),
                    description: info.description,
                    properties: info.properties,
                },
            ));
        }
        // Registered datasets and prefixes that are still there: their facts afresh.
        // A damaged catalog lists nothing here; the rebuild reads what survives itself.
        let survivors: Vec<crate::catalog::Entry> = catalog.entries().unwrap_or_default();
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

/// A random (version 4) UUID.
fn uuid() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        let x = crate::clock::now_ms() as u128 ^ (u128::from(std::process::id()) << 64);
        b = x.to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
