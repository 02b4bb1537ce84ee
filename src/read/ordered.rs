//! Row groups decoded in parallel on rayon, their batches handed to the caller in row-group
//! order as they come.
//!
//! Collecting waves of whole row groups before handing any over held them all in memory and
//! faulted in fresh pages for each (a 2-thread projection ran slower than one thread). Here
//! each task streams into its own channel and the caller drains the channels in task order on
//! its own thread, so the row group at the head goes out while it decodes. A gate lets a task
//! start only while it is at most `ahead` tasks past the one being drained: memory holds at
//! most that many row groups, and the pool still decodes that many at once.
//!
//! Why it cannot deadlock: producers never block on the caller (the channels are unbounded),
//! only at the gate before starting, and the gate always admits the task the caller waits on.
//! Tasks are spawned FIFO, so that task is started before any later one takes a worker to
//! wait at the gate. The caller must not itself be a worker of the pool (it would wait on a
//! task that may need its thread): [`ordered`] returns `None` then, and the caller decodes
//! serially instead.

use std::sync::mpsc::{channel, Receiver};
use std::sync::{Condvar, Mutex};

use crate::{Error, Result};

/// Decodes task `n`, handing each item to `send` (false: the caller has stopped).
pub(crate) type Producer<'a, T> =
    dyn Fn(usize, &mut dyn FnMut(T) -> bool) -> Result<()> + Sync + 'a;

/// Runs `produce(task, send)` for tasks `0..tasks` on `pool` (rayon's global pool when
/// `None`), at most `ahead` tasks past the one being drained, and hands every item to `take`
/// in task order, on the calling thread. `send` returns false once the caller has stopped;
/// `take` returns false to stop early (tasks not yet started then do not start). The first
/// error, from either side, ends the run.
///
/// Returns `None` without running anything when called from a worker of the pool.
pub(crate) fn ordered<T: Send>(
    pool: Option<&rayon::ThreadPool>,
    tasks: usize,
    ahead: usize,
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
    let gate = Gate {
        head: Mutex::new(Some(0)),
        moved: Condvar::new(),
        ahead: ahead.max(1),
    };
    Some(match pool {
        Some(pool) => pool.in_place_scope_fifo(|scope| run(scope, &gate, tasks, produce, take)),
        None => rayon::in_place_scope_fifo(|scope| run(scope, &gate, tasks, produce, take)),
    })
}

/// The task the caller is draining (`None` once it has stopped), and who waits for it to move.
struct Gate {
    head: Mutex<Option<usize>>,
    moved: Condvar,
    ahead: usize,
}

impl Gate {
    /// Waits until `task` may start; false if the caller has stopped.
    fn admit(&self, task: usize) -> bool {
        let mut head = self.head.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match *head {
                None => return false,
                Some(h) if task < h + self.ahead => return true,
                Some(_) => head = self.moved.wait(head).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }

    fn set(&self, head: Option<usize>) {
        *self.head.lock().unwrap_or_else(|p| p.into_inner()) = head;
        self.moved.notify_all();
    }
}

/// Items a producer hands over at once: a message per item woke the caller for every batch,
/// and the thread switches cost more than decoding a small projection.
pub(crate) const GROUP: usize = 16;

/// Runs `produce(task)`, handing its items to `send_group` in groups of [`GROUP`] (it returns
/// false once the caller is gone), then the last group, then the task's error if it failed.
pub(crate) fn produce_grouped<T>(
    task: usize,
    produce: &Producer<'_, T>,
    send_group: &mut dyn FnMut(Result<Vec<T>>) -> bool,
) {
    let mut group = Vec::with_capacity(GROUP);
    let mut send = |item: T| {
        group.push(item);
        group.len() < GROUP || send_group(Ok(std::mem::take(&mut group)))
    };
    let result = produce(task, &mut send);
    if !group.is_empty() {
        send_group(Ok(group));
    }
    if let Err(e) = result {
        send_group(Err(e));
    }
}

/// [`ordered`] inside its scope.
fn run<'scope, T: Send + 'scope>(
    scope: &rayon::ScopeFifo<'scope>,
    gate: &'scope Gate,
    tasks: usize,
    produce: &'scope Producer<'scope, T>,
    take: &mut dyn FnMut(T) -> Result<bool>,
) -> Result<()> {
    // However this returns, even unwinding from a panic in `take`, the gate closes: producers
    // waiting at it would otherwise keep the scope from ever finishing.
    let _close = CloseOnDrop(gate);
    let mut receivers: Vec<Receiver<Result<Vec<T>>>> = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let (tx, rx) = channel::<Result<Vec<T>>>();
        receivers.push(rx);
        scope.spawn_fifo(move |_| {
            if !gate.admit(task) {
                return;
            }
            produce_grouped(task, produce, &mut |group| tx.send(group).is_ok());
        });
    }
    let mut drain = || {
        for (task, rx) in receivers.iter().enumerate() {
            gate.set(Some(task));
            // The channel closes when its task is done (its sender dropped).
            for group in rx.iter() {
                for item in group? {
                    if !take(item)? {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    };
    let result = drain();
    // Keep the remaining tasks from starting and make running ones see the caller gone,
    // before the scope waits for them.
    gate.set(None);
    drop(receivers);
    result
}

/// Closes the gate when dropped.
struct CloseOnDrop<'a>(&'a Gate);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(None);
    }
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
            ordered(Some(&pool), 40, threads + 1, &produce, &mut |x| {
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
        ordered(Some(&pool), 200, 3, &produce, &mut |_| {
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
        let err = ordered(Some(&pool), 10, 3, &failing, &mut |_| Ok(true))
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("bad row group"));
        let err = ordered(Some(&pool), 10, 3, &produce, &mut |_| {
            Err(Error::invalid("sink full"))
        })
        .unwrap()
        .unwrap_err();
        assert!(err.to_string().contains("sink full"));
    }

    #[test]
    fn a_panicking_sink_does_not_hang_the_scope() {
        let pool = pool(2);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ordered(Some(&pool), 50, 2, &produce, &mut |x| {
                if x == 203 {
                    panic!("sink failed");
                }
                Ok(true)
            })
        }));
        assert!(outcome.is_err());
    }

    #[test]
    fn declines_on_a_worker_of_the_pool() {
        let pool = pool(1);
        let inner = pool.install(|| ordered(Some(&pool), 3, 2, &produce, &mut |_| Ok(true)));
        assert!(inner.is_none());
    }
}
