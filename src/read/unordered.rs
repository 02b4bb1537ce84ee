//! Row groups decoded in parallel on rayon, their batches handed to the caller as they come,
//! in no particular order: for scans that do not need row order kept
//! ([`Scan::keep_order(false)`](super::Scan::keep_order)).
//!
//! Keeping order makes every task but the one at the head buffer its batches until the caller
//! reaches it; those batches are fresh memory the allocator must fault in, which on two
//! threads cost as much as the second thread gained. Here the caller takes whatever is ready,
//! so batches are dropped soon after they are made and their memory is reused.
//!
//! Why it cannot deadlock: producers block only on a full channel, which the caller drains
//! until every producer is done; when the caller stops early it drops the channel, and every
//! blocked or later send fails, which ends its producer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;

use super::ordered::{produce_grouped, Producer};
use crate::Result;

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
    let (on_worker, threads) = match pool {
        Some(pool) => (
            pool.current_thread_index().is_some(),
            pool.current_num_threads(),
        ),
        None => (
            rayon::current_thread_index().is_some(),
            rayon::current_num_threads(),
        ),
    };
    if on_worker {
        return None;
    }
    let stopped = AtomicBool::new(false);
    let threads = threads.max(1);
    Some(match pool {
        Some(pool) => {
            pool.in_place_scope_fifo(|scope| run(scope, &stopped, tasks, threads, produce, take))
        }
        None => {
            rayon::in_place_scope_fifo(|scope| run(scope, &stopped, tasks, threads, produce, take))
        }
    })
}

/// [`unordered`] inside its scope.
fn run<'scope, T: Send + 'scope>(
    scope: &rayon::ScopeFifo<'scope>,
    stopped: &'scope AtomicBool,
    tasks: usize,
    threads: usize,
    produce: &'scope Producer<'scope, T>,
    take: &mut dyn FnMut(T) -> Result<bool>,
) -> Result<()> {
    // Room for two groups a thread: producers run ahead a little, memory stays bounded.
    let (tx, rx) = sync_channel::<Result<Vec<T>>>(threads * 2);
    for task in 0..tasks {
        let tx = tx.clone();
        scope.spawn_fifo(move |_| {
            if stopped.load(Ordering::Relaxed) {
                return;
            }
            produce_grouped(task, produce, &mut |group| tx.send(group).is_ok());
        });
    }
    drop(tx);
    let mut drain = || {
        // Ends when every producer is done (all senders dropped).
        for group in rx.iter() {
            for item in group? {
                if !take(item)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    };
    let result = drain();
    // Tasks not started yet stay idle; running ones see their sends fail. A panic in `take`
    // drops the receiver while unwinding, to the same effect.
    stopped.store(true, Ordering::Relaxed);
    drop(rx);
    result
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
