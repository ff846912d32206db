use super::*;
use crate::logline::StartInfo;

const T0: i64 = 1_795_000_000_000_000;

fn at(ms: i64, vm: u32, event: Event) -> Line {
    Line {
        time_us: T0 + ms * 1000,
        vm,
        event,
    }
}

fn start(ms: i64, vm: u32, rate: u32) -> Line {
    let info = StartInfo {
        rate,
        event_range: 10,
        seed: 7,
        peers: vec![],
        run: "r1".into(),
        runtime_us: Some(1_000_000),
        start_at_us: Some(T0),
        delay_us: None,
    };
    at(ms, vm, Event::Start(info))
}

fn internal(ms: i64, vm: u32, tick: u64, clock: u64) -> Line {
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

fn send(ms: i64, vm: u32, tick: u64, clock: u64, to: &[u32]) -> Line {
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
fn receive(ms: i64, vm: u32, tc: (u64, u64), queue: u64, from: (u32, u64), wait_ms: u64) -> Line {
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

fn stop(ms: i64, vm: u32, ticks: u64, clock: u64) -> Line {
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

#[test]
fn drift_and_lag_on_a_grid() {
    let a = [(0.0, 1), (0.15, 2), (0.35, 3)];
    let b = [(0.05, 1), (0.25, 5)];
    let d = Drift::on_grid(&[&a, &b], 0.4, 0.1).unwrap();
    // At 0, .1, .2, .3, .4: a = 1 1 2 2 3, b = 0 1 1 5 5.
    let drift: Vec<u64> = d.series.iter().map(|p| p.1).collect();
    assert_eq!(drift, vec![1, 0, 1, 3, 2]);
    assert!((d.mean - 1.4).abs() < 1e-9 && d.max == 3);
    assert!(
        (d.growth_per_min - 300.0).abs() < 1e-6,
        "{}",
        d.growth_per_min
    );
    assert!((d.lag_mean[0] - 1.0).abs() < 1e-9 && (d.lag_mean[1] - 0.4).abs() < 1e-9);
    assert_eq!(Drift::on_grid(&[], 1.0, 0.1), None);
    assert_eq!(Drift::on_grid(&[&a], -1.0, 0.1), None);
}

#[test]
fn slope_is_least_squares() {
    assert!((slope(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]) - 2.0).abs() < 1e-12);
    assert_eq!(slope(&[1.0], &[4.0]), 0.0);
    assert_eq!(slope(&[2.0, 2.0], &[1.0, 3.0]), 0.0);
}

/// VM 1 sends at 100 ms (tick 2) to VM 2, which takes it at 400 ms
/// after 250 ms queued: 50 ms on the way.
fn two_vms() -> RunLogs {
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

#[test]
fn latency_matches_the_senders_line() {
    let a = analyze(&two_vms(), (0.0, 10.0));
    let two = &a.vms[1];
    let l = two.latency_ms.unwrap();
    assert_eq!((l.mean, l.max), (50.0, 50.0));
    assert_eq!(two.latency_unmatched, 1);
    assert!(
        a.notes
            .iter()
            .any(|n| n.contains("VM 2: 1 receives without"))
    );
    assert_eq!(
        (a.run.as_deref(), a.seed, a.start_us),
        (Some("r1"), Some(7), T0)
    );
}

#[test]
fn drift_runs_to_the_earliest_end() {
    let a = analyze(&two_vms(), (0.0, 10.0));
    let d = a.drift.unwrap();
    // VM 1 stops at 300 ms: grid 0, .1, .2, .3.
    assert_eq!(d.series.len(), 4);
    // Clocks: VM 1 = 1 2 3 3, VM 2 = 1 1 2 2.
    let drift: Vec<u64> = d.series.iter().map(|p| p.1).collect();
    assert_eq!(drift, vec![0, 1, 1, 1]);
    assert_eq!(a.vms[0].lag_mean, Some(0.0));
    assert_eq!(a.vms[1].lag_mean, Some(0.75));
    assert_eq!(a.series[0].clock, vec![(0.0, 1), (0.1, 2), (0.2, 3)]);
}

#[test]
fn a_crashed_vm_has_no_stop_and_ends_the_drift() {
    let mut logs = two_vms();
    logs[1].1.truncate(3); // VM 2 dies after its tick at 200 ms.
    let a = analyze(&logs, (0.0, 10.0));
    assert_eq!(a.vms[1].stop, None);
    assert!(a.notes.iter().any(|n| n.contains("VM 2: no `stop`")));
    assert_eq!(a.drift.unwrap().series.len(), 3);
    assert_eq!(a.vms[1].duration_s, 0.2);
}

#[test]
fn a_vm_without_ticks_is_left_out_of_drift() {
    let mut logs = two_vms();
    logs.push((3, vec![start(0, 3, 2), stop(300, 3, 0, 0)]));
    logs.push((4, vec![]));
    let a = analyze(&logs, (0.0, 10.0));
    for s in &a.vms[2..] {
        assert_eq!(
            (s.ticks, s.jumps, s.lag_mean, s.queue_mean),
            (0, None, None, None)
        );
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains(&format!("VM {}: no tick", s.vm)))
        );
    }
    assert_eq!(a.vms[3].vm, 4);
    assert_eq!(a.drift.unwrap().lag_mean.len(), 2);
    let nothing = analyze(&[], (0.0, 10.0));
    assert!(nothing.vms.is_empty() && nothing.drift.is_none());
}

#[test]
fn the_start_falls_back_to_the_first_tick() {
    let mut logs = two_vms();
    for (_, lines) in &mut logs {
        lines.remove(0);
        lines[0].time_us += 5000;
    }
    assert_eq!(common_start(&logs), T0 + 5000);
}

#[test]
fn space_time_keeps_the_window_and_cuts_arrows_at_its_edges() {
    let logs = two_vms();
    let st = analyze(&logs, (0.15, 0.5)).space_time;
    let times: Vec<(u32, f64)> = st.marks.iter().map(|m| (m.vm, m.t)).collect();
    assert_eq!(times, vec![(1, 0.2), (2, 0.2), (2, 0.4)]);
    // Sent at 0.1, before the window, received inside it: kept.
    assert_eq!(st.arrows.len(), 1);
    let a = &st.arrows[0];
    assert_eq!((a.from, a.to, a.sent, a.received), (1, 2, 0.1, 0.4));
    assert!(analyze(&logs, (0.45, 1.0)).space_time.arrows.is_empty());
    assert_eq!(st.vms, vec![1, 2]);
}

#[test]
fn a_crowded_window_is_cut_short() {
    let lines: Vec<Line> = (1..=10).map(|k| internal(k as i64 * 10, 1, k, k)).collect();
    let mut st = SpaceTime::of(&[(1, lines)], T0, (0.0, 10.0), &Index::default());
    assert_eq!(st.cap(20), None);
    assert_eq!(st.cap(4), Some(10.0));
    assert_eq!(st.marks.len(), 4);
    assert!(st.window.1 < 0.05 && st.window.1 > 0.04);
}
#[test]
fn link_events_are_counted_and_change_nothing_else() {
    let mut h = crate::testkit::History::new(3);
    h.internal(1, 0).send(1, &[2, 3], 100).internal(2, 150);
    h.receive(2, 1, 300).send(2, &[1], 350).receive(3, 1, 400);
    h.receive(1, 2, 450).internal(3, 500);
    let plain = h.logs(600);
    let mut linked = plain.clone();
    // (VM, index the event goes at, event), each with the time of the
    // line before it: VM 1's link to 2 breaks twice and heals, VM 3's
    // link to 1 breaks during the stop and is never back.
    let events = [
        (1, 2, Event::LinkDown { peer: 2 }),
        (1, 4, Event::LinkUp { peer: 2, resent: 1 }),
        (1, 5, Event::LinkDown { peer: 2 }),
        (1, 6, Event::LinkUp { peer: 2, resent: 3 }),
        (2, 1, Event::LinkDown { peer: 1 }),
        (2, 2, Event::LinkUp { peer: 1, resent: 0 }),
        (3, 3, Event::LinkDown { peer: 1 }),
    ];
    for (vm, at, event) in events {
        let lines = &mut linked[vm as usize - 1].1;
        let time_us = lines[at - 1].time_us;
        lines.insert(at, Line { time_us, vm, event });
    }
    let window = (0.0, 10.0);
    let (a, mut b) = (analyze(&plain, window), analyze(&linked, window));
    let counts: Vec<(u64, u64)> = b.vms.iter().map(|s| (s.link_down, s.resent)).collect();
    assert_eq!(counts, [(2, 4), (1, 0), (1, 0)]);
    for s in &mut b.vms {
        (s.link_down, s.resent) = (0, 0);
    }
    assert_eq!(a, b);
    let svg = super::super::spacetime::diagram;
    assert_eq!(svg(&a.space_time, &a.vms), svg(&b.space_time, &b.vms));
    // And the ShiViz export.
    let shiviz = |logs: &RunLogs| {
        let clocks = super::super::causal::VectorClocks::of(logs);
        let run = crate::export::shiviz::Run {
            label: None,
            logs,
            clocks: &clocks,
        };
        crate::export::shiviz::shiviz(&[run])
    };
    assert_eq!(shiviz(&plain), shiviz(&linked));
    assert!(shiviz(&plain).contains("vm1"));
}
