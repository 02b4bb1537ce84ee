//! The lake's two governance ports: the [`ScanGuard`] of a principal's scan (its column
//! grants, its masking view, the audit record of the read) and the [`TableGate`] of a lake
//! table's handle.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::Lake;
use crate::config::Action;
use crate::error::{Error, ErrorKind, Result};
use crate::governance::access::{Columns, Resource};
use crate::governance::audit::AuditEvent;
use crate::mask::RoleMask;
use crate::read::{ScanGuard, ScanShape, ScanStats};
use crate::table::TableGate;

/// A principal's view of one scan: its column grants, its masking view, and the audit
/// record of what it read.
pub(super) struct LakeScanGuard {
    pub(super) lake: Lake,
    pub(super) resource: String,
    pub(super) version: Option<u64>,
    pub(super) columns: Columns,
    pub(super) mask: Option<RoleMask>,
    pub(super) audited: bool,
}

impl std::fmt::Debug for LakeScanGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeScanGuard")
            .field("principal", &self.lake.principal())
            .field("resource", &self.resource)
            .finish()
    }
}

impl LakeScanGuard {
    fn refuse(&self, shape: &ScanShape<'_>, why: String) -> Error {
        let principal = self.lake.principal();
        let e = Error::new(
            ErrorKind::PermissionDenied,
            format!("{principal} may not read {}: {why}", self.resource),
        )
        .with("principal", principal)
        .with("action", "read")
        .with("resource", &self.resource);
        let mut event = self.event(shape);
        event.outcome = "denied".into();
        event.detail = Some(e.to_string());
        // The denial stands even if it cannot be recorded; the record's failure is logged.
        if let Err(log) = self.lake.audit(event) {
            tracing::error!("cannot record a denied scan in the audit log: {log}");
        }
        e
    }

    fn event(&self, shape: &ScanShape<'_>) -> AuditEvent {
        let mut event = self.lake.event(
            if shape.count_only { "count" } else { "scan" },
            self.resource.clone(),
        );
        event.columns = shape.columns.map(<[String]>::to_vec).unwrap_or_default();
        event.detail = shape.filter.map(|f| format!("filter {f}"));
        event.version = self.version;
        event
    }
}

impl ScanGuard for LakeScanGuard {
    fn admit(&self, shape: &ScanShape<'_>) -> Result<()> {
        let filter_columns = shape.filter.map(|f| f.columns()).unwrap_or_default();
        if let Columns::Only(allowed) = &self.columns {
            let Some(projection) = shape.columns else {
                return Err(self.refuse(
                    shape,
                    format!(
                        "it may read only columns {}: project them",
                        allowed.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            };
            let top = |c: &str| c.split('.').next().unwrap_or(c).to_string();
            for c in projection
                .iter()
                .map(|c| top(c))
                .chain(filter_columns.iter().map(|c| top(c)))
            {
                if !allowed.contains(&c) {
                    return Err(self.refuse(shape, format!("no grant covers column {c:?}")));
                }
            }
        }
        if let Some(mask) = &self.mask {
            if let Some(projection) = shape.columns {
                let names: Vec<&str> = projection.iter().map(String::as_str).collect();
                mask.check_columns(&names)
                    .map_err(|e| self.refuse(shape, e.message().to_string()))?;
            }
            mask.check_filter_columns(&filter_columns)
                .map_err(|e| self.refuse(shape, e.message().to_string()))?;
        }
        Ok(())
    }

    fn output_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        match &self.mask {
            Some(mask) => Ok(mask
                .apply(&RecordBatch::new_empty(schema.clone()))?
                .schema()),
            None => Ok(schema.clone()),
        }
    }

    fn map(&self, batch: RecordBatch) -> Result<RecordBatch> {
        match &self.mask {
            Some(mask) => mask.apply(&batch),
            None => Ok(batch),
        }
    }

    fn finished(&self, shape: &ScanShape<'_>, outcome: std::result::Result<&ScanStats, &Error>) {
        if !self.audited {
            return;
        }
        let mut event = self.event(shape);
        match outcome {
            Ok(stats) => {
                event.rows = Some(stats.rows_out);
                event.outcome = "ok".into();
            }
            Err(e) => event.outcome = e.kind().name().into(),
        }
        if let Err(e) = self.lake.audit(event) {
            tracing::error!("cannot record a scan in the audit log: {e}");
        }
    }
}

/// A lake table handle's gate: the principal's grants on the table, and the audit records of
/// its reads (its writes are recorded by the write hook, with their versions).
pub(super) struct LakeTableGate {
    pub(super) lake: Lake,
}

impl TableGate for LakeTableGate {
    fn check(&self, table: &str, operation: &str, write: bool) -> Result<()> {
        let need = if write { Action::Write } else { Action::Read };
        let verb = format!("table.{}", operation.to_ascii_lowercase().replace(' ', "_"));
        self.lake.authorize(&verb, need, Resource::Table(table))?;
        // Scans are recorded when they end; writes by the write hook; other reads here.
        if !write && operation != "SCAN" && self.lake.audits(Action::Read) {
            let mut event = self.lake.event(&verb, Resource::Table(table).audit_name());
            event.outcome = "ok".into();
            self.lake.audit(event)?;
        }
        Ok(())
    }

    fn scan_guard(&self, table: &str, version: u64) -> Option<Arc<dyn ScanGuard>> {
        // `check` already authorized the scan; a failure to prepare the masking view must not
        // give the clear values: refuse every batch.
        match self.lake.scan_guard(Resource::Table(table), Some(version)) {
            Ok(guard) => guard,
            Err(e) => Some(Arc::new(Refused(e.to_string()))),
        }
    }
}

/// A scan that may not run, for a reason found too late to return it directly.
#[derive(Debug)]
struct Refused(String);

impl ScanGuard for Refused {
    fn admit(&self, _: &ScanShape<'_>) -> Result<()> {
        Err(Error::new(ErrorKind::PermissionDenied, self.0.clone()))
    }
    fn output_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        Ok(schema.clone())
    }
    fn map(&self, _: RecordBatch) -> Result<RecordBatch> {
        Err(Error::new(ErrorKind::PermissionDenied, self.0.clone()))
    }
    fn finished(&self, _: &ScanShape<'_>, _: std::result::Result<&ScanStats, &Error>) {}
}
