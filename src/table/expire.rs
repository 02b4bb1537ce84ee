//! Retention by file age: whole data files added before a cutoff are removed in one commit,
//! without reading or rewriting any of them (the rows of a file share its age). The removed
//! files stay on disk for time travel until a vacuum past the retention window deletes them.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use deltalake_core::protocol::DeltaOperation;

use super::change::ChangeReport;
use super::rewrite::Rewritten;
use super::Table;
use crate::error::Result;

impl Table {
    /// Removes every data file added before `before` (its Delta `modificationTime`) as one
    /// new version, a `DELETE` whose predicate names the cutoff; with `dry_run`, counts what
    /// it would remove and commits nothing. No file matched: no new version. The report's
    /// `rows_deleted` counts the removed files' rows (from their statistics).
    pub fn expire_files(&self, before: SystemTime, dry_run: bool) -> Result<ChangeReport> {
        let cutoff_ms = before
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let predicate = format!(
            "file added before {}",
            humantime::format_rfc3339_seconds(before)
        );
        let run = || {
            let target = self.target()?;
            let views = self.file_views(&target.table)?;
            let added: HashMap<String, i64> = views
                .iter()
                .map(|v| (v.path().to_string(), v.modification_time()))
                .collect();
            let mut done = Rewritten {
                report: ChangeReport::default(),
                removes: Vec::new(),
                adds: Vec::new(),
            };
            for (i, remove) in target.removes.iter().enumerate() {
                let old = added
                    .get(remove.path.as_str())
                    .is_some_and(|at| *at < cutoff_ms);
                if old {
                    done.report.rows_deleted += target.rows(i).unwrap_or(0);
                    done.removes.push(remove.clone());
                } else {
                    done.report.files_skipped += 1;
                }
            }
            if dry_run {
                done.report.files_removed = done.removes.len() as u64;
                return Ok(done.report);
            }
            let metrics = BTreeMap::from([
                ("numDeletedRows", done.report.rows_deleted),
                ("numCopiedRows", 0),
            ]);
            let operation = DeltaOperation::Delete {
                predicate: Some(predicate.clone()),
            };
            self.commit_change(&target, operation, metrics, done)
        };
        if dry_run {
            self.observers.check(&self.name, "SCAN", false)?;
            run()
        } else {
            self.observed("DELETE", run)
        }
    }
}
