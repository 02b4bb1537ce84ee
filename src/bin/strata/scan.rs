//! `strata scan`: projected, filtered reads of Parquet files and datasets, optionally masked
//! for a role on the way out (dynamic masking).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use strata::{
    mask::{MemoryKeys, RoleMask},
    LakeConfig,
};

use crate::flags;
use crate::util::{io, output_file, write_json};

#[derive(Args)]
pub struct ScanArgs {
    /// A Parquet file or a directory of Parquet files (with --lake: an object's key).
    path: PathBuf,
    /// PATH names a Parquet object in the data root's tiers; slower tiers are read by
    /// ranges through the cache.
    #[arg(long)]
    lake: bool,
    #[command(flatten)]
    pub flags: ScanFlags,
}

/// What to return and how, for `strata scan` and `strata table scan`.
#[derive(Args)]
pub struct ScanFlags {
    /// Run the scan N times in this process (output once), e.g. to see the cache warm: 1 to
    /// 10000.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = flags::count::<u32>(1, 10_000))]
    repeat: u32,
    /// Print scan and cache statistics (hits, misses, bytes, evictions, prefetches) and the
    /// time of each run on stderr.
    #[arg(long)]
    stats: bool,
    /// With --stats: print them as one JSON object.
    #[arg(long)]
    json: bool,
    /// Columns to return, comma-separated (dotted paths select inside structs).
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Row filter, e.g. "dep_delay > 60 AND origin IN ('JFK','LGA')".
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Return at most N rows: 0 to 18446744073709551615 (2^64-1).
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Skip the first N matching rows: 0 to 18446744073709551615 (2^64-1).
    #[arg(long, value_name = "N", default_value_t = 0)]
    offset: u64,
    /// Output format: table, csv, jsonl, parquet or ipc (Arrow IPC file).
    #[arg(long, default_value = "table")]
    format: strata::ScanFormat,
    /// Output file (default, or `-`: stdout). A regular file is written beside and renamed
    /// over OUT when the scan succeeds; a character device, FIFO or socket is written
    /// directly; a symlink is written through; a directory is an error.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Print only the number of matching rows.
    #[arg(long)]
    count: bool,
    /// Decoding threads: 1 to 1024 (default: one per core).
    #[arg(long, value_name = "N", value_parser = flags::count::<usize>(flags::THREADS.0, flags::THREADS.1))]
    threads: Option<usize>,
    /// With --format ipc: write string and binary columns as Arrow string views (Utf8View,
    /// BinaryView), which decode from dictionary-encoded files without copying the strings;
    /// for readers that accept views (pyarrow, polars, DuckDB).
    #[arg(long, conflicts_with = "policy")]
    string_views: bool,
    /// With several threads, write batches as they are decoded instead of in file order
    /// (faster; with --limit or --offset, which rows come out is then not fixed).
    #[arg(long)]
    unordered: bool,
    /// Read with plain file I/O instead of a memory map (for files other programs may change).
    #[arg(long)]
    no_mmap: bool,
    /// Print scan statistics (row groups skipped, rows out) as JSON on stderr.
    #[arg(long)]
    json_stats: bool,
    /// Masking policy (TOML) applied on read: the rows as --role sees them.
    #[arg(long, value_name = "FILE", requires = "role")]
    policy: Option<PathBuf>,
    /// The role whose view to return (with --policy).
    #[arg(long, value_name = "R", requires = "policy")]
    role: Option<String>,
    /// Columns the policy names that the data lacks are warnings (on stderr and in --stats)
    /// instead of an error; as `missing_columns = "warn"` in the policy.
    #[arg(long, requires = "policy")]
    allow_missing_columns: bool,
}

/// Rows per batch of `--format ipc` output (the scan's default is 8,192).
const IPC_BATCH_ROWS: usize = 65_536;

/// Standard output for binary formats, past `Stdout`'s line buffering: it looks for the last
/// newline in every write, which for a 1.4 GB Arrow IPC file was a sixth of the command's
/// time. Buffered here instead; `None` where the handle cannot be shared (then `Stdout`).
#[cfg(unix)]
fn raw_stdout() -> Option<std::io::BufWriter<std::fs::File>> {
    use std::os::fd::AsFd;
    let fd = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    Some(std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::from(fd),
    ))
}

#[cfg(not(unix))]
fn raw_stdout() -> Option<std::io::BufWriter<std::fs::File>> {
    None
}

/// The policy prepared for the role, with the scan's columns and filter checked against it.
fn role_mask(
    config: &LakeConfig,
    args: &ScanFlags,
    filter: Option<&strata::Expr>,
) -> strata::Result<Option<RoleMask>> {
    let (Some(path), Some(role)) = (&args.policy, &args.role) else {
        return Ok(None);
    };
    let policy = crate::mask::open_policy(path, args.allow_missing_columns)?;
    let mask = if policy.key_ids().is_empty() {
        policy.for_role(role, &MemoryKeys::new())?
    } else {
        // Reading never makes keys: a missing one means nothing was masked with it here.
        policy.for_role(role, &strata::Lake::mask_keys(config, false)?)?
    };
    if let Some(columns) = &args.columns {
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        mask.check_columns(&names)?;
    }
    if let Some(filter) = filter {
        mask.check_filter_columns(&filter.columns())?;
    }
    Ok(Some(mask))
}

/// Checks the policy against every column of the source (`source`: the scan before its
/// projection; only footers are read), since the batches may be a projection and a filter
/// matching nothing gives none; returns the policy's columns the source lacks, when allowed.
fn check_source(
    mask: &mut RoleMask,
    args: &ScanFlags,
    source: &strata::Scan,
) -> strata::Result<Vec<String>> {
    let schema = source.clone().limit(0).run()?.schema;
    let missing = mask.check_schema(&schema)?;
    if let Some(policy) = &args.policy {
        crate::mask::warn_missing(policy, mask.role(), &missing);
    }
    Ok(missing)
}

pub fn run(config: &LakeConfig, args: ScanArgs, out: &mut dyn Write) -> strata::Result<()> {
    let (scan, lake) = if args.lake {
        let lake = strata::Lake::open(config)?;
        (lake.scan(&args.path.to_string_lossy())?, Some(lake))
    } else {
        (strata::Scan::new(&args.path), None)
    };
    run_scan(config, &args.flags, scan, lake.as_ref(), out)
}

/// Runs `scan` as `args` say (projection, filter, masking, output), printing what it found;
/// `lake` gives the cache statistics of a lake scan.
pub fn run_scan(
    config: &LakeConfig,
    args: &ScanFlags,
    mut scan: strata::Scan,
    lake: Option<&strata::Lake>,
    out: &mut dyn Write,
) -> strata::Result<()> {
    let filter = args
        .filter
        .as_deref()
        .map(strata::Expr::parse)
        .transpose()?;
    let mut mask = role_mask(config, args, filter.as_ref())?;
    scan = scan
        .offset(args.offset)
        .no_mmap(args.no_mmap)
        .keep_order(!args.unordered);
    let missing = match mask.as_mut() {
        Some(mask) => Some(check_source(mask, args, &scan)?),
        None => None,
    };
    if let Some(columns) = &args.columns {
        scan = scan.columns(columns);
    }
    if let Some(filter) = filter {
        scan = scan.filter(filter);
    }
    if let Some(n) = args.limit {
        scan = scan.limit(n);
    }
    if let Some(n) = args.threads {
        scan = scan.threads(n);
    }
    if args.string_views {
        if args.format != strata::ScanFormat::Ipc {
            return Err(strata::Error::new(
                strata::ErrorKind::InvalidArgument,
                "--string-views needs --format ipc",
            ));
        }
        scan = scan.string_views(true);
    }
    let binary = matches!(
        args.format,
        strata::ScanFormat::Parquet | strata::ScanFormat::Ipc
    );
    // A regular file output appears whole or not at all (see `output_file`).
    let mut file = output_file(args.output.as_deref())?;
    if binary && file.is_none() && std::io::stdout().is_terminal() {
        return Err(strata::Error::new(
            strata::ErrorKind::InvalidArgument,
            "refusing to write binary output to a terminal; pass -o FILE or redirect stdout",
        ));
    }
    let mut stdout = match (binary, file.is_none()) {
        (true, true) => raw_stdout(),
        _ => None,
    };
    let out: &mut dyn Write = match (file.as_mut(), stdout.as_mut()) {
        (Some(file), _) => file,
        (None, Some(stdout)) => stdout,
        (None, None) => out,
    };
    if args.format == strata::ScanFormat::Ipc {
        // Each IPC batch costs a message and, with views, a copy of the dictionaries its
        // strings point into: fewer, larger batches for a file other engines read whole.
        scan = scan.batch_size(IPC_BATCH_ROWS);
    }
    let mut runs_ms = Vec::new();
    for _ in 1..args.repeat {
        let t = Instant::now();
        if args.count {
            scan.count()?;
        } else {
            scan.run()?;
        }
        runs_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let t = Instant::now();
    let stats = if args.count {
        let (n, stats) = scan.count()?;
        runs_ms.push(t.elapsed().as_secs_f64() * 1e3);
        writeln!(out, "{n}").map_err(io)?;
        stats
    } else {
        // Streamed: a batch is masked and written as it comes (memory holds a batch, not the
        // result, except for table and Parquet output). Masking may change column types (a
        // hash is text): the written batches' schema wins.
        let mut writer = strata::read::BatchWriter::new(out, args.format);
        let (schema, stats) = scan.for_each(|batch| match &mask {
            Some(mask) => writer.write(&mask.apply(&batch)?),
            None => writer.write(&batch),
        })?;
        runs_ms.push(t.elapsed().as_secs_f64() * 1e3);
        writer.finish(&schema)?;
        stats
    };
    out.flush().map_err(io)?;
    if let Some(file) = file {
        file.commit()?;
    }
    if args.json_stats {
        write_json(&mut std::io::stderr().lock(), &stats)?;
    }
    if args.stats {
        let cache = lake.map(|l| l.store().cache_stats());
        print_stats(
            &stats,
            cache.as_ref(),
            &runs_ms,
            missing.as_deref(),
            args.json,
        )?;
    }
    Ok(())
}

fn print_stats(
    scan: &strata::ScanStats,
    cache: Option<&strata::cache::CachesStats>,
    runs_ms: &[f64],
    missing_policy_columns: Option<&[String]>,
    json: bool,
) -> strata::Result<()> {
    let err = &mut std::io::stderr().lock();
    if json {
        let mut value = serde_json::json!({ "scan": scan, "runs_ms": runs_ms, "cache": cache });
        if let Some(missing) = missing_policy_columns {
            value["missing_policy_columns"] = serde_json::json!(missing);
        }
        return write_json(err, &value);
    }
    let runs: Vec<String> = runs_ms.iter().map(|ms| format!("{ms:.1} ms")).collect();
    writeln!(
        err,
        "scan: {} files, {} of {} row groups skipped, {} rows decoded, {} out; runs: {}",
        scan.files,
        scan.row_groups_skipped,
        scan.row_groups_total,
        scan.rows_decoded,
        scan.rows_out,
        runs.join(", ")
    )
    .map_err(io)?;
    let Some(cache) = cache else {
        return Ok(());
    };
    for (name, c) in [
        ("metadata", &cache.metadata),
        ("blocks", &cache.blocks),
        ("batches", &cache.batches),
    ] {
        writeln!(
            err,
            "cache {name:<8} hits {} misses {} ratio {:.2}, {} of {} bytes in {} entries, \
             {} evicted, {} prefetched ({} hit), {} fetches of {} bytes in {:.1} ms",
            c.hits,
            c.misses,
            c.hit_ratio,
            c.bytes,
            c.budget,
            c.entries,
            c.evictions,
            c.prefetched,
            c.prefetch_hits,
            c.fetches,
            c.fetched_bytes,
            c.fetch_ms
        )
        .map_err(io)?;
    }
    for t in &cache.tiers {
        writeln!(
            err,
            "tier {}: {} fetches, {:.2} ms mean, {:.2} ms/MiB",
            t.tier, t.fetches, t.mean_ms, t.ms_per_mib
        )
        .map_err(io)?;
    }
    Ok(())
}
