//! Governance: who may do what (access.rs: `[access]` rules evaluated), and the
//! tamper-evident audit log (audit.rs). The lake checks and records its calls through them
//! (src/lake/governance.rs).

pub mod access;
pub mod audit;
pub mod reports;

pub use access::{AccessPolicy, Columns, Resource, HOST};
pub use audit::{
    verify, AuditEvent, AuditLog, AuditQuery, AuditRecord, EventRef, SegmentDigest, VerifyReport,
};
pub use reports::{
    ComplianceReport, Control, EraseReport, EraseRequest, ErasedTable, Framework, RetentionAction,
    Status,
};
