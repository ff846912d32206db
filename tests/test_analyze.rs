//! `lamport-sim analyze`: a real short run, then the report it writes, and
//! the exit codes for folders that are not runs.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;

fn analyze(args: &[&Path]) -> Output {
    let mut c = bin();
    c.arg("analyze").args(args);
    run_with_limit(&mut c, Duration::from_secs(20))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The rows of a CSV as maps from column name to cell.
fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let body = std::fs::read_to_string(path).expect("summary.csv");
    let mut lines = body.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(String::from)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn a_real_run_gets_a_full_report() {
    let dir = tempdir();
    let run = run_with_limit(
        &mut fast_run(dir.path(), &["--vms", "3", "--runtime", "2"]),
        Duration::from_secs(30),
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_verifies(dir.path());

    let out = analyze(&[dir.path()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("per s") && stdout.contains("drift (max - min"),
        "{stdout}"
    );
    let report = dir.path().join("report");
    for f in [
        "report.html",
        "summary.csv",
        "summary.json",
        "clock.svg",
        "drift.svg",
    ] {
        assert!(report.join(f).is_file(), "{f} missing");
    }
    for f in [
        "queue.svg",
        "jumps.svg",
        "events.svg",
        "spacetime.svg",
        "staleness.svg",
    ] {
        let svg = std::fs::read_to_string(report.join(f)).unwrap();
        assert!(svg.starts_with("<svg"), "{f}");
    }
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 7);
    assert!(html.contains("<h2>Happens-before"));
    assert!(stdout.contains("happens-before (vector clocks rebuilt from the logs)"));
    let json = std::fs::read_to_string(report.join("summary.json")).unwrap();
    assert_eq!(json.matches("\"causal\": {\"events\": ").count(), 3);

    let rows = csv_rows(&report.join("summary.csv"));
    assert_eq!(rows.len(), 3);
    for (i, row) in rows.iter().enumerate() {
        let n = |k: &str| -> f64 { row[k].parse().unwrap_or_else(|_| panic!("{k}={}", row[k])) };
        assert_eq!(n("vm"), (i + 1) as f64);
        assert!((50.0..=100.0).contains(&n("rate_per_s")));
        assert!((n("ticks") - 2.0 * n("rate_per_s")).abs() <= 1.0, "{row:?}");
        assert!(n("final_clock") >= n("ticks") && n("jump_mean") >= 1.0);
        assert!(n("clock_rate_per_s") >= n("rate_per_s") * 0.5, "{row:?}");
        let events = n("internal_events") + n("send_events") + n("receive_events");
        assert_eq!(events, n("ticks"));
        assert!(n("latency_mean_ms") >= 0.0 && n("latency_mean_ms") < 1000.0);
        assert_eq!(row["stop"], "runtime");
        assert!(n("drift_max") >= n("drift_mean"));
        assert!((0.0..=1.0).contains(&n("concurrent_share")), "{row:?}");
        assert!(n("staleness_max_events") >= n("staleness_mean_events"));
    }

    // --out elsewhere, and a window with nothing in it.
    let other = dir.path().join("elsewhere");
    let mut c = bin();
    c.arg("analyze")
        .arg(dir.path())
        .arg("--out")
        .arg(&other)
        .args(["--window", "50..60"]);
    let out = run_with_limit(&mut c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let st = std::fs::read_to_string(other.join("spacetime.svg")).unwrap();
    assert!(st.contains("No events in this window"));
}

/// Runs `analyze` on `dir` and returns (exit code, stderr).
fn failure(dir: &Path) -> (Option<i32>, String) {
    let out = analyze(&[dir]);
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_folder_that_is_not_a_run_exits_2_with_one_line() {
    let dir = tempdir();
    let gone = dir.path().join("gone");
    for d in [gone.as_path(), dir.path()] {
        let (code, err) = failure(d);
        assert_eq!(code, Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: ") && err.contains(&d.display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn an_unparsable_log_exits_1_naming_it() {
    let dir = tempdir();
    std::fs::write(log_path(dir.path(), 1), b"\x00\xff\xfe binary").unwrap();
    let (code, err) = failure(dir.path());
    assert_eq!(code, Some(1));
    assert!(
        err.contains("machine_1.log") && err.lines().count() == 1,
        "{err}"
    );
    std::fs::write(log_path(dir.path(), 1), "not a log line\n").unwrap();
    let (code, err) = failure(dir.path());
    assert_eq!(code, Some(1));
    assert!(err.contains("machine_1.log:1:"), "{err}");
}

#[test]
fn a_bad_window_is_a_usage_error() {
    let dir = tempdir();
    let mut c = bin();
    c.arg("analyze").arg(dir.path()).args(["--window", "9..3"]);
    let out = run_with_limit(&mut c, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--window 9..3"));
}
