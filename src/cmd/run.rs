//! `lamport-sim run` (and no subcommand): runs the simulation through
//! [`launcher::run`], then prints what the run came to: the end-of-run table
//! read back from the logs (through [`crate::run::read`]), the VMs that gave
//! up on peers, and the exit status the launcher decided.
//!
//! Exit codes: 0 when every VM stopped cleanly; 1 when one failed or gave up
//! (or set-up failed); 2 on a usage error; 130 when interrupted.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::analyze::per_vm::VmStats;
use crate::cli::RunArgs;
use crate::launcher::{self, Ended};
use crate::report;
use crate::text as table;

/// `lamport-sim [run] ...`.
pub fn main(args: &RunArgs) -> Result<ExitCode> {
    let ended = launcher::run(crate::config::run(args)?)?;
    say(&ended).map(ExitCode::from)
}

/// Prints the end-of-run table (when due) and the VMs that gave up; an
/// error naming the VMs that failed; else the exit status. `experiment`
/// says the same after each of its runs.
pub fn say(ended: &Ended) -> Result<u8> {
    if !ended.table_due() {
        return Ok(ended.exit_code());
    }
    match table_of(&ended.logs, ended.vms) {
        Ok(t) => print!("{t}"),
        Err(e) => eprintln!("lamport-sim: no table: {e:#}"),
    }
    if !ended.lost.is_empty() {
        let lost: Vec<(u32, &[(u32, u64)])> = ended
            .lost
            .iter()
            .map(|(vm, peers)| (*vm, peers.as_slice()))
            .collect();
        let mut text = String::new();
        for line in losses(&lost, &ended.logs.display().to_string()) {
            text.push_str(&format!("lamport-sim: {line}\n"));
        }
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
    if !ended.failed.is_empty() {
        bail!("{}", failures(&ended.failed));
    }
    if ended.lost.is_empty() && ended.how == launcher::How::Interrupted {
        eprintln!("lamport-sim: interrupted; every VM stopped cleanly and its log is complete");
    }
    Ok(ended.exit_code())
}

/// Most VMs that gave up named one line each; more make one line in all.
const MAX_LOSS_LINES: usize = 3;
/// Widest loss line, after the `lamport-sim: ` in front of it.
const LOSS_WIDTH: usize = table::WIDTH - "lamport-sim: ".len();

/// The lines for the VMs that gave up on peers (VM, its (peer, messages not
/// acknowledged)), each within [`LOSS_WIDTH`]: `VM 2 gave up on VM 3 (14
/// messages unacknowledged)`, or one line for many VMs; then where to look.
fn losses(lost: &[(u32, &[(u32, u64)])], logs: &str) -> Vec<String> {
    let fit = |long: String, short: String| {
        if long.chars().count() <= LOSS_WIDTH {
            long
        } else {
            short
        }
    };
    let unacked = |n: u64| match n {
        1 => "1 message unacknowledged".to_string(),
        n => format!("{n} messages unacknowledged"),
    };
    let mut out: Vec<String> = Vec::new();
    if lost.len() <= MAX_LOSS_LINES {
        for (vm, peers) in lost {
            let mut ids: Vec<u32> = peers.iter().map(|p| p.0).collect();
            ids.sort_unstable();
            let n = unacked(peers.iter().map(|p| p.1).sum());
            out.push(fit(
                format!("VM {vm} gave up on VM {} ({n})", table::id_list(&ids)),
                format!("VM {vm} gave up on {} peers ({n})", ids.len()),
            ));
        }
    } else {
        let mut vms: Vec<u32> = lost.iter().map(|l| l.0).collect();
        vms.sort_unstable();
        let n = unacked(lost.iter().flat_map(|l| l.1).map(|p| p.1).sum());
        out.push(fit(
            format!("VM {} gave up on peers ({n} in all)", table::id_list(&vms)),
            format!("{} VMs gave up on peers ({n} in all)", vms.len()),
        ));
    }
    out.push(fit(
        format!("see what was lost: lamport-sim verify {logs}"),
        "see what was lost: lamport-sim verify".into(),
    ));
    out
}

/// `VM 1-3, 5 died (killed by signal 9); VM 4 failed (exit code 1)`: one
/// clause per way of failing, so twelve dead VMs still make a short line.
fn failures(failed: &[(u32, String)]) -> String {
    let mut ways: Vec<&str> = failed.iter().map(|f| f.1.as_str()).collect();
    ways.sort_unstable();
    ways.dedup();
    let clauses: Vec<String> = ways
        .iter()
        .map(|way| {
            let ids: Vec<u32> = failed.iter().filter(|f| f.1 == *way).map(|f| f.0).collect();
            format!("VM {} {way}", table::id_list(&ids))
        })
        .collect();
    clauses.join("; ")
}

/// The end-of-run table of VMs 1..=`n` from the logs in `dir`.
fn table_of(dir: &Path, n: u32) -> Result<String> {
    // analyze's reader: a last line cut short (a full disk) is dropped, not fatal.
    let (logs, _notes) = crate::run::read::read_logs(dir)?;
    let rows: Vec<VmStats> = logs
        .iter()
        .filter(|(id, _)| *id <= n)
        .map(|(id, lines)| VmStats {
            vm: *id,
            ..VmStats::from_lines(lines)
        })
        .collect();
    Ok(report::text::end_of_run_table(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use launcher::How;

    fn ended(how: How) -> Ended {
        Ended {
            logs: "logs".into(),
            vms: 3,
            how,
            failed: Vec::new(),
            lost: Vec::new(),
        }
    }

    #[test]
    fn the_exit_status_is_the_launchers() {
        assert_eq!(ended(How::Ran).exit_code(), 0);
        assert_eq!(ended(How::Interrupted).exit_code(), 130);
        assert_eq!(ended(How::NotStarted).exit_code(), 130);
        assert_eq!(ended(How::SetupFailed { usage: true }).exit_code(), 2);
        assert_eq!(ended(How::SetupFailed { usage: false }).exit_code(), 1);
        let lost = Ended {
            lost: vec![(2, vec![(3, 14)])],
            ..ended(How::Interrupted)
        };
        assert_eq!(lost.exit_code(), 1);
        let failed = Ended {
            failed: vec![(1, "vanished".into())],
            ..ended(How::Ran)
        };
        assert_eq!(failed.exit_code(), 1);
        assert!(!ended(How::SetupFailed { usage: true }).table_due());
        assert!(!ended(How::NotStarted).table_due());
        assert!(ended(How::Interrupted).table_due());
    }

    #[test]
    fn no_table_is_due_after_a_failed_setup() {
        let e = Ended {
            failed: vec![(1, "failed (exit code 2)".into())],
            ..ended(How::SetupFailed { usage: true })
        };
        assert_eq!(say(&e).unwrap(), 2, "the failure is said already");
    }

    #[test]
    fn failures_are_grouped_by_how_the_vms_failed() {
        let died = "died (killed by signal 9)".to_string();
        let mut failed: Vec<(u32, String)> = (1..=12).map(|id| (id, died.clone())).collect();
        failed[3].1 = "failed (exit code 1)".into();
        assert_eq!(
            failures(&failed),
            "VM 1-3, 5-12 died (killed by signal 9); VM 4 failed (exit code 1)"
        );
    }

    #[test]
    fn losses_name_the_pairs_or_sum_up_within_80_columns() {
        let two: &[(u32, u64)] = &[(3, 14)];
        assert_eq!(
            losses(&[(2, two)], "logs"),
            [
                "VM 2 gave up on VM 3 (14 messages unacknowledged)",
                "see what was lost: lamport-sim verify logs"
            ]
        );
        let many: Vec<(u32, u64)> = (1..=40).map(|p| (p * 2, 1)).collect();
        let one: &[(u32, u64)] = &[(1, 1)];
        let l = losses(&[(1, &many), (7, one)], &"/deep".repeat(20));
        assert_eq!(
            l,
            [
                "VM 1 gave up on 40 peers (40 messages unacknowledged)",
                "VM 7 gave up on VM 1 (1 message unacknowledged)",
                "see what was lost: lamport-sim verify"
            ]
        );
        let vms: Vec<(u32, &[(u32, u64)])> = (1..=600).map(|vm| (vm * 2, two)).collect();
        let l = losses(&vms, "logs");
        assert_eq!(
            l[0],
            "600 VMs gave up on peers (8400 messages unacknowledged in all)"
        );
        let l = losses(&vms[..4], "logs");
        assert_eq!(
            l[0],
            "VM 2, 4, 6, 8 gave up on peers (56 messages unacknowledged in all)"
        );
        for l in [l, losses(&vms, "logs")].concat() {
            assert!(l.len() + "lamport-sim: ".len() <= 80, "{l}");
        }
    }
}
