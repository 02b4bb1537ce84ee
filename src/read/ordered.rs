//! Row groups decoded in parallel on rayon, their batches handed to the caller in row-group
//! order as they come.
//!
//! Collecting waves of whole row groups before handing any over held them all in memory and
//! faulted in fresh pages for each (a 2-thread projection ran slower than one thread). Here
//! each worker task streams into its own channel and the caller drains the channels in task
//! order, so the row group at the head goes out while it decodes. A gate lets a task start
//! only while it is at most `ahead` tasks past the one being drained: memory holds at most
//! that many row groups.
//!
//! The caller decodes too: every `threads`-th task (the first, then every `threads`-th after
//! it) it decodes itself when it reaches it, straight to `take`, and `threads - 1` workers
//! claim the others in order. Its share is never handed between threads or held, and the
//! workers' runs ahead are ready when it gets to them. (With all tasks on the pool and the
//! caller only draining, a 2-thread projection held and handed over every batch, took 10x
//! the page faults of one thread and ran 1.40x faster than one thread; this way 1.60x.)
//!
//! Why it cannot deadlock: producers never block on the caller (the channels are unbounded),
//! only at the gate before starting, and the gate always admits the task the caller waits on.
//! Workers claim their tasks in order, so that task is claimed before any later one makes a
//! worker wait at the gate. The caller must not itself be a worker of the pool (it would wait
//! on a task that may need its thread): [`ordered`] returns `None` then, and the caller
//! decodes serially instead.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Condvar, Mutex};

use crate::{Error, Result};

/// Decodes task `n`, handing each item to `send` (false: the caller has stopped).
pub(crate) type Producer<'a, T> =
    dyn Fn(usize, &mut dyn FnMut(T) -> bool) -> Result<()> + Sync + 'a;

/// Runs `produce(task, send)` for tasks `0..tasks` on the calling thread and the workers of
/// `pool` (rayon's global pool when `None`; see [`Share`] for who runs which), at most `ahead`
/// tasks past the one being drained, and hands every item to `take` in task order, on the
/// calling thread. `send` returns false once the caller has stopped;
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
    let (on_worker, threads) = placement(pool);
    if on_worker {
        return None;
    }
    let gate = Gate {
        head: Mutex::new(Some(0)),
        moved: Condvar::new(),
        ahead: ahead.max(1),
    };
    let (share, receivers) = Share::new(tasks, threads);
    Some(match pool {
        Some(pool) => {
            pool.in_place_scope_fifo(|scope| run(scope, &gate, &share, receivers, produce, take))
        }
        None => {
            rayon::in_place_scope_fifo(|scope| run(scope, &gate, &share, receivers, produce, take))
        }
    })
}

/// What a worker hands over at once: up to [`GROUP`] items, or its task's error.
type Group<T> = Result<Vec<T>>;

/// Who decodes which task: the caller every `threads`-th (from the first), handing nothing
/// over, and `threads - 1` workers the others in turn, each into the task's channel.
struct Share<T> {
    tasks: usize,
    threads: usize,
    /// The next of the workers' tasks to claim, counted among theirs only.
    next: AtomicUsize,
    /// The sending end of each worker task's channel, taken by the worker that claims it.
    senders: Vec<Mutex<Option<Sender<Group<T>>>>>,
}

impl<T> Share<T> {
    /// The share, and the receiving end of each task's channel (`None`: the caller's task).
    fn new(tasks: usize, threads: usize) -> (Self, Vec<Option<Receiver<Group<T>>>>) {
        let threads = threads.max(1);
        let callers = |task: usize| threads > 1 && task.is_multiple_of(threads);
        let (senders, receivers) = (0..tasks)
            .map(|task| {
                if callers(task) {
                    (Mutex::new(None), None)
                } else {
                    let (tx, rx) = channel();
                    (Mutex::new(Some(tx)), Some(rx))
                }
            })
            .unzip();
        let share = Share {
            tasks,
            threads,
            next: AtomicUsize::new(0),
            senders,
        };
        (share, receivers)
    }

    fn workers(&self) -> usize {
        (self.threads - 1).max(1)
    }

    /// The next workers' task, if any is left: the k-th task not the caller's.
    fn claim(&self) -> Option<usize> {
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        let task = match self.threads {
            1 => k,
            n => k + k / (n - 1) + 1,
        };
        (task < self.tasks).then_some(task)
    }
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

/// Whether this thread is a worker of `pool` (rayon's global pool when `None`), and how many
/// threads the pool has.
pub(crate) fn placement(pool: Option<&rayon::ThreadPool>) -> (bool, usize) {
    match pool {
        Some(pool) => (
            pool.current_thread_index().is_some(),
            pool.current_num_threads(),
        ),
        None => (
            rayon::current_thread_index().is_some(),
            rayon::current_num_threads(),
        ),
    }
}

/// Runs `produce(task)` on this thread, every item going straight to `take`. Returns whether
/// to go on (false once `take` stopped: the producer's error then is only that), or the first
/// error from either side.
pub(crate) fn produce_into<T>(
    task: usize,
    produce: &Producer<'_, T>,
    take: &mut dyn FnMut(T) -> Result<bool>,
) -> Result<bool> {
    let (mut going, mut failed) = (true, None);
    let result = produce(task, &mut |item| match take(item) {
        Ok(more) => {
            going = more;
            more
        }
        Err(e) => {
            failed = Some(e);
            going = false;
            false
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if going {
        result?;
    }
    Ok(going)
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
    share: &'scope Share<T>,
    receivers: Vec<Option<Receiver<Group<T>>>>,
    produce: &'scope Producer<'scope, T>,
    take: &mut dyn FnMut(T) -> Result<bool>,
) -> Result<()> {
    // However this returns, even unwinding from a panic in `take`, the gate closes: producers
    // waiting at it would otherwise keep the scope from ever finishing.
    let _close = CloseOnDrop(gate);
    for _ in 0..share.workers().min(share.tasks) {
        scope.spawn_fifo(move |_| {
            // Tasks are claimed in order, so the one the caller waits on is always claimed
            // before any later one makes a worker wait at the gate.
            while let Some(task) = share.claim() {
                if !gate.admit(task) {
                    return;
                }
                let tx = share.senders[task]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take();
                if let Some(tx) = tx {
                    produce_grouped(task, produce, &mut |group| tx.send(group).is_ok());
                }
            }
        });
    }
    let mut drain = || {
        for (task, rx) in receivers.iter().enumerate() {
            gate.set(Some(task));
            match rx {
                // The caller's own task: decoded here, straight to `take`.
                None => {
                    if !produce_into(task, produce, take)? {
                        return Ok(());
                    }
                }
                // The channel closes when its task is done (its sender dropped).
                Some(rx) => {
                    for group in rx.iter() {
                        for item in group? {
                            if !take(item)? {
                                return Ok(());
                            }
                        }
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
        // With 2 and 3 threads, task 4 is the caller's own or a worker's; task 3 the other.
        for threads in [2, 3] {
            let pool = pool(threads);
            for bad in [3, 4] {
                let failing = |t: usize, send: &mut dyn FnMut(usize) -> bool| {
                    if t == bad {
                        return Err(Error::corrupt("bad row group"));
                    }
                    produce(t, send)
                };
                let mut got = Vec::new();
                let err = ordered(Some(&pool), 10, 3, &failing, &mut |x| {
                    got.push(x);
                    Ok(true)
                })
                .unwrap()
                .unwrap_err();
                assert!(err.to_string().contains("bad row group"));
                // Everything before the failed task came out, nothing after it.
                assert!(got.iter().all(|x| x / 100 < bad), "{got:?}");
                assert_eq!(got.len(), (0..bad).map(|t| (t % 7) * 3).sum::<usize>());
            }
            let err = ordered(Some(&pool), 10, 3, &produce, &mut |_| {
                Err(Error::invalid("sink full"))
            })
            .unwrap()
            .unwrap_err();
            assert!(err.to_string().contains("sink full"));
        }
    }

    #[test]
    fn the_caller_decodes_its_share_on_its_own_thread() {
        let pool = pool(2);
        let caller = std::thread::current().id();
        let on = |t: usize, send: &mut dyn FnMut(std::thread::ThreadId) -> bool| {
            for _ in 0..3 {
                if !send(std::thread::current().id()) {
                    return Err(stopped());
                }
            }
            let _ = t;
            Ok(())
        };
        let mut threads = Vec::new();
        ordered(Some(&pool), 8, 3, &on, &mut |id| {
            threads.push(id);
            Ok(true)
        })
        .unwrap()
        .unwrap();
        // Tasks 0, 2, 4, 6 on the caller's thread; 1, 3, 5, 7 on the pool's.
        for (task, ids) in threads.chunks(3).enumerate() {
            assert!(
                ids.iter().all(|id| (*id == caller) == (task % 2 == 0)),
                "task {task}"
            );
        }
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
