//! `report.html`: run facts, notes, the tables, the drift and
//! happens-before figures and every plot inlined, so the one file works
//! offline. Its style sheet is `report.css` beside this file.

use std::fmt::Write as _;

use super::columns::MATRIX_MAX_VMS;
use super::markup::escape_xml;
use super::text::{causal_facts, num, stale_cells};
use crate::analyze::Analysis;
use crate::analyze::causal::Causal;
use crate::analyze::causal::staleness::Staleness;
use crate::analyze::distributions::Dist;
use crate::analyze::per_vm::VmStats;
use crate::analyze::plots::Plot;
use crate::logline::format_time;

/// The page's style sheet.
const CSS: &str = include_str!("report.css");

/// `report.html`: run facts, notes, the tables and every plot inlined, so
/// the one file works offline. `files` are the report's other files, linked.
pub fn page(a: &Analysis, plots: &[Plot], files: &[&str]) -> String {
    let mut out = String::with_capacity(1 << 20);
    let title = match &a.run {
        Some(r) => format!("lamport-sim run {r}"),
        None => "lamport-sim run".to_string(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape_xml(&title),
        escape_xml(&title)
    );
    out.push_str(&meta(a));
    out.push_str(EXPLORER_LINK);
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

/// The link to the causal explorer `analyze` writes beside this page.
const EXPLORER_LINK: &str = "<p class=\"explorer\"><a href=\"explorer.html\">Causal explorer</a>: the whole run's space-time diagram; click an event to see its causal past, its future and what is concurrent with it, with its Lamport clock, vector clock, wall time and message.</p>\n";

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

/// Row i, column j: i's knowledge of j as `mean / max events, mean age s`.
fn staleness_matrix(c: &Causal, s: &Staleness) -> String {
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
    use crate::report::fixtures::{analysis, causal_analysis};

    #[test]
    fn the_page_holds_the_tables_notes_and_every_plot() {
        let a = analysis();
        let plots = vec![Plot {
            file: "clock.svg",
            title: "Clock".into(),
            about: "About clocks.",
            svg: "<svg id=\"one\"></svg>".into(),
        }];
        let html = page(&a, &plots, &["summary.csv", "clock.svg"]);
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert!(html.contains("<svg id=\"one\"></svg>") && html.contains("About clocks."));
        assert_eq!(html.matches("<table>").count(), 2);
        assert!(html.contains("VM 2: &lt;no&gt; stop"));
        assert!(html.contains("<a href=\"summary.csv\">"));
        assert!(html.contains("<a href=\"explorer.html\">Causal explorer</a>"));
        assert!(!html.contains("http"), "works offline");
        assert!(html.contains("class=\"died\""));
        // The style sheet, inlined from report.css.
        assert!(html.contains("<style>\nbody { font-family: "));
        assert!(html.contains(".wide svg { max-width: none; }\n"));
    }

    #[test]
    fn the_happens_before_section_and_the_staleness_matrix() {
        let a = causal_analysis(3);
        let html = page(&a, &[], &[]);
        assert!(html.contains("<h2>Happens-before") && html.contains("VM i knows of VM j"));
        let many = causal_analysis(MATRIX_MAX_VMS as u32 + 1);
        let html = page(&many, &[], &[]);
        assert!(html.contains("<h2>Staleness") && !html.contains("VM i knows of VM j"));
    }
}
