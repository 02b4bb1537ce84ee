//! `strata table ...`: Delta Lake tables in the lake (`zone/name`) or at a directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use strata::crypto::ParquetEncryption;
use strata::format::CodecPolicy;
use strata::table::{
    AsOf, ChangeReport, Commit, MergeOptions, OptimizeOptions, Table, TableOptions, WhenMatched,
    WhenNotMatched,
};
use strata::{Lake, LakeConfig};

use crate::flags;
use crate::scan::ScanFlags;
use crate::util::{io, stage_progress, time, write_json};

#[derive(Subcommand)]
pub enum TableCommand {
    /// Create a table from a data file (CSV, JSON lines, Parquet or Arrow IPC) as version 0.
    Create(CreateArgs),
    /// Append data files to a table as one new version.
    Append(AppendArgs),
    /// Replace a table's rows with a data file as one new version.
    Overwrite(OverwriteArgs),
    /// Scan a table (or an earlier version of it) as `strata scan` scans files.
    Scan(TableScanArgs),
    /// A table's commits, newest first.
    History(HistoryArgs),
    /// Make the table's content that of an earlier version again, as a new version.
    Restore(RestoreArgs),
    /// Delete data files no version within the retention needs (and staging files of killed
    /// writes).
    Vacuum(VacuumArgs),
    /// The lake's tables.
    Ls(LsArgs),
    /// A table's schema, partitioning, version, files, rows, bytes and properties.
    Show(ShowArgs),
    /// Delete the rows matching a filter, rewriting only the files that hold them.
    Delete(DeleteArgs),
    /// Set columns of the rows matching a filter (every row without --where).
    Update(UpdateArgs),
    /// Merge a data file into the table by key columns (an upsert by default).
    Merge(MergeArgs),
    /// Compact small files per partition, or z-order them by up to 4 columns (no row changes).
    Optimize(OptimizeArgs),
    /// Apply the config's [[table_retention]] rules to a table (or every table with --all):
    /// rows older than a rule allows are deleted as a table commit.
    Retention(RetentionArgs),
}

#[derive(Args)]
pub struct RetentionArgs {
    /// The table: ZONE/NAME in the lake.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    name: Option<String>,
    /// Every table of the lake.
    #[arg(long)]
    all: bool,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// As a JSON array of actions.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct OptimizeArgs {
    #[command(flatten)]
    table: NameArg,
    /// Z-order each partition's rows by these columns (up to 4), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    zorder_by: Vec<String>,
    /// Only the partitions matching this filter on partition columns.
    #[arg(long = "where", value_name = "PARTITION_EXPR")]
    predicate: Option<String>,
    /// The size of the files written (default: the table's, 128MiB).
    #[arg(long, value_name = "SIZE", value_parser = flags::target_file_size)]
    target_file_size: Option<u64>,
    /// Rewrite every file, not only small ones, under the table's codec policy (the codec of
    /// the tier it is on now, unless the table has its own).
    #[arg(long)]
    reencode: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    table: NameArg,
    /// The rows to delete (strata's filter syntax, e.g. "zone = 'JFK' AND fare < 0").
    #[arg(long = "where", value_name = "EXPR")]
    predicate: String,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    table: NameArg,
    /// What to set: "col = value, ..." where a value is a literal, NULL or another column.
    #[arg(long, value_name = "ASSIGNMENTS")]
    set: String,
    /// The rows to update (all without it).
    #[arg(long = "where", value_name = "EXPR")]
    predicate: Option<String>,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct MergeArgs {
    #[command(flatten)]
    table: NameArg,
    /// The source rows (CSV, JSON lines, Parquet or Arrow IPC), one per key.
    #[arg(value_name = "SOURCE_FILE")]
    source: PathBuf,
    /// Key columns, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "KEY", required = true)]
    on: Vec<String>,
    /// What to do with target rows whose key the source has.
    #[arg(long, value_enum, default_value = "update")]
    when_matched: MatchedArg,
    /// Update only these columns (default: every column the source has).
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    update_columns: Option<Vec<String>>,
    /// What to do with source rows whose key the table lacks.
    #[arg(long, value_enum, default_value = "insert")]
    when_not_matched: NotMatchedArg,
    /// Delete target rows whose key the source lacks.
    #[arg(long)]
    delete_not_matched_by_source: bool,
    /// Check the source rows against this quality rules file first, as `table append
    /// --expect` does: dropped rows go to NAME__quarantine and are not merged, a failing
    /// `fail` rule merges nothing.
    #[arg(long, value_name = "RULES.toml")]
    expect: Option<PathBuf>,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum MatchedArg {
    Update,
    Delete,
    Ignore,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum NotMatchedArg {
    Insert,
    Ignore,
}

/// NAME: `zone/name` of a table in the lake (`silver/trips`), or the path of a Delta table
/// directory outside it (`./trips`, `/data/trips`, `file:///data/trips`).
#[derive(Args)]
pub struct NameArg {
    /// The table: ZONE/NAME in the lake, or a directory path (start it with `/` or `./`).
    name: String,
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    table: NameArg,
    /// The data file the table starts with (its schema is the table's).
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Partition columns, comma-separated (strings, integers, dates or booleans).
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    partition_by: Vec<String>,
    /// The zone, when NAME is given without one.
    #[arg(long, value_name = "Z")]
    zone: Option<String>,
    /// A description kept in the table's metadata.
    #[arg(long)]
    description: Option<String>,
    /// The table's owner (property strata.owner).
    #[arg(long)]
    owner: Option<String>,
    /// The codec policy of the table's data files, kept for every later write: fast,
    /// balanced, compact, auto, or one codec (snappy, lz4, zstd[:LEVEL], gzip[:LEVEL], none).
    /// Default: the table tier's policy.
    #[arg(long, value_name = "POLICY")]
    codec: Option<CodecPolicy>,
    /// Data files roll over past this size (e.g. 256MiB); default 128MiB.
    #[arg(long, value_name = "SIZE", value_parser = flags::target_file_size)]
    target_file_size: Option<u64>,
    /// Encrypt every data file (Parquet modular encryption) under this key id of the lake's
    /// key ring (`strata key create`). Only readers with the keys can read the table.
    #[arg(long, value_name = "KEY_ID")]
    encrypt_key: Option<String>,
    /// Print what was committed as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AppendArgs {
    #[command(flatten)]
    table: NameArg,
    /// Data files to append, all in one commit.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Let new columns in the data join the table's schema (as nullable), and write nullable
    /// table columns the data lacks as nulls (Delta's mergeSchema).
    #[arg(long)]
    merge_schema: bool,
    /// Check the rows against this quality rules file first, each rule with its
    /// `expect = "warn" | "drop" | "fail"`: dropped rows go to NAME__quarantine with an
    /// `_errors` column, a failing `fail` rule commits nothing.
    #[arg(long, value_name = "RULES.toml", conflicts_with = "merge_schema")]
    expect: Option<PathBuf>,
    /// Print what was committed as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct OverwriteArgs {
    #[command(flatten)]
    table: NameArg,
    /// The data file whose rows replace the table's.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Replace only the rows matching this filter (replaceWhere).
    #[arg(long = "where", value_name = "EXPR")]
    predicate: Option<String>,
    /// Print what was committed as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct TableScanArgs {
    #[command(flatten)]
    table: NameArg,
    /// Read version N (time travel).
    #[arg(long, value_name = "N", conflicts_with = "as_of")]
    version: Option<u64>,
    /// Read the version current at TIME (RFC 3339, e.g. 2026-12-01T10:00:00Z).
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    #[command(flatten)]
    flags: ScanFlags,
}

#[derive(Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    table: NameArg,
    /// One JSON object per commit.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    table: NameArg,
    /// The version to restore.
    #[arg(long, value_name = "N")]
    version: u64,
    /// Print what was committed as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct VacuumArgs {
    #[command(flatten)]
    table: NameArg,
    /// Keep files removed less than this long ago (time travel reaches that far back):
    /// e.g. 168h, 7d. Below 168h needs --force.
    #[arg(long, value_name = "DURATION", default_value = "168h", value_parser = humantime::parse_duration)]
    retain: std::time::Duration,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Allow a retention below 168h (time travel to older versions stops working).
    #[arg(long)]
    force: bool,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct LsArgs {
    /// Only this zone.
    #[arg(long, value_name = "Z")]
    zone: Option<String>,
    /// As a JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    table: NameArg,
    /// Describe version N instead of the latest.
    #[arg(long, value_name = "N")]
    version: Option<u64>,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

/// Whether NAME names a directory rather than a lake table.
fn is_path(name: &str) -> bool {
    name.starts_with('/')
        || name.starts_with("./")
        || name.starts_with("../")
        || name.starts_with("file://")
        || name.contains("://")
}

/// The table NAME stands for, and the lake it lives in (none for a directory).
fn open(
    config: &LakeConfig,
    name: &str,
    zone: Option<&str>,
) -> strata::Result<(Table, Option<Lake>)> {
    if is_path(name) {
        if let Some(rest) = name.strip_prefix("file://") {
            return Ok((Table::at_dir(Path::new(rest))?, None));
        }
        if name.contains("://") {
            // s3://bucket/prefix: reached with the lake's S3 settings.
            let lake = Lake::open(config)?.with_job(&crate::catalog::job());
            let table = lake.table_at(name)?;
            return Ok((table, Some(lake)));
        }
        return Ok((Table::at_dir(Path::new(name))?, None));
    }
    let full = match (zone, name.contains('/')) {
        (Some(zone), false) => format!("{zone}/{name}"),
        (Some(zone), true) if !name.starts_with(&format!("{zone}/")) => {
            return Err(strata::Error::new(
                strata::ErrorKind::InvalidArgument,
                format!("table {name:?} is not in zone {zone:?}"),
            ))
        }
        _ => name.to_string(),
    };
    let lake = Lake::open(config)?.with_job(&crate::catalog::job());
    let table = lake.table(&full)?;
    Ok((table, Some(lake)))
}

/// The data files a write reads, for lineage (absolute paths where they resolve).
fn sources(files: &[PathBuf]) -> Vec<strata::table::Source> {
    files
        .iter()
        .map(|f| {
            let path = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
            strata::table::Source::file(path.display().to_string())
        })
        .collect()
}

/// Reads the data `files` (the schema is the first's), telling `progress` how many are read.
fn read_all(
    files: &[PathBuf],
    progress: &strata::table::Progress,
) -> strata::Result<(arrow::datatypes::SchemaRef, Vec<arrow::array::RecordBatch>)> {
    let mut schema = None;
    let mut all = Vec::new();
    for (i, file) in files.iter().enumerate() {
        progress("read", i as u64, files.len() as u64);
        let (s, batches) = strata::format::read_input(file, None)?;
        schema.get_or_insert(s);
        all.extend(batches);
    }
    progress("read", files.len() as u64, files.len() as u64);
    let schema = schema.ok_or_else(|| {
        strata::Error::new(strata::ErrorKind::InvalidArgument, "no data file given")
    })?;
    Ok((schema, all))
}

fn print_change(
    out: &mut dyn Write,
    table: &Table,
    r: &ChangeReport,
    json: bool,
) -> strata::Result<()> {
    if json {
        return write_json(out, r);
    }
    let Some(version) = r.version else {
        return writeln!(out, "{}: no row matched; nothing committed", table.name()).map_err(io);
    };
    writeln!(
        out,
        "{}: version {version}: {} rows deleted, {} updated, {} inserted, {} copied; {} files \
         removed, {} added ({} read, {} skipped by statistics)",
        table.name(),
        r.rows_deleted,
        r.rows_updated,
        r.rows_inserted,
        r.rows_copied,
        r.files_removed,
        r.files_added,
        r.files_scanned,
        r.files_skipped
    )
    .map_err(io)
}

fn print_commit(
    out: &mut dyn Write,
    table: &Table,
    what: &str,
    c: &Commit,
    json: bool,
) -> strata::Result<()> {
    if json {
        return write_json(out, c);
    }
    writeln!(
        out,
        "{what} {}: version {}, {} rows in {} files ({} bytes) added, {} files removed",
        table.name(),
        c.version,
        c.rows,
        c.files_added,
        c.bytes,
        c.files_removed
    )
    .map_err(io)
}

pub fn run(config: &LakeConfig, command: TableCommand, out: &mut dyn Write) -> strata::Result<()> {
    match command {
        TableCommand::Create(args) => {
            let (table, _lake) = open(config, &args.table.name, args.zone.as_deref())?;
            let (bar, progress) = stage_progress();
            let table = table
                .with_progress(progress.clone())
                .reading(sources(std::slice::from_ref(&args.from)));
            let (schema, batches) = read_all(std::slice::from_ref(&args.from), progress.as_ref())?;
            let options = TableOptions {
                partition_by: args.partition_by,
                description: args.description,
                owner: args.owner,
                codec: args.codec,
                target_file_bytes: args.target_file_size,
                encryption: args.encrypt_key.map(ParquetEncryption::uniform),
            };
            let commit = table.create(&schema, &batches, &options);
            bar.finish_and_clear();
            print_commit(out, &table, "created", &commit?, args.json)
        }
        TableCommand::Append(args) if args.expect.is_some() => append_expecting(config, args, out),
        TableCommand::Append(args) => {
            let (table, _lake) = open(config, &args.table.name, None)?;
            let (bar, progress) = stage_progress();
            let table = table
                .with_progress(progress.clone())
                .reading(sources(&args.files));
            let (_, all) = read_all(&args.files, progress.as_ref())?;
            let commit = if args.merge_schema {
                table.append_merging_schema(&all)
            } else {
                table.append(&all)
            };
            bar.finish_and_clear();
            print_commit(out, &table, "appended to", &commit?, args.json)
        }
        TableCommand::Overwrite(args) => {
            let (table, _lake) = open(config, &args.table.name, None)?;
            let (bar, progress) = stage_progress();
            let table = table
                .with_progress(progress.clone())
                .reading(sources(std::slice::from_ref(&args.file)));
            let (_, batches) = read_all(std::slice::from_ref(&args.file), progress.as_ref())?;
            let commit = match &args.predicate {
                Some(predicate) => table.overwrite_where(predicate, &batches),
                None => table.overwrite(&batches),
            };
            bar.finish_and_clear();
            print_commit(out, &table, "overwrote", &commit?, args.json)
        }
        TableCommand::Scan(args) => {
            let (table, lake) = open(config, &args.table.name, None)?;
            let as_of = match (args.version, &args.as_of) {
                (Some(v), _) => AsOf::Version(v),
                (None, Some(t)) => AsOf::Time(humantime::parse_rfc3339_weak(t).map_err(|e| {
                    strata::Error::new(
                        strata::ErrorKind::InvalidArgument,
                        format!("--as-of {t:?}: {e} (expected RFC 3339)"),
                    )
                })?),
                (None, None) => AsOf::Latest,
            };
            let scan = table.scan_as_of(as_of)?;
            crate::scan::run_scan(config, &args.flags, scan, lake.as_ref(), out)
        }
        TableCommand::History(args) => {
            let (table, _lake) = open(config, &args.table.name, None)?;
            for e in table.history()? {
                if args.json {
                    write_json(out, &e)?;
                    continue;
                }
                let when = e
                    .timestamp_ms
                    .map(|ms| time(ms.max(0) as u64))
                    .unwrap_or_else(|| "-".into());
                let rows = e
                    .rows_added
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "?".into());
                writeln!(
                    out,
                    "{:>6}  {when}  {:<14} +{} files ({rows} rows, {} bytes) -{} files  {}",
                    e.version,
                    e.operation.as_deref().unwrap_or("-"),
                    e.files_added,
                    e.bytes_added,
                    e.files_removed,
                    e.engine.as_deref().unwrap_or("")
                )
                .map_err(io)?;
            }
            Ok(())
        }
        TableCommand::Restore(args) => {
            let (table, _lake) = open(config, &args.table.name, None)?;
            let r = table.restore(args.version)?;
            if args.json {
                return write_json(out, &r);
            }
            writeln!(
                out,
                "restored {} to version {} as version {}: {} files removed, {} files restored",
                table.name(),
                r.restored,
                r.version,
                r.files_removed,
                r.files_restored
            )
            .map_err(io)
        }
        TableCommand::Vacuum(args) => {
            let (table, _lake) = open(config, &args.table.name, None)?;
            let report = table.vacuum(args.retain, args.dry_run, args.force)?;
            if args.json {
                return write_json(out, &report);
            }
            let verb = if report.dry_run {
                "would delete"
            } else {
                "deleted"
            };
            for f in report.files.iter().chain(&report.staging) {
                writeln!(out, "{verb} {f}").map_err(io)?;
            }
            writeln!(
                out,
                "{} {verb} {} data files and {} staging files",
                table.name(),
                report.files.len(),
                report.staging.len()
            )
            .map_err(io)
        }
        TableCommand::Ls(args) => {
            let lake = Lake::open(config)?;
            let names = lake.tables(args.zone.as_deref())?;
            if args.json {
                let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                return write_json(out, &names);
            }
            for name in names {
                writeln!(out, "{name}").map_err(io)?;
            }
            Ok(())
        }
        TableCommand::Delete(args) => {
            let (table, _lake) = open(config, &args.table.name, None)?;
            let (bar, progress) = stage_progress();
            let table = table.with_progress(progress);
            let report = table.delete(&args.predicate);
            bar.finish_and_clear();
            print_change(out, &table, &report?, args.json)
        }
        TableCommand::Update(args) => {
            let (table, _lake) = open(config, &args.table.name, None)?;
            let (bar, progress) = stage_progress();
            let table = table.with_progress(progress);
            let report = table.update(args.predicate.as_deref(), &args.set);
            bar.finish_and_clear();
            print_change(out, &table, &report?, args.json)
        }
        TableCommand::Merge(args) if args.expect.is_some() => merge_expecting(config, args, out),
        TableCommand::Merge(args) => {
            let (table, _lake) = open(config, &args.table.name, None)?;
            let (bar, progress) = stage_progress();
            let table = table
                .with_progress(progress.clone())
                .reading(sources(std::slice::from_ref(&args.source)));
            let (_, source) = read_all(std::slice::from_ref(&args.source), progress.as_ref())?;
            let options = merge_options(&args);
            let report = table.merge(&source, &options);
            bar.finish_and_clear();
            print_change(out, &table, &report?, args.json)
        }
        TableCommand::Optimize(args) => {
            let (table, _lake) = open(config, &args.table.name, None)?;
            let (bar, progress) = stage_progress();
            let table = table.with_progress(progress);
            let report = table.optimize(&OptimizeOptions {
                zorder_by: args.zorder_by,
                predicate: args.predicate,
                target_file_bytes: args.target_file_size,
                reencode: args.reencode,
            });
            bar.finish_and_clear();
            let r = report?;
            if args.json {
                return write_json(out, &r);
            }
            let Some(version) = r.version else {
                return writeln!(out, "{}: nothing to optimize", table.name()).map_err(io);
            };
            writeln!(
                out,
                "{}: version {version}: {} partitions, {} files ({} bytes) -> {} files ({} bytes)",
                table.name(),
                r.partitions,
                r.files_before,
                r.bytes_before,
                r.files_after,
                r.bytes_after
            )
            .map_err(io)?;
            for z in &r.zorder {
                writeln!(
                    out,
                    "  `{}` reads {} of {} files (was {} of {})",
                    z.filter,
                    z.files_read_after,
                    z.files_after,
                    z.files_read_before,
                    z.files_before
                )
                .map_err(io)?;
            }
            Ok(())
        }
        TableCommand::Retention(args) => retention(config, args, out),
        TableCommand::Show(args) => {
            let (table, _lake) = open(config, &args.table.name, None)?;
            let as_of = args.version.map(AsOf::Version).unwrap_or(AsOf::Latest);
            let info = table.info(as_of)?;
            if args.json {
                return write_json(out, &info);
            }
            let rows = info
                .rows
                .map(|r| r.to_string())
                .unwrap_or_else(|| "?".into());
            writeln!(out, "table {} at {}", info.name, info.location).map_err(io)?;
            writeln!(
                out,
                "version {}: {} files, {rows} rows, {} bytes",
                info.version, info.files, info.bytes
            )
            .map_err(io)?;
            if let Some(d) = &info.description {
                writeln!(out, "description: {d}").map_err(io)?;
            }
            if !info.partition_by.is_empty() {
                writeln!(out, "partitioned by: {}", info.partition_by.join(", ")).map_err(io)?;
            }
            writeln!(out, "columns:").map_err(io)?;
            for (name, ty) in &info.columns {
                writeln!(out, "  {name:<24} {ty}").map_err(io)?;
            }
            if !info.properties.is_empty() {
                writeln!(out, "properties:").map_err(io)?;
                for (k, v) in &info.properties {
                    writeln!(out, "  {k} = {v}").map_err(io)?;
                }
            }
            Ok(())
        }
    }
}

fn merge_options(args: &MergeArgs) -> MergeOptions {
    MergeOptions {
        on: args.on.clone(),
        when_matched: match args.when_matched {
            MatchedArg::Update => WhenMatched::Update,
            MatchedArg::Delete => WhenMatched::Delete,
            MatchedArg::Ignore => WhenMatched::Ignore,
        },
        update_columns: args.update_columns.clone(),
        when_not_matched: match args.when_not_matched {
            NotMatchedArg::Insert => WhenNotMatched::Insert,
            NotMatchedArg::Ignore => WhenNotMatched::Ignore,
        },
        delete_not_matched_by_source: args.delete_not_matched_by_source,
    }
}

/// `table append --expect RULES`: through the lake, which checks, quarantines and commits.
fn append_expecting(
    config: &LakeConfig,
    args: AppendArgs,
    out: &mut dyn Write,
) -> strata::Result<()> {
    let (lake, rules, rows) = expecting(config, args.expect.as_deref(), &args.files)?;
    let report = lake.append_expecting(&args.table.name, &rows, &rules)?;
    print_expect(out, &args.table.name, &report, args.json)
}

/// `table merge --expect RULES`: through the lake, which checks, quarantines and merges.
fn merge_expecting(
    config: &LakeConfig,
    args: MergeArgs,
    out: &mut dyn Write,
) -> strata::Result<()> {
    let files = std::slice::from_ref(&args.source);
    let (lake, rules, rows) = expecting(config, args.expect.as_deref(), files)?;
    let report = lake.merge_expecting(&args.table.name, &rows, &merge_options(&args), &rules)?;
    print_expect(out, &args.table.name, &report, args.json)
}

/// The lake, the rules file and the rows of an append or merge with expectations.
fn expecting(
    config: &LakeConfig,
    rules: Option<&Path>,
    files: &[PathBuf],
) -> strata::Result<(
    Lake,
    strata::quality::RuleSet,
    Vec<arrow::array::RecordBatch>,
)> {
    let rules = strata::quality::RuleSet::from_file(rules.unwrap_or(Path::new("")))?;
    let lake = Lake::open(config)?.with_job(&crate::catalog::job());
    let (bar, progress) = stage_progress();
    let (_, rows) = read_all(files, progress.as_ref())?;
    bar.finish_and_clear();
    Ok((lake, rules, rows))
}

fn print_expect(
    out: &mut dyn Write,
    name: &str,
    report: &strata::ExpectReport,
    json: bool,
) -> strata::Result<()> {
    if json {
        return write_json(out, report);
    }
    let version = report
        .version
        .map_or("nothing committed".to_string(), |v| format!("version {v}"));
    writeln!(
        out,
        "{name}: kept {} of {} rows ({version}), quarantined {}",
        report.kept, report.rows, report.quarantined
    )
    .map_err(io)?;
    if let Some((name, v)) = &report.quarantine {
        writeln!(out, "quarantined rows in {name}, version {v}").map_err(io)?;
    }
    for e in &report.expectations {
        writeln!(out, "  {} ({:?}): {} failed", e.rule, e.expect, e.failed).map_err(io)?;
    }
    Ok(())
}

fn retention(config: &LakeConfig, args: RetentionArgs, out: &mut dyn Write) -> strata::Result<()> {
    let lake = Lake::open(config)?.with_job(&crate::catalog::job());
    let actions = lake.table_retention(args.name.as_deref(), args.dry_run)?;
    if args.json {
        return write_json(out, &actions);
    }
    let which = args.name.as_deref().unwrap_or("any table");
    if actions.is_empty() {
        return writeln!(out, "no retention rule deletes rows of {which}").map_err(io);
    }
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for a in &actions {
        let version = a
            .version
            .map(|v| format!(", version {v}"))
            .unwrap_or_default();
        let files = if a.files > 0 {
            format!(" in {} files", a.files)
        } else {
            String::new()
        };
        writeln!(
            out,
            "{}: {verb} {} rows{files} ({}; where {}){version}",
            a.table, a.rows, a.rule, a.predicate
        )
        .map_err(io)?;
    }
    let rows: u64 = actions.iter().map(|a| a.rows).sum();
    let tables: std::collections::BTreeSet<&str> =
        actions.iter().map(|a| a.table.as_str()).collect();
    writeln!(
        out,
        "{verb} {rows} rows in {} tables{}",
        tables.len(),
        if args.dry_run {
            "; nothing changed"
        } else {
            ""
        }
    )
    .map_err(io)
}
