//! `lamport-sim analyze [DIR] [--out DIR] [--window START..END]`: prints the
//! per-VM tables of a run ([`crate::analyze`]) and writes its report folder
//! (charts, `summary.csv`, `summary.json`, `report.html`, `explorer.html`); for an experiment
//! folder, writes every run's report, the cross-run plots and `summary.md`
//! ([`summarize`], also what `experiment` ends with).
//!
//! Exit codes: 0 ok; 2 when the folder cannot be read or holds no
//! `machine_*.log` (or `--window` is malformed); 1 when a log cannot be
//! parsed or the report cannot be written, or (experiment) a run has a
//! problem.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::analyze::{self, Analysis, model, plots};
use crate::cli::AnalyzeArgs;
use crate::experiment::{self, RunResult};
use crate::logline::Line;
use crate::report::{self, explorer, markdown};
use crate::run::{layout, read};
use crate::text as table;

/// `lamport-sim analyze`.
pub fn main(args: &AnalyzeArgs) -> Result<ExitCode> {
    let window = crate::config::window(&args.window)?;
    if layout::is_experiment(&args.dir) {
        let results = summarize(&args.dir)?;
        println!(
            "experiment: {} runs analyzed; summary in {}",
            results.len(),
            args.dir.join(experiment::SUMMARY_FILE).display()
        );
        let failed = results.iter().any(|r| r.problem.is_some());
        return Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    let out = report_dir(args);
    match analyze_into(&args.dir, &out, window) {
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
                print!("{}", table::wrap(&format!("note: {note}"), 2));
            }
            println!("report: {}", out.join("report.html").display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(super::read_exit_code(&e)))
        }
    }
}

/// `--out`, else `DIR/report`.
fn report_dir(args: &AnalyzeArgs) -> PathBuf {
    args.out.clone().unwrap_or_else(|| args.dir.join("report"))
}

/// Analyzes the run in `dir` and writes its report into `out` (created if
/// missing).
fn analyze_into(dir: &Path, out: &Path, window: (f64, f64)) -> Result<Analysis> {
    // As `analyze::analyze_dir`, keeping the logs for the explorer.
    let (logs, read_notes) = read::read_logs(dir)?;
    let mut a = analyze::analyze(&logs, window);
    a.notes.splice(0..0, read_notes);
    write_report(&a, &logs, out)?;
    Ok(a)
}

/// Writes every chart, `summary.csv`, `summary.json`, `report.html` and
/// `explorer.html`.
fn write_report(a: &Analysis, logs: &[(u32, Vec<Line>)], out: &Path) -> Result<()> {
    fs::create_dir_all(out)
        .with_context(|| format!("cannot create report folder {}", out.display()))?;
    let plots = plots::all(a);
    for p in &plots {
        write(out, p.file, &p.svg)?;
    }
    write(out, "summary.csv", &report::csv::summary(a))?;
    write(out, "summary.json", &report::json::summary(a)?)?;
    let mut files: Vec<&str> = vec!["summary.csv", "summary.json"];
    files.extend(plots.iter().map(|p| p.file));
    write(out, explorer::FILE, &explorer::page(a, logs))?;
    write(out, "report.html", &report::html::page(a, &plots, &files))
}

/// Writes `text` to the file `name` in `dir`.
fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    let path = dir.join(name);
    fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Analyzes and verifies every run of the experiment in `dir` (each report
/// in `run_k/report/`) and writes its `summary.md` and cross-run plots.
pub fn summarize(dir: &Path) -> Result<Vec<RunResult>> {
    let results: Vec<RunResult> = layout::run_dirs(dir)
        .into_iter()
        .map(|(k, d)| {
            let analysis = analyze_into(&d, &d.join("report"), experiment::WINDOW);
            experiment::judge(k, d, analysis)
        })
        .collect();
    let name = dir
        .file_name()
        .map_or("experiment".into(), |n| n.to_string_lossy().into_owned());
    let command = experiment::read_command(dir);
    let plots = experiment::cross_run_plots(&results);
    for (file, svg) in &plots {
        write(dir, file, svg)?;
    }
    let runs: Vec<markdown::Run> = results
        .iter()
        .map(|r| markdown::Run {
            run: r.run,
            analysis: r.analysis.as_ref(),
            problem: r.problem.as_deref(),
        })
        .collect();
    let files: Vec<&str> = plots.iter().map(|p| p.0).collect();
    let md = markdown::summary(&name, command.trim(), &runs, &files);
    write(dir, experiment::SUMMARY_FILE, &md)?;
    Ok(results)
}
