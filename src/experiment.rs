//! `experiment`: batches of runs. Repeats one run configuration R times into
//! `LOGS/NAME/run_1 .. run_R`, then [`summarize`]s the folder: verifies and
//! analyzes every run (its report in `run_k/report/`) and writes
//! `LOGS/NAME/summary.md` (every VM of every run, the model's predictions
//! beside the logs, per-run drift and queues, means across runs) with
//! cross-run plots. `lamport-sim analyze LOGS/NAME` summarizes again from the
//! logs alone. Ctrl+C stops the current run cleanly, keeps the finished ones,
//! and starts no other.
//!
//! The experiment holds `LOGS/NAME`'s lock ([`crate::lock`]) for its whole
//! batch. A name whose folder already holds runs is refused unless
//! `--replace` is given, which removes the old runs, summary and plots first,
//! so the summary lists exactly this batch's runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::analyze::{self, Analysis, model, plots};
use crate::cli::ExperimentArgs;
use crate::config::{self, ConfigError, RunConfig};
use crate::launcher;
use crate::lock::{self, FolderLock};
use crate::logline::StopReason;
use crate::run::layout::run_dirs;
use crate::verify;

/// Most runs in one experiment.
pub const MAX_RUNS: u32 = 1000;
/// The file that keeps the command an experiment was made with.
const COMMAND_FILE: &str = "command.txt";
/// The experiment's summary page.
const SUMMARY_FILE: &str = "summary.md";
/// The cross-run plots.
const DRIFT_PLOT: &str = "drift_runs.svg";
const CLOCK_PLOT: &str = "clock_runs.svg";

/// One run of an experiment, read back from its logs.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The k of `run_k`.
    pub run: u32,
    pub dir: PathBuf,
    /// `None` when the logs could not be analyzed (see `problem`).
    pub analysis: Option<Analysis>,
    /// `None` if every VM ran to its end and `verify` passed.
    pub problem: Option<String>,
}

/// Checks the experiment name: a folder name of `A-Z a-z 0-9 _ - .`, not `.` or `..`.
pub fn check_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if !ok {
        return Err(ConfigError {
            flag: "--name",
            value: name.to_string(),
            why: "must be a folder name of A-Z a-z 0-9 _ - . (at most 100)".into(),
            hint: None,
        });
    }
    Ok(())
}

/// `lamport-sim experiment`.
pub fn main(args: &ExperimentArgs) -> Result<ExitCode> {
    check_name(&args.name)?;
    if !(1..=MAX_RUNS).contains(&args.runs) {
        return Err(ConfigError {
            flag: "--runs",
            value: args.runs.to_string(),
            why: format!("must be 1..={MAX_RUNS}"),
            hint: None,
        }
        .into());
    }
    let base = config::run(&args.run)?;
    // Every check before anything is created or removed.
    launcher::preflight(&base)?;
    let dir = base.model.logs.join(&args.name);
    let lock = FolderLock::exclusive(&dir, &format!("experiment {}", args.name))?;
    let old = match old_runs(&dir, &args.name, args.replace) {
        Ok(old) => old,
        Err(e) => {
            lock.abandon();
            return Err(e.into());
        }
    };
    if !old.is_empty() {
        remove_old_runs(&dir, &old)?;
        println!(
            "experiment {}: removed {} old runs (--replace)",
            args.name,
            old.len()
        );
    }
    let command = dir.join(COMMAND_FILE);
    std::fs::write(&command, command_line() + "\n")
        .with_context(|| format!("cannot write {}", command.display()))?;
    let done = run_all(&base, &dir, args.runs);
    let results = summarize(&dir)?;
    println!(
        "experiment {}: {done} of {} runs, summary in {}",
        args.name,
        args.runs,
        dir.join(SUMMARY_FILE).display()
    );
    drop(lock);
    Ok(if launcher::interrupted() || done < args.runs {
        ExitCode::from(130)
    } else if results.iter().any(|r| r.problem.is_some()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The old `run_k` folders in `dir`, to be replaced. Refused with a `--name`
/// error (and a `--replace` hint) when there are some and `replace` is not
/// given, or when one of them is in use by a live run.
fn old_runs(dir: &Path, name: &str, replace: bool) -> Result<Vec<PathBuf>, ConfigError> {
    let old = run_dirs(dir);
    let (Some(first), Some(last)) = (old.first(), old.last()) else {
        return Ok(Vec::new());
    };
    if !replace {
        return Err(ConfigError {
            flag: "--name",
            value: name.to_string(),
            why: format!(
                "{} already holds {} runs (run_{} .. run_{}) of an earlier experiment",
                dir.display(),
                old.len(),
                first.0,
                last.0
            ),
            hint: Some("add --replace to remove the old runs".into()),
        });
    }
    for (_, run) in &old {
        lock::check_free(run)?;
    }
    Ok(old.into_iter().map(|(_, run)| run).collect())
}

/// Removes the old runs, the summary and the cross-run plots of `dir`.
fn remove_old_runs(dir: &Path, old: &[PathBuf]) -> Result<()> {
    for run in old {
        std::fs::remove_dir_all(run)
            .with_context(|| format!("cannot remove the old run {}", run.display()))?;
    }
    for file in [SUMMARY_FILE, DRIFT_PLOT, CLOCK_PLOT, COMMAND_FILE] {
        let path = dir.join(file);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Runs the batch; returns how many runs started.
fn run_all(base: &RunConfig, dir: &Path, runs: u32) -> u32 {
    let mut started = 0;
    for k in 1..=runs {
        if launcher::interrupted() {
            break;
        }
        let mut cfg = base.clone();
        cfg.model.logs = dir.join(crate::run::layout::run_dir_name(k));
        // A given seed makes the batch repeatable; each run gets its own.
        cfg.model.seed = base.model.seed.map(|s| s.wrapping_add(u64::from(k - 1)));
        let left = base.model.runtime.as_secs_f64() * f64::from(runs - k + 1);
        let label = format!("run {k} of {runs}, about {left:.0} s left: ");
        started += 1;
        if let Err(e) = launcher::run_labeled(cfg, &label) {
            eprintln!("experiment: run {k}: {e:#}");
        }
    }
    started
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("lamport-sim {}", args.join(" "))
}

/// Verifies and analyzes every run of the experiment in `dir` and writes its
/// `summary.md` and cross-run plots.
pub fn summarize(dir: &Path) -> Result<Vec<RunResult>> {
    let results: Vec<RunResult> = run_dirs(dir)
        .into_iter()
        .map(|(k, d)| read_run(k, d))
        .collect();
    let name = dir
        .file_name()
        .map_or("experiment".into(), |n| n.to_string_lossy().into_owned());
    let command = std::fs::read_to_string(dir.join(COMMAND_FILE)).unwrap_or_default();
    let plots = cross_run_plots(&results);
    for (file, svg) in &plots {
        let path = dir.join(file);
        std::fs::write(&path, svg).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let md = summary_md(
        &name,
        command.trim(),
        &results,
        &plots.iter().map(|p| p.0).collect::<Vec<_>>(),
    );
    let path = dir.join(SUMMARY_FILE);
    std::fs::write(&path, md).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(results)
}

/// One run read back: its analysis (report written to `run_k/report/`) and verdict.
fn read_run(run: u32, dir: PathBuf) -> RunResult {
    let analysis = analyze::analyze_dir(&dir, &dir.join("report"), (0.0, 10.0));
    let verdict = verify::check_dir(&dir);
    let problem = match (&analysis, &verdict) {
        (Err(e), _) => Some(format!("cannot analyze: {e:#}")),
        (_, Err(e)) => Some(format!("cannot verify: {e:#}")),
        (_, Ok(r)) if !r.ok() => Some(format!("verify found {} violations", r.failures())),
        (Ok(a), _) => early_stop(a),
    };
    RunResult {
        run,
        dir,
        analysis: analysis.ok(),
        problem,
    }
}

/// Says which VMs did not run to the end of the runtime, if any.
fn early_stop(a: &Analysis) -> Option<String> {
    let short: Vec<String> = a
        .vms
        .iter()
        .filter(|v| v.stop != Some(StopReason::Runtime))
        .map(|v| match v.stop {
            None => format!("VM {} died", v.vm),
            Some(r) => format!("VM {} stopped early ({})", v.vm, r.as_str()),
        })
        .collect();
    (!short.is_empty()).then(|| short.join(", "))
}

/// `drift_runs.svg` (one line per run) and `clock_runs.svg` (one chart per run).
fn cross_run_plots(results: &[RunResult]) -> Vec<(&'static str, String)> {
    let analyses: Vec<(u32, &Analysis)> = results
        .iter()
        .filter_map(|r| Some((r.run, r.analysis.as_ref()?)))
        .collect();
    if analyses.is_empty() {
        return Vec::new();
    }
    let drift: Vec<plots::Series> = analyses
        .iter()
        .filter_map(|(k, a)| {
            Some((
                format!("run {k}"),
                analyze::per_vm::as_f64(&a.drift.as_ref()?.series),
            ))
        })
        .collect();
    let axes = plots::Axes {
        title: "Drift (max - min logical clock) in every run",
        x: "wall time since start (s)",
        y: "drift: max - min logical clock",
    };
    let clocks: Vec<String> = analyses
        .iter()
        .map(|(k, a)| {
            let series: Vec<plots::Series> = a
                .series
                .iter()
                .zip(&a.vms)
                .map(|(s, v)| (format!("VM {} ({}/s)", v.vm, v.rate), s.clock_points()))
                .collect();
            plots::clock_vs_time(&format!("Run {k}: logical clocks"), &series)
        })
        .collect();
    vec![
        (DRIFT_PLOT, plots::line_chart(&axes, &drift, false)),
        (CLOCK_PLOT, grid(&clocks, 2)),
    ]
}

/// Lays SVG charts (each 900 x 500) out in a grid of `columns`.
fn grid(charts: &[String], columns: usize) -> String {
    let (w, h) = (900, 500);
    let rows = charts.len().div_ceil(columns);
    let mut out = format!(
        "<svg width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">\n",
        w * columns.min(charts.len()),
        h * rows,
        w * columns.min(charts.len()),
        h * rows
    );
    for (i, chart) in charts.iter().enumerate() {
        let (x, y) = ((i % columns) * w, (i / columns) * h);
        out.push_str(&chart.replacen("<svg ", &format!("<svg x=\"{x}\" y=\"{y}\" "), 1));
        out.push('\n');
    }
    out.push_str("</svg>\n");
    out
}

/// The `summary.md` text.
pub fn summary_md(name: &str, command: &str, results: &[RunResult], plots: &[&str]) -> String {
    let mut out = format!("# Experiment `{name}`\n\n");
    if !command.is_empty() {
        let _ = write!(out, "Made with:\n\n```\n{command}\n```\n\n");
    }
    out.push_str("Regenerate this page and every report from the logs: `lamport-sim analyze ");
    let _ = writeln!(out, "logs/{name}`.\n");
    out.push_str(&vm_table(results));
    out.push_str(&model_table(results));
    out.push_str(&run_table(results));
    for p in plots {
        let _ = writeln!(out, "\n![{p}]({p})");
    }
    let problems: Vec<String> = results
        .iter()
        .filter_map(|r| Some(format!("- run {}: {}", r.run, r.problem.as_ref()?)))
        .collect();
    if !problems.is_empty() {
        let _ = write!(
            out,
            "\n## Problems (runs left out of the means)\n\n{}\n",
            problems.join("\n")
        );
    }
    out
}

fn fmt(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// Every VM of every run.
fn vm_table(results: &[RunResult]) -> String {
    let mut out = String::from(
        "## Every VM of every run\n\n| run | seed | vm | rate | ticks | sends | receives | internal | final clock | clock/s | jump mean | jump max | jumps > 1 | queue mean | queue max | lag mean | stop |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let Some(a) = &r.analysis else { continue };
        let seed = a.seed.map_or("?".into(), |s| s.to_string());
        for v in &a.vms {
            let jumps = v.jumps.as_ref();
            let _ = writeln!(
                out,
                "| {} | {seed} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.run,
                v.vm,
                v.rate,
                v.ticks,
                v.sends,
                v.receives,
                v.internals,
                v.final_clock,
                fmt(v.clock_rate, 2),
                fmt(jumps.map(|d| d.mean), 2),
                v.max_jump,
                fmt(v.jump_over_1_share.map(|s| s * 100.0), 1) + " %",
                fmt(v.queue_mean, 2),
                v.max_queue,
                fmt(v.lag_mean, 1),
                analyze::report::stop_word(v)
            );
        }
    }
    out
}

/// The model's predictions beside the logs, every VM of every run.
fn model_table(results: &[RunResult]) -> String {
    let mut out = String::from(
        "\n## The model's prediction beside the logs (predicted / measured)\n\n| run | vm | rate | arrivals/s | busy % | queue growth/s | mean jump |\n|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let Some(a) = &r.analysis else { continue };
        for m in model::rows(a) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.run,
                m.vm,
                m.rate,
                model::pair(m.arrival, 2, 1.0),
                model::pair(m.busy, 1, 100.0),
                model::pair(m.growth, 2, 1.0),
                model::pair(m.jump, 2, 1.0)
            );
        }
    }
    out
}

/// Run-level figures and their means over the runs without problems.
fn run_table(results: &[RunResult]) -> String {
    let mut out = String::from(
        "\n## Per run\n\n| run | rates | drift mean | drift max | drift growth/min | predicted growth/min | largest jump | largest queue | concurrent pairs | Lamport orders concurrent pairs | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut good: Vec<[f64; FIGURES]> = Vec::new();
    for r in results {
        let Some(a) = &r.analysis else { continue };
        let Some(fig) = run_figures(a) else { continue };
        let rates: Vec<String> = a.vms.iter().map(|v| v.rate.to_string()).collect();
        let verdict = if r.problem.is_some() {
            "see problems"
        } else {
            "verified"
        };
        let predicted = fmt(model::drift_growth_per_min(a), 1);
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.0} | {:+.1} | {predicted} | {:.0} | {:.0} | {:.1} % | {:.1} % | {verdict} |",
            r.run,
            rates.join(", "),
            fig[0],
            fig[1],
            fig[2],
            fig[3],
            fig[4],
            fig[5],
            fig[6]
        );
        if r.problem.is_none() {
            good.push(fig);
        }
    }
    if !good.is_empty() {
        let n = good.len() as f64;
        let m: Vec<f64> = (0..FIGURES)
            .map(|i| good.iter().map(|f| f[i]).sum::<f64>() / n)
            .collect();
        let _ = writeln!(
            out,
            "| **mean of {} runs** | | {:.1} | {:.1} | {:+.1} | | {:.1} | {:.1} | {:.1} % | {:.1} % | |",
            good.len(),
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            m[6]
        );
    }
    out
}

/// How many figures [`run_figures`] gives.
const FIGURES: usize = 7;

/// [drift mean, drift max, drift growth per minute, largest jump, largest
/// queue, % of cross-VM pairs concurrent, % of those Lamport orders anyway].
fn run_figures(a: &Analysis) -> Option<[f64; FIGURES]> {
    let d = a.drift.as_ref()?;
    let jump = a.vms.iter().map(|v| v.max_jump).max()?;
    let queue = a.vms.iter().map(|v| v.max_queue).max()?;
    let c = a.causal.as_ref()?;
    Some([
        d.mean,
        d.max as f64,
        d.growth_per_min,
        jump as f64,
        queue as f64,
        // No pairs (one VM) or no concurrent pairs: nothing to report, 0.
        100.0 * c.concurrent_share().unwrap_or(0.0),
        100.0 * c.lamport_ordered_concurrent_share().unwrap_or(0.0),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_folder_names() {
        for ok in ["baseline", "narrow-and-chatty", "run_1.b"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "../x", "a b", &"x".repeat(101)] {
            assert_eq!(check_name(bad).unwrap_err().flag, "--name", "{bad}");
        }
    }

    #[test]
    fn charts_are_laid_out_in_a_grid() {
        let chart = "<svg width=\"900\" height=\"500\" viewBox=\"0 0 900 500\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>\n".to_string();
        let g = grid(&[chart.clone(), chart.clone(), chart], 2);
        assert!(g.starts_with("<svg width=\"1800\" height=\"1000\""), "{g}");
        assert!(g.contains("<svg x=\"900\" y=\"0\" width=\"900\""));
        assert!(g.contains("<svg x=\"0\" y=\"500\" width=\"900\""));
        assert_eq!(g.matches("<svg").count(), 4);
    }

    #[test]
    fn early_stops_are_named() {
        use crate::analyze::per_vm::VmStats;
        let vm = |id, stop| VmStats {
            vm: id,
            stop,
            ..VmStats::default()
        };
        let mut a = Analysis {
            vms: vec![
                vm(1, Some(StopReason::Runtime)),
                vm(2, Some(StopReason::Runtime)),
            ],
            ..Analysis::default()
        };
        assert_eq!(early_stop(&a), None);
        a.vms.push(vm(3, None));
        a.vms.push(vm(4, Some(StopReason::Signal)));
        assert_eq!(
            early_stop(&a).as_deref(),
            Some("VM 3 died, VM 4 stopped early (signal)")
        );
    }
}
