//! The figures of a run: pure functions over parsed log lines ([`Line`]), no
//! files and no wall clock. Per VM ([`VmStats`]: also what the launcher's
//! end-of-run table shows), across VMs (latency matched to the sender's log,
//! drift on a wall-time grid) and the series the plots draw ([`VmSeries`],
//! [`Drift::series`], [`SpaceTime`]).
//!
//! Definitions used throughout:
//! - Times are seconds since the run's common start: the earliest `start_at`
//!   of the `start` lines, else the earliest tick event.
//! - A jump is the clock increase from one tick event (`internal`, `send`,
//!   `receive`) to the next; the first tick's is from 0.
//! - p95 is the nearest-rank percentile: the value at rank ceil(0.95 n) of
//!   the n sorted values.
//! - A VM's clock at time t is the clock of its last tick event at or before
//!   t, and 0 before its first. VMs without tick events are left out of drift
//!   and lag (their clock would be 0 throughout).

use std::collections::BTreeMap;

use super::causal::Causal;
pub use super::distributions::Dist;
use crate::logline::{Event, Line, StopReason};
use crate::run::messages::Index;

/// Spacing of the drift grid, seconds.
pub const GRID_STEP_S: f64 = 0.1;
/// Most events one lane of the space-time diagram shows; a window holding
/// more is cut short so the diagram stays readable (and small).
pub const MAX_LANE_EVENTS: usize = 150;

/// A run's logs: (VM id, its parsed lines), by id.
pub use crate::run::read::RunLogs;

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
    /// Send-to-arrival time of its received messages, ms (filled by [`analyze`]).
    pub latency_ms: Option<Dist>,
    /// Receives whose send is not in the sender's log (filled by [`analyze`]).
    pub latency_unmatched: u64,
    /// Mean clock lag behind the fastest VM on the drift grid (filled by [`analyze`]).
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

fn secs_since(start_us: i64, time_us: i64) -> f64 {
    (time_us - start_us) as f64 / 1e6
}

/// The spread of the VMs' logical clocks over the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// The grid: every [`GRID_STEP_S`] from 0 to the earliest end of a VM.
    pub step_s: f64,
    /// (time, max - min clock) at each grid point.
    pub series: Vec<(f64, u64)>,
    pub mean: f64,
    pub max: u64,
    /// Least-squares slope of drift over time, per minute.
    pub growth_per_min: f64,
    /// Per VM (in the order given), mean of (fastest clock - its clock).
    pub lag_mean: Vec<f64>,
}

impl Drift {
    /// Drift of `clocks` (one tick series per VM, each in time order) on a
    /// grid from 0 to `end_s`; `None` without a VM or a grid point.
    pub fn on_grid(clocks: &[&[(f64, u64)]], end_s: f64, step_s: f64) -> Option<Drift> {
        if clocks.is_empty() || end_s.is_nan() || end_s < 0.0 || step_s.is_nan() || step_s <= 0.0 {
            return None;
        }
        let points = (end_s / step_s + 1e-9).floor() as usize + 1;
        let grid: Vec<f64> = (0..points).map(|k| k as f64 * step_s).collect();
        let sampled: Vec<Vec<u64>> = clocks.iter().map(|c| sample(c, &grid)).collect();
        let mut series = Vec::with_capacity(points);
        let mut lag_sum = vec![0u64; clocks.len()];
        for (k, &t) in grid.iter().enumerate() {
            let (lo, hi) = min_max(sampled.iter().map(|v| v[k]));
            series.push((t, hi - lo));
            for (sum, v) in lag_sum.iter_mut().zip(&sampled) {
                *sum += hi - v[k];
            }
        }
        let values: Vec<f64> = series.iter().map(|&(_, d)| d as f64).collect();
        Some(Drift {
            step_s,
            mean: values.iter().sum::<f64>() / points as f64,
            max: series.iter().map(|&(_, d)| d).max().unwrap_or(0),
            growth_per_min: slope(&grid, &values) * 60.0,
            lag_mean: lag_sum.iter().map(|&s| s as f64 / points as f64).collect(),
            series,
        })
    }
}

/// The clock of a tick series at each grid time (grid ascending).
fn sample(clock: &[(f64, u64)], grid: &[f64]) -> Vec<u64> {
    let mut i = 0;
    let mut current = 0;
    grid.iter()
        .map(|&t| {
            while i < clock.len() && clock[i].0 <= t {
                current = clock[i].1;
                i += 1;
            }
            current
        })
        .collect()
}

fn min_max(values: impl Iterator<Item = u64>) -> (u64, u64) {
    values.fold((u64::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// Least-squares slope of `ys` over `xs`; 0 with fewer than two distinct xs.
pub fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len().min(ys.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
    }
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
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

/// How an event is drawn in the space-time diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Internal,
    Send,
    Receive,
}

/// One tick event in the space-time window.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub vm: u32,
    /// Seconds since the run's start.
    pub t: f64,
    pub kind: Kind,
    pub clock: u64,
}

/// One message from its send to its receive, at least partly in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    pub from: u32,
    pub to: u32,
    /// When it was sent and when it was received (processed), seconds since start.
    pub sent: f64,
    pub received: f64,
}

/// What the space-time diagram shows: events and messages in a time window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpaceTime {
    /// (start, end), seconds since the run's start.
    pub window: (f64, f64),
    /// One lane per VM, in this order.
    pub vms: Vec<u32>,
    pub marks: Vec<Mark>,
    /// Messages whose send-to-receive span overlaps the window. Messages
    /// never received (`pending`, or lost) are not included.
    pub arrows: Vec<Arrow>,
}

impl SpaceTime {
    /// The events and messages of `logs` within `window`.
    pub fn of(logs: &[(u32, Vec<Line>)], start_us: i64, window: (f64, f64), sends: &Index) -> Self {
        let mut st = SpaceTime {
            window,
            vms: logs.iter().map(|(id, _)| *id).collect(),
            ..SpaceTime::default()
        };
        for (id, lines) in logs {
            for line in lines {
                let t = secs_since(start_us, line.time_us);
                if t >= window.0 && t <= window.1 {
                    st.marks.extend(mark_of(*id, t, &line.event));
                }
                st.arrows
                    .extend(arrow_to(*id, line, start_us, window, sends));
            }
        }
        st
    }
}

/// The message a receive line took, if its span overlaps `window`.
fn arrow_to(
    to: u32,
    line: &Line,
    start_us: i64,
    window: (f64, f64),
    sends: &Index,
) -> Option<Arrow> {
    let Event::Receive { from, .. } = line.event else {
        return None;
    };
    let received = secs_since(start_us, line.time_us);
    if received < window.0 {
        return None;
    }
    let sent = sends.taken_by(to, line)?.ok()?;
    let sent = secs_since(start_us, sent.send.time_us);
    (sent <= window.1).then_some(Arrow {
        from,
        to,
        sent,
        received,
    })
}

impl SpaceTime {
    /// Ends the window early so no lane holds more than `max` events;
    /// returns the window's requested end if it did.
    pub fn cap(&mut self, max: usize) -> Option<f64> {
        let end = self
            .vms
            .iter()
            .filter_map(|&vm| {
                let mut times: Vec<f64> = self
                    .marks
                    .iter()
                    .filter(|m| m.vm == vm)
                    .map(|m| m.t)
                    .collect();
                times.sort_unstable_by(f64::total_cmp);
                times.get(max).copied()
            })
            .min_by(f64::total_cmp)?;
        // Just before the first event that does not fit.
        let end = (end - 1e-6).max(self.window.0 + 1e-6);
        self.marks.retain(|m| m.t <= end);
        self.arrows.retain(|a| a.sent <= end);
        Some(std::mem::replace(&mut self.window.1, end))
    }
}

fn mark_of(vm: u32, t: f64, event: &Event) -> Option<Mark> {
    let (kind, clock) = match *event {
        Event::Internal { clock, .. } => (Kind::Internal, clock),
        Event::Send { clock, .. } => (Kind::Send, clock),
        Event::Receive { clock, .. } => (Kind::Receive, clock),
        _ => return None,
    };
    Some(Mark { vm, t, kind, clock })
}

/// Everything `analyze` reports about one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    /// The run id and seed of the first `start` line, if any.
    pub run: Option<String>,
    pub seed: Option<u64>,
    /// The die's size (`event_range`) of the first `start` line, if any.
    pub event_range: Option<u32>,
    /// The common start, microseconds since the epoch.
    pub start_us: i64,
    /// One row per log, in the order given.
    pub vms: Vec<VmStats>,
    /// One per log, in the same order.
    pub series: Vec<VmSeries>,
    /// `None` when no VM has a tick event.
    pub drift: Option<Drift>,
    /// Happens-before and vector clocks; `None` when no VM has a tick event.
    pub causal: Option<Causal>,
    pub space_time: SpaceTime,
    /// Things a reader should know (a VM without ticks or without `stop`...).
    pub notes: Vec<String>,
}

/// Analyzes a run: `logs` are (VM id, its parsed lines), by id; `window` is
/// the space-time diagram's, in seconds since the start.
pub fn analyze(logs: &[(u32, Vec<Line>)], window: (f64, f64)) -> Analysis {
    let start_us = common_start(logs);
    let sends = Index::of(logs);
    let mut vms = vm_rows(logs, &sends);
    let series: Vec<VmSeries> = logs
        .iter()
        .map(|(id, lines)| VmSeries::from_lines(*id, lines, start_us))
        .collect();
    let end_us = grid_end_us(logs, &series);
    let drift = drift_of(&series, start_us, end_us, &mut vms);
    let causal = super::causal::analyze(logs, start_us, end_us);
    let mut notes = notes(&vms);
    notes.extend(causal.as_ref().map(causal_notes).unwrap_or_default());
    let mut space_time = SpaceTime::of(logs, start_us, window, &sends);
    if let Some(asked) = space_time.cap(MAX_LANE_EVENTS) {
        notes.push(format!(
            "space-time diagram: {} s to {asked} s holds more than {MAX_LANE_EVENTS} events per VM, so it shows {} s to {:.3} s (choose with --window)",
            window.0, window.0, space_time.window.1
        ));
    }
    let (run, seed, event_range) = run_and_seed(logs);
    Analysis {
        run,
        seed,
        event_range,
        start_us,
        vms,
        series,
        drift,
        causal,
        space_time,
        notes,
    }
}

/// Each VM's own figures plus its latencies, matched in `sends`.
fn vm_rows(logs: &[(u32, Vec<Line>)], sends: &Index) -> Vec<VmStats> {
    logs.iter()
        .map(|(id, lines)| {
            let mut s = VmStats::from_lines(lines);
            s.vm = *id;
            let (mut lat, unmatched) = latencies_ms(*id, lines, sends);
            s.latency_ms = Dist::of(&mut lat);
            s.latency_unmatched = unmatched;
            s
        })
        .collect()
}

/// The end of the drift grid: the earliest end among the VMs that ticked.
fn grid_end_us(logs: &[(u32, Vec<Line>)], series: &[VmSeries]) -> Option<i64> {
    (0..series.len())
        .filter(|&i| !series[i].clock.is_empty())
        .filter_map(|i| end_of(&logs[i].1))
        .min()
}

/// Drift over the VMs that ticked, on the grid up to `end_us`; fills each
/// such VM's `lag_mean`.
fn drift_of(
    series: &[VmSeries],
    start_us: i64,
    end_us: Option<i64>,
    vms: &mut [VmStats],
) -> Option<Drift> {
    let ticked: Vec<usize> = (0..series.len())
        .filter(|&i| !series[i].clock.is_empty())
        .collect();
    let end_us = end_us?;
    let clocks: Vec<&[(f64, u64)]> = ticked.iter().map(|&i| series[i].clock.as_slice()).collect();
    let drift = Drift::on_grid(&clocks, secs_since(start_us, end_us), GRID_STEP_S)?;
    for (&i, &lag) in ticked.iter().zip(&drift.lag_mean) {
        vms[i].lag_mean = Some(lag);
    }
    Some(drift)
}

/// When a VM stopped: its last line (its `stop`, when it has one).
fn end_of(lines: &[Line]) -> Option<i64> {
    lines.last().map(|l| l.time_us)
}

/// The earliest `start_at`; else the earliest tick event; else the earliest line.
pub fn common_start(logs: &[(u32, Vec<Line>)]) -> i64 {
    let all = || logs.iter().flat_map(|(_, lines)| lines.iter());
    let start_at = all()
        .filter_map(|l| match &l.event {
            Event::Start(s) => s.start_at_us,
            _ => None,
        })
        .min();
    let first_tick = || {
        all()
            .filter(|l| l.event.tick_clock().is_some())
            .map(|l| l.time_us)
            .min()
    };
    start_at
        .or_else(first_tick)
        .or_else(|| all().map(|l| l.time_us).min())
        .unwrap_or(0)
}

fn run_and_seed(logs: &[(u32, Vec<Line>)]) -> (Option<String>, Option<u64>, Option<u32>) {
    logs.iter()
        .flat_map(|(_, lines)| lines.first())
        .find_map(|l| match &l.event {
            Event::Start(s) => Some((Some(s.run.clone()), Some(s.seed), Some(s.event_range))),
            _ => None,
        })
        .unwrap_or((None, None, None))
}

/// What a reader of the happens-before figures should know.
fn causal_notes(c: &Causal) -> Vec<String> {
    let mut notes = Vec::new();
    if c.receives.in_cycle > 0 {
        notes.push(format!(
            "happens-before: the logs make a cycle; {} receives were left without their send",
            c.receives.in_cycle
        ));
    }
    if c.pairs.clock_condition_broken > 0 {
        notes.push(format!(
            "happens-before: {} pairs a -> b have a Lamport clock L(a) >= L(b) (run verify)",
            c.pairs.clock_condition_broken
        ));
    }
    notes
}

fn notes(vms: &[VmStats]) -> Vec<String> {
    let mut notes = Vec::new();
    for s in vms {
        if s.jumps.is_none() {
            notes.push(format!(
                "VM {}: no tick events; left out of drift and lag",
                s.vm
            ));
        }
        if s.stop.is_none() {
            notes.push(format!(
                "VM {}: no `stop` line (the VM died or is still running)",
                s.vm
            ));
        }
        if s.latency_unmatched > 0 {
            let n = s.latency_unmatched;
            notes.push(format!(
                "VM {}: {n} receives without their send in the sender's log",
                s.vm
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests;
