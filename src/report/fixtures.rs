//! Analyses the format tests share: a hand-made one, one of a real small
//! history, and a wide one.

use crate::analyze::Analysis;
use crate::analyze::distributions::Dist;
use crate::analyze::drift::Drift;
use crate::analyze::per_vm::VmStats;
use crate::logline::StopReason;

/// Two VMs: VM 1 with figures, VM 2 without (and no stop line); a run id
/// with a comma and a quote, the largest seed, one note.
pub fn analysis() -> Analysis {
    let one = VmStats {
        vm: 1,
        rate: 4,
        ticks: 80,
        stop: Some(StopReason::Runtime),
        jumps: Some(Dist {
            mean: 1.25,
            p95: 2.0,
            max: 5.0,
        }),
        max_jump: 5,
        wait_ms: Some(Dist {
            mean: 0.5,
            p95: 1.0,
            max: 2.0,
        }),
        clock_rate: Some(4.4),
        ..VmStats::default()
    };
    let two = VmStats {
        vm: 2,
        rate: 1,
        ..VmStats::default()
    };
    Analysis {
        run: Some("ab,c\"d".into()),
        seed: Some(u64::MAX),
        vms: vec![one, two],
        drift: Some(Drift {
            step_s: 0.1,
            mean: 1.5,
            max: 3,
            ..Drift::default()
        }),
        notes: vec!["VM 2: <no> stop".into()],
        ..Analysis::default()
    }
}

/// A real analysis of a small history of `n` VMs: VM 1 sends to 2, which takes it.
pub fn causal_analysis(n: u32) -> Analysis {
    let mut h = crate::testkit::History::new(n);
    h.internal(1, 0).send(1, &[2], 100).internal(2, 150);
    h.receive(2, 1, 300).internal(n, 400);
    crate::analyze::analyze(&h.logs(500), (0.0, 10.0))
}

/// `n` VMs with figures as wide as a long fast run gives (a 10-minute run
/// at 1000 ticks/s): six-digit ticks and clocks.
pub fn wide_analysis(n: u32) -> Analysis {
    let mut a = causal_analysis(n);
    let d = |x: f64| {
        Some(Dist {
            mean: x,
            p95: x * 2.0,
            max: x * 3.0,
        })
    };
    for s in &mut a.vms {
        *s = VmStats {
            vm: s.vm,
            rate: 1000,
            stop: Some(StopReason::Runtime),
            ticks: 600_000,
            internals: 300_000,
            sends: 150_000,
            receives: 150_000,
            pending: 12_345,
            messages_sent: 300_000,
            final_clock: 9_999_999,
            clock_rate: Some(16_666.67),
            jumps: d(16.5),
            max_jump: 999,
            jump_over_1_share: Some(1.0),
            queue_mean: Some(1234.5),
            max_queue: 99_999,
            queue_nonempty_share: Some(1.0),
            wait_ms: d(12_345.6),
            latency_ms: d(1234.56),
            lag_mean: Some(123_456.7),
            ..VmStats::default()
        };
    }
    a
}
