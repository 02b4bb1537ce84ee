//! Recommendations from access statistics and the data's own metadata: plain inputs (what the
//! lake read from the tables' logs and footers, and from the tier index), plain outputs.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::mrc::{knee, miss_ratio_curve, MissPoint};
use super::stats::{is_equality, is_range, AccessStats, CacheReads, TargetStats};

/// Scans a target needs before its layout is judged.
pub const MIN_SCANS: u64 = 3;
/// Files under this share of the target size are small.
const SMALL_FILE_SHARE: u64 = 4;
/// Small files a table needs before compaction is worth a commit.
const MIN_SMALL_FILES: usize = 8;
/// Distinct values a partition column may have at most.
const MAX_PARTITIONS: u64 = 1000;
/// Bytes a partition should hold at least for partitioning to pay.
const MIN_PARTITION_BYTES: u64 = 64 << 20;
/// A table at most this large, read whole this often a day, is better kept as Arrow IPC.
const IPC_MAX_BYTES: u64 = 64 << 20;
const IPC_MIN_WHOLE_PER_DAY: f64 = 10.0;
/// Reads a day that make an object on a colder tier hot.
const HOT_READS_PER_DAY: f64 = 1.0;
/// Days without a read after which an object on the hottest tier is idle.
const IDLE_DAYS: u64 = 30;
const DAY_MS: u64 = 86_400_000;

/// What the lake knows of a table besides its statistics.
#[derive(Debug, Clone, Default)]
pub struct TableFacts {
    /// `zone/name`.
    pub name: String,
    /// The tier its files live on, and whether that is the hottest tier.
    pub tier: String,
    /// See `tier`.
    pub hot: bool,
    /// Partition columns.
    pub partition_by: Vec<String>,
    /// Each data file's bytes.
    pub file_bytes: Vec<u64>,
    /// Rows, when the log says.
    pub rows: Option<u64>,
    /// Distinct values of filter columns (estimated from a sample), by column.
    pub cardinality: BTreeMap<String, u64>,
    /// The codecs of the column chunks of a sample file (from its footer), e.g. `SNAPPY`.
    pub codecs: Vec<String>,
    /// The sample file's bytes, and its bytes re-encoded under the tier's codec policy
    /// (measured; only for a table on a colder tier).
    pub codec_sample: Option<(u64, u64)>,
    /// The table's own codec policy (`strata.codec`), which its writes use instead of the
    /// tier's; a re-encode would keep it, so the codec advice is then advice only.
    pub own_codec: Option<String>,
    /// The size an optimize writes files to (the table's target file size).
    pub target_file_bytes: u64,
}

/// What the lake knows of an object.
#[derive(Debug, Clone)]
pub struct ObjectFacts {
    /// Its key.
    pub key: String,
    /// Its tier, and the tiers' order (0 is the hottest).
    pub tier: String,
    /// See `tier`.
    pub tier_rank: usize,
    /// Its bytes.
    pub size: u64,
    /// When it was written, ms since the epoch.
    pub created_ms: u64,
}

/// What applying a recommendation does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Apply {
    /// Optimize the table with a z-order by these columns into files of about this size.
    Zorder {
        /// The columns.
        columns: Vec<String>,
        /// The file size.
        target_file_bytes: u64,
    },
    /// Optimize (bin-pack) the table's small files into files of about this size.
    Compact {
        /// The file size.
        target_file_bytes: u64,
    },
    /// Rewrite every data file of the table under its current codec policy (the codec of
    /// the tier it is on), as an optimize that changes no row.
    Reencode,
    /// Move the object to this tier.
    MoveTier {
        /// The object.
        key: String,
        /// The tier it goes to.
        to: String,
    },
}

/// One recommendation.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// `partition`, `zorder`, `compact`, `codec`, `format`, `tier` or `cache`.
    pub kind: String,
    /// The table, dataset, object or `cache`.
    pub target: String,
    /// What to do, in a sentence.
    pub advice: String,
    /// The numbers it rests on.
    pub evidence: BTreeMap<String, Value>,
    /// The estimated effect, in numbers (`bytes_read_per_scan_before`/`_after`,
    /// `files_before`/`_after`, `monthly_cost_change`, ...).
    pub effect: BTreeMap<String, Value>,
    /// How `--apply` carries it out; `None`: advice only (it needs a rewrite strata does
    /// not make on its own, or a config change).
    pub apply: Option<Apply>,
}

/// What applying one recommendation did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    /// The recommendation's kind and target.
    pub kind: String,
    /// See `kind`.
    pub target: String,
    /// What was (or would be) done.
    pub action: String,
    /// `planned` (dry run), `done`, `skipped: why` or `failed: error`.
    pub outcome: String,
    /// The table version an optimize committed.
    pub version: Option<u64>,
    /// Files and bytes an optimize replaced, and wrote in their place (a tier move: the
    /// object's bytes, in both).
    pub files_before: u64,
    /// See `files_before`.
    pub files_after: u64,
    /// See `files_before`.
    pub bytes_before: u64,
    /// See `files_before`.
    pub bytes_after: u64,
}

/// The z-order (or compaction) file size for a table of `bytes`: about 32 files, between
/// 256 KiB and the table's target file size, so each file covers a narrow range.
pub fn layout_file_bytes(bytes: u64, target: u64) -> u64 {
    (bytes / 32).clamp(256 << 10, target.max(256 << 10))
}

/// The layout recommendations of one table: partition, z-order, compaction, codec, format.
pub fn table_advice(stats: Option<&TargetStats>, facts: &TableFacts) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let bytes: u64 = facts.file_bytes.iter().sum();
    let files = facts.file_bytes.len() as u64;
    let rows = facts.rows.unwrap_or(0);
    let bytes_per_row = if rows > 0 {
        bytes as f64 / rows as f64
    } else {
        0.0
    };
    let layout_bytes = layout_file_bytes(bytes, facts.target_file_bytes);
    let mut zordered = false;
    if let Some(t) = stats.filter(|t| t.scans >= MIN_SCANS) {
        // Filter columns whose scans throw most decoded rows away, most used first.
        let mut weak: Vec<_> = t
            .filters
            .values()
            .filter(|f| (is_equality(&f.op) || is_range(&f.op)) && f.rows_decoded > 0)
            .filter(|f| !facts.partition_by.contains(&f.column))
            .filter(|f| (f.rows_out as f64) < 0.5 * f.rows_decoded as f64)
            .filter(|f| f.scans * 4 >= t.scans)
            .collect();
        weak.sort_by(|a, b| b.scans.cmp(&a.scans).then(a.column.cmp(&b.column)));
        let mut zcolumns: Vec<String> = Vec::new();
        for f in &weak {
            let card = facts.cardinality.get(&f.column).copied();
            let per_scan_decoded = f.rows_decoded as f64 / f.scans as f64;
            let per_scan_out = f.rows_out as f64 / f.scans as f64;
            let mut evidence = BTreeMap::new();
            evidence.insert("scans".into(), json!(t.scans));
            evidence.insert("scans_with_filter".into(), json!(f.scans));
            evidence.insert("operator".into(), json!(f.op));
            evidence.insert(
                "selectivity_after_pruning".into(),
                json!(round(per_scan_out / per_scan_decoded.max(1.0))),
            );
            evidence.insert(
                "rows_decoded_per_scan".into(),
                json!(per_scan_decoded.round()),
            );
            evidence.insert("rows_out_per_scan".into(), json!(per_scan_out.round()));
            // Measured bytes per decoded row when the scans recorded them (the projected
            // columns' share of the files), else the table's average.
            let read_per_row = if f.bytes_read > 0 && f.rows_decoded > 0 {
                evidence.insert(
                    "bytes_read_per_scan".into(),
                    json!((f.bytes_read as f64 / f.scans as f64).round()),
                );
                f.bytes_read as f64 / f.rows_decoded as f64
            } else {
                bytes_per_row
            };
            evidence.insert(
                "row_groups_skipped".into(),
                json!(format!("{} of {}", f.row_groups_skipped, f.row_groups)),
            );
            evidence.insert("table_files".into(), json!(files));
            evidence.insert("table_rows".into(), json!(rows));
            if let Some(c) = card {
                evidence.insert("distinct_values".into(), json!(c));
            }
            let partitionable = is_equality(&f.op)
                && card.is_some_and(|c| (2..=MAX_PARTITIONS).contains(&c))
                && bytes / card.unwrap_or(1).max(1) >= MIN_PARTITION_BYTES;
            if partitionable {
                let c = card.unwrap_or(1).max(1);
                let after = rows as f64 / c as f64;
                out.push(Recommendation {
                    kind: "partition".into(),
                    target: facts.name.clone(),
                    advice: format!(
                        "partition by {} ({} values of ~{} MiB each): equality filters on it \
                         would read only their partitions",
                        f.column,
                        c,
                        bytes / c / (1 << 20)
                    ),
                    evidence,
                    effect: effect_rows(per_scan_decoded, after.max(per_scan_out), read_per_row),
                    apply: None,
                });
            } else if zcolumns.len() < 4 {
                zcolumns.push(f.column.clone());
                let files_after = bytes.div_ceil(layout_bytes).max(1);
                let share = if rows > 0 {
                    per_scan_out / rows as f64
                } else {
                    1.0
                };
                // The matching rows, packed together, span this many files (plus one at
                // each edge).
                let files_read = ((share * files_after as f64).ceil() as u64 + 1).min(files_after);
                let after = rows as f64 * files_read as f64 / files_after as f64;
                let mut effect =
                    effect_rows(per_scan_decoded, after.min(per_scan_decoded), read_per_row);
                effect.insert("files_before".into(), json!(files));
                effect.insert("files_after".into(), json!(files_after));
                out.push(Recommendation {
                    kind: "zorder".into(),
                    target: facts.name.clone(),
                    advice: String::new(),
                    evidence,
                    effect,
                    apply: None,
                });
            }
        }
        // One z-order per table, over every weak column: fold them into the first.
        if let Some(first) = out.iter().position(|r| r.kind == "zorder") {
            out.retain({
                let mut seen = false;
                move |r| {
                    if r.kind != "zorder" {
                        return true;
                    }
                    let keep = !seen;
                    seen = true;
                    keep
                }
            });
            let r = &mut out[first];
            r.advice = format!(
                "z-order by {} into ~{} KiB files: the filters on {} would skip most files",
                zcolumns.join(", "),
                layout_bytes >> 10,
                if zcolumns.len() == 1 { "it" } else { "them" }
            );
            r.evidence.insert("columns".into(), json!(zcolumns));
            r.apply = Some(Apply::Zorder {
                columns: zcolumns.clone(),
                target_file_bytes: layout_bytes,
            });
            zordered = true;
        }
        // A small table read whole many times a day decodes the same Parquet again and again.
        let whole_per_day = if t.scans > 0 {
            t.scans_per_day() * t.whole_scans as f64 / t.scans as f64
        } else {
            0.0
        };
        if bytes <= IPC_MAX_BYTES && whole_per_day >= IPC_MIN_WHOLE_PER_DAY {
            let mut evidence = BTreeMap::new();
            evidence.insert("bytes".into(), json!(bytes));
            evidence.insert("whole_scans_per_day".into(), json!(round(whole_per_day)));
            let mut effect = BTreeMap::new();
            effect.insert("decodes_saved_per_day".into(), json!(whole_per_day.round()));
            out.push(Recommendation {
                kind: "format".into(),
                target: facts.name.clone(),
                advice: "keep a copy as Arrow IPC (zero-copy reads): the table is small and \
                         read whole many times a day"
                    .into(),
                evidence,
                effect,
                apply: None,
            });
        }
    }
    // Compaction: many files well under the target size (a z-order rewrites them anyway).
    let small: Vec<u64> = facts
        .file_bytes
        .iter()
        .copied()
        .filter(|&b| b < layout_bytes / SMALL_FILE_SHARE)
        .collect();
    if !zordered && small.len() >= MIN_SMALL_FILES {
        let small_bytes: u64 = small.iter().sum();
        let mut evidence = BTreeMap::new();
        evidence.insert("files".into(), json!(files));
        evidence.insert("small_files".into(), json!(small.len()));
        evidence.insert("small_bytes".into(), json!(small_bytes));
        evidence.insert(
            "small_file_limit".into(),
            json!(layout_bytes / SMALL_FILE_SHARE),
        );
        let after = files - small.len() as u64 + small_bytes.div_ceil(layout_bytes).max(1);
        let mut effect = BTreeMap::new();
        effect.insert("files_before".into(), json!(files));
        effect.insert("files_after".into(), json!(after));
        out.push(Recommendation {
            kind: "compact".into(),
            target: facts.name.clone(),
            advice: format!(
                "compact {} small files into ~{} KiB files: fewer opens and footers per scan",
                small.len(),
                layout_bytes >> 10
            ),
            evidence,
            effect,
            apply: Some(Apply::Compact {
                target_file_bytes: layout_bytes,
            }),
        });
    }
    // Codec: data on a colder tier still written with a light codec, when re-encoding a
    // sample file under the tier's policy saved at least a tenth.
    let light = facts
        .codecs
        .iter()
        .any(|c| matches!(c.as_str(), "UNCOMPRESSED" | "SNAPPY" | "LZ4" | "LZ4_RAW"));
    if let (false, true, Some((old, new))) = (facts.hot, light, facts.codec_sample) {
        if old > 0 && new * 10 <= old * 9 {
            let saved = 1.0 - new as f64 / old as f64;
            let mut evidence = BTreeMap::new();
            evidence.insert("tier".into(), json!(facts.tier));
            evidence.insert("codecs".into(), json!(facts.codecs));
            evidence.insert("bytes".into(), json!(bytes));
            evidence.insert("sample_bytes".into(), json!(old));
            evidence.insert("sample_bytes_reencoded".into(), json!(new));
            let mut effect = BTreeMap::new();
            effect.insert(
                "bytes_saved_estimate".into(),
                json!((bytes as f64 * saved).round()),
            );
            effect.insert("share_saved".into(), json!(round(saved)));
            let mut advice = format!(
                "re-encode under the {} tier's codec policy: the table is on a cold tier \
                 but written with {}",
                facts.tier,
                facts.codecs.join(", ")
            );
            if let Some(own) = &facts.own_codec {
                evidence.insert("table_codec".into(), json!(own));
                advice.push_str(&format!(
                    "; the table's own codec policy ({own}) overrides the tier's, so change \
                     it first (re-encoding now would keep {own})"
                ));
            }
            out.push(Recommendation {
                kind: "codec".into(),
                target: facts.name.clone(),
                advice,
                evidence,
                effect,
                apply: facts.own_codec.is_none().then_some(Apply::Reencode),
            });
        }
    }
    if let Some(cache) = stats.map(|t| &t.cache).filter(|c| !c.is_empty()) {
        for r in &mut out {
            cache_evidence(cache, &mut r.evidence);
        }
    }
    out
}

/// The target's block-cache reads as evidence: how much of its data the cache already serves
/// (a layout change that reads fewer bytes matters less when they come from memory).
fn cache_evidence(cache: &CacheReads, evidence: &mut BTreeMap<String, Value>) {
    evidence.insert("cache_hits".into(), json!(cache.hits));
    evidence.insert("cache_misses".into(), json!(cache.misses));
    evidence.insert("cache_hit_bytes".into(), json!(cache.hit_bytes));
    evidence.insert("cache_miss_bytes".into(), json!(cache.miss_bytes));
    if let Some(ratio) = cache.hit_ratio() {
        evidence.insert("cache_hit_ratio".into(), json!(round(ratio)));
    }
}

/// Tier placement of objects: hot objects on a colder tier, idle ones on the hottest.
pub fn tier_advice(
    stats: &AccessStats,
    objects: &[ObjectFacts],
    hottest: &str,
    coldest: &str,
    now_ms: u64,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for o in objects {
        let s = stats.objects.get(&o.key);
        let per_day = s.map(|s| s.reads_per_day(now_ms, 7)).unwrap_or(0.0);
        let last = s.map(|s| s.last_ms).unwrap_or(0).max(o.created_ms);
        let idle_days = now_ms.saturating_sub(last) / DAY_MS;
        let mut evidence = BTreeMap::new();
        evidence.insert("tier".into(), json!(o.tier));
        evidence.insert("bytes".into(), json!(o.size));
        evidence.insert("reads_per_day_7d".into(), json!(round(per_day)));
        evidence.insert("reads".into(), json!(s.map(|s| s.reads).unwrap_or(0)));
        evidence.insert("idle_days".into(), json!(idle_days));
        if let Some(cache) = s.map(|s| &s.cache).filter(|c| !c.is_empty()) {
            // Reads the cache already serves cost the colder tier nothing.
            cache_evidence(cache, &mut evidence);
        }
        if o.tier_rank > 0 && per_day >= HOT_READS_PER_DAY && o.tier != hottest {
            out.push(Recommendation {
                kind: "tier".into(),
                target: o.key.clone(),
                advice: format!(
                    "move to {hottest}: read {per_day:.1} times a day from {}",
                    o.tier
                ),
                evidence,
                effect: BTreeMap::new(),
                apply: Some(Apply::MoveTier {
                    key: o.key.clone(),
                    to: hottest.to_string(),
                }),
            });
        } else if o.tier_rank == 0 && idle_days >= IDLE_DAYS && o.tier != coldest {
            out.push(Recommendation {
                kind: "tier".into(),
                target: o.key.clone(),
                advice: format!("move to {coldest}: not read for {idle_days} days"),
                evidence,
                effect: BTreeMap::new(),
                apply: Some(Apply::MoveTier {
                    key: o.key.clone(),
                    to: coldest.to_string(),
                }),
            });
        }
    }
    out
}

/// The cache budget from the miss-ratio curve of the recorded reads, when it differs from
/// `current` by 2x or more.
pub fn cache_advice(stats: &AccessStats, current: u64) -> Option<Recommendation> {
    if stats.trace.len() < 100 {
        return None;
    }
    let sizes: Vec<u64> = (20..=36).map(|p| 1u64 << p).collect();
    let curve = miss_ratio_curve(&stats.trace, &sizes);
    let knee = knee(&curve)?;
    let now = miss_ratio_curve(&stats.trace, &[current])
        .first()
        .copied()
        .unwrap_or(MissPoint {
            cache_bytes: current,
            miss_ratio: 1.0,
        });
    if knee.cache_bytes * 2 > current && knee.cache_bytes < current * 2 {
        return None;
    }
    let mut evidence = BTreeMap::new();
    evidence.insert("reads_in_trace".into(), json!(stats.trace.len()));
    // The simulation's figure beside the one measured on the lake's own cached reads.
    let measured = stats.cache_reads();
    if let Some(ratio) = measured.hit_ratio() {
        evidence.insert(
            "measured_block_reads".into(),
            json!(measured.hits + measured.misses),
        );
        evidence.insert("measured_miss_ratio".into(), json!(round(1.0 - ratio)));
    }
    evidence.insert(
        "curve".into(),
        json!(curve
            .iter()
            .map(|p| json!({"cache_bytes": p.cache_bytes, "miss_ratio": round(p.miss_ratio)}))
            .collect::<Vec<_>>()),
    );
    let mut effect = BTreeMap::new();
    effect.insert("cache_bytes_before".into(), json!(current));
    effect.insert("cache_bytes_after".into(), json!(knee.cache_bytes));
    effect.insert("miss_ratio_before".into(), json!(round(now.miss_ratio)));
    effect.insert("miss_ratio_after".into(), json!(round(knee.miss_ratio)));
    Some(Recommendation {
        kind: "cache".into(),
        target: "cache".into(),
        advice: format!(
            "set the block cache to {} MiB (the knee of the simulated miss-ratio curve)",
            knee.cache_bytes >> 20
        ),
        evidence,
        effect,
        apply: None,
    })
}

fn effect_rows(before: f64, after: f64, bytes_per_row: f64) -> BTreeMap<String, Value> {
    let mut effect = BTreeMap::new();
    effect.insert("rows_decoded_per_scan_before".into(), json!(before.round()));
    effect.insert("rows_decoded_per_scan_after".into(), json!(after.round()));
    effect.insert(
        "bytes_read_per_scan_before".into(),
        json!((before * bytes_per_row).round()),
    );
    effect.insert(
        "bytes_read_per_scan_after".into(),
        json!((after * bytes_per_row).round()),
    );
    effect
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::stats::FilterStats;

    #[test]
    fn a_small_table_read_whole_often_gets_arrow_ipc() {
        let mut t = TargetStats {
            scans: 40,
            whole_scans: 40,
            ..TargetStats::default()
        };
        t.days.insert(20_000, 40);
        let facts = TableFacts {
            name: "gold/dim".into(),
            hot: true,
            file_bytes: vec![1 << 20],
            rows: Some(10_000),
            target_file_bytes: 128 << 20,
            ..TableFacts::default()
        };
        let recs = table_advice(Some(&t), &facts);
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0].kind, "format");
    }

    #[test]
    fn a_weak_filter_gets_a_zorder_and_no_compaction() {
        let mut t = TargetStats {
            scans: 10,
            ..TargetStats::default()
        };
        t.filters.insert(
            "region =".into(),
            FilterStats {
                column: "region".into(),
                op: "=".into(),
                scans: 10,
                rows_decoded: 1_000_000,
                rows_out: 100_000,
                ..FilterStats::default()
            },
        );
        let facts = TableFacts {
            name: "silver/t".into(),
            tier: "hot".into(),
            hot: true,
            file_bytes: vec![50_000; 40],
            rows: Some(100_000),
            target_file_bytes: 128 << 20,
            ..TableFacts::default()
        };
        let recs = table_advice(Some(&t), &facts);
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0].kind, "zorder");
        assert!(
            matches!(&recs[0].apply, Some(Apply::Zorder { columns, .. }) if columns == &["region"])
        );
        // Large enough and few values: partition instead.
        let big = TableFacts {
            file_bytes: vec![1 << 30; 8],
            cardinality: [("region".to_string(), 8)].into(),
            ..facts.clone()
        };
        let recs = table_advice(Some(&t), &big);
        assert_eq!(recs[0].kind, "partition", "{recs:?}");
        assert!(recs[0].apply.is_none());
        // On a cold tier with a light codec that re-encodes 30% smaller: codec advice.
        let cold = TableFacts {
            hot: false,
            tier: "cold".into(),
            codecs: vec!["LZ4_RAW".into()],
            codec_sample: Some((1000, 700)),
            ..facts.clone()
        };
        let codec = table_advice(None, &cold);
        let codec = codec.iter().find(|r| r.kind == "codec").unwrap();
        assert_eq!(codec.effect["bytes_saved_estimate"], 600_000.0);
        assert_eq!(codec.apply, Some(Apply::Reencode));
        // A table with its own codec policy would keep it: advice only.
        let own = TableFacts {
            own_codec: Some("lz4".into()),
            ..cold.clone()
        };
        let codec = table_advice(None, &own);
        let codec = codec.iter().find(|r| r.kind == "codec").unwrap();
        assert!(
            codec.apply.is_none() && codec.advice.contains("own codec"),
            "{codec:?}"
        );
        // Without scans, only compaction.
        let recs = table_advice(None, &facts);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].kind, "compact");
    }
}
