//! `export`: a run's events (or every run of an experiment, one labelled
//! section each) in another tool's format, with the lines that say what was
//! written. The formats themselves are pure text functions, one file each:
//! [`shiviz`]. It prints and writes nothing: `cmd::export` reads the
//! folders, writes the file and prints.

pub mod shiviz;

use crate::analyze::causal::vclock::{Receives, VectorClocks};
use crate::run::read::RunLogs;

/// Above this many events ShiViz (a browser page) gets slow; we say so.
const SHIVIZ_COMFORT: usize = 20_000;

/// One run read from disk: its section label (experiments), its logs and
/// their vector clocks.
pub struct RunData {
    pub label: Option<String>,
    pub logs: RunLogs,
    pub clocks: VectorClocks,
}

impl RunData {
    /// The run's logs with their vector clocks rebuilt.
    pub fn new(label: Option<String>, logs: RunLogs) -> Self {
        let clocks = VectorClocks::of(&logs);
        RunData {
            label,
            logs,
            clocks,
        }
    }
}

/// How many events the runs hold in all.
pub fn events(runs: &[RunData]) -> usize {
    runs.iter().map(|r| r.clocks.len()).sum()
}

/// The ShiViz text of the runs, one section each.
pub fn shiviz(runs: &[RunData]) -> String {
    let sections: Vec<shiviz::Run<'_>> = runs
        .iter()
        .map(|r| shiviz::Run {
            label: r.label.as_deref(),
            logs: &r.logs,
            clocks: &r.clocks,
        })
        .collect();
    shiviz::shiviz(&sections)
}

/// The lines that say what was written to `place` (a file, or "standard
/// output"): one on the events and arrows, then notes on receives ShiViz
/// draws no arrow for.
pub fn said(place: &str, runs: &[RunData]) -> Vec<String> {
    let events = events(runs);
    let r = runs
        .iter()
        .fold(Receives::default(), |a, r| add(a, r.clocks.receives));
    let runs_word = if runs.len() == 1 { "run" } else { "runs" };
    let mut lines = vec![format!(
        "shiviz: {events} events, {} arrows ({} {runs_word}) written to {place}; load it on ShiViz's input page (README: ShiViz export)",
        r.matched - r.no_news,
        runs.len(),
    )];
    lines.extend(notes(&r, events).into_iter().map(|n| format!("note: {n}")));
    lines
}

fn add(a: Receives, b: Receives) -> Receives {
    Receives {
        matched: a.matched + b.matched,
        unmatched: a.unmatched + b.unmatched,
        in_cycle: a.in_cycle + b.in_cycle,
        no_news: a.no_news + b.no_news,
    }
}

fn notes(r: &Receives, events: usize) -> Vec<String> {
    let mut notes = Vec::new();
    if r.no_news > 0 {
        notes.push(format!("{} brought no news (the receiver already knew of its send through another VM): ShiViz derives arrows from vector clocks alone and draws none for it", receives(r.no_news)));
    }
    let lone = r.unmatched + r.in_cycle;
    if lone > 0 {
        notes.push(format!(
            "{} no send to draw an arrow from (missing from its log, or in a cycle)",
            receives_have(lone)
        ));
    }
    if events > SHIVIZ_COMFORT {
        notes.push(format!("{events} events: ShiViz gets slow beyond a few thousand; a shorter or slower run is easier to explore"));
    }
    notes
}

/// `1 receive`, `2 receives`.
fn receives(n: u64) -> String {
    if n == 1 {
        "1 receive".to_string()
    } else {
        format!("{n} receives")
    }
}

/// `1 receive has`, `2 receives have`.
fn receives_have(n: u64) -> String {
    format!("{} {}", receives(n), if n == 1 { "has" } else { "have" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_say_why_an_arrow_is_missing() {
        let r = Receives {
            matched: 10,
            unmatched: 1,
            in_cycle: 0,
            no_news: 2,
        };
        let n = notes(&r, 10);
        assert_eq!(n.len(), 2);
        assert!(
            n[0].starts_with("2 receives brought no news") && n[0].ends_with("draws none for it")
        );
        assert!(n[1].starts_with("1 receive has no send"));
        assert_eq!(notes(&Receives::default(), SHIVIZ_COMFORT + 1).len(), 1);
        assert!(notes(&Receives::default(), 5).is_empty());
    }
}
