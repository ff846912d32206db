//! `experiment`: batches of runs. Repeats one run configuration R times into
//! `LOGS/NAME/run_1 .. run_R` ([`run_all`]); then each run is analyzed and
//! [`judge`]d (verified), and the batch summarized: [`crate::report::markdown`] (every
//! VM of every run, the model's predictions beside the logs, per-run drift
//! and queues, means across runs) and [`cross_run_plots`]. `cmd::experiment`
//! drives the batch and prints; `cmd::analyze` writes the reports and the
//! summary, also for `lamport-sim analyze LOGS/NAME` (again from the logs
//! alone). Ctrl+C stops the current run cleanly, keeps the finished ones, and
//! starts no other.
//!
//! The experiment holds `LOGS/NAME`'s lock ([`crate::lock`]) for its whole
//! batch. A name whose folder already holds runs is refused unless
//! `--replace` is given, which removes the old runs, summary and plots first,
//! so the summary lists exactly this batch's runs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::analyze::{self, Analysis, plots};
use crate::config::{ConfigError, RunConfig};
use crate::launcher;
use crate::lock;
use crate::logline::StopReason;
use crate::run::layout::run_dirs;
use crate::verify;

/// Most runs in one experiment.
pub const MAX_RUNS: u32 = 1000;
/// The file that keeps the command an experiment was made with.
const COMMAND_FILE: &str = "command.txt";
/// The experiment's summary page.
pub const SUMMARY_FILE: &str = "summary.md";
/// The space-time diagram's window of each run's report, in seconds.
pub const WINDOW: (f64, f64) = (0.0, 10.0);
/// The cross-run plots.
const DRIFT_PLOT: &str = "drift_runs.svg";
const CLOCK_PLOT: &str = "clock_runs.svg";
const QUEUE_PLOT: &str = "queue_runs.svg";

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

/// Checks `--runs`: 1 ..= [`MAX_RUNS`].
pub fn check_runs(runs: u32) -> Result<(), ConfigError> {
    if !(1..=MAX_RUNS).contains(&runs) {
        return Err(ConfigError {
            flag: "--runs",
            value: runs.to_string(),
            why: format!("must be 1..={MAX_RUNS}"),
            hint: None,
        });
    }
    Ok(())
}

/// Keeps the command line the experiment was made with in `dir`, for its summary.
pub fn write_command(dir: &Path, command: &str) -> Result<()> {
    let path = dir.join(COMMAND_FILE);
    std::fs::write(&path, format!("{command}\n"))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The command line kept by [`write_command`], or nothing.
pub fn read_command(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(COMMAND_FILE)).unwrap_or_default()
}

/// The old `run_k` folders in `dir`, to be replaced. Refused with a `--name`
/// error (and a `--replace` hint) when there are some and `replace` is not
/// given, or when one of them is in use by a live run.
pub fn old_runs(dir: &Path, name: &str, replace: bool) -> Result<Vec<PathBuf>, ConfigError> {
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
pub fn remove_old_runs(dir: &Path, old: &[PathBuf]) -> Result<()> {
    for run in old {
        std::fs::remove_dir_all(run)
            .with_context(|| format!("cannot remove the old run {}", run.display()))?;
    }
    for file in [
        SUMMARY_FILE,
        DRIFT_PLOT,
        CLOCK_PLOT,
        QUEUE_PLOT,
        COMMAND_FILE,
    ] {
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

/// Runs the batch; hands each run's end (or error) to `each` as the run
/// finishes, for the command to report; returns how many runs started.
pub fn run_all(
    base: &RunConfig,
    dir: &Path,
    runs: u32,
    mut each: impl FnMut(u32, Result<launcher::Ended>),
) -> u32 {
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
        each(k, launcher::run_labeled(cfg, &label));
    }
    started
}

/// One run read back: its analysis (`Err` when it could not be read,
/// analyzed or its report written) and `verify`'s verdict on its logs.
pub fn judge(run: u32, dir: PathBuf, analysis: Result<Analysis>) -> RunResult {
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

/// `drift_runs.svg` (one line per run), `clock_runs.svg` and
/// `queue_runs.svg` (one chart per run; the queues with the model's slope
/// for every VM it says drowns).
pub fn cross_run_plots(results: &[RunResult]) -> Vec<(&'static str, String)> {
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
    let queues: Vec<String> = analyses
        .iter()
        .map(|(k, a)| {
            let title = format!("Run {k}: queues, dashed: the model's slope");
            analyze::across::queue_chart(&title, a)
        })
        .collect();
    vec![
        (DRIFT_PLOT, plots::line_chart(&axes, &drift, false)),
        (CLOCK_PLOT, plots::grid(&clocks, 2)),
        (QUEUE_PLOT, plots::grid(&queues, 2)),
    ]
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
