//! `lamport-sim experiment`: batches of real runs, and Ctrl+C in the middle.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

#[test]
fn runs_land_in_numbered_folders_with_a_summary() {
    let dir = tempdir();
    run_ok(
        &[
            "experiment",
            "--name",
            "quick",
            "--runs",
            "2",
            "--runtime",
            "0.5",
            "--seed",
            "9",
            "--base-port",
            "0",
            "--min-rate",
            "20",
            "--max-rate",
            "40",
        ],
        dir.path(),
    );
    let exp = dir.path().join("quick");
    for k in 1..=2 {
        assert_verifies(&exp.join(format!("run_{k}")));
    }
    let summary = std::fs::read_to_string(exp.join("summary.md")).expect("summary.md");
    assert!(
        summary.contains("| 1 | 9 | 1 |") && summary.contains("| 2 | 10 | 3 |"),
        "{summary}"
    );
    assert!(summary.contains("mean of 2 runs"), "{summary}");
    assert!(
        summary.contains("The model's prediction beside the logs"),
        "{summary}"
    );
    for plot in ["drift_runs.svg", "clock_runs.svg", "queue_runs.svg"] {
        assert!(exp.join(plot).exists(), "{plot}");
    }
    assert!(exp.join("run_1/report/report.html").exists());
    // analyze on the experiment folder rebuilds the summary from the logs alone.
    std::fs::remove_file(exp.join("summary.md")).expect("rm");
    let again = run_with_limit(bin().arg("analyze").arg(&exp), Duration::from_secs(30));
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let rebuilt = std::fs::read_to_string(exp.join("summary.md")).expect("summary.md");
    assert_eq!(rebuilt, summary);
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn ctrl_c_stops_the_current_run_cleanly_and_keeps_the_finished_ones() {
    let dir = tempdir();
    let mut c = bin();
    c.args([
        "experiment",
        "--name",
        "cut",
        "--runs",
        "3",
        "--runtime",
        "1.5",
    ])
    .args([
        "--base-port",
        "0",
        "--min-rate",
        "20",
        "--max-rate",
        "40",
        "--logs",
    ])
    .arg(dir.path());
    let child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let exp = dir.path().join("cut");
    wait_for_line(
        &log_path(&exp.join("run_2"), 1),
        "tick=5 ",
        Duration::from_secs(20),
    );
    signal(child.id(), "INT");
    let out = wait_with_limit(child, Duration::from_secs(10));
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_verifies(&exp.join("run_1"));
    assert_verifies(&exp.join("run_2"));
    for (id, lines) in read_logs(&exp.join("run_2")) {
        assert_eq!(
            stop_of(&lines).map(|s| s.1),
            Some("signal"),
            "run 2 vm {id}"
        );
    }
    assert!(!exp.join("run_3").exists(), "no run starts after Ctrl+C");
    let summary = std::fs::read_to_string(exp.join("summary.md")).expect("summary.md");
    assert!(
        summary.contains("- run 2: VM 1 stopped early (signal)"),
        "{summary}"
    );
    assert_no_process_left(dir.path(), Duration::from_secs(2));
}

#[test]
fn bad_experiment_arguments_name_their_flag() {
    for (args, flag) in [
        (vec!["--name", "../up"], "--name"),
        (vec!["--name", "x", "--runs", "0"], "--runs"),
        (vec!["--name", "x", "--vms", "1"], "--vms"),
    ] {
        let out = run_with_limit(bin().arg("experiment").args(&args), Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
}
