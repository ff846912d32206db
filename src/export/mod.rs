//! `lamport-sim export --shiviz [DIR] [-o FILE]`: the IO edge of exporting
//! a run (or every run of an experiment folder, one labelled section each)
//! in another tool's format. The formats themselves are pure text
//! functions, one file each: [`shiviz`].
//!
//! Exit codes as `analyze`: 2 when the folder cannot be read or holds no
//! `machine_*.log`; 1 when a log cannot be parsed, the run has no tick
//! event, or the file cannot be written.

pub mod shiviz;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::analyze::causal::vclock::{Receives, VectorClocks};
use crate::cli::ExportArgs;
use crate::run::read::RunLogs;

/// Above this many events ShiViz (a browser page) gets slow; we say so.
const SHIVIZ_COMFORT: usize = 20_000;

/// One run read from disk: its section label (experiments) and its logs.
struct RunData {
    label: Option<String>,
    logs: RunLogs,
    clocks: VectorClocks,
}

/// `lamport-sim export`.
pub fn main(args: &ExportArgs) -> Result<ExitCode> {
    match export(args) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(crate::run::read::exit_code(&e)))
        }
    }
}

fn export(args: &ExportArgs) -> Result<()> {
    let runs = read_runs(&args.dir)?;
    let events: usize = runs.iter().map(|r| r.clocks.len()).sum();
    if events == 0 {
        bail!("{}: no tick events, nothing to export", args.dir.display());
    }
    let sections: Vec<shiviz::Run<'_>> = runs
        .iter()
        .map(|r| shiviz::Run {
            label: r.label.as_deref(),
            logs: &r.logs,
            clocks: &r.clocks,
        })
        .collect();
    let text = shiviz::shiviz(&sections);
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| args.dir.join("shiviz.log"));
    write_out(&out, &text)?;
    report(&out, &runs, events);
    Ok(())
}

/// The run in `dir`, or each `run_k` of an experiment folder, in order.
fn read_runs(dir: &Path) -> Result<Vec<RunData>> {
    let dirs: Vec<(Option<String>, PathBuf)> = if crate::run::layout::is_experiment(dir) {
        let runs = crate::run::layout::run_dirs(dir).into_iter();
        runs.map(|(k, d)| (Some(format!("run_{k}")), d)).collect()
    } else {
        vec![(None, dir.to_path_buf())]
    };
    dirs.into_iter()
        .map(|(label, d)| read_run(label, &d))
        .collect()
}

fn read_run(label: Option<String>, dir: &Path) -> Result<RunData> {
    let (logs, notes) = crate::run::read::read_logs(dir)?;
    for note in notes {
        eprintln!("note: {}: {note}", dir.display());
    }
    let clocks = VectorClocks::of(&logs);
    Ok(RunData {
        label,
        logs,
        clocks,
    })
}

/// Writes `text` to `out`, or to standard output for `-`.
fn write_out(out: &Path, text: &str) -> Result<()> {
    if out == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .context("cannot write to standard output");
    }
    fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))
}

/// One line on what was written and where (on stderr when the file went to
/// stdout), and notes on receives ShiViz draws no arrow for.
fn report(out: &Path, runs: &[RunData], events: usize) {
    let to_stdout = out == Path::new("-");
    let say = |line: String| {
        if to_stdout {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let r = runs
        .iter()
        .fold(Receives::default(), |a, r| add(a, r.clocks.receives));
    let runs_word = if runs.len() == 1 { "run" } else { "runs" };
    let place = if to_stdout {
        "standard output".to_string()
    } else {
        out.display().to_string()
    };
    say(format!(
        "shiviz: {events} events, {} arrows ({} {runs_word}) written to {place}; load it on ShiViz's input page (README: ShiViz export)",
        r.matched - r.no_news,
        runs.len(),
    ));
    for note in notes(&r, events) {
        say(format!("note: {note}"));
    }
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
