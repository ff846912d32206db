use super::*;
use crate::analyze::fixtures::{T0, start, stop, two_vms};
use crate::run::read::RunLogs;

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
    let svg = crate::analyze::spacetime::svg::diagram;
    assert_eq!(svg(&a.space_time, &a.vms), svg(&b.space_time, &b.vms));
    // And the ShiViz export.
    let shiviz = |logs: &RunLogs| {
        let clocks = crate::analyze::causal::vclock::VectorClocks::of(logs);
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

#[test]
fn lying_clocks_are_undone_to_true_time_before_any_figure() {
    use crate::testkit::{History, Plan, T0};
    let run = |clocks: &[(i64, i64)]| {
        let plan = Plan {
            rate: 20,
            seed: 9,
            runtime_us: Some(1_000_000),
            delay_us: 4_000,
            ..Plan::default()
        };
        let mut h = History::skewed(3, plan, T0, clocks);
        for k in 0..20 {
            for id in 1..=3 {
                h.roll_at(id, T0 + k * 50_000 + i64::from(id) * 300);
            }
        }
        analyze(&h.logs(1_000), (0.0, 1.0))
    };
    let truth = run(&[]);
    let clocks = [(-200_000, 30_000_000), (0, 0), (180_000, -40_000_000)];
    let mut skewed = run(&clocks);
    let mut c = skewed.causal.take().unwrap();
    let mut t = truth.causal.clone().unwrap();
    // The clocks' own figures differ; every other one is true time's.
    assert!(c.clocks.skewed && !t.clocks.skewed);
    assert!(c.clocks.hb_inverted > 0 && c.clocks.hb_inverted_true == 0);
    assert_eq!(t.clocks.hb_inverted, 0);
    // VM 1 at -200 ms and VM 3 at +180 ms at the start; 1 s later VM 1 has
    // gained 30 ms and VM 3 lost 40: the widest spread is at the start.
    assert_eq!(c.clocks.epsilon_us, 380_000);
    let hlc = c.clocks.hlc.unwrap();
    assert!(hlc.max_offset_us > 0 && hlc.max_offset_us <= c.clocks.epsilon_us);
    assert_eq!(c.clocks.hlc_beyond_epsilon, 0);
    c.clocks = Default::default();
    t.clocks = Default::default();
    assert_eq!(c, t);
    skewed.causal = truth.causal.clone();
    assert_eq!(skewed, truth);
}
