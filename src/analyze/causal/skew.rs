//! What lying clocks do to the wall-time view of a run ([`Clocks`]): the
//! receives that, by the VMs' own clocks, come before their send; the pairs
//! a -> b that the wall clock puts the other way round, on the times as
//! logged and on true time (recovered through [`crate::run::clock`]); the
//! clock uncertainty epsilon from the `start` lines; and the hybrid logical
//! clock's figures ([`super::hlc`]) against it. On a run without
//! `--clock-skew` or `--clock-drift` the logged times are the true ones.
//! Counted without enumerating pairs, like [`super::pairs`]. Pure.

use super::hlc::HlcFigures;
use super::vclock::VectorClocks;

/// The wall clocks of a run against happens-before.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Clocks {
    /// Whether any `start` line has a clock that lies.
    pub skewed: bool,
    /// Per VM (in the order of [`super::Causal::vms`]): its `clock_skew_us`
    /// and its `clock_drift_ppm` in parts per billion, `None` when not logged.
    pub per_vm: Vec<(Option<i64>, Option<i64>)>,
    /// The largest Lamport clock of the run, and the run's length in true
    /// microseconds (from the common start to the last line): Lamport's
    /// growth, beside the hybrid clock's bounded offset.
    pub lamport_max: u64,
    pub span_us: i64,
    /// Delivered messages whose receive's logged time is before its send's.
    pub before_send: u64,
    /// The largest such gap (send's time - receive's), microseconds.
    pub before_send_max_us: i64,
    /// The same on true time (0 unless the logs are damaged).
    pub before_send_true: u64,
    /// Pairs a -> b on different VMs with b's logged time before a's.
    pub hb_inverted: u64,
    /// The largest such gap, microseconds.
    pub hb_inverted_max_us: i64,
    /// The same on true time.
    pub hb_inverted_true: u64,
    /// The clock uncertainty: the largest difference of two VMs' clocks at
    /// any instant of the run, from the `start` lines, microseconds.
    pub epsilon_us: i64,
    /// `None` without events.
    pub hlc: Option<HlcFigures>,
    /// Events whose `l - pt` exceeds `epsilon_us` by more than 1 µs of
    /// rounding (the paper's bound broken: never, with clocks as modelled).
    pub hlc_beyond_epsilon: u64,
}

impl VectorClocks {
    /// Pairs a -> b on different VMs with `times[b] < times[a]` (`times`
    /// aligned with the events, rising along each VM), and the largest gap.
    pub fn hb_inverted(&self, times: &[i64]) -> (u64, i64) {
        let n = self.n();
        let (mut count, mut max_gap) = (0u64, 0i64);
        for i in 0..n {
            for j in (0..n).filter(|&j| j != i) {
                let (first, nj) = (self.first[j], self.count(j));
                // `after`: first event of j that a happens before; `earlier`:
                // events of j logged strictly before a. Both only move on.
                let (mut after, mut earlier) = (0, 0);
                for a in self.first[i]..self.first[i + 1] {
                    let index = a - self.first[i] + 1;
                    while after < nj && self.entry(first + after, i) < index {
                        after += 1;
                    }
                    while earlier < nj && times[first + earlier] < times[a] {
                        earlier += 1;
                    }
                    if earlier > after {
                        count += (earlier - after) as u64;
                        max_gap = max_gap.max(times[a] - times[first + after]);
                    }
                }
            }
        }
        (count, max_gap)
    }
}

/// Messages whose receive is at `times` before its send: (count, largest
/// gap); `sends[i][p]` is event p of VM index i's send (per VM, as
/// [`super::vclock::sends_of`] gives them), `first` the events' offsets.
pub fn before_send(
    sends: &[Vec<Option<(usize, usize)>>],
    first: &[usize],
    times: &[i64],
) -> (u64, i64) {
    let (mut count, mut max_gap) = (0u64, 0i64);
    for (i, deps) in sends.iter().enumerate() {
        for (p, dep) in deps.iter().enumerate() {
            if let Some((g, q)) = dep {
                let gap = times[first[*g] + q] - times[first[i] + p];
                if gap > 0 {
                    count += 1;
                    max_gap = max_gap.max(gap);
                }
            }
        }
    }
    (count, max_gap)
}

impl Clocks {
    /// Lamport's largest clock per minute of the run; `None` for a run of no length.
    pub fn lamport_per_min(&self) -> Option<f64> {
        (self.span_us > 0).then(|| self.lamport_max as f64 * 60e6 / self.span_us as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::History;

    #[test]
    fn inversions_count_pairs_the_wall_clock_puts_backwards() {
        // 1: a(0) send(10); 2: receive(20) b(30); 3: c(40) takes nothing.
        let mut h = History::new(3);
        h.internal(1, 0)
            .send(1, &[2], 10)
            .receive(2, 1, 20)
            .internal(2, 30);
        h.internal(3, 40);
        let logs = h.logs(50);
        let vc = VectorClocks::of(&logs);
        let mut times: Vec<i64> = vec![0, 10, 20, 30, 40];
        assert_eq!(vc.hb_inverted(&times), (0, 0));
        // VM 2's clock 15 behind: its receive at 5, b at 15: a -> recv is
        // fine (0 < 5), send(10) -> recv(5) and send(10) -> b? 15 > 10 fine.
        times[2] = 5;
        times[3] = 15;
        assert_eq!(vc.hb_inverted(&times), (1, 5));
        // 25 behind: recv at -5 and b at 5: a and send precede both.
        times[2] = -5;
        times[3] = 5;
        assert_eq!(vc.hb_inverted(&times), (3, 15));
        let index = crate::run::messages::Index::of(&logs);
        let sends = super::super::vclock::sends_of(&logs, &index);
        let first = [0, 2, 4, 5];
        assert_eq!(before_send(&sends, &first, &times), (1, 15));
        assert_eq!(before_send(&sends, &first, &[0, 10, 20, 30, 40]), (0, 0));
    }
}
