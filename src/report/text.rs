//! The terminal text of the figures, each returned as a `String`: the
//! launcher's end-of-run table and `analyze`'s tables, drift line and
//! happens-before section, every line within [`text::WIDTH`] columns; and
//! the figure formats (`12.3%`, `1,015,748`, `5.000 ms`, `-` for none) that
//! the HTML page shares.

use std::fmt::Write as _;

use crate::analyze::Analysis;
use crate::analyze::causal::Causal;
use crate::analyze::causal::staleness::Stale;
use crate::analyze::distributions::Dist;
use crate::analyze::per_vm::VmStats;
use crate::text::{self, col, under, word};

/// The launcher's end-of-run table, one row per VM.
pub fn end_of_run_table(rows: &[VmStats]) -> String {
    let cols = [
        col("vm"),
        col("rate"),
        col("ticks"),
        col("receive"),
        col("send"),
        col("internal"),
        col("clock"),
        under("max", "queue"),
        under("max", "jump"),
        col("pending"),
        word("stop"),
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut c = ints(&[r.vm.into(), r.rate.into(), r.ticks, r.receives]);
            c.extend(ints(&[r.sends, r.internals, r.final_clock, r.max_queue]));
            c.extend(ints(&[r.max_jump, r.pending]));
            c.push(stop_word(r).to_string());
            c
        })
        .collect();
    text::render(&cols, &cells)
}

fn ints(v: &[u64]) -> Vec<String> {
    v.iter().map(u64::to_string).collect()
}

/// How a VM stopped, or `DIED` without a `stop` line.
pub fn stop_word(s: &VmStats) -> &'static str {
    s.stop.map_or("DIED", |r| r.as_str())
}

/// `analyze`'s terminal output, every line within [`text::WIDTH`]
/// columns: three tables (events; clocks and jumps; queues and message
/// timing), the drift lines and the happens-before section. Messages
/// received equal receive events, so that column is only in the files.
pub fn summary_table(a: &Analysis) -> String {
    let mut out = events_table(&a.vms);
    out.push('\n');
    out.push_str(&clocks_table(&a.vms));
    out.push('\n');
    out.push_str(&timing_table(&a.vms));
    out.push('\n');
    out.push_str(&drift_line(a));
    if let Some(c) = &a.causal {
        out.push('\n');
        out.push_str(&causal_text(c));
    }
    out
}

/// Events by kind and messages, per VM. When a link broke, two columns
/// more (links: down, resent) if they fit in [`text::WIDTH`], else a line
/// under the table.
fn events_table(vms: &[VmStats]) -> String {
    let plain = counts_table(vms, false);
    if vms.iter().all(|s| s.link_down == 0 && s.resent == 0) {
        return plain;
    }
    let with_links = counts_table(vms, true);
    if text::max_width(&with_links) <= text::WIDTH {
        return with_links;
    }
    plain + &links_line(vms)
}

/// `links: VM 2 broke 3 times, resent 41; VM 3 broke 1 time, resent 0`,
/// for the VMs whose links broke or that resent, wrapped.
fn links_line(vms: &[VmStats]) -> String {
    let times = |n: u64| {
        if n == 1 {
            "1 time".to_string()
        } else {
            format!("{n} times")
        }
    };
    let per_vm: Vec<String> = vms
        .iter()
        .filter(|s| s.link_down > 0 || s.resent > 0)
        .map(|s| {
            format!(
                "VM {} broke {}, resent {}",
                s.vm,
                times(s.link_down),
                s.resent
            )
        })
        .collect();
    text::wrap(&format!("links: {}", per_vm.join("; ")), 2)
}

/// The events table, with the two link columns or without.
fn counts_table(vms: &[VmStats], links: bool) -> String {
    let mut cols = vec![
        col("vm"),
        col("rate"),
        word("stop"),
        col("ticks"),
        under("events", "internal"),
        under("events", "send"),
        under("events", "receive"),
        under("messages", "sent"),
        under("messages", "pending"),
    ];
    if links {
        cols.extend([under("links", "down"), under("links", "resent")]);
    }
    let rows: Vec<Vec<String>> = vms
        .iter()
        .map(|s| {
            let mut c = ints(&[s.vm.into(), s.rate.into()]);
            c.push(stop_word(s).to_string());
            c.extend(ints(&[s.ticks, s.internals, s.sends, s.receives]));
            c.extend(ints(&[s.messages_sent, s.pending]));
            if links {
                c.extend(ints(&[s.link_down, s.resent]));
            }
            c
        })
        .collect();
    text::render(&cols, &rows)
}

/// Final clock, clock rate, lag and clock jumps, per VM.
fn clocks_table(vms: &[VmStats]) -> String {
    let cols = [
        col("vm"),
        under("clock", "final"),
        under("clock", "per s"),
        under("clock", "lag"),
        under("jump", "mean"),
        under("jump", "p95"),
        under("jump", "max"),
        under("jump", ">1 %"),
    ];
    let rows: Vec<Vec<String>> = vms
        .iter()
        .map(|s| {
            let j = s.jumps;
            vec![
                s.vm.to_string(),
                s.final_clock.to_string(),
                num(s.clock_rate, 2),
                num(s.lag_mean, 1),
                num(j.map(|d| d.mean), 2),
                num(j.map(|d| d.p95), 0),
                num(j.map(|d| d.max), 0),
                num(s.jump_over_1_share.map(|x| 100.0 * x), 1),
            ]
        })
        .collect();
    let mut out = text::render(&cols, &rows);
    out.push_str("lag: mean clock units behind the fastest VM; jump: clock increase per tick\n");
    out
}

/// Queue lengths, queue wait and send-to-arrival latency, per VM.
fn timing_table(vms: &[VmStats]) -> String {
    let cols = [
        col("vm"),
        under("queue", "mean"),
        under("queue", "max"),
        under("queue", "busy %"),
        under("wait ms", "mean"),
        under("wait ms", "p95"),
        under("wait ms", "max"),
        under("latency ms", "mean"),
        under("latency ms", "p95"),
        under("latency ms", "max"),
    ];
    let rows: Vec<Vec<String>> = vms.iter().map(timing_row).collect();
    text::render(&cols, &rows)
}

/// The happens-before section: a few lines, then staleness per VM.
pub fn causal_text(c: &Causal) -> String {
    let mut out = format!(
        "happens-before (vector clocks rebuilt from the logs):\n  {} events, {} matched receives\n",
        thousands(c.events),
        thousands(c.receives.matched)
    );
    for (what, value) in causal_facts(c).into_iter().skip(1) {
        out.push_str(&text::wrap(&format!("  {what}: {value}"), 4));
    }
    let Some(s) = &c.staleness else { return out };
    let _ = writeln!(
        out,
        "\nstaleness of what each VM knows of the others, every {} ms (mean over them):",
        (s.step_s * 1000.0).round()
    );
    let cols = [
        col("vm"),
        under("events behind", "mean"),
        under("events behind", "max"),
        under("age s", "mean"),
        under("age s", "max"),
    ];
    let rows: Vec<Vec<String>> = c
        .vms
        .iter()
        .zip(&s.per_vm)
        .map(|(vm, st)| stale_cells(vm.to_string(), st))
        .collect();
    out.push_str(&text::render(&cols, &rows));
    out
}

/// The happens-before figures as (what, value) lines, for the terminal and the page.
pub fn causal_facts(c: &Causal) -> Vec<(&'static str, String)> {
    let p = &c.pairs;
    let r = &c.receives;
    let or_dash = |v: Option<f64>| v.map_or("-".to_string(), percent);
    vec![
        (
            "events (tick events) and matched receives",
            format!(
                "{} events, {} matched receives",
                thousands(c.events),
                thousands(r.matched)
            ),
        ),
        (
            "concurrent pairs",
            format!(
                "{} of {} cross-VM pairs",
                or_dash(c.concurrent_share()),
                thousands(p.cross)
            ),
        ),
        (
            "Lamport's order claims an order happens-before lacks",
            format!(
                "in {} of concurrent pairs (L(a) != L(b)); {} of the pairs it orders are concurrent",
                or_dash(c.lamport_ordered_concurrent_share()),
                or_dash(c.lamport_order_unfounded_share())
            ),
        ),
        (
            "(clock, vm) order against wall time",
            format!(
                "{} of cross-VM pairs disagree ({}), by up to {}",
                or_dash(c.wall_disagreement_share()),
                thousands(c.wall.disagreements),
                duration(c.wall.max_gap_us)
            ),
        ),
        (
            "receives",
            format!(
                "{} without their send, {} brought no news (their send was already known)",
                r.unmatched, r.no_news
            ),
        ),
    ]
    .into_iter()
    .chain(clock_facts(c, r.matched))
    .collect()
}

/// The wall clocks against happens-before, and the hybrid logical clock.
fn clock_facts(c: &Causal, matched: u64) -> Vec<(&'static str, String)> {
    let k = &c.clocks;
    let clocks = if k.skewed {
        format!(
            "they lie (clock_skew_us, clock_drift_ppm in the start lines): two differ by up to {} (epsilon); the figures above are on true time, recovered from the start lines",
            duration(k.epsilon_us)
        )
    } else {
        "true as far as the start lines tell (no clock_skew_us or clock_drift_ppm): epsilon 0, unless the VMs ran on hosts whose clocks disagree".to_string()
    };
    let mut facts = vec![
        ("the VMs' clocks", clocks),
        (
            "receives before their send by the VMs' own clocks",
            format!(
                "{} of {} matched receives{}; on true time {}",
                thousands(k.before_send),
                thousands(matched),
                by_up_to(k.before_send, k.before_send_max_us),
                thousands(k.before_send_true)
            ),
        ),
        (
            "pairs a -> b the logged wall times put the other way",
            format!(
                "{}{}; on true time {}",
                thousands(k.hb_inverted),
                by_up_to(k.hb_inverted, k.hb_inverted_max_us),
                thousands(k.hb_inverted_true)
            ),
        ),
    ];
    if let Some(h) = &k.hlc {
        let lamport = k
            .lamport_per_min()
            .map_or(String::new(), |m| format!(", {m:.0} a minute"));
        facts.push((
            "hybrid logical clock (l, c) from the logged times",
            format!(
                "l - pt at most {} (mean {}; {} events ahead of their own clock) within the bound epsilon {} ({} events beyond it); c at most {}; Lamport's clock meanwhile reached {}{lamport}, without bound",
                duration(h.max_offset_us),
                duration(h.mean_offset_us.round() as i64),
                thousands(h.ahead),
                duration(k.epsilon_us),
                thousands(k.hlc_beyond_epsilon),
                h.max_c,
                thousands(k.lamport_max),
            ),
        ));
    }
    facts
}

/// `, by up to 12.345 ms` after a count that is not 0.
fn by_up_to(count: u64, us: i64) -> String {
    if count == 0 {
        String::new()
    } else {
        format!(", by up to {}", duration(us))
    }
}

/// A share as a percentage: one decimal, more below 1% so small shares show.
pub fn percent(x: f64) -> String {
    let p = 100.0 * x;
    let decimals = if p == 0.0 || p >= 1.0 {
        1
    } else {
        (1.0 - p.log10().floor()).clamp(1.0, 8.0) as usize
    };
    format!("{p:.decimals$}%")
}

/// Microseconds as `12.345 ms` below a second, else `1.234 s`.
pub fn duration(us: i64) -> String {
    if us.abs() < 1_000_000 {
        format!("{:.3} ms", us as f64 / 1e3)
    } else {
        format!("{:.3} s", us as f64 / 1e6)
    }
}

/// An integer with thousands separators: `1,015,748`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() * 4 / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn timing_row(s: &VmStats) -> Vec<String> {
    let d = |v: Option<Dist>, f: fn(&Dist) -> f64, k| num(v.as_ref().map(f), k);
    vec![
        s.vm.to_string(),
        num(s.queue_mean, 2),
        s.max_queue.to_string(),
        num(s.queue_nonempty_share.map(|x| 100.0 * x), 1),
        d(s.wait_ms, |x| x.mean, 1),
        d(s.wait_ms, |x| x.p95, 1),
        d(s.wait_ms, |x| x.max, 1),
        d(s.latency_ms, |x| x.mean, 2),
        d(s.latency_ms, |x| x.p95, 2),
        d(s.latency_ms, |x| x.max, 2),
    ]
}

/// One line on the drift across VMs.
pub fn drift_line(a: &Analysis) -> String {
    match &a.drift {
        Some(d) => format!(
            "drift (max - min logical clock, every {} ms from 0 to {:.1} s):\n  mean {:.1}, max {}, growth {:+.2} per minute\n",
            (d.step_s * 1000.0).round(),
            d.series.last().map_or(0.0, |p| p.0),
            d.mean,
            d.max,
            d.growth_per_min
        ),
        None => "drift: no VM has a tick event\n".to_string(),
    }
}

/// A figure with `decimals` decimals, or `-` when there is none.
pub fn num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.decimals$}"),
        _ => "-".to_string(),
    }
}
/// A staleness row: `first`, then events behind (mean, max) and age in s
/// (mean, max), for the terminal and the page.
pub fn stale_cells(first: String, st: &Stale) -> Vec<String> {
    vec![
        first,
        format!("{:.2}", st.mean_events),
        st.max_events.to_string(),
        format!("{:.3}", st.mean_age_s),
        format!("{:.3}", st.max_age_s),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::columns::MATRIX_MAX_VMS;
    use crate::report::fixtures::{analysis, causal_analysis, wide_analysis};

    #[test]
    fn the_happens_before_section() {
        let a = causal_analysis(3);
        let c = a.causal.as_ref().unwrap();
        let text = causal_text(c);
        assert!(
            text.starts_with(
                "happens-before (vector clocks rebuilt from the logs):\n  5 events, 1 matched receives\n"
            ),
            "{text}"
        );
        assert!(text.contains("concurrent pairs: ") && text.contains("events behind"));
        let rows = text.lines().skip_while(|l| !l.starts_with("vm "));
        assert_eq!(rows.skip(1).count(), 3, "{text}");
        assert!(text::max_width(&text) <= text::WIDTH, "{text}");
        assert!(summary_table(&a).contains(&text));
    }

    #[test]
    fn the_clocks_and_the_hybrid_clock_close_the_section() {
        use crate::testkit::{History, Plan, T0};
        let text = |clocks: &[(i64, i64)]| {
            // VM 1 300 ms fast: VM 2 takes its message before, by its own clock, it was sent.
            let mut h = History::skewed(2, Plan::default(), T0, clocks);
            h.send(1, &[2], 0).receive(2, 1, 100).internal(2, 200);
            let a = crate::analyze::analyze(&h.logs(300), (0.0, 1.0));
            causal_text(a.causal.as_ref().unwrap()).replace("\n    ", " ")
        };
        let lying = text(&[(300_000, 0), (0, 0)]);
        for want in [
            "the VMs' clocks: they lie (clock_skew_us, clock_drift_ppm in the start lines): two differ by up to 300.000 ms (epsilon)",
            "receives before their send by the VMs' own clocks: 1 of 1 matched receives, by up to 200.000 ms; on true time 0",
            "pairs a -> b the logged wall times put the other way: 2, by up to 200.000 ms; on true time 0",
            "hybrid logical clock (l, c) from the logged times: l - pt at most 200.000 ms",
            "within the bound epsilon 300.000 ms (0 events beyond it); c at most 2",
        ] {
            assert!(lying.contains(want), "{want}\n{lying}");
        }
        let true_clocks = text(&[]);
        assert!(true_clocks.contains("the VMs' clocks: true as far as the start lines tell"));
        assert!(true_clocks.contains("own clocks: 0 of 1 matched receives; on true time 0"));
        assert!(
            true_clocks.contains("l - pt at most 0.000 ms"),
            "{true_clocks}"
        );
    }

    #[test]
    fn many_vms_get_per_vm_rows() {
        let a = causal_analysis(MATRIX_MAX_VMS as u32 + 1);
        assert!(causal_text(a.causal.as_ref().unwrap()).lines().count() > MATRIX_MAX_VMS + 6);
    }

    #[test]
    fn figures_read_well() {
        assert_eq!(thousands(1_015_748), "1,015,748");
        assert_eq!(
            (thousands(0), thousands(999), thousands(1000)),
            ("0".into(), "999".into(), "1,000".into())
        );
        assert_eq!(percent(0.227397), "22.7%");
        assert_eq!(percent(0.0000123), "0.0012%");
        assert_eq!(
            (percent(0.0), percent(1.0)),
            ("0.0%".into(), "100.0%".into())
        );
        assert_eq!(duration(5000), "5.000 ms");
        assert_eq!(duration(23_999_721), "24.000 s");
        assert_eq!(
            (num(None, 2), num(Some(f64::NAN), 1)),
            ("-".into(), "-".into())
        );
    }

    #[test]
    fn terminal_tables_have_a_row_per_vm() {
        let a = analysis();
        let t = summary_table(&a);
        let rows = t
            .lines()
            .filter(|l| l.trim_start().starts_with(['1', '2']))
            .count();
        assert_eq!(rows, 6, "three tables:\n{t}");
        assert!(t.contains("DIED") && t.contains("drift (max - min"));
        let t = end_of_run_table(&a.vms);
        assert!(t.lines().nth(2).unwrap().ends_with("runtime"), "{t}");
        assert!(t.lines().nth(3).unwrap().ends_with("DIED"), "{t}");
    }

    #[test]
    fn terminal_tables_fit_in_80_columns() {
        for n in [3, 6, 12] {
            let a = wide_analysis(n);
            let t = summary_table(&a);
            assert!(text::max_width(&t) <= text::WIDTH, "{n} VMs:\n{t}");
            let t = end_of_run_table(&a.vms);
            assert!(text::max_width(&t) <= text::WIDTH, "{n} VMs:\n{t}");
            assert_eq!(t.lines().count(), n as usize + 2);
        }
        let short = summary_table(&causal_analysis(3));
        assert!(text::max_width(&short) <= text::WIDTH, "{short}");
    }

    #[test]
    fn broken_links_show_in_the_events_table_or_under_it() {
        let mut a = causal_analysis(3);
        let quiet = summary_table(&a);
        assert!(
            !quiet.contains("links") && !quiet.contains("resent"),
            "{quiet}"
        );
        a.vms[1].link_down = 2;
        a.vms[1].resent = 41;
        // Narrow figures: two columns more.
        let t = summary_table(&a);
        assert!(text::max_width(&t) <= text::WIDTH, "{t}");
        let heads = t.lines().nth(1).unwrap();
        assert!(heads.ends_with("pending  down  resent"), "{t}");
        let row = t.lines().nth(3).unwrap();
        assert!(row.ends_with("     2      41"), "{t}");
        // Wide figures fit with one space between columns.
        let mut a = wide_analysis(12);
        a.vms[1].link_down = 1;
        a.vms[4].link_down = 3;
        a.vms[4].resent = 123_456;
        let t = summary_table(&a);
        assert!(text::max_width(&t) <= text::WIDTH, "{t}");
        assert!(t.lines().nth(1).unwrap().ends_with("down resent"), "{t}");
        // Wider ones do not: a line under the table instead.
        a.vms[4].resent = 123_456_789_012_345;
        let t = summary_table(&a);
        assert!(text::max_width(&t) <= text::WIDTH, "{t}");
        assert!(!t.lines().nth(1).unwrap().contains("resent"), "{t}");
        let line =
            "links: VM 2 broke 1 time, resent 0; VM 5 broke 3 times, resent 123456789012345\n";
        assert!(t.contains(&format!("\n{line}\n")), "{t}");
    }
}
