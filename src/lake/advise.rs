//! `Lake::advise` and `Lake::apply_advice`: the facts the advisor needs (tables' sizes, files
//! and filter columns' cardinality from their own data; objects from the tier index; prices
//! from the cost model), and the safe recommendations carried out as table commits.

use std::collections::{BTreeMap, HashSet};

use arrow::array::Array;
use serde_json::json;

use super::Lake;
use crate::advisor::advice::{self, ObjectFacts, TableFacts};
use crate::advisor::{AccessStats, Applied, Apply, Recommendation};
use crate::clock::now_ms;
use crate::config::Action;
use crate::error::{Error, Result};
use crate::governance::Resource;
use crate::store::{ActionKind, TierAction};
use crate::table::{AsOf, OptimizeOptions, TARGET_FILE_BYTES};

/// Rows of a filter column read to estimate its distinct values.
const CARDINALITY_SAMPLE: u64 = 200_000;
/// Distinct values counted at most.
const CARDINALITY_CAP: usize = 100_000;

impl Lake {
    /// Recommendations for table or object prefix `name`, or for the whole lake: layout
    /// (partition, z-order, compaction), codec, format, tier placement (with its cost) and
    /// cache budget, each with its evidence and estimated effect. Reads the tables' logs and
    /// a sample of their filter columns; the advisor's own reads are not recorded.
    pub fn advise(&self, name: Option<&str>) -> Result<Vec<Recommendation>> {
        self.authorize("advise", Action::Admin, Resource::Lake)?;
        let stats = self.stats.snapshot();
        let mut out = Vec::new();
        let tables: Vec<String> = match name {
            Some(n) if self.is_lake_table(n) => vec![n.to_string()],
            Some(_) => Vec::new(),
            None => self
                .tables(None)?
                .into_iter()
                .map(|t| t.to_string())
                .collect(),
        };
        for table in &tables {
            let facts = self.advised_table_facts(table, &stats)?;
            out.extend(advice::table_advice(stats.targets.get(table), &facts));
        }
        let prefix = match name {
            Some(n) if tables.is_empty() => Some(n),
            Some(_) => None,
            None => Some(""),
        };
        if let Some(prefix) = prefix {
            out.extend(self.advised_tiers(&stats, prefix)?);
            // A dataset (object prefix) gets its layout advice too: compaction needs a table,
            // so only the read-side kinds apply.
            if !prefix.is_empty() {
                if let Some(t) = stats.targets.get(prefix.trim_end_matches('/')) {
                    let facts = TableFacts {
                        name: prefix.trim_end_matches('/').to_string(),
                        hot: true,
                        target_file_bytes: TARGET_FILE_BYTES,
                        ..TableFacts::default()
                    };
                    out.extend(
                        advice::table_advice(Some(t), &facts)
                            .into_iter()
                            .map(|mut r| {
                                r.apply = None;
                                r
                            }),
                    );
                }
            }
        }
        if name.is_none() {
            let budget = self.config().cache.block_budget();
            out.extend(advice::cache_advice(&stats, budget));
        }
        Ok(out)
    }

    /// Applies the recommendations that can be applied safely, of kind `only` when given:
    /// z-order, compaction and re-encoding as `OPTIMIZE` commits that change no row, tier
    /// placement as crash-safe object moves ([`Lake::move_to_tier`]). With `dry_run`, only
    /// says what it would do.
    pub fn apply_advice(
        &self,
        recommendations: &[Recommendation],
        only: Option<&str>,
        dry_run: bool,
    ) -> Result<Vec<Applied>> {
        let mut out = Vec::new();
        for r in recommendations {
            if only.is_some_and(|k| k != r.kind) {
                continue;
            }
            let Some(apply) = &r.apply else {
                continue;
            };
            let mut done = Applied {
                kind: r.kind.clone(),
                target: r.target.clone(),
                action: String::new(),
                outcome: "planned".into(),
                ..Applied::default()
            };
            let options = match apply {
                Apply::Zorder {
                    columns,
                    target_file_bytes,
                } => {
                    done.action = format!(
                        "optimize {} z-ordered by {} into ~{} KiB files",
                        r.target,
                        columns.join(", "),
                        target_file_bytes >> 10
                    );
                    Some(OptimizeOptions {
                        zorder_by: columns.clone(),
                        target_file_bytes: Some(*target_file_bytes),
                        ..OptimizeOptions::default()
                    })
                }
                Apply::Compact { target_file_bytes } => {
                    done.action = format!(
                        "optimize {} into ~{} KiB files",
                        r.target,
                        target_file_bytes >> 10
                    );
                    Some(OptimizeOptions {
                        target_file_bytes: Some(*target_file_bytes),
                        ..OptimizeOptions::default()
                    })
                }
                Apply::Reencode => {
                    done.action = format!(
                        "optimize {} rewriting every file under its codec policy",
                        r.target
                    );
                    Some(OptimizeOptions {
                        reencode: true,
                        ..OptimizeOptions::default()
                    })
                }
                Apply::MoveTier { key, to } => {
                    done.action = format!("move {key} to tier {to}");
                    if !dry_run {
                        match self.move_to_tier(key, to) {
                            Ok(bytes) => {
                                done.outcome = "done".into();
                                done.bytes_before = bytes;
                                done.bytes_after = bytes;
                            }
                            Err(e) => done.outcome = format!("failed: {e}"),
                        }
                    }
                    None
                }
            };
            if let (Some(options), false) = (options, dry_run) {
                // The optimize's own before/after scans are not the workload.
                let optimized = super::stats::unrecorded(|| {
                    self.table(&r.target).and_then(|t| t.optimize(&options))
                });
                match optimized {
                    Ok(report) => {
                        done.outcome = "done".into();
                        done.version = report.version;
                        done.files_before = report.files_before;
                        done.files_after = report.files_after;
                        done.bytes_before = report.bytes_before;
                        done.bytes_after = report.bytes_after;
                    }
                    Err(e) => done.outcome = format!("failed: {e}"),
                }
            }
            out.push(done);
        }
        Ok(out)
    }

    fn is_lake_table(&self, name: &str) -> bool {
        crate::table::TableName::parse(name, &self.config().tables).is_ok()
            && self
                .table(name)
                .and_then(|t| t.without_gate().exists())
                .unwrap_or(false)
    }

    fn advised_table_facts(&self, name: &str, stats: &AccessStats) -> Result<TableFacts> {
        let table = self.table(name)?.without_gate();
        let info = table.info(AsOf::Latest)?;
        // The log gives the table's bytes and file count; files are taken as equal-sized.
        let files = info.files as usize;
        let each = if files > 0 {
            info.bytes / files as u64
        } else {
            0
        };
        let mut cardinality = BTreeMap::new();
        if let Some(t) = stats.targets.get(name) {
            for f in t.filters.values() {
                if cardinality.contains_key(&f.column)
                    || !info.columns.iter().any(|(c, _)| c == &f.column)
                {
                    continue;
                }
                match distinct_values(&table, &f.column) {
                    Ok(n) => {
                        cardinality.insert(f.column.clone(), n);
                    }
                    Err(e) => {
                        tracing::warn!(table = name, column = %f.column, "cannot sample a filter column: {e}")
                    }
                }
            }
        }
        let config = self.config();
        let tier_position = self.tables_tier();
        let hot = tier_position.is_none_or(|p| p == 0);
        let (codecs, codec_sample) = match (hot, tier_position) {
            (false, Some(position)) => {
                let tier = config.tiers.get(position).map(|t| t.name.as_str());
                let policy = tier.map(|t| config.format.tier_codec(t, position));
                match (policy, sample_file(std::path::Path::new(&info.location))) {
                    (Some(Ok(policy)), Some(file)) => match codec_sample(&file, policy, position) {
                        Ok(found) => found,
                        Err(e) => {
                            tracing::warn!(table = name, "cannot sample a data file's codec: {e}");
                            (Vec::new(), None)
                        }
                    },
                    _ => (Vec::new(), None),
                }
            }
            _ => (Vec::new(), None),
        };
        Ok(TableFacts {
            name: name.to_string(),
            tier: tier_position
                .and_then(|p| config.tiers.get(p))
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            hot,
            partition_by: info.partition_by.clone(),
            file_bytes: vec![each; files],
            rows: info.rows,
            cardinality,
            codecs,
            codec_sample,
            own_codec: info.properties.get(crate::table::CODEC_PROPERTY).cloned(),
            target_file_bytes: TARGET_FILE_BYTES,
        })
    }

    fn advised_tiers(&self, stats: &AccessStats, prefix: &str) -> Result<Vec<Recommendation>> {
        let tiers: Vec<String> = self.config().tiers.iter().map(|t| t.name.clone()).collect();
        let (Some(hottest), Some(coldest)) = (tiers.first(), tiers.last()) else {
            return Ok(Vec::new());
        };
        let objects: Vec<ObjectFacts> = self
            .store
            .list(prefix)?
            .into_iter()
            .map(|o| ObjectFacts {
                tier_rank: tiers.iter().position(|t| t == &o.tier).unwrap_or(0),
                key: o.key,
                tier: o.tier,
                size: o.size,
                created_ms: o.created_ms,
            })
            .collect();
        let mut recs = advice::tier_advice(stats, &objects, hottest, coldest, now_ms());
        for r in &mut recs {
            let Some(Apply::MoveTier { key, to }) = &r.apply else {
                continue;
            };
            let from = r
                .evidence
                .get("tier")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let rank = |t: &str| tiers.iter().position(|x| x == t).unwrap_or(0);
            let action = TierAction {
                key: key.clone(),
                action: if rank(to) < rank(from) {
                    ActionKind::Promote
                } else {
                    ActionKind::Demote
                },
                from: from.to_string(),
                to: Some(to.clone()),
                size: r
                    .evidence
                    .get("bytes")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0),
                reason: r.advice.clone(),
            };
            match self.tier_cost_change(&[action]) {
                Ok(c) => {
                    r.effect
                        .insert("monthly_cost_change".into(), json!(c.monthly));
                    r.effect.insert("one_off_cost".into(), json!(c.one_off));
                }
                Err(e) => tracing::warn!("cannot price a tier move: {e}"),
            }
        }
        Ok(recs)
    }
}

/// Distinct values of `column` in the first rows of `table` (up to the cap).
fn distinct_values(table: &crate::table::Table, column: &str) -> Result<u64> {
    let out = table
        .scan()?
        .columns(&[column])
        .limit(CARDINALITY_SAMPLE)
        .run()?;
    let mut seen: HashSet<String> = HashSet::new();
    for batch in &out.batches {
        let array = batch.column(0);
        let text = arrow::compute::cast(array, &arrow::datatypes::DataType::Utf8)
            .map_err(|e| Error::internal(format!("cannot read column {column:?}: {e}")))?;
        let text = text
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .ok_or_else(|| Error::internal("a cast to strings gave no strings"))?;
        for i in 0..text.len() {
            if seen.len() >= CARDINALITY_CAP {
                return Ok(seen.len() as u64);
            }
            seen.insert(if text.is_null(i) {
                "\u{0}null".to_string()
            } else {
                text.value(i).to_string()
            });
        }
    }
    Ok(seen.len() as u64)
}

/// The codecs of a sample data file, and its bytes before and after a re-encoding.
type CodecSample = (Vec<String>, Option<(u64, u64)>);

/// Data files larger than this are not re-encoded as a codec sample.
const SAMPLE_MAX_BYTES: u64 = 64 << 20;

/// The newest Parquet data file under a table directory (none for a table on S3).
fn sample_file(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let mut best: Option<(std::time::SystemTime, std::path::PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                if !path.ends_with("_delta_log") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|x| x == "parquet")
                && meta.len() <= SAMPLE_MAX_BYTES
            {
                let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                if best.as_ref().is_none_or(|(m, _)| modified > *m) {
                    best = Some((modified, path));
                }
            }
        }
    }
    best.map(|(_, p)| p)
}

/// The codecs of `file`'s column chunks, and its size before and after a re-encoding under
/// `policy` for the tier at `position`.
fn codec_sample(
    file: &std::path::Path,
    policy: crate::format::CodecPolicy,
    position: usize,
) -> Result<CodecSample> {
    use parquet::file::reader::FileReader;
    let data = bytes::Bytes::from(
        std::fs::read(file).map_err(|e| Error::io("cannot read a data file", file, e))?,
    );
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(data.clone())?;
    let mut codecs: Vec<String> = Vec::new();
    for rg in reader.metadata().row_groups() {
        for c in rg.columns() {
            let name = format!("{:?}", c.compression());
            let name = name.split('(').next().unwrap_or(&name).to_string();
            if !codecs.contains(&name) {
                codecs.push(name);
            }
        }
    }
    let before = data.len() as u64;
    let after = crate::format::reencode_parquet(data, policy, Some(position))?.len() as u64;
    Ok((codecs, Some((before, after))))
}
