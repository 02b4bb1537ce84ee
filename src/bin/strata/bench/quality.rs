//! `quality`: profiling (`profile_batches`) and rule checks (`check_batches`) of TPC-H
//! lineitem and of the mixed table with nulls, on 1 and N threads: GB/s per core of Arrow
//! memory. There is no baseline in process: `benches/quality_compare.py` times DuckDB's
//! SUMMARIZE and the reference pandas checks on the same kind of data.

use arrow::array::RecordBatch;
use strata::quality::{check_batches, profile_batches, CheckOptions, ProfileOptions, RuleSet};

use super::data::{memory_size, mixed, read_all};
use super::measure::{alone, rate};
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

pub fn run(ctx: &Context) -> strata::Result<Vec<Record>> {
    let tables: Vec<(&str, Vec<RecordBatch>, &str)> = vec![
        ("lineitem", read_all(&ctx.data.lineitem)?, LINEITEM_RULES),
        (
            "mixed",
            vec![mixed(ctx.data.mixed_rows(), 11)?],
            MIXED_RULES,
        ),
    ];
    let mut records = Vec::new();
    for (name, batches, rules) in &tables {
        let rules = RuleSet::from_toml_str(rules)?;
        let memory = memory_size(batches) as f64;
        for threads in ctx.thread_counts() {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| other("thread pool", e))?;
            for kernel in ["profile", "check"] {
                let id = format!("quality/{kernel}/{name}/threads={threads}");
                ctx.progress.case(&id);
                let secs = alone(&id, ctx.runs, &mut || {
                    pool.install(|| match kernel {
                        "profile" => profile_batches(batches, &ProfileOptions::default()).map(drop),
                        _ => check_batches(batches, &rules, &CheckOptions::default()).map(drop),
                    })
                })?;
                records.push(
                    Record::new(
                        id,
                        "GB/s/core",
                        true,
                        Spread::of(rate(&secs, memory, 1e9 * threads as f64)),
                        Side {
                            name: format!("strata quality::{kernel}_batches"),
                            threads,
                            batch_rows: Some(batches[0].num_rows()),
                            io: "Arrow batches in memory".into(),
                            state: "in memory".into(),
                        },
                    )
                    .note(format!(
                        "{:.1} MB of Arrow memory; no in-process baseline (benches/quality_compare.py: DuckDB, pandas)",
                        memory / 1e6
                    )),
                );
            }
        }
    }
    Ok(records)
}
