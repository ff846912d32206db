//! The summary's columns, defined once for `summary.csv` and
//! `summary.json`: one [`Cell`] per figure of a VM, named in snake_case with
//! its unit, and the number form both files write.

use crate::analyze::Analysis;
use crate::analyze::causal::Causal;
use crate::analyze::causal::skew::Clocks;
use crate::analyze::causal::staleness::Stale;
use crate::analyze::distributions::Dist;
use crate::analyze::per_vm::VmStats;

use super::text::stop_word;

/// One cell of the summary.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Int(u64),
    /// Empty in CSV and `null` in JSON when missing.
    Num(Option<f64>),
    Text(String),
}

/// The summary columns of one VM: name (snake_case, units in the name) and
/// value. Shares are fractions 0..1; the drift figures repeat on every row.
pub fn columns(a: &Analysis, s: &VmStats) -> Vec<(&'static str, Cell)> {
    use Cell::*;
    let dist = |d: Option<Dist>, f: fn(&Dist) -> f64| Num(d.as_ref().map(f));
    let drift = a.drift.as_ref();
    let mut cols = vec![
        ("run", Text(a.run.clone().unwrap_or_default())),
        (
            "seed",
            Text(a.seed.map(|s| s.to_string()).unwrap_or_default()),
        ),
        ("vm", Int(s.vm.into())),
        ("rate_per_s", Int(s.rate.into())),
        ("stop", Text(stop_word(s).to_lowercase())),
        ("ticks", Int(s.ticks)),
        ("internal_events", Int(s.internals)),
        ("send_events", Int(s.sends)),
        ("receive_events", Int(s.receives)),
        ("pending", Int(s.pending)),
        ("peer_lost", Int(s.peer_lost)),
        ("link_down", Int(s.link_down)),
        ("messages_resent", Int(s.resent)),
        ("messages_sent", Int(s.messages_sent)),
        ("messages_received", Int(s.receives)),
        ("final_clock", Int(s.final_clock)),
        ("duration_s", Num(Some(s.duration_s))),
        ("clock_rate_per_s", Num(s.clock_rate)),
        ("jump_mean", dist(s.jumps, |d| d.mean)),
        ("jump_p95", dist(s.jumps, |d| d.p95)),
        ("jump_max", Int(s.max_jump)),
        ("jump_over_1_share", Num(s.jump_over_1_share)),
        ("queue_mean", Num(s.queue_mean)),
        ("queue_max", Int(s.max_queue)),
        ("queue_nonempty_share", Num(s.queue_nonempty_share)),
        ("wait_mean_ms", dist(s.wait_ms, |d| d.mean)),
        ("wait_p95_ms", dist(s.wait_ms, |d| d.p95)),
        ("wait_max_ms", dist(s.wait_ms, |d| d.max)),
        ("latency_mean_ms", dist(s.latency_ms, |d| d.mean)),
        ("latency_p95_ms", dist(s.latency_ms, |d| d.p95)),
        ("latency_max_ms", dist(s.latency_ms, |d| d.max)),
        ("latency_unmatched", Int(s.latency_unmatched)),
        ("lag_mean", Num(s.lag_mean)),
        ("drift_mean", Num(drift.map(|d| d.mean))),
        ("drift_max", Num(drift.map(|d| d.max as f64))),
        ("drift_growth_per_min", Num(drift.map(|d| d.growth_per_min))),
    ];
    cols.extend(causal_columns(a, s.vm));
    cols.extend(clock_columns(a, s.vm));
    cols
}

/// This VM's lying clock (empty without `--clock-skew`, `--clock-drift`),
/// then the run's clock figures (repeated on every row): receives before
/// their send and happens-before pairs the wall clock reverses, by the
/// logged times (and on true time), the clock uncertainty epsilon and the
/// hybrid logical clock's offset l - pt against it.
fn clock_columns(a: &Analysis, vm: u32) -> Vec<(&'static str, Cell)> {
    use Cell::{Int, Num};
    let c = a.causal.as_ref().map(|c| &c.clocks);
    let own = a.causal.as_ref().and_then(|c| {
        let i = c.vms.iter().position(|&v| v == vm)?;
        c.clocks.per_vm.get(i).copied()
    });
    let ms = |us: i64| us as f64 / 1000.0;
    let int = |get: fn(&Clocks) -> u64| c.map_or(Num(None), |c| Int(get(c)));
    let hlc = c.and_then(|c| c.hlc);
    vec![
        ("clock_skew_ms", Num(own.and_then(|o| o.0).map(ms))),
        ("clock_drift_ppm", Num(own.and_then(|o| o.1).map(ms))),
        ("clock_epsilon_ms", Num(c.map(|c| ms(c.epsilon_us)))),
        ("receives_before_send", int(|c| c.before_send)),
        (
            "receives_before_send_max_ms",
            Num(c.map(|c| ms(c.before_send_max_us))),
        ),
        ("receives_before_send_true", int(|c| c.before_send_true)),
        ("hb_pairs_wall_reversed", int(|c| c.hb_inverted)),
        (
            "hb_pairs_wall_reversed_max_ms",
            Num(c.map(|c| ms(c.hb_inverted_max_us))),
        ),
        ("hb_pairs_wall_reversed_true", int(|c| c.hb_inverted_true)),
        ("hlc_max_offset_ms", Num(hlc.map(|h| ms(h.max_offset_us)))),
        (
            "hlc_mean_offset_ms",
            Num(hlc.map(|h| h.mean_offset_us / 1000.0)),
        ),
        ("hlc_max_c", Num(hlc.map(|h| f64::from(h.max_c)))),
        ("hlc_beyond_epsilon", int(|c| c.hlc_beyond_epsilon)),
    ]
}

/// This VM's staleness (mean over the others) and the run's happens-before
/// shares, repeated on every row like drift.
fn causal_columns(a: &Analysis, vm: u32) -> Vec<(&'static str, Cell)> {
    use Cell::Num;
    let c = a.causal.as_ref();
    let st = vm_staleness(a, vm);
    let f = |get: fn(&Stale) -> f64| Num(st.as_ref().map(get));
    let share = |get: fn(&Causal) -> Option<f64>| Num(c.and_then(get));
    vec![
        ("staleness_mean_events", f(|s| s.mean_events)),
        ("staleness_max_events", f(|s| s.max_events as f64)),
        ("staleness_age_mean_s", f(|s| s.mean_age_s)),
        ("staleness_age_max_s", f(|s| s.max_age_s)),
        ("concurrent_share", share(Causal::concurrent_share)),
        (
            "lamport_ordered_concurrent_share",
            share(Causal::lamport_ordered_concurrent_share),
        ),
        (
            "lamport_order_unfounded_share",
            share(Causal::lamport_order_unfounded_share),
        ),
        (
            "wall_order_disagreement_share",
            share(Causal::wall_disagreement_share),
        ),
    ]
}

/// VM `vm`'s staleness, mean over the other VMs.
fn vm_staleness(a: &Analysis, vm: u32) -> Option<Stale> {
    let c = a.causal.as_ref()?;
    let i = c.vms.iter().position(|&v| v == vm)?;
    c.staleness.as_ref()?.per_vm.get(i).copied()
}

/// A number as written in CSV and JSON: at most six decimals, no exponent.
pub fn number(x: f64) -> String {
    format!("{}", rounded(x))
}

/// `x` rounded to six decimals, as [`number`] writes it (JSON writes the
/// rounded value the same way).
pub fn rounded(x: f64) -> f64 {
    let r = (x * 1e6).round() / 1e6;
    // -0 would print as "-0".
    if r == 0.0 { 0.0 } else { r }
}

/// Most VMs for which the staleness of every pair is shown (page and JSON);
/// above it, only per-VM rows.
pub const MATRIX_MAX_VMS: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_at_most_six_decimals_and_no_exponent() {
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(-0.0000001), "0");
        assert_eq!(number(1e12), "1000000000000");
        assert_eq!(number(2.0), "2");
        assert_eq!(rounded(0.1234567), 0.123457);
    }
}
