//! The results of a run, as `--json` writes them (docs/bench-schema.json describes this shape;
//! change both together and bump `SCHEMA_VERSION` when a field changes meaning).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::machine::Machine;

/// The schema's identifier and version, written into every run.
pub const SCHEMA: &str = "strata-bench";
pub const SCHEMA_VERSION: u32 = 1;

/// One run of `strata bench`.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct BenchRun {
    pub schema: String,
    pub schema_version: u32,
    /// When the run ended, RFC 3339.
    pub finished: String,
    pub machine: Machine,
    pub settings: Settings,
    pub records: Vec<Record>,
    /// Other engines' figures on the same files (benches/peers.py merges them in).
    #[serde(default)]
    pub peers: Vec<Peer>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Settings {
    pub scale: f64,
    pub threads: usize,
    pub runs: usize,
    pub suites: Vec<String>,
}

/// A figure over the runs.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
    /// Each run's figure, in run order.
    pub runs: Vec<f64>,
}

impl Spread {
    pub fn of(values: Vec<f64>) -> Spread {
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Spread {
            min: sorted.first().copied().unwrap_or(f64::NAN),
            median,
            max: sorted.last().copied().unwrap_or(f64::NAN),
            runs: values,
        }
    }
}

/// How one side of a comparison ran: what a ratio is between.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Side {
    /// What ran: `strata (Lake::scan)`, `parquet crate ParquetRecordBatchReader`, ...
    pub name: String,
    pub threads: usize,
    /// Rows per decoded batch, where batches are decoded.
    pub batch_rows: Option<usize>,
    /// The I/O path: `mmap of a local tier file`, `cold tier through the block cache`, ...
    pub io: String,
    /// Warm or cold, and what is warm: `warm: OS page cache, map kept, footer parsed once`.
    pub state: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Baseline {
    pub side: Side,
    pub value: Spread,
}

/// One result.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Record {
    /// Unique within a run and stable across runs: `suite/case/...`.
    pub id: String,
    pub suite: String,
    /// `MB/s`, `GB/s`, `ms`, `s`, `values/s`, `ratio`, ...
    pub unit: String,
    pub higher_is_better: bool,
    pub value: Spread,
    pub strata: Side,
    pub baseline: Option<Baseline>,
    /// strata's median over the baseline's median (both in `unit`).
    pub ratio: Option<f64>,
    /// How much better strata is than the baseline (>1 better, <1 worse), whatever the unit's
    /// direction.
    pub advantage: Option<f64>,
    /// What the figure measures and what it does not.
    pub note: String,
    /// Other figures of the same case (bytes written, compression ratio, hit ratio, ...).
    #[serde(default)]
    pub extra: BTreeMap<String, f64>,
}

impl Record {
    pub fn new(
        id: String,
        unit: &str,
        higher_is_better: bool,
        value: Spread,
        strata: Side,
    ) -> Record {
        let suite = id.split('/').next().unwrap_or_default().to_string();
        Record {
            id,
            suite,
            unit: unit.to_string(),
            higher_is_better,
            value,
            strata,
            baseline: None,
            ratio: None,
            advantage: None,
            note: String::new(),
            extra: BTreeMap::new(),
        }
    }

    pub fn against(mut self, side: Side, value: Spread) -> Record {
        let ratio = self.value.median / value.median;
        // A zero on either side has no ratio worth comparing runs by.
        if ratio.is_finite() && ratio > 0.0 {
            self.ratio = Some(ratio);
            self.advantage = Some(if self.higher_is_better {
                ratio
            } else {
                1.0 / ratio
            });
        }
        self.baseline = Some(Baseline { side, value });
        self
    }

    pub fn note(mut self, text: impl Into<String>) -> Record {
        self.note = text.into();
        self
    }

    pub fn extra(mut self, name: &str, value: f64) -> Record {
        if value.is_finite() {
            self.extra.insert(name.to_string(), value);
        }
        self
    }
}

/// Another engine's figure on the same generated files (benches/peers.py).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Peer {
    pub engine: String,
    pub version: String,
    /// The strata record this corresponds to, e.g. `scan/lineitem/full/threads=2/local`.
    pub id: String,
    pub unit: String,
    pub value: Spread,
    pub threads: usize,
    pub state: String,
    pub note: String,
}

impl BenchRun {
    pub fn new(machine: Machine, settings: Settings, records: Vec<Record>) -> BenchRun {
        let finished = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        BenchRun {
            schema: SCHEMA.to_string(),
            schema_version: SCHEMA_VERSION,
            finished,
            machine,
            settings,
            records,
            peers: Vec::new(),
        }
    }
}

/// Reads an earlier run's JSON, with the file and the problem in any error.
pub fn load(path: &Path) -> strata::Result<BenchRun> {
    let text = std::fs::read_to_string(path).map_err(|e| super::io_error(path, e))?;
    let run: BenchRun = serde_json::from_str(&text).map_err(|e| {
        strata::Error::new(
            strata::ErrorKind::InvalidArgument,
            format!("{}: not a strata bench JSON file: {e}", path.display()),
        )
    })?;
    if run.schema != SCHEMA {
        return Err(super::invalid(format!(
            "{}: schema {:?}, expected {SCHEMA:?}",
            path.display(),
            run.schema
        )));
    }
    if run.schema_version > SCHEMA_VERSION {
        return Err(super::invalid(format!(
            "{}: schema version {} is newer than this strata's ({SCHEMA_VERSION})",
            path.display(),
            run.schema_version
        )));
    }
    Ok(run)
}

/// Writes `run` as JSON to `path` (`-`: `out`).
pub fn save(path: &Path, run: &BenchRun, out: &mut dyn Write) -> strata::Result<()> {
    let text = serde_json::to_string_pretty(run)
        .map_err(|e| strata::Error::new(strata::ErrorKind::Internal, e.to_string()))?;
    match crate::util::output_file(Some(path))? {
        Some(mut file) => {
            file.write_all(text.as_bytes())
                .and_then(|()| file.write_all(b"\n"))
                .map_err(|e| super::io_error(path, e))?;
            file.commit()
        }
        None => writeln!(out, "{text}").map_err(crate::util::io),
    }
}
