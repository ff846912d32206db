//! The Lamport clock: pure integers, the two rules and nothing else.

/// A Lamport logical clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock(u64);

impl Clock {
    /// The current value.
    pub fn value(self) -> u64 {
        self.0
    }

    /// A local event (internal or send): `clock = clock + 1`. Returns the new value.
    pub fn local(&mut self) -> u64 {
        self.0 = self.0.saturating_add(1);
        self.0
    }

    /// A receive: `clock = max(clock, msg_clock) + 1`. Returns the new value.
    ///
    /// Saturates rather than wraps, so a hostile clock cannot turn time back.
    pub fn receive(&mut self, msg_clock: u64) -> u64 {
        self.0 = self.0.max(msg_clock).saturating_add(1);
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_events_count_up_from_zero() {
        let mut c = Clock::default();
        assert_eq!(c.value(), 0);
        assert_eq!(c.local(), 1);
        assert_eq!(c.local(), 2);
    }

    #[test]
    fn receive_jumps_past_a_later_clock() {
        let mut c = Clock::default();
        c.local();
        assert_eq!(c.receive(5), 6);
    }

    #[test]
    fn receive_of_an_older_clock_still_advances() {
        let mut c = Clock(10);
        assert_eq!(c.receive(3), 11);
        assert_eq!(c.receive(11), 12);
    }

    #[test]
    fn saturates_at_the_top() {
        let mut c = Clock::default();
        assert_eq!(c.receive(u64::MAX), u64::MAX);
        assert_eq!(c.local(), u64::MAX);
    }
}
