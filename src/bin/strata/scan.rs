//! `strata scan`: projected, filtered reads of Parquet files and datasets.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;

use crate::util::{io, write_json};

#[derive(Args)]
pub struct ScanArgs {
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
    /// Output format: table, csv, jsonl, parquet or ipc (Arrow IPC file).
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

pub fn run(args: ScanArgs, out: &mut dyn Write) -> strata::Result<()> {
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
    let binary = matches!(
        args.format,
        strata::ScanFormat::Parquet | strata::ScanFormat::Ipc
    );
    if binary && args.output.is_none() && std::io::stdout().is_terminal() {
        return Err(strata::Error::new(
            strata::ErrorKind::InvalidArgument,
            "refusing to write binary output to a terminal; pass -o FILE or redirect stdout",
        ));
    }
    // A file output appears whole or not at all.
    let mut file = args
        .output
        .as_deref()
        .map(strata::AtomicFile::create)
        .transpose()?;
    let out: &mut dyn Write = match file.as_mut() {
        Some(file) => file,
        None => out,
    };
    let stats = if args.count {
        let (n, stats) = scan.count()?;
        writeln!(out, "{n}").map_err(io)?;
        stats
    } else {
        let result = scan.run()?;
        strata::write_batches(out, args.format, &result.schema, &result.batches)?;
        result.stats
    };
    out.flush().map_err(io)?;
    if let Some(file) = file {
        file.commit()?;
    }
    if args.json_stats {
        write_json(&mut std::io::stderr().lock(), &stats)?;
    }
    Ok(())
}
