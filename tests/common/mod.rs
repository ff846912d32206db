//! Helpers for the integration tests: run the real binary into a temp folder,
//! read its logs back through the library, and look for leftover processes.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use lamport_sim::logline::{Event, Line, StartInfo};
use lamport_sim::run::{layout, read};

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
    read::read_run(dir)
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
    layout::log_path(dir, id)
}

/// The pid of VM `id`'s process among those mentioning `dir` (a launcher's
/// child or a VM started by hand with `--logs dir`).
pub fn vm_pid(dir: &Path, id: u32) -> Option<u32> {
    let want = format!("\0--id\0{id}\0");
    processes_mentioning(dir).into_iter().find(|&pid| {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        String::from_utf8_lossy(&cmd).contains(&want)
    })
}

/// The TCP port process `pid` listens on: its sockets' inodes (from
/// `/proc/PID/fd`) looked up among the listening sockets of `/proc/PID/net/tcp`
/// and `tcp6`. (`ss -ltnp` would do, but reads every process's fds: slow
/// on a machine running a thousand VMs.)
pub fn listening_port(pid: u32) -> Result<u16, String> {
    let fds =
        std::fs::read_dir(format!("/proc/{pid}/fd")).map_err(|e| format!("/proc/{pid}/fd: {e}"))?;
    let inodes: Vec<String> = fds
        .flatten()
        .filter_map(|fd| {
            let link = std::fs::read_link(fd.path()).ok()?;
            let link = link.to_string_lossy();
            Some(
                link.strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 the inode.
            if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                let port = f[1].rsplit(':').next().unwrap_or("");
                if let Ok(port) = u16::from_str_radix(port, 16) {
                    return Ok(port);
                }
            }
        }
    }
    Err(format!("process {pid} has no listening TCP socket"))
}

/// Why `ss -K` cannot be used here (needs root and iproute2), if it cannot.
pub fn cannot_kill_sockets() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root (ss -K needs CAP_NET_ADMIN)".into());
    }
    match Command::new("ss").arg("-V").output() {
        Ok(o) if o.status.success() => None,
        _ => Some("iproute2 `ss` is not installed".into()),
    }
}

/// Resets (`ss -K`) every established TCP connection to or from `port` on
/// this host. Returns (matched, destroyed): how many such sockets `ss`
/// listed just before, and how many the kernel destroyed (none on a kernel
/// without INET_DIAG_DESTROY, where ss matches but cannot kill).
pub fn reset_connections_of(port: u16) -> Result<(usize, usize), String> {
    let filter = format!("( sport = :{port} or dport = :{port} )");
    let ss = |kill: bool| -> Result<usize, String> {
        let mut c = Command::new("ss");
        if kill {
            c.arg("-K");
        }
        let out = c
            .args(["-tnH", "state", "established", &filter])
            .output()
            .map_err(|e| format!("ss: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ss {filter}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        // With -K, ss prints a socket only once the kernel has destroyed it.
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count())
    };
    let matched = ss(false)?;
    Ok((matched, ss(true)?))
}

/// Spawns `cmd` with stdin closed and stdout/stderr into `NAME.out` and
/// `NAME.err` in `aux` (files, not pipes: a chatty child can never block on
/// a full pipe while the test sleeps).
pub fn spawn_to_files(cmd: &mut Command, aux: &Path, name: &str) -> Child {
    let out = std::fs::File::create(aux.join(format!("{name}.out"))).expect("create .out");
    let err = std::fs::File::create(aux.join(format!("{name}.err"))).expect("create .err");
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn")
}

/// What a child spawned with [`spawn_to_files`] wrote to stdout or stderr.
pub fn output_of(aux: &Path, name: &str, stream: &str) -> String {
    std::fs::read_to_string(aux.join(format!("{name}.{stream}"))).unwrap_or_default()
}

/// Waits for a child (at most `limit`, then kills it and fails the test);
/// its exit code (`None` if killed by a signal).
pub fn exit_code_within(mut child: Child, limit: Duration) -> Option<i32> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("child {} did not finish within {limit:?}", child.id());
}

/// Runs the independent checker `tests/crosscheck/check.py` on `dir` and
/// fails the test unless it agrees that the run is clean (skips visibly
/// without python3).
pub fn assert_crosschecks(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crosscheck/check.py");
    let out = match Command::new("python3").arg(&script).arg(dir).output() {
        Ok(o) => o,
        Err(e) => {
            skip(
                "the crosscheck by tests/crosscheck/check.py",
                &format!("python3: {e}"),
            );
            return;
        }
    };
    assert!(
        out.status.success(),
        "check.py disagrees on {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks, from the logs alone, that every message sent between two VMs that
/// both stopped cleanly is in the receiver's log exactly once (as `receive`
/// or `pending`), and that no log records a message its sender's log does
/// not send. (A crashed sender's last sends may never have left it.)
/// Returns how many sent messages it checked.
pub fn assert_every_message_once(dir: &Path) -> usize {
    use std::collections::BTreeMap;
    let logs = read_logs(dir);
    // (from, to) -> sent (tick, clock), and what `to` recorded from `from`.
    let mut sent: BTreeMap<(u32, u32), Vec<(u64, u64)>> = BTreeMap::new();
    let mut got: BTreeMap<(u32, u32), Vec<(u64, u64)>> = BTreeMap::new();
    for (id, lines) in &logs {
        for l in lines {
            match &l.event {
                Event::Send {
                    tick, clock, to, ..
                } => {
                    for &r in to {
                        sent.entry((*id, r)).or_default().push((*tick, *clock));
                    }
                }
                Event::Receive {
                    from,
                    sent_tick,
                    msg_clock,
                    ..
                }
                | Event::Pending {
                    from,
                    sent_tick,
                    msg_clock,
                } => got
                    .entry((*from, *id))
                    .or_default()
                    .push((*sent_tick, *msg_clock)),
                _ => {}
            }
        }
    }
    let stopped: Vec<u32> = logs
        .iter()
        .filter(|(_, l)| stop_of(l).is_some())
        .map(|(id, _)| *id)
        .collect();
    let mut checked = 0;
    for (&(from, to), msgs) in &got {
        let mut seen = msgs.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(
            seen.len(),
            msgs.len(),
            "VM {to} recorded a message from VM {from} twice"
        );
        let sent_here = sent.get(&(from, to)).cloned().unwrap_or_default();
        for m in msgs {
            assert!(
                sent_here.contains(m),
                "VM {to} recorded from VM {from} (sent_tick, clock) {m:?}, which VM {from} never sent it"
            );
        }
    }
    for (&(from, to), msgs) in &sent {
        if !stopped.contains(&to) || !stopped.contains(&from) {
            continue;
        }
        let recorded = got.get(&(from, to)).cloned().unwrap_or_default();
        let missing: Vec<_> = msgs.iter().filter(|m| !recorded.contains(m)).collect();
        assert!(
            missing.is_empty(),
            "{} of {} messages from VM {from} to VM {to} (which stopped cleanly) are lost, e.g. {:?}",
            missing.len(),
            msgs.len(),
            &missing[..missing.len().min(5)]
        );
        checked += msgs.len();
    }
    checked
}

/// When a test fails (the drop runs while panicking): kills the processes
/// still mentioning its folders (its own children, by pid), then, with
/// `$LAMPORT_SIM_KEEP_FAILED` set, copies the folders to
/// `$LAMPORT_SIM_KEEP_FAILED/NAME/`, so a failure's logs outlive the temp
/// folders. Declare it after the folders, so it drops first.
pub struct KeepOnFailure {
    pub name: String,
    pub dirs: Vec<PathBuf>,
}

impl Drop for KeepOnFailure {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for d in &self.dirs {
            for pid in processes_mentioning(d) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        let Some(root) = std::env::var_os("LAMPORT_SIM_KEEP_FAILED") else {
            return;
        };
        let dest = Path::new(&root).join(&self.name);
        for (i, d) in self.dirs.iter().enumerate() {
            let to = dest.join(i.to_string());
            let _ = std::fs::create_dir_all(&to);
            let _ = Command::new("cp").arg("-r").arg(d).arg(&to).status();
        }
        let _ = writeln!(
            std::io::stderr(),
            "kept {} in {}",
            self.name,
            dest.display()
        );
    }
}

/// Network namespaces made for one test ("hosts" on a bridge), deleted on
/// drop (even on panic). `names[0]` is the hub holding the bridge,
/// `names[i]` host i; `outer[i - 1]` is host i's veth end on the bridge, the
/// one to set down to cut host i off.
pub struct Hosts {
    pub names: Vec<String>,
    pub outer: Vec<String>,
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// Runs `ip ARGS`; its stderr as the error.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Makes `n` hosts at 10.231.<net>.1..n on a bridge in a hub namespace.
/// Names carry the pid and a counter, so tests of one binary may each make
/// their own.
pub fn make_hosts(n: usize, net: u32) -> Result<(Hosts, Vec<String>), String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static MADE: AtomicU32 = AtomicU32::new(0);
    let k = MADE.fetch_add(1, Ordering::Relaxed);
    // Interface names have at most 15 bytes: 3 + pid (<= 7) + k + i.
    let tag = format!("{}{}", std::process::id(), k);
    let hub = format!("lsim{tag}hub");
    let mut hosts = Hosts {
        names: vec![hub.clone()],
        outer: Vec::new(),
    };
    ip(&["netns", "add", &hub])?;
    ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
    ip(&["-n", &hub, "link", "set", "br0", "up"])?;
    let mut addrs = Vec::new();
    for i in 1..=n {
        let ns = format!("lsim{tag}h{i}");
        hosts.names.push(ns.clone());
        ip(&["netns", "add", &ns])?;
        let (inner, outer) = (format!("lsv{tag}{i}"), format!("lse{tag}{i}"));
        ip(&[
            "link", "add", &inner, "type", "veth", "peer", "name", &outer,
        ])?;
        ip(&["link", "set", &inner, "netns", &ns])?;
        ip(&["link", "set", &outer, "netns", &hub])?;
        ip(&["-n", &hub, "link", "set", &outer, "master", "br0", "up"])?;
        hosts.outer.push(outer);
        let addr = format!("10.231.{net}.{i}");
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            &inner,
        ])?;
        ip(&["-n", &ns, "link", "set", &inner, "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        addrs.push(addr);
    }
    Ok((hosts, addrs))
}

/// Why network namespaces cannot be made here (root and iproute2), if not.
pub fn cannot_make_hosts() -> Option<String> {
    let uid = match Command::new("id").arg("-u").output() {
        Ok(o) => o,
        Err(e) => return Some(e.to_string()),
    };
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(_) => None,
        Err(_) => Some("iproute2 (`ip`) is not installed".into()),
    }
}
