//! Keeping a table in shape: checkpoints every few commits, vacuum of files no version
//! needs, and restore to an earlier version.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use deltalake_core::checkpoints::create_checkpoint;
use deltalake_core::operations::vacuum::VacuumMode;
use deltalake_core::DeltaTable;
use serde::Serialize;

use super::home::Home;
use crate::error::{Error, ErrorKind, Result};

/// How long a removed file stays for time travel before vacuum may delete it, unless told
/// otherwise: Delta's default `delta.deletedFileRetentionDuration`, 7 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// What a vacuum did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VacuumReport {
    /// Whether anything was deleted.
    pub dry_run: bool,
    /// Data files no version within the retention period needs (paths relative to the table).
    pub files: Vec<String>,
    /// Staging files of writes that never finished (killed mid-file).
    pub staging: Vec<String>,
}

/// What a restore committed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RestoreReport {
    /// The version restored to.
    pub restored: u64,
    /// The new version the restore made.
    pub version: u64,
    /// Files the restore removed from the current version.
    pub files_removed: usize,
    /// Files it brought back.
    pub files_restored: usize,
}

/// Writes a checkpoint when `version` completes an interval of `interval` commits. A failure
/// only costs readers some log replay, so it is logged, never returned: the commit stands.
pub(crate) async fn checkpoint_if_due(table: &DeltaTable, version: u64, interval: u64) {
    if interval == 0 || !(version + 1).is_multiple_of(interval) {
        return;
    }
    if let Err(e) = create_checkpoint(table, None).await {
        tracing::warn!(version, error = %e, "table checkpoint failed; readers replay the log instead");
    }
}

/// Vacuums `table` (stored in `dir`): data files that no version within `retention` needs,
/// and staging files strata's writer left (`.<name>.strata-<hex>.partial`) older than that.
/// A retention under the default needs `force`, since it breaks time travel to versions
/// older than the retention and may delete files a slow concurrent writer is about to commit.
pub(crate) async fn vacuum(
    table: DeltaTable,
    home: &Home,
    retention: Duration,
    dry_run: bool,
    force: bool,
) -> std::result::Result<VacuumReport, VacuumError> {
    if retention < DEFAULT_RETENTION && !force {
        return Err(VacuumError::Strata(Error::invalid(format!(
            "a retention of {} is below the default {} and would break time travel to older \
             versions; pass the override (--force) to vacuum anyway",
            humantime::format_duration(retention),
            humantime::format_duration(DEFAULT_RETENTION)
        ))));
    }
    let period = chrono::Duration::from_std(retention)
        .map_err(|_| VacuumError::Strata(Error::invalid("retention period out of range")))?;
    let vacuum = |table: DeltaTable, dry_run: bool| {
        table
            .vacuum()
            .with_retention_period(period)
            .with_enforce_retention_duration(false)
            .with_mode(VacuumMode::Full)
            .with_dry_run(dry_run)
    };
    // deltalake lists the expired tombstones of files an earlier vacuum already deleted: the
    // report names only files that are there (a dry run first, then the real one).
    let (table, listed) = vacuum(table, true).await.map_err(VacuumError::Delta)?;
    let mut present: Vec<String> = Vec::new();
    for file in listed.files_deleted {
        let rel = relative(home, &file);
        if home.has_file(&rel).await {
            present.push(rel);
        }
    }
    if !dry_run && !present.is_empty() {
        vacuum(table, false).await.map_err(VacuumError::Delta)?;
    }
    let cutoff = SystemTime::now()
        .checked_sub(retention)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut staging = Vec::new();
    // Objects are uploaded whole: only a directory can hold a killed write's partial file.
    if let Home::Dir(dir) = home {
        sweep_staging(dir, dir, cutoff, dry_run, &mut staging).map_err(VacuumError::Strata)?;
    }
    let mut files = present;
    files.sort();
    staging.sort();
    Ok(VacuumReport {
        dry_run,
        files,
        staging,
    })
}

/// A vacuum's failure: deltalake's (mapped with the table's name by the caller) or strata's.
pub(crate) enum VacuumError {
    Delta(deltalake_core::DeltaTableError),
    Strata(Error),
}

/// `path` (a URL or path deltalake reports) relative to the table when it is in it.
fn relative(home: &Home, path: &str) -> String {
    let within = match home {
        Home::Dir(dir) => {
            let path = path.strip_prefix("file://").unwrap_or(path);
            path.strip_prefix(dir.to_string_lossy().as_ref())
                .map(str::to_string)
        }
        Home::Objects(at) => path
            .strip_prefix(at.url.as_str())
            .or_else(|| path.strip_prefix(at.prefix.as_ref()))
            .map(str::to_string),
    };
    within
        .map(|p| p.trim_start_matches('/').to_string())
        .unwrap_or_else(|| path.to_string())
}

/// Removes (or lists) writer staging files under `at` older than `cutoff`; `_delta_log` and
/// links are left alone.
fn sweep_staging(
    root: &Path,
    at: &Path,
    cutoff: SystemTime,
    dry_run: bool,
    found: &mut Vec<String>,
) -> Result<()> {
    let entries = match std::fs::read_dir(at) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("cannot list the table directory", at, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot list the table directory", at, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path: PathBuf = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("cannot stat", &path, e))?;
        if kind.is_dir() {
            if name != "_delta_log" {
                sweep_staging(root, &path, cutoff, dry_run, found)?;
            }
            continue;
        }
        if !kind.is_file() || !is_staging_name(&name) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| t < cutoff)
            .unwrap_or(false);
        if !old {
            continue;
        }
        if !dry_run {
            std::fs::remove_file(&path)
                .map_err(|e| Error::io("cannot remove a staging file", &path, e))?;
        }
        found.push(
            path.strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned(),
        );
    }
    Ok(())
}

/// `.<name>.strata-<16 hex>.partial`: a staging file of strata's output writer.
fn is_staging_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some(rest) = rest.strip_suffix(".partial") else {
        return false;
    };
    rest.rsplit_once(".strata-")
        .is_some_and(|(_, hex)| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Restores `table` to `version` as a new commit.
pub(crate) async fn restore(
    table: DeltaTable,
    version: u64,
) -> std::result::Result<(DeltaTable, RestoreReport), deltalake_core::DeltaTableError> {
    let (table, metrics) = table.restore().with_version_to_restore(version).await?;
    let new_version = table.version().unwrap_or(0);
    Ok((
        table,
        RestoreReport {
            restored: version,
            version: new_version,
            files_removed: metrics.num_removed_file,
            files_restored: metrics.num_restored_file,
        },
    ))
}

/// The error for restoring to `version` when the latest is `latest`.
pub(crate) fn restore_target_error(version: u64, latest: u64) -> Option<Error> {
    (version >= latest).then(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "cannot restore to version {version}: the latest is {latest}; restore goes back \
                 to an earlier version"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_strata_staging_names_are_swept() {
        assert!(is_staging_name(
            ".part-00000-ab.parquet.strata-0123456789abcdef.partial"
        ));
        for name in [
            "part-00000-ab.parquet",
            ".part.strata-0123.partial",
            ".x.strata-0123456789abcdeg.partial",
            "x.strata-0123456789abcdef.partial",
            "_delta_log",
        ] {
            assert!(!is_staging_name(name), "{name}");
        }
    }
}
