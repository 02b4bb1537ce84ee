//! Retention on tables: `[[table_retention]]` rules applied as table deletes (commits that
//! show in history and the audit log), by `strata table retention` and `strata tier run`.

use super::Lake;
use crate::error::{Error, ErrorKind, Result};
use crate::governance::RetentionAction;

impl Lake {
    /// Applies the retention rules to table `name` (or every table), or with `dry_run` lists
    /// what they would delete.
    pub fn table_retention(
        &self,
        name: Option<&str>,
        dry_run: bool,
    ) -> Result<Vec<RetentionAction>> {
        let _ = (name, dry_run);
        Err(Error::new(
            ErrorKind::Unsupported,
            "table retention: being built",
        ))
    }
}
