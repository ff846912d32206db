//! What grows with the number of VMs, on real processes: the open-files
//! limit a run needs (raised to the hard limit, refused when even that is too
//! low) and the launcher's set-up flags.
#![cfg(unix)]

mod common;

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use common::*;

/// Starts `cmd` with the open-files limit at `soft` / `hard`.
fn with_nofile(cmd: &mut Command, soft: u64, hard: u64) -> &mut Command {
    let lim = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit is async-signal-safe, and `lim` is a plain value.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        })
    }
}

#[test]
fn a_hard_limit_too_low_for_the_vms_is_refused_before_anything_is_written() {
    let dir = tempdir();
    let logs = dir.path().join("logs");
    let out = run_with_limit(
        with_nofile(
            &mut fast_run(&logs, &["--vms", "400", "--runtime", "1"]),
            256,
            256,
        ),
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: --vms 400: needs about 1232 open files, above the hard limit of 256; \
         raise it (ulimit -Hn 1232, as root) or run --vms 74 or fewer"
    );
    assert!(!logs.exists(), "the log folder was created");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_low_soft_limit_is_raised_to_the_hard_one() {
    // 24 VMs: the launcher needs about 3 x 24 + 32 = 104 descriptors, over a
    // soft limit of 64: the run works only if it raises it.
    let dir = tempdir();
    let out = run_with_limit(
        with_nofile(
            &mut fast_run(
                dir.path(),
                &["--vms", "24", "--runtime", "1", "--connect-timeout", "30"],
            ),
            64,
            4096,
        ),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read_logs(dir.path()).len(), 24);
}

#[test]
fn connect_timeout_must_be_a_positive_number_of_seconds() {
    let dir = tempdir();
    let out = run_with_limit(
        &mut fast_run(dir.path(), &["--connect-timeout", "0"]),
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: --connect-timeout 0: "),
        "{stderr}"
    );
}

/// The VMs' command lines (`ps` shows them to every local user), once all
/// `n` VMs of the run logging into `dir` are up.
#[cfg(target_os = "linux")]
fn vm_command_lines(dir: &std::path::Path, n: usize) -> Vec<String> {
    let end = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let lines: Vec<String> = processes_mentioning(dir)
            .into_iter()
            .filter_map(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .filter(|c| c.contains(" vm "))
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(std::time::Instant::now() < end, "only {lines:?} came up");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_runs_secret_is_on_no_command_line() {
    let dir = tempdir();
    let child = fast_run(dir.path(), &["--vms", "3", "--runtime", "2"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let lines = vm_command_lines(dir.path(), 3);
    wait_ok(child);
    for line in &lines {
        let hexy = line
            .split(' ')
            .any(|w| w.len() >= 32 && w.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!hexy && !line.contains("secret"), "{line}");
        // The run's options travel as a config line on the VM's stdin.
        assert!(line.contains(" vm --control "), "{line}");
    }
}
