//! The catalog: what the lake holds (tables, registered Parquet datasets and object prefixes),
//! who owns it, what its columns mean and which hold personal data, and how each table was made
//! (lineage).
//!
//! The catalog lives beside the lake's tables (`<tables>/_catalog/`, a directory or an S3
//! prefix) as a log of small checksummed records (see `log`), so it travels with the data and
//! two processes writing at once both keep their changes. Tables keep their own entries
//! current: the lake records each commit's facts (rows, bytes, files, schema, version; a schema
//! change starts a new schema version) and the run that made it. People and tools add the rest
//! (owner, description, tags, column descriptions, classifications, retention, quality).
//!
//! ```
//! # fn main() -> strata::Result<()> {
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch};
//! let dir = tempfile::tempdir().unwrap();
//! let lake = strata::Lake::open_dir(dir.path())?;
//! let batch = RecordBatch::try_from_iter([(
//!     "id",
//!     Arc::new(Int64Array::from(vec![1, 2])) as _,
//! )])
//! .unwrap();
//! let table = lake.table("silver/trips")?;
//! table.create(&batch.schema(), &[batch], &Default::default())?;
//! let catalog = lake.catalog()?;
//! catalog.tag("silver/trips", &["daily"])?;
//! let entry = catalog.entry("silver/trips")?.unwrap();
//! assert_eq!(entry.rows, Some(2));
//! let found = catalog.search(&strata::catalog::Query {
//!     tag: Some("daily".into()),
//!     ..Default::default()
//! })?;
//! assert_eq!(found[0].name, "silver/trips");
//! # Ok(()) }
//! ```

mod entry;
mod lineage;
mod log;
pub mod openlineage;
mod record;
mod search;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub use entry::{
    Column, Entry, ExpectationTally, Facts, Kind, Mark, MarkSource, QualityMark, SchemaVersion,
};
pub use lineage::{walk, ColumnLineage, Direction, Edge, Node, Run, Walk};
pub use log::{check_file, CatalogFile, Damage, FORMAT, SNAPSHOT_EVERY};
use record::{Annotation, Op, Record, State};
pub use search::Query;

pub(crate) use log::CatalogLog;
use log::News;

use crate::error::{Error, ErrorKind, Result};
use search::Indexed;

/// The catalog as last read: its state after record `seq`, and each entry's search text.
struct Cached {
    seq: u64,
    state: Arc<State>,
    index: Arc<BTreeMap<String, Indexed>>,
}

/// Rows `Lake::classify` reads by default: enough for the shares to mean something, few
/// enough to stay quick on large tables.
pub const CLASSIFY_SAMPLE_ROWS: u64 = 20_000;

/// The catalog as a call sees it: state, search text, last record number.
type Current = (Arc<State>, Arc<BTreeMap<String, Indexed>>, u64);

/// An open catalog: cheap to clone (clones share the catalog and its cache), and every call
/// sees what other handles and processes wrote (it catches up on their records first). Its
/// changes are recorded as made by the handle's actor (the lake's job, see `Lake::with_job`).
#[derive(Clone)]
pub struct Catalog {
    shared: Arc<Shared>,
    by: String,
}

struct Shared {
    log: CatalogLog,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").finish_non_exhaustive()
    }
}

/// What `rebuild` did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RebuildReport {
    /// What was damaged (and is now gone).
    pub damage: Damage,
    /// Entries refreshed from the tables and datasets themselves.
    pub refreshed: usize,
    /// Table entries dropped because their table no longer exists.
    pub dropped: Vec<String>,
    /// Entries in the catalog now.
    pub entries: usize,
}

impl Catalog {
    pub(crate) fn new(log: CatalogLog) -> Catalog {
        Catalog {
            shared: Arc::new(Shared {
                log,
                cached: Mutex::new(None),
            }),
            by: default_actor(),
        }
    }

    /// This catalog with its changes recorded as made by `by`.
    pub(crate) fn by(&self, by: &str) -> Catalog {
        Catalog {
            shared: self.shared.clone(),
            by: by.to_string(),
        }
    }

    fn log(&self) -> &CatalogLog {
        &self.shared.log
    }

    /// The catalog as it is now: catches up on records written since the last call.
    fn current(&self) -> Result<Current> {
        let mut cached = self.shared.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cached.as_mut() {
            match self.log().news(c.seq)? {
                News::None => {}
                News::Records => match self.log().records_after(c.seq)? {
                    Some(records) => {
                        for (s, record) in records {
                            c.apply(s, record);
                        }
                    }
                    None => *cached = None,
                },
                News::Reload => *cached = None,
            }
        }
        if cached.is_none() {
            let loaded = self.log().load(false)?;
            *cached = Some(Cached {
                seq: loaded.seq,
                index: Arc::new(index_of(&loaded.state)),
                state: Arc::new(loaded.state),
            });
        }
        let c = cached
            .as_ref()
            .ok_or_else(|| Error::internal("the catalog did not load"))?;
        Ok((c.state.clone(), c.index.clone(), c.seq))
    }

    /// Writes `op` as a new record, snapshotting when one is due. The record goes after the
    /// last one this handle knows; when no other writer got there first (the common case) it
    /// is applied to the cache as written, without reading the log again.
    fn write(&self, op: Op) -> Result<()> {
        let (_, _, seq) = self.current()?;
        let record = Record {
            op,
            at: crate::clock::now_ms() as i64,
            by: self.by.clone(),
        };
        let written = self.log().append(&record, seq)?;
        let (state, now) = {
            let mut cached = self.shared.cached.lock().unwrap_or_else(|p| p.into_inner());
            match cached.as_mut() {
                Some(c) if c.seq + 1 == written => {
                    c.apply(written, record);
                    (Some(c.state.clone()), c.seq)
                }
                _ => (None, 0),
            }
        };
        let (state, now) = match state {
            Some(state) => (state, now),
            None => {
                let (state, _, now) = self.current()?;
                (state, now)
            }
        };
        if written % SNAPSHOT_EVERY == 0 {
            self.log().snapshot(&state, now)?;
        }
        Ok(())
    }

    /// Every entry, by name.
    pub fn entries(&self) -> Result<Vec<Arc<Entry>>> {
        Ok(self.current()?.0.entries.values().cloned().collect())
    }

    /// The entry `name` (`zone/name`), if there is one.
    pub fn entry(&self, name: &str) -> Result<Option<Entry>> {
        Ok(self
            .current()?
            .0
            .entries
            .get(name)
            .map(|e| e.as_ref().clone()))
    }

    /// The entries matching `query`, best first (a word in the name first), then by name.
    pub fn search(&self, query: &Query) -> Result<Vec<Arc<Entry>>> {
        let (state, index, _) = self.current()?;
        let query = search::Prepared::of(query);
        // The index has the entries' names in the same order: walk both together.
        let mut hits: Vec<(u32, &Arc<Entry>)> = state
            .entries
            .values()
            .zip(index.iter())
            .filter_map(|(e, (name, i))| {
                let i = if *name == e.name {
                    i
                } else {
                    index.get(&e.name)?
                };
                search::score(i, &query).map(|s| (s, e))
            })
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
        Ok(hits.into_iter().map(|(_, e)| Arc::clone(e)).collect())
    }

    /// The runs lineage recorded, oldest first.
    pub fn runs(&self) -> Result<Vec<Run>> {
        Ok(self.current()?.0.runs.clone())
    }

    /// Walks the lineage graph from `name` (a table's `zone/name`, a file path, an object key).
    pub fn lineage(&self, name: &str, direction: Direction, depth: Option<usize>) -> Result<Walk> {
        Ok(walk(&self.current()?.0.runs, name, direction, depth))
    }

    fn annotate(&self, name: &str, annotation: Annotation) -> Result<()> {
        if self.entry(name)?.is_none() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("the catalog has no entry {name:?}"),
            ));
        }
        self.write(Op::Annotate {
            name: name.to_string(),
            annotation,
        })
    }

    /// Adds `tags` to the entry `name`.
    pub fn tag(&self, name: &str, tags: &[&str]) -> Result<()> {
        self.retag(name, tags, &[])
    }

    /// Removes `tags` from the entry `name`.
    pub fn untag(&self, name: &str, tags: &[&str]) -> Result<()> {
        self.retag(name, &[], tags)
    }

    fn retag(&self, name: &str, add: &[&str], remove: &[&str]) -> Result<()> {
        let clean = |tags: &[&str]| -> Result<Vec<String>> {
            tags.iter()
                .map(|t| {
                    let t = t.trim();
                    if t.is_empty() || t.len() > 128 || t.chars().any(char::is_control) {
                        Err(Error::invalid(format!(
                            "bad tag {t:?}: 1 to 128 characters, no control characters"
                        )))
                    } else {
                        Ok(t.to_string())
                    }
                })
                .collect()
        };
        self.annotate(
            name,
            Annotation::Tags {
                add: clean(add)?,
                remove: clean(remove)?,
            },
        )
    }

    /// Describes the entry `name`, or its `column` (empty text: clears it).
    pub fn describe(&self, name: &str, column: Option<&str>, text: &str) -> Result<()> {
        if let Some(column) = column {
            let entry = self.entry(name)?;
            if entry.as_ref().is_some_and(|e| e.column(column).is_none()) {
                return Err(Error::invalid(format!(
                    "{name} has no column {column:?}; its columns are {}",
                    entry
                        .map(|e| e
                            .columns
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "))
                        .unwrap_or_default()
                )));
            }
        }
        let text = text.trim();
        self.annotate(
            name,
            Annotation::Describe {
                column: column.map(str::to_string),
                text: (!text.is_empty()).then(|| text.to_string()),
            },
        )
    }

    /// Sets (or clears) the owner of `name`.
    pub fn set_owner(&self, name: &str, owner: Option<&str>) -> Result<()> {
        self.annotate(
            name,
            Annotation::Owner {
                owner: owner.map(str::to_string),
            },
        )
    }

    /// Sets (or clears) the retention of `name` (`90d`, or words).
    pub fn set_retention(&self, name: &str, retention: Option<&str>) -> Result<()> {
        self.annotate(
            name,
            Annotation::Retention {
                retention: retention.map(str::to_string),
            },
        )
    }

    /// Records a quality score (0 to 100) for `name`.
    pub fn set_quality(&self, name: &str, score: f64) -> Result<()> {
        if !(0.0..=100.0).contains(&score) {
            return Err(Error::invalid(format!(
                "a quality score is 0 to 100, not {score}"
            )));
        }
        self.annotate(name, Annotation::Quality { score })
    }

    /// Adds one append's expectation counts to `name`'s tallies: the `rows` it offered, the
    /// version it made, and `(rule, expect, failed rows)` per rule.
    pub(crate) fn record_expectations(
        &self,
        name: &str,
        version: Option<u64>,
        rows: u64,
        counts: Vec<(String, String, u64)>,
    ) -> Result<()> {
        self.annotate(
            name,
            Annotation::Expectations {
                version,
                rows,
                counts,
            },
        )
    }

    /// Classifies `column` of `name` (`None`: drops an inferred mark).
    pub fn classify_column(&self, name: &str, column: &str, mark: Option<Mark>) -> Result<()> {
        self.annotate(
            name,
            Annotation::Classify {
                column: column.to_string(),
                mark,
            },
        )
    }

    /// Records `facts` for `name` (creating the entry when it is new) and the `run` that made
    /// them, in one record.
    pub(crate) fn record_commit(&self, name: &str, facts: Facts, run: Option<Run>) -> Result<()> {
        self.write(Op::Facts {
            name: name.to_string(),
            facts: Box::new(facts),
            run: run.map(Box::new),
        })
    }

    /// Records a run that made no table commit (its facts are not an entry's).
    pub(crate) fn record_run(&self, run: Run) -> Result<()> {
        self.write(Op::Lineage { run: Box::new(run) })
    }

    /// Removes the entry `name`.
    pub fn forget(&self, name: &str) -> Result<()> {
        self.write(Op::Forget {
            name: name.to_string(),
        })
    }

    /// Checks every file of the catalog: what is damaged, and what is missing.
    pub fn verify(&self) -> Result<Damage> {
        Ok(self.log().load(true)?.damage)
    }

    /// Rebuilds the catalog from what survives of it and from `facts` (every table of the lake
    /// and every registered dataset, as they are now): entries are refreshed, table entries
    /// without a table are dropped, and the result is written whole (a new snapshot), after
    /// which damaged files are deleted.
    pub(crate) fn rebuild(&self, facts: Vec<(String, Facts)>) -> Result<RebuildReport> {
        let by = self.by.as_str();
        let loaded = self.log().load(true)?;
        let mut state = loaded.state;
        let at = crate::clock::now_ms() as i64;
        let names: std::collections::BTreeSet<&str> =
            facts.iter().map(|(n, _)| n.as_str()).collect();
        let dropped: Vec<String> = state
            .entries
            .values()
            .filter(|e| e.kind == Kind::Table && !names.contains(e.name.as_str()))
            .map(|e| e.name.clone())
            .collect();
        for name in &dropped {
            state.entries.remove(name);
        }
        let refreshed = facts.len();
        for (name, facts) in facts {
            state.apply(Record {
                op: Op::Facts {
                    name,
                    facts: Box::new(facts),
                    run: None,
                },
                at,
                by: by.to_string(),
            });
        }
        let entries = state.entries.len();
        let record = Record {
            op: Op::Replace {
                state: Box::new(state.clone()),
            },
            at,
            by: by.to_string(),
        };
        let seq = self.log().append(&record, loaded.seq)?;
        self.log().snapshot(&state, seq)?;
        self.log().remove(&loaded.damage.files)?;
        *self.shared.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(RebuildReport {
            damage: loaded.damage,
            refreshed,
            dropped,
            entries,
        })
    }
}

impl Cached {
    /// Applies record `seq`: in place unless a search still holds the old state; the search
    /// text of the entries it touches is made again.
    fn apply(&mut self, seq: u64, record: Record) {
        let state = Arc::make_mut(&mut self.state);
        let index = Arc::make_mut(&mut self.index);
        let touched = match &record.op {
            Op::Facts { name, .. } | Op::Annotate { name, .. } | Op::Forget { name } => {
                Some(name.clone())
            }
            Op::Lineage { .. } | Op::Replace { .. } => None,
        };
        let replaced = matches!(record.op, Op::Replace { .. });
        state.apply(record);
        if replaced {
            *index = index_of(state);
        }
        if let Some(name) = touched {
            match state.entries.get(&name) {
                Some(entry) => {
                    index.insert(name, Indexed::of(entry));
                }
                None => {
                    index.remove(&name);
                }
            }
        }
        self.seq = seq;
    }
}

fn index_of(state: &State) -> BTreeMap<String, Indexed> {
    state
        .entries
        .values()
        .map(|e| (e.name.clone(), Indexed::of(e)))
        .collect()
}

/// Who changes the catalog when the caller names no job: `user (program)`.
pub(crate) fn default_actor() -> String {
    static ACTOR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ACTOR.get_or_init(actor_of_process).clone()
}

fn actor_of_process() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "strata".into());
    format!("{user} ({program})")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog in `dir`, through object_store alone or (`local`) with the direct file
    /// system paths a local lake uses.
    fn catalog_at(dir: &std::path::Path, rt: &tokio::runtime::Runtime, local: bool) -> Catalog {
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir).unwrap();
        let log = CatalogLog::new(
            Arc::new(store),
            object_store::path::Path::from("_catalog"),
            rt.handle().clone(),
        );
        Catalog::new(if local {
            log.in_dir(dir.join("_catalog"))
        } else {
            log
        })
    }

    fn catalog(dir: &std::path::Path, rt: &tokio::runtime::Runtime) -> Catalog {
        catalog_at(dir, rt, false)
    }

    fn facts(rows: u64) -> Facts {
        Facts {
            kind: Kind::Table,
            format: "delta".into(),
            columns: vec![("id".into(), "Int64".into(), false)],
            rows: Some(rows),
            ..Facts::default()
        }
    }

    #[test]
    fn two_writers_at_once_keep_every_change_across_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // One writer through the direct file system paths, one through object_store.
        let a = catalog_at(dir.path(), &rt, true);
        let b = catalog(dir.path(), &rt);
        let (a, b) = (a.by("a"), b.by("b"));
        a.record_commit("silver/t", facts(1), None).unwrap();
        // Enough records from both to cross several snapshots (and their clean-ups).
        std::thread::scope(|s| {
            for (who, c) in [("a", &a), ("b", &b)] {
                s.spawn(move || {
                    for i in 0..(SNAPSHOT_EVERY + 20) {
                        c.tag("silver/t", &[&format!("{who}{i}")]).unwrap();
                    }
                });
            }
        });
        let fresh = catalog(dir.path(), &rt);
        for c in [&a, &b, &fresh] {
            let e = c.entry("silver/t").unwrap().unwrap();
            assert_eq!(e.tags.len() as u64, 2 * (SNAPSHOT_EVERY + 20));
            assert_eq!(e.rows, Some(1));
        }
        let snapshots = std::fs::read_dir(dir.path().join("_catalog/snapshot"))
            .unwrap()
            .count();
        assert!((1..=2).contains(&snapshots), "{snapshots} snapshots kept");
        let records = std::fs::read_dir(dir.path().join("_catalog/log"))
            .unwrap()
            .count();
        assert!(
            records as u64 <= 2 * SNAPSHOT_EVERY + 2,
            "{records} records kept"
        );
        assert!(fresh.verify().unwrap().is_empty());
    }

    #[test]
    fn damage_is_detected_named_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let c = catalog(dir.path(), &rt);
        c.record_commit("silver/t", facts(1), None).unwrap();
        c.record_commit("silver/gone", facts(1), None).unwrap();
        c.tag("silver/t", &["keep"]).unwrap();
        c.record_commit("silver/t", facts(2), None).unwrap();
        // Flip a byte of the second record.
        let second = dir.path().join(format!("_catalog/log/{:020}.json", 2));
        let mut bytes = std::fs::read(&second).unwrap();
        let n = bytes.len();
        bytes[n - 2] ^= 1;
        std::fs::write(&second, bytes).unwrap();
        let fresh = catalog(dir.path(), &rt);
        let err = fresh.entries().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(
            err.to_string().contains("log/00000000000000000002.json"),
            "{err}"
        );
        assert!(err.to_string().contains("strata catalog rebuild"), "{err}");
        let damage = fresh.verify().unwrap();
        assert_eq!(
            damage.files,
            vec!["log/00000000000000000002.json".to_string()]
        );
        // A missing record in the middle is damage too.
        std::fs::remove_file(dir.path().join(format!("_catalog/log/{:020}.json", 3))).unwrap();
        assert_eq!(fresh.verify().unwrap().missing, vec![3]);
        let report = fresh.rebuild(vec![("silver/t".into(), facts(5))]).unwrap();
        assert_eq!(
            report.dropped,
            Vec::<String>::new(),
            "silver/gone's record was the damaged one"
        );
        assert_eq!(report.entries, 1);
        let e = fresh.entry("silver/t").unwrap().unwrap();
        assert_eq!(e.rows, Some(5));
        assert!(fresh.verify().unwrap().is_empty());
        // The old handle catches up too.
        assert_eq!(c.entry("silver/t").unwrap().unwrap().rows, Some(5));
        // Unknown entries: a clear error, nothing written.
        let err = c.tag("gold/none", &["x"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = c.tag("silver/t", &[" "]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let err = c.describe("silver/t", Some("nope"), "x").unwrap_err();
        assert!(err.to_string().contains("its columns are id"), "{err}");
    }
}
