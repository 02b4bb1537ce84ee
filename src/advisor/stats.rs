//! Access statistics: what scans and writes did to each table, dataset and object of a lake,
//! as plain data with merge rules. The lake records into an [`AccessStats`] in memory and
//! persists it as a small versioned JSON file; this module knows neither the lake nor files.
//!
//! Memory is bounded: at most [`MAX_TARGETS`] tables and datasets, [`MAX_OBJECTS`] objects,
//! [`MAX_FILTERS`] filter shapes per target, [`MAX_DAYS`] days of daily counts, and a read
//! trace of the last [`TRACE_LEN`] reads. When a map is full, the least-used entries go.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::read::{CmpOp, Expr, ScanStats};

/// The version of the persisted form.
pub const STATS_FORMAT: u32 = 1;
/// Tables and datasets kept at most.
pub const MAX_TARGETS: usize = 1024;
/// Objects kept at most (per-object reads, for tier placement).
pub const MAX_OBJECTS: usize = 16_384;
/// Filter shapes (column, operator) kept per target.
pub const MAX_FILTERS: usize = 64;
/// Columns kept per target.
pub const MAX_COLUMNS: usize = 256;
/// Days of daily counts kept.
pub const MAX_DAYS: usize = 31;
/// Reads kept in the trace the cache simulation replays.
pub const TRACE_LEN: usize = 8192;

const DAY_MS: u64 = 86_400_000;

/// Everything recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessStats {
    /// [`STATS_FORMAT`].
    pub format: u32,
    /// Tables (`zone/name`) and datasets (object prefixes) by name.
    pub targets: BTreeMap<String, TargetStats>,
    /// Objects by key.
    pub objects: BTreeMap<String, ObjectStats>,
    /// The most recent reads, oldest first.
    pub trace: Vec<TraceRead>,
}

/// What a table or dataset saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetStats {
    /// `table` or `dataset`.
    pub kind: String,
    /// Scans that ended well.
    pub scans: u64,
    /// Of those, scans with neither projection nor filter (the whole table read).
    pub whole_scans: u64,
    /// Of those, counts (no values read out).
    pub counts: u64,
    /// Times each column was projected (a scan of every column counts none).
    pub columns: BTreeMap<String, u64>,
    /// Filter shapes (`column op`) with how selective the scans that used them were.
    pub filters: BTreeMap<String, FilterStats>,
    /// Rows decoded (before the exact filter).
    pub rows_decoded: u64,
    /// Rows returned.
    pub rows_out: u64,
    /// Compressed bytes the scans set out to read (see [`crate::ScanStats::bytes_read`]).
    #[serde(default)]
    pub bytes_read: u64,
    /// Files opened.
    pub files: u64,
    /// Files skipped by partition values or file statistics.
    pub files_skipped: u64,
    /// Row groups in the files opened.
    pub row_groups: u64,
    /// Of those, skipped by statistics, bloom filters or the page index.
    pub row_groups_skipped: u64,
    /// Commits (writes, merges, deletes, optimizes...).
    pub writes: u64,
    /// Bytes the table held after each of them, summed (with `writes`: the mean size).
    pub write_bytes_after: u64,
    /// Files added by writes, as the file counts after each write grew.
    pub write_files_added: u64,
    /// Bytes added by writes, as the table's bytes grew.
    pub write_bytes_added: u64,
    /// Files and bytes after the last commit recorded.
    pub last_files: u64,
    /// See `last_files`.
    pub last_bytes: u64,
    /// Scans and rows read per tier the data lived on (tables: the table tier; a dataset's
    /// objects are counted per object, see [`ObjectStats`]).
    #[serde(default)]
    pub tiers: BTreeMap<String, TierReads>,
    /// Block reads its scans made through the block cache (data on a cached tier only).
    #[serde(default, skip_serializing_if = "CacheReads::is_empty")]
    pub cache: CacheReads,
    /// Scans per day (days since the epoch).
    pub days: BTreeMap<u64, u64>,
    /// First and last activity, ms since the epoch.
    pub first_ms: u64,
    /// See `first_ms`.
    pub last_ms: u64,
}

/// One filter shape of a target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterStats {
    /// The column.
    pub column: String,
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `is null`, `is not null`, `starts_with`.
    pub op: String,
    /// Scans that used it.
    pub scans: u64,
    /// Rows those scans decoded.
    pub rows_decoded: u64,
    /// Rows they returned: `rows_out / rows_decoded` is the observed selectivity after
    /// pruning (near 1: pruning already does the work; near 0: most decoded rows are thrown
    /// away, and a layout by this column would skip them).
    pub rows_out: u64,
    /// Row groups they opened and skipped.
    pub row_groups: u64,
    /// See `row_groups`.
    pub row_groups_skipped: u64,
    /// Compressed bytes those scans read.
    #[serde(default)]
    pub bytes_read: u64,
    /// Distinct values seen on the right-hand side (up to 64, for equality and `IN`).
    pub values: Vec<String>,
}

/// Reads from one tier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TierReads {
    /// Scans.
    pub scans: u64,
    /// Rows decoded.
    pub rows_decoded: u64,
    /// Compressed bytes read.
    #[serde(default)]
    pub bytes_read: u64,
    /// Files opened.
    pub files: u64,
}

/// Block reads through the block cache: served from memory (hits) or fetched from the tier
/// (misses). Absent from statistics written before they were counted: zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheReads {
    /// Blocks served from the cache.
    pub hits: u64,
    /// Blocks fetched from the tier.
    pub misses: u64,
    /// Bytes of the blocks served from the cache.
    pub hit_bytes: u64,
    /// Bytes of the blocks fetched.
    pub miss_bytes: u64,
}

impl CacheReads {
    /// Whether no block read was counted.
    pub fn is_empty(&self) -> bool {
        self.hits == 0 && self.misses == 0
    }

    /// hits / (hits + misses), when any.
    pub fn hit_ratio(&self) -> Option<f64> {
        let all = self.hits + self.misses;
        (all > 0).then(|| self.hits as f64 / all as f64)
    }

    /// Adds `other`.
    pub fn add(&mut self, other: &CacheReads) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.hit_bytes += other.hit_bytes;
        self.miss_bytes += other.miss_bytes;
    }
}

/// What one object saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectStats {
    /// Reads (gets and scan opens).
    pub reads: u64,
    /// Bytes of those reads (an open counts the object's size).
    pub bytes: u64,
    /// Reads per day (days since the epoch).
    pub days: BTreeMap<u64, u64>,
    /// The last read, ms since the epoch.
    pub last_ms: u64,
    /// Block reads of its gets through the block cache (on a cached tier).
    #[serde(default, skip_serializing_if = "CacheReads::is_empty")]
    pub cache: CacheReads,
}

/// One read of the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRead {
    /// The object key or table file.
    pub key: String,
    /// Its bytes.
    pub bytes: u64,
}

/// What one scan asked for and did, as the recorder hears it.
#[derive(Debug, Clone, Copy)]
pub struct ScanRecord<'a> {
    /// Table name or dataset prefix.
    pub target: &'a str,
    /// `table` or `dataset`.
    pub kind: &'a str,
    /// The projection; `None`: every column.
    pub columns: Option<&'a [String]>,
    /// The filter.
    pub filter: Option<&'a Expr>,
    /// Only a count.
    pub count_only: bool,
    /// The tier the data lives on, when one.
    pub tier: Option<&'a str>,
    /// What it did.
    pub stats: &'a ScanStats,
    /// When it ended, ms since the epoch.
    pub at_ms: u64,
}

/// The (column, operator, value) terms of a filter that a layout could serve: the conjuncts
/// at the top (terms under `OR` or `NOT` count with their own operator all the same).
pub fn filter_terms(expr: &Expr) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    collect_terms(expr, &mut out);
    out
}

fn collect_terms(expr: &Expr, out: &mut Vec<(String, String, Option<String>)>) {
    match expr {
        Expr::Cmp { column, op, value } => {
            let op = match op {
                CmpOp::Eq => "=",
                CmpOp::NotEq => "!=",
                CmpOp::Lt => "<",
                CmpOp::LtEq => "<=",
                CmpOp::Gt => ">",
                CmpOp::GtEq => ">=",
            };
            let v = matches!(op, "=").then(|| value.to_string());
            out.push((column.clone(), op.to_string(), v));
        }
        Expr::In {
            column, negated, ..
        } => out.push((
            column.clone(),
            if *negated { "not in" } else { "in" }.to_string(),
            None,
        )),
        Expr::IsNull { column, negated } => out.push((
            column.clone(),
            if *negated { "is not null" } else { "is null" }.to_string(),
            None,
        )),
        Expr::StartsWith { column, .. } => {
            out.push((column.clone(), "starts_with".to_string(), None))
        }
        Expr::And(terms) | Expr::Or(terms) => terms.iter().for_each(|t| collect_terms(t, out)),
        Expr::Not(inner) => collect_terms(inner, out),
    }
}

/// Whether `op` is an equality (partitioning serves it) rather than a range (z-order does).
pub fn is_equality(op: &str) -> bool {
    matches!(op, "=" | "in")
}

/// Whether `op` is a range comparison.
pub fn is_range(op: &str) -> bool {
    matches!(op, "<" | "<=" | ">" | ">=" | "starts_with")
}

impl AccessStats {
    /// Empty statistics of the current format.
    pub fn new() -> AccessStats {
        AccessStats {
            format: STATS_FORMAT,
            ..AccessStats::default()
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.objects.is_empty() && self.trace.is_empty()
    }

    /// Records a scan that ended well.
    pub fn record_scan(&mut self, scan: &ScanRecord<'_>) {
        let t = self.target(scan.target, scan.kind, scan.at_ms);
        let s = scan.stats;
        t.scans += 1;
        if scan.count_only {
            t.counts += 1;
        }
        if scan.columns.is_none() && scan.filter.is_none() && !scan.count_only {
            t.whole_scans += 1;
        }
        if let Some(columns) = scan.columns {
            for c in columns {
                bump_capped(&mut t.columns, c, 1, MAX_COLUMNS);
            }
        }
        t.rows_decoded += s.rows_decoded;
        t.rows_out += s.rows_out;
        t.bytes_read += s.bytes_read;
        t.files += s.files;
        t.files_skipped += s.files_skipped;
        t.row_groups += s.row_groups_total;
        t.row_groups_skipped += s.row_groups_skipped;
        if let Some(tier) = scan.tier {
            let r = t.tiers.entry(tier.to_string()).or_default();
            r.scans += 1;
            r.rows_decoded += s.rows_decoded;
            r.bytes_read += s.bytes_read;
            r.files += s.files;
        }
        *t.days.entry(scan.at_ms / DAY_MS).or_default() += 1;
        trim_days(&mut t.days);
        if let Some(filter) = scan.filter {
            let mut seen = Vec::new();
            for (column, op, value) in filter_terms(filter) {
                let key = format!("{column} {op}");
                if !t.filters.contains_key(&key) && t.filters.len() >= MAX_FILTERS {
                    evict_least(&mut t.filters, |f| f.scans);
                }
                let f = t.filters.entry(key.clone()).or_insert_with(|| FilterStats {
                    column: column.clone(),
                    op: op.clone(),
                    ..FilterStats::default()
                });
                if let Some(v) = value {
                    if f.values.len() < 64 && !f.values.contains(&v) {
                        f.values.push(v);
                    }
                }
                // A shape used twice in one filter counts once for the scan.
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                f.scans += 1;
                f.rows_decoded += s.rows_decoded;
                f.rows_out += s.rows_out;
                f.bytes_read += s.bytes_read;
                f.row_groups += s.row_groups_total;
                f.row_groups_skipped += s.row_groups_skipped;
            }
        }
        self.trim_targets();
    }

    /// Records a commit of table `target` that left it with `files` files of `bytes` bytes.
    pub fn record_write(&mut self, target: &str, files: u64, bytes: u64, at_ms: u64) {
        let t = self.target(target, "table", at_ms);
        t.writes += 1;
        t.write_bytes_after += bytes;
        t.write_files_added += files.saturating_sub(t.last_files);
        t.write_bytes_added += bytes.saturating_sub(t.last_bytes);
        t.last_files = files;
        t.last_bytes = bytes;
        self.trim_targets();
    }

    /// Records block reads of table or dataset `target` (`kind`) through the block cache.
    pub fn record_cache(&mut self, target: &str, kind: &str, reads: &CacheReads, at_ms: u64) {
        if reads.is_empty() {
            return;
        }
        self.target(target, kind, at_ms).cache.add(reads);
        self.trim_targets();
    }

    /// Block reads through the cache summed over every target.
    pub fn cache_reads(&self) -> CacheReads {
        let mut all = CacheReads::default();
        for t in self.targets.values() {
            all.add(&t.cache);
        }
        all
    }

    /// Records a read of object (or table file) `key` of `bytes` bytes.
    pub fn record_read(&mut self, key: &str, bytes: u64, at_ms: u64, object: bool) {
        if object {
            if !self.objects.contains_key(key) && self.objects.len() >= MAX_OBJECTS {
                evict_least(&mut self.objects, |o| o.reads);
            }
            let o = self.objects.entry(key.to_string()).or_default();
            o.reads += 1;
            o.bytes += bytes;
            o.last_ms = o.last_ms.max(at_ms);
            *o.days.entry(at_ms / DAY_MS).or_default() += 1;
            trim_days(&mut o.days);
        }
        if self.trace.len() >= TRACE_LEN {
            // Drop the oldest half at once: amortized O(1) per read.
            self.trace.drain(..TRACE_LEN / 2);
        }
        self.trace.push(TraceRead {
            key: key.to_string(),
            bytes,
        });
    }

    /// Records block reads of a get of object `key` through the block cache (after
    /// [`AccessStats::record_read`] of the get: an object evicted meanwhile is not brought back).
    pub fn record_object_cache(&mut self, key: &str, reads: &CacheReads) {
        if let Some(o) = self.objects.get_mut(key) {
            o.cache.add(reads);
        }
    }

    /// Adds `other` (recorded later) to these statistics.
    pub fn merge(&mut self, other: AccessStats) {
        for (name, o) in other.targets {
            match self.targets.get_mut(&name) {
                Some(t) => t.merge(o),
                None => {
                    self.targets.insert(name, o);
                }
            }
        }
        for (key, o) in other.objects {
            let s = self.objects.entry(key).or_default();
            s.reads += o.reads;
            s.bytes += o.bytes;
            s.last_ms = s.last_ms.max(o.last_ms);
            s.cache.add(&o.cache);
            for (d, n) in o.days {
                *s.days.entry(d).or_default() += n;
            }
            trim_days(&mut s.days);
        }
        while self.objects.len() > MAX_OBJECTS {
            evict_least(&mut self.objects, |o| o.reads);
        }
        self.trace.extend(other.trace);
        if self.trace.len() > TRACE_LEN {
            let extra = self.trace.len() - TRACE_LEN;
            self.trace.drain(..extra);
        }
        self.trim_targets();
    }

    fn target(&mut self, name: &str, kind: &str, at_ms: u64) -> &mut TargetStats {
        let t = self
            .targets
            .entry(name.to_string())
            .or_insert_with(|| TargetStats {
                kind: kind.to_string(),
                first_ms: at_ms,
                ..TargetStats::default()
            });
        t.last_ms = t.last_ms.max(at_ms);
        t
    }

    fn trim_targets(&mut self) {
        while self.targets.len() > MAX_TARGETS {
            evict_least(&mut self.targets, |t| t.scans + t.writes);
        }
    }
}

impl TargetStats {
    fn merge(&mut self, o: TargetStats) {
        self.scans += o.scans;
        self.whole_scans += o.whole_scans;
        self.counts += o.counts;
        for (c, n) in o.columns {
            bump_capped(&mut self.columns, &c, n, MAX_COLUMNS);
        }
        for (k, f) in o.filters {
            match self.filters.get_mut(&k) {
                Some(s) => {
                    s.scans += f.scans;
                    s.rows_decoded += f.rows_decoded;
                    s.rows_out += f.rows_out;
                    s.bytes_read += f.bytes_read;
                    s.row_groups += f.row_groups;
                    s.row_groups_skipped += f.row_groups_skipped;
                    for v in f.values {
                        if s.values.len() < 64 && !s.values.contains(&v) {
                            s.values.push(v);
                        }
                    }
                }
                None => {
                    self.filters.insert(k, f);
                }
            }
        }
        while self.filters.len() > MAX_FILTERS {
            evict_least(&mut self.filters, |f| f.scans);
        }
        self.rows_decoded += o.rows_decoded;
        self.rows_out += o.rows_out;
        self.bytes_read += o.bytes_read;
        self.files += o.files;
        self.files_skipped += o.files_skipped;
        self.row_groups += o.row_groups;
        self.row_groups_skipped += o.row_groups_skipped;
        self.writes += o.writes;
        self.write_bytes_after += o.write_bytes_after;
        self.write_files_added += o.write_files_added;
        self.write_bytes_added += o.write_bytes_added;
        if o.last_ms >= self.last_ms && (o.last_files, o.last_bytes) != (0, 0) {
            self.last_files = o.last_files;
            self.last_bytes = o.last_bytes;
        }
        for (tier, r) in o.tiers {
            let s = self.tiers.entry(tier).or_default();
            s.scans += r.scans;
            s.rows_decoded += r.rows_decoded;
            s.bytes_read += r.bytes_read;
            s.files += r.files;
        }
        self.cache.add(&o.cache);
        for (d, n) in o.days {
            *self.days.entry(d).or_default() += n;
        }
        trim_days(&mut self.days);
        if self.first_ms == 0 || (o.first_ms != 0 && o.first_ms < self.first_ms) {
            self.first_ms = o.first_ms;
        }
        self.last_ms = self.last_ms.max(o.last_ms);
    }

    /// Scans per day over the days with any (0 when none).
    pub fn scans_per_day(&self) -> f64 {
        if self.days.is_empty() {
            return 0.0;
        }
        self.days.values().sum::<u64>() as f64 / self.days.len() as f64
    }
}

impl ObjectStats {
    /// Reads per day over the last `days` days before `now_ms`.
    pub fn reads_per_day(&self, now_ms: u64, days: u64) -> f64 {
        let today = now_ms / DAY_MS;
        let from = today.saturating_sub(days.saturating_sub(1));
        let n: u64 = self.days.range(from..=today).map(|(_, n)| n).sum();
        n as f64 / days.max(1) as f64
    }
}

fn bump_capped(map: &mut BTreeMap<String, u64>, key: &str, by: u64, cap: usize) {
    if let Some(n) = map.get_mut(key) {
        *n += by;
        return;
    }
    if map.len() >= cap {
        evict_least(map, |n| *n);
    }
    map.insert(key.to_string(), by);
}

fn trim_days(days: &mut BTreeMap<u64, u64>) {
    while days.len() > MAX_DAYS {
        days.pop_first();
    }
}

/// Removes the entry with the least `weight` (the first such in key order).
fn evict_least<V>(map: &mut BTreeMap<String, V>, weight: impl Fn(&V) -> u64) {
    let least = map
        .iter()
        .min_by_key(|(_, v)| weight(v))
        .map(|(k, _)| k.clone());
    if let Some(k) = least {
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Literal;

    fn stats(decoded: u64, out: u64) -> ScanStats {
        ScanStats {
            files: 4,
            row_groups_total: 4,
            row_groups_skipped: 1,
            rows_decoded: decoded,
            rows_out: out,
            ..ScanStats::default()
        }
    }

    fn eq(column: &str, v: &str) -> Expr {
        Expr::Cmp {
            column: column.into(),
            op: CmpOp::Eq,
            value: Literal::Str(v.into()),
        }
    }

    #[test]
    fn scans_record_columns_filters_and_selectivity() {
        let mut a = AccessStats::new();
        let f = Expr::And(vec![eq("region", "X"), eq("region", "X")]);
        let s = stats(1000, 10);
        let cols = vec!["id".to_string()];
        a.record_scan(&ScanRecord {
            target: "silver/t",
            kind: "table",
            columns: Some(&cols),
            filter: Some(&f),
            count_only: false,
            tier: Some("hot"),
            stats: &s,
            at_ms: DAY_MS * 3,
        });
        let t = &a.targets["silver/t"];
        assert_eq!(t.scans, 1);
        assert_eq!(t.columns["id"], 1);
        let region = &t.filters["region ="];
        assert_eq!(
            (region.scans, region.rows_decoded, region.rows_out),
            (1, 1000, 10)
        );
        assert_eq!(region.values, vec!["'X'".to_string()]);
        assert_eq!(t.days[&3], 1);
        assert_eq!(t.tiers["hot"].rows_decoded, 1000);
    }

    #[test]
    fn merge_adds_and_bounds() {
        let mut a = AccessStats::new();
        let mut b = AccessStats::new();
        for i in 0..10 {
            a.record_read(&format!("k{i}"), 10, DAY_MS, true);
        }
        b.record_read("k1", 10, DAY_MS * 2, true);
        b.record_write("silver/t", 3, 300, 5);
        a.merge(b);
        assert_eq!(a.objects["k1"].reads, 2);
        assert_eq!(a.objects["k1"].days.len(), 2);
        assert_eq!(a.trace.len(), 11);
        assert_eq!(a.targets["silver/t"].write_files_added, 3);
        for i in 0..(MAX_OBJECTS + 10) {
            a.record_read(&format!("o{i}"), 1, 0, true);
        }
        assert!(a.objects.len() <= MAX_OBJECTS);
        assert!(a.trace.len() <= TRACE_LEN);
    }

    #[test]
    fn round_trips_through_json() {
        let mut a = AccessStats::new();
        a.record_read("k", 10, DAY_MS, true);
        let text = serde_json::to_string(&a).unwrap();
        let back: AccessStats = serde_json::from_str(&text).unwrap();
        assert_eq!(a, back);
    }
}
