//! The hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical
//! Clocks", 2014) rebuilt from the logs ([`Hlc`]): every tick event gets a
//! pair (l, c) from the physical times the VMs logged (what each VM's own
//! clock said, `--clock-skew` and all), by the paper's rules:
//!
//! - a local event or a send at a VM with clock (l, c) and physical time
//!   pt: `l' = max(l, pt)`; `c' = c + 1` if `l' = l`, else 0;
//! - a receive of a message stamped (lm, cm): `l' = max(l, lm, pt)`; `c'` is
//!   `max(c, cm) + 1` if `l' = l = lm`, `c + 1` if only `l' = l`, `cm + 1`
//!   if only `l' = lm`, else 0.
//!
//! Each VM starts at (0, 0); a send's pair is its message's stamp. What the
//! paper proves, and the tests check: `l >= pt`; if a happens before b then
//! (l, c) of a is below that of b (lexicographically); `l - pt` never exceeds
//! the clock uncertainty epsilon (the largest difference between two clocks
//! at any instant), while a Lamport clock grows without bound; and `c` at
//! event f counts at most the events before f with the same l. Pure.

use crate::logline::Line;
use crate::run::messages::Index;

use super::vclock::sends_of;

/// The hybrid logical clock of every tick event of a run, aligned with
/// [`super::vclock::VectorClocks`]: VM index i's events are
/// `first[i]..first[i + 1]`, in log order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hlc {
    /// VM ids in the order given.
    pub vms: Vec<u32>,
    first: Vec<usize>,
    /// Per event: its logged physical time, microseconds since the epoch.
    pub pt_us: Vec<i64>,
    /// Per event: l, microseconds since the epoch (a physical time).
    pub l_us: Vec<i64>,
    /// Per event: c.
    pub c: Vec<u32>,
    /// Receives whose stamp was left out to break a cycle of the logs
    /// (never in a lawful run).
    pub in_cycle: u64,
}

/// One event's hybrid logical clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// Microseconds since the epoch.
    pub l_us: i64,
    pub c: u32,
}

/// What the hybrid logical clock shows of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HlcFigures {
    /// The largest `l - pt` of any event, microseconds (0 when l follows
    /// every VM's own clock).
    pub max_offset_us: i64,
    /// The mean `l - pt`, microseconds.
    pub mean_offset_us: f64,
    /// Events whose l is ahead of their own physical time.
    pub ahead: u64,
    /// The largest c.
    pub max_c: u32,
}

/// The hybrid logical clocks of the tick events of `logs` (VM id, lines with
/// the times as logged).
pub fn of(logs: &[(u32, Vec<Line>)]) -> Hlc {
    Hlc::matched(logs, &Index::of(logs))
}

impl Hlc {
    /// [`of`] with the run's sends already indexed.
    pub fn matched(logs: &[(u32, Vec<Line>)], index: &Index) -> Hlc {
        let deps = sends_of(logs, index);
        let times: Vec<Vec<i64>> = logs
            .iter()
            .map(|(_, lines)| {
                let ticks = lines.iter().filter(|l| l.event.tick_clock().is_some());
                ticks.map(|l| l.time_us).collect()
            })
            .collect();
        let mut hlc = Hlc::from_parts(&times, &deps);
        hlc.vms = logs.iter().map(|(id, _)| *id).collect();
        hlc
    }

    /// The clocks of events with physical times `times` (per VM, in order)
    /// whose receives' sends are `deps` (as [`sends_of`] gives them).
    pub(super) fn from_parts(times: &[Vec<i64>], deps: &[Vec<Option<(usize, usize)>>]) -> Hlc {
        let n = times.len();
        let mut first = vec![0; n + 1];
        for (i, t) in times.iter().enumerate() {
            first[i + 1] = first[i] + t.len();
        }
        let total = first[n];
        let mut hlc = Hlc {
            vms: Vec::new(),
            pt_us: times.iter().flatten().copied().collect(),
            l_us: vec![0; total],
            c: vec![0; total],
            first,
            in_cycle: 0,
        };
        let mut done = vec![0usize; n];
        let mut waiting: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut ready: Vec<usize> = (0..n).rev().collect();
        let mut dropped: Vec<(usize, usize)> = Vec::new();
        let blocked = |done: &[usize], dropped: &[(usize, usize)], i: usize| {
            let pos = done[i];
            match deps[i].get(pos).copied().flatten() {
                Some((g, q)) if q >= done[g] && !dropped.contains(&(i, pos)) => Some(g),
                _ => None,
            }
        };
        loop {
            while let Some(i) = ready.pop() {
                let start = done[i];
                while done[i] < times[i].len() {
                    if let Some(g) = blocked(&done, &dropped, i) {
                        waiting[g].push(i);
                        break;
                    }
                    let pos = done[i];
                    let dep = deps[i][pos].filter(|_| !dropped.contains(&(i, pos)));
                    hlc.compute(i, pos, dep);
                    done[i] += 1;
                }
                if done[i] > start {
                    ready.append(&mut waiting[i]);
                }
            }
            // Every VM left waits for another: the logs make a cycle. Drop
            // the stamp of one waiting receive and go on.
            match (0..n).find(|&i| blocked(&done, &dropped, i).is_some()) {
                Some(i) => {
                    dropped.push((i, done[i]));
                    for w in &mut waiting {
                        w.retain(|&v| v != i);
                    }
                    ready.push(i);
                }
                None => break,
            }
        }
        hlc.in_cycle = dropped.len() as u64;
        hlc
    }

    /// Event `pos` of VM index `i`, its previous one and (a receive) its
    /// send already computed.
    fn compute(&mut self, i: usize, pos: usize, dep: Option<(usize, usize)>) {
        let e = self.first[i] + pos;
        let pt = self.pt_us[e];
        let (l, c) = match pos {
            0 => (0, 0),
            _ => (self.l_us[e - 1], self.c[e - 1]),
        };
        let (l2, c2) = match dep {
            None => {
                let l2 = l.max(pt);
                (l2, if l2 == l { c + 1 } else { 0 })
            }
            Some((g, q)) => {
                let m = self.first[g] + q;
                let (lm, cm) = (self.l_us[m], self.c[m]);
                let l2 = l.max(lm).max(pt);
                let c2 = match (l2 == l, l2 == lm) {
                    (true, true) => c.max(cm) + 1,
                    (true, false) => c + 1,
                    (false, true) => cm + 1,
                    (false, false) => 0,
                };
                (l2, c2)
            }
        };
        self.l_us[e] = l2;
        self.c[e] = c2;
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.l_us.len()
    }

    /// True when the run has no tick event.
    pub fn is_empty(&self) -> bool {
        self.l_us.is_empty()
    }

    /// The number of events of VM index `i`.
    pub fn count(&self, i: usize) -> usize {
        self.first[i + 1] - self.first[i]
    }

    /// The clock of the event at `pos` (0-based) of VM index `i`, as
    /// [`super::vclock::VectorClocks::clock`] gives its vector clock.
    pub fn stamp(&self, i: usize, pos: usize) -> Stamp {
        let e = self.first[i] + pos;
        Stamp {
            l_us: self.l_us[e],
            c: self.c[e],
        }
    }

    /// `l - pt` of the event at `pos` of VM index `i`, microseconds.
    pub fn offset_us(&self, i: usize, pos: usize) -> i64 {
        let e = self.first[i] + pos;
        self.l_us[e] - self.pt_us[e]
    }

    /// The run's figures; `None` without events.
    pub fn figures(&self) -> Option<HlcFigures> {
        if self.is_empty() {
            return None;
        }
        let offsets = || self.l_us.iter().zip(&self.pt_us).map(|(l, pt)| l - pt);
        Some(HlcFigures {
            max_offset_us: offsets().max().unwrap_or(0),
            mean_offset_us: offsets().map(|o| o as f64).sum::<f64>() / self.len() as f64,
            ahead: offsets().filter(|&o| o > 0).count() as u64,
            max_c: self.c.iter().copied().max().unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::causal::vclock::VectorClocks;
    use crate::testkit::{History, Plan, T0};

    /// Every property of the paper on one run: l >= pt, a -> b gives
    /// (l, c)(a) < (l, c)(b), l - pt <= `epsilon_us`, and c(f) at most the
    /// events that happen before f with the same l.
    fn check(logs: &[(u32, Vec<Line>)], epsilon_us: i64) -> Hlc {
        let hlc = of(logs);
        let vc = VectorClocks::of(logs);
        assert_eq!(hlc.len(), vc.len());
        assert_eq!(hlc.in_cycle, 0);
        let n = vc.n();
        let events: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| (0..vc.count(i)).map(move |p| (i, p)))
            .collect();
        // a -> b exactly when V(a) <= V(b) and a != b.
        let hb = |a: (usize, usize), b: (usize, usize)| {
            a != b
                && vc
                    .clock(a.0, a.1)
                    .iter()
                    .zip(vc.clock(b.0, b.1))
                    .all(|(x, y)| x <= y)
        };
        for &f in &events {
            let s = hlc.stamp(f.0, f.1);
            let off = hlc.offset_us(f.0, f.1);
            assert!(off >= 0, "l < pt at {f:?}");
            assert!(off <= epsilon_us, "l - pt = {off} > {epsilon_us} at {f:?}");
            let same_l = events
                .iter()
                .filter(|&&g| hb(g, f) && hlc.stamp(g.0, g.1).l_us == s.l_us)
                .count();
            assert!(s.c as usize <= same_l, "c = {} at {f:?}, {same_l}", s.c);
            for &g in &events {
                if hb(f, g) {
                    assert!(s < hlc.stamp(g.0, g.1), "{f:?} -> {g:?}");
                }
            }
        }
        hlc
    }

    /// A run of `n` VMs ticking 20 times a second for 2 s, staggered, rolling
    /// their dice, on clocks `clocks`, messages taking 3 ms.
    fn rolled(n: u32, clocks: &[(i64, i64)], seed: u64) -> Vec<(u32, Vec<Line>)> {
        let plan = Plan {
            rate: 20,
            event_range: 4,
            seed,
            runtime_us: Some(2_000_000),
            delay_us: 3_000,
            ..Plan::default()
        };
        let mut h = History::skewed(n, plan, T0, clocks);
        for k in 0..40i64 {
            for id in 1..=n {
                h.roll_at(id, T0 + k * 50_000 + i64::from(id) * 700);
            }
        }
        h.logs(2_000)
    }

    #[test]
    fn true_clocks_keep_l_on_pt() {
        let logs = rolled(3, &[], 5);
        let hlc = check(&logs, 0);
        let f = hlc.figures().unwrap();
        assert_eq!((f.max_offset_us, f.ahead), (0, 0));
    }

    #[test]
    fn skewed_clocks_stay_within_epsilon() {
        // VM 3 is 250 ms ahead: what it sends pulls l of the others ahead.
        let clocks = [(-100_000, 0), (0, 20_000_000), (250_000, -30_000_000)];
        for seed in 1..6 {
            let logs = rolled(3, &clocks, seed);
            let phys = crate::run::clock::clocks(&logs);
            let eps = crate::run::clock::epsilon_us(&phys, T0, T0 + 2_000_000);
            let hlc = check(&logs, eps);
            let f = hlc.figures().unwrap();
            assert!(f.ahead > 0 && f.max_offset_us > 100_000, "{f:?}");
            assert!(f.max_offset_us <= eps);
        }
    }

    #[test]
    fn equal_times_count_up_in_c() {
        // All on one instant: l stays T0 and c carries the order.
        let mut h = History::new(2);
        h.internal(1, 0)
            .send(1, &[2], 0)
            .receive(2, 1, 0)
            .internal(2, 0);
        let logs = h.logs(0);
        let hlc = check(&logs, 0);
        assert_eq!(hlc.stamp(0, 1), Stamp { l_us: T0, c: 1 });
        assert_eq!(hlc.stamp(1, 0), Stamp { l_us: T0, c: 2 });
        assert_eq!(hlc.stamp(1, 1), Stamp { l_us: T0, c: 3 });
        assert_eq!(hlc.figures().unwrap().max_c, 3);
    }

    #[test]
    fn a_message_from_a_clock_ahead_lifts_l() {
        // VM 1 is 500 ms ahead; its send at true 0 reaches VM 2 at true 10 ms.
        let plan = Plan::default();
        let mut h = History::skewed(2, plan, T0, &[(500_000, 0), (0, 0)]);
        h.send(1, &[2], 0).receive(2, 1, 10).internal(2, 20);
        let logs = h.logs(30);
        let hlc = check(&logs, 500_000);
        assert_eq!(
            hlc.stamp(1, 0),
            Stamp {
                l_us: T0 + 500_000,
                c: 1
            }
        );
        assert_eq!(hlc.offset_us(1, 0), 490_000);
        assert_eq!(
            hlc.stamp(1, 1),
            Stamp {
                l_us: T0 + 500_000,
                c: 2
            }
        );
    }

    #[test]
    fn a_committed_run_keeps_the_papers_properties() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("logs/baseline/run_1");
        let (logs, _) = crate::run::read::read_logs(&dir).unwrap();
        let hlc = of(&logs);
        let vc = VectorClocks::of(&logs);
        assert!(hlc.len() > 100 && hlc.len() == vc.len());
        // One host, one clock: l never leaves pt by more than the host's
        // clock resolution allows a receive to be stamped before its send (never).
        let f = hlc.figures().unwrap();
        assert_eq!(f.max_offset_us, 0, "{f:?}");
        // Along each VM and along each message the stamps rise.
        let index = Index::of(&logs);
        let deps = sends_of(&logs, &index);
        assert_eq!(deps.len(), vc.n());
        for (i, sends) in deps.iter().enumerate() {
            assert_eq!(sends.len(), hlc.count(i));
            for (p, send) in sends.iter().enumerate() {
                assert!(hlc.stamp(i, p).l_us >= hlc.pt_us[hlc.first[i] + p]);
                if p > 0 {
                    assert!(hlc.stamp(i, p - 1) < hlc.stamp(i, p));
                }
                if let Some((g, q)) = *send {
                    assert!(hlc.stamp(g, q) < hlc.stamp(i, p));
                }
            }
        }
    }
}
