//! The `strata` command-line tool: a thin layer over the library, one module per command group.

mod access;
mod advise;
mod audit;
mod bench;
mod catalog;
mod compact;
mod cost;
mod demo;
mod flags;
mod governance;
mod inspect;
mod key;
mod mask;
mod objects;
mod quality;
mod scan;
mod sync;
mod table;
mod tier;
mod util;
mod write;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use strata::LakeConfig;

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "Embedded data lake: tiered objects, Parquet scans, encryption, quality and masking"
)]
struct Cli {
    #[command(flatten)]
    root: RootArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct RootArgs {
    /// Data root (default ./strata-data, or `dir` from --config).
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// TOML config file (default: the embedded local config).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Act as this principal of the config's [access] policy: every call of the command is
    /// checked against its grants and audited under its name (default: the config's
    /// default_principal, else the host, which may do everything).
    #[arg(long = "as", id = "as", global = true, value_name = "PRINCIPAL")]
    as_principal: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run an end-to-end demonstration on the data root and print what it did.
    Demo,
    #[command(flatten)]
    Object(objects::ObjectCommand),
    /// Apply or inspect tier policies.
    #[command(subcommand)]
    Tier(tier::TierCommand),
    /// Manage the keys of encryption at rest.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Scan a Parquet file or a (Hive-partitioned) directory of them.
    Scan(scan::ScanArgs),
    /// Profile the columns of a Parquet file or dataset: nulls, distinct values, ranges, moments.
    Profile(quality::ProfileArgs),
    /// Check a Parquet file or dataset against a rules file; exits non-zero when an
    /// error-severity rule fails.
    Check(quality::CheckArgs),
    /// Write a masked copy of a Parquet file under a masking policy.
    Mask(mask::MaskArgs),
    /// Write CSV, JSON lines, Parquet or Arrow IPC input as Parquet or Arrow IPC, choosing the
    /// format and per-column codecs and encodings; optionally partitioned or into the lake.
    Write(Box<write::WriteArgs>),
    /// Show a Parquet or Arrow IPC file's schema, row groups and column chunks.
    Inspect(inspect::InspectArgs),
    /// Rewrite a dataset's small Parquet files into files of the target size.
    Compact(compact::CompactArgs),
    /// Delta Lake tables: create, append, overwrite, scan (with time travel), history, ls, show.
    #[command(subcommand)]
    Table(table::TableCommand),
    /// The catalog of what the lake holds: list, search, show, register, tag, describe.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// How a table was made (upstream) or what was made from it (downstream).
    Lineage(catalog::LineageArgs),
    /// The tamper-evident audit log: verify, show, seal.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The [access] rules: check what a principal may do; list roles and principals.
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// Erase a data subject (right to erasure): delete its rows from the tables the catalog
    /// marks (or --tables), remove its objects, and record it in the audit log.
    Erase(governance::EraseArgs),
    /// Check a framework's controls (gdpr, hipaa) against the live lake: PASS/FAIL/WARN with
    /// evidence, and a score. Exit code 0 whatever the report says, unless --fail-on-fail.
    Compliance(governance::ComplianceArgs),
    /// Copy a tier's objects to another tier (of this lake, or of another lake with
    /// --to-config): incremental, verified, resumable, parallel.
    Sync(sync::SyncArgs),
    /// What the lake costs a month, per tier, zone and table, at the [cost] prices.
    Cost(cost::CostArgs),
    /// Recommendations (layout, codec, format, tier, cache) from the recorded access
    /// statistics, with evidence and estimated effect; --apply carries out the safe ones.
    Advise(advise::AdviseArgs),
    /// Benchmark strata against baselines measured in the same run (std::fs, the parquet
    /// crate, plain moka) on TPC-H data; JSON, an HTML report, and comparisons of runs.
    Bench(Box<bench::BenchArgs>),
}

/// Set to `0` to leave glibc's malloc thresholds as they are (to measure what raising them
/// buys); anything else, or unset, raises them.
const MALLOC_TUNING_ENV: &str = "STRATA_MALLOC_TUNING";

fn main() -> ExitCode {
    // The library leaves the process's allocator alone; this program owns its process and
    // opts in: Parquet decoding's freed buffers are reused rather than faulted in again
    // (strata::tuning::raise_malloc_thresholds says more).
    if std::env::var_os(MALLOC_TUNING_ENV).is_none_or(|v| v != "0") {
        strata::tuning::raise_malloc_thresholds();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if is_bad_value(&e) => {
            // One line, like every other error: the flag, the value and its range.
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("invalid value");
            let line = line.strip_prefix("error: ").unwrap_or(line);
            let _ = writeln!(std::io::stderr().lock(), "strata: error: {line}");
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "strata: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn is_bad_value(e: &clap::Error) -> bool {
    use clap::error::ErrorKind;
    e.kind() == ErrorKind::ValueValidation
}

fn config(root: &RootArgs) -> strata::Result<LakeConfig> {
    let mut config = match &root.config {
        Some(path) => LakeConfig::from_file(path)?,
        None => LakeConfig::default(),
    };
    if let Some(dir) = &root.dir {
        config.dir = dir.clone();
    }
    if let Some(principal) = &root.as_principal {
        act_as(&mut config, principal)?;
    }
    Ok(config)
}

/// `--as PRINCIPAL`: every lake a command opens with `config` acts as `principal`, exactly as
/// `Lake::as_principal` makes it act (the config's default principal is what a handle opened
/// without one acts as, and commands open their lakes from the config).
fn act_as(config: &mut LakeConfig, principal: &str) -> strata::Result<()> {
    let Some(access) = &mut config.access else {
        return Err(strata::Error::new(
            strata::ErrorKind::Config,
            format!(
                "--as {principal}: the config has no [access] section, so there are no \
                 principals to act as (without one, every call is the host's)"
            ),
        ));
    };
    let policy = strata::governance::AccessPolicy::load(access, &config.dir)?;
    if policy.roles_of(principal).is_none() {
        // The lake's own refusal, so that the denied open is in the audit log.
        let refused = strata::Lake::open(config)?.as_principal(principal).err();
        let why = refused
            .as_ref()
            .map_or("not a principal of the access policy", |e| e.message());
        let known: Vec<&str> = policy.principals().keys().map(String::as_str).collect();
        return Err(strata::Error::new(
            refused
                .as_ref()
                .map_or(strata::ErrorKind::PermissionDenied, |e| e.kind()),
            format!(
                "--as {principal}: {why} (its principals: {})",
                known.join(", ")
            ),
        ));
    }
    access.default_principal = Some(principal.to_string());
    Ok(())
}

fn run(cli: Cli) -> strata::Result<ExitCode> {
    let config = config(&cli.root)?;
    let mut out = std::io::stdout().lock();
    let done = match cli.command {
        Command::Demo => demo::run(&config, &mut out),
        Command::Object(command) => objects::run(&config, command, &mut out),
        Command::Tier(command) => tier::run(&config, command, &mut out),
        Command::Key(command) => key::run(&config, command, &mut out),
        Command::Scan(args) => scan::run(&config, args, &mut out),
        Command::Profile(args) => quality::profile(args, &mut out),
        Command::Check(args) => quality::check(&config, args, &mut out),
        Command::Mask(args) => mask::run(&config, args, &mut out),
        Command::Write(args) => write::run(&config, *args, &mut out),
        Command::Inspect(args) => inspect::run(args, &mut out),
        Command::Compact(args) => compact::run(args, &mut out),
        Command::Table(command) => table::run(&config, command, &mut out),
        Command::Catalog(command) => catalog::run(&config, command, &mut out),
        Command::Lineage(args) => catalog::lineage(&config, args, &mut out),
        Command::Audit(command) => audit::run(&config, command, &mut out),
        Command::Access(command) => return access::run(&config, command, &mut out),
        Command::Erase(args) => governance::erase(&config, args, &mut out),
        Command::Compliance(args) => governance::compliance(&config, args, &mut out),
        Command::Sync(args) => sync::run(&config, args, &mut out),
        Command::Cost(args) => cost::run(&config, args, &mut out),
        Command::Advise(args) => advise::run(&config, args, &mut out),
        Command::Bench(args) => return bench::run(*args, &mut out),
    };
    done.map(|()| ExitCode::SUCCESS)
}
