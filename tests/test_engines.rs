//! The engines for real: runs that `lamport-sim deploy` describes, started by
//! Docker Compose (the image from deploy/image.sh) and by Slurm (`sbatch
//! --wait`), and Kubernetes manifests checked against the schemas by PyPI's
//! kubernetes-validate (no cluster runs here). Every run's logs go through
//! `verify` and the independent tests/crosscheck/check.py.
//!
//! The tests need daemons, so they are ignored by default: `.ci/engines.sh
//! up` (as root) installs and starts them, then
//! `cargo test --test test_engines -- --ignored`. Run that way, a test whose
//! engine does not answer fails, saying what is missing; it never passes
//! without having run. `.ci/run` sets LAMPORT_SIM_REQUIRE_ENGINES=1, which
//! says so in the failure.
//!
//! Each test has its own Compose project (so its own network and
//! containers), its own folders and, under Slurm, its own ports. The image is
//! built once per test binary, under the tag [`TAG`], so a user's
//! `lamport-sim:latest` is left alone.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use lamport_sim::logline::{Event, Line};

/// The image the Compose tests run (built by deploy/image.sh).
const TAG: &str = "lamport-sim:engine-tests";
/// Under this variable set to 1 (CI), the failure of a missing engine says
/// that CI requires it.
const REQUIRE: &str = "LAMPORT_SIM_REQUIRE_ENGINES";

/// Fails the test: `what` does not answer on this machine.
fn missing(test: &str, what: &str, why: &str) -> ! {
    if std::env::var(REQUIRE).is_ok_and(|v| v == "1") {
        panic!(
            "{test}: {what} does not answer ({why}), and {REQUIRE}=1 requires it: \
             start the engines with .ci/engines.sh up"
        );
    }
    panic!(
        "{test} needs {what}, which does not answer here ({why}); \
         start the engines with `.ci/engines.sh up` (as root), or leave out --ignored"
    );
}

/// Runs a helper command to its end (at most `limit`), output captured.
fn output_within(cmd: &mut Command, limit: Duration) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{shown}: {e}"))?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(format!("{shown}: {e}")),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            Err(format!("{shown} did not finish within {limit:?}"))
        }
    }
}

/// Runs a helper command that must succeed; its stdout.
fn must(cmd: &mut Command, limit: Duration) -> String {
    let out = output_within(cmd, limit).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Why the command does not answer, if it does not.
fn answers(program: &str, args: &[&str]) -> Result<(), String> {
    let out = output_within(Command::new(program).args(args), Duration::from_secs(30))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or("").trim().to_string();
        Err(format!("`{program} {}` failed: {first}", args.join(" ")))
    }
}

/// The Compose command: the `docker compose` plugin if there is one, else
/// docker-compose (1.29 on Debian 12).
fn compose_command(test: &str) -> Vec<String> {
    if let Err(why) = answers("docker", &["info"]) {
        missing(test, "Docker", &why);
    }
    if answers("docker", &["compose", "version"]).is_ok() {
        return vec!["docker".into(), "compose".into()];
    }
    if let Err(why) = answers("docker-compose", &["version"]) {
        missing(test, "Docker Compose", &why);
    }
    vec!["docker-compose".into()]
}

/// Fails the test unless Docker and Compose answer and the image is built;
/// the Compose command.
fn docker_ready(test: &str) -> Vec<String> {
    let compose = compose_command(test);
    image(test);
    compose
}

/// Builds [`TAG`] with deploy/image.sh, once per test binary; fails the test
/// if that failed (in this test or an earlier one).
fn image(test: &str) {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        // A target folder of its own: the `cargo test` running this may hold
        // the lock on the usual one.
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("engine-image");
        let began = Instant::now();
        let out = output_within(
            Command::new(root.join("deploy/image.sh"))
                .arg(TAG)
                .env("CARGO_TARGET_DIR", &target)
                .current_dir(root),
            Duration::from_secs(1200),
        )?;
        if !out.status.success() {
            return Err(format!(
                "deploy/image.sh {TAG} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        eprintln!("built {TAG} in {:.0?}", began.elapsed());
        Ok(())
    });
    if let Err(e) = built {
        panic!("{test}: {e}");
    }
}

/// `lamport-sim deploy ENGINE ARGS -o FILE`, which must succeed; its
/// one-line hint on stderr.
fn deploy(engine: &str, args: &[&str], file: &Path) -> String {
    let out = run_with_limit(
        bin()
            .args(["deploy", engine])
            .args(args)
            .arg("-o")
            .arg(file),
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "lamport-sim deploy {engine} {args:?} failed:\n{stderr}"
    );
    assert!(
        file.is_file(),
        "deploy {engine} wrote no {}",
        file.display()
    );
    stderr
}

/// One Compose project, taken down (containers and network) on drop, even
/// when the test fails.
struct Project {
    command: Vec<String>,
    name: String,
    file: PathBuf,
}

impl Project {
    /// `command` from [`docker_ready`].
    fn new(command: &[String], short: &str, file: &Path) -> Project {
        Project {
            command: command.to_vec(),
            name: format!("lsim-{short}-{}", std::process::id()),
            file: file.to_path_buf(),
        }
    }

    /// `compose -p NAME -f FILE ARGS`.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.command[0]);
        c.args(&self.command[1..])
            .arg("-p")
            .arg(&self.name)
            .arg("-f")
            .arg(&self.file)
            .args(args);
        c
    }

    /// `up` in the background, its output in `aux`/up.out and up.err.
    fn up(&self, aux: &Path) -> Child {
        spawn_to_files(&mut self.cmd(&["up", "--no-color"]), aux, "up")
    }

    /// The container id of a service, once it is created.
    fn container(&self, service: &str) -> String {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let id = must(
                &mut self.cmd(&["ps", "-q", service]),
                Duration::from_secs(30),
            );
            let id = id.trim();
            if !id.is_empty() {
                return id.to_string();
            }
            assert!(
                Instant::now() < end,
                "no container for {service} in {}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The exit code of each service `vm1..vmN`'s container.
    fn exit_codes(&self, n: u32) -> Vec<i64> {
        (1..=n)
            .map(|k| {
                let id = self.container(&format!("vm{k}"));
                let code = must(
                    Command::new("docker").args(["inspect", "-f", "{{.State.ExitCode}}", &id]),
                    Duration::from_secs(30),
                );
                code.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("vm{k}: exit code {code:?}"))
            })
            .collect()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = output_within(
            &mut self.cmd(&["down", "--remove-orphans", "-t", "1"]),
            Duration::from_secs(120),
        );
    }
}

/// Waits for the Compose run's `up` to return (every container exited),
/// failing the test after `limit`; what `up` printed, and its exit code.
fn wait_up(child: Child, aux: &Path, limit: Duration) -> (Option<i32>, String) {
    let code = exit_code_within(child, limit);
    let said = output_of(aux, "up", "out") + &output_of(aux, "up", "err");
    (code, said)
}

/// [`wait_up`] for a run whose every container must exit 0.
fn wait_up_ok(child: Child, aux: &Path, limit: Duration) {
    let (code, said) = wait_up(child, aux, limit);
    assert_eq!(code, Some(0), "compose up:\n{said}");
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Waits for VM `id`'s `start` line; the instant it was written (by its
/// time: the log is on the host through the bind mount).
fn started(dir: &Path, id: u32, limit: Duration) -> Instant {
    wait_for_line(&log_path(dir, id), "event=start", limit);
    let text = std::fs::read_to_string(log_path(dir, id)).expect("read log");
    let first = text.lines().next().expect("a start line");
    let at = Line::parse(first)
        .map(|l| l.time_us)
        .unwrap_or_else(|e| panic!("{first}: {e}"));
    let late = Duration::from_micros(now_us().saturating_sub(at).max(0) as u64);
    Instant::now()
        .checked_sub(late)
        .unwrap_or_else(Instant::now)
}

fn sleep_until(at: Instant) {
    std::thread::sleep(at.saturating_duration_since(Instant::now()));
}

/// Fails unless there are logs of VMs 1..=n, all of one run and one seed
/// (the engine's VMs get them from one deploy), each with n - 1 peers.
fn assert_one_run(dir: &Path, n: u32) -> Vec<(u32, Vec<Line>)> {
    let logs = read_logs(dir);
    let ids: Vec<u32> = logs.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        (1..=n).collect::<Vec<_>>(),
        "logs in {}",
        dir.display()
    );
    let first = start_of(&logs[0].1);
    for (id, lines) in &logs {
        let s = start_of(lines);
        assert_eq!(
            (&s.run, s.seed),
            (&first.run, first.seed),
            "vm {id}: another run or seed than VM 1's"
        );
        assert_eq!(s.peers.len() as u32, n - 1, "vm {id}'s peers");
    }
    logs
}

/// Every check a clean run passes: every VM stopped at its runtime,
/// `verify`, check.py, nothing lost, no peer given up on.
fn assert_clean(dir: &Path, n: u32) -> Vec<(u32, Vec<Line>)> {
    let logs = assert_one_run(dir, n);
    for (id, lines) in &logs {
        assert_eq!(stop_of(lines).map(|s| s.1), Some("runtime"), "vm {id}");
        let lost: Vec<_> = lines
            .iter()
            .filter(|l| matches!(l.event, Event::PeerLost { .. }))
            .collect();
        assert!(lost.is_empty(), "vm {id} gave up: {lost:?}");
    }
    assert_verifies(dir);
    assert_crosschecks(dir);
    assert!(
        assert_every_message_once(dir) > 0,
        "the run sent no message"
    );
    logs
}

/// `link_down` (false) and `link_up` (true) about `peer`, in order.
fn link_events(lines: &[Line], peer: u32) -> Vec<bool> {
    lines
        .iter()
        .filter_map(|l| match l.event {
            Event::LinkDown { peer: p } if p == peer => Some(false),
            Event::LinkUp { peer: p, .. } if p == peer => Some(true),
            _ => None,
        })
        .collect()
}

fn keep(name: &str, dirs: &[&Path]) -> KeepOnFailure {
    KeepOnFailure {
        name: name.into(),
        dirs: dirs.iter().map(|d| d.to_path_buf()).collect(),
    }
}

/// The network a container is on (Compose gives each project one).
fn network_of(container: &str) -> String {
    let nets = must(
        Command::new("docker").args([
            "inspect",
            "-f",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
            container,
        ]),
        Duration::from_secs(30),
    );
    let nets: Vec<&str> = nets.split_whitespace().collect();
    assert_eq!(nets.len(), 1, "container {container} is on {nets:?}");
    nets[0].to_string()
}

#[test]
#[ignore = "needs Docker and Slurm: .ci/engines.sh up"]
fn compose_runs_five_vms_cleanly() {
    const NAME: &str = "compose_runs_five_vms_cleanly";
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let compose = docker_ready(NAME);
    let file = aux.path().join("compose.yaml");
    let logs = dir.path().join("logs");
    let hint = deploy(
        "compose",
        &[
            "--vms",
            "5",
            "--runtime",
            "6",
            "--min-rate",
            "10",
            "--max-rate",
            "40",
            "--image",
            TAG,
            "--logs",
            logs.to_str().expect("utf-8 temp path"),
        ],
        &file,
    );
    // deploy makes the folder (the bind mount's source must exist).
    assert!(logs.is_dir(), "deploy made no {}: {hint}", logs.display());
    let project = Project::new(&compose, "clean", &file);
    let up = project.up(aux.path());
    wait_up_ok(up, aux.path(), Duration::from_secs(120));
    assert_eq!(project.exit_codes(5), vec![0; 5], "containers' exit codes");
    assert_clean(&logs, 5);
}

#[test]
#[ignore = "needs Docker and Slurm: .ci/engines.sh up"]
fn compose_survives_a_docker_kill() {
    const NAME: &str = "compose_survives_a_docker_kill";
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let compose = docker_ready(NAME);
    let file = aux.path().join("compose.yaml");
    let logs = dir.path().join("logs");
    // A short --peer-timeout: the killed VM's container is gone (its name
    // no longer resolves), and the others give up on it 3 s later.
    deploy(
        "compose",
        &[
            "--vms",
            "4",
            "--runtime",
            "10",
            "--min-rate",
            "10",
            "--max-rate",
            "40",
            "--peer-timeout",
            "3",
            "--image",
            TAG,
            "--logs",
            logs.to_str().expect("utf-8 temp path"),
        ],
        &file,
    );
    let project = Project::new(&compose, "kill", &file);
    let up = project.up(aux.path());
    let start = started(&logs, 3, Duration::from_secs(60));
    let vm3 = project.container("vm3");
    sleep_until(start + Duration::from_secs(3));
    let killed_at = now_us();
    must(
        Command::new("docker").args(["kill", &vm3]),
        Duration::from_secs(30),
    );
    // `up` itself may exit 0 or not with a container's failure, by Compose
    // version: the containers' own exit codes tell.
    let (_, said) = wait_up(up, aux.path(), Duration::from_secs(120));
    // The survivors gave up on VM 3, which ends a VM with exit code 1
    // (README, Exit codes); the killed one was SIGKILLed (128 + 9).
    let codes = project.exit_codes(4);
    assert_eq!(codes, vec![1, 1, 137, 1], "containers' exit codes\n{said}");
    assert!(said.contains("gave up on VM 3"), "compose up:\n{said}");
    let runs = assert_one_run(&logs, 4);
    assert_eq!(stop_of(&runs[2].1), None, "a killed VM logs no stop");
    for (id, lines) in runs.iter().filter(|(id, _)| *id != 3) {
        assert_eq!(stop_of(lines).map(|s| s.1), Some("runtime"), "vm {id}");
        let lost = lines
            .iter()
            .find(|l| l.event == Event::PeerLost { peer: 3 })
            .unwrap_or_else(|| panic!("vm {id} never gave up on VM 3"));
        assert!(lost.time_us >= killed_at, "vm {id} gave up before the kill");
        let others = lines
            .iter()
            .filter(|l| matches!(l.event, Event::PeerLost { peer } if peer != 3))
            .count();
        assert_eq!(others, 0, "vm {id} gave up on a live peer");
    }
    let out = run_with_limit(bin().arg("verify").arg(&logs), Duration::from_secs(30));
    let report = String::from_utf8_lossy(&out.stdout).replace("\n  ", " ");
    assert!(out.status.success(), "verify: {report}");
    assert!(
        report.contains("machine_3.log has no stop") && report.contains("crashed: 3"),
        "verify does not name the crash: {report}"
    );
    assert_crosschecks(&logs);
    // Between the survivors nothing is lost.
    assert!(assert_every_message_once(&logs) > 0);
}

#[test]
#[ignore = "needs Docker and Slurm: .ci/engines.sh up"]
fn compose_heals_a_network_disconnect() {
    const NAME: &str = "compose_heals_a_network_disconnect";
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let compose = docker_ready(NAME);
    let file = aux.path().join("compose.yaml");
    let logs = dir.path().join("logs");
    deploy(
        "compose",
        &[
            "--vms",
            "4",
            "--runtime",
            "12",
            "--min-rate",
            "20",
            "--max-rate",
            "40",
            "--image",
            TAG,
            "--logs",
            logs.to_str().expect("utf-8 temp path"),
        ],
        &file,
    );
    let project = Project::new(&compose, "cut", &file);
    let up = project.up(aux.path());
    let start = started(&logs, 2, Duration::from_secs(60));
    let vm2 = project.container("vm2");
    let net = network_of(&vm2);
    sleep_until(start + Duration::from_secs(3));
    must(
        Command::new("docker").args(["network", "disconnect", &net, &vm2]),
        Duration::from_secs(30),
    );
    // Off the network for 4 s: twice the links' 2 s timeout, far below the
    // 30 s --peer-timeout.
    std::thread::sleep(Duration::from_secs(4));
    // Back under its service's name: a plain `connect` would drop the
    // alias `vm2` the others dial.
    must(
        Command::new("docker").args(["network", "connect", "--alias", "vm2", &net, &vm2]),
        Duration::from_secs(30),
    );
    wait_up_ok(up, aux.path(), Duration::from_secs(120));
    assert_eq!(project.exit_codes(4), vec![0; 4], "containers' exit codes");
    let runs = assert_clean(&logs, 4);
    // VM 2 lost its links to everyone, and each came back.
    for (id, lines) in &runs {
        let peers: Vec<u32> = if *id == 2 { vec![1, 3, 4] } else { vec![2] };
        for peer in peers {
            let events = link_events(lines, peer);
            let alternates = events.iter().enumerate().all(|(i, up)| *up == (i % 2 == 1));
            assert!(
                !events.is_empty() && alternates && events.len() % 2 == 0,
                "vm {id} about vm {peer}: expected link_down then link_up, got {events:?} (false = down)"
            );
        }
    }
}

#[test]
#[ignore = "needs Docker and Slurm: .ci/engines.sh up"]
fn compose_vm_started_first_waits_for_its_peers_names() {
    const NAME: &str = "compose_vm_started_first_waits_for_its_peers_names";
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let compose = docker_ready(NAME);
    let file = aux.path().join("compose.yaml");
    let logs = dir.path().join("logs");
    deploy(
        "compose",
        &[
            "--vms",
            "3",
            "--runtime",
            "4",
            "--min-rate",
            "10",
            "--max-rate",
            "40",
            "--image",
            TAG,
            "--logs",
            logs.to_str().expect("utf-8 temp path"),
        ],
        &file,
    );
    let project = Project::new(&compose, "late", &file);
    // VM 1 alone: Docker's DNS knows no vm2 or vm3 until their containers
    // run, and VM 1 keeps trying (once, this ended it with exit 2).
    must(
        &mut project.cmd(&["up", "-d", "vm1"]),
        Duration::from_secs(60),
    );
    let vm1 = project.container("vm1");
    let end = Instant::now() + Duration::from_secs(30);
    let said = loop {
        let out = output_within(
            Command::new("docker").args(["logs", &vm1]),
            Duration::from_secs(30),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        if said.contains("cannot resolve vm2:7000") || Instant::now() > end {
            break said;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        said.contains("cannot resolve vm2:7000"),
        "VM 1 alone did not say it waits for vm2's name:\n{said}"
    );
    // The others join the running VM 1; `up` returns when all three exited.
    let up = project.up(aux.path());
    wait_up_ok(up, aux.path(), Duration::from_secs(120));
    assert_eq!(project.exit_codes(3), vec![0; 3], "containers' exit codes");
    assert_clean(&logs, 3);
}

/// A block of `n` free ports on every address (held only while choosing):
/// Slurm's tasks listen on `base + id` of the node.
fn free_port_block(n: u16) -> u16 {
    for _ in 0..200 {
        let probe = std::net::TcpListener::bind("0.0.0.0:0").expect("bind");
        let base = probe.local_addr().expect("addr").port();
        drop(probe);
        if base > u16::MAX - n - 1 {
            continue;
        }
        let held: Result<Vec<_>, _> = (1..=n)
            .map(|i| std::net::TcpListener::bind(("0.0.0.0", base + i)))
            .collect();
        if held.is_ok() {
            return base;
        }
    }
    panic!("no block of {n} free ports");
}

#[test]
#[ignore = "needs Docker and Slurm: .ci/engines.sh up"]
fn slurm_runs_four_vms_with_sbatch() {
    const NAME: &str = "slurm_runs_four_vms_with_sbatch";
    if let Err(why) = answers("sbatch", &["--version"]) {
        missing(NAME, "Slurm", &why);
    }
    if let Err(why) = answers("scontrol", &["ping"]) {
        missing(NAME, "slurmctld", &why);
    }
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let script = aux.path().join("job.sh");
    let logs = dir.path().join("logs");
    let base = free_port_block(4).to_string();
    deploy(
        "slurm",
        &[
            "--vms",
            "4",
            "--runtime",
            "6",
            "--min-rate",
            "10",
            "--max-rate",
            "40",
            "--base-port",
            &base,
            "--logs",
            logs.to_str().expect("utf-8 temp path"),
        ],
        &script,
    );
    // --wait: sbatch returns when the job ends, with the job's exit code.
    let out = output_within(
        Command::new("sbatch").arg("--wait").arg(&script),
        Duration::from_secs(180),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let job_out: String = std::fs::read_dir(&logs)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("slurm-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(
        out.status.success(),
        "sbatch --wait: {}\n{}{}\njob output:\n{job_out}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean(&logs, 4);
}

#[test]
#[ignore = "needs Docker and Slurm: .ci/engines.sh up"]
fn kubernetes_manifests_pass_the_schemas() {
    const NAME: &str = "kubernetes_manifests_pass_the_schemas";
    if let Err(why) = answers("python3", &["-c", "import kubernetes_validate, yaml"]) {
        missing(NAME, "kubernetes-validate (PyPI)", &why);
    }
    let aux = tempdir();
    let _keep = keep(NAME, &[aux.path()]);
    let file = aux.path().join("lamport.yaml");
    deploy(
        "kubernetes",
        &["--vms", "4", "--runtime", "20", "--name", "lamport"],
        &file,
    );
    let validate = |path: &Path| {
        output_within(
            Command::new("python3")
                .args(["-m", "kubernetes_validate", "--strict"])
                .arg(path),
            Duration::from_secs(120),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let out = validate(&file);
    assert!(
        out.status.success(),
        "kubernetes-validate --strict rejects the manifests:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // What the run needs, read back by a YAML parser of its own.
    let shape = r#"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = sorted(d["kind"] for d in docs)
assert kinds == ["Job", "Secret", "Service"], kinds
by = {d["kind"]: d for d in docs}
svc, job = by["Service"]["spec"], by["Job"]["spec"]
assert svc["clusterIP"] == "None" and svc["publishNotReadyAddresses"] is True, svc
assert job["completionMode"] == "Indexed", job
assert job["completions"] == job["parallelism"] == 4, job
pod = job["template"]["spec"]
assert pod["subdomain"] == by["Service"]["metadata"]["name"] == "lamport", pod
labels = job["template"]["metadata"]["labels"]
assert all(labels.get(k) == v for k, v in svc["selector"].items()), (labels, svc)
args = pod["containers"][0]["args"]
assert "--index" in args and "--log-stdout" in args, args
print("shape OK")
"#;
    let out = output_within(
        Command::new("python3").args(["-c", shape]).arg(&file),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "the manifests' shape:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The validator can say no: an unknown field in the Job's spec fails
    // --strict.
    let text = std::fs::read_to_string(&file).expect("read manifests");
    let broken = text.replacen("completionMode", "completionMoed", 1);
    assert_ne!(broken, text, "no completionMode in the manifests");
    let bad = aux.path().join("broken.yaml");
    std::fs::write(&bad, broken).expect("write");
    assert!(
        !validate(&bad).status.success(),
        "kubernetes-validate accepts an unknown field"
    );
}
