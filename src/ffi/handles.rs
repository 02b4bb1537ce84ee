//! The policy and report handles: a masking policy parsed once and used for many streams, and
//! a check report whose verdict C code reads without parsing JSON.

use std::ffi::c_char;

use arrow::ffi_stream::FFI_ArrowArrayStream;

use super::args;
use super::guard::{guard, guard_void, strata_status};
use super::stream::{clear_out_stream, take_stream};
use crate::{
    mask::MaskPolicy,
    quality::{CheckOptions, QualityReport, RuleSet},
    Result, Scan,
};

/// A parsed, checked masking policy. Free it with `strata_policy_free`.
pub struct strata_policy {
    policy: MaskPolicy,
}

/// The outcome of a rules check. Free it with `strata_report_free`.
pub struct strata_report {
    report: QualityReport,
}

fn policy<'a>(ptr: *const strata_policy) -> Result<&'a MaskPolicy> {
    // SAFETY: non-NULL handles come from strata_policy_open and live until freed.
    unsafe { ptr.as_ref() }
        .map(|p| &p.policy)
        .ok_or_else(|| crate::Error::new(crate::ErrorKind::InvalidArgument, "policy is NULL"))
}

fn report<'a>(ptr: *const strata_report) -> Result<&'a QualityReport> {
    // SAFETY: non-NULL handles come from strata_check_file_report and live until freed.
    unsafe { ptr.as_ref() }
        .map(|r| &r.report)
        .ok_or_else(|| crate::Error::new(crate::ErrorKind::InvalidArgument, "report is NULL"))
}

/// Parses and checks the masking policy `toml` once; `*out` receives a handle for
/// `strata_mask_stream_policy`.
#[no_mangle]
pub extern "C" fn strata_policy_open(
    toml: *const c_char,
    out: *mut *mut strata_policy,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let policy = MaskPolicy::from_toml_str(args::text(toml, "toml")?)?;
        args::put(
            out,
            "out",
            Box::into_raw(Box::new(strata_policy { policy })),
        )
    })
}

/// Frees a policy; NULL is ignored.
#[no_mangle]
pub extern "C" fn strata_policy_free(policy: *mut strata_policy) {
    guard_void(|| {
        if !policy.is_null() {
            // SAFETY: the pointer came from Box::into_raw in strata_policy_open, freed once.
            drop(unsafe { Box::from_raw(policy) });
        }
    })
}

/// As `strata_mask_stream`, with a policy handle instead of its text.
#[no_mangle]
pub extern "C" fn strata_mask_stream_policy(
    input: *mut FFI_ArrowArrayStream,
    policy: *const strata_policy,
    role: *const c_char,
    keys_json: *const c_char,
    out: *mut FFI_ArrowArrayStream,
) -> strata_status {
    guard(|| {
        // Taken before any other argument is checked, so it is released on every path.
        let input = take_stream(input)?;
        clear_out_stream(out)?;
        super::mask::mask_into(input, self::policy(policy)?, role, keys_json, out)
    })
}

/// Checks the Parquet file or dataset directory at `path` against `rules` (TOML, or JSON when
/// it starts with `{`); `*out` receives a report handle. A failed rule is in the report, not
/// an error status.
#[no_mangle]
pub extern "C" fn strata_check_file_report(
    path: *const c_char,
    rules: *const c_char,
    out: *mut *mut strata_report,
) -> strata_status {
    guard(|| {
        args::out_ptr(out, "out")?;
        let text = args::text(rules, "rules")?;
        let rules = if text.trim_start().starts_with('{') {
            RuleSet::from_json_str(text)?
        } else {
            RuleSet::from_toml_str(text)?
        };
        let report =
            Scan::new(args::text(path, "path")?).check(&rules, &CheckOptions::default())?;
        args::put(
            out,
            "out",
            Box::into_raw(Box::new(strata_report { report })),
        )
    })
}

/// Whether no error-severity rule failed.
#[no_mangle]
pub extern "C" fn strata_report_passed(
    report: *const strata_report,
    out: *mut bool,
) -> strata_status {
    guard(|| {
        let passed = self::report(report)?.passed;
        args::put(out, "out", passed)
    })
}

/// The severity-weighted share of rules that held, from 0 to 1.
#[no_mangle]
pub extern "C" fn strata_report_score(
    report: *const strata_report,
    out: *mut f64,
) -> strata_status {
    guard(|| {
        let score = self::report(report)?.score;
        args::put(out, "out", score)
    })
}

/// The whole report as JSON; free `*json` with `strata_string_free`.
#[no_mangle]
pub extern "C" fn strata_report_json(
    report: *const strata_report,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let report = self::report(report)?;
        args::put_json(json, "json", report)
    })
}

/// Frees a report; NULL is ignored.
#[no_mangle]
pub extern "C" fn strata_report_free(report: *mut strata_report) {
    guard_void(|| {
        if !report.is_null() {
            // SAFETY: the pointer came from Box::into_raw in strata_check_file_report, freed once.
            drop(unsafe { Box::from_raw(report) });
        }
    })
}
