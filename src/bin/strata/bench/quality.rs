//! `quality`: profiling (`profile_batches`) and rule checks (`check_batches`) of TPC-H
//! lineitem and of the mixed table with nulls, on 1 and N threads: GB/s per core of Arrow
//! memory. The baseline (quality_baseline.rs) does the same profile and checks the
//! straightforward way with arrow's compute kernels and std hash maps, on the same batches in
//! the same rayon pool, run alternately with strata's; before timing, its counts (nulls per
//! column, distinct values where strata's count is exact; failing rows per rule, missing
//! cells and distinct rows) are checked equal to strata's. `benches/quality_compare.py`
//! times DuckDB's SUMMARIZE and pandas outside the binary.

use arrow::array::RecordBatch;
use strata::quality::{check_batches, profile_batches, CheckOptions, ProfileOptions, RuleSet};

use super::data::{memory_size, mixed, read_all};
use super::measure::{pair, rate};
use super::quality_baseline::{self as baseline, Checked, Rule, SLICE_ROWS};
use super::record::{Record, Side, Spread};
use super::{other, Context};

const LINEITEM_RULES: &str = r#"
[[rules]]
check = "completeness"
column = "l_orderkey"
min = 1.0

[[rules]]
check = "range"
column = "l_quantity"
min = 1
max = 50

[[rules]]
check = "allowed_set"
column = "l_returnflag"
values = ["A", "N", "R"]
"#;

const LINEITEM_BASELINE: [Rule; 3] = [
    Rule::Completeness {
        column: "l_orderkey",
    },
    Rule::Range {
        column: "l_quantity",
        min: 1.0,
        max: 50.0,
    },
    Rule::AllowedSet {
        column: "l_returnflag",
        values: &["A", "N", "R"],
    },
];

const MIXED_RULES: &str = r#"
[[rules]]
check = "completeness"
column = "amount"
min = 0.9

[[rules]]
check = "range"
column = "amount"
min = 0
max = 1000

[[rules]]
check = "allowed_set"
column = "country"
values = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "CN"]
"#;

const COUNTRIES: &[&str] = &["US", "DE", "FR", "GB", "JP", "BR", "IN", "CN"];

const MIXED_BASELINE: [Rule; 3] = [
    Rule::Completeness { column: "amount" },
    Rule::Range {
        column: "amount",
        min: 0.0,
        max: 1000.0,
    },
    Rule::AllowedSet {
        column: "country",
        values: COUNTRIES,
    },
];

/// strata's counts in the baseline's terms, to check that both sides did the same work.
fn strata_checked(batches: &[RecordBatch], rules: &RuleSet) -> strata::Result<Checked> {
    let report = check_batches(batches, rules, &CheckOptions::default())?;
    let columns = batches.first().map_or(0, |b| b.num_columns()) as f64;
    let rows = report.rows as f64;
    Ok(Checked {
        failed: report.results.iter().map(|r| r.affected_rows).collect(),
        missing_cells: ((1.0 - report.dataset.completeness) * rows * columns).round() as u64,
        distinct_rows: (report.dataset.uniqueness * rows).round() as u64,
    })
}

fn same_work(
    name: &str,
    batches: &[RecordBatch],
    rules: &RuleSet,
    baseline_rules: &[Rule],
) -> strata::Result<()> {
    let ours = strata_checked(batches, rules)?;
    let theirs = baseline::check(batches, baseline_rules)?;
    if ours != theirs {
        return Err(other(
            &format!("quality/check/{name}"),
            format!("strata found {ours:?}, the baseline {theirs:?}: not the same work"),
        ));
    }
    let ours = profile_batches(batches, &ProfileOptions::default())?.summary();
    let theirs = baseline::profile(batches)?;
    for (a, b) in ours.iter().zip(&theirs) {
        // Distinct counts are compared where strata's is exact (below its sketch threshold).
        let exact = a.distinct.as_ref().filter(|d| d.exact).map(|d| d.value);
        if a.nulls != b.nulls || exact.is_some_and(|d| d != b.distinct) {
            return Err(other(
                &format!("quality/profile/{name}"),
                format!(
                    "column {}: strata {} nulls, {exact:?} distinct; the baseline {} nulls, \
                     {} distinct: not the same work",
                    a.name, a.nulls, b.nulls, b.distinct
                ),
            ));
        }
    }
    if ours.len() != theirs.len() {
        return Err(other(
            &format!("quality/profile/{name}"),
            "not the same columns",
        ));
    }
    Ok(())
}

pub fn run(ctx: &Context) -> strata::Result<Vec<Record>> {
    let tables: Vec<(&str, Vec<RecordBatch>, &str, &[Rule])> = vec![
        (
            "lineitem",
            read_all(&ctx.data.lineitem)?,
            LINEITEM_RULES,
            &LINEITEM_BASELINE,
        ),
        (
            "mixed",
            vec![mixed(ctx.data.mixed_rows(), 11)?],
            MIXED_RULES,
            &MIXED_BASELINE,
        ),
    ];
    let mut records = Vec::new();
    for (name, batches, rules, baseline_rules) in &tables {
        let rules = RuleSet::from_toml_str(rules)?;
        let memory = memory_size(batches) as f64;
        same_work(name, batches, &rules, baseline_rules)?;
        for threads in ctx.thread_counts() {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| other("thread pool", e))?;
            for kernel in ["profile", "check"] {
                let id = format!("quality/{kernel}/{name}/threads={threads}");
                ctx.progress.case(&id);
                let (ours, theirs) = pair(
                    &id,
                    ctx.runs,
                    &mut || {
                        pool.install(|| match kernel {
                            "profile" => {
                                profile_batches(batches, &ProfileOptions::default()).map(drop)
                            }
                            _ => check_batches(batches, &rules, &CheckOptions::default()).map(drop),
                        })
                    },
                    &mut || {
                        pool.install(|| match kernel {
                            "profile" => baseline::profile(batches).map(drop),
                            _ => baseline::check(batches, baseline_rules).map(drop),
                        })
                    },
                )?;
                let per_core = 1e9 * threads as f64;
                let (what, leaves_out) = if kernel == "profile" {
                    (
                        "per column and slice: null count, arrow::compute min/max/sum, mean \
                         and standard deviation over a cast to Float64, exact distinct \
                         counts and the 10 most frequent values from a std HashMap, merged \
                         per column",
                        "no quantiles, no HyperLogLog (its distinct counts are exact), no NaN, \
                         zero, negative or empty counts, no string lengths, no string type \
                         inference",
                    )
                } else {
                    (
                        "per slice and rule: completeness as the null count, range as \
                         arrow::compute lt/gt against the bounds cast to the column's type, \
                         allowed set as a std HashSet lookup per value; the dataset's missing \
                         cells and its distinct whole rows (arrow::row bytes in a std HashSet)",
                        "no samples of failing rows, no severities or messages",
                    )
                };
                records.push(
                    Record::new(
                        id,
                        "GB/s/core",
                        true,
                        Spread::of(rate(&ours, memory, per_core)),
                        Side {
                            name: format!("strata quality::{kernel}_batches"),
                            threads,
                            batch_rows: Some(batches[0].num_rows()),
                            io: "Arrow batches in memory".into(),
                            state: "in memory, the same batches every run".into(),
                        },
                    )
                    .against(
                        Side {
                            name: format!(
                                "hand-written {kernel} with arrow::compute and std hash maps, \
                                 rayon over {SLICE_ROWS}-row slices"
                            ),
                            threads,
                            batch_rows: Some(batches[0].num_rows()),
                            io: "Arrow batches in memory".into(),
                            state: "in memory, the same batches every run".into(),
                        },
                        Spread::of(rate(&theirs, memory, per_core)),
                    )
                    .note(format!(
                        "{:.1} MB of Arrow memory, both sides in a rayon pool of {threads} \
                         thread(s), run alternately; counts checked equal before timing. \
                         Baseline: {what}; {leaves_out}. benches/quality_compare.py times \
                         DuckDB and pandas outside the binary",
                        memory / 1e6
                    )),
                );
            }
        }
    }
    Ok(records)
}
