//! A port for whoever owns a scan's data to see and shape it: admit or refuse the scan (its
//! projection and filter), change what each batch shows (masking), and hear how it ended
//! (auditing). The lake installs one on the scans of a principal's handle; `read` knows
//! nothing of principals, policies or logs.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::{Expr, ScanStats};
use crate::error::{Error, Result};

/// What a scan asks for.
#[derive(Debug, Clone, Copy)]
pub struct ScanShape<'a> {
    /// The projection; `None`: every column.
    pub columns: Option<&'a [String]>,
    /// The filter.
    pub filter: Option<&'a Expr>,
    /// Whether only a count is wanted (no values leave the scan).
    pub count_only: bool,
}

/// Sees every scan it is installed on (see the module docs). Called from the scan's threads.
pub trait ScanGuard: Send + Sync + std::fmt::Debug {
    /// Before anything is read: an error refuses the scan.
    fn admit(&self, shape: &ScanShape<'_>) -> Result<()>;
    /// The schema the consumer sees for output `schema`.
    fn output_schema(&self, schema: &SchemaRef) -> Result<SchemaRef>;
    /// An output batch as the consumer sees it.
    fn map(&self, batch: RecordBatch) -> Result<RecordBatch>;
    /// The scan ended (once per admitted scan).
    fn finished(&self, shape: &ScanShape<'_>, outcome: std::result::Result<&ScanStats, &Error>);
}
