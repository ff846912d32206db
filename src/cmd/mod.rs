//! The subcommands, one file each (as xsv's `src/cmd/`): each reads its
//! folders, calls the library, prints, and picks the exit code (0 ok, 1
//! failure, 2 usage, 130 interrupted). Nothing below them prints a result
//! or picks an exit code (the launcher and the VM say their progress).

pub mod analyze;
pub mod experiment;
pub mod export;
pub mod run;
pub mod verify;
pub mod vm;

use std::process::ExitCode;

use anyhow::Result;

/// `lamport-sim completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    crate::manual::to_stdout(|o| crate::manual::completions(shell, o))?;
    Ok(ExitCode::SUCCESS)
}

/// `lamport-sim man`.
pub fn man() -> Result<ExitCode> {
    crate::manual::to_stdout(crate::manual::man)?;
    Ok(ExitCode::SUCCESS)
}
