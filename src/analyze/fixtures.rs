//! Log lines for the analysis tests: one builder per event kind, and a small
//! run of two VMs with one message delivered and one receive without its send.

use crate::logline::{Event, Line, StartInfo, StopReason};
use crate::run::read::RunLogs;
pub use crate::testkit::T0;

pub fn at(ms: i64, vm: u32, event: Event) -> Line {
    Line {
        time_us: T0 + ms * 1000,
        vm,
        event,
    }
}

pub fn start(ms: i64, vm: u32, rate: u32) -> Line {
    let info = StartInfo {
        rate,
        event_range: 10,
        seed: 7,
        peers: vec![],
        run: "r1".into(),
        runtime_us: Some(1_000_000),
        start_at_us: Some(T0),
        delay_us: None,
        clock_skew_us: None,
        clock_drift_ppb: None,
    };
    at(ms, vm, Event::Start(info))
}

pub fn internal(ms: i64, vm: u32, tick: u64, clock: u64) -> Line {
    at(
        ms,
        vm,
        Event::Internal {
            tick,
            clock,
            queue: 0,
        },
    )
}

pub fn send(ms: i64, vm: u32, tick: u64, clock: u64, to: &[u32]) -> Line {
    let to = to.to_vec();
    at(
        ms,
        vm,
        Event::Send {
            tick,
            clock,
            queue: 0,
            to,
        },
    )
}

/// A receive at `ms` of the message `from` sent at `sent_tick`, after `wait_ms` queued.
pub fn receive(
    ms: i64,
    vm: u32,
    tc: (u64, u64),
    queue: u64,
    from: (u32, u64),
    wait_ms: u64,
) -> Line {
    let event = Event::Receive {
        tick: tc.0,
        clock: tc.1,
        queue,
        from: from.0,
        sent_tick: from.1,
        msg_clock: tc.1 - 1,
        wait_us: wait_ms * 1000,
    };
    at(ms, vm, event)
}

pub fn stop(ms: i64, vm: u32, ticks: u64, clock: u64) -> Line {
    let reason = StopReason::Runtime;
    at(
        ms,
        vm,
        Event::Stop {
            ticks,
            clock,
            reason,
        },
    )
}

/// VM 1 sends at 100 ms (tick 2) to VM 2, which takes it at 400 ms
/// after 250 ms queued: 50 ms on the way.
pub fn two_vms() -> RunLogs {
    let one = vec![
        start(0, 1, 10),
        internal(0, 1, 1, 1),
        send(100, 1, 2, 2, &[2]),
        internal(200, 1, 3, 3),
        stop(300, 1, 3, 3),
    ];
    let two = vec![
        start(0, 2, 5),
        internal(0, 2, 1, 1),
        internal(200, 2, 2, 2),
        receive(400, 2, (3, 3), 0, (1, 2), 250),
        receive(600, 2, (4, 4), 0, (1, 99), 0),
        stop(700, 2, 4, 4),
    ];
    vec![(1, one), (2, two)]
}
