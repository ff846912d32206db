//! One run per log folder, experiment re-runs, and errors that help: every
//! refusal exits 2, says why in one line (plus clap's own lines, or one
//! `hint:`), and creates or removes nothing.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::*;
use lamport_sim::logline::Line;

const LIMIT: Duration = Duration::from_secs(30);

/// The names in `dir` (dotfiles included).
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits for VM `id`'s `start` line in `dir` and returns its run id.
fn run_id_of(dir: &Path, id: u32) -> String {
    let path = log_path(dir, id);
    wait_for_line(&path, "event=start", LIMIT);
    let text = std::fs::read_to_string(&path).expect("log");
    let first = text.lines().next().expect("a start line");
    let line = Line::parse(first).expect("start line parses");
    start_of(&[line]).run.clone()
}

#[test]
fn a_second_run_into_a_busy_folder_is_refused_and_the_first_is_untouched() {
    let dir = tempdir();
    let first = fast_run(dir.path(), &["--runtime", "6"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = first.id();
    let run = run_id_of(dir.path(), 1);
    let before = names(dir.path());
    let second = run_with_limit(&mut fast_run(dir.path(), &["--runtime", "1"]), LIMIT);
    assert_eq!(second.status.code(), Some(2), "{}", stderr_of(&second));
    assert_eq!(
        stderr_of(&second),
        format!(
            "error: --logs {}: in use by run {run} (pid {pid}); wait for it or pick another folder\n",
            dir.path().display()
        )
    );
    // A VM started by hand is kept out too.
    let ports = free_ports(2);
    let vm = run_with_limit(
        &mut vm_cmd(dir.path(), 1, &ports, 10, "1", "manual", 1),
        LIMIT,
    );
    assert_eq!(vm.status.code(), Some(2), "{}", stderr_of(&vm));
    assert!(
        stderr_of(&vm).contains(&format!("in use by run {run} (pid {pid})")),
        "{}",
        stderr_of(&vm)
    );
    assert_eq!(names(dir.path()), before, "a refused run created a file");
    wait_ok(first);
    assert_verifies(dir.path());
    for (_, lines) in read_logs(dir.path()) {
        assert_eq!(start_of(&lines).run, run, "every log is the first run's");
    }
}

#[test]
fn a_run_after_a_killed_run_in_the_same_folder_goes_ahead() {
    let dir = tempdir();
    let mut first = fast_run(dir.path(), &["--runtime", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let killed = run_id_of(dir.path(), 1);
    first.kill().expect("kill -9 the launcher");
    first.wait().expect("reap");
    // Its VMs notice the launcher is gone and stop on their own.
    for id in 1..=3 {
        wait_for_line(&log_path(dir.path(), id), "event=stop", LIMIT);
    }
    assert!(
        dir.path().join(".lamport-sim.lock.owner").exists(),
        "the killed launcher's note is left behind, and must not block"
    );
    run_ok(
        &[
            "--runtime",
            "0.5",
            "--base-port",
            "0",
            "--min-rate",
            "20",
            "--max-rate",
            "40",
        ],
        dir.path(),
    );
    assert_verifies(dir.path());
    let logs = read_logs(dir.path());
    assert_eq!(logs.len(), 3);
    assert!(logs.iter().all(|(_, l)| start_of(l).run != killed));
    assert!(!dir.path().join(".lamport-sim.lock.owner").exists());
}

#[test]
fn hand_started_vms_share_a_folder_but_not_an_id_and_keep_a_launcher_out() {
    let dir = tempdir();
    let ports = free_ports(2);
    let spawn = |id| {
        vm_cmd(dir.path(), id, &ports, 20, "4", "manual", 7)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (one, two) = (spawn(1), spawn(2));
    run_id_of(dir.path(), 1);
    run_id_of(dir.path(), 2);
    let again = run_with_limit(
        &mut vm_cmd(dir.path(), 2, &free_ports(2), 20, "1", "manual", 7),
        LIMIT,
    );
    let err = stderr_of(&again);
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "error: --id 2: VM 2 of run manual (pid {}) already logs to ",
            two.id()
        )) && err.lines().count() == 1,
        "{err}"
    );
    let launcher = run_with_limit(&mut fast_run(dir.path(), &["--runtime", "1"]), LIMIT);
    let err = stderr_of(&launcher);
    assert_eq!(launcher.status.code(), Some(2), "{err}");
    assert_eq!(
        err,
        format!(
            "error: --logs {}: in use by VMs started by hand: VM 1 of run manual (pid {}), \
             VM 2 of run manual (pid {}); wait for them or pick another folder\n",
            dir.path().display(),
            one.id(),
            two.id()
        )
    );
    wait_ok(one);
    wait_ok(two);
    assert_verifies(dir.path());
}

fn experiment(logs: &Path, extra: &[&str]) -> Output {
    let mut c = bin();
    c.args(["experiment", "--name", "again", "--runtime", "0.3"])
        .args(["--base-port", "0", "--min-rate", "20", "--max-rate", "40"])
        .args(extra)
        .arg("--logs")
        .arg(logs);
    run_with_limit(&mut c, Duration::from_secs(60))
}

#[test]
fn an_experiment_rerun_is_refused_then_replaced_with_exactly_its_runs() {
    let dir = tempdir();
    let exp = dir.path().join("again");
    let out = experiment(dir.path(), &["--runs", "2", "--seed", "5"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let before = names(&exp);
    let summary = std::fs::read_to_string(exp.join("summary.md")).expect("summary");

    let refused = experiment(dir.path(), &["--runs", "1"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr_of(&refused));
    assert_eq!(
        stderr_of(&refused),
        format!(
            "error: --name again: {} already holds 2 runs (run_1 .. run_2) of an earlier experiment\n\
             hint: add --replace to remove the old runs\n",
            exp.display()
        )
    );
    assert_eq!(
        names(&exp),
        before,
        "a refused experiment touched the folder"
    );
    assert_eq!(
        std::fs::read_to_string(exp.join("summary.md")).expect("summary"),
        summary
    );

    let replaced = experiment(dir.path(), &["--runs", "1", "--seed", "77", "--replace"]);
    assert!(replaced.status.success(), "{}", stderr_of(&replaced));
    let runs: Vec<String> = names(&exp)
        .into_iter()
        .filter(|n| n.starts_with("run_"))
        .collect();
    assert_eq!(runs, vec!["run_1".to_string()]);
    assert_verifies(&exp.join("run_1"));
    let summary = std::fs::read_to_string(exp.join("summary.md")).expect("summary");
    assert!(summary.contains("mean of 1 runs"), "{summary}");
    assert!(summary.contains("| 1 | 77 | 1 |"), "{summary}");
    assert!(
        !summary.lines().any(|l| l.starts_with("| 2 |")),
        "no row of an old run 2: {summary}"
    );
    let analyzed = run_with_limit(bin().arg("analyze").arg(&exp), LIMIT);
    assert!(
        String::from_utf8_lossy(&analyzed.stdout).contains("experiment: 1 runs analyzed"),
        "{}",
        stderr_of(&analyzed)
    );
}

#[test]
fn clap_errors_keep_their_suggestion_usage_and_help_line() {
    let cases: [(&[&str], &str); 3] = [
        (&["analyse"], "tip: a similar subcommand exists: 'analyze'"),
        (&["--vsm", "3"], "error: unexpected argument '--vsm' found"),
        (
            &["vm", "--id"],
            "error: a value is required for '--id <I>' but none was supplied",
        ),
    ];
    for (args, says) in cases {
        let out = run_with_limit(bin().args(args), LIMIT);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(
            err.trim_end()
                .ends_with("For more information, try '--help'."),
            "{args:?}: {err}"
        );
    }
    let out = run_with_limit(bin().arg("analyse"), LIMIT);
    assert!(stderr_of(&out).contains("Usage: lamport-sim"));
}

#[test]
fn a_port_clash_says_how_to_avoid_it_and_creates_no_folder() {
    let dir = tempdir();
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = held.local_addr().expect("addr").port();
    let logs = dir.path().join("new").join("logs");
    let hint = "hint: --base-port 0 lets every VM take a free port";
    let base = (taken - 1).to_string();
    for cmd in [
        vec!["run"],
        vec!["experiment", "--name", "x", "--runs", "1"],
    ] {
        let out = run_with_limit(
            bin()
                .args(&cmd)
                .args(["--base-port", &base, "--runtime", "1", "--logs"])
                .arg(&logs),
            LIMIT,
        );
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
        assert_eq!(
            err,
            format!(
                "error: --base-port {base}: port {taken} (VM 1) is not free: {}\n{hint}\n",
                err.lines()
                    .next()
                    .and_then(|l| l.split(" is not free: ").nth(1))
                    .unwrap_or("?")
            ),
            "{cmd:?}"
        );
        assert!(
            !dir.path().join("new").exists(),
            "{cmd:?} created {}",
            logs.display()
        );
    }
    drop(held);
}
