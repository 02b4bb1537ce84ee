//! Timing: each case runs strata and its baseline alternately, run by run, so that both see
//! the same load on a shared machine; and the progress shown on stderr.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// `STRATA_BENCH_SLOWDOWN=ID_PREFIX=FACTOR` makes strata's side of every case whose id starts
/// with `ID_PREFIX` take FACTOR times as long (it sleeps the difference inside the timed
/// region). It exists so that a test can show `--compare` flagging a regression.
pub const SLOWDOWN_ENV: &str = "STRATA_BENCH_SLOWDOWN";

fn slowdown(id: &str) -> f64 {
    let Ok(spec) = std::env::var(SLOWDOWN_ENV) else {
        return 1.0;
    };
    spec.split(',')
        .filter_map(|s| s.split_once('='))
        .filter(|(prefix, _)| id.starts_with(prefix))
        .filter_map(|(_, f)| f.parse::<f64>().ok())
        .find(|f| f.is_finite() && *f >= 1.0)
        .unwrap_or(1.0)
}

/// Times `work` once (seconds), slowed as `SLOWDOWN_ENV` says for `id`.
pub fn time_strata(id: &str, work: &mut dyn FnMut() -> strata::Result<()>) -> strata::Result<f64> {
    let start = Instant::now();
    work()?;
    let factor = slowdown(id);
    if factor > 1.0 {
        std::thread::sleep(start.elapsed().mul_f64(factor - 1.0));
    }
    Ok(start.elapsed().as_secs_f64())
}

pub fn time(work: &mut dyn FnMut() -> strata::Result<()>) -> strata::Result<f64> {
    let start = Instant::now();
    work()?;
    Ok(start.elapsed().as_secs_f64())
}

/// `runs` timed runs of strata's `work` and the `baseline`, alternating which goes first;
/// seconds per run for each.
pub fn pair(
    id: &str,
    runs: usize,
    strata: &mut dyn FnMut() -> strata::Result<()>,
    baseline: &mut dyn FnMut() -> strata::Result<()>,
) -> strata::Result<(Vec<f64>, Vec<f64>)> {
    let mut ours = Vec::with_capacity(runs);
    let mut theirs = Vec::with_capacity(runs);
    for run in 0..runs {
        let (a, b) = one_pair(id, run, strata, baseline)?;
        ours.push(a);
        theirs.push(b);
    }
    Ok((ours, theirs))
}

/// Run `run` of a pair: one timed run of each, strata first on even runs; seconds for each.
/// For cases whose setup changes from run to run (a fresh table each run).
pub fn one_pair(
    id: &str,
    run: usize,
    strata: &mut dyn FnMut() -> strata::Result<()>,
    baseline: &mut dyn FnMut() -> strata::Result<()>,
) -> strata::Result<(f64, f64)> {
    if run.is_multiple_of(2) {
        let ours = time_strata(id, strata)?;
        Ok((ours, time(baseline)?))
    } else {
        let theirs = time(baseline)?;
        Ok((time_strata(id, strata)?, theirs))
    }
}

/// `runs` timed runs of strata's `work` alone.
pub fn alone(
    id: &str,
    runs: usize,
    work: &mut dyn FnMut() -> strata::Result<()>,
) -> strata::Result<Vec<f64>> {
    (0..runs).map(|_| time_strata(id, work)).collect()
}

/// Seconds to a rate: `amount / seconds / per` (e.g. bytes per second in MB with 1e6).
pub fn rate(seconds: &[f64], amount: f64, per: f64) -> Vec<f64> {
    seconds
        .iter()
        .map(|s| amount / s.max(1e-12) / per)
        .collect()
}

pub fn millis(seconds: &[f64]) -> Vec<f64> {
    seconds.iter().map(|s| s * 1e3).collect()
}

/// The progress indicator: a bar on a terminal, plain lines otherwise (CI logs).
pub struct Progress {
    bar: ProgressBar,
    lines: bool,
    started: Instant,
}

impl Progress {
    pub fn new(suites: u64) -> Progress {
        let lines = !std::io::stderr().is_terminal();
        let bar = if lines {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(suites)
        };
        if let Ok(style) =
            ProgressStyle::with_template("{prefix:>8} {bar:30} {pos}/{len} suites {elapsed} {msg}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bar,
            lines,
            started: Instant::now(),
        }
    }

    pub fn note(&self, text: &str) {
        if self.lines {
            eprintln!(
                "strata bench [{:>6.1} s] {text}",
                self.started.elapsed().as_secs_f64()
            );
        } else {
            self.bar.set_message(text.to_string());
        }
    }

    pub fn suite(&self, name: &str) {
        self.bar.set_prefix(name.to_string());
        self.note(&format!("suite {name}"));
    }

    /// The case about to be timed.
    pub fn case(&self, id: &str) {
        self.note(id);
    }

    pub fn suite_done(&self) {
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
