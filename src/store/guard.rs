//! Per-key exclusion inside one process.
//!
//! The data-root lock keeps other processes out; inside the process two locks per key (by
//! stripe) keep writers and readers in step:
//! - the writer lock: writers of the same key must not interleave. Without it, a tier run
//!   deleting an orphaned copy could delete a copy that a concurrent put has just written to
//!   the same tier, or a move could copy stale bytes over a fresh put. Every operation that
//!   writes or deletes a key's copies holds it from start to end.
//! - the view lock: a put commits the new index record and then makes the new bytes visible
//!   (a rename, a PUT). Between the two, the index and the tier disagree; the writer holds the
//!   view lock exclusively for that span, and readers hold it shared while they look the key
//!   up and open its bytes, so a reader sees the old object or the new one, never one's
//!   record with the other's bytes.
//!
//! Lock order: gate, then writer lock, then view lock; nothing takes a writer lock while it
//! holds a view lock, so there are no cycles. A reindex replaces the whole index and so
//! excludes every writer through the gate.

use std::hash::BuildHasher;

use tokio::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

const STRIPES: usize = 1024;

pub(crate) struct KeyLocks {
    gate: RwLock<()>,
    writers: Vec<Mutex<()>>,
    views: Vec<RwLock<()>>,
    hasher: std::collections::hash_map::RandomState,
}

/// Held while a key's copies are written or deleted.
pub(crate) struct KeyGuard<'a> {
    _key: MutexGuard<'a, ()>,
    _gate: RwLockReadGuard<'a, ()>,
}

/// The writer locks of two keys (a copy holds its source still while it writes the target).
pub(crate) struct PairGuard<'a> {
    _first: MutexGuard<'a, ()>,
    _second: Option<MutexGuard<'a, ()>>,
    _gate: RwLockReadGuard<'a, ()>,
}

impl KeyLocks {
    pub fn new() -> Self {
        KeyLocks {
            gate: RwLock::new(()),
            writers: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            views: (0..STRIPES).map(|_| RwLock::new(())).collect(),
            hasher: Default::default(),
        }
    }

    fn stripe(&self, key: &str) -> usize {
        (self.hasher.hash_one(key) as usize) % STRIPES
    }

    /// The writer lock of `key`.
    pub async fn key(&self, key: &str) -> KeyGuard<'_> {
        let gate = self.gate.read().await;
        KeyGuard {
            _key: self.writers[self.stripe(key)].lock().await,
            _gate: gate,
        }
    }

    /// The writer locks of `a` and `b`, taken in stripe order so two copies in opposite
    /// directions cannot deadlock.
    pub async fn pair(&self, a: &str, b: &str) -> PairGuard<'_> {
        let gate = self.gate.read().await;
        let (x, y) = (self.stripe(a), self.stripe(b));
        let (low, high) = (x.min(y), x.max(y));
        let first = self.writers[low].lock().await;
        let second = if high != low {
            Some(self.writers[high].lock().await)
        } else {
            None
        };
        PairGuard {
            _first: first,
            _second: second,
            _gate: gate,
        }
    }

    /// The view lock of `key`, exclusively: while the index and the tier are brought in step.
    pub async fn publishing(&self, key: &str) -> RwLockWriteGuard<'_, ()> {
        self.views[self.stripe(key)].write().await
    }

    /// The view lock of `key`, shared: while a reader looks the key up and opens its bytes.
    pub async fn viewing(&self, key: &str) -> RwLockReadGuard<'_, ()> {
        self.views[self.stripe(key)].read().await
    }

    /// Excludes every key operation (reindex).
    pub async fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write().await
    }
}
