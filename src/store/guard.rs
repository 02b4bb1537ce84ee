//! Per-key exclusion inside one process.
//!
//! The data-root lock keeps other processes out; inside the process, writers of the same key
//! must not interleave. Without this, a tier run deleting an orphaned copy could delete a copy
//! that a concurrent put has just written to the same tier, or a move could copy stale bytes
//! over a fresh put. Every operation that writes or deletes a key's copies holds that key's
//! stripe; reads take no lock (they follow moves instead). A reindex replaces the whole index
//! and so excludes everything through the gate.

use std::hash::BuildHasher;

use tokio::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

const STRIPES: usize = 256;

pub(crate) struct KeyLocks {
    gate: RwLock<()>,
    stripes: Vec<Mutex<()>>,
    hasher: std::collections::hash_map::RandomState,
}

/// Held while a key's copies are written or deleted.
pub(crate) struct KeyGuard<'a> {
    _key: MutexGuard<'a, ()>,
    _gate: RwLockReadGuard<'a, ()>,
}

impl KeyLocks {
    pub fn new() -> Self {
        KeyLocks {
            gate: RwLock::new(()),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: Default::default(),
        }
    }

    pub async fn key(&self, key: &str) -> KeyGuard<'_> {
        let gate = self.gate.read().await;
        let stripe = &self.stripes[(self.hasher.hash_one(key) as usize) % STRIPES];
        KeyGuard {
            _key: stripe.lock().await,
            _gate: gate,
        }
    }

    /// Excludes every key operation (reindex).
    pub async fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write().await
    }
}
