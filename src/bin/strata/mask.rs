//! `strata mask`: masked copies of Parquet files, and moving their tokens to the current key
//! version after a rotation (`--retokenize`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use strata::{
    mask::{MaskKeyRing, MaskKeys, MaskPolicy, MemoryKeys, MissingColumns, RotationReport},
    LakeConfig,
};

use crate::util::{io, write_json};

#[derive(Args)]
pub struct MaskArgs {
    /// The Parquet file to read (with --retokenize: a file `strata mask` wrote).
    input: PathBuf,
    /// The Parquet file to write; written beside it first, then renamed over it (a character
    /// device or FIFO is written directly, a symlink is written through).
    output: PathBuf,
    /// The masking policy (TOML).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Mask the data as this role sees it (default: each column's `mask`, the view of any
    /// role the policy does not name).
    #[arg(long, value_name = "R")]
    role: Option<String>,
    /// Move tokens made under older key versions to the current version; hashes are one-way,
    /// so stale ones are only counted (mask them again from clear text).
    #[arg(long)]
    retokenize: bool,
    /// Columns the policy names that the input lacks are warnings (on stderr and in the
    /// summary) instead of an error; as `missing_columns = "warn"` in the policy.
    #[arg(long)]
    allow_missing_columns: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// The policy at `path`, with `--allow-missing-columns` applied.
pub fn open_policy(path: &Path, allow_missing_columns: bool) -> strata::Result<MaskPolicy> {
    let policy = MaskPolicy::from_file(path)?;
    Ok(if allow_missing_columns {
        policy.with_missing_columns(MissingColumns::Warn)
    } else {
        policy
    })
}

/// Says on stderr which columns the policy names that the data lacks (when they are allowed).
pub fn warn_missing(policy: &Path, role: &str, missing: &[String]) {
    if missing.is_empty() {
        return;
    }
    let names: Vec<String> = missing.iter().map(|n| format!("{n:?}")).collect();
    let role = if role.is_empty() { "(default)" } else { role };
    let _ = writeln!(
        std::io::stderr().lock(),
        "strata: warning: the masking policy names {} {} that the data does not have \
         (policy: {}, role: {role})",
        if missing.len() == 1 {
            "column"
        } else {
            "columns"
        },
        names.join(", "),
        policy.display()
    );
}

/// Masking keys for `policy`: none needed, none opened (so no key ring is made for a policy of
/// plain masks); with `create`, keys the policy names but the data root lacks are made.
fn keys_for(
    config: &LakeConfig,
    policy: &MaskPolicy,
    create: bool,
    out: &mut dyn Write,
) -> strata::Result<Box<dyn MaskKeys>> {
    let ids = policy.key_ids();
    if ids.is_empty() {
        return Ok(Box::new(MemoryKeys::new()));
    }
    match strata::Lake::mask_keys(config, false) {
        Ok(keys) if !create || ids.iter().all(|id| keys.key(id).is_ok()) => {
            return Ok(Box::new(keys))
        }
        Ok(_) => {}
        // No key ring yet: made below, under the lock.
        Err(e) if create && e.kind() == strata::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // Two processes making the key ring or version 1 of one key at once would each write
    // tokens the other's key cannot read: make them under the data root's lock, re-reading
    // the files inside it.
    let lake = strata::Lake::open(config)?;
    let mut keys: MaskKeyRing = lake.keys().masking(true)?;
    for id in keys.ensure(ids.iter().map(String::as_str))? {
        writeln!(
            out,
            "made masking key {id} version 1 ({})",
            keys.path().display()
        )
        .map_err(io)?;
    }
    Ok(Box::new(keys))
}

pub fn run(config: &LakeConfig, args: MaskArgs, out: &mut dyn Write) -> strata::Result<()> {
    let policy = open_policy(&args.policy, args.allow_missing_columns)?;
    // The empty role is never named by a policy (policies refuse empty role names), so it gets
    // every column's default `mask`.
    let role = args.role.clone().unwrap_or_default();
    let started = Instant::now();
    if args.retokenize {
        let keys = keys_for(config, &policy, false, out)?;
        let mut report = RotationReport::default();
        // The first batch rewrite_parquet passes is the input's empty schema batch.
        let mut missing: Option<Vec<String>> = None;
        let stats = strata::mask::rewrite_parquet(&args.input, &args.output, |batch| {
            if missing.is_none() {
                missing = Some(policy.check_masked_columns(&batch.schema(), &role)?);
            }
            let (batch, r) = policy.retokenize(batch, &role, keys.as_ref())?;
            report.add(&r);
            Ok(batch)
        })?;
        let missing = missing.unwrap_or_default();
        warn_missing(&args.policy, &role, &missing);
        if args.json {
            return write_json(
                out,
                &serde_json::json!({
                    "rows": stats.rows,
                    "seconds": started.elapsed().as_secs_f64(),
                    "columns": report.columns,
                    "missing_columns": missing,
                }),
            );
        }
        for (name, c) in &report.columns {
            writeln!(
                out,
                "column {name} ({} with key {} v{}): {} re-tokenized, {} already current{}",
                c.op,
                c.key,
                c.current_version,
                c.retokenized,
                c.current,
                if c.stale > 0 {
                    format!(
                        ", {} stale hashes (one-way: mask again from clear text)",
                        c.stale
                    )
                } else {
                    String::new()
                }
            )
            .map_err(io)?;
        }
        return writeln!(
            out,
            "wrote {} rows to {}",
            stats.rows,
            args.output.display()
        )
        .map_err(io);
    }
    let keys = keys_for(config, &policy, true, out)?;
    // Time inside the masking kernels, apart from Parquet decoding and encoding.
    let mut masking = Duration::ZERO;
    let mut mask = policy.for_role(&role, keys.as_ref())?;
    // The first batch rewrite_parquet passes is the input's empty schema batch: the policy is
    // checked against it before the output is created.
    let mut missing: Option<Vec<String>> = None;
    let stats = strata::mask::rewrite_parquet(&args.input, &args.output, |batch| {
        if missing.is_none() {
            missing = Some(mask.check_schema(&batch.schema())?);
        }
        let t = Instant::now();
        let masked = mask.apply(batch);
        masking += t.elapsed();
        masked
    })?;
    let missing = missing.unwrap_or_default();
    warn_missing(&args.policy, &role, &missing);
    // Lineage goes to the lake's catalog when there is a lake; a masked copy made without
    // one creates none, and a lineage record that cannot be made does not undo the copy.
    if config.dir.join("strata.lock").exists() {
        if let Err(e) = record_lineage(config, &args, &policy, &role) {
            let _ = writeln!(
                std::io::stderr().lock(),
                "strata: warning: the masked copy was written, but its lineage was not recorded: {e}"
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mask_seconds = masking.as_secs_f64();
    let shown = if role.is_empty() { "(default)" } else { &role };
    if args.json {
        return write_json(
            out,
            &serde_json::json!({
                "rows": stats.rows,
                "role": shown,
                "output": args.output.display().to_string(),
                "seconds": seconds,
                "mask_seconds": mask_seconds,
                "missing_columns": missing,
            }),
        );
    }
    writeln!(
        out,
        "masked {} rows as role {shown} into {} in {seconds:.2} s ({mask_seconds:.3} s masking)",
        stats.rows,
        args.output.display()
    )
    .map_err(io)
}

/// Records the masked copy in the lake's lineage: the output file from the input file, each
/// output column from its input column through its operator (`mask:hash`) or as it was.
fn record_lineage(
    config: &LakeConfig,
    args: &MaskArgs,
    policy: &MaskPolicy,
    role: &str,
) -> strata::Result<()> {
    use strata::mask::ColumnAccess;
    use strata::table::{ColumnSource, Source};
    let path = |p: &Path| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    let schema = strata::Scan::new(&args.output).limit(0).run()?.schema;
    let columns: Vec<ColumnSource> = schema
        .fields()
        .iter()
        .map(|f| ColumnSource {
            column: f.name().clone(),
            from: vec![(0, f.name().clone())],
            transformation: match policy.access(f.name(), role) {
                ColumnAccess::Masked(op) => format!("mask:{}", op.name()),
                _ => "identity".to_string(),
            },
        })
        .collect();
    let lake = strata::Lake::open(config)?.with_job(&crate::catalog::job());
    lake.record_lineage(
        "mask",
        &[Source::file(path(&args.input))],
        &[Source::file(path(&args.output))],
        &columns,
    )?;
    Ok(())
}
