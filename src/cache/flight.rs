//! Single flight: concurrent misses for one block fetch it once; the others wait for that
//! fetch and share its result (or its error).
//!
//! moka's `try_get_with` does this too, but it always inserts what it fetched; here the fetch
//! and the admission decision are separate, so the flights are kept beside the cache.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex};

use bytes::Bytes;

use crate::error::{Error, ErrorKind};

type Outcome = std::result::Result<Bytes, (ErrorKind, String)>;

#[derive(Debug, Default)]
pub(crate) struct Flight {
    outcome: Mutex<Option<Outcome>>,
    done: Condvar,
}

impl Flight {
    /// Waits for the leader's outcome.
    pub fn wait(&self) -> crate::Result<Bytes> {
        let mut outcome = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(o) = outcome.as_ref() {
                return o
                    .clone()
                    .map_err(|(kind, message)| Error::new(kind, message));
            }
            outcome = self.done.wait(outcome).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// The flights in progress, by key.
#[derive(Debug)]
pub(crate) struct Flights<K> {
    live: Mutex<HashMap<K, Arc<Flight>>>,
}

/// Who fetches a key.
pub(crate) enum Claim<'a, K: Hash + Eq + Clone> {
    /// This caller fetches and must [`Leader::finish`] (dropping it finishes with an error).
    Leader(Leader<'a, K>),
    /// Another caller fetches; wait on this flight.
    Follower(Arc<Flight>),
}

pub(crate) struct Leader<'a, K: Hash + Eq + Clone> {
    flights: &'a Flights<K>,
    key: K,
    flight: Arc<Flight>,
    finished: bool,
}

impl<K: Hash + Eq + Clone> Flights<K> {
    pub fn new() -> Self {
        Flights {
            live: Mutex::new(HashMap::new()),
        }
    }

    pub fn claim(&self, key: &K) -> Claim<'_, K> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(flight) = live.get(key) {
            return Claim::Follower(flight.clone());
        }
        let flight = Arc::new(Flight::default());
        live.insert(key.clone(), flight.clone());
        Claim::Leader(Leader {
            flights: self,
            key: key.clone(),
            flight,
            finished: false,
        })
    }

    /// Whether a fetch of `key` is under way.
    pub fn in_flight(&self, key: &K) -> bool {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(key)
    }
}

impl<K: Hash + Eq + Clone> Leader<'_, K> {
    /// Publishes the outcome to the waiting followers and ends the flight.
    pub fn finish(mut self, outcome: &crate::Result<Bytes>) {
        self.publish(match outcome {
            Ok(bytes) => Ok(bytes.clone()),
            Err(e) => Err((e.kind(), e.to_string())),
        });
    }

    fn publish(&mut self, outcome: Outcome) {
        self.finished = true;
        // Removed first: a caller arriving after this starts a new flight (and finds the
        // block in the cache if it was admitted).
        self.flights
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
        *self
            .flight
            .outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(outcome);
        self.flight.done.notify_all();
    }
}

impl<K: Hash + Eq + Clone> Drop for Leader<'_, K> {
    fn drop(&mut self) {
        if !self.finished {
            self.publish(Err((
                ErrorKind::Internal,
                "the fetch of a cached block was abandoned".into(),
            )));
        }
    }
}
