//! `completions` and `man`: shell completion scripts and the manual page,
//! both generated from the clap definitions in [`crate::cli`], so they never
//! drift from `--help`. Each writes to any `Write`, so tests need no files.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The binary's name, as completions and the man page know it.
const BIN: &str = "lamport-sim";

/// Runs `write` on standard output. A reader that stops early (`| head`)
/// is no error: what it read was right.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    match write(&mut io::stdout().lock()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, BIN, out);
    out.flush()
}

/// Writes the manual page, lamport-sim(1), as roff: clap_mangen's title,
/// name, synopsis, description and options of the top-level command; the
/// subcommands, each with its own section (description, synopsis, options);
/// then exit status, files and where the model is described.
pub fn man(out: &mut dyn Write) -> io::Result<()> {
    let cmd = Cli::command();
    let top = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    top.render_title(&mut page)?;
    top.render_name_section(&mut page)?;
    top.render_synopsis_section(&mut page)?;
    top.render_description_section(&mut page)?;
    top.render_options_section(&mut page)?;
    let subs: Vec<&clap::Command> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    page.extend_from_slice(b".SH SUBCOMMANDS\n");
    for sub in &subs {
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        writeln!(
            page,
            ".TP\n\\fB{BIN} {}\\fR\n{}",
            sub.get_name(),
            roff_text(&about)
        )?;
    }
    for sub in subs {
        subcommand(sub, BIN, &mut page)?;
    }
    page.extend_from_slice(TAIL.as_bytes());
    out.write_all(without_repeated_preambles(&String::from_utf8_lossy(&page)).as_bytes())?;
    out.flush()
}

/// One subcommand's section: `.SH "LAMPORT-SIM NAME"`, then clap_mangen's
/// description, synopsis and options of it, their own headings dropped;
/// then a section for each of its own subcommands (`deploy compose`).
fn subcommand(sub: &clap::Command, parent: &str, out: &mut Vec<u8>) -> io::Result<()> {
    let name = format!("{parent} {}", sub.get_name());
    writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
    let page = clap_mangen::Man::new(sub.clone().bin_name(&name));
    let (mut text, mut first) = (Vec::new(), true);
    page.render_description_section(&mut text)?;
    page.render_synopsis_section(&mut text)?;
    page.render_options_section(&mut text)?;
    for line in String::from_utf8_lossy(&text).lines() {
        // The first heading follows ours at once; the others become breaks.
        match line.starts_with(".SH ") {
            true if !first => writeln!(out, ".PP")?,
            true => first = false,
            false => writeln!(out, "{line}")?,
        }
    }
    for inner in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
        subcommand(inner, &name, out)?;
    }
    Ok(())
}

/// Each clap_mangen section begins by defining the `Aq` string; once at the
/// top of the page is enough.
fn without_repeated_preambles(page: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::with_capacity(page.len());
    for line in page.lines() {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if !preamble || seen.insert(line) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Plain text made safe for a roff text line: backslashes doubled, hyphens
/// escaped, and no line starting with a control character.
fn roff_text(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    match text.chars().next() {
        Some('.' | '\'') => format!("\\&{text}"),
        _ => text,
    }
}

/// The hand-written end of the page (plain roff: no user text in it).
const TAIL: &str = r#".SH "EXIT STATUS"
.TP
0
Success: the run ended, or every rule of the log format holds (verify).
.TP
1
Failure: a VM failed while running, verify found violations, analyze met a log it cannot parse, collect found no log line.
.TP
2
Bad usage, reported before any VM ticks: a bad flag or value, a port in use, a peer that never came up within \-\-connect\-timeout; for verify, analyze and export, a folder that cannot be read or holds no machine_*.log; for collect, a folder that already holds logs (without \-\-replace).
.TP
130
Interrupted by Ctrl+C; every VM stopped cleanly and its log is complete.
.SH FILES
.TP
LOGS/machine_N.log
The log of VM N, one event a line (LOGS is \-\-logs, default logs).
.TP
LOGS/report/
What analyze writes: report.html, summary.csv, summary.json and SVG plots.
.SH "SEE ALSO"
docs/log\-format.md in the source repository: the model's rules, every event of the log with its keys, and every rule verify checks.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_shell_gets_a_script_naming_the_binary() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let script = text(|o| completions(shell, o));
            assert!(script.contains(BIN), "{shell}: {script}");
            assert!(script.contains("verify"), "{shell}");
        }
    }

    #[test]
    fn the_man_page_has_a_section_per_subcommand() {
        let page = text(|o| man(o));
        assert!(page.contains("\n.TH lamport-sim 1"), "{page}");
        assert_eq!(page.matches(".ds Aq").count(), 2, "one preamble");
        for sub in Cli::command().get_subcommands() {
            let heading = format!(".SH \"LAMPORT-SIM {}\"", sub.get_name().to_uppercase());
            assert!(page.contains(&heading), "{heading}");
        }
        for engine in ["COMPOSE", "KUBERNETES", "SLURM"] {
            assert!(
                page.contains(&format!(".SH \"LAMPORT-SIM DEPLOY {engine}\"")),
                "{engine}"
            );
        }
        assert!(page.contains("\\-\\-image"), "the engines' own options");
        assert!(page.contains("\\-\\-connect\\-timeout"));
        assert!(page.contains("EXIT STATUS"));
    }
}
