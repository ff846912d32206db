//! The ShiViz format (<https://github.com/DistributedClocks/shiviz>, the
//! space-time log visualiser), as text: no files. The first line is the
//! parser regular expression, the second the delimiter between runs; then,
//! per tick event, a line describing it and a line `vmI {vector clock}`.
//!
//! What ShiViz's own code asks of the file (read in its `js/model/`):
//! - Named groups `event`, `host` and `clock` are required; every other
//!   named group becomes a field in its side bar. Its regex dialect turns
//!   every plain `(` into a non-capturing group, so the expression uses no
//!   escaped parentheses (they would be rewritten too).
//! - The clock is JSON whose keys are host names and must hold the host's
//!   own entry; zero entries are dropped on reading (so we leave them out).
//! - Each host's own entries must run 1, 2, 3, ... in its events: so every
//!   tick event of every VM is written, and VM i's own entry is its index.
//! - The delimiter's named group `trace` labels each run; labels are unique.
//! - An arrow is drawn from host g's event number `V(e)[g]` to event e on
//!   host h when e's clock knows more of g than h's previous event did (and
//!   no other such event already implies it). A receive therefore gets the
//!   arrow from its send exactly when the message brought news; a receive
//!   whose send was already known through a third VM gets none (counted as
//!   `no_news` in [`VectorClocks::receives`]).

use std::fmt::Write as _;

use crate::analyze::causal::vclock::VectorClocks;
use crate::logline::{Event, Line, format_time};

/// The parser regular expression (line 1 of the file).
pub const PARSER: &str = r"^(?<event>(?<kind>internal|send|receive) tick=(?<tick>\d+) clock=(?<lamport>\d+) queue=(?<queue>\d+) time=(?<time>\S+)(?: to=(?<to>[0-9,]+))?(?: from=(?<from>\d+))?(?: sent_tick=(?<sent_tick>\d+))?)\n(?<host>vm\d+) (?<clock>\{.*\})$";

/// The delimiter between runs (line 2); `trace` is the run's label.
pub const DELIMITER: &str = r"^=== (?<trace>\S+) ===$";

/// One run to export.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The section's label (`run_1`, ...): no spaces; `None` for a lone run.
    pub label: Option<&'a str>,
    /// (VM id, its lines), by id.
    pub logs: &'a [(u32, Vec<Line>)],
    /// The clocks of `logs` ([`VectorClocks::of`]).
    pub clocks: &'a VectorClocks,
}

/// The whole file: the two header lines, then each run, labelled if it has
/// a label, its events in wall-time order.
pub fn shiviz(runs: &[Run<'_>]) -> String {
    let events: usize = runs.iter().map(|r| r.clocks.len()).sum();
    let mut out = String::with_capacity(200 + events * 140);
    let _ = writeln!(out, "{PARSER}\n{DELIMITER}");
    for run in runs {
        section(&mut out, run);
    }
    out
}

fn section(out: &mut String, run: &Run<'_>) {
    if let Some(label) = run.label {
        let _ = writeln!(out, "=== {label} ===");
    }
    let ticks = tick_lines(run.logs);
    for (i, pos) in in_time_order(&ticks) {
        describe(out, ticks[i][pos]);
        host_line(out, run.clocks, i, pos);
    }
}

/// Each VM's tick events, in log order (the order of the clocks).
fn tick_lines(logs: &[(u32, Vec<Line>)]) -> Vec<Vec<&Line>> {
    logs.iter()
        .map(|(_, lines)| {
            let ticks = lines.iter().filter(|l| l.event.tick_clock().is_some());
            ticks.collect()
        })
        .collect()
}

/// (VM index, position) of every event, by wall time, then VM, then position.
fn in_time_order(ticks: &[Vec<&Line>]) -> Vec<(usize, usize)> {
    let mut all: Vec<(i64, usize, usize)> = ticks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.iter().enumerate().map(move |(p, l)| (l.time_us, i, p)))
        .collect();
    all.sort_unstable();
    all.into_iter().map(|(_, i, p)| (i, p)).collect()
}

/// `send tick=2 clock=2 queue=0 time=... to=1,3 sent_tick=2`: the event line.
fn describe(out: &mut String, line: &Line) {
    let (Some((tick, clock)), Some(queue)) = (line.event.tick_clock(), line.event.queue()) else {
        return;
    };
    let _ = write!(
        out,
        "{} tick={tick} clock={clock} queue={queue} time=",
        line.event.kind()
    );
    out.push_str(&format_time(line.time_us));
    match &line.event {
        Event::Send { to, .. } => {
            let to: Vec<String> = to.iter().map(u32::to_string).collect();
            let _ = write!(out, " to={} sent_tick={tick}", to.join(","));
        }
        Event::Receive {
            from, sent_tick, ..
        } => {
            let _ = write!(out, " from={from} sent_tick={sent_tick}");
        }
        _ => {}
    }
    out.push('\n');
}

/// `vm2 {"vm1":2,"vm2":3}`: the host and its clock, zero entries left out.
fn host_line(out: &mut String, clocks: &VectorClocks, i: usize, pos: usize) {
    let _ = write!(out, "vm{} {{", clocks.vms[i]);
    let entries = clocks.vms.iter().zip(clocks.clock(i, pos));
    for (k, (vm, v)) in entries.filter(|(_, v)| **v > 0).enumerate() {
        let comma = if k > 0 { "," } else { "" };
        let _ = write!(out, "{comma}\"vm{vm}\":{v}");
    }
    out.push_str("}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{History, T0};

    /// VM 1 sends to 2 at 0 ms; VM 2 ticks at 5 ms and takes it at 10 ms.
    fn tiny() -> Vec<(u32, Vec<Line>)> {
        let mut h = History::new(2);
        h.send(1, &[2], 0).internal(2, 5).receive(2, 1, 10);
        h.logs(20)
    }

    fn at(ms: i64) -> String {
        format_time(T0 + ms * 1000)
    }

    #[test]
    fn a_tiny_run_exactly() {
        let logs = tiny();
        let clocks = VectorClocks::of(&logs);
        let run = Run {
            label: None,
            logs: &logs,
            clocks: &clocks,
        };
        let want = format!(
            "{PARSER}\n{DELIMITER}\n\
             send tick=1 clock=1 queue=0 time={} to=2 sent_tick=1\nvm1 {{\"vm1\":1}}\n\
             internal tick=1 clock=1 queue=0 time={}\nvm2 {{\"vm2\":1}}\n\
             receive tick=2 clock=2 queue=0 time={} from=1 sent_tick=1\nvm2 {{\"vm1\":1,\"vm2\":2}}\n",
            at(0),
            at(5),
            at(10)
        );
        assert_eq!(shiviz(&[run]), want);
    }

    #[test]
    fn runs_are_labelled_sections() {
        let (one, two) = (tiny(), tiny());
        let (c1, c2) = (VectorClocks::of(&one), VectorClocks::of(&two));
        let runs = [
            Run {
                label: Some("run_1"),
                logs: &one,
                clocks: &c1,
            },
            Run {
                label: Some("run_2"),
                logs: &two,
                clocks: &c2,
            },
        ];
        let text = shiviz(&runs);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!((lines[2], lines[9]), ("=== run_1 ===", "=== run_2 ==="));
        assert_eq!(lines.len(), 2 + 2 * (1 + 6));
        assert_eq!(lines[3..9], lines[10..16]);
    }

    #[test]
    fn the_header_has_the_groups_shiviz_needs_and_no_escaped_parentheses() {
        for group in ["event", "host", "clock"] {
            assert!(PARSER.contains(&format!("(?<{group}>")), "{group}");
        }
        assert!(DELIMITER.contains("(?<trace>"));
        for line in [PARSER, DELIMITER] {
            assert!(!line.contains("\\(") && !line.contains('\n'), "{line}");
        }
        // The Lamport clock is a field of its own: `clock` is the vector.
        assert!(PARSER.contains("clock=(?<lamport>"));
    }

    #[test]
    fn own_entries_count_one_two_three() {
        let mut h = History::new(3);
        h.send(1, &[2, 3], 0).receive(3, 1, 1).send(3, &[2], 2);
        h.internal(2, 3)
            .receive(2, 3, 4)
            .receive(2, 1, 5)
            .internal(1, 6);
        let logs = h.logs(7);
        let clocks = VectorClocks::of(&logs);
        let run = Run {
            label: None,
            logs: &logs,
            clocks: &clocks,
        };
        let text = shiviz(&[run]);
        let hosts: Vec<&str> = text.lines().skip(3).step_by(2).collect();
        let own = |vm: &str| -> Vec<String> {
            hosts
                .iter()
                .filter(|l| l.starts_with(&format!("{vm} ")))
                .map(|l| {
                    l.split(&format!("\"{vm}\":"))
                        .nth(1)
                        .unwrap()
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect()
                })
                .collect()
        };
        assert_eq!(own("vm1"), ["1", "2"]);
        assert_eq!(own("vm2"), ["1", "2", "3"]);
        assert_eq!(own("vm3"), ["1", "2"]);
        // VM 2's last receive (of VM 1's send, already known through VM 3) adds nothing.
        assert_eq!(hosts[5], "vm2 {\"vm1\":1,\"vm2\":3,\"vm3\":2}");
    }
}
