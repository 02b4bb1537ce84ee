//! Handing items between threads that all keep busy decoding: spin briefly, then sleep.
//!
//! A thread asleep on a channel is woken by the other side's next send or receive, and on a
//! virtual machine waking an idle CPU takes tens of microseconds, which a hand-over every few
//! hundred microseconds cannot afford: with plain blocking channels a 2-thread projection
//! split by columns ran from 0.9x to 1.7x as fast as one thread, depending on what ran
//! before it. Spinning first costs at most [`SPIN`] of one core per wait.

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

/// How long a thread spins for the other side of a hand-over before it sleeps.
pub(crate) const SPIN: Duration = Duration::from_micros(200);

/// The next item from `rx`, or `None` once its sender is gone.
pub(crate) fn receive<T>(rx: &Receiver<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            match rx.try_recv() {
                Ok(item) => return Some(item),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
        if start.elapsed() > SPIN {
            return rx.recv().ok();
        }
    }
}

/// Sends `item` on `tx`; false once the receiver is gone.
pub(crate) fn hand_over<T>(tx: &SyncSender<T>, mut item: T) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            match tx.try_send(item) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => item = back,
            }
            std::hint::spin_loop();
        }
        if start.elapsed() > SPIN {
            return tx.send(item).is_ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;

    #[test]
    fn items_arrive_in_order_and_the_ends_are_seen() {
        let (tx, rx) = sync_channel(1);
        let producer = std::thread::spawn(move || {
            for i in 0..1000 {
                assert!(hand_over(&tx, i));
            }
        });
        let got: Vec<i32> = std::iter::from_fn(|| receive(&rx)).collect();
        producer.join().unwrap();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
        // The receiver gone: the sender is told, after a full channel too.
        let (tx, rx) = sync_channel(1);
        assert!(hand_over(&tx, 1));
        drop(rx);
        assert!(!hand_over(&tx, 2));
    }

    #[test]
    fn a_slow_side_is_waited_for_past_the_spin() {
        let (tx, rx) = sync_channel(0);
        let producer = std::thread::spawn(move || {
            std::thread::sleep(SPIN * 5);
            hand_over(&tx, 7)
        });
        assert_eq!(receive(&rx), Some(7));
        assert!(producer.join().unwrap());
    }
}
