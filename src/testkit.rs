//! For tests and benchmarks only, not part of the program: the one builder
//! of lawful runs without processes, sockets or clocks. Every tick is played
//! by the VM's own tick function ([`step::step`], or its scripted halves
//! [`step::act`] and [`step::receive`]), so the Lamport rules are
//! [`vm::clock`]'s, and every line is written by [`logline`]'s writer.
//!
//! A test scripts a history event by event ([`History::send`],
//! [`History::receive`], ...); a benchmark lets the die roll
//! ([`synthetic_run`]). Both give what the readers take: `(file name, text)`
//! per VM ([`History::files`]) or parsed lines ([`History::logs`]).
//!
//! [`vm::clock`]: crate::vm::clock

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use rand::rngs::StdRng;

use crate::logline::{self, Event, Line, StartInfo, StopReason};
use crate::run::clock::PhysClock;
use crate::run::layout::log_path;
use crate::vm;
use crate::vm::clock::Clock;
use crate::vm::step::{self, Action, Incoming};

/// The run's start, microseconds since the epoch (2026-11-18).
pub const T0: i64 = 1_795_000_000_000_000;

/// What every VM's `start` line says, and how long messages take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub rate: u32,
    pub event_range: u32,
    pub seed: u64,
    pub run: String,
    pub runtime_us: Option<u64>,
    pub start_at_us: Option<i64>,
    /// A message arrives this long after its send; a receive before that
    /// takes it anyway (a script decides), with `wait_us` 0.
    pub delay_us: i64,
}

impl Default for Plan {
    /// 10 ticks/s for 1 s from [`T0`], seed 1, run `r1`, instant messages.
    fn default() -> Self {
        Plan {
            rate: 10,
            event_range: 10,
            seed: 1,
            run: "r1".into(),
            runtime_us: Some(1_000_000),
            start_at_us: Some(T0),
            delay_us: 0,
        }
    }
}

/// A message on its way to a VM.
#[derive(Debug, Clone, Copy)]
struct Queued {
    arrives_us: i64,
    from: u32,
    sent_tick: u64,
    msg_clock: u64,
}

#[derive(Debug)]
struct Vm {
    id: u32,
    peers: Vec<u32>,
    clock: Clock,
    tick: u64,
    rng: StdRng,
    /// In the order sent, which is arrival order: every message takes the
    /// same delay.
    queue: VecDeque<Queued>,
    text: String,
    lines: usize,
    /// Under [`History::skewed`]: the clock its lines are stamped with.
    phys: Option<PhysClock>,
}

/// A run of VMs 1..=n built event by event. Times are microseconds since the
/// epoch (`*_us`) or milliseconds after [`T0`] (the chaining methods).
#[derive(Debug)]
pub struct History {
    plan: Plan,
    vms: Vec<Vm>,
}

impl Vm {
    /// What this VM's clock reads at true time `true_us`.
    fn stamp(&self, true_us: i64) -> i64 {
        self.phys.map_or(true_us, |c| c.physical(true_us))
    }

    /// Appends what a stop at `time_us` logs to `text` (this VM's log so
    /// far): a `pending` per message waiting, then `stop`. Returns the
    /// number of lines.
    fn closing(&self, reason: StopReason, true_us: i64, text: &mut String) -> usize {
        let time_us = self.stamp(true_us);
        for q in &self.queue {
            let pending = Event::Pending {
                from: q.from,
                sent_tick: q.sent_tick,
                msg_clock: q.msg_clock,
            };
            logline::write_line(time_us, self.id, &pending, text);
        }
        let stop = Event::Stop {
            ticks: self.tick,
            clock: self.clock.value(),
            reason,
        };
        logline::write_line(time_us, self.id, &stop, text);
        self.queue.len() + 1
    }
}

fn at_ms(ms: i64) -> i64 {
    T0 + ms * 1000
}

impl History {
    /// `n` VMs with the default [`Plan`], their `start` lines at [`T0`].
    pub fn new(n: u32) -> History {
        History::planned(n, Plan::default(), T0)
    }

    /// `n` VMs with `plan`, their `start` lines at `start_us`.
    pub fn planned(n: u32, plan: Plan, start_us: i64) -> History {
        History::skewed(n, plan, start_us, &[])
    }

    /// [`History::planned`] with lying clocks: VM i's lines are stamped by
    /// a clock `clocks[i - 1].0` microseconds off true time and drifting by
    /// `.1` parts per billion from `start_at` (as the VM writes them, keys
    /// in the `start` line included). The methods still take true times.
    pub fn skewed(n: u32, plan: Plan, start_us: i64, clocks: &[(i64, i64)]) -> History {
        let vms = (1..=n)
            .map(|id| Vm {
                id,
                peers: (1..=n).filter(|&p| p != id).collect(),
                clock: Clock::default(),
                tick: 0,
                rng: vm::vm_rng(plan.seed, id),
                queue: VecDeque::new(),
                text: String::new(),
                lines: 0,
                phys: None,
            })
            .collect();
        let mut h = History { plan, vms };
        let from = h.plan.start_at_us.unwrap_or(start_us);
        for (vm, &(offset_us, drift_ppb)) in h.vms.iter_mut().zip(clocks) {
            vm.phys = Some(PhysClock {
                offset_us,
                drift_ppb,
                start_us: from,
            });
        }
        for id in 1..=n {
            let clock = clocks.get(id as usize - 1);
            let start = Event::Start(StartInfo {
                rate: h.plan.rate,
                event_range: h.plan.event_range,
                seed: h.plan.seed,
                peers: h.vm(id).peers.clone(),
                run: h.plan.run.clone(),
                runtime_us: h.plan.runtime_us,
                start_at_us: h.plan.start_at_us,
                delay_us: None,
                clock_skew_us: clock.map(|c| c.0),
                clock_drift_ppb: clock.map(|c| c.1),
            });
            h.write(id, start_us, &start);
        }
        h
    }

    fn vm(&mut self, id: u32) -> &mut Vm {
        &mut self.vms[id as usize - 1]
    }

    fn write(&mut self, id: u32, time_us: i64, event: &Event) {
        let vm = self.vm(id);
        let time_us = vm.stamp(time_us);
        logline::write_line(time_us, id, event, &mut vm.text);
        vm.lines += 1;
    }

    /// VM `id`'s next tick at `time_us`: takes the `k`-th message waiting
    /// (any, if `Some`), else plays `action`, else rolls the die.
    fn tick_at(&mut self, id: u32, time_us: i64, k: Option<usize>, action: Option<Action>) {
        let event_range = self.plan.event_range;
        let delay_us = self.plan.delay_us;
        let vm = self.vm(id);
        vm.tick += 1;
        let tick = vm.tick;
        let msg = k.map(|k| {
            let q = vm.queue.remove(k).expect("a message waiting at that index");
            Incoming {
                from: q.from,
                sent_tick: q.sent_tick,
                msg_clock: q.msg_clock,
                wait_us: (time_us - q.arrives_us).max(0) as u64,
            }
        });
        let waiting = vm.queue.partition_point(|q| q.arrives_us <= time_us) as u64;
        let event = match (msg, action) {
            (Some(m), _) => step::receive(&mut vm.clock, tick, m, waiting),
            (None, Some(a)) => step::act(&mut vm.clock, tick, a, 0),
            (None, None) => step::step(
                &mut vm.clock,
                tick,
                None,
                0,
                &vm.peers,
                event_range,
                &mut vm.rng,
            ),
        };
        self.write(id, time_us, &event);
        if let Event::Send { to, clock, .. } = event {
            for peer in to {
                self.vm(peer).queue.push_back(Queued {
                    arrives_us: time_us + delay_us,
                    from: id,
                    sent_tick: tick,
                    msg_clock: clock,
                });
            }
        }
    }

    /// VM `id`'s next tick at `time_us`, as the VM plays it: the first
    /// message that has arrived by then, or else a roll of the die.
    pub fn roll_at(&mut self, id: u32, time_us: i64) {
        let arrived = self
            .vm(id)
            .queue
            .front()
            .is_some_and(|q| q.arrives_us <= time_us);
        self.tick_at(id, time_us, arrived.then_some(0), None);
    }

    /// An internal event of VM `vm` at `time_us`.
    pub fn internal_at(&mut self, vm: u32, time_us: i64) {
        self.tick_at(vm, time_us, None, Some(Action::Internal));
    }

    /// VM `vm` sends one message to each of `to` at `time_us`.
    pub fn send_at(&mut self, vm: u32, to: &[u32], time_us: i64) {
        self.tick_at(vm, time_us, None, Some(Action::Send(to.to_vec())));
    }

    /// VM `vm` takes the `k`-th message waiting for it (k > 0 breaks FIFO).
    pub fn receive_nth_at(&mut self, vm: u32, k: usize, time_us: i64) {
        self.tick_at(vm, time_us, Some(k), None);
    }

    /// Logs a line that is not a tick (`peer_lost`, `link_down`, ...).
    pub fn note_at(&mut self, vm: u32, event: &Event, time_us: i64) {
        self.write(vm, time_us, event);
    }

    /// The `k`-th message waiting at `vm` is lost on the wire.
    pub fn drop_nth(&mut self, vm: u32, k: usize) {
        self.vm(vm).queue.remove(k);
    }

    /// A fault, to break one rule: VM `vm`'s next tick is numbered `delta`
    /// away from the right one.
    pub fn skew_tick(&mut self, vm: u32, delta: i64) {
        let v = self.vm(vm);
        v.tick = v.tick.saturating_add_signed(delta);
    }

    /// A fault, to break one rule: VM `vm`'s clock jumps `by` ahead.
    pub fn skew_clock(&mut self, vm: u32, by: u64) {
        let v = self.vm(vm);
        for _ in 0..by {
            v.clock.local();
        }
    }

    /// VM `vm` stops at `time_us`: a `pending` line for each message still
    /// waiting, then `stop`.
    pub fn stop_at(&mut self, vm: u32, reason: StopReason, time_us: i64) {
        let v = self.vm(vm);
        let mut text = std::mem::take(&mut v.text);
        v.lines += v.closing(reason, time_us, &mut text);
        v.text = text;
        v.queue.clear();
    }
    /// An internal event of `vm` at `ms` after [`T0`].
    pub fn internal(&mut self, vm: u32, ms: i64) -> &mut Self {
        self.internal_at(vm, at_ms(ms));
        self
    }

    /// `vm` sends to each of `to` at `ms` after [`T0`].
    pub fn send(&mut self, vm: u32, to: &[u32], ms: i64) -> &mut Self {
        self.send_at(vm, to, at_ms(ms));
        self
    }

    /// `vm` takes the oldest message from `from` waiting for it.
    pub fn receive(&mut self, vm: u32, from: u32, ms: i64) -> &mut Self {
        let q = &self.vm(vm).queue;
        let k = q.iter().position(|m| m.from == from).expect("a message");
        self.receive_nth(vm, k, ms)
    }

    /// `vm` takes the `k`-th message waiting for it.
    pub fn receive_nth(&mut self, vm: u32, k: usize, ms: i64) -> &mut Self {
        self.receive_nth_at(vm, k, at_ms(ms));
        self
    }

    /// How many messages wait at `vm`.
    pub fn queued(&self, vm: u32) -> usize {
        self.vms[vm as usize - 1].queue.len()
    }

    /// How many lines VM `vm` has logged: the line number of its last.
    pub fn lines(&self, vm: u32) -> usize {
        self.vms[vm as usize - 1].lines
    }

    /// How many VMs the run has.
    pub fn vm_count(&self) -> u32 {
        self.vms.len() as u32
    }

    /// How many lines all VMs have logged.
    pub fn total_lines(&self) -> usize {
        self.vms.iter().map(|v| v.lines).sum()
    }

    /// Each VM's log as it stands: (`machine_N.log`, text).
    pub fn files(&self) -> Vec<(String, String)> {
        let name = |id| log_path(Path::new(""), id).display().to_string();
        self.vms
            .iter()
            .map(|v| (name(v.id), v.text.clone()))
            .collect()
    }

    /// Every VM stopped for runtime at `end_ms` after [`T0`], as parsed lines.
    pub fn logs(&self, end_ms: i64) -> Vec<(u32, Vec<Line>)> {
        let parse = |l: &str| Line::parse(l).expect("the test kit writes lines that parse");
        let log = |v: &Vm| {
            let mut text = v.text.clone();
            v.closing(StopReason::Runtime, at_ms(end_ms), &mut text);
            (v.id, text.lines().map(parse).collect())
        };
        self.vms.iter().map(log).collect()
    }
}

/// A run that `verify` passes: `vms` VMs at `rate` ticks/s for `runtime`,
/// every tick logged `late_us` after its deadline and played by the die
/// ([`History::roll_at`]), every message taking `delay_us` to arrive.
/// Returns `(file name, text)` per VM, e.g. to time `verify` on a million
/// lines.
pub fn synthetic_run(
    vms: u32,
    rate: u32,
    runtime: Duration,
    seed: u64,
    (late_us, delay_us): (i64, i64),
) -> Vec<(String, String)> {
    let plan = Plan {
        rate,
        event_range: 10,
        seed,
        run: "synth".into(),
        runtime_us: Some(runtime.as_micros() as u64),
        start_at_us: Some(T0),
        delay_us,
    };
    let mut h = History::planned(vms, plan, T0);
    let due = |k: u64| T0 + vm::tick_offset(rate, k).as_micros() as i64 + late_us;
    // Every VM has the same rate: taking them in turn is taking them in time order.
    for k in 1..=vm::tick_count(rate, runtime) {
        for id in 1..=vms {
            h.roll_at(id, due(k));
        }
    }
    let end = T0 + runtime.as_micros() as i64;
    for id in 1..=vms {
        h.stop_at(id, StopReason::Runtime, end);
    }
    h.files()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scripted_history_follows_the_clock_rules() {
        let mut h = History::new(2);
        h.internal(1, 0).send(1, &[2], 10).receive(2, 1, 30);
        let logs = h.logs(50);
        let events: Vec<&Event> = logs[1].1.iter().map(|l| &l.event).collect();
        assert!(matches!(
            events[1],
            Event::Receive {
                tick: 1,
                clock: 3,
                queue: 0,
                from: 1,
                sent_tick: 2,
                msg_clock: 2,
                wait_us: 20_000,
            }
        ));
        assert!(matches!(
            events[2],
            Event::Stop {
                ticks: 1,
                clock: 3,
                ..
            }
        ));
        assert_eq!(logs[1].1[1].time_us, T0 + 30_000);
    }

    #[test]
    fn what_is_left_waiting_is_pending_at_the_stop() {
        let mut h = History::new(3);
        h.send(1, &[2, 3], 0).send(1, &[2], 1);
        h.drop_nth(2, 0);
        let logs = h.logs(5);
        let kinds = |i: usize| -> Vec<&str> { logs[i].1.iter().map(|l| l.event.kind()).collect() };
        assert_eq!(kinds(1), ["start", "pending", "stop"]);
        assert_eq!(kinds(2), ["start", "pending", "stop"]);
        assert_eq!(h.queued(2), 1, "logs() leaves the history as it was");
        assert_eq!(h.lines(1), 3);
    }

    #[test]
    fn a_synthetic_run_is_the_same_for_the_same_seed() {
        let a = synthetic_run(3, 20, Duration::from_secs(1), 7, (0, 100));
        assert_eq!(a, synthetic_run(3, 20, Duration::from_secs(1), 7, (0, 100)));
        assert_ne!(a, synthetic_run(3, 20, Duration::from_secs(1), 8, (0, 100)));
    }
}
