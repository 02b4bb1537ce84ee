//! Governance: the tamper-evident audit log (access control, retention on tables, erasure and
//! compliance reports build on it; see issue 27).

pub mod audit;

pub use audit::{verify, AuditEvent, AuditLog, AuditRecord, SegmentDigest, VerifyReport};
