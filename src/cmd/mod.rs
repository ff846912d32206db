//! The subcommands, one file each (as xsv's `src/cmd/`): each reads its
//! folders, calls the library, prints, and picks the exit code (0 ok, 1
//! failure, 2 usage, 130 interrupted). Nothing below them prints a result
//! or picks an exit code (the launcher and the VM say their progress).

pub mod analyze;
pub mod collect;
pub mod deploy;
pub mod experiment;
pub mod export;
pub mod run;
pub mod verify;
pub mod vm;

use std::process::ExitCode;

use anyhow::Result;

use crate::run::read::ReadError;

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

/// 2 when the error says the folder is not a readable run folder (a usage
/// error), 1 for anything else (a log that cannot be parsed, a report that
/// cannot be written).
pub fn read_exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<ReadError>() {
        Some(ReadError::Io { .. } | ReadError::NoLogs { .. }) => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_tell_a_wrong_folder_from_a_bad_log() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let code = |e: ReadError| read_exit_code(&anyhow::Error::new(e));
        let not_found = ReadError::Io {
            path: "x".into(),
            err: io,
        };
        assert_eq!(code(not_found), 2);
        assert_eq!(code(ReadError::NoLogs { dir: "x".into() }), 2);
        let not_text = ReadError::NotText {
            path: "x".into(),
            byte: 0,
        };
        assert_eq!(code(not_text), 1);
        assert_eq!(read_exit_code(&anyhow::anyhow!("machine_1.log:3: bad")), 1);
    }
}
