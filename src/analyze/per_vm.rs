//! Per-VM figures: what one VM's log says on its own ([`VmStats`]: also what
//! the launcher's end-of-run table shows), its series over wall time for the
//! plots ([`VmSeries`]), and the latency of its receives matched to the
//! sender's log ([`latencies_ms`]). Pure functions over parsed lines, no IO.
//! Times and jumps are as defined in [`super`] (the module doc).

use std::collections::BTreeMap;

use super::distributions::Dist;
use crate::logline::{Event, Line, StopReason};
use crate::run::messages::Index;

/// One VM's figures. Optional figures are `None` when there is nothing to
/// measure (no ticks, no receives...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmStats {
    pub vm: u32,
    pub rate: u32,
    /// How it stopped; `None` if the log has no `stop` (the VM died).
    pub stop: Option<StopReason>,
    /// The last tick number logged.
    pub ticks: u64,
    pub internals: u64,
    pub sends: u64,
    pub receives: u64,
    pub pending: u64,
    pub peer_lost: u64,
    /// `link_down` lines: how often one of its links broke.
    pub link_down: u64,
    /// Messages it sent again on a link that came back: the sum of
    /// `resent` over its `link_up` lines.
    pub resent: u64,
    /// Messages sent: the sum of the `to` lengths of its sends.
    pub messages_sent: u64,
    pub final_clock: u64,
    /// Wall seconds from its start (`start_at`, else its first line) to its
    /// `stop` (else its last line).
    pub duration_s: f64,
    /// Logical clock units per wall second: `final_clock / duration_s`.
    pub clock_rate: Option<f64>,
    /// Clock jumps between consecutive tick events.
    pub jumps: Option<Dist>,
    /// Largest jump (0 without ticks).
    pub max_jump: u64,
    /// Share of tick events whose jump is above 1.
    pub jump_over_1_share: Option<f64>,
    /// (jump size, number of tick events with it), by size.
    pub jump_counts: Vec<(u64, u64)>,
    /// Mean queue length logged with tick events.
    pub queue_mean: Option<f64>,
    pub max_queue: u64,
    /// Share of tick events that found a message waiting (`queue` > 0 or a receive).
    pub queue_nonempty_share: Option<f64>,
    /// Time its received messages waited on its queue (`wait_us`), ms.
    pub wait_ms: Option<Dist>,
    /// Send-to-arrival time of its received messages, ms (filled by [`super::analyze`]).
    pub latency_ms: Option<Dist>,
    /// Receives whose send is not in the sender's log (filled by [`super::analyze`]).
    pub latency_unmatched: u64,
    /// Mean clock lag behind the fastest VM on the drift grid (filled by [`super::analyze`]).
    pub lag_mean: Option<f64>,
}

/// Running totals while one log is read.
#[derive(Default)]
struct Acc {
    s: VmStats,
    prev_clock: u64,
    jumps: BTreeMap<u64, u64>,
    tick_events: u64,
    queue_sum: u64,
    busy: u64,
    waits_ms: Vec<f64>,
    start_us: Option<i64>,
    end_us: Option<i64>,
}

impl Acc {
    fn add(&mut self, line: &Line) {
        self.s.vm = line.vm;
        self.start_us.get_or_insert(line.time_us);
        self.end_us = Some(line.time_us);
        if let Some((tick, clock)) = line.event.tick_clock() {
            let queue = line.event.queue().unwrap_or(0);
            // A receive's `queue` counts what is left, so it found one even at 0.
            let busy = queue > 0 || matches!(line.event, Event::Receive { .. });
            self.tick(tick, clock, queue, busy);
        }
        let s = &mut self.s;
        match &line.event {
            Event::Start(st) => {
                s.rate = st.rate;
                self.start_us = st.start_at_us.or(Some(line.time_us));
            }
            Event::Internal { .. } => s.internals += 1,
            Event::Send { to, .. } => {
                s.sends += 1;
                s.messages_sent += to.len() as u64;
            }
            Event::Receive { wait_us, .. } => {
                s.receives += 1;
                self.waits_ms.push(*wait_us as f64 / 1000.0);
            }
            Event::Pending { .. } => s.pending += 1,
            Event::PeerLost { .. } => s.peer_lost += 1,
            Event::LinkDown { .. } => s.link_down += 1,
            Event::LinkUp { resent, .. } => s.resent += resent,
            Event::Stop { reason, .. } => s.stop = Some(*reason),
        }
    }

    fn tick(&mut self, tick: u64, clock: u64, queue: u64, busy: bool) {
        let jump = clock.saturating_sub(self.prev_clock);
        *self.jumps.entry(jump).or_default() += 1;
        self.prev_clock = clock;
        self.tick_events += 1;
        self.queue_sum += queue;
        self.busy += u64::from(busy);
        let s = &mut self.s;
        s.ticks = tick;
        s.final_clock = clock;
        s.max_queue = s.max_queue.max(queue);
    }

    fn finish(mut self) -> VmStats {
        let mut s = self.s;
        let n = self.tick_events;
        let share = |k: u64| (n > 0).then(|| k as f64 / n as f64);
        s.jump_counts = self.jumps.into_iter().collect();
        s.jumps = Dist::of_counts(&s.jump_counts);
        s.max_jump = s.jump_counts.last().map_or(0, |&(j, _)| j);
        let over_1: u64 = s.jump_counts.iter().filter(|j| j.0 > 1).map(|j| j.1).sum();
        s.jump_over_1_share = share(over_1);
        s.queue_mean = share(self.queue_sum);
        s.queue_nonempty_share = share(self.busy);
        s.wait_ms = Dist::of(&mut self.waits_ms);
        if let (Some(a), Some(b)) = (self.start_us, self.end_us) {
            s.duration_s = (b - a) as f64 / 1e6;
        }
        s.clock_rate = (s.duration_s > 0.0).then(|| s.final_clock as f64 / s.duration_s);
        s
    }
}

impl VmStats {
    /// The figures of one VM's log that need no other log (latency and lag
    /// stay empty).
    pub fn from_lines(lines: &[Line]) -> VmStats {
        let mut acc = Acc::default();
        for line in lines {
            acc.add(line);
        }
        acc.finish()
    }
}

/// One VM's series over wall time, for the plots. Times are seconds since
/// the run's common start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmSeries {
    pub vm: u32,
    /// (time, clock) of every tick event.
    pub clock: Vec<(f64, u64)>,
    /// (time, queue length) of every tick event.
    pub queue: Vec<(f64, u64)>,
}

impl VmSeries {
    /// The series of VM `vm`'s `lines`, with times relative to `start_us`.
    pub fn from_lines(vm: u32, lines: &[Line], start_us: i64) -> VmSeries {
        let mut s = VmSeries {
            vm,
            ..VmSeries::default()
        };
        for line in lines {
            if let Some((_, clock)) = line.event.tick_clock() {
                let t = secs_since(start_us, line.time_us);
                s.clock.push((t, clock));
                s.queue.push((t, line.event.queue().unwrap_or(0)));
            }
        }
        s
    }

    /// The clock series as plot points.
    pub fn clock_points(&self) -> Vec<(f64, f64)> {
        as_f64(&self.clock)
    }

    /// The queue series as plot points.
    pub fn queue_points(&self) -> Vec<(f64, f64)> {
        as_f64(&self.queue)
    }
}

/// Integer series as plot points.
pub fn as_f64(points: &[(f64, u64)]) -> Vec<(f64, f64)> {
    points.iter().map(|&(t, v)| (t, v as f64)).collect()
}

/// Seconds from `start_us` to `time_us`.
pub(super) fn secs_since(start_us: i64, time_us: i64) -> f64 {
    (time_us - start_us) as f64 / 1e6
}

/// Send-to-arrival times (ms) of the receives in `lines`, VM `id`'s: receive
/// time minus `wait_us` minus the send's time; and how many receives named
/// no delivered message ([`crate::run::messages`]: no such send, or not addressed to `id`).
pub fn latencies_ms(id: u32, lines: &[Line], sends: &Index) -> (Vec<f64>, u64) {
    let mut out = Vec::new();
    let mut unmatched = 0;
    for line in lines {
        let Event::Receive { wait_us, .. } = line.event else {
            continue;
        };
        match sends.taken_by(id, line) {
            Some(Ok(sent)) => {
                let arrived = line.time_us - wait_us as i64;
                out.push((arrived - sent.send.time_us) as f64 / 1000.0);
            }
            _ => unmatched += 1,
        }
    }
    (out, unmatched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::fixtures::{at, internal, receive, send, start, stop};

    #[test]
    fn jumps_queues_and_waits_of_one_vm() {
        let lines = vec![
            start(0, 2, 4),
            internal(0, 2, 1, 1),
            send(250, 2, 2, 2, &[1, 3]),
            receive(500, 2, (3, 9), 2, (3, 4), 100),
            receive(750, 2, (4, 10), 0, (1, 2), 50),
            at(1000, 2, Event::PeerLost { peer: 3 }),
            stop(1000, 2, 4, 10),
        ];
        let s = VmStats::from_lines(&lines);
        assert_eq!((s.vm, s.rate, s.ticks, s.final_clock), (2, 4, 4, 10));
        assert_eq!(
            (s.internals, s.sends, s.receives, s.messages_sent),
            (1, 1, 2, 2)
        );
        assert_eq!((s.peer_lost, s.stop), (1, Some(StopReason::Runtime)));
        assert_eq!((s.link_down, s.resent), (0, 0));
        // Jumps 1, 1, 7, 1.
        assert_eq!(s.jump_counts, vec![(1, 3), (7, 1)]);
        let j = s.jumps.unwrap();
        assert_eq!((j.mean, j.p95, j.max, s.max_jump), (2.5, 7.0, 7.0, 7));
        assert_eq!(s.jump_over_1_share, Some(0.25));
        assert_eq!((s.queue_mean, s.max_queue), (Some(0.5), 2));
        // Both receives found a message; the other two ticks found none.
        assert_eq!(s.queue_nonempty_share, Some(0.5));
        let w = s.wait_ms.unwrap();
        assert_eq!((w.mean, w.p95, w.max), (75.0, 100.0, 100.0));
        assert_eq!((s.duration_s, s.clock_rate), (1.0, Some(10.0)));
    }
}
