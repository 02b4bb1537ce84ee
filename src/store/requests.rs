//! Requests made to each tier, counted as they happen (atomics, no lock) and kept in the data
//! root (`_cost/requests.json`) when the store closes or a cost report asks: what the cost
//! model turns into monthly request charges. Advisory: a crash loses the counts since the
//! store opened, never anything else.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where the counts are kept, under the data root.
const FILE: &str = "_cost/requests.json";

/// The live counters of one tier.
#[derive(Debug, Default)]
pub(crate) struct TierRequests {
    reads: AtomicU64,
    writes: AtomicU64,
    read_bytes: AtomicU64,
}

impl TierRequests {
    /// A read request (GET, HEAD) that returned `bytes`.
    pub fn read(&self, bytes: u64) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.read_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// `n` write-class requests (PUT, COPY, POST, LIST).
    pub fn write(&self, n: u64) {
        self.writes.fetch_add(n, Ordering::Relaxed);
    }

    fn counts(&self) -> Counts {
        Counts {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            read_bytes: self.read_bytes.load(Ordering::Relaxed),
        }
    }
}

/// Requests made to one tier since the counts started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Read requests (GET, HEAD).
    pub reads: u64,
    /// Write-class requests (PUT, COPY, POST, LIST).
    pub writes: u64,
    /// Bytes the reads returned.
    pub read_bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    format: u32,
    since_ms: u64,
    tiers: BTreeMap<String, Counts>,
}

/// The counters of every tier of a store.
pub(crate) struct Requests {
    path: PathBuf,
    since_ms: u64,
    tiers: BTreeMap<String, Arc<TierRequests>>,
    /// The counts as last read or written: an unchanged store writes nothing.
    saved: std::sync::Mutex<BTreeMap<String, Counts>>,
}

impl Requests {
    /// The counters of `tiers`, continuing from the counts kept in `root` (a file that cannot
    /// be read starts the counts afresh: they are advisory).
    pub fn open(root: &Path, tiers: &[&str]) -> Requests {
        let path = root.join(FILE);
        let saved = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Saved>(&bytes).ok())
            .filter(|s| s.format == 1);
        let since_ms = saved
            .as_ref()
            .map_or_else(crate::clock::now_ms, |s| s.since_ms);
        let tiers = tiers
            .iter()
            .map(|name| {
                let counter = TierRequests::default();
                if let Some(c) = saved.as_ref().and_then(|s| s.tiers.get(*name)) {
                    counter.reads.store(c.reads, Ordering::Relaxed);
                    counter.writes.store(c.writes, Ordering::Relaxed);
                    counter.read_bytes.store(c.read_bytes, Ordering::Relaxed);
                }
                (name.to_string(), Arc::new(counter))
            })
            .collect();
        let requests = Requests {
            path,
            since_ms,
            tiers,
            saved: std::sync::Mutex::new(BTreeMap::new()),
        };
        let (_, counts) = requests.counts();
        *requests.lock_saved() = counts;
        requests
    }

    /// The counter of tier `name`.
    pub fn tier(&self, name: &str) -> Arc<TierRequests> {
        self.tiers.get(name).cloned().unwrap_or_default()
    }

    /// When counting started (ms since the epoch) and the counts per tier.
    pub fn counts(&self) -> (u64, BTreeMap<String, Counts>) {
        let counts = self
            .tiers
            .iter()
            .map(|(name, c)| (name.clone(), c.counts()))
            .collect();
        (self.since_ms, counts)
    }

    fn lock_saved(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Counts>> {
        // A panic while holding this lock can only lose counts; keep going.
        self.saved.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the counts to the data root when they changed since they were last written.
    pub fn save_if_changed(&self) -> Result<()> {
        let (since_ms, tiers) = self.counts();
        let mut saved = self.lock_saved();
        if *saved == tiers {
            return Ok(());
        }
        let saved_tiers = tiers.clone();
        let record = Saved {
            format: 1,
            since_ms,
            tiers,
        };
        let bytes = serde_json::to_vec(&record)
            .map_err(|e| Error::internal(format!("encode request counts: {e}")))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io("cannot create the cost directory", dir, e))?;
        }
        let mut file = crate::atomic_file::AtomicFile::create(&self.path)?;
        file.write_all(&bytes)
            .map_err(|e| Error::io("cannot write the request counts", &self.path, e))?;
        file.commit()?;
        *saved = saved_tiers;
        Ok(())
    }
}
