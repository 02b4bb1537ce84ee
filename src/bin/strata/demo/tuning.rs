//! The self-tuning step of the demo, on a lake of its own (`<root>/tuning`, made fresh each
//! run): a quarantine of failing rows on append, a skewed filter workload and the advisor's
//! recommendation with its evidence, the advice applied and the bytes read before and after,
//! a cost report, and a sync of one tier to another.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use strata::quality::RuleSet;
use strata::store::{SyncOptions, SyncRequest};
use strata::table::TableOptions;
use strata::{Expr, Lake, LakeConfig, Result, ScanStats};

use super::{internal, io};

const REGIONS: [&str; 8] = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"];
const FILES: i64 = 24;
const PER_FILE: i64 = 4_000;

/// Rows `from..from + n`, every region in every file (as events arrive).
fn events(from: i64, n: i64) -> Result<RecordBatch> {
    let spread = |i: i64| (i as u64).wrapping_mul(2_654_435_761) >> 7;
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(
                (from..from + n).map(|i| spread(i) as i64),
            )) as _,
        ),
        (
            "region",
            Arc::new(StringArray::from_iter_values(
                (from..from + n).map(|i| REGIONS[spread(i) as usize % 8]),
            )) as _,
        ),
        (
            "amount",
            // Every 50th amount is negative: the expectation below drops it.
            Arc::new(Float64Array::from_iter_values((from..from + n).map(|i| {
                if i % 50 == 7 {
                    -1.0
                } else {
                    (spread(-i) % 10_000) as f64 * 0.01
                }
            }))) as _,
        ),
    ])?;
    Ok(batch)
}

const RULES: &str = r#"
[[rules]]
name = "amount_not_negative"
check = "range"
column = "amount"
min = 0
expect = "drop"
"#;

/// Five scans of `region = 'r3'`, as a dashboard runs them; the last one's statistics.
fn workload(lake: &Lake) -> Result<ScanStats> {
    let mut last = None;
    for _ in 0..5 {
        let out = lake
            .table("silver/events")?
            .scan()?
            .columns(&["id", "amount"])
            .filter(Expr::parse("region = 'r3'")?)
            .run()?;
        last = Some(out.stats);
    }
    last.ok_or_else(|| internal("demo: no scan ran"))
}

pub fn run(root: &Path, say: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    say("\n== The lake tunes itself: quarantine, advice from measured access, cost, sync".into())?;
    let dir = root.join("tuning");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io("demo: cannot clear", &dir, e))?;
    }
    // The cold tier is a local stand-in for S3 Standard-IA, billed as such.
    let mut config = LakeConfig::from_toml_str(
        "[cost.tiers]\ncold = { provider = \"aws\", class = \"s3-standard-ia\" }\n",
    )?;
    config.dir = dir.clone();
    let lake = Lake::open(&config)?;

    // Quarantine: appends checked against expectations, batch by batch.
    let first = events(0, PER_FILE)?;
    let table = lake.table("silver/events")?;
    table.create(&first.schema(), &[], &TableOptions::default())?;
    let rules = RuleSet::from_toml_str(RULES)?;
    let (mut kept, mut quarantined) = (0, 0);
    for f in 0..FILES {
        let report =
            lake.append_expecting("silver/events", &[events(f * PER_FILE, PER_FILE)?], &rules)?;
        kept += report.kept;
        quarantined += report.quarantined;
    }
    say(format!(
        "{FILES} appends with expectation amount_not_negative (drop): kept {kept} rows, quarantined {quarantined} in silver/events__quarantine (with an _errors column)"
    ))?;

    // Advice from the workload's measured access.
    let before = workload(&lake)?;
    let advice = lake.advise(Some("silver/events"))?;
    let Some(zorder) = advice.iter().find(|r| r.kind == "zorder") else {
        return Err(internal(
            "demo: the advisor saw the skewed filter and advised nothing",
        ));
    };
    say(format!("advice ({}): {}", zorder.kind, zorder.advice))?;
    let evidence: Vec<String> = zorder
        .evidence
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    say(format!("  evidence: {}", evidence.join(", ")))?;
    let applied = lake.apply_advice(std::slice::from_ref(zorder), None, false)?;
    say(format!("  applied: {} action(s)", applied.len()))?;
    let after = workload(&lake)?;
    say(format!(
        "  the same scan of region = 'r3', before -> after: bytes read {} -> {}, files skipped {} -> {}, row groups skipped {} of {} -> {} of {}, rows decoded {} -> {}",
        before.bytes_read,
        after.bytes_read,
        before.files_skipped,
        after.files_skipped,
        before.row_groups_skipped,
        before.row_groups_total,
        after.row_groups_skipped,
        after.row_groups_total,
        before.rows_decoded,
        after.rows_decoded
    ))?;

    // Cost, from the bytes held and the requests counted.
    for o in 0..40 {
        lake.put(&format!("logs/day={o:02}.json"), vec![b'x'; 64 * 1024])?;
    }
    // Sync: the hot tier's logs to the cold tier (a local stand-in for S3).
    let request = SyncRequest {
        source: "hot".into(),
        dest: "cold".into(),
        dest_config: None,
        options: SyncOptions {
            prefix: "logs/".into(),
            ..SyncOptions::default()
        },
    };
    let synced = lake.sync(&request)?;
    let again = lake.sync(&request)?;
    say(format!(
        "sync hot -> cold (logs/): copied {} objects ({} bytes, verified); again: copied {}, skipped {} unchanged",
        synced.copied, synced.bytes_copied, again.copied, again.skipped
    ))?;
    let cost = lake.cost_report()?;
    for t in &cost.tiers {
        say(format!(
            "cost: tier {} billed as {} {}: {} objects, ${:.6}/month",
            t.tier, t.provider, t.class, t.objects, t.monthly.total
        ))?;
    }
    say(format!(
        "cost: whole lake ${:.6}/month (prices as of {})",
        cost.total.total, cost.prices_as_of
    ))?;

    Ok(())
}
