//! The launcher's live view on a terminal: one line per VM (rate, tick,
//! clock, queue, events so far) and the clock spread across VMs, redrawn in
//! place a few times a second from the VMs' `status` lines. Text only: the
//! launcher writes it to stderr, and only when stderr is a terminal.

use std::fmt::Write as _;

use crate::control::Status;

/// Most VM rows drawn; the rest are summed up in one line.
pub const MAX_ROWS: usize = 20;
/// Longest line drawn (a classic terminal's width), so none wraps.
pub const MAX_WIDTH: usize = 80;

/// How much of the terminal the view may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    /// Most VM rows.
    pub rows: usize,
    /// Longest line.
    pub width: usize,
}

impl Fit {
    /// [`MAX_ROWS`] rows of [`MAX_WIDTH`]: where the terminal's size is unknown.
    pub const DEFAULT: Fit = Fit {
        rows: MAX_ROWS,
        width: MAX_WIDTH,
    };

    /// Within a terminal of `height` lines and `width` columns: the view
    /// (its rows and 3 more lines) with 2 lines to spare, so that the redraw
    /// never scrolls the screen; at most the default.
    pub fn terminal(height: usize, width: usize) -> Fit {
        Fit {
            rows: height.saturating_sub(5).clamp(1, MAX_ROWS),
            width: width.clamp(20, MAX_WIDTH),
        }
    }
}

/// One VM as the launcher knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub vm: u32,
    /// Its last status, once it sent one.
    pub status: Option<Status>,
    /// Its process is still there.
    pub running: bool,
}

/// The view's lines (no newlines): a header, a row per VM (at most
/// `fit.rows`), then the clock spread and the time line, none wider than
/// `fit.width`. However many VMs, the view has at most `fit.rows` + 3 lines.
pub fn lines(label: &str, elapsed_s: f64, runtime_s: f64, rows: &[Row], fit: Fit) -> Vec<String> {
    let mut out =
        vec!["  vm  rate     tick    clock  queue     sent     recv  internal".to_string()];
    let shown = fit.rows.max(1);
    for r in rows.iter().take(shown) {
        out.push(row(r));
    }
    if rows.len() > shown {
        let longest = rows[shown..]
            .iter()
            .filter_map(|r| Some((r.status?.queue, r.vm)))
            .max();
        let mut more = format!("  ... {} more VMs", rows.len() - shown);
        if let Some((q, vm)) = longest {
            let _ = write!(more, " (longest queue among them: VM {vm}, {q})");
        }
        out.push(more);
    }
    let running = rows.iter().filter(|r| r.running).count();
    out.push(format!(
        "{label}{:.1} of {runtime_s} s, {running} running; {}",
        elapsed_s.min(runtime_s),
        spread(rows)
    ));
    // A line that wraps would throw the redraw's line count off.
    for l in &mut out {
        l.truncate(fit.width);
    }
    out
}

fn row(r: &Row) -> String {
    let gone = if r.running { "" } else { "  (exited)" };
    match r.status {
        None => format!(
            "{:>4}  {:>4}  waiting for its first figures{gone}",
            r.vm, "-"
        ),
        Some(s) => format!(
            "{:>4} {:>5} {:>8} {:>8} {:>6} {:>8} {:>8} {:>9}{gone}",
            r.vm, s.rate, s.tick, s.clock, s.queue, s.sends, s.receives, s.internals
        ),
    }
}

/// The spread of the logical clocks right now: max minus min, and where.
pub fn spread(rows: &[Row]) -> String {
    let clocks = rows.iter().filter_map(|r| Some((r.status?.clock, r.vm)));
    match (clocks.clone().min(), clocks.max()) {
        (Some((lo, _)), Some((hi, _))) if lo == hi => format!("clock spread 0 (all at {hi})"),
        (Some((lo, lo_vm)), Some((hi, hi_vm))) => format!(
            "clock spread {} (VM {hi_vm}: {hi}, VM {lo_vm}: {lo})",
            hi - lo
        ),
        _ => "no clocks yet".into(),
    }
}

/// Redraws `lines` over the `drawn` lines drawn last time: cursor up, then
/// each line cleared and rewritten. Returns the escape-coded text.
pub fn redraw(drawn: usize, lines: &[String]) -> String {
    let mut out = String::new();
    if drawn > 0 {
        let _ = write!(out, "\x1b[{drawn}A");
    }
    for l in lines {
        let _ = writeln!(out, "\r\x1b[2K{l}");
    }
    // A shorter view than last time: clear what is left below it.
    out.push_str("\x1b[J");
    out
}

/// Erases a view of `drawn` lines, leaving the cursor where it began.
pub fn erase(drawn: usize) -> String {
    if drawn == 0 {
        return String::new();
    }
    format!("\x1b[{drawn}A\r\x1b[J")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(clock: u64, queue: u64) -> Status {
        Status {
            rate: 4,
            tick: 120,
            clock,
            queue,
            sends: 30,
            receives: 41,
            internals: 49,
        }
    }

    fn row(vm: u32, s: Option<Status>) -> Row {
        Row {
            vm,
            status: s,
            running: true,
        }
    }

    #[test]
    fn one_line_per_vm_then_the_spread_and_the_time() {
        let rows = [
            row(1, Some(status(131, 2))),
            row(2, Some(status(114, 0))),
            row(3, None),
        ];
        let l = lines("", 12.34, 60.0, &rows, Fit::DEFAULT);
        assert_eq!(l.len(), 5);
        assert_eq!(
            l[1],
            "   1     4      120      131      2       30       41        49"
        );
        assert!(l[3].contains("waiting"), "{}", l[3]);
        assert_eq!(
            l[4],
            "12.3 of 60 s, 3 running; clock spread 17 (VM 1: 131, VM 2: 114)"
        );
    }

    #[test]
    fn many_vms_fold_into_one_line() {
        let rows: Vec<Row> = (1..=64)
            .map(|vm| row(vm, Some(status(100, u64::from(vm)))))
            .collect();
        let l = lines("run 1 of 2: ", 1.0, 5.0, &rows, Fit::DEFAULT);
        assert_eq!(l.len(), 1 + MAX_ROWS + 2);
        assert_eq!(
            l[MAX_ROWS + 1],
            "  ... 44 more VMs (longest queue among them: VM 64, 64)"
        );
        assert!(l[MAX_ROWS + 2].starts_with("run 1 of 2: 1.0 of 5 s, 64 running"));
        let long = lines(&"run 10 of 10: ".repeat(6), 1.0, 5.0, &rows, Fit::DEFAULT);
        assert!(long.iter().all(|l| l.len() <= MAX_WIDTH), "{long:?}");
    }

    #[test]
    fn a_thousand_vms_stay_within_a_small_terminal() {
        let rows: Vec<Row> = (1..=1024)
            .map(|vm| row(vm, Some(status(100 + u64::from(vm), 0))))
            .collect();
        let fit = Fit::terminal(15, 60);
        assert_eq!(
            fit,
            Fit {
                rows: 10,
                width: 60
            }
        );
        let l = lines("", 1.0, 60.0, &rows, fit);
        assert_eq!(l.len(), 13, "{l:?}");
        assert!(l.iter().all(|l| l.len() <= 60), "{l:?}");
        assert!(l[11].starts_with("  ... 1014 more VMs"), "{}", l[11]);
        assert_eq!(Fit::terminal(2, 10), Fit { rows: 1, width: 20 });
        assert_eq!(Fit::terminal(100, 200), Fit::DEFAULT);
    }

    #[test]
    fn redraws_go_back_over_the_last_view() {
        let l = vec!["a".to_string(), "b".to_string()];
        assert_eq!(redraw(0, &l), "\r\x1b[2Ka\n\r\x1b[2Kb\n\x1b[J");
        assert!(redraw(2, &l).starts_with("\x1b[2A"));
        assert_eq!(erase(2), "\x1b[2A\r\x1b[J");
        assert_eq!(erase(0), "");
    }
}
