//! `experiment`: batches of runs. Repeats one run configuration R times into
//! `LOGS/NAME/run_1 .. run_R`, verifies each, and writes
//! `LOGS/NAME/summary.md`: one row per run x VM, then run-level figures and
//! their means across runs. Ctrl+C stops the current run cleanly, keeps the
//! finished ones, and starts no other.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::analyze::stats::VmStats;
use crate::cli::ExperimentArgs;
use crate::config::{self, ConfigError, RunConfig};
use crate::launcher;
use crate::logs;
use crate::verify;

/// Most runs in one experiment.
pub const MAX_RUNS: u32 = 1000;

/// What one run of the batch gave.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// 1-based run number.
    pub run: u32,
    pub dir: PathBuf,
    /// Per-VM figures, from the logs.
    pub vms: Vec<VmStats>,
    /// The seed the run used, from its logs.
    pub seed: Option<u64>,
    /// `None` if the run went to its end and verified; otherwise what went wrong.
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
        }
        .into());
    }
    let base = config::run(&args.run)?;
    let dir = base.model.logs.join(&args.name);
    std::fs::create_dir_all(&dir).map_err(|e| ConfigError {
        flag: "--logs",
        value: base.model.logs.display().to_string(),
        why: format!("cannot create {}: {e}", dir.display()),
    })?;
    let results = run_all(&base, &dir, args.runs)?;
    let summary = summary_md(&args.name, &command_line(), &results);
    let path = dir.join("summary.md");
    std::fs::write(&path, summary).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "experiment {}: {} runs, summary in {}",
        args.name,
        results.len(),
        path.display()
    );
    Ok(exit_code(&results, args.runs))
}

fn run_all(base: &RunConfig, dir: &Path, runs: u32) -> Result<Vec<RunResult>> {
    let mut results = Vec::new();
    for k in 1..=runs {
        if launcher::interrupted() {
            break;
        }
        let mut cfg = base.clone();
        cfg.model.logs = dir.join(format!("run_{k}"));
        // A given seed makes the batch repeatable; each run gets its own.
        cfg.model.seed = base.model.seed.map(|s| s.wrapping_add(u64::from(k - 1)));
        let left = base.model.runtime.as_secs_f64() * f64::from(runs - k + 1);
        let label = format!("run {k} of {runs}, about {left:.0} s left: ");
        let ran = launcher::run_labeled(cfg.clone(), &label);
        results.push(collect(k, &cfg.model.logs, ran));
    }
    Ok(results)
}

/// Reads back one run: its figures, its verdict, and what went wrong if anything.
fn collect(run: u32, dir: &Path, ran: Result<ExitCode>) -> RunResult {
    let mut problem = match ran {
        Ok(code) if code == ExitCode::SUCCESS => None,
        Ok(_) => Some("interrupted".to_string()),
        Err(e) => Some(format!("{e:#}")),
    };
    let (vms, seed) = read_stats(dir).unwrap_or_default();
    match verify::check_dir(dir) {
        Ok(r) if r.ok() => {}
        Ok(r) => problem = Some(format!("verify found {} violations", r.violations.len())),
        Err(e) => problem = Some(format!("{e:#}")),
    }
    RunResult {
        run,
        dir: dir.to_path_buf(),
        vms,
        seed,
        problem,
    }
}

fn read_stats(dir: &Path) -> Result<(Vec<VmStats>, Option<u64>)> {
    let mut rows = Vec::new();
    let mut seed = None;
    for f in logs::read_run(dir)? {
        let lines = f
            .lines()
            .map_err(|(n, e)| anyhow::anyhow!("{}:{n}: {e}", f.name))?;
        if let Some(crate::logline::Event::Start(s)) = lines.first().map(|l| &l.event) {
            seed = Some(s.seed);
        }
        rows.push(VmStats::from_lines(&lines));
    }
    Ok((rows, seed))
}

fn exit_code(results: &[RunResult], runs: u32) -> ExitCode {
    if launcher::interrupted() || (results.len() as u32) < runs {
        ExitCode::from(130)
    } else if results.iter().any(|r| r.problem.is_some()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("lamport-sim {}", args.join(" "))
}

/// The `summary.md` text.
pub fn summary_md(name: &str, command: &str, results: &[RunResult]) -> String {
    let mut out = format!("# Experiment `{name}`\n\n```\n{command}\n```\n\n");
    out.push_str("## Every VM of every run\n\n");
    out.push_str("| run | seed | vm | rate | ticks | sends | receives | internal | final clock | max jump | max queue | pending | stop |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in results {
        let seed = r.seed.map_or("?".into(), |s| s.to_string());
        for v in &r.vms {
            let stop = v.stop.map_or("DIED", |s| s.as_str());
            let _ = writeln!(
                out,
                "| {} | {seed} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {stop} |",
                r.run,
                v.vm,
                v.rate,
                v.ticks,
                v.sends,
                v.receives,
                v.internals,
                v.final_clock,
                v.max_jump,
                v.max_queue,
                v.pending
            );
        }
    }
    out.push_str(&run_level_table(results));
    let problems: Vec<String> = results
        .iter()
        .filter_map(|r| Some(format!("- run {}: {}", r.run, r.problem.as_ref()?)))
        .collect();
    if !problems.is_empty() {
        let _ = write!(
            out,
            "\n## Problems (left out of the means)\n\n{}\n",
            problems.join("\n")
        );
    }
    out
}

/// Run-level figures: spread of final clocks, largest jump and queue, and their means.
fn run_level_table(results: &[RunResult]) -> String {
    let mut out = String::from(
        "\n## Per run\n\n| run | rates | final clock spread | largest jump | largest queue | verify |\n|---|---|---|---|---|---|\n",
    );
    let mut sums = [0f64; 3];
    let mut n = 0u32;
    for r in results {
        let Some(fig) = run_figures(&r.vms) else {
            continue;
        };
        let rates: Vec<String> = r.vms.iter().map(|v| v.rate.to_string()).collect();
        let verdict = if r.problem.is_some() {
            "see problems"
        } else {
            "OK"
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {verdict} |",
            r.run,
            rates.join(", "),
            fig[0],
            fig[1],
            fig[2]
        );
        if r.problem.is_none() {
            n += 1;
            for (s, f) in sums.iter_mut().zip(fig) {
                *s += f as f64;
            }
        }
    }
    if n > 0 {
        let m = sums.map(|s| s / f64::from(n));
        let _ = writeln!(
            out,
            "| **mean of {n} runs** | | {:.1} | {:.1} | {:.1} | |",
            m[0], m[1], m[2]
        );
    }
    out
}

/// [final clock spread, largest jump, largest queue] of one run.
fn run_figures(vms: &[VmStats]) -> Option<[u64; 3]> {
    let max = vms.iter().map(|v| v.final_clock).max()?;
    let min = vms.iter().map(|v| v.final_clock).min()?;
    let jump = vms.iter().map(|v| v.max_jump).max()?;
    let queue = vms.iter().map(|v| v.max_queue).max()?;
    Some([max - min, jump, queue])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(id: u32, rate: u32, clock: u64, jump: u64, queue: u64) -> VmStats {
        VmStats {
            vm: id,
            rate,
            final_clock: clock,
            max_jump: jump,
            max_queue: queue,
            stop: Some(crate::logline::StopReason::Runtime),
            ..VmStats::default()
        }
    }

    fn result(run: u32, vms: Vec<VmStats>, problem: Option<&str>) -> RunResult {
        RunResult {
            run,
            dir: PathBuf::from(format!("run_{run}")),
            vms,
            seed: Some(7),
            problem: problem.map(String::from),
        }
    }

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
    fn summary_has_a_row_per_vm_and_means_over_good_runs() {
        let results = vec![
            result(1, vec![vm(1, 2, 100, 5, 3), vm(2, 6, 110, 1, 0)], None),
            result(2, vec![vm(1, 1, 90, 9, 7), vm(2, 6, 120, 2, 1)], None),
            result(3, vec![vm(1, 1, 10, 99, 99)], Some("interrupted")),
        ];
        let md = summary_md("t", "lamport-sim experiment --name t", &results);
        assert_eq!(
            md.lines()
                .filter(|l| l.starts_with("| 1 | 7 |") || l.starts_with("| 2 | 7 |"))
                .count(),
            4
        );
        // spreads 10 and 30, jumps 5 and 9, queues 3 and 7: means 20, 7, 5.
        assert!(
            md.contains("| **mean of 2 runs** | | 20.0 | 7.0 | 5.0 | |"),
            "{md}"
        );
        assert!(md.contains("- run 3: interrupted"), "{md}");
    }
}
