//! `lamport-sim completions SHELL` and `lamport-sim man`: the real binary's
//! output names every subcommand, and a shell it does not know is a usage
//! error with clap's own message.

mod common;

use std::process::Output;
use std::time::Duration;

use clap::CommandFactory;
use common::*;
use lamport_sim::cli::Cli;

fn run(args: &[&str]) -> Output {
    let mut c = bin();
    c.args(args);
    run_with_limit(&mut c, Duration::from_secs(20))
}

/// Every subcommand the command line declares, by name.
fn subcommands() -> Vec<String> {
    let cmd = Cli::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    names
}

#[test]
fn bash_completions_name_every_subcommand() {
    let out = run(&["completions", "bash"]);
    assert!(out.status.success(), "{out:?}");
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("complete -F _lamport__sim"), "{script}");
    for name in subcommands() {
        // The top-level word list holds each subcommand as a whole word.
        let listed = script
            .lines()
            .filter(|l| l.contains("opts=\"") && l.contains("--vms"))
            .any(|l| l.split(['"', ' ']).any(|w| w == name));
        assert!(listed, "`{name}` missing from the top-level completions");
    }
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn every_shell_is_accepted() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("lamport-sim"), "{shell}: {script}");
        assert!(script.contains("experiment"), "{shell}");
    }
}

#[test]
fn the_man_page_is_roff_with_a_th_header_and_every_subcommand() {
    let out = run(&["man"]);
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8_lossy(&out.stdout);
    // clap_mangen defines one string (`Aq`, an apostrophe) before the header.
    let first = page
        .lines()
        .find(|l| !l.starts_with(".ie \\n(.g .ds Aq") && !l.starts_with(".el .ds Aq"));
    assert_eq!(
        first.map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" ")),
        Some(".TH lamport-sim 1".to_string()),
        "{page}"
    );
    for name in subcommands() {
        let heading = format!(".SH \"LAMPORT-SIM {}\"", name.to_uppercase());
        assert!(page.contains(&heading), "no section {heading}");
        let listed = format!("\\fBlamport\\-sim {name}\\fR");
        assert!(page.contains(&listed), "{name} not under SUBCOMMANDS");
    }
    assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
    assert!(page.contains("docs/log\\-format.md"), "{page}");
}

#[test]
fn an_unknown_shell_is_a_usage_error_with_clap_s_message() {
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: invalid value 'tcsh' for '<SHELL>'"),
        "{err}"
    );
}
