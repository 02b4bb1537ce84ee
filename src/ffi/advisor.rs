//! The lake tuning itself, from C: the advisor's recommendations (and applying the safe ones),
//! the monthly cost report and tier-to-tier sync, each as JSON, as `strata advise`, `strata
//! cost` and `strata sync` print them with `--json`.

use std::ffi::c_char;

use serde::Deserialize;

use super::args;
use super::guard::{guard, strata_status};
use super::lake::{lake, strata_lake};
use crate::config::LakeConfig;
use crate::error::{Error, ErrorKind};
use crate::store::{SyncOptions, SyncRequest};

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// The advisor's recommendations for the table, dataset or object prefix `name` (NULL or ""
/// for everything the lake has statistics on) as a JSON array into `*json` (free it with
/// `strata_string_free`): each with `kind`, `target`, `advice` (a sentence), `evidence`,
/// `effect` and `apply` (how `strata_lake_apply_advice` carries it out; null for advice
/// only). An empty array when nothing is recorded yet.
#[no_mangle]
pub extern "C" fn strata_lake_advise(
    lake: *const strata_lake,
    name: *const c_char,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let lake = self::lake(lake)?;
        let name = args::opt_text(name, "name")?.filter(|n| !n.is_empty());
        args::put_json(json, "json", &lake.advise(name)?)
    })
}

/// Computes the advice for `name` (as `strata_lake_advise`) and applies the recommendations
/// that can be applied safely (z-order, compaction and re-encoding as table commits that
/// change no row, tier moves), of kind `only` when it is not NULL or "" (`"zorder"`,
/// `"compaction"`, `"codec"`, `"tier"`, ...). With `dry_run`, changes nothing and says what it
/// would do. `*json` receives a JSON array, one entry per recommendation acted on (`kind`,
/// `target`, `action`, `outcome`, ...); free it with `strata_string_free`. Needs `admin` (or
/// the rights of each change) when the lake has `[access]`.
#[no_mangle]
pub extern "C" fn strata_lake_apply_advice(
    lake: *const strata_lake,
    name: *const c_char,
    only: *const c_char,
    dry_run: bool,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let lake = self::lake(lake)?;
        let name = args::opt_text(name, "name")?.filter(|n| !n.is_empty());
        let only = args::opt_text(only, "only")?.filter(|k| !k.is_empty());
        let recommendations = lake.advise(name)?;
        let applied = lake.apply_advice(&recommendations, only, dry_run)?;
        args::put_json(json, "json", &applied)
    })
}

/// The lake's monthly cost as JSON into `*json` (free it with `strata_string_free`): per tier
/// and per zone/table, from the bytes held and the recorded requests, priced with the
/// configured price table (`strata cost --json` prints the same).
#[no_mangle]
pub extern "C" fn strata_lake_cost(
    lake: *const strata_lake,
    json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::out_ptr(json, "json")?;
        let lake = self::lake(lake)?;
        args::put_json(json, "json", &lake.cost_report()?)
    })
}

/// How to sync: every key optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SyncJson {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    delete: bool,
    #[serde(default)]
    verify: bool,
    #[serde(default)]
    concurrency: Option<usize>,
    #[serde(default)]
    limit: Option<u64>,
    /// Path of another lake's configuration file, whose tier `dest` receives the copies.
    #[serde(default)]
    to_config: Option<String>,
}

/// Copies what tier `source` holds and tier `dest` lacks (or holds with another checksum or
/// size), as `strata sync SOURCE DEST` does: incremental from the tier index, each copy
/// verified, resumable after a crash, encrypted objects kept as ciphertext. `options_json`
/// (NULL or "" for the defaults) is `{"prefix": "logs/", "dry_run": false, "delete": false,
/// "verify": false, "concurrency": 8, "limit": N, "to_config": "dr.toml"}`, every key
/// optional (`to_config`: another lake's configuration file, whose tier `dest` receives the
/// copies). `*report_json` (may be NULL; free it with `strata_string_free`) receives the
/// report (`copied`, `bytes_copied`, `unchanged`, `deleted`, `failed`, ...).
///
/// Returns `STRATA_INVALID_ARGUMENT` for options that do not parse or an unknown tier,
/// `STRATA_CONFIG` for a `to_config` file that does not load, and `STRATA_IO` when some
/// copies failed (the report is still written: rerun to retry them).
#[no_mangle]
pub extern "C" fn strata_lake_sync(
    lake: *const strata_lake,
    source: *const c_char,
    dest: *const c_char,
    options_json: *const c_char,
    report_json: *mut *mut c_char,
) -> strata_status {
    guard(|| {
        args::put_opt(report_json, std::ptr::null_mut());
        let lake = self::lake(lake)?;
        let source = args::text(source, "source")?;
        let dest = args::text(dest, "dest")?;
        let options: SyncJson =
            match args::opt_text(options_json, "options_json")?.filter(|t| !t.trim().is_empty()) {
                Some(text) => serde_json::from_str(text)
                    .map_err(|e| invalid(format!("options_json: {e}")).set_source(e))?,
                None => SyncJson::default(),
            };
        let defaults = SyncOptions::default();
        let concurrency = options.concurrency.unwrap_or(defaults.concurrency);
        if !(1..=1024).contains(&concurrency) {
            return Err(invalid(format!(
                "options_json: concurrency {concurrency} is not 1 to 1024"
            )));
        }
        let dest_config = match &options.to_config {
            Some(path) => Some(LakeConfig::from_file(std::path::Path::new(path))?),
            None => None,
        };
        let request = SyncRequest {
            source: source.to_string(),
            dest: dest.to_string(),
            dest_config,
            options: SyncOptions {
                prefix: options.prefix,
                dry_run: options.dry_run,
                delete: options.delete,
                verify: options.verify,
                concurrency,
                limit: options.limit,
            },
        };
        let report = lake.sync(&request)?;
        if !report_json.is_null() {
            args::put_json(report_json, "report_json", &report)?;
        }
        if report.failed > 0 {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} sync steps failed; sync again to retry them",
                    report.failed
                ),
            ));
        }
        Ok(())
    })
}
