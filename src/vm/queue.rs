//! The network queue between the net thread and the tick loop, and the
//! delay line of `--delay`.
//!
//! The net thread stamps each message with the instant it reaches the queue:
//! the moment it was read off the socket, plus the link's [`DelayLine`] draw
//! when `--delay` is set. The tick loop takes messages in that order once
//! their instant has come, so a delayed message is simply not on the queue
//! yet. Because the queue is only ever looked at on a tick, this is exact:
//! no timer has to fire when a delayed message lands.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::sync::mpsc::{Receiver, Sender};

use crate::params::DelayRange;

/// A message on (or on its way to) the network queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Queued {
    pub from: u32,
    pub sent_tick: u64,
    pub msg_clock: u64,
    /// When it reaches the queue: read off the socket, plus any `--delay`.
    pub arrived: Instant,
}

/// A new queue: the net thread's end and the tick loop's end.
pub fn channel() -> (QueueTx, NetQueue) {
    let (tx, rx) = std::sync::mpsc::channel();
    let held = Arc::new(AtomicUsize::new(0));
    let sender = QueueTx {
        tx,
        held: Arc::clone(&held),
    };
    let queue = NetQueue {
        rx,
        held,
        seq: 0,
        in_flight: BinaryHeap::new(),
        ready: VecDeque::new(),
    };
    (sender, queue)
}

/// The net thread's end of the queue.
pub struct QueueTx {
    tx: Sender<Queued>,
    held: Arc<AtomicUsize>,
}

impl QueueTx {
    /// Puts a message on its way; false if the VM is gone.
    pub fn push(&self, q: Queued) -> bool {
        self.held.fetch_add(1, Ordering::SeqCst);
        self.tx.send(q).is_ok()
    }

    /// Messages held by the VM and not yet taken, delayed ones included.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }
}

/// The tick loop's end: messages in the order they reach the queue.
pub struct NetQueue {
    rx: Receiver<Queued>,
    held: Arc<AtomicUsize>,
    /// Ties of `arrived` keep the order the net thread pushed them in.
    seq: u64,
    /// Delayed messages that have not landed yet, by landing instant.
    in_flight: BinaryHeap<Reverse<(Instant, u64, Queued)>>,
    /// On the queue at the last look, oldest first.
    ready: VecDeque<Queued>,
}

impl NetQueue {
    /// At `now`: the oldest message on the queue, if any, and how many are
    /// still on it after that one.
    pub fn take(&mut self, now: Instant) -> (Option<Queued>, usize) {
        self.land(now);
        let msg = self.ready.pop_front();
        if msg.is_some() {
            self.held.fetch_sub(1, Ordering::SeqCst);
        }
        (msg, self.ready.len())
    }

    /// How many messages are on the queue at `now`.
    pub fn len_at(&mut self, now: Instant) -> usize {
        self.land(now);
        self.ready.len()
    }

    /// Everything the VM holds, on the queue or still delayed, in the order
    /// it reaches (or would reach) the queue: what a stopping VM logs as
    /// `pending`.
    pub fn drain_all(&mut self) -> Vec<Queued> {
        self.land(Instant::now());
        let mut all: Vec<Queued> = self.ready.drain(..).collect();
        while let Some(Reverse((_, _, q))) = self.in_flight.pop() {
            all.push(q);
        }
        self.held.fetch_sub(all.len(), Ordering::SeqCst);
        all
    }

    /// Moves what the net thread sent, and what has landed by `now`, to `ready`.
    fn land(&mut self, now: Instant) {
        while let Ok(q) = self.rx.try_recv() {
            if q.arrived <= now {
                self.enqueue(q);
            } else {
                self.seq += 1;
                self.in_flight.push(Reverse((q.arrived, self.seq, q)));
            }
        }
        while let Some(Reverse((at, _, _))) = self.in_flight.peek() {
            if *at > now {
                break;
            }
            if let Some(Reverse((_, _, q))) = self.in_flight.pop() {
                self.enqueue(q);
            }
        }
    }

    /// Puts a landed message on the queue in landing order. Without
    /// `--delay` that is always the back; with it, messages of different
    /// links can land in another order than they were read.
    fn enqueue(&mut self, q: Queued) {
        let at = self.ready.partition_point(|r| r.arrived <= q.arrived);
        self.ready.insert(at, q);
    }
}

/// One link's delays (sender -> this VM): drawn from the run's seed in the
/// order the link's messages arrive, never letting a message overtake the
/// one before it (per-link FIFO, as TCP would keep it).
#[derive(Debug)]
pub struct DelayLine {
    range: DelayRange,
    rng: StdRng,
    last: Option<Instant>,
}

impl DelayLine {
    /// The delay line of the link `from -> to` in a run with `seed`.
    pub fn new(range: DelayRange, seed: u64, from: u32, to: u32) -> Self {
        let link = (u64::from(from) << 32) | u64::from(to);
        let mix = link.wrapping_mul(0xD6E8_FEB8_6659_FD93).rotate_left(29);
        DelayLine {
            range,
            rng: StdRng::seed_from_u64(seed ^ mix ^ 0xA076_1D64_78BD_642F),
            last: None,
        }
    }

    /// When a message read off the socket at `read` reaches the queue.
    pub fn land(&mut self, read: Instant) -> Instant {
        let us = self.rng.random_range(self.range.min_us..=self.range.max_us);
        let at = read + Duration::from_micros(us);
        let at = self.last.map_or(at, |last| at.max(last));
        self.last = Some(at);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(from: u32, tick: u64, arrived: Instant) -> Queued {
        Queued {
            from,
            sent_tick: tick,
            msg_clock: tick,
            arrived,
        }
    }

    #[test]
    fn without_delay_messages_come_out_in_arrival_order_with_the_length_left() {
        let (tx, mut q) = channel();
        let t = Instant::now();
        assert!(tx.push(msg(2, 1, t)));
        assert!(tx.push(msg(3, 1, t)));
        assert!(tx.push(msg(2, 2, t)));
        assert_eq!(tx.held(), 3);
        let (m, left) = q.take(t);
        assert_eq!((m.map(|m| (m.from, m.sent_tick)), left), (Some((2, 1)), 2));
        assert_eq!(q.take(t).0.map(|m| m.from), Some(3));
        assert_eq!(tx.held(), 1);
        assert_eq!(q.take(t).0.map(|m| m.sent_tick), Some(2));
        assert_eq!(q.take(t), (None, 0));
        assert_eq!(tx.held(), 0);
    }

    #[test]
    fn a_delayed_message_is_not_on_the_queue_before_it_lands() {
        let (tx, mut q) = channel();
        let t = Instant::now();
        let ms = Duration::from_millis;
        tx.push(msg(2, 1, t + ms(30)));
        tx.push(msg(3, 1, t + ms(10)));
        assert_eq!(q.take(t), (None, 0));
        assert_eq!(q.take(t + ms(10)).0.map(|m| m.from), Some(3));
        assert_eq!(q.take(t + ms(20)), (None, 0));
        let (m, left) = q.take(t + ms(40));
        assert_eq!((m.map(|m| m.arrived), left), (Some(t + ms(30)), 0));
    }

    #[test]
    fn messages_of_different_links_come_out_in_landing_order() {
        let (tx, mut q) = channel();
        let t = Instant::now();
        let ms = Duration::from_millis;
        // Read in this order, but delayed so they land 5, 20 and 3 ms in.
        tx.push(msg(2, 1, t + ms(5)));
        tx.push(msg(3, 1, t + ms(20)));
        tx.push(msg(4, 1, t + ms(3)));
        let order: Vec<u32> = (0..3)
            .filter_map(|_| q.take(t + ms(30)).0)
            .map(|m| m.from)
            .collect();
        assert_eq!(order, [4, 2, 3]);
    }

    #[test]
    fn a_stopping_vm_gets_everything_held_delayed_or_not() {
        let (tx, mut q) = channel();
        let t = Instant::now();
        tx.push(msg(2, 1, t + Duration::from_secs(5)));
        tx.push(msg(3, 1, t));
        let all: Vec<u32> = q.drain_all().iter().map(|m| m.from).collect();
        assert_eq!(all, [3, 2]);
        assert_eq!(tx.held(), 0);
    }

    #[test]
    fn delays_stay_in_range_keep_fifo_and_repeat_with_the_seed() {
        let range = DelayRange {
            min_us: 1_000,
            max_us: 50_000,
        };
        let t = Instant::now();
        let draw = |seed| {
            let mut line = DelayLine::new(range, seed, 2, 1);
            (0..200u64)
                .map(|i| line.land(t + Duration::from_micros(i * 100)))
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        assert_ne!(a, draw(8));
        assert!(a.windows(2).all(|w| w[0] <= w[1]), "FIFO per link");
        for (i, at) in a.iter().enumerate() {
            let read = t + Duration::from_micros(i as u64 * 100);
            assert!(*at >= read + Duration::from_micros(1_000));
        }
        let mut other = DelayLine::new(range, 7, 3, 1);
        assert_ne!(other.land(t), draw(7)[0], "each link its own stream");
    }
}
