//! `lamport-sim analyze`: reads a run folder through [`crate::run::read`], computes
//! the figures ([`analysis`]), draws the charts ([`plots`], [`spacetime`]) and
//! writes them with the tables ([`report`]) into the report folder. This file
//! is the command's IO edge; everything it calls is pure.
//!
//! Exit codes: 0 ok; 2 when the folder cannot be read or holds no
//! `machine_*.log` (or `--window` is malformed); 1 when a log cannot be
//! parsed or the report cannot be written. A log whose last line is cut
//! short (a VM killed mid-write) is analyzed without that line, with a note.

pub mod analysis;
pub mod causal;
pub mod distributions;
pub mod drift;
#[cfg(test)]
mod fixtures;
pub mod model;
pub mod per_vm;
pub mod plots;
pub mod report;
pub mod spacetime;
pub mod table;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::AnalyzeArgs;
use crate::run::{layout, read};
pub use analysis::Analysis;

/// `lamport-sim analyze [DIR] [--out DIR] [--window START..END]`: prints the
/// per-VM tables and writes the report folder.
pub fn main(args: &AnalyzeArgs) -> Result<ExitCode> {
    let window = crate::config::window(&args.window)?;
    if layout::is_experiment(&args.dir) {
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
            print!("{}", report::summary_table(&a));
            let model = model::rows(&a);
            if !model.is_empty() {
                println!(
                    "\nthe model's prediction beside the logs (NOTEBOOK.md, Predict, then measure):"
                );
                print!("{}", model::table(&model));
            }
            for note in &a.notes {
                print!("{}", table::wrap(&format!("note: {note}"), 2));
            }
            println!("report: {}", out.join("report.html").display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(read::exit_code(&e)))
        }
    }
}

/// `--out`, else `DIR/report`.
fn report_dir(args: &AnalyzeArgs) -> PathBuf {
    args.out.clone().unwrap_or_else(|| args.dir.join("report"))
}

/// Analyzes the run in `dir` and writes the report into `out` (created if
/// missing); `window` is the space-time diagram's, in seconds from the start.
pub fn analyze_dir(dir: &Path, out: &Path, window: (f64, f64)) -> Result<Analysis> {
    let (logs, read_notes) = read::read_logs(dir)?;
    let mut analysis = analysis::analyze(&logs, window);
    analysis.notes.splice(0..0, read_notes);
    write_report(&analysis, out)?;
    Ok(analysis)
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
    write("summary.csv", &report::csv(a))?;
    write("summary.json", &report::json(a))?;
    let mut files: Vec<&str> = vec!["summary.csv", "summary.json"];
    files.extend(plots.iter().map(|p| p.file));
    write("report.html", &report::html(a, &plots, &files))
}
