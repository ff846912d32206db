//! `lamport-sim run`: real processes, real TCP on 127.0.0.1, then the logs.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use lamport_sim::logline::Event;

#[test]
fn a_fast_three_vm_run_obeys_every_rule_with_exact_ticks() {
    let dir = tempdir();
    let out = run_with_limit(
        &mut fast_run(dir.path(), &["--vms", "3", "--runtime", "3"]),
        Duration::from_secs(30),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("vm ") && l.ends_with(" stop")),
        "no table:\n{stdout}"
    );
    let logs = read_logs(dir.path());
    assert_eq!(logs.len(), 3);
    for (id, lines) in &logs {
        let start = start_of(lines);
        assert!(
            (50..=100).contains(&start.rate),
            "vm {id} rate {}",
            start.rate
        );
        assert_eq!(start.peers.len(), 2);
        let (ticks, reason) = stop_of(lines).expect("stop line");
        assert_eq!(reason, "runtime");
        assert_eq!(
            ticks,
            u64::from(start.rate) * 3,
            "vm {id}: exactly rate x runtime ticks"
        );
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(&id.to_string()))
        );
    }
    assert_verifies(dir.path());
}

#[test]
fn the_same_seed_draws_the_same_rates() {
    let rates = |seed: &str| {
        let dir = tempdir();
        let out = run_ok(
            &[
                "--base-port",
                "0",
                "--vms",
                "4",
                "--runtime",
                "0.5",
                "--seed",
                seed,
                "--min-rate",
                "1",
                "--max-rate",
                "1000",
            ],
            dir.path(),
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("seed {seed}")));
        assert_verifies(dir.path());
        let logs = read_logs(dir.path());
        logs.iter()
            .map(|(_, l)| (start_of(l).rate, start_of(l).seed))
            .collect::<Vec<_>>()
    };
    let a = rates("42");
    assert_eq!(a, rates("42"));
    assert!(a.iter().all(|&(_, s)| s == 42));
    assert_ne!(a, rates("43"));
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn ctrl_c_stops_every_vm_cleanly_with_complete_logs() {
    let dir = tempdir();
    let child = fast_run(dir.path(), &["--vms", "3", "--runtime", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    for id in 1..=3 {
        wait_for_line(
            &log_path(dir.path(), id),
            "tick=20 ",
            Duration::from_secs(20),
        );
    }
    signal(child.id(), "INT");
    let out = wait_with_limit(child, Duration::from_secs(5));
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (id, lines) in read_logs(dir.path()) {
        assert_eq!(stop_of(&lines).map(|s| s.1), Some("signal"), "vm {id}");
    }
    assert_no_process_left(dir.path(), Duration::from_secs(2));
    assert_verifies(dir.path());
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn killing_the_launcher_stops_every_vm_on_its_own() {
    let dir = tempdir();
    let child = fast_run(dir.path(), &["--vms", "3", "--runtime", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    for id in 1..=3 {
        wait_for_line(
            &log_path(dir.path(), id),
            "tick=10 ",
            Duration::from_secs(20),
        );
    }
    signal(child.id(), "KILL");
    let _ = wait_with_limit(child, Duration::from_secs(5));
    assert_no_process_left(dir.path(), Duration::from_secs(2));
    for (id, lines) in read_logs(dir.path()) {
        assert_eq!(
            stop_of(&lines).map(|s| s.1),
            Some("signal"),
            "vm {id} has no clean stop"
        );
    }
    assert_verifies(dir.path());
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn a_killed_vm_is_named_and_the_survivors_still_verify() {
    let dir = tempdir();
    let child = fast_run(dir.path(), &["--vms", "3", "--runtime", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for_line(
        &log_path(dir.path(), 2),
        "tick=30 ",
        Duration::from_secs(20),
    );
    let victim = processes_mentioning(dir.path())
        .into_iter()
        .find(|&pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmd).contains("\0--id\x002\0")
        })
        .expect("VM 2's process");
    signal(victim, "KILL");
    let out = wait_with_limit(child, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("VM 2 died"), "{stderr}");
    let logs = read_logs(dir.path());
    for (id, lines) in &logs {
        if *id == 2 {
            assert_eq!(stop_of(lines), None, "a SIGKILLed VM cannot log its stop");
        } else {
            assert_eq!(stop_of(lines).map(|s| s.1), Some("runtime"));
            assert!(
                lines.iter().any(|l| l.event == Event::PeerLost { peer: 2 }),
                "vm {id} logs peer_lost"
            );
        }
    }
    assert_verifies(dir.path());
}

#[test]
fn stale_logs_of_a_larger_run_are_removed() {
    let dir = tempdir();
    std::fs::write(log_path(dir.path(), 5), "old\n").expect("write");
    std::fs::write(dir.path().join("notes.txt"), "keep me\n").expect("write");
    let out = run_with_limit(
        &mut fast_run(dir.path(), &["--vms", "2", "--runtime", "0.3"]),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!log_path(dir.path(), 5).exists());
    assert!(dir.path().join("notes.txt").exists());
    assert_verifies(dir.path());
}

#[test]
fn bad_arguments_fail_before_anything_runs_with_one_line_naming_the_flag() {
    let dir = tempdir();
    let logs = dir.path().join("never");
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = held.local_addr().expect("addr").port();
    let base = (taken - 1).to_string();
    let taken_addr = format!("127.0.0.1:{taken}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--vms", "1"], "--vms"),
        (vec!["--vms", "0"], "--vms"),
        (vec!["--min-rate", "5", "--max-rate", "3"], "--min-rate"),
        (vec!["--min-rate", "0"], "--min-rate"),
        (vec!["--event-range", "2"], "--event-range"),
        (vec!["--runtime", "0"], "--runtime"),
        (vec!["--vms", "x"], "--vms"),
        (vec!["--bogus"], "--bogus"),
        (vec!["--base-port", &base], "--base-port"),
        (vec!["vm", "--id", "1", "--listen", "127.0.0.1:1"], "--peer"),
        (
            vec![
                "vm",
                "--id",
                "1",
                "--listen",
                "127.0.0.1:1",
                "--peer",
                "1=127.0.0.1:2",
            ],
            "--peer",
        ),
        (
            vec![
                "vm",
                "--id",
                "1",
                "--listen",
                "nowhere",
                "--peer",
                "2=127.0.0.1:2",
            ],
            "--listen",
        ),
        (
            vec![
                "vm",
                "--id",
                "1",
                "--listen",
                "127.0.0.1:0",
                "--peer",
                // Not HOST:PORT. (A name that does not resolve is no usage
                // error at once: it may resolve once its host is up, so it is
                // retried within --connect-timeout; tests/test_engine_flags.rs.)
                "2=no-such-host.invalid",
            ],
            "--peer",
        ),
        (
            vec![
                "vm",
                "--id",
                "1",
                "--listen",
                &taken_addr,
                "--peer",
                "2=127.0.0.1:2",
            ],
            "--listen",
        ),
    ];
    for (args, flag) in cases {
        let mut c = bin();
        c.args(&args).arg("--logs").arg(&logs);
        let out = run_with_limit(&mut c, Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.trim_end().lines().collect();
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(flag),
            "{args:?}: {stderr}"
        );
        // clap's own errors keep its whole message; ours are one line and
        // at most one hint.
        let clap = stderr.contains("For more information, try '--help'.");
        assert!(
            clap || lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("hint: ")),
            "{args:?}: one line and at most a hint, got:\n{stderr}"
        );
    }
    assert!(!logs.exists(), "a refused run created {}", logs.display());
    drop(held);
}

#[test]
fn an_unwritable_log_folder_is_a_usage_error() {
    let dir = tempdir();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("write");
    let out = run_with_limit(
        bin()
            .args(["--runtime", "1", "--base-port", "0", "--logs"])
            .arg(file.join("sub")),
        Duration::from_secs(10),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--logs"), "{stderr}");
}

#[test]
fn fixed_rates_give_each_vm_its_rate() {
    let dir = tempdir();
    run_ok(
        &["--rates", "10,60,60", "--runtime", "1", "--base-port", "0"],
        dir.path(),
    );
    let rates: Vec<u32> = read_logs(dir.path())
        .iter()
        .map(|(_, l)| start_of(l).rate)
        .collect();
    assert_eq!(rates, vec![10, 60, 60]);
    assert_verifies(dir.path());
}
