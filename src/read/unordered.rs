//! Row groups decoded in parallel on rayon, their batches handed to the caller as they come,
//! in no particular order: for scans that do not need row order kept
//! ([`Scan::keep_order(false)`](super::Scan::keep_order)).
//!
//! Keeping order makes every task but the one at the head buffer its batches until the caller
//! reaches it; those batches are fresh memory the allocator must fault in, which on two
//! threads cost as much as the second thread gained. Here the caller takes whatever is ready,
//! so batches are dropped soon after they are made and their memory is reused.
//!
//! The caller decodes too (its batches never change threads) and forwards the workers'
//! batches between its own.
//!
//! Why it cannot deadlock: workers block only on a full channel, which the caller drains
//! between its own items and, once no task is left to claim, until every worker is done; when
//! the caller stops early it drops the channel, and every blocked or later send fails, which
//! ends its worker.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};

use super::ordered::{placement, produce_grouped, Producer};
use crate::{Error, Result};

/// Runs `produce(task, send)` for tasks `0..tasks` on `pool` (rayon's global pool when
/// `None`) and hands every item to `take` on the calling thread as it comes. Items of one
/// task arrive in the order it sent them; tasks interleave. `send` returns false once the
/// caller has stopped; `take` returns false to stop early. The first error, from either side,
/// ends the run.
///
/// Returns `None` without running anything when called from a worker of the pool (the caller
/// would wait on tasks that may need its thread).
pub(crate) fn unordered<T: Send>(
    pool: Option<&rayon::ThreadPool>,
    tasks: usize,
    produce: &Producer<'_, T>,
    take: &mut dyn FnMut(T) -> Result<bool>,
) -> Option<Result<()>> {
    let (on_worker, threads) = placement(pool);
    if on_worker {
        return None;
    }
    let stopped = AtomicBool::new(false);
    // The next task to claim, by the caller or a worker.
    let next = AtomicUsize::new(0);
    let threads = threads.max(1);
    Some(match pool {
        Some(pool) => pool.in_place_scope_fifo(|scope| {
            run(scope, &stopped, &next, tasks, threads, produce, take)
        }),
        None => rayon::in_place_scope_fifo(|scope| {
            run(scope, &stopped, &next, tasks, threads, produce, take)
        }),
    })
}

/// [`unordered`] inside its scope. The caller decodes too: it and `threads - 1` workers
/// claim tasks in turn. The caller's own items go straight to `take`, never handed between
/// threads (their memory is freed by the thread that allocated it, which glibc's per-thread
/// arenas reward), and between them it forwards what the workers sent.
fn run<'scope, T: Send + 'scope>(
    scope: &rayon::ScopeFifo<'scope>,
    stopped: &'scope AtomicBool,
    next: &'scope AtomicUsize,
    tasks: usize,
    threads: usize,
    produce: &'scope Producer<'scope, T>,
    take: &mut dyn FnMut(T) -> Result<bool>,
) -> Result<()> {
    // Room for two groups a worker: workers run ahead a little, memory stays bounded.
    let (tx, rx) = sync_channel::<Result<Vec<T>>>(threads * 2);
    for _ in 1..threads.min(tasks) {
        let tx = tx.clone();
        scope.spawn_fifo(move |_| {
            while !stopped.load(Ordering::Relaxed) {
                let task = next.fetch_add(1, Ordering::Relaxed);
                if task >= tasks {
                    break;
                }
                produce_grouped(task, produce, &mut |group| tx.send(group).is_ok());
            }
        });
    }
    drop(tx);
    let mut consumer = Consumer {
        rx,
        take,
        stopped,
        failed: None,
        done: false,
    };
    while !consumer.done {
        let task = next.fetch_add(1, Ordering::Relaxed);
        if task >= tasks {
            break;
        }
        let result = produce(task, &mut |item| {
            consumer.give(item) && consumer.forward_ready()
        });
        if let Err(e) = result {
            // After a stop, the producer's error is only its send having failed.
            if !consumer.done {
                consumer.fail(e);
            }
        }
    }
    consumer.forward_all();
    consumer.failed.take().map_or(Ok(()), Err)
}

/// The caller's side of a run: hands items to `take` until it stops or something fails.
/// Dropped (also while unwinding from a panicking `take`), it tells the workers to claim no
/// more tasks and closes the channel, so that running ones see their sends fail.
struct Consumer<'a, T> {
    rx: Receiver<Result<Vec<T>>>,
    take: &'a mut dyn FnMut(T) -> Result<bool>,
    stopped: &'a AtomicBool,
    failed: Option<Error>,
    done: bool,
}

impl<T> Consumer<'_, T> {
    /// Hands one item over; false once the run is over.
    fn give(&mut self, item: T) -> bool {
        if self.done {
            return false;
        }
        match (self.take)(item) {
            Ok(true) => true,
            Ok(false) => {
                self.done = true;
                false
            }
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    fn fail(&mut self, e: Error) {
        self.failed.get_or_insert(e);
        self.done = true;
    }

    fn group(&mut self, group: Result<Vec<T>>) {
        match group {
            Ok(items) => {
                for item in items {
                    if !self.give(item) {
                        return;
                    }
                }
            }
            Err(e) => self.fail(e),
        }
    }

    /// Forwards what the workers have sent so far, without waiting; false once over.
    fn forward_ready(&mut self) -> bool {
        while !self.done {
            match self.rx.try_recv() {
                Ok(group) => self.group(group),
                Err(_) => break,
            }
        }
        !self.done
    }

    /// Forwards until every worker is done (all senders dropped) or the run is over.
    fn forward_all(&mut self) {
        while !self.done {
            match self.rx.recv() {
                Ok(group) => self.group(group),
                Err(_) => break,
            }
        }
    }
}

impl<T> Drop for Consumer<'_, T> {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::ordered::stopped;
    use crate::Error;

    fn pool(n: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    }

    /// Task t yields t*1000 .. t*1000 + 5t.
    fn produce(t: usize, send: &mut dyn FnMut(usize) -> bool) -> Result<()> {
        for i in 0..t * 5 {
            if !send(t * 1000 + i) {
                return Err(stopped());
            }
        }
        Ok(())
    }

    #[test]
    fn every_item_arrives_once_in_task_order_within_a_task() {
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            let mut got = Vec::new();
            unordered(Some(&pool), 30, &produce, &mut |x| {
                got.push(x);
                Ok(true)
            })
            .unwrap()
            .unwrap();
            for t in 0..30 {
                let mine: Vec<usize> = got.iter().copied().filter(|x| x / 1000 == t).collect();
                assert_eq!(mine, (0..t * 5).map(|i| t * 1000 + i).collect::<Vec<_>>());
            }
            assert_eq!(got.len(), (0..30).map(|t| t * 5).sum::<usize>());
        }
    }

    #[test]
    fn stopping_early_and_errors_end_the_run_without_deadlock() {
        let pool = pool(2);
        let mut n = 0;
        unordered(Some(&pool), 200, &produce, &mut |_| {
            n += 1;
            Ok(n < 50)
        })
        .unwrap()
        .unwrap();
        assert_eq!(n, 50);
        let failing = |t: usize, send: &mut dyn FnMut(usize) -> bool| -> Result<()> {
            if t == 7 {
                return Err(Error::invalid("task 7 fails"));
            }
            produce(t, send)
        };
        let err = unordered(Some(&pool), 200, &failing, &mut |_| Ok(true))
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("task 7"), "{err}");
        let err = unordered(Some(&pool), 200, &produce, &mut |_| {
            Err(Error::invalid("sink fails"))
        })
        .unwrap()
        .unwrap_err();
        assert!(err.to_string().contains("sink"), "{err}");
    }

    #[test]
    fn a_panicking_sink_does_not_hang_the_scope() {
        let pool = pool(2);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            unordered(Some(&pool), 100, &produce, &mut |_| panic!("sink panics"))
        }));
        assert!(result.is_err());
    }

    #[test]
    fn declines_on_a_worker_of_the_pool() {
        let pool = pool(2);
        let declined =
            pool.install(|| unordered(Some(&pool), 3, &produce, &mut |_| Ok(true)).is_none());
        assert!(declined);
    }
}
