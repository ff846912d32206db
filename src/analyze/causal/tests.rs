use super::staleness::StaleSum;
use super::*;
use std::collections::HashMap;

use crate::logline::{Event, StopReason};
use crate::testkit::{History, T0};

/// VM 1: a1 internal, a2 send to 2, a3 internal (at 0, 10, 20 ms).
/// VM 2: b1 internal, b2 receives a2, b3 internal (at 15, 30, 40 ms).
fn two() -> Vec<(u32, Vec<Line>)> {
    let mut h = History::new(2);
    h.internal(1, 0)
        .send(1, &[2], 10)
        .internal(2, 15)
        .internal(1, 20);
    h.receive(2, 1, 30).internal(2, 40);
    h.logs(50)
}

#[test]
fn clocks_of_a_small_history() {
    let vc = VectorClocks::of(&two());
    let one: Vec<&[u32]> = (0..3).map(|p| vc.clock(0, p)).collect();
    let two: Vec<&[u32]> = (0..3).map(|p| vc.clock(1, p)).collect();
    assert_eq!(one, [[1, 0], [2, 0], [3, 0]]);
    assert_eq!(two, [[0, 1], [2, 2], [2, 3]]);
    assert_eq!((vc.vms.clone(), vc.len(), vc.count(1)), (vec![1, 2], 6, 3));
    let r = vc.receives;
    assert_eq!(
        (r.matched, r.unmatched, r.in_cycle, r.no_news),
        (1, 0, 0, 0)
    );
}

#[test]
fn pairs_of_a_small_history() {
    let (pairs, wall) = VectorClocks::of(&two()).pairs();
    // a1, a2 -> b2, b3; the other five pairs are concurrent, of which
    // (a1, b1) and (a3, b2) share a Lamport clock (1 and 3).
    let want = Pairs {
        cross: 9,
        concurrent: 5,
        concurrent_lamport_ordered: 3,
        lamport_ordered: 7,
        clock_condition_broken: 0,
    };
    assert_eq!(pairs, want);
    // (clock, vm) order: a1 b1 a2 a3 b2 b3; b1 (15 ms) comes before a2 (10 ms).
    let want = WallOrder {
        disagreements: 1,
        max_gap_us: 5000,
    };
    assert_eq!(wall, want);
}

#[test]
fn staleness_of_a_small_history() {
    let vc = VectorClocks::of(&two());
    let s = vc.staleness(T0, T0 + 40_000, 0.01).unwrap();
    assert_eq!(s.samples, 5);
    // VM 1 never hears from VM 2, which has made 0 0 1 2 3 events.
    let one = s.matrix[0][1].unwrap();
    assert_eq!((one.mean_events, one.max_events), (1.2, 3));
    assert!((one.mean_age_s - 0.02).abs() < 1e-9 && one.max_age_s == 0.04);
    // VM 2 knows VM 1's first 2 events from 30 ms on: stale 1 2 3 1 1.
    let two = s.matrix[1][0].unwrap();
    assert_eq!((two.mean_events, two.max_events), (1.6, 3));
    assert!((two.mean_age_s - 0.016).abs() < 1e-9 && (two.max_age_s - 0.03).abs() < 1e-9);
    assert_eq!(s.matrix[0][0], None);
    assert_eq!(s.per_vm[1], two);
    let ys: Vec<f64> = s.series[1].iter().map(|p| p.1).collect();
    assert_eq!(ys, [1.0, 2.0, 3.0, 1.0, 1.0]);
    assert!((s.series[1][4].0 - 0.04).abs() < 1e-9);
    assert_eq!(vc.staleness(T0, T0 - 1, 0.1), None);
}

#[test]
fn a_message_whose_send_is_already_known_brings_no_news() {
    // VM 1 sends to 2 and 3 at once; 3 passes word on to 2, whose
    // message 2 takes first.
    let mut h = History::new(3);
    h.send(1, &[2, 3], 0).receive(3, 1, 1).send(3, &[2], 2);
    h.internal(2, 3).receive(2, 3, 4).receive(2, 1, 5);
    let vc = VectorClocks::of(&h.logs(6));
    assert_eq!(vc.receives.no_news, 1);
    assert_eq!(vc.receives.matched, 3);
    assert_eq!(vc.clock(1, 2), [1, 3, 2]);
}

#[test]
fn a_receive_without_its_send_gets_no_edge() {
    let mut logs = two();
    logs[0].1.retain(|l| !matches!(l.event, Event::Send { .. }));
    let vc = VectorClocks::of(&logs);
    assert_eq!((vc.receives.unmatched, vc.receives.matched), (1, 0));
    assert_eq!(vc.clock(1, 1), [0, 2]);
    assert_eq!(vc.clock(0, 1), [2, 0]);
}

fn at(vm: u32, ms: i64, event: Event) -> Line {
    Line {
        time_us: T0 + ms * 1000,
        vm,
        event,
    }
}

fn recv(tick: u64, from: u32, sent_tick: u64) -> Event {
    let (clock, queue, msg_clock, wait_us) = (3, 0, 2, 0);
    Event::Receive {
        tick,
        clock,
        queue,
        from,
        sent_tick,
        msg_clock,
        wait_us,
    }
}

fn send(tick: u64, to: u32) -> Event {
    let (clock, queue, to) = (tick, 0, vec![to]);
    Event::Send {
        tick,
        clock,
        queue,
        to,
    }
}

#[test]
fn a_cycle_in_broken_logs_is_cut_not_followed() {
    // Each VM receives, at tick 1, what the other sends at tick 2.
    let logs = vec![
        (1, vec![at(1, 0, recv(1, 2, 2)), at(1, 1, send(2, 2))]),
        (2, vec![at(2, 0, recv(1, 1, 2)), at(2, 1, send(2, 1))]),
        (3, vec![at(3, 0, recv(1, 3, 2)), at(3, 1, send(2, 3))]),
    ];
    let vc = VectorClocks::of(&logs);
    assert_eq!(
        vc.receives.in_cycle, 2,
        "VM 3's receive of itself is one too"
    );
    assert_eq!(vc.receives.matched, 1);
    for (i, count) in [(0, 2), (1, 2), (2, 2)] {
        for pos in 0..count {
            assert_eq!(vc.clock(i, pos)[i] as usize, pos + 1);
        }
    }
    let (pairs, _) = vc.pairs();
    assert!(pairs.clock_condition_broken > 0);
}

#[test]
fn bookkeeping_lines_are_not_events_and_empty_runs_have_no_figures() {
    let stop = Event::Stop {
        ticks: 0,
        clock: 0,
        reason: StopReason::Runtime,
    };
    let logs = vec![(1, vec![at(1, 0, stop)]), (2, vec![])];
    assert!(VectorClocks::of(&logs).is_empty());
    assert_eq!(
        analyze(&logs, &logs, &Index::of(&logs), (T0, Some(T0))),
        None
    );
    assert_eq!(analyze(&[], &[], &Index::default(), (T0, None)), None);
}

#[test]
fn analyze_gathers_the_figures_and_shares() {
    let logs = two();
    let c = analyze(&logs, &logs, &Index::of(&logs), (T0, Some(T0 + 40_000))).unwrap();
    assert_eq!((c.events, c.vms.clone()), (6, vec![1, 2]));
    assert_eq!(c.concurrent_share(), Some(5.0 / 9.0));
    assert_eq!(c.lamport_ordered_concurrent_share(), Some(3.0 / 5.0));
    assert_eq!(c.lamport_order_unfounded_share(), Some(3.0 / 7.0));
    assert_eq!(c.wall_disagreement_share(), Some(1.0 / 9.0));
    // The 100 ms grid holds one point, at the start: VM 1 has made one event.
    let s = c.staleness.as_ref().unwrap();
    assert_eq!(s.samples, 1);
    assert_eq!(c.mean_staleness().unwrap().mean_events, 0.5);
    assert_eq!(share(1, 0), None);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One step of a random history.
    #[derive(Debug, Clone)]
    enum Act {
        Internal(u32),
        /// From a VM to the peers of a bit mask.
        Send(u32, u32),
        /// A VM takes the message at an index (mod its queue) of its queue.
        Receive(u32, usize),
    }

    fn act(n: u32) -> impl Strategy<Value = Act> {
        prop_oneof![
            (1..=n).prop_map(Act::Internal),
            (1..=n, 1..(1u32 << n)).prop_map(|(id, m)| Act::Send(id, m)),
            (1..=n, 0..8usize).prop_map(|(id, k)| Act::Receive(id, k)),
        ]
    }

    fn history() -> impl Strategy<Value = (u32, Vec<Act>)> {
        (2..=5u32).prop_flat_map(|n| (Just(n), prop::collection::vec(act(n), 0..60)))
    }

    /// Plays the acts; step s happens at s / 2 ms, so some times are equal.
    fn play(n: u32, acts: &[Act]) -> Vec<(u32, Vec<Line>)> {
        let mut h = History::new(n);
        for (s, a) in acts.iter().enumerate() {
            let ms = s as i64 / 2;
            match *a {
                Act::Internal(id) => h.internal(id, ms),
                Act::Send(id, mask) => {
                    let to: Vec<u32> = (1..=n)
                        .filter(|&p| p != id && mask & (1 << (p - 1)) != 0)
                        .collect();
                    h.send(id, &to, ms)
                }
                Act::Receive(id, k) if h.queued(id) > 0 => {
                    let k = k % h.queued(id);
                    h.receive_nth(id, k, ms)
                }
                Act::Receive(id, _) => h.internal(id, ms),
            };
        }
        h.logs(acts.len() as i64)
    }

    /// Every tick event as (vm index, lamport, time), with the graph's
    /// edges, worked out the plain way.
    struct Graph {
        events: Vec<(usize, u64, i64)>,
        reach: Vec<Vec<bool>>,
    }

    fn graph(logs: &[(u32, Vec<Line>)]) -> Graph {
        let ticks: Vec<(usize, &Line)> = logs
            .iter()
            .enumerate()
            .flat_map(|(i, (_, lines))| lines.iter().map(move |l| (i, l)))
            .filter(|(_, l)| l.event.tick_clock().is_some())
            .collect();
        let at: HashMap<(u32, u64), usize> = ticks
            .iter()
            .enumerate()
            .map(|(k, (_, l))| ((l.vm, l.event.tick_clock().unwrap().0), k))
            .collect();
        let mut edges: Vec<(usize, usize)> = (1..ticks.len())
            .filter(|&k| ticks[k - 1].0 == ticks[k].0)
            .map(|k| (k - 1, k))
            .collect();
        for (k, (_, l)) in ticks.iter().enumerate() {
            if let Event::Receive {
                from, sent_tick, ..
            } = l.event
            {
                edges.push((at[&(from, sent_tick)], k));
            }
        }
        let e = ticks.len();
        let mut reach = vec![vec![false; e]; e];
        for (s, row) in reach.iter_mut().enumerate() {
            let mut stack = vec![s];
            while let Some(x) = stack.pop() {
                for &(_, b) in edges.iter().filter(|(a, _)| *a == x) {
                    if !row[b] {
                        row[b] = true;
                        stack.push(b);
                    }
                }
            }
        }
        let events = ticks
            .iter()
            .map(|(i, l)| (*i, l.event.tick_clock().unwrap().1, l.time_us))
            .collect();
        Graph { events, reach }
    }

    /// Staleness of VM i's view of VM j at time t, from the graph.
    fn brute_stale(g: &Graph, i: usize, j: usize, t: i64) -> (u64, i64) {
        let on = |vm: usize| (0..g.events.len()).filter(move |&x| g.events[x].0 == vm);
        let last = on(i).rfind(|&x| g.events[x].2 <= t);
        let known: Vec<usize> = on(j)
            .filter(|&x| last.is_some_and(|l| x == l || g.reach[x][l]))
            .collect();
        let seen = on(j).filter(|&x| g.events[x].2 <= t).count();
        let since = known.last().map_or(T0, |&x| g.events[x].2);
        (seen.saturating_sub(known.len()) as u64, (t - since).max(0))
    }

    /// Each event's clock, in the order of `Graph::events`.
    fn clocks(vc: &VectorClocks) -> Vec<Vec<u32>> {
        (0..vc.n())
            .flat_map(|i| (0..vc.count(i)).map(move |p| vc.clock(i, p).to_vec()))
            .collect()
    }

    fn less(a: &[u32], b: &[u32]) -> bool {
        a.iter().zip(b).all(|(x, y)| x <= y) && a != b
    }

    /// The pair figures counted pair by pair.
    fn brute_pairs(g: &Graph, ids: &[u32]) -> (Pairs, WallOrder) {
        let (mut p, mut w) = (Pairs::default(), WallOrder::default());
        for (x, a) in g.events.iter().enumerate() {
            for (y, b) in g.events.iter().enumerate().skip(x + 1) {
                if a.0 == b.0 {
                    continue;
                }
                p.cross += 1;
                let conc = !g.reach[x][y] && !g.reach[y][x];
                p.concurrent += u64::from(conc);
                p.concurrent_lamport_ordered += u64::from(conc && a.1 != b.1);
                p.lamport_ordered += u64::from(a.1 != b.1);
                let (first, second) = if (a.1, ids[a.0]) < (b.1, ids[b.0]) {
                    (a, b)
                } else {
                    (b, a)
                };
                if first.2 > second.2 {
                    w.disagreements += 1;
                    w.max_gap_us = w.max_gap_us.max(first.2 - second.2);
                }
            }
        }
        (p, w)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_happens_before_b_iff_its_clock_is_less((n, acts) in history()) {
            let logs = play(n, &acts);
            let vc = VectorClocks::of(&logs);
            let g = graph(&logs);
            let v = clocks(&vc);
            prop_assert_eq!(v.len(), g.events.len());
            for x in 0..v.len() {
                for y in 0..v.len() {
                    prop_assert_eq!(g.reach[x][y], less(&v[x], &v[y]), "{} {}: {:?} {:?}", x, y, v[x], v[y]);
                }
            }
            prop_assert_eq!(vc.receives.in_cycle + vc.receives.unmatched, 0);
        }

        #[test]
        fn the_pair_figures_match_counting_pair_by_pair((n, acts) in history()) {
            let logs = play(n, &acts);
            let vc = VectorClocks::of(&logs);
            let g = graph(&logs);
            prop_assert_eq!(vc.pairs(), brute_pairs(&g, &vc.vms));
        }

        #[test]
        fn staleness_matches_the_graph((n, acts) in history()) {
            let logs = play(n, &acts);
            let vc = VectorClocks::of(&logs);
            let g = graph(&logs);
            let end = T0 + acts.len() as i64 * 500;
            let s = vc.staleness(T0, end, 0.001).unwrap();
            for i in 0..n as usize {
                for j in (0..n as usize).filter(|&j| j != i) {
                    let mut sum = StaleSum::default();
                    for k in 0..s.samples {
                        let (events, age) = brute_stale(&g, i, j, T0 + k as i64 * 1000);
                        sum.add(events, age);
                    }
                    prop_assert_eq!(s.matrix[i][j], Some(sum.mean(s.samples)), "{} {}", i, j);
                }
            }
        }
    }
}
