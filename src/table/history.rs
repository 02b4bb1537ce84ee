//! A table's history, read from its commit files: one entry per version still in the log,
//! newest first. strata parses the commit files itself (each line a JSON action) so that every
//! version is numbered and a damaged file is an error naming it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};

/// One commit of a table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryEntry {
    /// The table version the commit made.
    pub version: u64,
    /// When it was committed, in ms since the epoch (`None` if the commit does not say).
    pub timestamp_ms: Option<i64>,
    /// The operation (`CREATE TABLE`, `WRITE`, `DELETE`, `RESTORE`, ...).
    pub operation: Option<String>,
    /// The operation's parameters (mode, partitioning, predicate, ...).
    pub parameters: BTreeMap<String, Value>,
    /// Files the commit added and removed.
    pub files_added: u64,
    /// Files the commit removed (logically; vacuum deletes them later).
    pub files_removed: u64,
    /// Rows in the added files, when their statistics say.
    pub rows_added: Option<u64>,
    /// Bytes of the added files.
    pub bytes_added: u64,
    /// The engine that wrote the commit (`strata/0.1.0`, `delta-rs.1.x`, ...).
    pub engine: Option<String>,
    /// The writer's application id, when it gave one (`strataAppId`).
    pub app_id: Option<String>,
    /// The operation's metrics, as the writer recorded them (`numDeletedRows`,
    /// `numUpdatedRows`, `numTargetRowsInserted`, `numRemovedFiles`, ...).
    pub metrics: BTreeMap<String, Value>,
}

/// The entry for commit `version` from the bytes of its commit file. Junk is an error naming
/// the version and the line; unknown actions are skipped, as the protocol asks.
pub fn parse_commit(version: u64, bytes: &[u8]) -> Result<HistoryEntry> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::new(ErrorKind::Corrupt, "commit file is not UTF-8").with("version", version)
    })?;
    let mut entry = HistoryEntry {
        version,
        timestamp_ms: None,
        operation: None,
        parameters: BTreeMap::new(),
        files_added: 0,
        files_removed: 0,
        rows_added: Some(0),
        bytes_added: 0,
        engine: None,
        app_id: None,
        metrics: BTreeMap::new(),
    };
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let action: Value = serde_json::from_str(line).map_err(|e| {
            Error::new(
                ErrorKind::Corrupt,
                format!("commit file line {} is not a JSON action: {e}", n + 1),
            )
            .with("version", version)
        })?;
        let Some(object) = action.as_object() else {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("commit file line {} is not a JSON object", n + 1),
            )
            .with("version", version));
        };
        if let Some(add) = object.get("add") {
            entry.files_added += 1;
            entry.bytes_added += add.get("size").and_then(Value::as_u64).unwrap_or(0);
            let rows = add
                .get("stats")
                .and_then(Value::as_str)
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .and_then(|s| s.get("numRecords").and_then(Value::as_u64));
            entry.rows_added = match (entry.rows_added, rows) {
                (Some(total), Some(rows)) => Some(total + rows),
                _ => None,
            };
        }
        if object.contains_key("remove") {
            entry.files_removed += 1;
        }
        if let Some(info) = object.get("commitInfo").and_then(Value::as_object) {
            entry.timestamp_ms = info
                .get("inCommitTimestamp")
                .or_else(|| info.get("timestamp"))
                .and_then(Value::as_i64);
            entry.operation = info
                .get("operation")
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(params) = info.get("operationParameters").and_then(Value::as_object) {
                entry.parameters = params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            }
            entry.engine = info
                .get("engineInfo")
                .and_then(Value::as_str)
                .map(str::to_string);
            entry.app_id = info
                .get("strataAppId")
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(metrics) = info.get("operationMetrics").and_then(Value::as_object) {
                entry.metrics = metrics
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
            }
        }
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_count_files_rows_and_keep_the_operation() {
        let commit = br#"{"commitInfo":{"timestamp":1700000000000,"operation":"WRITE","operationParameters":{"mode":"Append"},"engineInfo":"strata","strataAppId":"etl"}}
{"add":{"path":"a.parquet","partitionValues":{},"size":10,"modificationTime":1,"dataChange":true,"stats":"{\"numRecords\":3}"}}
{"add":{"path":"b.parquet","partitionValues":{},"size":5,"modificationTime":1,"dataChange":true,"stats":"{\"numRecords\":4}"}}
{"remove":{"path":"c.parquet","dataChange":true}}
{"someFutureAction":{}}
"#;
        let e = parse_commit(7, commit).unwrap();
        assert_eq!(e.version, 7);
        assert_eq!(e.operation.as_deref(), Some("WRITE"));
        assert_eq!(e.timestamp_ms, Some(1_700_000_000_000));
        assert_eq!((e.files_added, e.files_removed), (2, 1));
        assert_eq!(e.rows_added, Some(7));
        assert_eq!(e.bytes_added, 15);
        assert_eq!(e.app_id.as_deref(), Some("etl"));
        assert_eq!(e.parameters["mode"], "Append");
    }

    #[test]
    fn junk_is_an_error_naming_the_version_and_line() {
        for bad in [&b"{\"add\": "[..], b"[1,2]", b"\xff\xfe"] {
            let e = parse_commit(3, bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
            assert!(e.to_string().contains('3'), "{e}");
        }
    }
}
