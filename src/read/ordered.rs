//! Row groups decoded in parallel on rayon, their batches handed to the caller in row-group
//! order through small bounded channels.
//!
//! Collecting whole row groups before handing them over held a wave of row groups in memory
//! and faulted in fresh pages for each (a 2-thread projection ran slower than one thread).
//! Here each task streams into its own channel of a few batches; the caller drains the
//! channels in task order on its own thread while the pool decodes the next tasks.
//!
//! Why it cannot deadlock: tasks are spawned FIFO from outside the pool, so a task starts only
//! after every earlier one has started; the caller always drains the earliest unfinished
//! task, which is therefore running (or done) and never waits on a later one. A producer
//! blocked on a full channel of a later task holds a worker, not the earliest task. The caller
//! must not itself be a worker of the pool (it would block a worker on the channels):
//! [`ordered`] returns `None` then, and the caller decodes serially instead.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};

use crate::{Error, Result};

/// Decodes task `n`, handing each item to `send` (false: the caller has stopped).
pub(crate) type Producer<'a, T> =
    dyn Fn(usize, &mut dyn FnMut(T) -> bool) -> Result<()> + Sync + 'a;

/// Items buffered per task between its producer and the caller.
const IN_FLIGHT: usize = 4;

/// Runs `produce(task, send)` for tasks `0..tasks` on `pool` (rayon's global pool when
/// `None`) and hands every item to `take` in task order, on the calling thread. `send`
/// returns false once the caller has stopped; `take` returns false to stop early (tasks not
/// yet started then do not start). The first error, from either side, ends the run.
///
/// Returns `None` without running anything when called from a worker of the pool.
pub(crate) fn ordered<T: Send>(
    pool: Option<&rayon::ThreadPool>,
    tasks: usize,
    produce: &Producer<'_, T>,
    take: &mut dyn FnMut(T) -> Result<bool>,
) -> Option<Result<()>> {
    let on_worker = match pool {
        Some(pool) => pool.current_thread_index().is_some(),
        None => rayon::current_thread_index().is_some(),
    };
    if on_worker {
        return None;
    }
    let stop = AtomicBool::new(false);
    Some(match pool {
        Some(pool) => pool.in_place_scope_fifo(|scope| run(scope, &stop, tasks, produce, take)),
        None => rayon::in_place_scope_fifo(|scope| run(scope, &stop, tasks, produce, take)),
    })
}

/// [`ordered`] inside its scope.
fn run<'scope, T: Send + 'scope>(
    scope: &rayon::ScopeFifo<'scope>,
    stop: &'scope AtomicBool,
    tasks: usize,
    produce: &'scope Producer<'scope, T>,
    take: &mut dyn FnMut(T) -> Result<bool>,
) -> Result<()> {
    let mut receivers: Vec<Receiver<Result<T>>> = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let (tx, rx) = sync_channel::<Result<T>>(IN_FLIGHT);
        receivers.push(rx);
        scope.spawn_fifo(move |_| {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let mut send = |item: T| tx.send(Ok(item)).is_ok();
            if let Err(e) = produce(task, &mut send) {
                let _ = tx.send(Err(e));
            }
        });
    }
    let mut drain = || {
        for rx in &receivers {
            // The channel closes when its task is done (its sender dropped).
            for item in rx.iter() {
                if !take(item?)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    };
    let result = drain();
    // Wake producers blocked on full channels and keep the rest from starting, before the
    // scope waits for them.
    stop.store(true, Ordering::Relaxed);
    drop(receivers);
    result
}

/// The error a producer returns when its `send` reports the caller gone; never seen by the
/// caller, who stopped reading.
pub(crate) fn stopped() -> Error {
    Error::internal("scan stopped by its reader")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    }

    /// Task t yields t*100 .. t*100 + len(t).
    fn produce(t: usize, send: &mut dyn FnMut(usize) -> bool) -> Result<()> {
        for i in 0..(t % 7) * 3 {
            if !send(t * 100 + i) {
                return Err(stopped());
            }
        }
        Ok(())
    }

    #[test]
    fn items_arrive_in_task_order() {
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            let mut got = Vec::new();
            ordered(Some(&pool), 40, &produce, &mut |x| {
                got.push(x);
                Ok(true)
            })
            .unwrap()
            .unwrap();
            let want: Vec<usize> = (0..40)
                .flat_map(|t| (0..(t % 7) * 3).map(move |i| t * 100 + i))
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn stopping_early_ends_without_deadlock() {
        let pool = pool(2);
        let mut got = 0;
        ordered(Some(&pool), 200, &produce, &mut |_| {
            got += 1;
            Ok(got < 10)
        })
        .unwrap()
        .unwrap();
        assert_eq!(got, 10);
    }

    #[test]
    fn errors_from_either_side_end_the_run() {
        let pool = pool(2);
        let failing = |t: usize, send: &mut dyn FnMut(usize) -> bool| {
            if t == 3 {
                return Err(Error::corrupt("bad row group"));
            }
            produce(t, send)
        };
        let err = ordered(Some(&pool), 10, &failing, &mut |_| Ok(true))
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("bad row group"));
        let err = ordered(Some(&pool), 10, &produce, &mut |_| {
            Err(Error::invalid("sink full"))
        })
        .unwrap()
        .unwrap_err();
        assert!(err.to_string().contains("sink full"));
    }

    #[test]
    fn declines_on_a_worker_of_the_pool() {
        let pool = pool(1);
        let inner = pool.install(|| ordered(Some(&pool), 3, &produce, &mut |_| Ok(true)));
        assert!(inner.is_none());
    }
}
