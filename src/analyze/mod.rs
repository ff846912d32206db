//! `lamport-sim analyze`: reads a run folder through [`crate::logs`], computes
//! the figures ([`stats`]), draws the charts ([`plots`], [`spacetime`]) and
//! writes them with the tables ([`report`]) into the report folder. This file
//! is the command's IO edge; everything it calls is pure.
//!
//! Exit codes: 0 ok; 2 when the folder cannot be read or holds no
//! `machine_*.log` (or `--window` is malformed); 1 when a log cannot be
//! parsed or the report cannot be written. A log whose last line is cut
//! short (a VM killed mid-write) is analyzed without that line, with a note.

pub mod causal;
pub mod model;
pub mod plots;
pub mod spacetime;
pub mod stats;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;

use anyhow::{Context, Result, bail};

use crate::cli::AnalyzeArgs;
use crate::logline::Line;
use crate::logs::{self, LogFile, ReadError};
use crate::report;
use crate::text;
pub use stats::Analysis;

/// `lamport-sim analyze [DIR] [--out DIR] [--window START..END]`: prints the
/// per-VM tables and writes the report folder.
pub fn main(args: &AnalyzeArgs) -> Result<ExitCode> {
    let window = crate::config::window(&args.window)?;
    if crate::experiment::is_experiment(&args.dir) {
        let results = crate::experiment::summarize(&args.dir)?;
        println!(
            "experiment: {} runs analyzed; summary in {}",
            results.len(),
            args.dir.join("summary.md").display()
        );
        let failed = results.iter().any(|r| r.problem.is_some());
        return Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    let out = report_dir(args);
    match analyze_dir(&args.dir, &out, window) {
        Ok(a) => {
            print!("{}", report::text::summary_table(&a));
            let model = model::rows(&a);
            if !model.is_empty() {
                println!(
                    "\nthe model's prediction beside the logs (NOTEBOOK.md, Predict, then measure):"
                );
                print!("{}", model::table(&model));
            }
            for note in &a.notes {
                print!("{}", text::wrap(&format!("note: {note}"), 2));
            }
            println!("report: {}", out.join("report.html").display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(exit_code(&e)))
        }
    }
}

/// True if `dir` holds `machine_*.log` files of its own.
pub(crate) fn has_logs(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| crate::vm::log::log_id(&e.file_name().to_string_lossy()).is_some())
    })
}

/// `--out`, else `DIR/report`.
fn report_dir(args: &AnalyzeArgs) -> PathBuf {
    args.out.clone().unwrap_or_else(|| args.dir.join("report"))
}

/// 2 when the folder is not a readable run folder, 1 for anything else.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<ReadError>() {
        Some(ReadError::Io { .. } | ReadError::NoLogs { .. }) => 2,
        _ => 1,
    }
}

/// Analyzes the run in `dir` and writes the report into `out` (created if
/// missing); `window` is the space-time diagram's, in seconds from the start.
pub fn analyze_dir(dir: &Path, out: &Path, window: (f64, f64)) -> Result<Analysis> {
    let (logs, read_notes) = read_logs(dir)?;
    let mut analysis = stats::analyze(&logs, window);
    analysis.notes.splice(0..0, read_notes);
    write_report(&analysis, out)?;
    Ok(analysis)
}

/// Every log of `dir` parsed, by id, and notes on lines skipped.
pub fn read_logs(dir: &Path) -> Result<(stats::RunLogs, Vec<String>)> {
    let files = logs::read_run(dir)?;
    let mut logs = Vec::with_capacity(files.len());
    let mut notes = Vec::new();
    for (file, parsed) in files.iter().zip(parse_all(&files)) {
        let (lines, note) = parsed?;
        if lines.is_empty() {
            notes.push(format!("{} is empty", file.name));
        }
        notes.extend(note);
        logs.push((file.id, lines));
    }
    Ok((logs, notes))
}

type Parsed = Result<(Vec<Line>, Option<String>)>;

/// Parses every file, spread over the machine's cores.
fn parse_all(files: &[LogFile]) -> Vec<Parsed> {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let workers = cores.min(files.len()).max(1);
    let mut results: Vec<Option<Parsed>> = (0..files.len()).map(|_| None).collect();
    thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    let mine = files.iter().enumerate().skip(w).step_by(workers);
                    mine.map(|(i, f)| (i, parse_file(f))).collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().unwrap_or_default() {
                results[i] = Some(r);
            }
        }
    });
    let lost = || Err(anyhow::anyhow!("a log parser thread failed"));
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(lost))
        .collect()
}

/// One file's lines. A bad last line without its newline is a write cut
/// short: it is dropped with a note. Any other bad line is an error.
fn parse_file(f: &LogFile) -> Parsed {
    let total = f.text.lines().count();
    let mut lines = Vec::with_capacity(total);
    for (i, text) in f.text.lines().enumerate() {
        match Line::parse(text) {
            Ok(line) => lines.push(line),
            Err(e) if i + 1 == total && !f.text.ends_with('\n') => {
                let note = format!("{}:{}: last line cut short, ignored ({e})", f.name, i + 1);
                return Ok((lines, Some(note)));
            }
            Err(e) => bail!("{}:{}: {e}", f.name, i + 1),
        }
    }
    Ok((lines, None))
}

/// Writes every chart, `summary.csv`, `summary.json` and `report.html`.
fn write_report(a: &Analysis, out: &Path) -> Result<()> {
    fs::create_dir_all(out)
        .with_context(|| format!("cannot create report folder {}", out.display()))?;
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    let plots = plots::all(a);
    for p in &plots {
        write(p.file, &p.svg)?;
    }
    write("summary.csv", &report::csv::summary(a))?;
    write("summary.json", &report::json::summary(a)?)?;
    let mut files: Vec<&str> = vec!["summary.csv", "summary.json"];
    files.extend(plots.iter().map(|p| p.file));
    write("report.html", &report::html::page(a, &plots, &files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> LogFile {
        LogFile {
            name: "machine_1.log".into(),
            id: 1,
            text: text.into(),
        }
    }

    const GOOD: &str =
        "time=2026-11-22T10:00:00.000000Z vm=1 event=internal tick=1 clock=1 queue=0\n";

    #[test]
    fn a_last_line_cut_short_is_dropped_with_a_note() {
        let text = format!("{GOOD}time=2026-11-22T10:00:00.1");
        let (lines, note) = parse_file(&file(&text)).unwrap();
        assert_eq!(lines.len(), 1);
        assert!(
            note.unwrap()
                .starts_with("machine_1.log:2: last line cut short")
        );
        assert_eq!(parse_file(&file(GOOD)).unwrap().0.len(), 1);
    }

    #[test]
    fn any_other_bad_line_is_an_error_naming_file_and_line() {
        for text in [format!("garbage\n{GOOD}"), format!("{GOOD}garbage\n")] {
            let e = parse_file(&file(&text)).unwrap_err().to_string();
            assert!(e.starts_with("machine_1.log:"), "{e}");
        }
    }

    #[test]
    fn files_parse_in_order() {
        let files: Vec<LogFile> = (0..5).map(|_| file(GOOD)).collect();
        let parsed = parse_all(&files);
        assert_eq!(parsed.len(), 5);
        assert!(
            parsed
                .iter()
                .all(|p| p.as_ref().is_ok_and(|(l, _)| l.len() == 1))
        );
        assert!(parse_all(&[]).is_empty());
    }

    #[test]
    fn exit_codes_tell_a_wrong_folder_from_a_bad_log() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let code = |e: ReadError| exit_code(&anyhow::Error::new(e));
        assert_eq!(
            code(ReadError::Io {
                path: "x".into(),
                err: io
            }),
            2
        );
        assert_eq!(code(ReadError::NoLogs { dir: "x".into() }), 2);
        assert_eq!(
            code(ReadError::NotText {
                path: "x".into(),
                byte: 0
            }),
            1
        );
        assert_eq!(exit_code(&anyhow::anyhow!("machine_1.log:3: bad")), 1);
    }
}
