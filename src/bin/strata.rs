//! The `strata` command-line tool: a thin layer over the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use strata::{KeyProvider, KeyRing, LakeConfig, ObjectInfo, RunOptions, Store};

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "Embedded tiered storage: put, get and manage objects across hot and cold tiers"
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
}

#[derive(Subcommand)]
enum Command {
    /// Run an end-to-end demonstration on the data root and print what it did.
    Demo,
    /// Store a file (or stdin with `-`) under KEY.
    Put {
        key: String,
        file: PathBuf,
        /// Encrypt it (AES-256-GCM envelope) whatever the policy says.
        #[arg(long, conflicts_with = "no_encrypt")]
        encrypt: bool,
        /// Store it in clear text whatever the policy says.
        #[arg(long)]
        no_encrypt: bool,
    },
    /// Write the object KEY to stdout or to a file.
    Get {
        key: String,
        /// Output file (default stdout).
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
    },
    /// List objects whose keys start with PREFIX.
    Ls {
        prefix: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show where an object lives, its size, checksum and access statistics.
    Stat {
        key: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete an object.
    Rm { key: String },
    /// Apply or inspect tier policies.
    #[command(subcommand)]
    Tier(TierCommand),
    /// Manage the keys of encryption at rest.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Scan a Parquet file or a (Hive-partitioned) directory of them.
    Scan(ScanArgs),
}

#[derive(Args)]
struct ScanArgs {
    /// A Parquet file or a directory of Parquet files.
    path: PathBuf,
    /// Columns to return, comma-separated (dotted paths select inside structs).
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Row filter, e.g. "dep_delay > 60 AND origin IN ('JFK','LGA')".
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Return at most N rows.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Skip the first N matching rows.
    #[arg(long, value_name = "N", default_value_t = 0)]
    offset: u64,
    /// Output format: table, csv or jsonl.
    #[arg(long, default_value = "table")]
    format: strata::ScanFormat,
    /// Output file (default stdout).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Print only the number of matching rows.
    #[arg(long)]
    count: bool,
    /// Decoding threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Read with plain file I/O instead of a memory map (for files other programs may change).
    #[arg(long)]
    no_mmap: bool,
    /// Print scan statistics (row groups skipped, rows out) as JSON on stderr.
    #[arg(long)]
    json_stats: bool,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Add a new key to the key ring and make it active for new objects.
    New {
        /// The new key's id (default: generated).
        #[arg(long)]
        id: Option<String>,
    },
    /// List keys (never their material) and how many objects each protects.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a new active key and re-wrap every object's data key under it (headers only).
    Rotate {
        #[arg(long)]
        json: bool,
    },
    /// Remove a key from the ring; refused while any object still refers to it.
    Retire { id: String },
}

#[derive(Subcommand)]
enum TierCommand {
    /// Apply placement, lifecycle and retention policies.
    Run {
        /// List every action and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
        /// Evaluate policies as if this much time had passed (e.g. 31d), to preview them.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        after: Option<Duration>,
        /// Objects moved at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Rebuild the tier index from the tiers themselves.
    Reindex {
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "strata: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn config(root: &RootArgs) -> strata::Result<LakeConfig> {
    let mut config = match &root.config {
        Some(path) => LakeConfig::from_file(path)?,
        None => LakeConfig::default(),
    };
    if let Some(dir) = &root.dir {
        config.dir = dir.clone();
    }
    Ok(config)
}

fn run(cli: Cli) -> strata::Result<()> {
    let config = config(&cli.root)?;
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Demo => strata::demo::run(&config, &mut out),
        Command::Put {
            key,
            file,
            encrypt,
            no_encrypt,
        } => {
            let store = Store::open(&config)?;
            let options = strata::PutOptions {
                encrypt: if encrypt {
                    Some(true)
                } else if no_encrypt {
                    Some(false)
                } else {
                    None
                },
            };
            let info = if file.as_os_str() == "-" {
                store.put_reader_with(&key, &mut std::io::stdin().lock(), None, &options)?
            } else {
                store.put_file(&key, &file, &options)?
            };
            let sealed = info
                .key_id
                .as_deref()
                .map(|k| format!(", encrypted under key {k}"))
                .unwrap_or_default();
            writeln!(
                out,
                "put {} ({} bytes) in tier {}{sealed}",
                info.key, info.size, info.tier
            )
            .map_err(io)
        }
        Command::Key(command) => key_command(&config, command, &mut out),
        Command::Scan(args) => scan_command(args, &mut out),
        Command::Get { key, output } => {
            let store = Store::open(&config)?;
            match output {
                Some(path) => {
                    // Write beside the target and rename, so OUT is never left half-written.
                    let tmp = path.with_extension("strata-partial");
                    let mut file = std::fs::File::create(&tmp).map_err(|e| {
                        strata::Error::new(
                            strata::ErrorKind::Io,
                            format!("cannot create {}: {e}", tmp.display()),
                        )
                    })?;
                    let result = store
                        .get_to(&key, &mut file)
                        .and_then(|_| file.sync_all().map_err(io));
                    if let Err(e) = result {
                        let _ = std::fs::remove_file(&tmp);
                        return Err(e);
                    }
                    std::fs::rename(&tmp, &path).map_err(io)
                }
                None => {
                    store.get_to(&key, &mut out)?;
                    out.flush().map_err(io)
                }
            }
        }
        Command::Ls { prefix, json } => {
            let store = Store::open(&config)?;
            let objects = store.list(prefix.as_deref().unwrap_or(""))?;
            if json {
                let rows: Vec<_> = objects.iter().map(info_json).collect();
                writeln!(out, "{}", serde_json::Value::Array(rows)).map_err(io)
            } else {
                for o in &objects {
                    writeln!(
                        out,
                        "{:>12}  {:<6}  {}  {}",
                        o.size,
                        o.tier,
                        time(o.created_ms),
                        o.key
                    )
                    .map_err(io)?;
                }
                Ok(())
            }
        }
        Command::Stat { key, json } => {
            let store = Store::open(&config)?;
            let info = store.stat(&key)?;
            if json {
                writeln!(out, "{}", info_json(&info)).map_err(io)
            } else {
                writeln!(
                    out,
                    "key:          {}\ntier:         {}\nsize:         {}\nstored size:  {}\nchecksum:     blake3:{} (of the stored bytes)\ncreated:      {}\nlast access:  {}\naccess count: {}",
                    info.key, info.tier, info.size, info.stored_size, info.checksum, time(info.created_ms), time(info.last_access_ms), info.access_count
                )
                .map_err(io)?;
                match (&info.key_id, info.envelope_version) {
                    (Some(key_id), Some(v)) => writeln!(
                        out,
                        "encryption:   AES-256-GCM envelope format {v}, key {key_id}"
                    ),
                    _ => writeln!(out, "encryption:   none"),
                }
                .map_err(io)
            }
        }
        Command::Rm { key } => {
            let store = Store::open(&config)?;
            store.delete(&key)?;
            writeln!(out, "removed {key}").map_err(io)
        }
        Command::Tier(TierCommand::Run {
            dry_run,
            json,
            after,
            concurrency,
        }) => {
            let store = Store::open(&config)?;
            let options = RunOptions {
                dry_run,
                now: after.map(|d| SystemTime::now() + d),
                concurrency,
            };
            let report = with_progress("tier run", |progress| store.run_tiers(&options, progress))?;
            if json {
                write_json(&mut out, &report)?;
            } else {
                for a in &report.actions {
                    let status = match (&a.error, dry_run) {
                        (Some(e), _) => format!("FAILED: {e}"),
                        (None, true) => "would do".into(),
                        (None, false) => "done".into(),
                    };
                    writeln!(out, "{} ({status})", a.planned).map_err(io)?;
                }
                writeln!(
                    out,
                    "{} actions{}: {} moved ({} bytes), {} expired, {} orphans removed, {} failed",
                    report.actions.len(),
                    if dry_run {
                        " planned (dry run, nothing changed)"
                    } else {
                        ""
                    },
                    report.moved,
                    report.bytes_moved,
                    report.expired,
                    report.orphans_removed,
                    report.failed
                )
                .map_err(io)?;
            }
            if report.failed > 0 {
                return Err(strata::Error::new(
                    strata::ErrorKind::Io,
                    format!(
                        "{} tier actions failed; rerun `strata tier run` to retry",
                        report.failed
                    ),
                ));
            }
            Ok(())
        }
        Command::Tier(TierCommand::Reindex { json }) => {
            let (store, _) = Store::open_rebuilding(&config)?;
            let report =
                with_progress("reindex", |progress| store.reindex_with_progress(progress))?;
            if json {
                write_json(&mut out, &report)
            } else {
                writeln!(
                    out,
                    "reindexed {} objects ({} bytes); {} duplicate copies queued for removal, {} conflicts, {} foreign files skipped",
                    report.objects, report.bytes, report.duplicates, report.conflicts.len(), report.skipped.len()
                )
                .map_err(io)
            }
        }
    }
}

fn key_command(
    config: &LakeConfig,
    command: KeyCommand,
    out: &mut dyn Write,
) -> strata::Result<()> {
    let store = Store::open(config)?;
    let path = store.keyring_path();
    match command {
        KeyCommand::New { id } => {
            let id = if path.exists() {
                KeyRing::load(&path)?.add_key(id.as_deref())?
            } else {
                KeyRing::create(&path, id.as_deref())?.active_key_id()?
            };
            writeln!(out, "key {id} is now active (key ring {})", path.display()).map_err(io)
        }
        KeyCommand::List { json } => {
            let ring = KeyRing::load(&path)?;
            let usage = store.key_usage()?;
            let rows: Vec<_> = ring
                .list()
                .into_iter()
                .map(|k| {
                    serde_json::json!({
                        "id": k.id,
                        "active": k.active,
                        "created": time(k.created_ms),
                        "objects": usage.get(&k.id).copied().unwrap_or(0),
                    })
                })
                .collect();
            if json {
                writeln!(out, "{}", serde_json::Value::Array(rows)).map_err(io)
            } else {
                for r in rows {
                    writeln!(
                        out,
                        "{}  {}  {:>8} objects{}",
                        r["id"].as_str().unwrap_or(""),
                        r["created"].as_str().unwrap_or(""),
                        r["objects"],
                        if r["active"] == true {
                            "  (active)"
                        } else {
                            ""
                        }
                    )
                    .map_err(io)?;
                }
                Ok(())
            }
        }
        KeyCommand::Rotate { json } => {
            let mut ring = KeyRing::load_or_create(&path)?;
            let id = ring.add_key(None)?;
            store.set_key_provider(std::sync::Arc::new(ring));
            let report = with_progress("rotate", |progress| store.rotate_keys(&id, progress))?;
            if json {
                write_json(out, &report)?;
            } else {
                writeln!(
                    out,
                    "new active key {id}; re-wrapped {} objects, {} failed",
                    report.rewrapped,
                    report.failed.len()
                )
                .map_err(io)?;
            }
            if !report.failed.is_empty() {
                return Err(strata::Error::new(
                    strata::ErrorKind::Crypto,
                    format!(
                        "{} objects were not re-wrapped; rerun `strata key rotate`",
                        report.failed.len()
                    ),
                ));
            }
            Ok(())
        }
        KeyCommand::Retire { id } => {
            let mut ring = KeyRing::load(&path)?;
            let used = store.key_usage()?.get(&id).copied().unwrap_or(0);
            if used > 0 {
                return Err(strata::Error::new(
                    strata::ErrorKind::InvalidArgument,
                    format!(
                        "key {id} still protects {used} objects; run `strata key rotate` first"
                    ),
                ));
            }
            ring.remove_key(&id)?;
            writeln!(out, "retired key {id}").map_err(io)
        }
    }
}

fn scan_command(args: ScanArgs, out: &mut dyn Write) -> strata::Result<()> {
    let mut scan = strata::Scan::new(&args.path)
        .offset(args.offset)
        .no_mmap(args.no_mmap);
    if let Some(columns) = &args.columns {
        scan = scan.columns(columns);
    }
    if let Some(filter) = &args.filter {
        scan = scan.filter(strata::Expr::parse(filter)?);
    }
    if let Some(n) = args.limit {
        scan = scan.limit(n);
    }
    if let Some(n) = args.threads {
        scan = scan.threads(n);
    }
    let mut file;
    let out: &mut dyn Write = match &args.output {
        Some(path) => {
            file = std::fs::File::create(path).map_err(|e| {
                strata::Error::new(
                    strata::ErrorKind::Io,
                    format!("cannot create {}: {e}", path.display()),
                )
            })?;
            &mut file
        }
        None => out,
    };
    let stats = if args.count {
        let (n, stats) = scan.count()?;
        writeln!(out, "{n}").map_err(io)?;
        stats
    } else {
        let result = scan.run()?;
        strata::write_batches(out, args.format, &result.batches)?;
        result.stats
    };
    out.flush().map_err(io)?;
    if args.json_stats {
        write_json(&mut std::io::stderr().lock(), &stats)?;
    }
    Ok(())
}

/// Runs `work` with a progress bar (drawn only when stderr is a terminal).
fn with_progress<T>(
    what: &str,
    work: impl FnOnce(&(dyn Fn(u64, u64) + Sync)) -> strata::Result<T>,
) -> strata::Result<T> {
    let bar = progress_bar(what);
    let result = work(&|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    result
}

fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> strata::Result<()> {
    let text = serde_json::to_string(value)
        .map_err(|e| strata::Error::new(strata::ErrorKind::Internal, e.to_string()))?;
    writeln!(out, "{text}").map_err(io)
}

fn progress_bar(what: &str) -> ProgressBar {
    // Hidden automatically when stderr is not a terminal.
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} {eta}") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

fn info_json(o: &ObjectInfo) -> serde_json::Value {
    serde_json::json!({
        "key": o.key,
        "tier": o.tier,
        "size": o.size,
        "checksum": o.checksum,
        "created_ms": o.created_ms,
        "created": time(o.created_ms),
        "last_access_ms": o.last_access_ms,
        "last_access": time(o.last_access_ms),
        "access_count": o.access_count,
        "stored_size": o.stored_size,
        "key_id": o.key_id,
        "envelope_version": o.envelope_version,
    })
}

fn time(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

fn io(e: std::io::Error) -> strata::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        // `strata get KEY | head` closing the pipe is not worth a scary message.
        return strata::Error::new(strata::ErrorKind::Io, "output closed early");
    }
    strata::Error::new(strata::ErrorKind::Io, format!("cannot write output: {e}"))
}
