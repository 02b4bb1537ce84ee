//! `strata sync`: copy a tier's objects to another tier, of this lake or of another one.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use strata::store::{SyncActionKind, SyncOptions, SyncReport, SyncRequest};
use strata::{Lake, LakeConfig};

use crate::flags;
use crate::util::{io, with_progress, write_json};

/// Copy what tier SOURCE holds to tier DEST: incremental (by checksum and size from the tier
/// index; unchanged objects are not read), each copy read back and verified, resumable after
/// a crash (state in `<data root>/_sync/`), encrypted objects copied as ciphertext.
#[derive(Args)]
pub struct SyncArgs {
    /// The tier to copy from.
    source: String,
    /// The tier to copy to: of this lake, or of the lake --to-config describes.
    dest: String,
    /// Another lake's TOML config: DEST is its tier, and the copies become its objects.
    #[arg(long, value_name = "FILE")]
    to_config: Option<PathBuf>,
    /// Only objects whose keys start with this.
    #[arg(long, default_value = "", value_name = "PREFIX")]
    prefix: String,
    /// List what would be copied and deleted; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Delete from DEST what SOURCE no longer holds (within one lake: only copies an earlier
    /// sync made, never DEST's own objects).
    #[arg(long)]
    delete: bool,
    /// Read back every copy DEST already holds and compare checksums; copy damaged ones again.
    #[arg(long)]
    verify: bool,
    /// Objects copied at once: 1 to 1024.
    #[arg(long, default_value_t = 8, value_parser = flags::count::<usize>(1, 1024))]
    concurrency: usize,
    /// Copy at most this many objects now and leave the rest for the next run:
    /// 1 to 18446744073709551615.
    #[arg(long, value_name = "N", value_parser = flags::count::<u64>(1, u64::MAX))]
    limit: Option<u64>,
    #[arg(long)]
    json: bool,
}

pub fn run(config: &LakeConfig, args: SyncArgs, out: &mut dyn Write) -> strata::Result<()> {
    let dest_config = match &args.to_config {
        Some(path) => Some(LakeConfig::from_file(path)?),
        None => None,
    };
    let request = SyncRequest {
        source: args.source,
        dest: args.dest,
        dest_config,
        options: SyncOptions {
            prefix: args.prefix,
            dry_run: args.dry_run,
            delete: args.delete,
            verify: args.verify,
            concurrency: args.concurrency,
            limit: args.limit,
        },
    };
    let lake = Lake::open(config)?;
    let report = with_progress("sync", |progress| {
        lake.sync_with_progress(&request, progress)
    })?;
    if args.json {
        write_json(out, &report)?;
    } else {
        print_report(&report, out)?;
    }
    if report.failed > 0 {
        return Err(strata::Error::new(
            strata::ErrorKind::Io,
            format!(
                "{} sync steps failed; rerun `strata sync` to retry them",
                report.failed
            ),
        ));
    }
    Ok(())
}

fn print_report(report: &SyncReport, out: &mut dyn Write) -> strata::Result<()> {
    for a in &report.actions {
        let verb = match a.planned.action {
            SyncActionKind::Copy => "copy",
            SyncActionKind::Delete => "delete",
        };
        let status = match (&a.error, report.dry_run) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, true) => "would do".into(),
            (None, false) => "done".into(),
        };
        writeln!(
            out,
            "{verb} {} ({} bytes; {}) ({status})",
            a.planned.key, a.planned.size, a.planned.reason
        )
        .map_err(io)?;
    }
    let dest = match &report.dest_lake {
        Some(lake) => format!("{} of {lake}", report.dest),
        None => report.dest.clone(),
    };
    writeln!(
        out,
        "sync {} -> {dest}{}: {} {} ({} bytes), {} unchanged, {} {}, {} failed{}{}{}",
        report.source,
        if report.dry_run {
            " (dry run, nothing changed)"
        } else {
            ""
        },
        report.copied,
        if report.dry_run { "to copy" } else { "copied" },
        report.bytes_copied,
        report.skipped,
        report.deleted,
        if report.dry_run {
            "to delete"
        } else {
            "deleted"
        },
        report.failed,
        if report.remaining > 0 {
            format!(", {} left for the next run", report.remaining)
        } else {
            String::new()
        },
        if report.resumed > 0 {
            format!(", resumed {} verified copies", report.resumed)
        } else {
            String::new()
        },
        if report.damaged > 0 {
            format!(", {} damaged copies replaced", report.damaged)
        } else {
            String::new()
        },
    )
    .map_err(io)
}
