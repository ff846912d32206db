//! Pairs of events on different VMs: how many are concurrent, how many of
//! those Lamport's clocks order anyway ([`Pairs`]), and where the total order
//! by (clock, VM id) and the wall clock disagree ([`WallOrder`]). Counted
//! without enumerating pairs: forward-only cursors (see [`super`]). Pure.

use super::vclock::VectorClocks;

/// Pairs of events on different VMs, unordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pairs {
    /// All pairs of events on different VMs.
    pub cross: u64,
    /// Pairs neither of which happens before the other.
    pub concurrent: u64,
    /// Concurrent pairs with different Lamport clocks: Lamport's order puts
    /// one first though happens-before orders neither.
    pub concurrent_lamport_ordered: u64,
    /// Cross-VM pairs with different Lamport clocks (the pairs Lamport's
    /// clocks order at all).
    pub lamport_ordered: u64,
    /// Pairs a -> b with L(a) >= L(b): the logged clocks break Lamport's
    /// clock condition (never in a lawful run).
    pub clock_condition_broken: u64,
}

/// The total order by (Lamport clock, VM id) against wall-clock order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WallOrder {
    /// Pairs the total order puts one way and the wall clock the other (equal
    /// times are no disagreement). Always pairs on different VMs.
    pub disagreements: u64,
    /// The largest wall-time gap of such a pair, microseconds.
    pub max_gap_us: i64,
}

/// Counts from one walk of VM i's events against VM j's.
#[derive(Debug, Clone, Copy, Default)]
struct Walk {
    concurrent: u64,
    concurrent_equal: u64,
    equal: u64,
    broken: u64,
    disagreements: u64,
    max_gap_us: i64,
}

impl Walk {
    fn add(&mut self, o: Walk) {
        self.concurrent += o.concurrent;
        self.concurrent_equal += o.concurrent_equal;
        self.equal += o.equal;
        self.broken += o.broken;
        self.disagreements += o.disagreements;
        self.max_gap_us = self.max_gap_us.max(o.max_gap_us);
    }
}

/// Forward-only positions in VM j's events while VM i's are walked.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    /// First event of j that event a happens before (its entry for i >= a's index).
    after: usize,
    /// Events of j with a smaller Lamport clock than a's.
    lower: usize,
    /// Events of j with a wall time at or before a's.
    earlier: usize,
}

impl VectorClocks {
    /// The pair figures and the wall-order disagreements of the run.
    pub fn pairs(&self) -> (Pairs, WallOrder) {
        let n = self.n();
        let mut total = Walk::default();
        for i in 0..n {
            for j in (0..n).filter(|&j| j != i) {
                total.add(self.walk(i, j));
            }
        }
        let counts: Vec<u64> = (0..n).map(|i| self.count(i) as u64).collect();
        let all: u64 = counts.iter().sum();
        let cross = (all * all - counts.iter().map(|c| c * c).sum::<u64>()) / 2;
        let pairs = Pairs {
            cross,
            concurrent: total.concurrent / 2,
            concurrent_lamport_ordered: (total.concurrent - total.concurrent_equal) / 2,
            lamport_ordered: cross - total.equal / 2,
            clock_condition_broken: total.broken,
        };
        let order = WallOrder {
            disagreements: total.disagreements,
            max_gap_us: total.max_gap_us,
        };
        (pairs, order)
    }

    /// Every event a of VM i against the events of VM j. Concurrent and
    /// equal-clock pairs are counted from both ends (halved by the caller);
    /// broken clock conditions from the later event, disagreements from the
    /// event the total order puts later.
    fn walk(&self, i: usize, j: usize) -> Walk {
        let mut w = Walk::default();
        let mut c = Cursor::default();
        for a in self.first[i]..self.first[i + 1] {
            self.step(&mut c, a, i, j);
            self.count_pair(&mut w, &c, a, i, j);
        }
        w
    }

    /// Moves the cursor into VM j on to event a (on VM i).
    fn step(&self, c: &mut Cursor, a: usize, i: usize, j: usize) {
        let (first, nj) = (self.first[j], self.count(j));
        let index = a - self.first[i] + 1;
        while c.after < nj && self.entry(first + c.after, i) < index {
            c.after += 1;
        }
        while c.lower < nj && self.lamport[first + c.lower] < self.lamport[a] {
            c.lower += 1;
        }
        while c.earlier < nj && self.time_us[first + c.earlier] <= self.time_us[a] {
            c.earlier += 1;
        }
    }

    fn count_pair(&self, w: &mut Walk, c: &Cursor, a: usize, i: usize, j: usize) {
        let first = self.first[j];
        let equal = c.lower < self.count(j) && self.lamport[first + c.lower] == self.lamport[a];
        let before = self.entry(a, j);
        let after = c.after.max(before);
        w.concurrent += (after - before) as u64;
        w.equal += u64::from(equal);
        w.concurrent_equal += u64::from(equal && (before..after).contains(&c.lower));
        w.broken += before.saturating_sub(c.lower) as u64;
        // Events of j the total order puts before a: clock below a's, or equal
        // with a lower VM id. Those later than a by the wall clock disagree.
        let ahead = c.lower + usize::from(equal && self.vms[j] < self.vms[i]);
        if ahead > c.earlier {
            w.disagreements += (ahead - c.earlier) as u64;
            let gap = self.time_us[first + ahead - 1] - self.time_us[a];
            w.max_gap_us = w.max_gap_us.max(gap);
        }
    }
}
