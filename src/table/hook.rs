//! What a table tells its owner about each write: that it started (with a run id), then that
//! it completed (with the table as its commit left it, what the handle's writes read, and,
//! for a merge, where each column came from) or failed. The lake uses it to keep the catalog
//! current, record lineage and emit OpenLineage events; the table itself knows nothing of any
//! of them.

use std::cell::RefCell;
use std::sync::Arc;

use super::TableInfo;
use crate::error::{Error, Result};

/// Something a table's writes read: a file, a lake object, or another table at a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `file`, `object`, `table` or `dataset`.
    pub kind: String,
    /// A path, key or `zone/name`.
    pub name: String,
    /// A table's version.
    pub version: Option<u64>,
}

impl Source {
    /// A file outside the lake.
    pub fn file(path: impl Into<String>) -> Source {
        Source {
            kind: "file".into(),
            name: path.into(),
            version: None,
        }
    }

    /// A table at `version`.
    pub fn table(name: impl Into<String>, version: Option<u64>) -> Source {
        Source {
            kind: "table".into(),
            name: name.into(),
            version,
        }
    }

    /// A lake object.
    pub fn object(key: impl Into<String>) -> Source {
        Source {
            kind: "object".into(),
            name: key.into(),
            version: None,
        }
    }
}

/// Where one output column came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSource {
    /// The table's column.
    pub column: String,
    /// The source columns: `(index in the sources, column)`.
    pub from: Vec<(usize, String)>,
    /// How (`merge`, `identity`, ...).
    pub transformation: String,
}

/// A commit that landed.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The table at the new version.
    pub info: TableInfo,
    /// The operation (`CREATE TABLE`, `WRITE`, `MERGE`, `DELETE`, `OPTIMIZE`, ...).
    pub operation: String,
    /// What the writes read ([`super::Table::reading`]).
    pub sources: Vec<Source>,
    /// Where output columns came from, when the operation knows.
    pub columns: Vec<ColumnSource>,
}

/// A write of a table, as its hook hears of it. Every `Started` is followed by one
/// `Completed` or `Failed` with the same run id, on the same thread.
#[derive(Debug)]
pub enum WriteEvent<'a> {
    /// A write began.
    Started {
        /// A fresh UUID for this write.
        run: &'a str,
        /// The table's name.
        table: &'a str,
        /// The operation (`CREATE TABLE`, `WRITE`, `MERGE`, ...).
        operation: &'a str,
        /// What the writes read.
        sources: &'a [Source],
    },
    /// It ended well: with the commit it made, or none (nothing to change).
    Completed {
        /// The run id `Started` gave.
        run: &'a str,
        /// The table's name.
        table: &'a str,
        /// The operation.
        operation: &'a str,
        /// The commit, when one was made.
        committed: Option<&'a Committed>,
    },
    /// It failed; nothing was committed.
    Failed {
        /// The run id `Started` gave.
        run: &'a str,
        /// The table's name.
        table: &'a str,
        /// The operation.
        operation: &'a str,
        /// Why.
        error: &'a Error,
    },
}

/// Told of each write of a table handle; keep it cheap. It cannot fail the write: it reports
/// its own failures.
pub type WriteHook = dyn Fn(&WriteEvent<'_>) + Send + Sync;

/// Asked before each operation of a table handle; an error refuses it. The lake's access
/// control (and its audit of reads) comes in here; the table knows nothing of principals.
pub trait TableGate: Send + Sync {
    /// Before `operation` (`SCAN`, `HISTORY`, `INFO`, `WRITE`, `MERGE`, `VACUUM`, ...) of
    /// `table`; `write` tells changes from reads.
    fn check(&self, table: &str, operation: &str, write: bool) -> Result<()>;
    /// The guard of a scan of `table` at `version` (masking, the audit record of the read).
    fn scan_guard(&self, table: &str, version: u64) -> Option<Arc<dyn crate::read::ScanGuard>>;
}

/// The hook, gate and sources a handle carries.
#[derive(Clone, Default)]
pub(super) struct Observers {
    pub(super) hook: Option<Arc<WriteHook>>,
    pub(super) gate: Option<Arc<dyn TableGate>>,
    pub(super) sources: Vec<Source>,
}

thread_local! {
    /// The commit the write running on this thread made, for its `Completed` event.
    static LANDED: RefCell<Option<Committed>> = const { RefCell::new(None) };
}

/// Keeps `committed` for the `Completed` event of the write running on this thread.
pub(super) fn landed(committed: Committed) {
    LANDED.with(|l| *l.borrow_mut() = Some(committed));
}

impl Observers {
    /// The gate's word on `operation` of `table`; without a gate, yes.
    pub(super) fn check(&self, table: &str, operation: &str, write: bool) -> Result<()> {
        match &self.gate {
            Some(gate) => gate.check(table, operation, write),
            None => Ok(()),
        }
    }

    /// Runs `write` (an `operation` of `table`) between its `Started` and its `Completed` or
    /// `Failed` events.
    pub(super) fn observe<T>(
        &self,
        table: &str,
        operation: &str,
        write: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        self.check(table, operation, true)?;
        let Some(hook) = &self.hook else {
            return write();
        };
        let run = crate::ids::uuid_v4();
        LANDED.with(|l| l.borrow_mut().take());
        hook(&WriteEvent::Started {
            run: &run,
            table,
            operation,
            sources: &self.sources,
        });
        let out = write();
        let committed = LANDED.with(|l| l.borrow_mut().take());
        match &out {
            Ok(_) => hook(&WriteEvent::Completed {
                run: &run,
                table,
                operation: committed
                    .as_ref()
                    .map_or(operation, |c| c.operation.as_str()),
                committed: committed.as_ref(),
            }),
            Err(error) => hook(&WriteEvent::Failed {
                run: &run,
                table,
                operation,
                error,
            }),
        }
        out
    }
}
