//! `strata profile` and `strata check`: data quality of Parquet files and datasets.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use strata::{
    quality::{CheckOptions, ColumnSummary, ProfileOptions, RuleSet},
    Scan,
};

use crate::flags;
use crate::util::{io, write_json};

#[derive(Args)]
pub struct ProfileArgs {
    /// A Parquet file or a directory of Parquet files (as for `strata scan`).
    path: PathBuf,
    /// Columns to profile, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Print the profile as JSON (one summary per column).
    #[arg(long)]
    json: bool,
    /// Threads for decoding and profiling: 1 to 1024 (default: one per core).
    #[arg(long, value_name = "N", value_parser = flags::count::<usize>(flags::THREADS.0, flags::THREADS.1))]
    threads: Option<usize>,
    /// Read with plain file I/O instead of a memory map.
    #[arg(long)]
    no_mmap: bool,
}

#[derive(Args)]
pub struct CheckArgs {
    /// A Parquet file or a directory of Parquet files (as for `strata scan`).
    path: PathBuf,
    /// Rules file, TOML or JSON (by extension).
    #[arg(long, value_name = "FILE")]
    rules: PathBuf,
    /// Also read these columns, so the dataset quality score covers them (default: the
    /// columns the rules read).
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Failed rows listed per rule: 0 to 1000000.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = flags::count::<usize>(0, 1_000_000))]
    sample: usize,
    /// Threads for decoding and checking: 1 to 1024 (default: one per core).
    #[arg(long, value_name = "N", value_parser = flags::count::<usize>(flags::THREADS.0, flags::THREADS.1))]
    threads: Option<usize>,
    /// Read with plain file I/O instead of a memory map.
    #[arg(long)]
    no_mmap: bool,
    /// Record the score (0 to 100) as this catalog entry's last quality score (ZONE/NAME: a
    /// table or dataset of the lake, whose data PATH is).
    #[arg(long, value_name = "NAME")]
    catalog: Option<String>,
}

fn scan(path: &PathBuf, threads: Option<usize>, no_mmap: bool) -> Scan {
    let scan = Scan::new(path).no_mmap(no_mmap);
    match threads {
        Some(n) => scan.threads(n),
        None => scan,
    }
}

pub fn profile(args: ProfileArgs, out: &mut dyn Write) -> strata::Result<()> {
    let mut scan = scan(&args.path, args.threads, args.no_mmap);
    if let Some(columns) = &args.columns {
        scan = scan.columns(columns);
    }
    let profile = scan.profile(&ProfileOptions::default())?;
    let summaries = profile.summary();
    if args.json {
        return write_json(
            out,
            &serde_json::json!({ "rows": profile.rows(), "columns": summaries }),
        );
    }
    writeln!(out, "{} rows, {} columns", profile.rows(), summaries.len()).map_err(io)?;
    let header = [
        "column",
        "type",
        "nulls",
        "distinct",
        "min",
        "max",
        "mean",
        "stddev",
        "looks like",
    ];
    let rows: Vec<[String; 9]> = summaries.iter().map(profile_row).collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(&header.map(String::from))).map_err(io)?;
    for row in &rows {
        writeln!(out, "{}", line(row)).map_err(io)?;
    }
    Ok(())
}

/// One line of the profile table; long values are cut so the table stays readable.
fn profile_row(s: &ColumnSummary) -> [String; 9] {
    let cut = |text: String| {
        if text.chars().count() > 24 {
            format!("{}…", text.chars().take(23).collect::<String>())
        } else {
            text
        }
    };
    let opt = |v: Option<String>| v.map(cut).unwrap_or_else(|| "-".into());
    let number = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
    let distinct = match s.distinct {
        Some(d) if d.exact => d.value.to_string(),
        Some(d) => format!("~{} (±{:.1}%)", d.value, d.error_bound * 100.0),
        None => "-".into(),
    };
    let nulls = if s.nans > 0 {
        format!("{} (+{} NaN)", s.nulls, s.nans)
    } else {
        s.nulls.to_string()
    };
    [
        s.name.clone(),
        s.data_type.clone(),
        nulls,
        distinct,
        opt(s.min.as_ref().map(ToString::to_string)),
        opt(s.max.as_ref().map(ToString::to_string)),
        number(s.mean),
        number(s.stddev),
        s.inferred_type
            .map(|t| format!("{t:?}").to_lowercase())
            .unwrap_or_else(|| "-".into()),
    ]
}

pub fn check(
    config: &strata::LakeConfig,
    args: CheckArgs,
    out: &mut dyn Write,
) -> strata::Result<()> {
    let rules = RuleSet::from_file(&args.rules)?;
    // The catalog entry the score goes to must be there before the data is read.
    let catalog = match &args.catalog {
        Some(name) => {
            let lake = strata::Lake::open(config)?.with_job(&crate::catalog::job());
            let catalog = lake.catalog()?;
            if catalog.entry(name)?.is_none() {
                return Err(strata::Error::new(
                    strata::ErrorKind::NotFound,
                    format!("the catalog has no entry {name:?} to record the score in"),
                ));
            }
            Some(catalog)
        }
        None => None,
    };
    let mut columns = rules.columns();
    for extra in args.columns.iter().flatten() {
        if !columns.contains(extra) {
            columns.push(extra.clone());
        }
    }
    let mut scan = scan(&args.path, args.threads, args.no_mmap);
    // A rule on a column the data lacks is an error naming the rule and the rules file, from
    // the whole schema (footers only) before the projection is decoded.
    let schema = scan.clone().limit(0).run()?.schema;
    rules.check_columns(&schema).map_err(|e| {
        e.with("rules", args.rules.display())
            .with("path", args.path.display())
    })?;
    // A rule set of row counts alone reads every column: a scan of no columns has no rows.
    if !columns.is_empty() {
        scan = scan.columns(&columns);
    }
    let options = CheckOptions {
        sample_size: args.sample,
        ..CheckOptions::default()
    };
    let report = scan.check(&rules, &options)?;
    if args.json {
        write_json(out, &report)?;
    } else {
        for r in &report.results {
            let verdict = if r.passed { "PASS" } else { "FAIL" };
            writeln!(
                out,
                "{verdict}  {:<5}  {}: {}",
                format!("{:?}", r.severity).to_lowercase(),
                r.rule,
                r.message
            )
            .map_err(io)?;
            for row in r.sample.iter().take(3) {
                writeln!(out, "        row {}: {}", row.row, row.value).map_err(io)?;
            }
        }
        writeln!(
            out,
            "{} rows, {} rules, {} failed; score {:.3}; dataset quality {:.3} (completeness {:.3} x 0.7 + uniqueness {} x 0.3)",
            report.rows,
            report.results.len(),
            report.failures().count(),
            report.score,
            report.dataset.score,
            report.dataset.completeness,
            uniqueness_text(&report.dataset)
        )
        .map_err(io)?;
    }
    out.flush().map_err(io)?;
    if let (Some(name), Some(catalog)) = (&args.catalog, &catalog) {
        catalog.set_quality(name, report.score * 100.0)?;
    }
    if !report.passed {
        let failed = report
            .failures()
            .filter(|r| r.severity == strata::quality::Severity::Error)
            .count();
        return Err(strata::Error::new(
            strata::ErrorKind::InvalidArgument,
            format!("check failed: {failed} error-severity rules did not hold"),
        ));
    }
    Ok(())
}

/// The score's uniqueness as the text line shows it: `~0.998 (estimated, +/-1.2%)` when
/// the distinct rows were estimated (a check over more rows than `exact_distinct_rows`),
/// so a reader never takes an estimate for a count.
fn uniqueness_text(dataset: &strata::quality::DatasetQuality) -> String {
    match dataset.uniqueness_error {
        Some(error) => format!(
            "~{:.3} (estimated, +/-{:.1}%)",
            dataset.uniqueness,
            error * 100.0
        ),
        None => format!("{:.3}", dataset.uniqueness),
    }
}
