//! Data quality from C: profiles and rule checks of an Arrow C Stream or a Parquet path, with
//! JSON reports out.

use std::ffi::c_char;

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::datatypes::SchemaRef;
use arrow::ffi_stream::FFI_ArrowArrayStream;
use serde::Serialize;

use super::args;
use super::guard::{guard, strata_status};
use super::stream::{arrow_error, take_stream};
use crate::{
    quality::{
        check_batches, profile_batches, CheckOptions, ColumnSummary, ProfileOptions, QualityReport,
        RuleSet,
    },
    Result, Scan,
};

#[derive(Serialize)]
struct ProfileJson {
    rows: u64,
    columns: Vec<ColumnSummary>,
}

fn profile_json(batches: &[RecordBatch], json: *mut *mut c_char) -> Result<()> {
    let profile = profile_batches(batches, &ProfileOptions::default())?;
    let out = ProfileJson {
        rows: profile.rows(),
        columns: profile.summary(),
    };
    args::put_json(json, "json", &out)
}

/// Rules as TOML (the rules-file format) or, when the text starts with `{`, as JSON.
pub(super) fn rules(text: *const c_char) -> Result<RuleSet> {
    let text = args::text(text, "rules")?;
    if text.trim_start().starts_with('{') {
        RuleSet::from_json_str(text)
    } else {
        RuleSet::from_toml_str(text)
    }
}

fn report_json(report: &QualityReport, json: *mut *mut c_char) -> Result<()> {
    // Compact, like every other JSON result of the C ABI (`to_json` pretty-prints for people).
    args::put_json(json, "json", report)
}

/// The stream's schema and batches; the schema is kept so that a rule on a column the stream
/// lacks is an error even when the stream has no batches.
fn collect(stream: *mut FFI_ArrowArrayStream) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let reader = take_stream(stream)?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(arrow_error)?;
    Ok((schema, batches))
}

fn scan_all(path: *const c_char) -> Result<Vec<RecordBatch>> {
    let path = args::text(path, "path")?;
    Ok(Scan::new(path).run()?.batches)
}

/// Profiles every column of the batches of `stream` (consumed and released, even on error).
/// `*json` receives `{"rows": N, "columns": [{"name", "data_type", "kind", "rows", "nulls",
/// "min", "max", "mean", ...}]}`; free it with `strata_string_free`.
#[no_mangle]
pub extern "C" fn strata_profile_stream(
    stream: *mut FFI_ArrowArrayStream,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        let batches = collect(stream);
        args::out_ptr(json, "json")?;
        profile_json(&batches?.1, json)
    })
}

/// Profiles the Parquet file or dataset directory at `path`; output as `strata_profile_stream`.
#[no_mangle]
pub extern "C" fn strata_profile_file(
    path: *const c_char,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        profile_json(&scan_all(path)?, json)
    })
}

/// Checks the batches of `stream` (consumed and released, even on error) against `rules`, a
/// rules file's text (TOML, or JSON when it starts with `{`). `*json` receives the quality
/// report (rows, passed, score, dataset, results); free it with `strata_string_free`. A failed
/// rule is a result in the report, not an error status.
#[no_mangle]
pub extern "C" fn strata_check_stream(
    stream: *mut FFI_ArrowArrayStream,
    rules: *const c_char,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        let batches = collect(stream);
        args::out_ptr(json, "json")?;
        let rules = self::rules(rules)?;
        let (schema, batches) = batches?;
        rules.check_columns(&schema)?;
        report_json(
            &check_batches(&batches, &rules, &CheckOptions::default())?,
            json,
        )
    })
}

/// Checks the Parquet file or dataset directory at `path` against `rules`; output as
/// `strata_check_stream`.
#[no_mangle]
pub extern "C" fn strata_check_file(
    path: *const c_char,
    rules: *const c_char,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let rules = self::rules(rules)?;
        let path = args::text(path, "path")?;
        report_json(
            &Scan::new(path).check(&rules, &CheckOptions::default())?,
            json,
        )
    })
}
