//! `lamport-sim verify` at the command line: exit codes, one-line errors for
//! folders that are not runs, and violations named by file and line, on real
//! runs' logs doctored by hand. Every line it prints fits in 80 columns.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::*;

/// `verify DIR`; fails the test if a line of its output is over 80 columns
/// (once DIR itself is taken out).
fn verify(dir: &Path) -> Output {
    let out = run_with_limit(bin().arg("verify").arg(dir), Duration::from_secs(30));
    let place = dir.display().to_string();
    for stream in [&out.stdout, &out.stderr] {
        let text = text(stream);
        let wide = text
            .lines()
            .find(|l| l.replace(&place, "").chars().count() > 80);
        assert_eq!(wide, None, "a line over 80 columns:\n{text}");
    }
    out
}

/// The lines of `stdout` with the continuation lines of a long one (those
/// indented by two spaces) joined back onto it.
fn logical(stdout: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for l in stdout.lines() {
        match (l.strip_prefix("  "), lines.last_mut()) {
            (Some(rest), Some(last)) => {
                last.push(' ');
                last.push_str(rest);
            }
            _ => lines.push(l.to_string()),
        }
    }
    lines
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
/// lost (...) [+ E never recorded]`, and returns it (unwrapped).
fn messages_line(stdout: &str) -> String {
    let line = logical(stdout)
        .into_iter()
        .find(|l| l.starts_with("messages: "))
        .unwrap_or_else(|| panic!("no messages line:\n{stdout}"));
    let line = line.as_str();
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
    line.to_string()
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
    let first = logical(&stdout).swap_remove(0);
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
        let first = logical(&stdout).swap_remove(0);
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
    assert!(logical(&stdout)[0].starts_with(&note), "{stdout}");
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
    let first = logical(&stdout).swap_remove(0);
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

// ---- doctored folders: losses, run ids, link events ----

/// Asserts that tests/crosscheck/check.py, the independent checker, gives
/// `dir` the verdict verify gave (`ok`); skips visibly without python3.
#[track_caller]
fn crosscheck_agrees(dir: &Path, ok: bool, test: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crosscheck/check.py");
    let out = match Command::new("python3").arg(script).arg(dir).output() {
        Ok(out) => out,
        Err(e) => return skip(test, &format!("no python3 for check.py ({e})")),
    };
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let passed = stdout.trim_end() == "OK" && out.status.success();
    let failed = stdout.starts_with('[') && out.status.code() == Some(1);
    assert!(passed || failed, "check.py broke:\n{stdout}{stderr}");
    assert_eq!(passed, ok, "check.py disagrees with verify: {stdout}");
}

/// A short real run whose VM 1 is slow (rate 5) beside two fast ones, so
/// that it stops with messages from VM 2 still queued, logged as `pending`.
fn slow_receiver_run() -> tempfile::TempDir {
    let dir = tempdir();
    let args = ["--base-port", "0", "--rates", "5,60,60", "--runtime", "1"];
    run_ok(&[&args[..], &["--seed", "9"]].concat(), dir.path());
    dir
}

fn read_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read");
    text.lines().map(String::from).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).expect("write");
}

/// The value of `key` in a log line.
fn value<'a>(line: &'a str, key: &str) -> &'a str {
    let at = format!(" {key}=");
    let start = line.find(&at).map(|i| i + at.len());
    let start = start.unwrap_or_else(|| panic!("no {key} in {line}"));
    line[start..].split(' ').next().unwrap_or_default()
}

/// A line of VM `vm` with the time of `like` (so time never goes back) and
/// the event `event`, e.g. `event=peer_lost peer=2`.
fn line_like(like: &str, vm: u32, event: &str) -> String {
    let time = like.split(' ').next().expect("a time");
    format!("{time} vm={vm} {event}")
}

/// Deletes VM 1's `pending` lines of messages from VM 2 (the tail of the
/// link 2 -> 1, lost) and returns their `sent_tick`s.
fn lose_pendings_from_2(dir: &Path) -> Vec<u64> {
    let path = log_path(dir, 1);
    let mut lines = read_lines(&path);
    let lost = |l: &String| l.contains(" event=pending ") && value(l, "from") == "2";
    let ticks: Vec<u64> = lines
        .iter()
        .filter(|l| lost(l))
        .map(|l| value(l, "sent_tick").parse().expect("a tick"))
        .collect();
    assert!(
        !ticks.is_empty(),
        "VM 1 has no pending from VM 2:\n{lines:?}"
    );
    lines.retain(|l| !lost(l));
    write_lines(&path, &lines);
    ticks
}

/// The 1-based lines of VM 2's sends at `ticks`, which all go to VM 1.
fn send_lines_of_2(dir: &Path, ticks: &[u64]) -> Vec<usize> {
    let lines = read_lines(&log_path(dir, 2));
    let at = |t: &u64| {
        let tick = format!(" tick={t} ");
        let i = lines.iter().position(|l| l.contains(&tick));
        let i = i.unwrap_or_else(|| panic!("no tick {t} in machine_2.log"));
        assert!(lines[i].contains(" event=send "), "{}", lines[i]);
        i + 1
    };
    ticks.iter().map(at).collect()
}

/// Inserts `event` into VM `vm`'s log so that it becomes line `no`; returns `no`.
fn insert_event(dir: &Path, vm: u32, no: usize, event: &str) -> usize {
    let path = log_path(dir, vm);
    let mut lines = read_lines(&path);
    let line = line_like(&lines[no - 2], vm, event);
    lines.insert(no - 1, line);
    write_lines(&path, &lines);
    no
}

/// The violations verify prints (unwrapped), in order.
fn violations(stdout: &str) -> Vec<String> {
    let is = |l: &String| l.starts_with("machine_") && l.contains(".log:");
    logical(stdout).into_iter().filter(is).collect()
}

/// Asserts that each lost message of VM 2 to VM 1 is one violation at its
/// send line, and that the run fails with exactly those.
#[track_caller]
fn each_loss_told(stdout: &str, ticks: &[u64], lines: &[usize]) {
    let want: Vec<String> = ticks
        .iter()
        .zip(lines)
        .map(|(t, no)| {
            format!(
                "machine_2.log:{no}: VM 2's message of tick {t} to VM 1 never recorded there, though VM 1 stopped cleanly"
            )
        })
        .collect();
    assert_eq!(violations(stdout), want, "{stdout}");
    let n = ticks.len();
    let line = messages_line(stdout);
    assert!(
        line.ends_with(&format!("+ 0 lost + {n} never recorded")),
        "{line}"
    );
    let verdict = format!("verify: FAILED: {n} violation");
    assert!(stdout.contains(&verdict), "{stdout}");
}

#[test]
fn a_loss_after_the_senders_peer_lost_fails() {
    let dir = slow_receiver_run();
    assert_eq!(verify(dir.path()).status.code(), Some(0));
    let ticks = lose_pendings_from_2(dir.path());
    let sends = send_lines_of_2(dir.path(), &ticks);
    // VM 2 gave up on VM 1 just before the first lost message.
    insert_event(dir.path(), 2, sends[0], "event=peer_lost peer=1");
    let sends: Vec<usize> = sends.iter().map(|n| n + 1).collect();
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    each_loss_told(&stdout, &ticks, &sends);
    assert!(stdout.contains(" 1 peer_lost,"), "{stdout}");
    crosscheck_agrees(
        dir.path(),
        false,
        "a_loss_after_the_senders_peer_lost_fails",
    );
}

#[test]
fn a_loss_after_the_receivers_peer_lost_fails() {
    let dir = slow_receiver_run();
    let ticks = lose_pendings_from_2(dir.path());
    let sends = send_lines_of_2(dir.path(), &ticks);
    // VM 1 gave up on VM 2 during its stop, just before its stop line.
    let n = read_lines(&log_path(dir.path(), 1)).len();
    insert_event(dir.path(), 1, n, "event=peer_lost peer=2");
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    each_loss_told(&stdout, &ticks, &sends);
    crosscheck_agrees(
        dir.path(),
        false,
        "a_loss_after_the_receivers_peer_lost_fails",
    );
}

#[test]
fn a_crashed_receivers_losses_are_counted_and_the_run_passes() {
    let dir = slow_receiver_run();
    let ticks = lose_pendings_from_2(dir.path());
    let sends = send_lines_of_2(dir.path(), &ticks);
    // VM 1 died at the end of its stop, before logging it (its pendings
    // from VM 2 were not written either); VM 2 had given up on it.
    let path = log_path(dir.path(), 1);
    let mut lines = read_lines(&path);
    assert!(lines.pop().is_some_and(|l| l.contains(" event=stop ")));
    write_lines(&path, &lines);
    insert_event(dir.path(), 2, sends[0], "event=peer_lost peer=1");
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    // As for any crash: a note said first, the losses counted by cause.
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let first = logical(&stdout).swap_remove(0);
    let n = ticks.len();
    let lost = if n == 1 {
        "1 message to VM 1 counted as lost".to_string()
    } else {
        format!("{n} messages to VM 1 counted as lost")
    };
    assert!(
        first.starts_with("machine_1.log has no stop") && first.ends_with(&lost),
        "{stdout}"
    );
    assert_eq!(violations(&stdout), Vec::<String>::new(), "{stdout}");
    let line = messages_line(&stdout);
    let by_cause = format!("+ {n} lost ({n} to crashed VM 1)");
    assert!(line.ends_with(&by_cause), "{line}");
    assert!(stdout.contains("crashed: 1") && stdout.contains("verify: OK"));
    let test = "a_crashed_receivers_losses_are_counted_and_the_run_passes";
    crosscheck_agrees(dir.path(), true, test);
}

#[test]
fn a_folder_of_two_runs_fails() {
    let dir = real_run();
    // One VM of run `a`, two of run `b`.
    for (id, run) in [(1, "a"), (2, "b"), (3, "b")] {
        let path = log_path(dir.path(), id);
        let mut lines = read_lines(&path);
        let old = format!(" run={} ", value(&lines[0], "run"));
        lines[0] = lines[0].replace(&old, &format!(" run={run} "));
        write_lines(&path, &lines);
    }
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let first = logical(&stdout).swap_remove(0);
    assert_eq!(
        first, "machine_1.log:1: run=a, but 2 of 3 logs have run=b (one run per folder, rule 7)",
        "{stdout}"
    );
    assert!(stdout.contains("verify: FAILED: 1 cause"), "{stdout}");
    crosscheck_agrees(dir.path(), false, "a_folder_of_two_runs_fails");
}

#[test]
fn link_events_are_understood_and_checked() {
    let dir = real_run();
    let path = log_path(dir.path(), 2);
    let original = read_lines(&path);
    // Well formed: VM 2's link to VM 1 breaks twice and heals, its link to
    // VM 3 breaks once and heals; nothing else changes.
    insert_event(dir.path(), 2, 5, "event=link_down peer=1");
    insert_event(dir.path(), 2, 8, "event=link_up peer=1 resent=2");
    insert_event(dir.path(), 2, 9, "event=link_down peer=3");
    insert_event(dir.path(), 2, 10, "event=link_down peer=1");
    insert_event(dir.path(), 2, 12, "event=link_up peer=1 resent=0");
    insert_event(dir.path(), 2, 13, "event=link_up peer=3 resent=5");
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let links = stdout.lines().find(|l| l.starts_with("links: "));
    assert_eq!(
        links,
        Some("links: 3 broke, 3 healed, 7 messages resent"),
        "{stdout}"
    );
    messages_line(&stdout);
    let test = "link_events_are_understood_and_checked";
    crosscheck_agrees(dir.path(), true, test);
    // Without link events, no links line.
    write_lines(&path, &original);
    let stdout = text(&verify(dir.path()).stdout);
    assert!(!stdout.contains("links:"), "{stdout}");
    // A link_up without a link_down before it, and a link event naming a
    // VM that is not a peer: each a violation at its line.
    let up = insert_event(dir.path(), 2, 6, "event=link_up peer=3 resent=0");
    let stranger = insert_event(dir.path(), 2, 9, "event=link_down peer=4");
    let out = verify(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(
        violations(&stdout),
        [
            format!("machine_2.log:{up}: link_up for VM 3 without a link_down before it"),
            format!(
                "machine_2.log:{stranger}: link_down names VM 4, which is not a peer (peers: 1, 3)"
            ),
        ],
        "{stdout}"
    );
    assert!(stdout.contains("verify: FAILED: 2 violations"), "{stdout}");
    crosscheck_agrees(dir.path(), false, test);
    // Each fault alone fails check.py too.
    let lines = read_lines(&path);
    let mut without = lines.clone();
    without.remove(stranger - 1);
    write_lines(&path, &without);
    crosscheck_agrees(dir.path(), false, test);
    let mut without = lines;
    without.remove(up - 1);
    write_lines(&path, &without);
    crosscheck_agrees(dir.path(), false, test);
    assert_eq!(verify(dir.path()).status.code(), Some(1));
}
