//! `lamport-sim experiment --name NAME --runs R ...`: holds `LOGS/NAME`'s
//! lock ([`crate::lock`]) for the whole batch, replaces an earlier batch
//! only with `--replace`, runs the batch ([`crate::experiment::run_all`]),
//! reporting each run as `run` does, then summarizes it
//! ([`super::analyze::summarize`]).
//!
//! Exit codes: 0 when every run ran to its end and passed `verify`; 1 when a
//! run has a problem; 2 on a usage error; 130 when interrupted (or not every
//! run started).

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ExperimentArgs;
use crate::experiment::{self, SUMMARY_FILE};
use crate::launcher;
use crate::lock::FolderLock;

/// `lamport-sim experiment`.
pub fn main(args: &ExperimentArgs) -> Result<ExitCode> {
    experiment::check_name(&args.name)?;
    experiment::check_runs(args.runs)?;
    let base = crate::config::run(&args.run)?;
    // Every check before anything is created or removed.
    launcher::preflight(&base)?;
    let dir = base.model.logs.join(&args.name);
    let lock = FolderLock::exclusive(&dir, &format!("experiment {}", args.name))?;
    let old = match experiment::old_runs(&dir, &args.name, args.replace) {
        Ok(old) => old,
        Err(e) => {
            lock.abandon();
            return Err(e.into());
        }
    };
    if !old.is_empty() {
        experiment::remove_old_runs(&dir, &old)?;
        println!(
            "experiment {}: removed {} old runs (--replace)",
            args.name,
            old.len()
        );
    }
    experiment::write_command(&dir, &command_line())?;
    let done = experiment::run_all(&base, &dir, args.runs, |k, ended| {
        if let Err(e) = ended.and_then(|e| super::run::say(&e)) {
            eprintln!("experiment: run {k}: {e:#}");
        }
    });
    let results = super::analyze::summarize(&dir)?;
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

/// `lamport-sim ARGS`, as typed.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("lamport-sim {}", args.join(" "))
}
