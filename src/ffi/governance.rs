//! Governance from C: lake handles acting as a principal (checked against `[access]` in the
//! config), the audit log (verify, show, seal), right-to-erasure requests and compliance
//! reports.

use std::ffi::c_char;

use serde::{Deserialize, Serialize};

use super::args;
use super::guard::{guard, invalid, strata_status};
use super::lake::{lake, strata_lake};
use crate::governance::{AuditQuery, EraseRequest, Framework, VerifyReport};
use crate::Result;

/// A JSON object argument that must parse as `T`; the message names the argument. Only an
/// object: serde would also fill a struct from an array, field by field in order.
fn parse_object<T: serde::de::DeserializeOwned>(text: &str, name: &str) -> Result<T> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("{name}: {e}")).set_source(e))?;
    if !value.is_object() {
        return Err(invalid(format!("{name}: expected a JSON object")));
    }
    serde_json::from_value(value).map_err(|e| invalid(format!("{name}: {e}")).set_source(e))
}

/// `strata_audit_show`'s query as JSON: every field optional, no other field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryJson {
    since_ms: Option<i64>,
    principal: Option<String>,
    resource: Option<String>,
    action: Option<String>,
    limit: Option<usize>,
}

impl From<QueryJson> for AuditQuery {
    fn from(q: QueryJson) -> AuditQuery {
        AuditQuery {
            since_ms: q.since_ms,
            principal: q.principal,
            resource: q.resource,
            action: q.action,
            limit: q.limit,
        }
    }
}

/// `strata_audit_verify`'s JSON: the report and its verdict.
#[derive(Serialize)]
struct Verified<'a> {
    #[serde(flatten)]
    report: &'a VerifyReport,
    intact: bool,
}

/// A new handle `*out` on the same open lake as `lake`, acting as `principal`: with an
/// `[access]` section in the config, every call made through it is checked against the
/// principal's grants, and a call they do not allow fails with `STRATA_PERMISSION_DENIED`
/// (the message names the principal, the action and the resource); with `[audit] enabled`,
/// its calls are recorded under the principal's name. Free it with `strata_lake_free`; the two
/// handles share the data root, which stays open until both are freed (in either order).
///
/// Returns `STRATA_INVALID_ARGUMENT` for a NULL argument or a principal that is empty, longer
/// than 128 bytes or holds control characters; `STRATA_PERMISSION_DENIED` for a principal the
/// `[access]` policy does not name (the refusal is audited; an audit log that cannot be written
/// gives its own status instead).
#[no_mangle]
pub extern "C" fn strata_lake_with_principal(
    lake: *const strata_lake,
    principal: *const c_char,
    out: *mut *mut strata_lake,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let lake = self::lake(lake)?;
        let principal = args::text(principal, "principal")?;
        let lake = lake.as_principal(principal)?;
        args::put(out, "out", Box::into_raw(Box::new(strata_lake { lake })))
    })
}

/// Who `lake` acts as, into `*principal` (free it with `strata_string_free`): the principal of
/// a handle from `strata_lake_with_principal`, else the config's `[access] default_principal`,
/// else `host` (the process itself, unrestricted). Returns `STRATA_INVALID_ARGUMENT` for a NULL
/// argument.
#[no_mangle]
pub extern "C" fn strata_lake_principal(
    lake: *const strata_lake,
    principal: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(principal, "principal")?;
        let lake = self::lake(lake)?;
        args::put_string(principal, "principal", lake.principal().to_string())
    })
}

/// Checks the whole audit log: every record's hash chain, every sealed segment against its
/// signed digest, no segment missing, none from another lake. `*report_json` (free it with
/// `strata_string_free`) receives `{"records": n, "segments": n, "problems": ["..."],
/// "warnings": ["..."], "intact": bool}` (`warnings`: segments sealed when the log was reopened
/// after its writer stopped); a damaged log is a report with problems and `"intact": false`, not an
/// error status.
///
/// Returns `STRATA_INVALID_ARGUMENT` for a NULL argument; `STRATA_CONFIG` when auditing is off
/// (`[audit] enabled = true` is not set); `STRATA_PERMISSION_DENIED` when the handle's
/// principal has no `admin` grant on the lake; `STRATA_NOT_FOUND` when nothing was audited yet
/// (the log's key does not exist); `STRATA_CORRUPT` or `STRATA_CRYPTO` when the log's key file
/// is damaged or cannot be unwrapped; `STRATA_IO` when the log cannot be read.
#[no_mangle]
pub extern "C" fn strata_audit_verify(
    lake: *const strata_lake,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(report_json, "report_json")?;
        let lake = self::lake(lake)?;
        let report = lake.audit_verify()?;
        let verified = Verified {
            intact: report.intact(),
            report: &report,
        };
        args::put_json(report_json, "report_json", &verified)
    })
}

/// The audit records `query_json` asks for, oldest first, into `*records_json` (free it with
/// `strata_string_free`): a JSON array of records, each `{"seq", "at" (ms since the epoch),
/// "process", "principal", "action" ("get", "put", "scan", "table.append", ...), "resource"
/// ("object:KEY", "table:ZONE/NAME", "lake"), "outcome" ("ok", "denied" or an error kind's
/// name), "prev", "hash"}` and, when known, `"columns"`, `"rows"`, `"bytes"`, `"version"`,
/// `"detail"`. `query_json` NULL (or "") gives every record; otherwise it is a JSON object,
/// every field optional and every field given must match: `{"since_ms": at or after,
/// "principal": "alice", "resource": "a part of it", "action": "get", "limit": the newest n}`.
///
/// Returns `STRATA_INVALID_ARGUMENT` for a NULL argument or a query that is not such JSON (an
/// unknown field included); `STRATA_CONFIG` when auditing is off; `STRATA_PERMISSION_DENIED`
/// when the handle's principal has no `admin` grant on the lake; `STRATA_IO` when the log
/// cannot be read.
#[no_mangle]
pub extern "C" fn strata_audit_show(
    lake: *const strata_lake,
    query_json: *const c_char,
    records_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(records_json, "records_json")?;
        let lake = self::lake(lake)?;
        let query = args::opt_text(query_json, "query_json")?
            .filter(|t| !t.trim().is_empty())
            .map(|t| parse_object::<QueryJson>(t, "query_json"))
            .transpose()?
            .map(AuditQuery::from)
            .unwrap_or_default();
        let records = lake.audit_show(&query)?;
        args::put_json(records_json, "records_json", &records)
    })
}

/// Seals the open segment of the audit log now (its digest signed with the log's key), so that
/// every record written so far is covered by a signature.
///
/// Returns `STRATA_INVALID_ARGUMENT` for a NULL `lake`; `STRATA_CONFIG` when auditing is off;
/// `STRATA_PERMISSION_DENIED` when the handle's principal has no `admin` grant on the lake;
/// `STRATA_IO` when the seal cannot be written.
#[no_mangle]
pub extern "C" fn strata_audit_seal(lake: *const strata_lake) -> strata_status {
    guard(|| self::lake(lake)?.audit_seal())
}

/// Erases a data subject (the right to erasure): deletes the rows whose identifier column
/// holds the subject's value from the tables the catalog marks (or those named), removes
/// matching objects under `[erasure] prefixes`, and writes an audit record. `request_json` is
/// `{"column": "email" (a column name or a classification), "value": "alice@example.com",
/// "tables": ["zone/name", ...] (optional; default: every classified table), "all_classified":
/// bool, "purge": bool (vacuum now: history is rewritten), "dry_run": bool (change nothing,
/// report what would go)}`. `*report_json` (free it with `strata_string_free`) receives
/// `{"column", "classification", "tables": [{"table", "column", "rows", "version",
/// "files_vacuumed", "files_pending_vacuum"}], "objects": [keys], "purged", "dry_run",
/// "audit_record"}`.
///
/// Returns `STRATA_INVALID_ARGUMENT` for a NULL argument, a request that is not such JSON (an
/// unknown field or a wrong type included), one whose `column` or `value` is empty, or one
/// naming a table the catalog does not have; `STRATA_PERMISSION_DENIED` when the handle's
/// principal has no `admin` grant on the lake (or may not delete an object the erasure
/// removes); otherwise the status of the step that failed.
#[no_mangle]
pub extern "C" fn strata_erase(
    lake: *const strata_lake,
    request_json: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(report_json, "report_json")?;
        let lake = self::lake(lake)?;
        let request: EraseRequest =
            parse_object(args::text(request_json, "request_json")?, "request_json")?;
        let report = lake.erase(&request)?;
        args::put_json(report_json, "report_json", &report)
    })
}

/// The compliance report of `framework` ("gdpr" or "hipaa", any case), computed from the live
/// lake (classified columns, encryption, access rules and masking, the audit log, keys), into
/// `*report_json` (free it with `strata_string_free`): `{"framework", "at" (ms since the
/// epoch), "controls": [{"id", "title", "status": "PASS" | "FAIL" | "WARN", "evidence":
/// ["..."]}], "score": 0 to 100}`. Failed controls are in the report, not an error status.
///
/// Returns `STRATA_INVALID_ARGUMENT` for a NULL argument or another framework;
/// `STRATA_PERMISSION_DENIED` when the handle's principal has no `admin` grant on the lake;
/// otherwise the status of the step that failed.
#[no_mangle]
pub extern "C" fn strata_compliance(
    lake: *const strata_lake,
    framework: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(report_json, "report_json")?;
        let lake = self::lake(lake)?;
        let framework = Framework::parse(args::text(framework, "framework")?)?;
        let report = lake.compliance(framework)?;
        args::put_json(report_json, "report_json", &report)
    })
}
