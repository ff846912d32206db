//! `lamport-sim export --shiviz [DIR] [-o FILE]`: reads a run folder (or
//! every run of an experiment folder) through [`crate::run::read`], writes
//! [`crate::export`]'s text to FILE (default `DIR/shiviz.log`; `-` for
//! standard output) and says what it wrote (on stderr when the text went to
//! standard output).
//!
//! Exit codes as `analyze`: 2 when the folder cannot be read or holds no
//! `machine_*.log`; 1 when a log cannot be parsed, the run has no tick
//! event, or the file cannot be written.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::ExportArgs;
use crate::export::{self, RunData};
use crate::run::{layout, read};

/// `lamport-sim export`.
pub fn main(args: &ExportArgs) -> Result<ExitCode> {
    match run(args) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(super::read_exit_code(&e)))
        }
    }
}

fn run(args: &ExportArgs) -> Result<()> {
    let runs = read_runs(&args.dir)?;
    if export::events(&runs) == 0 {
        bail!("{}: no tick events, nothing to export", args.dir.display());
    }
    let text = export::shiviz(&runs);
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| args.dir.join("shiviz.log"));
    write_out(&out, &text)?;
    let to_stdout = out == Path::new("-");
    let place = if to_stdout {
        "standard output".to_string()
    } else {
        out.display().to_string()
    };
    for line in export::said(&place, &runs) {
        if to_stdout {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    Ok(())
}

/// The run in `dir`, or each `run_k` of an experiment folder, in order.
fn read_runs(dir: &Path) -> Result<Vec<RunData>> {
    let dirs: Vec<(Option<String>, PathBuf)> = if layout::is_experiment(dir) {
        let runs = layout::run_dirs(dir).into_iter();
        runs.map(|(k, d)| (Some(format!("run_{k}")), d)).collect()
    } else {
        vec![(None, dir.to_path_buf())]
    };
    dirs.into_iter()
        .map(|(label, d)| read_run(label, &d))
        .collect()
}

/// One run's logs; the reader's notes (a cut last line) said as it goes.
fn read_run(label: Option<String>, dir: &Path) -> Result<RunData> {
    let (logs, notes) = read::read_logs(dir)?;
    for note in notes {
        eprintln!("note: {}: {note}", dir.display());
    }
    Ok(RunData::new(label, logs))
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
