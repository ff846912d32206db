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

/// Checks the arithmetic line: `messages: A sent = B received + C pending + D
/// lost (...) [+ E never recorded]`, and returns it.
fn messages_line(stdout: &str) -> &str {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("messages: "))
        .unwrap_or_else(|| panic!("no messages line:\n{stdout}"));
    let number = |word: &str| -> u64 {
        let at = line
            .find(word)
            .unwrap_or_else(|| panic!("no `{word}` in {line}"));
        let before = line[..at].trim_end();
        let digits = before.rsplit(' ').next().unwrap_or_default();
        digits
            .parse()
            .unwrap_or_else(|_| panic!("no number before `{word}` in {line}"))
    };
    let never = if line.contains(" never recorded") {
        number(" never recorded")
    } else {
        0
    };
    let sum = number(" received") + number(" pending") + number(" lost") + never;
    assert_eq!(number(" sent ="), sum, "{line}");
    line
}

/// The lines of `path`, and the file rewritten with only the first `keep` of them.
fn keep_lines(path: &Path, keep: usize) -> Vec<String> {
    let lines: Vec<String> = std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(String::from)
        .collect();
    let kept: String = lines[..keep].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, kept).expect("write");
    lines
}

#[test]
fn a_deleted_log_is_said_once_first_with_a_count() {
    let dir = real_run();
    std::fs::remove_file(log_path(dir.path(), 2)).expect("remove");
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("machine_2.log is missing: ")
            && first.contains("name VM 2 and cannot be checked")
            && first.contains("messages to VM 2 counted as lost"),
        "{stdout}"
    );
    // Said once; nothing it explains is listed.
    assert_eq!(stdout.matches("machine_2.log").count(), 1, "{stdout}");
    assert!(
        !stdout
            .lines()
            .any(|l| l.starts_with("machine_1.log:") || l.starts_with("machine_3.log:")),
        "{stdout}"
    );
    assert!(
        messages_line(&stdout).contains("to VM 2 without a log"),
        "{stdout}"
    );
    assert!(stdout.contains("verify: FAILED: 1 cause"), "{stdout}");
}

#[test]
fn a_log_cut_mid_line_is_reported_first_at_the_cut_line() {
    let dir = real_run();
    let path = log_path(dir.path(), 2);
    let original = std::fs::read_to_string(&path).expect("read");
    let cuts = [
        // The last line (the stop), cut in its middle.
        original.len() - 10,
        // Half the file: its tail, VM 2's later sends included, is gone.
        original.len() / 2,
    ];
    for cut in cuts {
        assert!(!original[..cut].ends_with('\n'), "cut at a line end");
        std::fs::write(&path, &original[..cut]).expect("write");
        let cut_line = original[..cut].matches('\n').count() + 1;
        let out = verify(dir.path());
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        let first = stdout.lines().next().unwrap_or_default();
        let want = format!("machine_2.log:{cut_line}: last line cut short");
        assert!(first.starts_with(&want), "want {want}:\n{stdout}");
        assert!(first.contains("VM 2 has no stop"), "{stdout}");
        // What the cut explains is counted in that line, not listed.
        assert!(!stdout.contains("no send at tick"), "{stdout}");
        assert_eq!(
            stdout.lines().filter(|l| l.starts_with("machine_")).count(),
            1,
            "{stdout}"
        );
        messages_line(&stdout);
    }
}

#[test]
fn a_log_without_stop_is_said_first() {
    let dir = real_run();
    let path = log_path(dir.path(), 3);
    // Only the stop line gone, as a VM killed at its very end leaves it: a note.
    let lines = std::fs::read_to_string(&path).expect("read");
    let n = lines.lines().count();
    keep_lines(&path, n - 1);
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let note = format!(
        "machine_3.log has no stop (VM 3 crashed or was killed after line {})",
        n - 1
    );
    assert!(
        stdout.lines().next().unwrap_or_default().starts_with(&note),
        "{stdout}"
    );
    assert!(
        stdout.contains("crashed: 3") && stdout.contains("verify: OK"),
        "{stdout}"
    );
    messages_line(&stdout);
    // Its second half gone at a line end (a full disk): what VM 3 sent later
    // cannot be checked, and what was sent to it is lost to the crash.
    std::fs::write(&path, &lines).expect("write");
    keep_lines(&path, n / 2);
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("machine_3.log has no stop")
            && first.contains("name VM 3's ticks after its last logged one")
            && first.contains("to VM 3"),
        "{stdout}"
    );
    assert!(!stdout.contains("no send at tick"), "{stdout}");
    assert!(
        messages_line(&stdout).contains("to crashed VM 3"),
        "{stdout}"
    );
}

#[test]
fn an_experiment_folder_gets_one_line_per_run() {
    let run = real_run();
    let exp = tempdir();
    for k in 1..=2 {
        let dir = exp.path().join(format!("run_{k}"));
        std::fs::create_dir(&dir).expect("mkdir");
        for id in 1..=3 {
            std::fs::copy(log_path(run.path(), id), log_path(&dir, id)).expect("copy");
        }
    }
    std::fs::write(exp.path().join("summary.md"), "# not a log\n").expect("write");
    let out = verify(exp.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("verify: OK, all 2 runs"), "{stdout}");
    // run_2 doctored: VM 1's log deleted.
    std::fs::remove_file(log_path(&exp.path().join("run_2"), 1)).expect("remove");
    let out = verify(exp.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("run_1: OK, 3 VMs"), "{stdout}");
    assert!(
        lines[1].starts_with("run_2: FAILED: 1 violation; first: machine_1.log is missing"),
        "{stdout}"
    );
    assert_eq!(lines[2], "verify: FAILED: 1 of 2 runs", "{stdout}");
}
