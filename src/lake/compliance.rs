//! Compliance reports computed from the live lake: the catalog's classifications, the
//! tables' encryption, the access rules and masking views, the audit log, the keys.

use super::Lake;
use crate::error::{Error, ErrorKind, Result};
use crate::governance::{ComplianceReport, Framework};

impl Lake {
    /// The report of `framework`'s controls (`strata compliance`).
    pub fn compliance(&self, framework: Framework) -> Result<ComplianceReport> {
        let _ = framework;
        Err(Error::new(
            ErrorKind::Unsupported,
            "compliance: being built",
        ))
    }
}
