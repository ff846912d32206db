//! The `lamport-sim` binary: parses the command line and hands over to the
//! library. Exit codes: 0 ok, 1 failure, 2 usage.

use std::process::ExitCode;

use clap::Parser;
use lamport_sim::cli::{Cli, Command};
use lamport_sim::config::ConfigError;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's whole message: the error, its suggestion ("tip: ..."),
            // the usage line and where to read more.
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<ConfigError>().is_some() => {
            let mut text = format!("error: {e}\n");
            if let Some(hint) = e
                .downcast_ref::<ConfigError>()
                .and_then(|c| c.hint.as_ref())
            {
                text.push_str(&format!("hint: {hint}\n"));
            }
            say_err(&text);
            ExitCode::from(2)
        }
        Err(e) => {
            say_err(&format!("error: {e:#}\n"));
            ExitCode::from(1)
        }
    }
}

/// Our error lines in one write, so they never interleave with another
/// process's lines on a shared stderr (`eprintln!` writes in pieces).
fn say_err(text: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => lamport_sim::launcher::run(lamport_sim::config::run(&cli.run)?),
        Some(Command::Run(a)) => lamport_sim::launcher::run(lamport_sim::config::run(&a)?),
        Some(Command::Vm(a)) => {
            let cfg = if a.control {
                lamport_sim::vm::config_from_launcher(a.id, &a.listen)?
            } else {
                lamport_sim::config::vm(&a)?
            };
            // A socket per peer: a VM of 1024 needs more than a shell's usual 1024.
            let _ = lamport_sim::limits::raise_open_files();
            let id = cfg.id;
            lamport_sim::vm::run(cfg).map_err(|e| match e.downcast::<ConfigError>() {
                Ok(usage) => usage.into(),
                Err(e) => e.context(format!("vm {id}")),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Verify(a)) => lamport_sim::verify::main(&a.dir),
        Some(Command::Experiment(a)) => lamport_sim::experiment::main(&a),
        Some(Command::Analyze(a)) => lamport_sim::analyze::main(&a),
        Some(Command::Export(a)) => lamport_sim::export::main(&a),
        Some(Command::Completions(a)) => {
            lamport_sim::manual::to_stdout(|o| lamport_sim::manual::completions(a.shell, o))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            lamport_sim::manual::to_stdout(lamport_sim::manual::man)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
