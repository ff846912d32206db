//! Text outputs of the figures, each returned as a `String` (the caller
//! writes files): the launcher's end-of-run table, `analyze`'s terminal
//! tables, `summary.csv`, `summary.json` and `report.html`. The CSV and
//! JSON columns are defined once, in [`columns`].

use std::fmt::Write as _;

use super::analysis::Analysis;
use super::causal::Causal;
use super::causal::staleness::Stale;
use super::distributions::Dist;
use super::per_vm::VmStats;
use super::plots::Plot;
use super::table::{self, col, under, word};
use crate::logline::format_time;

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
    table::render(&cols, &cells)
}

fn ints(v: &[u64]) -> Vec<String> {
    v.iter().map(u64::to_string).collect()
}

/// How a VM stopped, or `DIED` without a `stop` line.
pub fn stop_word(s: &VmStats) -> &'static str {
    s.stop.map_or("DIED", |r| r.as_str())
}

/// `analyze`'s terminal output, every line within [`table::WIDTH`]
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
/// more (links: down, resent) if they fit in [`table::WIDTH`], else a line
/// under the table.
fn events_table(vms: &[VmStats]) -> String {
    let plain = counts_table(vms, false);
    if vms.iter().all(|s| s.link_down == 0 && s.resent == 0) {
        return plain;
    }
    let with_links = counts_table(vms, true);
    if table::max_width(&with_links) <= table::WIDTH {
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
    table::wrap(&format!("links: {}", per_vm.join("; ")), 2)
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
    table::render(&cols, &rows)
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
    let mut out = table::render(&cols, &rows);
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
    table::render(&cols, &rows)
}

/// The happens-before section: a few lines, then staleness per VM.
pub fn causal_text(c: &Causal) -> String {
    let mut out = format!(
        "happens-before (vector clocks rebuilt from the logs):\n  {} events, {} matched receives\n",
        thousands(c.events),
        thousands(c.receives.matched)
    );
    for (what, value) in causal_facts(c).into_iter().skip(1) {
        out.push_str(&table::wrap(&format!("  {what}: {value}"), 4));
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
    out.push_str(&table::render(&cols, &rows));
    out
}

/// The happens-before figures as (what, value) lines, for the terminal and the page.
fn causal_facts(c: &Causal) -> Vec<(&'static str, String)> {
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
fn num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.decimals$}"),
        _ => "-".to_string(),
    }
}

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
    cols
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
fn number(x: f64) -> String {
    let r = (x * 1e6).round() / 1e6;
    // -0 would print as "-0".
    format!("{}", if r == 0.0 { 0.0 } else { r })
}

/// `summary.csv`: a header and one row per VM.
pub fn csv(a: &Analysis) -> String {
    let mut out = String::new();
    for (i, s) in a.vms.iter().enumerate() {
        let cols = columns(a, s);
        if i == 0 {
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            out.push_str(&names.join(","));
            out.push('\n');
        }
        let cells: Vec<String> = cols.into_iter().map(|(_, c)| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn csv_cell(c: Cell) -> String {
    match c {
        Cell::Int(v) => v.to_string(),
        Cell::Num(Some(x)) if x.is_finite() => number(x),
        Cell::Num(_) => String::new(),
        Cell::Text(t) if t.contains([',', '"', '\n', '\r']) => {
            format!("\"{}\"", t.replace('"', "\"\""))
        }
        Cell::Text(t) => t,
    }
}

/// `summary.json`: an array with one flat object per VM.
pub fn json(a: &Analysis) -> String {
    let mut out = String::from("[\n");
    for (i, s) in a.vms.iter().enumerate() {
        let mut fields: Vec<String> = columns(a, s)
            .into_iter()
            .map(|(k, c)| format!("\"{k}\": {}", json_cell(c)))
            .collect();
        if let Some(c) = &a.causal {
            fields.push(format!("\"causal\": {}", causal_json(c, s.vm)));
        }
        out.push_str("  {");
        out.push_str(&fields.join(", "));
        out.push_str(if i + 1 < a.vms.len() { "},\n" } else { "}\n" });
    }
    out.push_str("]\n");
    out
}

/// Most VMs for which the staleness of every pair is shown (page and JSON);
/// above it, only per-VM rows.
pub const MATRIX_MAX_VMS: usize = 10;

/// The run's happens-before counts, and (up to [`MATRIX_MAX_VMS`] VMs)
/// VM `vm`'s staleness toward each other VM, keyed by its id.
fn causal_json(c: &Causal, vm: u32) -> String {
    let (p, r) = (&c.pairs, &c.receives);
    let counts = [
        ("events", c.events),
        ("cross_pairs", p.cross),
        ("concurrent_pairs", p.concurrent),
        (
            "concurrent_lamport_ordered_pairs",
            p.concurrent_lamport_ordered,
        ),
        ("lamport_ordered_pairs", p.lamport_ordered),
        ("clock_condition_broken_pairs", p.clock_condition_broken),
        ("wall_order_disagreements", c.wall.disagreements),
        ("receives_matched", r.matched),
        ("receives_unmatched", r.unmatched),
        ("receives_no_news", r.no_news),
        ("receives_in_cycle", r.in_cycle),
    ];
    let mut fields: Vec<String> = counts
        .iter()
        .map(|(k, v)| format!("\"{k}\": {v}"))
        .collect();
    let gap = number(c.wall.max_gap_us as f64 / 1000.0);
    fields.push(format!("\"wall_order_max_gap_ms\": {gap}"));
    if let Some(row) = staleness_row(c, vm) {
        fields.push(format!("\"staleness_of\": {{{row}}}"));
    }
    format!("{{{}}}", fields.join(", "))
}

/// `"2": {...}, "3": {...}`: VM `vm`'s staleness toward each other VM.
fn staleness_row(c: &Causal, vm: u32) -> Option<String> {
    let s = c
        .staleness
        .as_ref()
        .filter(|_| c.vms.len() <= MATRIX_MAX_VMS)?;
    let i = c.vms.iter().position(|&v| v == vm)?;
    let cells: Vec<String> = c
        .vms
        .iter()
        .zip(&s.matrix[i])
        .filter_map(|(j, st)| {
            let st = st.as_ref()?;
            Some(format!(
                "\"{j}\": {{\"mean_events\": {}, \"max_events\": {}, \"mean_age_s\": {}, \"max_age_s\": {}}}",
                number(st.mean_events),
                st.max_events,
                number(st.mean_age_s),
                number(st.max_age_s)
            ))
        })
        .collect();
    Some(cells.join(", "))
}

fn json_cell(c: Cell) -> String {
    match c {
        Cell::Int(v) => v.to_string(),
        Cell::Num(Some(x)) if x.is_finite() => number(x),
        Cell::Num(_) => "null".to_string(),
        Cell::Text(t) => json_string(&t),
    }
}

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` with `&`, `<`, `>` and quotes escaped for XML and HTML.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #222;
  max-width: 1180px; margin: 2em auto; padding: 0 1.2em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.6em 0 1.2em; }
th, td { padding: 0.3em 0.65em; text-align: right; border-bottom: 1px solid #e5e5e5; }
th { background: #f4f6f8; font-weight: 600; vertical-align: bottom; }
td.l, th.l { text-align: left; }
tr:hover td { background: #fafbfc; }
.died { color: #b00020; font-weight: 600; }
.notes { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 1em; }
.drift { display: flex; gap: 2.5em; margin: 0.6em 0; }
.drift div { font-size: 0.9em; color: #555; }
.drift b { display: block; font-size: 1.6em; color: #222; }
figure { margin: 1.2em 0 2em; }
figure svg { max-width: 100%; height: auto; border: 1px solid #e5e5e5; }
figcaption { color: #555; font-size: 0.9em; margin-top: 0.3em; }
.wide { overflow-x: auto; }
.wide svg { max-width: none; }
code { background: #f4f6f8; padding: 0 0.25em; border-radius: 3px; }
";

/// `report.html`: run facts, notes, the tables and every plot inlined, so
/// the one file works offline. `files` are the report's other files, linked.
pub fn html(a: &Analysis, plots: &[Plot], files: &[&str]) -> String {
    let mut out = String::with_capacity(1 << 20);
    let title = match &a.run {
        Some(r) => format!("lamport-sim run {r}"),
        None => "lamport-sim run".to_string(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape_xml(&title),
        escape_xml(&title)
    );
    out.push_str(&meta(a));
    out.push_str(&notes_html(a));
    out.push_str(&tables_html(a));
    out.push_str(&drift_html(a));
    out.push_str(&causal_html(a));
    out.push_str("<h2>Plots</h2>\n");
    for p in plots {
        out.push_str(&figure(p));
    }
    out.push_str(&files_html(files));
    out.push_str("</body>\n</html>\n");
    out
}

fn meta(a: &Analysis) -> String {
    let seed = a.seed.map(|s| format!(", seed {s}")).unwrap_or_default();
    let rates: Vec<String> = a.vms.iter().map(|s| s.rate.to_string()).collect();
    format!(
        "<p class=\"meta\">{} VMs{}, started {} (times below are seconds from then). Rates (ticks/s): {}.</p>\n",
        a.vms.len(),
        escape_xml(&seed),
        format_time(a.start_us),
        rates.join(", ")
    )
}

fn notes_html(a: &Analysis) -> String {
    if a.notes.is_empty() {
        return String::new();
    }
    let items: String = a
        .notes
        .iter()
        .map(|n| format!("<li>{}</li>", escape_xml(n)))
        .collect();
    format!("<div class=\"notes\"><b>Notes</b><ul>{items}</ul></div>\n")
}

/// A table: header cells (a leading `<` makes a column left-aligned) and rows.
fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let class = |h: &str| {
        if h.starts_with('<') {
            " class=\"l\""
        } else {
            ""
        }
    };
    let mut out = String::from("<table>\n<tr>");
    for h in head {
        let _ = write!(out, "<th{}>{}</th>", class(h), h.trim_start_matches('<'));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for (h, cell) in head.iter().zip(row) {
            let _ = write!(out, "<td{}>{cell}</td>", class(h));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

fn tables_html(a: &Analysis) -> String {
    let head = [
        "VM",
        "rate<br>ticks/s",
        "<stop",
        "ticks",
        "internal",
        "send",
        "receive",
        "messages<br>sent",
        "messages<br>received",
        "pending",
        "final<br>clock",
        "clock rate<br>units/s",
        "lag behind<br>fastest (units)",
    ];
    let rows: Vec<Vec<String>> = a.vms.iter().map(count_cells).collect();
    let mut out = String::from("<h2>Events and clocks</h2>\n");
    out.push_str(&table(&head, &rows));
    let head = [
        "VM",
        "jump<br>mean",
        "jump<br>p95",
        "jump<br>max",
        "jumps<br>&gt; 1",
        "queue<br>mean",
        "queue<br>max",
        "queue<br>non-empty",
        "wait ms<br>mean",
        "wait ms<br>p95",
        "wait ms<br>max",
        "latency ms<br>mean",
        "latency ms<br>p95",
        "latency ms<br>max",
    ];
    let rows: Vec<Vec<String>> = a.vms.iter().map(timing_cells).collect();
    out.push_str("<h2>Clock jumps, queues and message timing</h2>\n");
    out.push_str(&table(&head, &rows));
    out.push_str("<p class=\"meta\">Jump: clock increase from one tick event to the next. Wait: time a message sat in the receiver's queue. Latency: from the send to the message's arrival (receive time minus wait). p95: nearest-rank 95th percentile.</p>\n");
    out
}

fn count_cells(s: &VmStats) -> Vec<String> {
    let stop = match s.stop {
        Some(r) => r.as_str().to_string(),
        None => "<span class=\"died\">died</span>".to_string(),
    };
    vec![
        s.vm.to_string(),
        s.rate.to_string(),
        stop,
        s.ticks.to_string(),
        s.internals.to_string(),
        s.sends.to_string(),
        s.receives.to_string(),
        s.messages_sent.to_string(),
        s.receives.to_string(),
        s.pending.to_string(),
        s.final_clock.to_string(),
        num(s.clock_rate, 2),
        num(s.lag_mean, 1),
    ]
}

fn timing_cells(s: &VmStats) -> Vec<String> {
    let pct = |v: Option<f64>| num(v.map(|x| 100.0 * x), 1) + " %";
    let d = |v: Option<Dist>, f: fn(&Dist) -> f64, k| num(v.as_ref().map(f), k);
    vec![
        s.vm.to_string(),
        d(s.jumps, |x| x.mean, 2),
        d(s.jumps, |x| x.p95, 0),
        s.max_jump.to_string(),
        pct(s.jump_over_1_share),
        num(s.queue_mean, 2),
        s.max_queue.to_string(),
        pct(s.queue_nonempty_share),
        d(s.wait_ms, |x| x.mean, 1),
        d(s.wait_ms, |x| x.p95, 1),
        d(s.wait_ms, |x| x.max, 1),
        d(s.latency_ms, |x| x.mean, 2),
        d(s.latency_ms, |x| x.p95, 2),
        d(s.latency_ms, |x| x.max, 2),
    ]
}

fn drift_html(a: &Analysis) -> String {
    let Some(d) = &a.drift else {
        return "<h2>Drift</h2>\n<p>No VM has a tick event.</p>\n".to_string();
    };
    let end = d.series.last().map_or(0.0, |p| p.0);
    format!(
        "<h2>Drift across VMs</h2>\n<div class=\"drift\"><div><b>{:.1}</b>mean drift (clock units)</div><div><b>{}</b>max drift (clock units)</div><div><b>{:+.2}</b>growth (units per minute)</div></div>\n<p class=\"meta\">Drift: the largest minus the smallest logical clock, sampled every {} ms from 0 to {:.1} s (the earliest end of a VM). Growth: least-squares slope of drift over time, times 60.</p>\n",
        d.mean,
        d.max,
        d.growth_per_min,
        (d.step_s * 1000.0).round(),
        end
    )
}

fn causal_html(a: &Analysis) -> String {
    let Some(c) = &a.causal else {
        return String::new();
    };
    let rows: Vec<Vec<String>> = causal_facts(c)
        .into_iter()
        .map(|(what, value)| vec![escape_xml(what), escape_xml(&value)])
        .collect();
    let mut out = String::from("<h2>Happens-before: what Lamport clocks hide</h2>\n");
    out.push_str(&table(&["<figure", "<value"], &rows));
    out.push_str("<p class=\"meta\">Rebuilt from the logs alone: each VM's event order plus every matched send and receive; every tick event gets a vector clock. Two events are concurrent when neither happens before the other. Lamport's clocks order every pair with different clocks, concurrent or not; the total order breaks ties by VM id.</p>\n");
    out.push_str(&staleness_html(c));
    out
}

fn staleness_html(c: &Causal) -> String {
    let Some(s) = &c.staleness else {
        return String::new();
    };
    let mut out = format!(
        "<h2>Staleness: how far behind each VM's knowledge of the others is</h2>\n<p class=\"meta\">Every {} ms: VM j's own event count minus VM i's vector entry for j (events behind), and the age of what i knows of j (now minus the time of j's event it last heard of), mean and max over the run.</p>\n",
        (s.step_s * 1000.0).round()
    );
    if c.vms.len() <= MATRIX_MAX_VMS {
        out.push_str(&staleness_matrix(c, s));
    }
    let rows: Vec<Vec<String>> = c
        .vms
        .iter()
        .zip(&s.per_vm)
        .map(|(vm, st)| stale_cells(vm.to_string(), st))
        .collect();
    let head = [
        "VM i",
        "events behind<br>mean",
        "max",
        "age s<br>mean",
        "max",
    ];
    out.push_str("<p>Per VM, over the other VMs:</p>\n");
    out.push_str(&table(&head, &rows));
    out
}

fn stale_cells(first: String, st: &Stale) -> Vec<String> {
    vec![
        first,
        format!("{:.2}", st.mean_events),
        st.max_events.to_string(),
        format!("{:.3}", st.mean_age_s),
        format!("{:.3}", st.max_age_s),
    ]
}

/// Row i, column j: i's knowledge of j as `mean / max events, mean age s`.
fn staleness_matrix(c: &Causal, s: &super::causal::staleness::Staleness) -> String {
    let head: Vec<String> = std::iter::once("VM i knows of VM j".to_string())
        .chain(c.vms.iter().map(|j| format!("VM {j}")))
        .collect();
    let rows: Vec<Vec<String>> = c
        .vms
        .iter()
        .zip(&s.matrix)
        .map(|(i, row)| {
            let cells = row.iter().map(|st| match st {
                Some(st) => format!(
                    "{:.2} / {}, {:.3} s",
                    st.mean_events, st.max_events, st.mean_age_s
                ),
                None => "-".to_string(),
            });
            std::iter::once(format!("VM {i}")).chain(cells).collect()
        })
        .collect();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut out = String::from("<p>Each pair: mean / max events behind, mean age.</p>\n");
    out.push_str(&table(&head, &rows));
    out
}

/// A plot inlined (CSS scales it to the page), with a caption and its file.
fn figure(p: &Plot) -> String {
    let wide = if p.file == "spacetime.svg" {
        " class=\"wide\""
    } else {
        ""
    };
    format!(
        "<figure{wide}>\n{}\n<figcaption>{} <a href=\"{}\">{}</a></figcaption>\n</figure>\n",
        p.svg.trim(),
        escape_xml(p.about),
        p.file,
        p.file
    )
}

fn files_html(files: &[&str]) -> String {
    let links: Vec<String> = files
        .iter()
        .map(|f| format!("<a href=\"{f}\">{f}</a>"))
        .collect();
    format!("<h2>Files</h2>\n<p>{}</p>\n", links.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::drift::Drift;
    use crate::logline::StopReason;

    fn analysis() -> Analysis {
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

    #[test]
    fn csv_has_a_header_and_one_full_row_per_vm() {
        let a = analysis();
        let text = csv(&a);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 3);
        let header: Vec<&str> = rows[0].split(',').collect();
        assert_eq!(header.len(), columns(&a, &a.vms[0]).len());
        assert!(header.contains(&"wait_mean_ms") && header.contains(&"drift_growth_per_min"));
        assert!(header.iter().all(|h| {
            h.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        }));
        // The quoted run id holds one comma of its own.
        assert!(rows[1].starts_with("\"ab,c\"\"d\",18446744073709551615,1,4,runtime,80,"));
        assert_eq!(rows[1].split(',').count(), header.len() + 1);
        // VM 2 has no figures: empty cells, and no stop line.
        assert!(rows[2].contains(",died,") && rows[2].contains(",,"));
        assert!(rows[1].contains(",1.25,2,5,") && rows[1].contains(",1.5,3,0"));
    }

    #[test]
    fn json_is_an_array_of_flat_objects() {
        let a = analysis();
        let text = json(&a);
        assert!(text.starts_with("[\n") && text.ends_with("]\n"));
        assert_eq!(text.matches('{').count(), 2);
        assert_eq!(text.matches("\"vm\": ").count(), 2);
        assert!(text.contains("\"run\": \"ab,c\\\"d\""));
        assert!(text.contains("\"seed\": \"18446744073709551615\""));
        assert!(text.contains("\"wait_mean_ms\": null"));
        assert!(text.contains("\"clock_rate_per_s\": 4.4,"));
        assert!(!text.contains("NaN") && !text.contains("inf"));
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(
            escape_xml("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(-0.0000001), "0");
        assert_eq!(number(1e12), "1000000000000");
    }

    #[test]
    fn html_holds_the_tables_notes_and_every_plot() {
        let a = analysis();
        let plots = vec![Plot {
            file: "clock.svg",
            title: "Clock".into(),
            about: "About clocks.",
            svg: "<svg id=\"one\"></svg>".into(),
        }];
        let html = html(&a, &plots, &["summary.csv", "clock.svg"]);
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert!(html.contains("<svg id=\"one\"></svg>") && html.contains("About clocks."));
        assert_eq!(html.matches("<table>").count(), 2);
        assert!(html.contains("VM 2: &lt;no&gt; stop"));
        assert!(html.contains("<a href=\"summary.csv\">"));
        assert!(!html.contains("http"), "works offline");
        assert!(html.contains("class=\"died\""));
    }

    /// A real analysis of a small history: VM 1 sends to 2, which takes it.
    fn causal_analysis(n: u32) -> Analysis {
        let mut h = crate::testkit::History::new(n);
        h.internal(1, 0).send(1, &[2], 100).internal(2, 150);
        h.receive(2, 1, 300).internal(n, 400);
        crate::analyze::analysis::analyze(&h.logs(500), (0.0, 10.0))
    }

    #[test]
    fn the_happens_before_section_in_every_output() {
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
        assert!(table::max_width(&text) <= table::WIDTH, "{text}");
        assert!(summary_table(&a).contains(&text));
        let json = json(&a);
        assert_eq!(json.matches("\"causal\": {\"events\": 5,").count(), 3);
        assert!(json.contains("\"staleness_of\": {\"2\": {\"mean_events\": "));
        let html = html(&a, &[], &[]);
        assert!(html.contains("<h2>Happens-before") && html.contains("VM i knows of VM j"));
        let header = csv(&a).lines().next().unwrap().to_string();
        assert!(header.ends_with(",concurrent_share,lamport_ordered_concurrent_share,lamport_order_unfounded_share,wall_order_disagreement_share"));
    }

    #[test]
    fn many_vms_get_per_vm_rows_only() {
        let a = causal_analysis(MATRIX_MAX_VMS as u32 + 1);
        assert!(!html(&a, &[], &[]).contains("VM i knows of VM j"));
        assert!(!json(&a).contains("staleness_of"));
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

    /// Twelve VMs with figures as wide as a long fast run gives (a 10-minute
    /// run at 1000 ticks/s): six-digit ticks and clocks.
    fn wide_analysis(n: u32) -> Analysis {
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

    #[test]
    fn terminal_tables_fit_in_80_columns() {
        for n in [3, 6, 12] {
            let a = wide_analysis(n);
            let t = summary_table(&a);
            assert!(table::max_width(&t) <= table::WIDTH, "{n} VMs:\n{t}");
            let t = end_of_run_table(&a.vms);
            assert!(table::max_width(&t) <= table::WIDTH, "{n} VMs:\n{t}");
            assert_eq!(t.lines().count(), n as usize + 2);
        }
        let short = summary_table(&causal_analysis(3));
        assert!(table::max_width(&short) <= table::WIDTH, "{short}");
    }
    #[test]
    fn broken_links_show_in_the_events_table_or_under_it() {
        let mut a = causal_analysis(3);
        let header = csv(&a).lines().next().unwrap().to_string();
        assert!(header.contains(",peer_lost,link_down,messages_resent,"));
        let quiet = summary_table(&a);
        assert!(
            !quiet.contains("links") && !quiet.contains("resent"),
            "{quiet}"
        );
        a.vms[1].link_down = 2;
        a.vms[1].resent = 41;
        // Narrow figures: two columns more.
        let t = summary_table(&a);
        assert!(table::max_width(&t) <= table::WIDTH, "{t}");
        let heads = t.lines().nth(1).unwrap();
        assert!(heads.ends_with("pending  down  resent"), "{t}");
        let row = t.lines().nth(3).unwrap();
        assert!(row.ends_with("     2      41"), "{t}");
        assert!(csv(&a).lines().nth(2).unwrap().contains(",2,41,"));
        assert!(json(&a).contains("\"link_down\": 2, \"messages_resent\": 41,"));
        // Wide figures fit with one space between columns.
        let mut a = wide_analysis(12);
        a.vms[1].link_down = 1;
        a.vms[4].link_down = 3;
        a.vms[4].resent = 123_456;
        let t = summary_table(&a);
        assert!(table::max_width(&t) <= table::WIDTH, "{t}");
        assert!(t.lines().nth(1).unwrap().ends_with("down resent"), "{t}");
        // Wider ones do not: a line under the table instead.
        a.vms[4].resent = 123_456_789_012_345;
        let t = summary_table(&a);
        assert!(table::max_width(&t) <= table::WIDTH, "{t}");
        assert!(!t.lines().nth(1).unwrap().contains("resent"), "{t}");
        let line =
            "links: VM 2 broke 1 time, resent 0; VM 5 broke 3 times, resent 123456789012345\n";
        assert!(t.contains(&format!("\n{line}\n")), "{t}");
    }
}
