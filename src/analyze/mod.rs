//! `analyze`: reads a run folder through [`crate::run::read`] and computes
//! the figures, one question per file; the charts ([`plots`], [`spacetime`])
//! and the tables ([`crate::report`]) are text. It prints and writes
//! nothing: `cmd::analyze` prints the tables and writes the report folder. A log whose last line is
//! cut short (a VM killed mid-write) is analyzed without that line, with a
//! note.
//!
//! [`Analysis`] is everything `analyze` reports about one run, gathered by
//! [`analyze`] from the per-VM figures ([`per_vm`]), the drift ([`drift`]),
//! happens-before ([`causal`]) and the space-time model
//! ([`spacetime::model`]), with the notes a reader should know. Pure: parsed
//! log lines ([`Line`]) in, no files and no wall clock.
//!
//! Definitions used throughout:
//! - Times are true times, seconds since the run's common start: the
//!   earliest `start_at` of the `start` lines, else the earliest tick event.
//!   A VM whose `start` line records a lying clock (`clock_skew_us`,
//!   `clock_drift_ppm`) has its times undone to true time first
//!   ([`crate::run::clock`]); only [`causal::skew`] and [`causal::hlc`]
//!   read the times as logged.
//! - A jump is the clock increase from one tick event (`internal`, `send`,
//!   `receive`) to the next; the first tick's is from 0.
//! - p95 is the nearest-rank percentile: the value at rank ceil(0.95 n) of
//!   the n sorted values.
//! - A VM's clock at time t is the clock of its last tick event at or before
//!   t, and 0 before its first. VMs without tick events are left out of drift
//!   and lag (their clock would be 0 throughout).

pub mod across;
pub mod causal;
pub mod distributions;
pub mod drift;
#[cfg(test)]
mod fixtures;
pub mod model;
pub mod per_vm;
pub mod plots;
pub mod spacetime;

use std::path::Path;

use anyhow::Result;

use crate::logline::{Event, Line};
use crate::run::messages::Index;
use crate::run::read;
use causal::Causal;
use distributions::Dist;
use drift::{Drift, GRID_STEP_S};
use per_vm::{VmSeries, VmStats, latencies_ms, secs_since};
use spacetime::model::{MAX_LANE_EVENTS, SpaceTime};

/// Reads the run in `dir` (through [`read`]) and analyzes it; `window` is
/// the space-time diagram's, in seconds from the start. The reader's notes
/// (a cut last line) come first in [`Analysis::notes`].
pub fn analyze_dir(dir: &Path, window: (f64, f64)) -> Result<Analysis> {
    let (logs, read_notes) = read::read_logs(dir)?;
    let mut analysis = analyze(&logs, window);
    analysis.notes.splice(0..0, read_notes);
    Ok(analysis)
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
pub fn analyze(logged: &[(u32, Vec<Line>)], window: (f64, f64)) -> Analysis {
    // Every figure but the clocks' own is on true time: undo lying clocks.
    let true_logs = crate::run::clock::on_true_time(logged);
    let logs = true_logs.as_deref().unwrap_or(logged);
    let start_us = common_start(logs);
    let sends = Index::of(logs);
    let mut vms = vm_rows(logs, &sends);
    let series: Vec<VmSeries> = logs
        .iter()
        .map(|(id, lines)| VmSeries::from_lines(*id, lines, start_us))
        .collect();
    let end_us = grid_end_us(logs, &series);
    let drift = drift_of(&series, start_us, end_us, &mut vms);
    let causal = causal::analyze(logs, logged, &sends, (start_us, end_us));
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
