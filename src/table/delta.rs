//! The Delta log through `deltalake-core`: a table's URL, opening a table at a version, and
//! deltalake's errors as strata's (one kind per cause, with the table named).

use std::path::Path;
use std::sync::Arc;

use deltalake_core::kernel::transaction::TransactionError;
use deltalake_core::logstore::{default_logstore, LogStoreRef, ObjectStoreRef, StorageConfig};
use deltalake_core::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use object_store::prefix::PrefixStore;
use url::Url;

use super::home::{Home, TableStore};
use crate::error::{Error, ErrorKind, Result};

/// The URL of the table stored in directory `dir` (absolute, ending in `/`).
pub(crate) fn dir_url(dir: &Path) -> Result<Url> {
    let absolute = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("cannot find the working directory", dir, e))?
            .join(dir)
    };
    Url::from_directory_path(&absolute).map_err(|()| {
        Error::invalid("a table directory must be an absolute, UTF-8 path")
            .with("path", absolute.display())
    })
}

/// The table `name` at `url` in `home`, not loaded (for creating one).
pub(crate) fn unloaded(home: &Home, url: &Url, name: &str) -> Result<DeltaTable> {
    match home {
        Home::Dir(_) => DeltaTableBuilder::from_url(url.clone())
            .and_then(DeltaTableBuilder::build)
            .map_err(|e| delta_error(e, name)),
        Home::Objects(at) => Ok(DeltaTable::new(object_log_store(at))),
    }
}

/// The table `name` at `url` in `home`, loaded at `version` (the latest when `None`).
pub(crate) async fn load(
    home: &Home,
    url: &Url,
    name: &str,
    version: Option<u64>,
) -> Result<DeltaTable> {
    if let Home::Objects(at) = home {
        let mut table = DeltaTable::new(object_log_store(at));
        let loaded = match version {
            Some(version) => table.load_version(version).await,
            None => table.load().await,
        };
        loaded.map_err(|e| delta_error(e, name))?;
        return Ok(table);
    }
    let mut builder = DeltaTableBuilder::from_url(url.clone()).map_err(|e| delta_error(e, name))?;
    if let Some(version) = version {
        builder = builder.with_version(version);
    }
    builder.load().await.map_err(|e| delta_error(e, name))
}

/// deltalake's log store over a table on an object store, built here rather than through
/// deltalake's registry of URL schemes (which ships no `s3://` entry, and which strata leaves
/// as the host set it up). Commits are put-if-absent (`If-None-Match: *` on S3), so two
/// writers never both write one version.
fn object_log_store(at: &TableStore) -> LogStoreRef {
    let prefixed: ObjectStoreRef = Arc::new(PrefixStore::new(at.store.clone(), at.prefix.clone()));
    default_logstore(
        prefixed,
        at.store.clone(),
        &at.url,
        &StorageConfig::default(),
    )
}

/// deltalake's error as strata's, naming `table`.
pub(crate) fn delta_error(e: DeltaTableError, table: &str) -> Error {
    let kind = match &e {
        DeltaTableError::NotATable(_) | DeltaTableError::InvalidTableLocation(_) => {
            ErrorKind::NotFound
        }
        DeltaTableError::InvalidVersion(_) => ErrorKind::NotFound,
        DeltaTableError::VersionAlreadyExists(_) => ErrorKind::Busy,
        DeltaTableError::Transaction { source } => match source {
            TransactionError::VersionAlreadyExists(_)
            | TransactionError::CommitConflict(_)
            | TransactionError::MaxCommitAttempts(_) => ErrorKind::Busy,
            TransactionError::UnsupportedTableFeatures(_)
            | TransactionError::TableFeaturesRequired(_)
            | TransactionError::DeltaTableAppendOnly => ErrorKind::Unsupported,
            _ => ErrorKind::Io,
        },
        DeltaTableError::InvalidJsonLog { .. }
        | DeltaTableError::InvalidStatsJson { .. }
        | DeltaTableError::InvalidData { .. }
        | DeltaTableError::Parquet { .. }
        | DeltaTableError::SerializeLogJson { .. } => ErrorKind::Corrupt,
        DeltaTableError::UnsupportedColumnMapping { .. }
        | DeltaTableError::MissingFeature { .. } => ErrorKind::Unsupported,
        DeltaTableError::ObjectStore { .. } | DeltaTableError::Io { .. } => ErrorKind::Io,
        DeltaTableError::SchemaMismatch { .. } | DeltaTableError::InvalidPartitionFilter { .. } => {
            ErrorKind::InvalidArgument
        }
        DeltaTableError::KernelError(k) => kernel_kind(k),
        _ => ErrorKind::Io,
    };
    let full = e.to_string();
    if let Some((after, before)) = log_gap(&full) {
        let missing = if before + 1 == after - 1 {
            format!("version {} is", before + 1)
        } else {
            format!("versions {} to {} are", before + 1, after - 1)
        };
        return Error::new(
            ErrorKind::Corrupt,
            format!(
                "delta table: the log has a gap: commit {missing} missing between versions {before} and {after} (a deleted or never-copied _delta_log entry)"
            ),
        )
        .with("table", table)
        .set_source(e);
    }
    let message = one_line(&full);
    Error::new(kind, format!("delta table: {message}"))
        .with("table", table)
        .set_source(e)
}

fn kernel_kind(e: &delta_kernel::Error) -> ErrorKind {
    use delta_kernel::Error as K;
    match e {
        K::Backtraced { source, .. } => kernel_kind(source),
        K::Arrow(
            arrow::error::ArrowError::JsonError(_)
            | arrow::error::ArrowError::ParseError(_)
            | arrow::error::ArrowError::InvalidArgumentError(_),
        ) => ErrorKind::Corrupt,
        K::Unsupported(_) | K::InvalidColumnMappingMode(_) | K::ChangeDataFeedUnsupported(_) => {
            ErrorKind::Unsupported
        }
        K::FileNotFound(_) | K::MissingVersion | K::InvalidTableLocation(_) => ErrorKind::NotFound,
        K::MalformedJson(_)
        | K::InvalidCheckpoint(_)
        | K::InvalidProtocol(_)
        | K::MissingMetadata
        | K::MissingProtocol
        | K::MissingMetadataAndProtocol
        | K::InvalidLogPath(_)
        | K::LogTailVersionsNotContiguous { .. }
        | K::InvalidPartitionValues(_)
        | K::InvalidStructData(_) => ErrorKind::Corrupt,
        _ => ErrorKind::Io,
    }
}

/// The versions around a gap in the log, from the kernel's "Expected contiguous commit files,
/// but found gap: <path of version A> -> <path of version B>" (which it reports as a generic
/// error): `(B, A)`.
fn log_gap(text: &str) -> Option<(u64, u64)> {
    if !text.contains("contiguous commit files") {
        return None;
    }
    let versions: Vec<u64> = text
        .split("version: ")
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    match versions[..] {
        [before, after, ..] if after > before + 1 => Some((after, before)),
        _ => None,
    }
}

/// The first line of `text`, without its trailing punctuation noise.
fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}
