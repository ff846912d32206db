//! Happens-before rebuilt from the logs alone, and what Lamport clocks hide.
//! Pure: parsed lines in ([`Line`]), figures out; no files, no wall clock.
//!
//! The events are the tick events (`internal`, `send`, `receive`), one per
//! tick; `start`, `pending`, `peer_lost` and `stop` are bookkeeping. Event a
//! happens before b (a -> b) when a comes before b on one VM, or a is the send
//! a receive b took (matched by [`crate::run::messages`]: by `from` and
//! `sent_tick`, and only if that send went to b's VM), or by a chain of those.
//! [`VectorClocks::of`] derives a vector clock V for every event: `V(e)[j]` is
//! how many of VM j's events happen before e or are e. So VM i's own entry at
//! its k-th event is k, and a -> b exactly when V(a) < V(b).
//!
//! [`analyze`] then counts, without enumerating pairs (a run can hold a
//! million events): for event a on VM i and another VM j, the events of j
//! that happen before a are j's first `V(a)[j]`; those a happens before are the
//! suffix of j whose entry for i reaches a's index; the rest are concurrent
//! with a. Lamport clocks rise strictly along a VM, so within any stretch of
//! j the events with L(b) < L(a), = L(a), > L(a) are three runs, found by
//! pointers that only move forward as a moves along i.

use crate::logline::Line;
use crate::run::messages::Index;

/// The vector clocks of every tick event of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorClocks {
    /// VM ids in the order given; VM index i is entry i of every clock.
    pub vms: Vec<u32>,
    /// The events of VM index i are `first[i]..first[i + 1]`, in log order.
    first: Vec<usize>,
    /// Event e's clock is `entries[e * n..(e + 1) * n]` (n = number of VMs).
    entries: Vec<u32>,
    lamport: Vec<u64>,
    time_us: Vec<i64>,
    /// What matching the receives found.
    pub receives: Receives,
}

/// How the receives of a run were matched to their sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Receives {
    /// Receives with their send (an edge of happens-before).
    pub matched: u64,
    /// Receives whose send is not in the sender's log (a crashed sender's
    /// log cut short): no edge.
    pub unmatched: u64,
    /// Receives whose edge was dropped because the logs make a cycle of
    /// happens-before (never in a lawful run).
    pub in_cycle: u64,
    /// Matched receives whose send already happened before the receiver's
    /// previous event: the message brought no news. ShiViz, which draws
    /// arrows from vector clocks alone, draws none for them.
    pub no_news: u64,
}

/// One tick event while the clocks are built.
#[derive(Debug, Clone, Copy)]
struct Tick {
    lamport: u64,
    time_us: i64,
    /// A receive's send: (VM index, position in that VM's events).
    dep: Option<(usize, usize)>,
}

impl VectorClocks {
    /// The clocks of the tick events of `logs` (VM id, its lines).
    pub fn of(logs: &[(u32, Vec<Line>)]) -> VectorClocks {
        let (ticks, unmatched) = tick_events(logs);
        let mut b = Builder::new(&ticks);
        b.run();
        let mut vc = b.finish(&ticks);
        vc.vms = logs.iter().map(|(id, _)| *id).collect();
        vc.receives.unmatched = unmatched;
        vc
    }

    /// Number of VMs (entries per clock).
    pub fn n(&self) -> usize {
        self.vms.len()
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.lamport.len()
    }

    /// True when the run has no tick event.
    pub fn is_empty(&self) -> bool {
        self.lamport.is_empty()
    }

    /// The number of events of VM index `i`.
    pub fn count(&self, i: usize) -> usize {
        self.first[i + 1] - self.first[i]
    }

    /// The clock of the event at `pos` (0-based) of VM index `i`.
    pub fn clock(&self, i: usize, pos: usize) -> &[u32] {
        let e = self.first[i] + pos;
        &self.entries[e * self.n()..(e + 1) * self.n()]
    }

    fn entry(&self, e: usize, j: usize) -> usize {
        self.entries[e * self.n() + j] as usize
    }
}

/// Each VM's tick events with their receives' sends resolved, and how many
/// receives named no delivered message (no such send, or not addressed to
/// the receiver).
fn tick_events(logs: &[(u32, Vec<Line>)]) -> (Vec<Vec<Tick>>, u64) {
    let index = Index::of(logs);
    let mut unmatched = 0;
    let ticks = logs
        .iter()
        .map(|(id, lines)| {
            let ticks = lines.iter().filter_map(|l| tick_of(*id, l, &index));
            ticks
                .inspect(|(_, missing)| unmatched += u64::from(*missing))
                .map(|(t, _)| t)
                .collect()
        })
        .collect();
    (ticks, unmatched)
}

/// A tick event of VM `id`, and whether it is a receive that names no
/// delivered message.
fn tick_of(id: u32, line: &Line, index: &Index) -> Option<(Tick, bool)> {
    let (_, lamport) = line.event.tick_clock()?;
    let dep = index
        .taken_by(id, line)
        .map(|sent| sent.ok().map(|s| (s.log, s.send.pos)));
    let tick = Tick {
        lamport,
        time_us: line.time_us,
        dep: dep.flatten(),
    };
    Some((tick, dep.is_some_and(|d| d.is_none())))
}

/// Computes the clocks in an order where every receive comes after its
/// send: each VM advances while its next event's send is done, and a VM
/// that waits is woken when the VM it waits for moves on.
struct Builder<'a> {
    ticks: &'a [Vec<Tick>],
    first: Vec<usize>,
    entries: Vec<u32>,
    /// Events computed so far, per VM.
    done: Vec<usize>,
    /// The VMs waiting for each VM to move on.
    waiting: Vec<Vec<usize>>,
    ready: Vec<usize>,
    /// Positions of receives whose edge was dropped to break a cycle.
    dropped: Vec<(usize, usize)>,
    no_news: u64,
}

impl<'a> Builder<'a> {
    fn new(ticks: &'a [Vec<Tick>]) -> Self {
        let n = ticks.len();
        let mut first = vec![0; n + 1];
        for (i, t) in ticks.iter().enumerate() {
            first[i + 1] = first[i] + t.len();
        }
        Builder {
            ticks,
            entries: vec![0; first[n] * n],
            first,
            done: vec![0; n],
            waiting: vec![Vec::new(); n],
            ready: (0..n).rev().collect(),
            dropped: Vec::new(),
            no_news: 0,
        }
    }

    fn run(&mut self) {
        loop {
            while let Some(i) = self.ready.pop() {
                self.advance(i);
            }
            match (0..self.done.len()).find(|&i| self.waits_for(i).is_some()) {
                Some(i) => self.break_cycle(i),
                None => return,
            }
        }
    }

    /// The unfinished event VM `i`'s next event needs, if it must wait.
    fn waits_for(&self, i: usize) -> Option<(usize, usize)> {
        let pos = self.done[i];
        let tick = self.ticks[i].get(pos)?;
        match tick.dep {
            Some((g, q)) if q >= self.done[g] && !self.dropped.contains(&(i, pos)) => Some((g, q)),
            _ => None,
        }
    }

    /// Moves VM `i` on as far as it can, then wakes whoever waits for it.
    fn advance(&mut self, i: usize) {
        let start = self.done[i];
        while self.done[i] < self.ticks[i].len() {
            if let Some((g, _)) = self.waits_for(i) {
                self.waiting[g].push(i);
                break;
            }
            self.compute(i, self.done[i]);
            self.done[i] += 1;
        }
        if self.done[i] > start {
            let woken = std::mem::take(&mut self.waiting[i]);
            self.ready.extend(woken);
        }
    }

    /// Every VM left waits for another: follow the waits from `i` to a VM
    /// met twice (a cycle) and drop the edge of that VM's next event.
    fn break_cycle(&mut self, i: usize) {
        let mut seen = vec![false; self.done.len()];
        let mut at = i;
        while !seen[at] {
            seen[at] = true;
            at = self.waits_for(at).map_or(at, |(g, _)| g);
        }
        self.dropped.push((at, self.done[at]));
        self.ready.push(at);
    }

    /// The clock of event `pos` of VM `i`: its previous one's, its own entry
    /// counted, and the max with its send's.
    fn compute(&mut self, i: usize, pos: usize) {
        let n = self.done.len();
        let row = (self.first[i] + pos) * n;
        if pos > 0 {
            self.entries.copy_within(row - n..row, row);
        }
        self.entries[row + i] = (pos + 1) as u32;
        let dep = self.ticks[i][pos].dep;
        if let Some((g, q)) = dep.filter(|_| !self.dropped.contains(&(i, pos))) {
            let send = (self.first[g] + q) * n;
            self.no_news += u64::from(pos > 0 && self.entries[row + g] as usize > q);
            for k in 0..n {
                self.entries[row + k] = self.entries[row + k].max(self.entries[send + k]);
            }
        }
    }

    fn finish(self, ticks: &[Vec<Tick>]) -> VectorClocks {
        let all = || ticks.iter().flatten();
        let edges = all().filter(|t| t.dep.is_some()).count() as u64;
        let in_cycle = self.dropped.len() as u64;
        VectorClocks {
            vms: Vec::new(),
            first: self.first,
            entries: self.entries,
            lamport: all().map(|t| t.lamport).collect(),
            time_us: all().map(|t| t.time_us).collect(),
            receives: Receives {
                matched: edges - in_cycle,
                unmatched: 0,
                in_cycle,
                no_news: self.no_news,
            },
        }
    }
}

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

/// How stale VM i's knowledge of VM j is at a time t: j's own event count at
/// t minus i's vector entry for j at t (from i's last event at or before t),
/// in events; and its age, t minus the time of j's event number `V_i[j]` (the
/// run's start when i knows none of j's events). Both are taken at 0 when
/// host clock skew would make them negative.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stale {
    pub mean_events: f64,
    pub max_events: u64,
    pub mean_age_s: f64,
    pub max_age_s: f64,
}

/// Staleness sampled on a wall-time grid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Staleness {
    /// Grid spacing, seconds (the drift grid's).
    pub step_s: f64,
    /// Grid points sampled.
    pub samples: usize,
    /// `matrix[i][j]`: VM index i's knowledge of VM index j (`None` when i = j).
    pub matrix: Vec<Vec<Option<Stale>>>,
    /// Per VM i, over the other VMs: mean of the means, max of the maxima.
    pub per_vm: Vec<Stale>,
    /// Per VM i: (seconds since start, mean staleness over the other VMs, events).
    pub series: Vec<Vec<(f64, f64)>>,
}

/// Running sums for one (i, j).
#[derive(Debug, Clone, Copy, Default)]
struct StaleSum {
    events: u64,
    max_events: u64,
    age_us: i64,
    max_age_us: i64,
}

impl VectorClocks {
    /// Staleness every `step_s` seconds from `start_us` to `end_us`; `None`
    /// with fewer than two VMs or no grid point.
    pub fn staleness(&self, start_us: i64, end_us: i64, step_s: f64) -> Option<Staleness> {
        let step_us = (step_s * 1e6).round() as i64;
        if self.n() < 2 || end_us < start_us || step_us <= 0 {
            return None;
        }
        let n = self.n();
        let mut sums = vec![StaleSum::default(); n * n];
        let mut series = vec![Vec::new(); n];
        let mut seen = vec![0usize; n];
        let samples = ((end_us - start_us) / step_us + 1) as usize;
        for k in 0..samples {
            let t = start_us + k as i64 * step_us;
            self.seen_by(t, &mut seen);
            let means = self.sample(t, start_us, &seen, &mut sums);
            for (s, m) in series.iter_mut().zip(means) {
                s.push(((t - start_us) as f64 / 1e6, m));
            }
        }
        Some(summarize(&sums, n, samples, step_s, series))
    }

    /// For each VM, how many of its events happened at or before `t`.
    fn seen_by(&self, t: i64, seen: &mut [usize]) {
        for (i, s) in seen.iter_mut().enumerate() {
            while *s < self.count(i) && self.time_us[self.first[i] + *s] <= t {
                *s += 1;
            }
        }
    }

    /// Adds one grid point to `sums`; returns each VM's mean staleness there.
    fn sample(&self, t: i64, start_us: i64, seen: &[usize], sums: &mut [StaleSum]) -> Vec<f64> {
        let n = self.n();
        let mut means = vec![0.0; n];
        for (i, mean) in means.iter_mut().enumerate() {
            let known = |j: usize| match seen[i] {
                0 => 0,
                s => self.entry(self.first[i] + s - 1, j),
            };
            let mut total = 0;
            for j in (0..n).filter(|&j| j != i) {
                let (events, age_us) = self.stale(j, known(j), seen[j], t, start_us);
                sums[i * n + j].add(events, age_us);
                total += events;
            }
            *mean = total as f64 / (n - 1) as f64;
        }
        means
    }

    /// Staleness of a view of VM j that knows its first `known` events, at
    /// `t`, when j has made `seen` events.
    fn stale(&self, j: usize, known: usize, seen: usize, t: i64, start_us: i64) -> (u64, i64) {
        let since = match known {
            0 => start_us,
            k => self.time_us[self.first[j] + k - 1],
        };
        (seen.saturating_sub(known) as u64, (t - since).max(0))
    }
}

impl StaleSum {
    fn add(&mut self, events: u64, age_us: i64) {
        self.events += events;
        self.max_events = self.max_events.max(events);
        self.age_us += age_us;
        self.max_age_us = self.max_age_us.max(age_us);
    }

    fn mean(&self, samples: usize) -> Stale {
        let s = samples.max(1) as f64;
        Stale {
            mean_events: self.events as f64 / s,
            max_events: self.max_events,
            mean_age_s: self.age_us as f64 / 1e6 / s,
            max_age_s: self.max_age_us as f64 / 1e6,
        }
    }
}

fn summarize(
    sums: &[StaleSum],
    n: usize,
    samples: usize,
    step_s: f64,
    series: Vec<Vec<(f64, f64)>>,
) -> Staleness {
    let matrix: Vec<Vec<Option<Stale>>> = (0..n)
        .map(|i| {
            let row = (0..n).map(|j| (i != j).then(|| sums[i * n + j].mean(samples)));
            row.collect()
        })
        .collect();
    let per_vm = matrix.iter().map(|row| over_peers(row)).collect();
    Staleness {
        step_s,
        samples,
        matrix,
        per_vm,
        series,
    }
}

/// Means of the means and maxima of the maxima over a row of the matrix.
fn over_peers(row: &[Option<Stale>]) -> Stale {
    let peers: Vec<&Stale> = row.iter().flatten().collect();
    let k = peers.len().max(1) as f64;
    Stale {
        mean_events: peers.iter().map(|s| s.mean_events).sum::<f64>() / k,
        max_events: peers.iter().map(|s| s.max_events).max().unwrap_or(0),
        mean_age_s: peers.iter().map(|s| s.mean_age_s).sum::<f64>() / k,
        max_age_s: peers.iter().map(|s| s.max_age_s).fold(0.0, f64::max),
    }
}

/// Everything `analyze` reports about happens-before in one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Causal {
    /// VM ids, in the order of the matrix and series.
    pub vms: Vec<u32>,
    /// Tick events (the events of happens-before).
    pub events: u64,
    pub receives: Receives,
    pub pairs: Pairs,
    pub wall: WallOrder,
    /// `None` without a grid (fewer than two VMs, or no VM ticked).
    pub staleness: Option<Staleness>,
}

/// The happens-before figures of `logs`, staleness on the grid from
/// `start_us` to `end_us` (the drift grid); `None` without tick events.
pub fn analyze(logs: &[(u32, Vec<Line>)], start_us: i64, end_us: Option<i64>) -> Option<Causal> {
    let vc = VectorClocks::of(logs);
    if vc.is_empty() {
        return None;
    }
    let (pairs, wall) = vc.pairs();
    let grid = super::stats::GRID_STEP_S;
    Some(Causal {
        events: vc.len() as u64,
        receives: vc.receives,
        pairs,
        wall,
        staleness: end_us.and_then(|end| vc.staleness(start_us, end, grid)),
        vms: vc.vms,
    })
}

/// `part / whole`, `None` when there is no whole.
pub fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl Causal {
    /// Share of cross-VM pairs that are concurrent.
    pub fn concurrent_share(&self) -> Option<f64> {
        share(self.pairs.concurrent, self.pairs.cross)
    }

    /// Share of concurrent pairs that Lamport's clocks order anyway.
    pub fn lamport_ordered_concurrent_share(&self) -> Option<f64> {
        share(self.pairs.concurrent_lamport_ordered, self.pairs.concurrent)
    }

    /// Share of the pairs Lamport's clocks order that are in fact concurrent.
    pub fn lamport_order_unfounded_share(&self) -> Option<f64> {
        share(
            self.pairs.concurrent_lamport_ordered,
            self.pairs.lamport_ordered,
        )
    }

    /// Share of cross-VM pairs where (clock, VM id) order and wall time disagree.
    pub fn wall_disagreement_share(&self) -> Option<f64> {
        share(self.wall.disagreements, self.pairs.cross)
    }

    /// Mean staleness over every (i, j), events; `None` without a grid.
    pub fn mean_staleness(&self) -> Option<Stale> {
        let s = self.staleness.as_ref()?;
        let all: Vec<Option<Stale>> = s.per_vm.iter().copied().map(Some).collect();
        Some(over_peers(&all))
    }
}

#[cfg(test)]
mod tests;
