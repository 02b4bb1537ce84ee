//! `strata inspect`: schema, row groups and column chunks of a Parquet or Arrow IPC file.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::util::{io, write_json};

#[derive(Args)]
pub struct InspectArgs {
    /// A Parquet or Arrow IPC file.
    file: PathBuf,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: InspectArgs, out: &mut dyn Write) -> strata::Result<()> {
    let info = strata::format::inspect(&args.file)?;
    if args.json {
        return write_json(out, &info);
    }
    writeln!(
        out,
        "{}: {} file, {} bytes, {} rows, {} {}",
        args.file.display(),
        info.format,
        info.bytes,
        info.rows,
        info.row_groups.len(),
        if info.format == "ipc" {
            "record batches"
        } else {
            "row groups"
        }
    )
    .map_err(io)?;
    if let Some(by) = &info.created_by {
        writeln!(out, "created by: {by}").map_err(io)?;
    }
    writeln!(out, "schema:").map_err(io)?;
    for f in &info.schema {
        writeln!(out, "  {f}").map_err(io)?;
    }
    if !info.metadata.is_empty() {
        writeln!(out, "metadata:").map_err(io)?;
        for (k, v) in &info.metadata {
            writeln!(out, "  {k} = {v}").map_err(io)?;
        }
    }
    for (i, rg) in info.row_groups.iter().enumerate() {
        writeln!(out, "row group {i}: {} rows, {} bytes", rg.rows, rg.bytes).map_err(io)?;
        for c in &rg.columns {
            writeln!(
                out,
                "  {:<16} {:<10} {:<7} {:<40} {:>9} -> {:>9} B  nulls {:<6} min {} max {}{}{}",
                c.column,
                c.physical_type,
                c.codec,
                c.encodings.join(","),
                c.uncompressed_bytes,
                c.compressed_bytes,
                c.nulls.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
                c.min.as_deref().unwrap_or("-"),
                c.max.as_deref().unwrap_or("-"),
                if c.page_index { "  [page index]" } else { "" },
                if c.bloom_filter { "  [bloom]" } else { "" },
            )
            .map_err(io)?;
        }
    }
    Ok(())
}
