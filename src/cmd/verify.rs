//! `lamport-sim verify DIR`: prints [`crate::verify`]'s causes, violations
//! (a screenful, then a count) and summary for a run folder, or one line per
//! `run_<k>` of an experiment folder (as `analyze` and `export` take it).
//!
//! Exit codes: 0 if every rule holds (in every run); 1 on violations (or a
//! run that cannot be read); 2 if DIR is neither a run folder nor an
//! experiment folder.

use std::path::Path;
use std::process::ExitCode;

use crate::run::layout;
use crate::verify::{self, DOC, check_dir};

/// `lamport-sim verify DIR`.
pub fn main(dir: &Path) -> anyhow::Result<ExitCode> {
    if layout::is_experiment(dir) {
        return Ok(experiment(dir));
    }
    match check_dir(dir) {
        Ok(report) => {
            print!("{}", report.render());
            Ok(exit_code(report.ok()))
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

/// One line per `run_<k>` of the experiment in `dir`, then a verdict.
fn experiment(dir: &Path) -> ExitCode {
    let runs = layout::run_dirs(dir);
    let mut failed = 0;
    for (k, run_dir) in &runs {
        let line = match check_dir(run_dir) {
            Ok(report) => {
                failed += usize::from(!report.ok());
                report.one_line()
            }
            Err(e) => {
                failed += 1;
                format!("FAILED: {e:#}")
            }
        };
        print!("{}", verify::wrap(&format!("run_{k}: {line}")));
    }
    let n = runs.len();
    if failed == 0 {
        println!("verify: OK, all {n} runs pass every rule of {DOC}");
    } else {
        println!("verify: FAILED: {failed} of {n} runs");
    }
    exit_code(failed == 0)
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
