//! `lamport-sim analyze [DIR] [--out DIR] [--window START..END] [--compare A,B]`:
//! prints the per-VM tables of a run ([`crate::analyze`]) and writes its
//! report folder (charts, `summary.csv`, `summary.json`, `report.html`,
//! `explorer.html`); for an experiment folder, writes every run's report, the
//! cross-run plots and `summary.md` ([`summarize`], also what `experiment`
//! ends with); for a
//! folder of experiment folders (`logs`), reads every run of every one and
//! writes the model's plots over all of them into DIR (`overview`),
//! writing nothing inside the experiments. The model's plots are drawn there
//! rather than by a subcommand of their own because they need nothing but
//! what `analyze` already reads.
//!
//! Exit codes: 0 ok; 2 when the folder cannot be read or holds no
//! `machine_*.log` (or `--window` is malformed); 1 when a log cannot be
//! parsed or the report cannot be written, or (experiment) a run has a
//! problem.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::analyze::{self, Analysis, across, model, plots};
use crate::cli::AnalyzeArgs;
use crate::config::ConfigError;
use crate::experiment::{self, RunResult};
use crate::logline::Line;
use crate::report::{self, explorer, markdown};
use crate::run::{layout, read};
use crate::text as table;

/// `lamport-sim analyze`.
pub fn main(args: &AnalyzeArgs) -> Result<ExitCode> {
    let window = crate::config::window(&args.window)?;
    let compare = args.compare.as_deref().map(compare_names).transpose()?;
    let experiments = experiment_folders(&args.dir);
    if !layout::has_logs(&args.dir) && !experiments.is_empty() {
        return overview(&args.dir, &experiments, compare);
    }
    if compare.is_some() {
        return Err(ConfigError {
            flag: "--compare",
            value: args.compare.clone().unwrap_or_default(),
            why: format!("{} is not a folder of experiments", args.dir.display()),
            hint: Some("give the folder that holds them, e.g. logs".into()),
        }
        .into());
    }
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

/// The model plots of a folder of experiments, written into it.
pub const DRIFT_MODEL_PLOT: &str = "model_drift.svg";
pub const LOAD_MODEL_PLOT: &str = "model_queue.svg";

/// The experiment folders directly inside `dir`, by name.
fn experiment_folders(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| layout::is_experiment(p))
        .filter_map(|p| Some((p.file_name()?.to_str()?.to_string(), p)))
        .collect();
    found.sort();
    found
}

/// `--compare A,B`: two experiment names.
fn compare_names(text: &str) -> Result<(String, String), ConfigError> {
    let bad = |why: &str| ConfigError {
        flag: "--compare",
        value: text.to_string(),
        why: why.into(),
        hint: Some("e.g. --compare baseline,narrow-only".into()),
    };
    let (a, b) = text
        .split_once(',')
        .ok_or_else(|| bad("must be two experiment names, A,B"))?;
    for name in [a, b] {
        experiment::check_name(name).map_err(|e| bad(&e.why))?;
    }
    Ok((a.to_string(), b.to_string()))
}

/// Reads every run of every experiment in `experiments` (reporting a run
/// that cannot be read and going on) and writes the model's plots into
/// `dir`, and with `compare` the two experiments side by side.
fn overview(
    dir: &Path,
    experiments: &[(String, PathBuf)],
    compare: Option<(String, String)>,
) -> Result<ExitCode> {
    let mut failed = false;
    let mut read: Vec<(String, Vec<(u32, Analysis)>)> = Vec::new();
    for (name, path) in experiments {
        let mut runs = Vec::new();
        for (k, run) in layout::run_dirs(path) {
            match analyze::analyze_dir(&run, experiment::WINDOW) {
                Ok(a) => runs.push((k, a)),
                Err(e) => {
                    eprintln!("error: {}: {e:#}", run.display());
                    failed = true;
                }
            }
        }
        read.push((name.clone(), runs));
    }
    let runs: Vec<across::RunOf> = read
        .iter()
        .flat_map(|(name, runs)| {
            runs.iter().map(|(k, a)| across::RunOf {
                experiment: name,
                run: *k,
                analysis: a,
            })
        })
        .collect();
    let drift = across::drift_points(&runs);
    let load = across::load_points(&runs);
    write(dir, DRIFT_MODEL_PLOT, &across::drift_chart(&drift))?;
    write(dir, LOAD_MODEL_PLOT, &across::load_chart(&load))?;
    let mut files = vec![DRIFT_MODEL_PLOT.to_string(), LOAD_MODEL_PLOT.to_string()];
    if let Some((a, b)) = compare {
        let pick = |name: &str| -> Result<across::Experiment, ConfigError> {
            let (found, runs) =
                read.iter()
                    .find(|(n, _)| n == name)
                    .ok_or_else(|| ConfigError {
                        flag: "--compare",
                        value: format!("{a},{b}"),
                        why: format!("{} holds no experiment {name}", dir.display()),
                        hint: None,
                    })?;
            Ok((found.as_str(), runs.iter().map(|(k, a)| (*k, a)).collect()))
        };
        let pair = [pick(&a)?, pick(&b)?];
        let jumps = format!("compare_jumps_{a}_{b}.svg");
        let drift = format!("compare_drift_{a}_{b}.svg");
        write(dir, &jumps, &across::jumps_chart(&pair))?;
        write(dir, &drift, &across::drift_side_by_side(&pair))?;
        files.extend([jumps, drift]);
    }
    let drowning = drift.iter().filter(|p| p.drowns).count();
    println!(
        "{} experiments, {} runs with the model's prediction ({drowning} with a drowning VM), {} VMs",
        experiments.len(),
        drift.len(),
        load.len()
    );
    for f in files {
        println!("wrote {}", dir.join(f).display());
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
