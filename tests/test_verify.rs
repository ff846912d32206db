//! `lamport-sim verify` at the command line: exit codes, one-line errors for
//! folders that are not runs, and violations named by file and line.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;

fn verify(dir: &Path) -> Output {
    run_with_limit(bin().arg("verify").arg(dir), Duration::from_secs(30))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A short real run in a fresh folder.
fn real_run() -> tempfile::TempDir {
    let dir = tempdir();
    run_ok(
        &[
            "--base-port",
            "0",
            "--rates",
            "40,60,80",
            "--runtime",
            "1",
            "--seed",
            "4",
        ],
        dir.path(),
    );
    dir
}

#[test]
fn folders_that_are_not_runs_exit_2_with_one_line() {
    let dir = tempdir();
    let binary = dir.path().join("binary");
    std::fs::create_dir(&binary).expect("mkdir");
    std::fs::write(binary.join("machine_1.log"), [0xff, 0xfe, 0x00, 0x41]).expect("write");
    for (folder, says) in [
        (dir.path().join("missing"), "cannot read"),
        (dir.path().to_path_buf(), "no machine_*.log"),
        (binary, "not UTF-8"),
    ] {
        let out = verify(&folder);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", folder.display());
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}

#[test]
fn a_real_run_passes_with_a_summary() {
    let dir = real_run();
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("3 VMs") && stdout.contains("verify: OK"),
        "{stdout}"
    );
}

#[test]
fn a_truncated_or_corrupted_log_fails_naming_file_and_line() {
    let dir = real_run();
    let path = log_path(dir.path(), 2);
    let original = std::fs::read_to_string(&path).expect("read");
    // A clock changed on line 5.
    let mut lines: Vec<String> = original.lines().map(String::from).collect();
    let at = lines[4].find(" clock=").expect("a tick line") + 7;
    let end = at + lines[4][at..].find(' ').expect("more keys");
    let clock: u64 = lines[4][at..end].parse().expect("number");
    lines[4] = format!("{}{}{}", &lines[4][..at], clock + 3, &lines[4][end..]);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("machine_2.log:5: ")),
        "{stdout}"
    );
    // The file cut in the middle of a line.
    std::fs::write(&path, &original[..original.len() / 2]).expect("write");
    let out = verify(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("machine_2.log:"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn many_violations_print_a_screenful_then_a_count() {
    let dir = real_run();
    for id in 1..=3 {
        let path = log_path(dir.path(), id);
        let broken: String = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .map(|l| l.replace(" clock=", " clock=1"))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&path, broken + "\n").expect("write");
    }
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    let shown = stdout.lines().filter(|l| l.starts_with("machine_")).count();
    assert_eq!(shown, lamport_sim::verify::SHOWN, "{stdout}");
    assert!(stdout.contains("more violations"), "{stdout}");
}
