//! What expectations cost on a table append: 10M rows (id, fare, zone) with 1% failing a
//! `drop` rule, appended plainly and with the rule (`Lake::append_expecting`), in paired
//! rounds on fresh tables of one lake. Goal: at most 1.3x the plain append.
//!
//! The process's CPU time per side is reported beside the wall-clock time: on a shared machine
//! it says what each side costs with less of the other work's noise.
//!
//! Run: `cargo bench --bench quarantine` (`STRATA_QUARANTINE_ROWS` sets the row count,
//! `STRATA_QUARANTINE_ROUNDS` the rounds, default 3). Both sides write with the lake's default
//! write options and every pool thread; the data is in memory before the clock starts.
//! `STRATA_QUARANTINE_MALLOC=raised` first raises glibc's malloc thresholds
//! (`strata::tuning::raise_malloc_thresholds`, what the `strata` command does at start and a
//! host may opt into), for both sides alike.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use strata::quality::RuleSet;
use strata::table::TableOptions;
use strata::{Lake, LakeConfig};

const RULES: &str = r#"
[[rules]]
name = "fare_not_negative"
check = "range"
column = "fare"
min = 0
expect = "drop"
"#;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn batches(rows: usize) -> Vec<RecordBatch> {
    const BATCH: usize = 1 << 20;
    let zones = ["JFK", "LGA", "EWR", "Manhattan", "Brooklyn"];
    (0..rows)
        .step_by(BATCH)
        .map(|start| {
            let end = (start + BATCH).min(rows);
            let ids: Vec<i64> = (start as i64..end as i64).collect();
            // Every 100th row fails: 1%.
            let fares: Vec<f64> = ids
                .iter()
                .map(|i| {
                    if i % 100 == 7 {
                        -1.0
                    } else {
                        (i % 9_000) as f64 / 100.0
                    }
                })
                .collect();
            let zone: Vec<&str> = ids.iter().map(|i| zones[(*i % 5) as usize]).collect();
            RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(ids)) as _),
                ("fare", Arc::new(Float64Array::from(fares)) as _),
                ("zone", Arc::new(StringArray::from(zone)) as _),
            ])
            .expect("batch")
        })
        .collect()
}

/// CPU time of this process so far (user and system, every thread): a machine shared with
/// other work stretches wall-clock time more than the CPU time a side needs.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes one `rusage` to the pointer it is given, which points at a
    // zeroed, owned value.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> strata::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let raised = std::env::var("STRATA_QUARANTINE_MALLOC").is_ok_and(|v| v == "raised");
    if raised {
        strata::tuning::raise_malloc_thresholds();
    }
    let rows = env("STRATA_QUARANTINE_ROWS", 10_000_000);
    let rounds = env("STRATA_QUARANTINE_ROUNDS", 3);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let lake = Lake::open(&LakeConfig::local(dir.path()))?;
    let rules = RuleSet::from_toml_str(RULES)?;
    let data = batches(rows);
    let schema = data[0].schema();
    let (mut plain, mut expecting, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut cpu_ratios = Vec::new();
    for round in 0..rounds {
        let mut pair = [Duration::ZERO; 2];
        let mut cpu = [Duration::ZERO; 2];
        // Alternate which side goes first.
        for side in [round % 2, 1 - round % 2] {
            let name = format!("bronze/trips_{round}_{side}");
            let table = lake.table(&name)?;
            table.create(&schema, &[], &TableOptions::default())?;
            let start = Instant::now();
            let cpu_start = cpu_time();
            if side == 0 {
                table.append(&data)?;
            } else {
                let report = lake.append_expecting(&name, &data, &rules)?;
                assert_eq!(report.quarantined as usize, rows / 100);
            }
            pair[side] = start.elapsed();
            cpu[side] = cpu_time().saturating_sub(cpu_start);
        }
        plain.push(pair[0]);
        expecting.push(pair[1]);
        ratios.push(pair[1].as_secs_f64() / pair[0].as_secs_f64());
        cpu_ratios.push(cpu[1].as_secs_f64() / cpu[0].as_secs_f64().max(1e-9));
        eprintln!(
            "round {round}: plain {:.2} s ({:.2} s CPU), with expectations {:.2} s ({:.2} s CPU)",
            pair[0].as_secs_f64(),
            cpu[0].as_secs_f64(),
            pair[1].as_secs_f64(),
            cpu[1].as_secs_f64()
        );
    }
    ratios.sort_by(f64::total_cmp);
    cpu_ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let cpu_ratio = cpu_ratios[cpu_ratios.len() / 2];
    println!(
        "quarantine: {rows} rows, 1% failing a drop rule, malloc thresholds {}: plain append median {:.2} s, with expectations {:.2} s; ratio {ratio:.3}x (median of paired ratios; goal <= 1.3x): {}; CPU time ratio {cpu_ratio:.3}x",
        if raised { "raised" } else { "as the process had them" },
        median(plain).as_secs_f64(),
        median(expecting).as_secs_f64(),
        if ratio <= 1.3 { "met" } else { "NOT met" }
    );
    Ok(())
}
