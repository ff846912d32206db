//! `lamport-sim vm` in an engine's terms: `--index`, `--vms --peers
//! TEMPLATE`, `--slurm` from a job step's variables, `--rates`,
//! `--log-stdout`, and peer names that do not resolve yet.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;

/// A base B such that ports B+1..=B+n are free on every interface, B a
/// multiple of 10 (so a template `localhost:{B/10}{id}` names them), drawn
/// from this process and the clock so that parallel tests differ.
fn free_block(n: u16) -> u16 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut x = u64::from(nanos) ^ (u64::from(std::process::id()) << 20);
    for _ in 0..500 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Ports 10010..32000: below Linux's ephemeral range, where the OS
        // picks the ports of other tests' `127.0.0.1:0` listeners.
        let base = (1001 + (x >> 33) % 2198) as u16 * 10;
        let held: Vec<_> = (1..=n)
            .map_while(|i| TcpListener::bind(("0.0.0.0", base + i)).ok())
            .collect();
        if held.len() == n as usize {
            return base;
        }
    }
    panic!("no block of {n} free ports found");
}

fn spawn(c: &mut Command) -> Child {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vm")
}

/// A by-hand VM with the test secret, a fixed seed and run, into `dir`.
fn vm(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut c = bin();
    c.env("LAMPORT_SECRET", SECRET)
        .arg("vm")
        .args(args)
        .args(["--run", "eng", "--seed", "5", "--runtime", "1.5", "--logs"])
        .arg(dir);
    c
}

#[test]
fn three_vms_from_one_peer_template_make_one_run_and_copy_their_logs_to_stdout() {
    let dir = tempdir();
    let base = free_block(3);
    let template = format!("localhost:{}{{id}}", base / 10);
    // VM 2 by its 0-based index, as Kubernetes numbers pods; none with
    // --listen: each listens on its own expansion's port.
    let idents = [["--id", "1"], ["--index", "1"], ["--id", "3"]];
    let children: Vec<Child> = idents
        .iter()
        .map(|ident| {
            spawn(vm(dir.path(), ident).args([
                "--vms",
                "3",
                "--peers",
                &template,
                "--rates",
                "40,60,80",
                "--log-stdout",
            ]))
        })
        .collect();
    let outs: Vec<_> = children.into_iter().map(wait_ok).collect();
    let logs = read_logs(dir.path());
    assert_eq!(logs.len(), 3);
    for ((id, lines), rate) in logs.iter().zip([40u64, 60, 80]) {
        assert_eq!(stop_of(lines), Some((rate * 3 / 2, "runtime")), "vm {id}");
        let peers = &start_of(lines).peers;
        assert_eq!(peers.len(), 2, "vm {id}: {peers:?}");
    }
    for (id, out) in (1..=3).zip(&outs) {
        let file = std::fs::read(log_path(dir.path(), id)).expect("read log");
        assert!(!file.is_empty());
        assert!(
            out.stdout == file,
            "vm {id}: stdout is not the log file byte for byte:\n{}\n---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&file)
        );
    }
    assert_verifies(dir.path());
}

#[test]
fn a_peer_name_that_never_resolves_fails_only_at_the_connect_timeout() {
    let dir = tempdir();
    let port = free_ports(1)[0];
    let t0 = Instant::now();
    let out = run_with_limit(
        vm(dir.path(), &["--id", "1", "--listen", "127.0.0.1:0"]).args([
            "--peer",
            &format!("2=not-up-yet.invalid:{port}"),
            "--connect-timeout",
            "2",
        ]),
        Duration::from_secs(20),
    );
    let waited = t0.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        waited >= Duration::from_secs(2),
        "gave up after {waited:?}, before --connect-timeout: {stderr}"
    );
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("gave up after 2 s (--connect-timeout)")
            && last.contains("cannot resolve not-up-yet.invalid"),
        "{stderr}"
    );
    let logs = read_logs(dir.path());
    assert_eq!(stop_of(&logs[0].1), Some((0, "error")));
}

#[test]
fn a_peer_template_that_is_not_host_port_is_refused_at_once() {
    let out = run_with_limit(
        bin().args(["vm", "--id", "1", "--vms", "3", "--peers", "vm{id}"]),
        Duration::from_secs(10),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--peers vm{id}: gives VM 1 the address vm1, not HOST:PORT"),
        "{stderr}"
    );
}

#[test]
fn three_slurm_tasks_on_one_node_run_clean() {
    let dir = tempdir();
    let base = free_block(3);
    let children: Vec<Child> = (0..3)
        .map(|rank| {
            let mut c = vm(dir.path(), &["--slurm"]);
            c.args(["--base-port", &base.to_string(), "--rates", "30,50,70"])
                .env("SLURM_PROCID", rank.to_string())
                .env("SLURM_NTASKS", "3")
                .env("SLURM_STEP_NODELIST", "localhost")
                .env("SLURM_STEP_TASKS_PER_NODE", "3")
                .env("SLURM_JOB_NODELIST", "localhost")
                .env("SLURMD_NODENAME", "localhost")
                .env("SLURM_DISTRIBUTION", "block");
            spawn(&mut c)
        })
        .collect();
    for c in children {
        wait_ok(c);
    }
    let logs = read_logs(dir.path());
    assert_eq!(logs.len(), 3);
    for ((id, lines), rate) in logs.iter().zip([30u64, 50, 70]) {
        assert_eq!(stop_of(lines), Some((rate * 3 / 2, "runtime")), "vm {id}");
    }
    assert_verifies(dir.path());
}

#[test]
fn a_slurm_task_outside_a_block_step_is_refused_naming_the_variable() {
    let out = run_with_limit(
        bin()
            .args(["vm", "--slurm"])
            .env("SLURM_PROCID", "0")
            .env("SLURM_NTASKS", "2")
            .env("SLURM_STEP_NODELIST", "n[1-2]")
            .env("SLURM_STEP_TASKS_PER_NODE", "1(x2)")
            .env("SLURM_DISTRIBUTION", "cyclic"),
        Duration::from_secs(10),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--slurm SLURM_DISTRIBUTION=cyclic: is not block"),
        "{stderr}"
    );
}

/// Why this test cannot give one process its own /etc/hosts (a mount
/// namespace: root and util-linux `unshare`), if it cannot.
fn cannot_remount_hosts() -> Option<String> {
    let probe = Command::new("unshare")
        .args([
            "--mount",
            "--",
            "sh",
            "-c",
            "mount --bind /etc/hosts /etc/hosts",
        ])
        .output();
    match probe {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "unshare --mount failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("no unshare: {e}")),
    }
}

#[test]
fn a_peer_whose_name_resolves_only_later_is_found_within_the_connect_timeout() {
    if let Some(why) = cannot_remount_hosts() {
        return skip("a_peer_whose_name_resolves_only_later", &why);
    }
    let dir = tempdir();
    let logs = dir.path().join("logs");
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").expect("write hosts");
    let ports = free_ports(2);
    // VM 1 sees `hosts` as its /etc/hosts, where VM 2's name is missing
    // until the test writes it in (in place: the bind mount keeps the file).
    let script = r#"mount --bind "$1" /etc/hosts && shift && exec "$@""#;
    let mut c = Command::new("unshare");
    c.env("LAMPORT_SECRET", SECRET)
        .args(["--mount", "--", "sh", "-c", script, "sh"])
        .arg(&hosts)
        .arg(env!("CARGO_BIN_EXE_lamport-sim"))
        .args([
            "vm",
            "--id",
            "1",
            "--listen",
            &format!("127.0.0.1:{}", ports[0]),
        ])
        .args(["--peer", &format!("2=late-peer.test:{}", ports[1])])
        .args(["--connect-timeout", "20", "--rate", "20", "--runtime", "1"])
        .args(["--run", "late", "--seed", "3", "--logs"])
        .arg(&logs);
    let vm1 = spawn_to_files(&mut c, dir.path(), "vm1");
    // Its set-up line says the name does not resolve (it does not give up).
    let end = Instant::now() + Duration::from_secs(15);
    while !output_of(dir.path(), "vm1", "err").contains("cannot resolve late-peer.test") {
        assert!(
            Instant::now() < end,
            "vm 1 never said it cannot resolve its peer:\n{}",
            output_of(dir.path(), "vm1", "err")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(&hosts, "127.0.0.1 localhost\n127.0.0.1 late-peer.test\n").expect("write hosts");
    let mut c2 = bin();
    c2.env("LAMPORT_SECRET", SECRET)
        .args([
            "vm",
            "--id",
            "2",
            "--listen",
            &format!("127.0.0.1:{}", ports[1]),
        ])
        .args(["--peer", &format!("1=127.0.0.1:{}", ports[0])])
        .args([
            "--rate",
            "20",
            "--runtime",
            "1",
            "--run",
            "late",
            "--seed",
            "3",
            "--logs",
        ])
        .arg(&logs);
    let vm2 = spawn(&mut c2);
    assert_eq!(
        exit_code_within(vm1, Duration::from_secs(30)),
        Some(0),
        "vm 1:\n{}",
        output_of(dir.path(), "vm1", "err")
    );
    wait_ok(vm2);
    let logs_read = read_logs(&logs);
    for (id, lines) in &logs_read {
        assert_eq!(stop_of(lines), Some((20, "runtime")), "vm {id}");
    }
    assert_verifies(&logs);
}
