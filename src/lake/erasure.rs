//! The right to erasure: a subject's rows deleted from every table the catalog marks, the
//! files that held them vacuumed, matching objects removed, and an audit record.

use super::Lake;
use crate::error::{Error, ErrorKind, Result};
use crate::governance::{EraseReport, EraseRequest};

impl Lake {
    /// Erases a subject (`strata erase`): see [`EraseRequest`].
    pub fn erase(&self, request: &EraseRequest) -> Result<EraseReport> {
        let _ = request;
        Err(Error::new(ErrorKind::Unsupported, "erase: being built"))
    }
}
