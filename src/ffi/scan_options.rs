//! The `options_json` of `strata_scan_opts` and `strata_lake_scan_opts`: a JSON object of
//! scan settings a host may choose beyond the columns and filter. An unknown key or a value of
//! the wrong type or out of its range is `STRATA_INVALID_ARGUMENT` naming the key; nothing is
//! scanned then.

use serde_json::{Map, Value};

use super::guard::invalid;
use crate::{Error, Result, Scan};

/// The keys `options_json` may have, in the order the header documents them.
pub(crate) const KEYS: &[&str] = &["string_views", "threads", "batch_size", "keep_order"];

/// Decoding threads: the range of `strata scan --threads`.
const THREADS: (u64, u64) = (1, 1024);
/// Rows per batch: at most 16Mi, so that one batch's offsets stay far from `i32::MAX`.
const BATCH_SIZE: (u64, u64) = (1, 1 << 24);

/// `scan` with what `json` (NULL or blank: nothing) sets.
pub(crate) fn apply(scan: Scan, json: Option<&str>) -> Result<Scan> {
    let Some(json) = json.filter(|j| !j.trim().is_empty()) else {
        return Ok(scan);
    };
    let value: Value = serde_json::from_str(json)
        .map_err(|e| invalid(format!("options_json is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(invalid(
            "options_json must be a JSON object, e.g. {\"string_views\": true, \"threads\": 2}",
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "unknown option {unknown:?} in options_json; the options are {}",
            KEYS.join(", ")
        ))
        .with("option", unknown));
    }
    let mut scan = scan;
    if let Some(yes) = flag(&map, "string_views")? {
        scan = scan.string_views(yes);
    }
    if let Some(yes) = flag(&map, "keep_order")? {
        scan = scan.keep_order(yes);
    }
    if let Some(n) = count(&map, "threads", THREADS)? {
        scan = scan.threads(to_usize(n, "threads")?);
    }
    if let Some(n) = count(&map, "batch_size", BATCH_SIZE)? {
        scan = scan.batch_size(to_usize(n, "batch_size")?);
    }
    Ok(scan)
}

fn bad(key: &str, expected: &str, got: impl std::fmt::Display) -> Error {
    invalid(format!("option {key:?} must be {expected}, not {got}")).with("option", key)
}

fn to_usize(n: u64, key: &str) -> Result<usize> {
    usize::try_from(n).map_err(|_| bad(key, "smaller on this platform", n))
}

/// A boolean; JSON `null` is the same as leaving the key out.
fn flag(map: &Map<String, Value>, key: &str) -> Result<Option<bool>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(bad(key, "true or false", other)),
    }
}

/// An integer in `range` (inclusive); JSON `null` is the same as leaving the key out.
fn count(map: &Map<String, Value>, key: &str, (min, max): (u64, u64)) -> Result<Option<u64>> {
    let expected = || format!("an integer from {min} to {max}");
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad(key, &expected(), n)),
        },
        Some(other) => Err(bad(key, &expected(), other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(json: &str) -> String {
        match apply(Scan::new("x.parquet"), Some(json)) {
            Ok(_) => panic!("{json} was accepted"),
            Err(e) => {
                assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{json}");
                e.to_string()
            }
        }
    }

    #[test]
    fn good_options_are_taken_and_blank_is_nothing() {
        apply(Scan::new("x.parquet"), None).unwrap();
        apply(Scan::new("x.parquet"), Some("  ")).unwrap();
        apply(
            Scan::new("x.parquet"),
            Some(r#"{"string_views": true, "threads": 2, "batch_size": 1000, "keep_order": null}"#),
        )
        .unwrap();
    }

    #[test]
    fn bad_options_are_errors_naming_the_key() {
        assert!(refused("{").contains("not valid JSON"));
        assert!(refused("[1]").contains("JSON object"));
        assert!(refused(r#"{"views": true}"#).contains("views"));
        assert!(refused(r#"{"string_views": "yes"}"#).contains("string_views"));
        assert!(refused(r#"{"threads": 0}"#).contains("threads"));
        assert!(refused(r#"{"threads": -1}"#).contains("threads"));
        assert!(refused(r#"{"batch_size": 1e9}"#).contains("batch_size"));
    }
}
