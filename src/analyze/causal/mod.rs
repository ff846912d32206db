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
//!
//! Files: [`vclock`] (the clocks and the matching of receives), [`pairs`]
//! (concurrency and the wall-clock order), [`staleness`] (what each VM knows
//! of the others over time), [`hlc`] (the hybrid logical clock), [`skew`]
//! (the wall clocks, as logged and true, against happens-before); this file
//! gathers them into [`Causal`].

pub mod hlc;
pub mod pairs;
pub mod skew;
pub mod staleness;
pub mod vclock;

use hlc::Hlc;
use pairs::{Pairs, WallOrder};
use skew::Clocks;
use staleness::{Stale, Staleness, over_peers};
use vclock::{Receives, VectorClocks};

use crate::analyze::drift::GRID_STEP_S;
use crate::logline::Line;
use crate::run::messages::Index;

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
    /// The wall clocks against happens-before, and the hybrid logical clock.
    pub clocks: Clocks,
}

/// The happens-before figures of `logs` (on true time), whose sends `index`
/// holds, staleness on the grid from `start_us` to `end_us` (the drift
/// grid); `logged` is the same logs with the times as logged, where the
/// hybrid logical clock and the logged wall order are read. `None` without
/// tick events.
pub fn analyze(
    logs: &[(u32, Vec<Line>)],
    logged: &[(u32, Vec<Line>)],
    index: &Index,
    (start_us, end_us): (i64, Option<i64>),
) -> Option<Causal> {
    let vc = VectorClocks::matched(logs, index);
    if vc.is_empty() {
        return None;
    }
    let (pairs, wall) = vc.pairs();
    let grid = GRID_STEP_S;
    Some(Causal {
        events: vc.len() as u64,
        receives: vc.receives,
        pairs,
        wall,
        staleness: end_us.and_then(|end| vc.staleness(start_us, end, grid)),
        clocks: clocks(&vc, logs, logged, index, start_us),
        vms: vc.vms,
    })
}

/// [`Clocks`] of a run: `vc` built from `logs` (true time), `logged` the
/// times as written.
fn clocks(
    vc: &VectorClocks,
    logs: &[(u32, Vec<Line>)],
    logged: &[(u32, Vec<Line>)],
    index: &Index,
    start_us: i64,
) -> Clocks {
    let per_vm: Vec<Vec<i64>> = logged
        .iter()
        .map(|(_, lines)| {
            let ticks = lines.iter().filter(|l| l.event.tick_clock().is_some());
            ticks.map(|l| l.time_us).collect()
        })
        .collect();
    let times: Vec<i64> = per_vm.iter().flatten().copied().collect();
    let sends = vclock::sends_of(logs, index);
    let (before_send, before_send_max_us) = skew::before_send(&sends, &vc.first, &times);
    let (before_send_true, _) = skew::before_send(&sends, &vc.first, &vc.time_us);
    let (hb_inverted, hb_inverted_max_us) = vc.hb_inverted(&times);
    let (hb_inverted_true, _) = vc.hb_inverted(&vc.time_us);
    let phys = crate::run::clock::clocks(logged);
    let end_us = logs
        .iter()
        .filter_map(|(_, lines)| lines.last().map(|l| l.time_us))
        .max()
        .unwrap_or(start_us);
    let epsilon_us = crate::run::clock::epsilon_us(&phys, start_us, end_us);
    let hlc = Hlc::from_parts(&per_vm, &sends);
    let beyond = hlc
        .l_us
        .iter()
        .zip(&hlc.pt_us)
        .filter(|&(l, pt)| l - pt > epsilon_us + 1)
        .count() as u64;
    let per_vm = logged
        .iter()
        .map(|(_, lines)| match lines.first().map(|l| &l.event) {
            Some(crate::logline::Event::Start(s)) => (s.clock_skew_us, s.clock_drift_ppb),
            _ => (None, None),
        })
        .collect();
    Clocks {
        skewed: phys.iter().any(Option::is_some),
        per_vm,
        lamport_max: vc.lamport.iter().copied().max().unwrap_or(0),
        span_us: end_us - start_us,
        before_send,
        before_send_max_us,
        before_send_true,
        hb_inverted,
        hb_inverted_max_us,
        hb_inverted_true,
        epsilon_us,
        hlc: hlc.figures(),
        hlc_beyond_epsilon: beyond,
    }
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
