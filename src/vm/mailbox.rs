//! The VM's control mailbox: many senders (readers, the Ctrl+C handler, the
//! launcher's stdin), one receiver (the tick loop), and a wait with a
//! deadline that sleeps on a futex at once. A channel that spins and yields
//! before it parks (as crossbeam's does) costs more than the tick itself at
//! model rates, since the tick loop waits once per tick.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// A queue of news with a blocking, deadline-bounded receive.
pub struct Mailbox<T> {
    items: Mutex<VecDeque<T>>,
    ready: Condvar,
}

impl<T> Mailbox<T> {
    /// A new, empty mailbox, shared.
    pub fn new() -> Arc<Self> {
        Arc::new(Mailbox {
            items: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
        })
    }

    /// Posts one item and wakes the receiver.
    pub fn send(&self, item: T) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        items.push_back(item);
        self.ready.notify_one();
    }

    /// The oldest item, waiting for one until `deadline`; `None` at the deadline.
    pub fn recv_deadline(&self, deadline: Instant) -> Option<T> {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(item) = items.pop_front() {
                return Some(item);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            items = match self.ready.wait_timeout(items, left) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// The oldest item, waiting as long as it takes.
    pub fn recv(&self) -> T {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(item) = items.pop_front() {
                return item;
            }
            items = self.ready.wait(items).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn items_come_out_in_order() {
        let m = Mailbox::new();
        m.send(1);
        m.send(2);
        assert_eq!(m.recv(), 1);
        assert_eq!(m.recv_deadline(Instant::now()), Some(2));
        assert_eq!(m.recv_deadline(Instant::now()), None);
    }

    #[test]
    fn a_wait_ends_at_its_deadline_or_at_the_first_item() {
        let m: Arc<Mailbox<u32>> = Mailbox::new();
        let t = Instant::now();
        assert_eq!(m.recv_deadline(t + Duration::from_millis(20)), None);
        assert!(t.elapsed() >= Duration::from_millis(20));
        let sender = Arc::clone(&m);
        let h = std::thread::spawn(move || sender.send(7));
        assert_eq!(
            m.recv_deadline(Instant::now() + Duration::from_secs(10)),
            Some(7)
        );
        h.join().unwrap();
    }
}
