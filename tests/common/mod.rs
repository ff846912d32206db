//! Helpers for the integration tests: run the real binary into a temp folder,
//! read its logs back through the library, and look for leftover processes.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use lamport_sim::logline::{Event, Line, StartInfo};
use lamport_sim::logs;

/// The binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lamport-sim"))
}

/// A fresh folder for one test's logs.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("lsim-test-")
        .tempdir()
        .expect("temp dir")
}

/// Runs the binary to completion, failing the test if it takes over `limit`.
pub fn run_with_limit(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_with_limit(child, limit)
}

/// Waits for a child, killing it and failing the test after `limit`.
pub fn wait_with_limit(mut child: Child, limit: Duration) -> Output {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    panic!(
        "did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits (20 s at most) for a child that must succeed; shows its stderr if not.
pub fn wait_ok(child: Child) -> Output {
    let out = wait_with_limit(child, Duration::from_secs(20));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `lamport-sim ARGS --logs LOGS` to completion (30 s at most) and fails
/// the test, showing stderr, unless it succeeds.
pub fn run_ok(args: &[&str], logs: &Path) -> Output {
    let out = run_with_limit(
        bin().args(args).arg("--logs").arg(logs),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "lamport-sim {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `lamport-sim vm` for VM `id` by hand: it listens on 127.0.0.1 at
/// `ports[id - 1]` and takes every other port as a peer (`ports[j - 1]` is VM
/// j); fixed rate, runtime, run id and seed; logs in `dir`. Stdio is the
/// caller's to set before spawning.
/// The secret of the VMs [`vm_cmd`] starts (by hand, a run's VMs share one).
pub const SECRET: &str = "a test secret";

/// `lamport-sim vm` by hand, with [`SECRET`], on `ports` (VM i on `ports[i-1]`).
pub fn vm_cmd(
    dir: &Path,
    id: u32,
    ports: &[u16],
    rate: u32,
    runtime: &str,
    run: &str,
    seed: u64,
) -> Command {
    let mut c = bin();
    c.env("LAMPORT_SECRET", SECRET);
    c.args(["vm", "--id", &id.to_string()])
        .args(["--listen", &format!("127.0.0.1:{}", ports[id as usize - 1])])
        .args(["--rate", &rate.to_string(), "--runtime", runtime])
        .args(["--run", run, "--seed", &seed.to_string(), "--logs"])
        .arg(dir);
    for (j, port) in (1..).zip(ports) {
        if j != id {
            c.args(["--peer", &format!("{j}=127.0.0.1:{port}")]);
        }
    }
    c
}

/// `lamport-sim run` with fast rates on free ports into `dir`.
pub fn fast_run(dir: &Path, extra: &[&str]) -> Command {
    let mut c = bin();
    c.args([
        "run",
        "--base-port",
        "0",
        "--min-rate",
        "50",
        "--max-rate",
        "100",
    ])
    .arg("--logs")
    .arg(dir)
    .args(extra);
    c
}

/// Runs `verify` on `dir` and fails the test, with its report, unless it passes.
pub fn assert_verifies(dir: &Path) {
    let out = run_with_limit(bin().arg("verify").arg(dir), Duration::from_secs(30));
    assert!(
        out.status.success(),
        "verify failed on {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every log in `dir`, parsed, by VM id.
pub fn read_logs(dir: &Path) -> Vec<(u32, Vec<Line>)> {
    logs::read_run(dir)
        .expect("read logs")
        .into_iter()
        .map(|f| {
            let lines = f
                .lines()
                .unwrap_or_else(|(n, e)| panic!("{}:{n}: {e}", f.name));
            (f.id, lines)
        })
        .collect()
}

/// The `start` line of a log.
pub fn start_of(lines: &[Line]) -> &StartInfo {
    match &lines[0].event {
        Event::Start(s) => s,
        other => panic!("first line is {other:?}"),
    }
}

/// The `stop` line of a log: (ticks, reason word).
pub fn stop_of(lines: &[Line]) -> Option<(u64, &'static str)> {
    match &lines.last()?.event {
        Event::Stop { ticks, reason, .. } => Some((*ticks, reason.as_str())),
        _ => None,
    }
}

/// Free ports on 127.0.0.1, chosen by the OS (held only while choosing).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

/// The environment variable that turns every [`skip`] into a failure (CI sets it).
pub const REQUIRE_ALL: &str = "LAMPORT_SIM_REQUIRE_ALL";

/// Skips the rest of `test`, which needs what this machine lacks (root,
/// `ip`, util-linux `script`...), saying so where a person sees it: straight
/// to the process's stderr, which libtest does not capture (it captures
/// `eprintln!`), so plain `cargo test` shows the line beside the test's `ok`.
/// With `LAMPORT_SIM_REQUIRE_ALL=1` (CI sets it) the test fails instead: a
/// machine that should run everything cannot pass by skipping.
pub fn skip(test: &str, why: &str) {
    if std::env::var(REQUIRE_ALL).is_ok_and(|v| v == "1") {
        panic!("{test} cannot run here ({why}), and {REQUIRE_ALL}=1 forbids skipping it");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Pids of processes whose command line mentions `needle` (Linux /proc; a
/// test that uses it is ignored elsewhere, so it can never pass by finding
/// nothing).
pub fn processes_mentioning(needle: &Path) -> Vec<u32> {
    let needle = needle.to_string_lossy().into_owned();
    let entries = std::fs::read_dir("/proc").expect("/proc (tests that read it run on Linux only)");
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            (cmd.contains(&needle) && pid != std::process::id()).then_some(pid)
        })
        .collect()
}

/// Waits up to `limit` for every process mentioning `dir` to be gone.
pub fn assert_no_process_left(dir: &Path, limit: Duration) {
    let end = Instant::now() + limit;
    loop {
        let left = processes_mentioning(dir);
        if left.is_empty() {
            return;
        }
        if Instant::now() > end {
            panic!("processes left behind: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends a signal by name (`INT`, `TERM`, `KILL`) with the `kill` command.
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(ok.success(), "kill -{sig} {pid}");
}

/// Sends a signal to a whole process group, as a terminal's Ctrl+C does.
pub fn signal_group(pgid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .status()
        .expect("kill");
    assert!(ok.success(), "kill -{sig} -- -{pgid}");
}

/// Waits until `path` exists and holds a line containing `needle`.
pub fn wait_for_line(path: &Path, needle: &str, limit: Duration) {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{} never showed `{needle}`", path.display());
}

/// `dir/machine_<id>.log`.
pub fn log_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("machine_{id}.log"))
}
