//! What a table tells its owner after each commit: the table as the commit left it, the
//! operation, what the handle's writes read, and (for a merge) where each column came from.
//! The lake uses it to keep the catalog current and record lineage; the table itself knows
//! nothing of either.

use std::sync::Arc;

use super::TableInfo;

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

/// Called after each commit of a table handle; keep it cheap. It cannot fail the commit,
/// which has landed: it reports its own failures.
pub type CommitHook = dyn Fn(&Committed) + Send + Sync;

/// The hook and sources a handle carries.
#[derive(Clone, Default)]
pub(super) struct Observers {
    pub(super) hook: Option<Arc<CommitHook>>,
    pub(super) sources: Vec<Source>,
}
