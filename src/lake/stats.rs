//! The lake's recorder of access statistics ([`crate::advisor::stats`]): scans of tables and
//! datasets heard through a [`ScanGuard`] (wrapping the principal's guard when there is
//! one), table commits through the write hook, object reads on the get and scan-open paths.
//! Counters live in memory behind one mutex (a scan takes it once, when it ends; an object
//! read once); they are written to `<root>/_stats/access.json` when a minute has passed at
//! the next record, on [`Lake::flush_stats`] and when the last handle goes. No thread of its
//! own. A damaged or unreadable file is logged and replaced: statistics never fail the lake.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::Lake;
use crate::advisor::stats::{AccessStats, CacheReads, ScanRecord, STATS_FORMAT};
use crate::atomic_file::AtomicFile;
use crate::cache::ReadTally;
use crate::clock::now_ms;
use crate::config::Action;
use crate::error::{Error, Result};
use crate::governance::Resource;
use crate::read::{ScanGuard, ScanShape, ScanStats};
use crate::table::{TableGate, WriteEvent, WriteHook};

/// How often recorded statistics are written at most (checked when something is recorded).
const FLUSH_EVERY: Duration = Duration::from_secs(60);

/// The statistics file, relative to the data root.
pub(super) const STATS_FILE: &str = "_stats/access.json";

thread_local! {
    /// Set while the lake's own work runs on this thread (an optimize the advisor applies
    /// measures its effect with scans): those scans are not the workload.
    static UNRECORDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work` with the scans it makes on this thread left out of the statistics.
pub(super) fn unrecorded<T>(work: impl FnOnce() -> T) -> T {
    /// Puts the flag back however `work` ends.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            UNRECORDED.with(|u| u.set(self.0));
        }
    }
    let _restore = Restore(UNRECORDED.with(|u| u.replace(true)));
    work()
}

/// One lake's recorder, shared by its handles and by the scans they make.
pub(super) struct StatsRecorder {
    path: PathBuf,
    enabled: AtomicBool,
    state: Mutex<State>,
}

struct State {
    /// What the file held when first needed, plus what was recorded since.
    stats: Option<AccessStats>,
    dirty: bool,
    last_flush: Instant,
    /// Block-cache reads counted per (target, kind) by the readers that hold these tallies
    /// (a table handle's files, a dataset scan's objects): lock-free on the read path, added
    /// to `stats` when they are looked at or written.
    tallies: Vec<(String, &'static str, Arc<ReadTally>)>,
}

impl std::fmt::Debug for StatsRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsRecorder")
            .field("path", &self.path)
            .finish()
    }
}

impl StatsRecorder {
    pub(super) fn new(root: &Path) -> StatsRecorder {
        StatsRecorder {
            path: root.join(STATS_FILE),
            enabled: AtomicBool::new(true),
            state: Mutex::new(State {
                stats: None,
                dirty: false,
                last_flush: Instant::now(),
                tallies: Vec::new(),
            }),
        }
    }

    fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves counters, not invariants: go on.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the statistics (loaded from the file on first use), then writes them if
    /// the interval has passed.
    fn record(&self, f: impl FnOnce(&mut AccessStats)) {
        if !self.enabled() {
            return;
        }
        let mut state = self.lock();
        let path = &self.path;
        f(state.stats.get_or_insert_with(|| load(path)));
        state.dirty = true;
        if state.last_flush.elapsed() >= FLUSH_EVERY {
            if let Err(e) = self.flush_locked(&mut state) {
                tracing::warn!("cannot write the access statistics: {e}");
            }
        }
    }

    /// The tally the block-cache reads of `target` (`kind`) go to; `None` while recording is
    /// off. Readers share one tally per target.
    pub(super) fn cache_tally(&self, target: &str, kind: &'static str) -> Option<Arc<ReadTally>> {
        if !self.enabled() || UNRECORDED.with(|u| u.get()) {
            return None;
        }
        let mut state = self.lock();
        if let Some((_, _, t)) = state
            .tallies
            .iter()
            .find(|(name, k, _)| name == target && *k == kind)
        {
            return Some(t.clone());
        }
        // Tallies no reader holds any more are folded in and let go first, so the list stays
        // as long as the readers open now.
        self.take_tallies(&mut state);
        let tally = Arc::new(ReadTally::default());
        state
            .tallies
            .push((target.to_string(), kind, tally.clone()));
        Some(tally)
    }

    /// Adds what the tallies counted to the statistics, and drops the tallies no reader holds.
    fn take_tallies(&self, state: &mut State) {
        let mut counted = Vec::new();
        state.tallies.retain(|(target, kind, tally)| {
            let t = tally.take();
            if t.hits + t.misses > 0 {
                let reads = CacheReads {
                    hits: t.hits,
                    misses: t.misses,
                    hit_bytes: t.hit_bytes,
                    miss_bytes: t.miss_bytes,
                };
                counted.push((target.clone(), *kind, reads));
            }
            Arc::strong_count(tally) > 1
        });
        if counted.is_empty() {
            return;
        }
        let path = &self.path;
        let stats = state.stats.get_or_insert_with(|| load(path));
        let at = now_ms();
        for (target, kind, reads) in &counted {
            stats.record_cache(target, kind, reads, at);
        }
        state.dirty = true;
    }

    fn flush_locked(&self, state: &mut State) -> Result<()> {
        self.take_tallies(state);
        state.last_flush = Instant::now();
        if !state.dirty {
            return Ok(());
        }
        let Some(stats) = &state.stats else {
            return Ok(());
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        // A data root removed under a handle is not made again for the statistics' sake.
        if !dir.parent().is_some_and(Path::exists) {
            state.dirty = false;
            return Ok(());
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("cannot make the statistics directory", dir, e))?;
        let text = serde_json::to_vec(stats)
            .map_err(|e| Error::internal(format!("cannot encode access statistics: {e}")))?;
        let mut file = AtomicFile::create(&self.path)?;
        file.write_all(&text)
            .map_err(|e| Error::io("cannot write access statistics", &self.path, e))?;
        file.commit()?;
        state.dirty = false;
        Ok(())
    }

    pub(super) fn flush(&self) -> Result<()> {
        let mut state = self.lock();
        self.flush_locked(&mut state)
    }

    pub(super) fn snapshot(&self) -> AccessStats {
        let mut state = self.lock();
        self.take_tallies(&mut state);
        let path = &self.path;
        state.stats.get_or_insert_with(|| load(path)).clone()
    }

    pub(super) fn object_read(&self, key: &str, bytes: u64, cache: &CacheReads) {
        self.record(|s| {
            s.record_read(key, bytes, now_ms(), true);
            s.record_object_cache(key, cache);
        });
    }

    fn scan(
        &self,
        target: &str,
        kind: &str,
        tier: Option<&str>,
        shape: &ScanShape<'_>,
        stats: &ScanStats,
    ) {
        if UNRECORDED.with(|u| u.get()) {
            return;
        }
        self.record(|s| {
            s.record_scan(&ScanRecord {
                target,
                kind,
                columns: shape.columns,
                filter: shape.filter,
                count_only: shape.count_only,
                tier,
                stats,
                at_ms: now_ms(),
            })
        });
    }
}

impl Drop for StatsRecorder {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!("cannot write the access statistics: {e}");
        }
    }
}

/// The statistics in `path`; nothing when there is no file, and a warning (and nothing) when
/// it cannot be read or understood.
fn load(path: &Path) -> AccessStats {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return AccessStats::new(),
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot read the access statistics, starting afresh: {e}");
            return AccessStats::new();
        }
    };
    match serde_json::from_slice::<AccessStats>(&bytes) {
        Ok(stats) if stats.format == STATS_FORMAT => stats,
        Ok(stats) => {
            tracing::warn!(path = %path.display(), format = stats.format, "access statistics of an unknown format, starting afresh");
            AccessStats::new()
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), "damaged access statistics, starting afresh: {e}");
            AccessStats::new()
        }
    }
}

/// Hears how a scan of a table or dataset ended, around the principal's guard if any.
struct StatsGuard {
    recorder: Arc<StatsRecorder>,
    target: String,
    kind: &'static str,
    tier: Option<String>,
    inner: Option<Arc<dyn ScanGuard>>,
}

impl std::fmt::Debug for StatsGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsGuard")
            .field("target", &self.target)
            .field("inner", &self.inner)
            .finish()
    }
}

impl ScanGuard for StatsGuard {
    fn admit(&self, shape: &ScanShape<'_>) -> Result<()> {
        match &self.inner {
            Some(g) => g.admit(shape),
            None => Ok(()),
        }
    }

    fn output_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        match &self.inner {
            Some(g) => g.output_schema(schema),
            None => Ok(schema.clone()),
        }
    }

    fn map(&self, batch: RecordBatch) -> Result<RecordBatch> {
        match &self.inner {
            Some(g) => g.map(batch),
            None => Ok(batch),
        }
    }

    fn finished(&self, shape: &ScanShape<'_>, outcome: std::result::Result<&ScanStats, &Error>) {
        if let Some(g) = &self.inner {
            g.finished(shape, outcome);
        }
        if let Ok(stats) = outcome {
            self.recorder
                .scan(&self.target, self.kind, self.tier.as_deref(), shape, stats);
        }
    }
}

/// A table handle's gate with the statistics guard on its scans.
struct StatsGate {
    recorder: Arc<StatsRecorder>,
    tier: Option<String>,
    inner: Option<Arc<dyn TableGate>>,
}

impl TableGate for StatsGate {
    fn check(&self, table: &str, operation: &str, write: bool) -> Result<()> {
        match &self.inner {
            Some(g) => g.check(table, operation, write),
            None => Ok(()),
        }
    }

    fn scan_guard(&self, table: &str, version: u64) -> Option<Arc<dyn ScanGuard>> {
        let inner = self
            .inner
            .as_ref()
            .and_then(|g| g.scan_guard(table, version));
        Some(Arc::new(StatsGuard {
            recorder: self.recorder.clone(),
            target: table.to_string(),
            kind: "table",
            tier: self.tier.clone(),
            inner,
        }))
    }
}

impl Lake {
    /// The guard of a scan of dataset (or object) `target`: `inner` with the scan recorded.
    pub(super) fn stats_guard(
        &self,
        target: &str,
        inner: Option<Arc<dyn ScanGuard>>,
    ) -> Option<Arc<dyn ScanGuard>> {
        if !self.stats.enabled() {
            return inner;
        }
        Some(Arc::new(StatsGuard {
            recorder: self.stats.clone(),
            target: target.trim_end_matches('/').to_string(),
            kind: "dataset",
            tier: None,
            inner,
        }))
    }

    /// A table handle's gate: `inner` (access checks, audit) with its scans recorded.
    pub(super) fn stats_gate(
        &self,
        inner: Option<Arc<dyn TableGate>>,
    ) -> Option<Arc<dyn TableGate>> {
        if !self.stats.enabled() {
            return inner;
        }
        let tier = self
            .tables_tier()
            .and_then(|p| self.config().tiers.get(p))
            .map(|t| t.name.clone());
        Some(Arc::new(StatsGate {
            recorder: self.stats.clone(),
            tier,
            inner,
        }))
    }

    /// The write hook `inner` with each commit's file count and bytes recorded.
    pub(super) fn stats_write_hook(&self, inner: Arc<WriteHook>) -> Arc<WriteHook> {
        let recorder = self.stats.clone();
        Arc::new(move |event: &WriteEvent<'_>| {
            if let WriteEvent::Completed {
                table,
                committed: Some(c),
                ..
            } = event
            {
                recorder.record(|s| s.record_write(table, c.info.files, c.info.bytes, now_ms()));
            }
            inner(event)
        })
    }

    /// The tally for the block-cache reads of table or dataset `target` (`kind`): handed to
    /// the readers of its data, added to its statistics. `None` while recording is off.
    pub(super) fn cache_tally(&self, target: &str, kind: &'static str) -> Option<Arc<ReadTally>> {
        self.stats.cache_tally(target.trim_end_matches('/'), kind)
    }

    /// Records a read of object `key` (`bytes` read).
    pub(super) fn note_object_read(&self, key: &str, bytes: u64) {
        self.stats.object_read(key, bytes, &CacheReads::default());
    }

    /// Runs `get`, a read of object `key` that returns `bytes` bytes, and records it with the
    /// block-cache hits and misses it made (a cached tier's objects are read through the cache).
    pub(super) fn counted_get<T>(
        &self,
        key: &str,
        get: impl FnOnce() -> Result<T>,
        bytes: impl Fn(&T) -> u64,
    ) -> Result<T> {
        if !self.stats.enabled() {
            return get();
        }
        let tally = Arc::new(ReadTally::default());
        let out = crate::cache::tallying(&tally, get)?;
        let t = tally.take();
        let cache = CacheReads {
            hits: t.hits,
            misses: t.misses,
            hit_bytes: t.hit_bytes,
            miss_bytes: t.miss_bytes,
        };
        self.stats.object_read(key, bytes(&out), &cache);
        Ok(out)
    }

    /// Writes the access statistics recorded so far to `<root>/_stats/access.json` (they are
    /// also written every minute as the lake works, and when the last handle goes).
    pub fn flush_stats(&self) -> Result<()> {
        self.stats.flush()
    }

    /// The access statistics recorded so far (those of earlier runs included).
    pub fn access_stats(&self) -> Result<AccessStats> {
        self.authorize("stats", Action::Admin, Resource::Lake)?;
        Ok(self.stats.snapshot())
    }

    /// Turns the recording of access statistics on or off for every handle of this lake
    /// (on by default). Scans made while it is off are not recorded.
    pub fn set_access_stats(&self, on: bool) {
        self.stats.enabled.store(on, Ordering::Relaxed);
    }
}
