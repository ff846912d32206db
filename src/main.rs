//! The `lamport-sim` binary: parses the command line and hands over to its
//! subcommand in [`lamport_sim::cmd`]; an error is printed here, in one
//! write. Exit codes: 0 ok, 1 failure, 2 usage.

use std::process::ExitCode;

use clap::Parser;
use lamport_sim::cli::{Cli, Command};
use lamport_sim::cmd;
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
        None => cmd::run::main(&cli.run),
        Some(Command::Run(a)) => cmd::run::main(&a),
        Some(Command::Vm(a)) => cmd::vm::main(&a),
        Some(Command::Verify(a)) => cmd::verify::main(&a.dir),
        Some(Command::Experiment(a)) => cmd::experiment::main(&a),
        Some(Command::Analyze(a)) => cmd::analyze::main(&a),
        Some(Command::Export(a)) => cmd::export::main(&a),
        Some(Command::Deploy(a)) => cmd::deploy::main(&a),
        Some(Command::Collect(a)) => cmd::collect::main(&a),
        Some(Command::Completions(a)) => cmd::completions(a.shell),
        Some(Command::Man) => cmd::man(),
    }
}
