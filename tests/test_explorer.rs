//! `explorer.html` in a real browser: `tests/browser/explorer.test.mjs`
//! (playwright-core driving Debian's headless Chromium) makes a run with
//! this binary, analyzes it, clicks events and compares every event
//! element's mark with happens-before rebuilt from the raw logs by
//! `tests/crosscheck/vclock.py`. A short 4-VM run here; 10 VMs for 60 s in
//! an ignored test that `.ci/run` runs on its own. Without Chromium, node
//! or `tests/browser/node_modules` (`npm ci` there) the test is skipped, or
//! fails under `LAMPORT_SIM_REQUIRE_ALL=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// Debian's Chromium, unless `LAMPORT_SIM_CHROMIUM` names another.
fn chromium() -> PathBuf {
    std::env::var_os("LAMPORT_SIM_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// What this machine lacks to run the browser test, if anything.
fn missing() -> Option<String> {
    if !chromium().is_file() {
        return Some(format!("no Chromium at {}", chromium().display()));
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("no node".into());
    }
    let pw = browser_dir().join("node_modules/playwright-core");
    if !pw.is_dir() {
        return Some(format!("no {} (npm ci in tests/browser)", pw.display()));
    }
    None
}

/// Runs the browser test on a run of `vms` VMs for `runtime` seconds and
/// fails unless every check holds; prints its timings and screenshot.
fn explorer_test(test: &str, vms: u32, runtime: &str, extra: &[&str], limit: Duration) {
    if let Some(why) = missing() {
        skip(test, &why);
        return;
    }
    let work = tempdir();
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("explorer-{vms}-vms.png"));
    let mut c = Command::new("node");
    c.arg(browser_dir().join("explorer.test.mjs"))
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_lamport-sim"))
        .arg("--work")
        .arg(work.path())
        .args(["--vms", &vms.to_string(), "--runtime", runtime])
        .arg("--chromium")
        .arg(chromium())
        .arg("--screenshot")
        .arg(&shot)
        .args(extra);
    let out = run_with_limit(&mut c, limit);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("ok: ") && stdout.contains("timing: "));
    let _ = writeln_stderr(&format!("{test}: {stdout}screenshot: {}", shot.display()));
}

fn writeln_stderr(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stderr(), "{text}")
}

#[test]
fn explorer_marks_match_the_logs_in_chromium() {
    explorer_test(
        "explorer_marks_match_the_logs_in_chromium",
        4,
        "3",
        &["--fast", "--clicks", "12", "--skew", "-250..250"],
        Duration::from_secs(120),
    );
}

/// About 80 s: `.ci/run` runs it (`cargo test --test test_explorer -- --ignored`).
#[test]
#[ignore]
fn explorer_of_10_vms_for_60_s_in_chromium() {
    explorer_test(
        "explorer_of_10_vms_for_60_s_in_chromium",
        10,
        "60",
        &["--clicks", "20"],
        Duration::from_secs(300),
    );
}
