//! Vector clocks rebuilt from the logs ([`VectorClocks`]): every tick event's
//! clock, computed in an order where each receive comes after its send (the
//! send matched by [`crate::run::messages`]), and how the receives were
//! matched ([`Receives`]). Pure.

use crate::logline::Line;
use crate::run::messages::Index;

/// The vector clocks of every tick event of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorClocks {
    /// VM ids in the order given; VM index i is entry i of every clock.
    pub vms: Vec<u32>,
    /// The events of VM index i are `first[i]..first[i + 1]`, in log order.
    pub(super) first: Vec<usize>,
    /// Event e's clock is `entries[e * n..(e + 1) * n]` (n = number of VMs).
    pub(super) entries: Vec<u32>,
    pub(super) lamport: Vec<u64>,
    pub(super) time_us: Vec<i64>,
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
        VectorClocks::matched(logs, &Index::of(logs))
    }

    /// [`VectorClocks::of`] with the run's sends already indexed (`analyze`
    /// builds the index once for all its figures).
    pub fn matched(logs: &[(u32, Vec<Line>)], index: &Index) -> VectorClocks {
        let (ticks, unmatched) = tick_events(logs, index);
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

    pub(super) fn entry(&self, e: usize, j: usize) -> usize {
        self.entries[e * self.n() + j] as usize
    }
}

/// Per VM, per tick event in log order (the order of [`VectorClocks`]'s
/// events): a receive's send as (VM index, position in that VM's events),
/// matched as for the vector clocks; `None` for any other event.
pub fn sends_of(logs: &[(u32, Vec<Line>)], index: &Index) -> Vec<Vec<Option<(usize, usize)>>> {
    let (ticks, _) = tick_events(logs, index);
    ticks
        .iter()
        .map(|t| t.iter().map(|t| t.dep).collect())
        .collect()
}

/// Each VM's tick events with their receives' sends resolved, and how many
/// receives named no delivered message (no such send, or not addressed to
/// the receiver).
fn tick_events(logs: &[(u32, Vec<Line>)], index: &Index) -> (Vec<Vec<Tick>>, u64) {
    let mut unmatched = 0;
    let ticks = logs
        .iter()
        .map(|(id, lines)| {
            let ticks = lines.iter().filter_map(|l| tick_of(*id, l, index));
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
