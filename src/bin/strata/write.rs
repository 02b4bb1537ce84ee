//! `strata write`: CSV, JSON lines, Parquet or Arrow IPC in; Parquet or Arrow IPC out, with the
//! format and per-column codecs chosen (or forced), optionally partitioned, optionally into the
//! lake's tiers.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use strata::{
    format::{
        AccessPattern, CodecPolicy, DictionaryMode, FormatChoice, InputFormat, PageVersion,
        Partitioning,
    },
    LakeConfig, WriteOptions, WriteSummary,
};

use crate::flags;
use crate::util::{io, write_json};

#[derive(Args)]
pub struct WriteArgs {
    /// Input file: .csv, .json/.jsonl, .parquet or .arrow/.ipc/.feather.
    input: PathBuf,
    /// Output file, or a directory for a partitioned or multi-file dataset (a name ending in
    /// `/` or an existing directory); with --lake, the dataset's key prefix in the lake.
    dest: String,
    /// Output format.
    #[arg(long, default_value = "auto", value_name = "auto|parquet|ipc")]
    format: FormatChoice,
    /// Codec: auto, fast, balanced, compact, zstd[:LEVEL], lz4, snappy, gzip[:LEVEL] or none.
    #[arg(long, default_value = "auto", value_name = "CODEC")]
    codec: CodecPolicy,
    /// Hive-style partition columns, comma-separated; `ts:day` cuts a timestamp column to
    /// year, month, day or hour.
    #[arg(long, value_name = "COLS")]
    partition_by: Option<Partitioning>,
    /// Rows per row group: 1 to 1073741824 (2^30).
    #[arg(long, value_name = "N", value_parser = flags::count::<usize>(1, 1 << 30))]
    row_group_rows: Option<usize>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Input format when the extension does not say.
    #[arg(long, value_name = "csv|jsonl|parquet|ipc")]
    input_format: Option<InputFormat>,
    /// Data page format.
    #[arg(long, default_value = "v1", value_parser = page_version)]
    page_version: PageVersion,
    /// Dictionary encoding: auto (per column), on or off.
    #[arg(long, default_value = "auto", value_parser = dictionary)]
    dictionary: DictionaryMode,
    /// Columns that get a bloom filter, comma-separated.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    bloom_filter: Vec<String>,
    /// Sort rows by these columns before writing (recorded as the files' sort order).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    sort_by: Vec<String>,
    /// Roll multi-file outputs over past this size (e.g. 256MiB): 1KiB to 1TiB; default
    /// 128MiB.
    #[arg(long, value_name = "SIZE", value_parser = flags::target_file_size)]
    target_file_size: Option<u64>,
    /// Bytes per data page before compression (e.g. 1MiB): 1KiB to 1GiB.
    #[arg(long, value_name = "SIZE", value_parser = flags::page_size)]
    page_size: Option<u64>,
    /// How the data will be read: scan (Parquet) or zero-copy (Arrow IPC) under --format auto.
    #[arg(long, default_value = "scan", value_name = "scan|zero-copy")]
    access: AccessPattern,
    /// The tier the data is for (its decode-speed floor applies under --codec auto).
    #[arg(long, value_name = "NAME")]
    tier: Option<String>,
    /// Store the dataset in the lake (through the data root's tiers) under the key prefix DEST.
    #[arg(long)]
    lake: bool,
    /// Threads that parse the input and encode the columns: 1 to 1024 (default: one per core).
    #[arg(long, value_name = "N",
          value_parser = flags::count::<usize>(flags::THREADS.0, flags::THREADS.1))]
    threads: Option<usize>,
}

fn page_version(s: &str) -> Result<PageVersion, String> {
    match s {
        "v1" | "1" => Ok(PageVersion::V1),
        "v2" | "2" => Ok(PageVersion::V2),
        _ => Err(format!("unknown page version {s:?}; expected v1 or v2")),
    }
}

fn dictionary(s: &str) -> Result<DictionaryMode, String> {
    match s {
        "auto" => Ok(DictionaryMode::Auto),
        "on" => Ok(DictionaryMode::On),
        "off" => Ok(DictionaryMode::Off),
        _ => Err(format!(
            "unknown dictionary mode {s:?}; expected auto, on or off"
        )),
    }
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.2} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// The summary, with the codec trials' share of `elapsed` (the whole command) when given.
fn print_summary(
    out: &mut dyn Write,
    s: &WriteSummary,
    dest: &str,
    elapsed: Option<f64>,
) -> strata::Result<()> {
    writeln!(
        out,
        "wrote {} {} file(s) to {dest}{}: {} rows, {} in -> {} out (ratio {:.2}x)",
        s.files.len(),
        s.format,
        if s.partitions > 0 {
            format!(" in {} partitions", s.partitions)
        } else {
            String::new()
        },
        s.rows,
        human(s.bytes_in),
        human(s.bytes_out),
        s.ratio
    )
    .map_err(io)?;
    writeln!(out, "format: {} ({})", s.format, s.format_reason).map_err(io)?;
    writeln!(out, "codec policy: {}", s.codec_policy).map_err(io)?;
    if let Some(t) = &s.trials {
        let share = elapsed
            .filter(|e| *e > 0.0)
            .map(|e| format!(" ({:.0}% of the write's {e:.3} s)", 100.0 * t.seconds / e))
            .unwrap_or_default();
        writeln!(
            out,
            "codec trials: {:.3} s{share} on {} column sample(s)",
            t.seconds, t.columns
        )
        .map_err(io)?;
        if let Some(note) = t.note() {
            writeln!(out, "  {note}").map_err(io)?;
        }
    }
    if !s.columns.is_empty() {
        let width = s
            .columns
            .iter()
            .map(|c| c.column.len())
            .max()
            .unwrap_or(6)
            .max(6);
        writeln!(
            out,
            "  {:<width$}  {:<8} {:<20} why",
            "column", "codec", "encoding"
        )
        .map_err(io)?;
        for c in &s.columns {
            writeln!(
                out,
                "  {:<width$}  {:<8} {:<20} {}",
                c.column,
                c.codec.to_string(),
                c.encoding,
                c.reason
            )
            .map_err(io)?;
        }
    }
    for f in &s.files {
        writeln!(
            out,
            "  {:>10} rows {:>12}  {}",
            f.rows,
            human(f.bytes),
            f.path.display()
        )
        .map_err(io)?;
    }
    Ok(())
}

pub fn run(config: &LakeConfig, args: WriteArgs, out: &mut dyn Write) -> strata::Result<()> {
    let started = std::time::Instant::now();
    let (json, dest) = (args.json, args.dest.clone());
    let summary = match args.threads {
        // The command's own pool: parsing and encoding run on the rayon pool they are called
        // from, so the whole write then uses N threads.
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| {
                strata::Error::new(
                    strata::ErrorKind::Internal,
                    format!("cannot start {n} threads: {e}"),
                )
            })?
            .install(|| write(config, args))?,
        None => write(config, args)?,
    };
    if json {
        write_json(out, &summary)
    } else {
        print_summary(out, &summary, &dest, Some(started.elapsed().as_secs_f64()))
    }
}

/// Reads the input and writes it: the work `--threads` puts on its pool.
fn write(config: &LakeConfig, args: WriteArgs) -> strata::Result<WriteSummary> {
    let bytes_in = std::fs::metadata(&args.input)
        .map_err(|e| {
            strata::Error::new(
                strata::ErrorKind::NotFound,
                format!("cannot open input: {e}"),
            )
            .with("path", args.input.display())
        })?
        .len();
    let (schema, batches) = strata::format::read_input(&args.input, args.input_format)?;
    let defaults = WriteOptions::default();
    let tier_position = match &args.tier {
        Some(name) => Some(
            config
                .tiers
                .iter()
                .position(|t| &t.name == name)
                .ok_or_else(|| {
                    strata::Error::new(
                        strata::ErrorKind::InvalidArgument,
                        format!("unknown tier {name:?}"),
                    )
                })?,
        ),
        None => None,
    };
    let options = WriteOptions {
        format: args.format,
        access: args.access,
        codec: args.codec,
        tier_position,
        row_group_rows: args.row_group_rows.unwrap_or(defaults.row_group_rows),
        page_bytes: args
            .page_size
            .map(|n| n as usize)
            .unwrap_or(defaults.page_bytes),
        target_file_bytes: args.target_file_size.unwrap_or(defaults.target_file_bytes),
        page_version: args.page_version,
        dictionary: args.dictionary,
        bloom_filter_columns: args.bloom_filter,
        sort_by: args.sort_by,
        partitioning: args.partition_by,
        ..defaults
    };
    let mut summary = if args.lake {
        if args.dest.trim_matches('/').is_empty() {
            return Err(strata::Error::new(
                strata::ErrorKind::InvalidArgument,
                "--lake needs a dataset name as DEST",
            ));
        }
        strata::Lake::open(config)?.write(&args.dest, &schema, &batches, &options)?
    } else {
        strata::format::write(Path::new(&args.dest), &schema, &batches, &options)?
    };
    summary.bytes_in = bytes_in;
    summary.ratio = bytes_in as f64 / summary.bytes_out.max(1) as f64;
    Ok(summary)
}
