//! `strata bench`: the user-facing benchmark harness. Each suite times strata through the
//! public API (`strata::Lake`) and, in the same run and under the same conditions, a baseline
//! (std::fs, the parquet crate, plain moka); every result carries its spread over the runs,
//! its ratio to the baseline, and both sides' threads, batch size, I/O path and warm/cold
//! state. Data is TPC-H (generated in process, cached by scale) and a synthetic mixed-type
//! table with nulls.
//!
//! One file per suite (and, where the baseline is code of its own, `<suite>_baseline.rs`);
//! `record.rs` is the result model (the JSON schema's shape),
//! `measure.rs` the timing, `machine.rs` the machine facts, `data.rs` the data sets,
//! `table_out.rs` the terminal table, `compare.rs` run-to-run differences, `report.rs` the
//! HTML page with SVG plots.

mod c_stream;
mod cache;
mod compare;
mod crypto;
mod data;
mod machine;
mod mask;
mod mask_baseline;
mod measure;
mod quality;
mod quality_baseline;
mod record;
mod report;
mod scan;
mod store;
mod table;
mod table_baseline;
mod table_out;
mod write;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use record::{BenchRun, Record};

/// The suites, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Suite {
    /// put/get of 4 KiB, 1 MiB and 64 MiB objects on each tier against std::fs.
    Store,
    /// TPC-H lineitem and orders (and the mixed table) written with each codec policy and
    /// fixed codecs, against the parquet crate's ArrowWriter with default properties.
    Write,
    /// Full scan, projection, 1% filter with and without page index, 1 and N threads, local
    /// mmap and cold tier through the cache, against the parquet crate's reader.
    Scan,
    /// Zipf traces over mixed-size objects on two tiers: latency saved against plain moka with
    /// the same budget and a static oracle.
    Cache,
    /// Encrypted put/get (envelopes) and encrypted Parquet scans against plaintext.
    Crypto,
    /// Profile and check throughput per core.
    Quality,
    /// Masking operators: values per second.
    Mask,
    /// Delta tables: append, time-travel scan, delete, merge.
    Table,
}

impl Suite {
    pub fn name(self) -> &'static str {
        match self {
            Suite::Store => "store",
            Suite::Write => "write",
            Suite::Scan => "scan",
            Suite::Cache => "cache",
            Suite::Crypto => "crypto",
            Suite::Quality => "quality",
            Suite::Mask => "mask",
            Suite::Table => "table",
        }
    }

    const ALL: [Suite; 8] = [
        Suite::Store,
        Suite::Write,
        Suite::Scan,
        Suite::Cache,
        Suite::Crypto,
        Suite::Quality,
        Suite::Mask,
        Suite::Table,
    ];
}

#[derive(Args)]
pub struct BenchArgs {
    /// Suites to run (default: all): store, write, scan, cache, crypto, quality, mask, table.
    #[arg(value_enum, value_name = "SUITE")]
    suites: Vec<Suite>,
    /// TPC-H scale factor (1 is ~6M lineitem rows): 0.001 to 1000.
    #[arg(long, default_value_t = 1.0, value_name = "S", value_parser = scale)]
    scale: f64,
    /// Threads for the N-thread cases (default: the machine's cores): 1 to 1024.
    #[arg(long, value_name = "N", value_parser = crate::flags::count::<usize>(
        crate::flags::THREADS.0, crate::flags::THREADS.1))]
    threads: Option<usize>,
    /// Timed runs of each case (min/median/max are over these): 1 to 1000.
    #[arg(long, default_value_t = 3, value_name = "R", value_parser = crate::flags::count::<usize>(1, 1000))]
    runs: usize,
    /// Write the results as JSON (schema: docs/bench-schema.json) to OUT (`-` for stdout).
    #[arg(long, value_name = "OUT")]
    json: Option<PathBuf>,
    /// Write an HTML page with SVG plots into DIR.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Compare with an earlier run's JSON; with two files (OLD NEW), compare them without
    /// running anything and exit 1 on a regression above --fail-over. (Name suites before
    /// --compare: a word after its file is read as a second file.)
    #[arg(long, value_name = "OLD.json", num_args = 1..=2)]
    compare: Vec<PathBuf>,
    /// A regression is a result that got worse by more than PCT percent: 0 to 10000.
    #[arg(long, default_value_t = 10.0, value_name = "PCT", value_parser = percent)]
    fail_over: f64,
    /// Where the generated TPC-H files are kept and reused (default
    /// $XDG_CACHE_HOME/strata-bench, else ~/.cache/strata-bench).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Scratch directory for the lakes and files the suites write (default: a fresh directory
    /// under the system's temp directory, removed at the end).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
}

fn scale(text: &str) -> Result<f64, String> {
    let s: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("bad scale {text:?}: expected a number from 0.001 to 1000"))?;
    if !(0.001..=1000.0).contains(&s) {
        return Err(format!("{text:?} is out of range: expected 0.001 to 1000"));
    }
    Ok(s)
}

fn percent(text: &str) -> Result<f64, String> {
    let p: f64 = text
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("bad percentage {text:?}: expected 0 to 10000"))?;
    if !(0.0..=10_000.0).contains(&p) {
        return Err(format!("{text:?} is out of range: expected 0 to 10000"));
    }
    Ok(p)
}

/// Everything a suite needs: the data, the knobs, where to write, and the clock.
pub struct Context {
    pub threads: usize,
    pub runs: usize,
    pub work: PathBuf,
    pub data: data::Data,
    pub progress: measure::Progress,
}

impl Context {
    /// A fresh directory for one suite's lakes and files.
    pub fn scratch(&self, name: &str) -> strata::Result<PathBuf> {
        let dir = self.work.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(dir)
    }

    /// Thread counts of the cases that vary them: 1, and N when N is more.
    pub fn thread_counts(&self) -> Vec<usize> {
        if self.threads > 1 {
            vec![1, self.threads]
        } else {
            vec![1]
        }
    }
}

pub fn invalid(message: impl Into<String>) -> strata::Error {
    strata::Error::new(strata::ErrorKind::InvalidArgument, message)
}

/// Any error of the parquet or arrow crates (baselines), with what was being done.
pub fn other(what: &str, e: impl std::fmt::Display) -> strata::Error {
    strata::Error::new(strata::ErrorKind::Internal, format!("{what}: {e}"))
}

pub fn io_error(path: &Path, e: std::io::Error) -> strata::Error {
    strata::Error::new(strata::ErrorKind::Io, format!("{}: {e}", path.display()))
}

pub fn run(args: BenchArgs, out: &mut dyn Write) -> strata::Result<ExitCode> {
    if args.compare.len() == 2 {
        if !args.suites.is_empty() || args.json.is_some() {
            return Err(invalid(
                "--compare OLD.json NEW.json compares two earlier runs and runs nothing: \
                 give no suites and no --json",
            ));
        }
        let old = record::load(&args.compare[0])?;
        let new = record::load(&args.compare[1])?;
        let diff = compare::diff(&old, &new, args.fail_over);
        compare::print(&diff, args.fail_over, out)?;
        if let Some(dir) = &args.report {
            report::write(dir, &new, Some((&old, &diff)))?;
            writeln!(out, "report: {}", dir.join("index.html").display())
                .map_err(crate::util::io)?;
        }
        return Ok(if diff.regressions().is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    // Read before running, so that a bad file fails now rather than after the run.
    let old = match args.compare.first() {
        Some(path) => Some(record::load(path)?),
        None => None,
    };
    let suites: Vec<Suite> = if args.suites.is_empty() {
        Suite::ALL.to_vec()
    } else {
        Suite::ALL
            .into_iter()
            .filter(|s| args.suites.contains(s))
            .collect()
    };
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let (work, remove_work) = match &args.work_dir {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("strata-bench-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&work).map_err(|e| io_error(&work, e))?;
    let data_dir = args.data_dir.clone().unwrap_or_else(data::default_dir);
    let progress = measure::Progress::new(suites.len() as u64);
    let result = (|| -> strata::Result<BenchRun> {
        progress.note(&format!(
            "data: TPC-H scale {} in {}",
            args.scale,
            data_dir.display()
        ));
        let data = data::Data::prepare(&data_dir, args.scale, &progress)?;
        let ctx = Context {
            threads,
            runs: args.runs,
            work: work.clone(),
            data,
            progress,
        };
        let mut records: Vec<Record> = Vec::new();
        for suite in &suites {
            ctx.progress.suite(suite.name());
            let found = match suite {
                Suite::Store => store::run(&ctx),
                Suite::Write => write::run(&ctx),
                Suite::Scan => scan::run(&ctx),
                Suite::Cache => cache::run(&ctx),
                Suite::Crypto => crypto::run(&ctx),
                Suite::Quality => quality::run(&ctx),
                Suite::Mask => mask::run(&ctx),
                Suite::Table => table::run(&ctx),
            }
            .map_err(|e| e.with("suite", suite.name()))?;
            records.extend(found);
            ctx.progress.suite_done();
        }
        ctx.progress.finish();
        Ok(BenchRun::new(
            machine::Machine::probe(),
            record::Settings {
                scale: args.scale,
                threads,
                runs: args.runs,
                suites: suites.iter().map(|s| s.name().to_string()).collect(),
            },
            records,
        ))
    })();
    if remove_work {
        let _ = std::fs::remove_dir_all(&work);
    }
    let run = result?;
    // With `--json -` the JSON alone goes to stdout; the table goes to stderr.
    let json_to_stdout = args.json.as_ref().is_some_and(|p| p.as_os_str() == "-");
    let mut stderr = std::io::stderr();
    let text: &mut dyn Write = if json_to_stdout {
        &mut stderr
    } else {
        &mut *out
    };
    table_out::print(&run, text)?;
    let diff = old
        .as_ref()
        .map(|old| compare::diff(old, &run, args.fail_over));
    if let Some(diff) = &diff {
        writeln!(text).map_err(crate::util::io)?;
        compare::print(diff, args.fail_over, text)?;
    }
    if let Some(dir) = &args.report {
        report::write(dir, &run, old.as_ref().zip(diff.as_ref()))?;
        writeln!(text, "report: {}", dir.join("index.html").display()).map_err(crate::util::io)?;
    }
    if let Some(path) = &args.json {
        record::save(path, &run, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A lake at `dir` with the embedded default's two tiers (hot and cold, local directories),
/// no lifecycle rules (nothing moves while timed), and objects under `cold/` placed on the
/// cold tier, which is read through the block cache.
pub fn open_lake(dir: &Path) -> strata::Result<strata::Lake> {
    let mut config = strata::LakeConfig::local(dir);
    config.lifecycle.clear();
    config.placement = vec![strata::config::PlacementRule {
        prefix: "cold/".into(),
        min_size: None,
        max_size: None,
        tier: "cold".into(),
    }];
    strata::Lake::open(&config)
}

/// Reads every byte (a wrapping sum of 8-byte words): what a consumer of the bytes does, so
/// that a mapped get pays for its pages as a copy into a buffer does.
pub fn touch(bytes: &[u8]) -> u64 {
    bytes
        .chunks(8)
        .map(|w| {
            let mut word = [0u8; 8];
            word[..w.len()].copy_from_slice(w);
            u64::from_le_bytes(word)
        })
        .fold(0, u64::wrapping_add)
}

/// Deterministic incompressible bytes.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
