//! Read-ahead: spotting a sequential reader of an object, and the background worker that
//! fetches the blocks it will want next.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, Weak};

use super::blocks::{Inner, ObjectVersion, RangeFetch};

/// Objects tracked at once; past this the table starts again (read-ahead is best effort).
const TRACKED: usize = 4096;
/// Prefetch jobs queued at most; more are dropped.
const QUEUE: usize = 64;

/// Where each object's last read ended and how far it was prefetched.
#[derive(Debug, Default)]
pub(crate) struct SequenceDetector {
    objects: Mutex<HashMap<(Arc<str>, u64), Cursor>>,
}

#[derive(Debug, Clone, Copy)]
struct Cursor {
    last_block: u64,
    run: u32,
    prefetched_to: u64,
}

impl SequenceDetector {
    /// Notes a read of blocks `first..=last`. Returns the blocks to prefetch (up to `ahead`
    /// past `last`, never below what was already prefetched) when the reads are sequential.
    pub fn observe(
        &self,
        object: &ObjectVersion,
        first: u64,
        last: u64,
        ahead: u64,
        blocks: u64,
    ) -> Option<std::ops::Range<u64>> {
        let mut objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        if objects.len() >= TRACKED {
            objects.clear();
        }
        let key = (object.key.clone(), object.version);
        let cursor = objects.entry(key).or_insert(Cursor {
            last_block: u64::MAX,
            run: 0,
            prefetched_to: 0,
        });
        let sequential = cursor.last_block != u64::MAX
            && (first == cursor.last_block || first == cursor.last_block.wrapping_add(1));
        cursor.run = if sequential { cursor.run + 1 } else { 0 };
        cursor.last_block = last;
        if cursor.run == 0 || ahead == 0 {
            return None;
        }
        let start = (last + 1).max(cursor.prefetched_to);
        let end = (last + 1 + ahead).min(blocks);
        if start >= end {
            return None;
        }
        cursor.prefetched_to = end;
        Some(start..end)
    }
}

/// A prefetch job: blocks of one object and how to fetch them.
pub(crate) struct Job {
    pub object: ObjectVersion,
    pub blocks: std::ops::Range<u64>,
    pub fetch: Arc<dyn RangeFetch>,
}

/// One background thread fetching blocks ahead of sequential readers.
#[derive(Debug, Default)]
pub(crate) struct Prefetcher {
    queue: Mutex<Option<SyncSender<Job>>>,
}

impl Prefetcher {
    /// Queues `job`, starting the worker on first use. Dropped when the queue is full.
    pub fn submit(&self, cache: Weak<Inner>, job: Job) -> bool {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.is_none() {
            let (tx, rx) = sync_channel::<Job>(QUEUE);
            let spawned = std::thread::Builder::new()
                .name("strata-prefetch".into())
                .spawn(move || {
                    // Ends when the cache (holding the sender) is dropped.
                    while let Ok(job) = rx.recv() {
                        let Some(cache) = cache.upgrade() else { break };
                        cache.prefetch(&job);
                    }
                });
            if spawned.is_err() {
                return false;
            }
            *queue = Some(tx);
        }
        match queue.as_ref().map(|q| q.try_send(job)) {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_))) | None => false,
            Some(Err(TrySendError::Disconnected(_))) => {
                *queue = None;
                false
            }
        }
    }
}
