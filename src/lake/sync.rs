//! `Lake::sync`: tier-to-tier sync, within the lake or into another lake's tier, checked
//! (admin on the lake; with another lake, admin there too) and audited like every lake call.

use super::governance::config_admin;
use super::Lake;
use crate::config::Action;
use crate::error::Result;
use crate::governance::Resource;
use crate::store::{Store, SyncDest, SyncReport, SyncRequest};

impl Lake {
    /// Makes tier `request.dest` (of this lake, or of the lake `request.dest_config`
    /// describes) hold what tier `request.source` holds: incremental by checksum and size,
    /// each copy verified, resumable after a crash, encrypted objects copied as ciphertext.
    /// With `options.dry_run` the report's actions are the plan and nothing changes.
    ///
    /// ```
    /// # fn main() -> strata::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let lake = strata::Lake::open_dir(dir.path())?;
    /// lake.put("raw/a.csv", b"id\n1\n".to_vec())?;
    /// let request = strata::store::SyncRequest {
    ///     source: "hot".into(),
    ///     dest: "cold".into(),
    ///     ..Default::default()
    /// };
    /// assert_eq!(lake.sync(&request)?.copied, 1);
    /// assert_eq!(lake.sync(&request)?.skipped, 1); // unchanged: not read, not copied
    /// # Ok(()) }
    /// ```
    pub fn sync(&self, request: &SyncRequest) -> Result<SyncReport> {
        self.sync_with_progress(request, &|_, _| {})
    }

    /// [`Lake::sync`] with `progress(done, total)` as copies and deletes end.
    pub fn sync_with_progress(
        &self,
        request: &SyncRequest,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<SyncReport> {
        self.governed(
            "sync",
            Action::Admin,
            Resource::Lake,
            || match &request.dest_config {
                None => self.store.sync(
                    &request.source,
                    SyncDest::Tier(&request.dest),
                    &request.options,
                    progress,
                ),
                Some(config) => {
                    if same_dir(&config.dir, self.dir()) {
                        return Err(crate::error::Error::invalid(
                            "the destination config names this lake's own data root; \
                             name the tier without --to-config",
                        ));
                    }
                    config_admin(config)?;
                    let other = Store::open(config)
                        .map_err(|e| e.with("destination", config.dir.display()))?;
                    let dest = SyncDest::Store {
                        store: &other,
                        tier: &request.dest,
                    };
                    self.store
                        .sync(&request.source, dest, &request.options, progress)
                }
            },
            |report| Some(report.bytes_copied),
        )
    }
}

/// Whether two data roots are one directory.
fn same_dir(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
