//! `strata compact`: rewrite a dataset's small Parquet files into files of the target size.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use strata::{
    format::{CodecPolicy, CompactOptions},
    WriteOptions,
};

use crate::flags;
use crate::util::{io, write_json};

#[derive(Args)]
pub struct CompactArgs {
    /// The dataset directory.
    dataset: PathBuf,
    /// Size of the new files (e.g. 256MiB): 1KiB to 1TiB; default 128MiB.
    #[arg(long, value_name = "SIZE", value_parser = flags::target_file_size)]
    target_file_size: Option<u64>,
    /// Files below this size are compacted: 0 to 1TiB; default half the target.
    #[arg(long, value_name = "SIZE", value_parser = flags::small_file_size)]
    small_file_size: Option<u64>,
    /// Codec policy of the new files.
    #[arg(long, default_value = "auto", value_name = "CODEC")]
    codec: CodecPolicy,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CompactArgs, out: &mut dyn Write) -> strata::Result<()> {
    let defaults = WriteOptions::default();
    let options = CompactOptions {
        write: WriteOptions {
            codec: args.codec,
            target_file_bytes: args.target_file_size.unwrap_or(defaults.target_file_bytes),
            ..defaults
        },
        small_file_bytes: args.small_file_size,
    };
    let report = strata::format::compact(&args.dataset, &options)?;
    if args.json {
        return write_json(out, &report);
    }
    if report.recovered {
        writeln!(out, "finished an interrupted compaction first").map_err(io)?;
    }
    writeln!(
        out,
        "compacted {} files into {} in {} directories: {} rows, {} -> {} bytes",
        report.files_in,
        report.files_out,
        report.directories,
        report.rows,
        report.bytes_in,
        report.bytes_out
    )
    .map_err(io)
}
