//! `run`: spawns `current_exe() vm ...` once per VM, collects the addresses
//! they listen on, hands every VM its peers and one shared start instant,
//! forwards Ctrl+C / SIGTERM, reaps every child and prints the end-of-run
//! table. It never reads a logical clock while the run goes on.
//!
//! Each child's stdin is a pipe from the launcher: when the launcher dies,
//! even by SIGKILL (or `TerminateProcess` on Windows), the pipe closes and
//! every VM stops on its own. Each child runs in its own process group (on
//! Windows, `CREATE_NEW_PROCESS_GROUP`), so a terminal's Ctrl+C reaches only
//! the launcher, which forwards `stop`: one path, and no child can be hit by
//! SIGINT in the instants before its own handler exists.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rand::RngExt;

use crate::analyze::{report, stats::VmStats, table};
use crate::config::{ConfigError, RunConfig};
use crate::control::{FromVm, Status, ToVm};
use crate::live;
use crate::lock::FolderLock;
use crate::logline;

/// Longest wait for every VM to bind and to connect.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long after the runtime a VM may take to stop before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the live view is redrawn.
const LIVE_EVERY: Duration = Duration::from_millis(250);

/// News from the children and the signal handler.
enum Ev {
    Said(u32, FromVm),
    /// The child's stdout closed: it exited (or is about to).
    Gone(u32),
    Interrupt,
}

struct Vm {
    id: u32,
    child: Child,
    stdin: Option<ChildStdin>,
    addr: Option<SocketAddr>,
    ready: bool,
    gone: bool,
    status: Option<ExitStatus>,
    /// Its last live figures (live view only).
    live: Option<Status>,
}

impl Vm {
    fn tell(&mut self, msg: &ToVm) {
        if let Some(stdin) = self.stdin.as_mut() {
            if stdin
                .write_all(msg.line().as_bytes())
                .and_then(|()| stdin.flush())
                .is_err()
            {
                self.stdin = None;
            }
        }
    }
}

/// Where Ctrl+C goes: the run going on now, if any.
static CURRENT_RUN: Mutex<Option<Sender<Ev>>> = Mutex::new(None);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the process's one Ctrl+C / SIGTERM handler (once): it marks the
/// process interrupted and tells the run going on now, so a batch of runs
/// (`experiment`) stops its current run cleanly and starts no other.
pub fn install_interrupt_handler() -> Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        ctrlc::set_handler(|| {
            INTERRUPTED.store(true, Ordering::SeqCst);
            if let Ok(current) = CURRENT_RUN.lock() {
                if let Some(tx) = current.as_ref() {
                    let _ = tx.send(Ev::Interrupt);
                }
            }
        })
        .map_err(|e| e.to_string())
    });
    installed
        .clone()
        .map_err(|e| anyhow::anyhow!("cannot install the Ctrl+C handler: {e}"))
}

/// True once Ctrl+C / SIGTERM reached this process.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Runs a whole simulation; the exit code is 0 only if every VM stopped cleanly.
pub fn run(cfg: RunConfig) -> Result<ExitCode> {
    run_labeled(cfg, "")
}

/// [`run`], with `label` in front of the progress line (e.g. "run 2 of 5: ").
pub fn run_labeled(cfg: RunConfig, label: &str) -> Result<ExitCode> {
    install_interrupt_handler()?;
    let seed = cfg.model.seed.unwrap_or_else(|| rand::rng().random());
    let run_id = format!("{:06x}", rand::rng().random_range(0..0x100_0000u32));
    // Every check before anything is written: the ports, then the folder's
    // lock, held to the end of the run (taking it creates the folder).
    check_ports(&cfg)?;
    let _lock = FolderLock::exclusive(&cfg.model.logs, &format!("run {run_id}"))?;
    if interrupted() {
        eprintln!("lamport-sim: interrupted before any VM started");
        return Ok(ExitCode::from(130));
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    if let Ok(mut current) = CURRENT_RUN.lock() {
        *current = Some(tx.clone());
    }
    println!(
        "lamport-sim: run {run_id}: {} VMs for {} s, logs in {}",
        cfg.vms,
        cfg.model.runtime.as_secs_f64(),
        cfg.model.logs.display()
    );
    println!("lamport-sim: --seed {seed} repeats it");
    let mut vms = spawn_all(&cfg, seed, &run_id, &tx)?;
    let mut launch = Launch {
        rx,
        vms: &mut vms,
        stopping: false,
        interrupted: false,
        label,
    };
    let mut outcome = launch.drive(&cfg);
    if launch.interrupted && matches!(outcome, Outcome::Ran) {
        outcome = Outcome::InterruptedRun;
    }
    launch.stop_all();
    launch.reap(cfg.model.runtime + STOP_TIMEOUT);
    finish(&cfg, &vms, outcome)
}

/// Fails with a `--base-port` error naming the first port already taken.
/// Binds and lets go: creates no file.
pub fn check_ports(cfg: &RunConfig) -> Result<(), ConfigError> {
    if cfg.base_port == 0 {
        return Ok(());
    }
    for id in 1..=cfg.vms {
        let port = cfg.base_port + id as u16;
        if let Err(e) = TcpListener::bind(("127.0.0.1", port)) {
            return Err(ConfigError {
                flag: "--base-port",
                value: cfg.base_port.to_string(),
                why: format!("port {port} (VM {id}) is not free: {e}"),
                hint: Some("--base-port 0 lets every VM take a free port".into()),
            });
        }
    }
    Ok(())
}

fn spawn_all(cfg: &RunConfig, seed: u64, run_id: &str, tx: &Sender<Ev>) -> Result<Vec<Vm>> {
    let exe = std::env::current_exe().context("cannot find this program's own executable")?;
    let mut vms: Vec<Vm> = Vec::new();
    for id in 1..=cfg.vms {
        let port = if cfg.base_port == 0 {
            0
        } else {
            cfg.base_port + id as u16
        };
        let mut cmd = Command::new(&exe);
        in_own_group(&mut cmd);
        let spawned = cmd
            .args(["vm", "--control", "--id", &id.to_string()])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--run", run_id, "--seed", &seed.to_string()])
            .args(["--runtime", &cfg.model.runtime.as_secs_f64().to_string()])
            .args(rate_args(cfg, id))
            .args(["--event-range", &cfg.model.event_range.to_string()])
            .args(["--max-queue", &cfg.model.max_queue.to_string()])
            .args(["--delay", &delay_arg(cfg)])
            .args([
                "--peer-timeout",
                &cfg.model.peer_timeout.as_secs_f64().to_string(),
            ])
            .args([
                "--stop-grace",
                &cfg.model.stop_grace.as_secs_f64().to_string(),
            ])
            .args(live_view().then_some("--live"))
            .arg("--logs")
            .arg(&cfg.model.logs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                for vm in &mut vms {
                    let _ = vm.child.kill();
                    let _ = vm.child.wait();
                }
                return Err(e).with_context(|| format!("cannot start VM {id} ({})", exe.display()));
            }
        };
        let stdin = child.stdin.take();
        if let Some(out) = child.stdout.take() {
            watch_stdout(id, out, tx.clone());
        }
        vms.push(Vm {
            id,
            child,
            stdin,
            addr: None,
            ready: false,
            gone: false,
            status: None,
            live: None,
        });
    }
    Ok(vms)
}

/// Puts a child in a process group of its own, away from the terminal's Ctrl+C.
#[cfg(unix)]
fn in_own_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

/// Puts a child in a process group of its own, away from the console's Ctrl+C.
#[cfg(windows)]
fn in_own_group(cmd: &mut Command) {
    use std::os::windows::process::CommandExt;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    cmd.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

#[cfg(not(any(unix, windows)))]
fn in_own_group(_cmd: &mut Command) {}

/// The live view is drawn only on a terminal (never in CI or a pipe).
fn live_view() -> bool {
    std::io::stderr().is_terminal()
}

/// `--delay` as the VMs take it.
fn delay_arg(cfg: &RunConfig) -> String {
    cfg.model
        .delay
        .map_or("0".into(), |d| logline::format_delay(d.min_us, d.max_us))
}

/// `--rate R` for a fixed rate, else the range to draw from.
fn rate_args(cfg: &RunConfig, id: u32) -> Vec<String> {
    match cfg.rates.as_ref().and_then(|r| r.get(id as usize - 1)) {
        Some(rate) => vec!["--rate".into(), rate.to_string()],
        None => vec![
            "--min-rate".into(),
            cfg.model.min_rate.to_string(),
            "--max-rate".into(),
            cfg.model.max_rate.to_string(),
        ],
    }
}

/// Forwards a child's control lines; its end means the child is gone.
fn watch_stdout(id: u32, out: std::process::ChildStdout, tx: Sender<Ev>) {
    let _ = thread::Builder::new()
        .name(format!("vm{id}-stdout"))
        .stack_size(64 * 1024)
        .spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(msg) = FromVm::parse(&line) {
                    let _ = tx.send(Ev::Said(id, msg));
                }
            }
            let _ = tx.send(Ev::Gone(id));
        });
}

/// How the run went, as far as the launcher could drive it.
enum Outcome {
    /// Every phase was reached; the run ended (by runtime or by request).
    Ran,
    /// Ctrl+C before the VMs started ticking.
    Interrupted,
    /// Ctrl+C while they ticked: they stopped early, cleanly.
    InterruptedRun,
    /// A VM exited during set-up (its own error is on stderr), or set-up timed out.
    SetupFailed(String),
}

struct Launch<'a> {
    rx: Receiver<Ev>,
    vms: &'a mut Vec<Vm>,
    stopping: bool,
    interrupted: bool,
    label: &'a str,
}

impl Launch<'_> {
    fn drive(&mut self, cfg: &RunConfig) -> Outcome {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        if let Some(o) = self.wait_setup(deadline, |vm| vm.addr.is_some(), "bind its port") {
            return o;
        }
        let addrs: Vec<(u32, SocketAddr)> = self
            .vms
            .iter()
            .filter_map(|v| Some((v.id, v.addr?)))
            .collect();
        for vm in self.vms.iter_mut() {
            for &(id, addr) in &addrs {
                if id != vm.id {
                    vm.tell(&ToVm::Peer(id, addr));
                }
            }
            vm.tell(&ToVm::Connect);
        }
        if let Some(o) = self.wait_setup(deadline, |vm| vm.ready, "connect to its peers") {
            return o;
        }
        // A few ms ahead, so every VM has the line before the instant comes.
        let lead_us = 5_000 + 200 * i64::from(cfg.vms);
        let go = ToVm::Go(logline::now_us() + lead_us);
        for vm in self.vms.iter_mut() {
            vm.tell(&go);
        }
        self.watch_run(
            Instant::now() + Duration::from_micros(lead_us as u64),
            cfg.model.runtime,
        );
        Outcome::Ran
    }

    /// Waits until `done` holds for every VM; `None` if it does.
    fn wait_setup(
        &mut self,
        deadline: Instant,
        done: fn(&Vm) -> bool,
        what: &str,
    ) -> Option<Outcome> {
        while !self.vms.iter().all(done) {
            match self.rx.recv_deadline(deadline) {
                Ok(Ev::Said(id, msg)) => self.note(id, msg),
                // After Ctrl+C a VM may leave during set-up (a group's SIGINT
                // can reach a child before it takes its own group): that is
                // the interrupt, not a failure.
                Ok(Ev::Gone(id)) if interrupted() || self.died_of_sigint(id) => {
                    self.mark_gone(id);
                    return Some(Outcome::Interrupted);
                }
                Ok(Ev::Gone(id)) => {
                    self.mark_gone(id);
                    return Some(Outcome::SetupFailed(format!(
                        "VM {id} exited before it could {what}"
                    )));
                }
                Ok(Ev::Interrupt) => return Some(Outcome::Interrupted),
                Err(_) => {
                    let late: Vec<String> = self
                        .vms
                        .iter()
                        .filter(|v| !done(v))
                        .map(|v| v.id.to_string())
                        .collect();
                    return Some(Outcome::SetupFailed(format!(
                        "VM {} did not {what} within {} s",
                        late.join(", "),
                        SETUP_TIMEOUT.as_secs()
                    )));
                }
            }
        }
        None
    }

    fn note(&mut self, id: u32, msg: FromVm) {
        let Some(vm) = self.vms.iter_mut().find(|v| v.id == id) else {
            return;
        };
        match msg {
            FromVm::Listening(addr) => vm.addr = Some(addr),
            FromVm::Ready => vm.ready = true,
            FromVm::Status(s) => vm.live = Some(s),
            // Not yet acted on.
            FromVm::Lost { .. } | FromVm::Linked(_) => {}
        }
    }

    /// True if VM `id` was killed by SIGINT (waiting briefly for it to be
    /// reapable: its stdout closes a moment before it is).
    fn died_of_sigint(&mut self, id: u32) -> bool {
        let Some(vm) = self.vms.iter_mut().find(|v| v.id == id) else {
            return false;
        };
        let end = Instant::now() + Duration::from_millis(200);
        while vm.status.is_none() && Instant::now() < end {
            match vm.child.try_wait() {
                Ok(Some(status)) => vm.status = Some(status),
                Ok(None) => thread::sleep(Duration::from_millis(2)),
                Err(_) => break,
            }
        }
        killed_by_sigint(vm.status)
    }

    fn mark_gone(&mut self, id: u32) {
        if let Some(vm) = self.vms.iter_mut().find(|v| v.id == id) {
            vm.gone = true;
            vm.stdin = None;
        }
    }

    /// Waits for the VMs to finish, forwarding Ctrl+C; on a terminal, draws
    /// the live view a few times a second.
    fn watch_run(&mut self, start: Instant, runtime: Duration) {
        let live = live_view();
        let hard_end = start + runtime + STOP_TIMEOUT;
        let mut drawn = 0;
        let mut next_draw = Instant::now();
        while self.vms.iter().any(|v| !v.gone) && Instant::now() < hard_end {
            // Without a terminal there is nothing to redraw: sleep until news.
            let wake = if live { next_draw } else { hard_end };
            match self.rx.recv_deadline(wake) {
                Ok(Ev::Gone(id)) => self.mark_gone(id),
                Ok(Ev::Interrupt) => {
                    self.interrupted = true;
                    self.stop_all();
                }
                Ok(Ev::Said(id, msg)) => self.note(id, msg),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if live && Instant::now() >= next_draw {
                drawn = self.draw(drawn, start, runtime);
                next_draw = Instant::now() + LIVE_EVERY;
            }
        }
        if live {
            eprint!("{}", live::erase(drawn));
        }
    }

    /// Redraws the live view over the one drawn last; returns its height.
    fn draw(&self, drawn: usize, start: Instant, runtime: Duration) -> usize {
        let rows: Vec<live::Row> = self
            .vms
            .iter()
            .map(|v| live::Row {
                vm: v.id,
                status: v.live,
                running: !v.gone,
            })
            .collect();
        let elapsed = start.elapsed().as_secs_f64();
        let lines = live::lines(self.label, elapsed, runtime.as_secs_f64(), &rows);
        eprint!("{}", live::redraw(drawn, &lines));
        lines.len()
    }

    /// Asks every VM still running to stop cleanly (once).
    fn stop_all(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        for vm in self.vms.iter_mut() {
            vm.tell(&ToVm::Stop);
        }
    }

    /// Waits for every child; kills the ones still there after `limit`.
    fn reap(&mut self, limit: Duration) {
        let end = Instant::now() + limit.min(STOP_TIMEOUT);
        for vm in self.vms.iter_mut() {
            loop {
                match vm.child.try_wait() {
                    Ok(Some(status)) => {
                        vm.status = Some(status);
                        break;
                    }
                    Ok(None) if Instant::now() < end => thread::sleep(Duration::from_millis(5)),
                    _ => {
                        eprintln!("lamport-sim: VM {} did not stop in time; killing it", vm.id);
                        let _ = vm.child.kill();
                        vm.status = vm.child.wait().ok();
                        break;
                    }
                }
            }
        }
    }
}

/// Prints the table and turns the children's statuses into an exit code.
fn finish(cfg: &RunConfig, vms: &[Vm], outcome: Outcome) -> Result<ExitCode> {
    let interrupted_setup = matches!(outcome, Outcome::Interrupted);
    let failed: Vec<(u32, String)> = vms
        .iter()
        .filter(|v| !v.status.is_some_and(|s| s.success()))
        // Ctrl+C during set-up may reach a child before its handler exists.
        .filter(|v| !(interrupted_setup && killed_by_sigint(v.status)))
        .map(|v| (v.id, describe(v.status)))
        .collect();
    if let Outcome::SetupFailed(why) = &outcome {
        // A VM's own usage error (exit 2, e.g. a port taken) is the user's.
        let usage = vms
            .iter()
            .any(|v| v.status.and_then(|s| s.code()) == Some(2));
        eprintln!("lamport-sim: {why}");
        return Ok(ExitCode::from(if usage { 2 } else { 1 }));
    }
    match table_of(&cfg.model.logs, cfg.vms) {
        Ok(t) => print!("{t}"),
        Err(e) => eprintln!("lamport-sim: no table: {e:#}"),
    }
    if !failed.is_empty() {
        bail!("{}", failures(&failed));
    }
    match outcome {
        Outcome::Interrupted | Outcome::InterruptedRun => {
            eprintln!("lamport-sim: interrupted; every VM stopped cleanly and its log is complete");
            Ok(ExitCode::from(130))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// `VM 1-3, 5 died (killed by signal 9); VM 4 failed (exit code 1)`: one
/// clause per way of failing, so twelve dead VMs still make a short line.
fn failures(failed: &[(u32, String)]) -> String {
    let mut ways: Vec<&str> = failed.iter().map(|f| f.1.as_str()).collect();
    ways.sort_unstable();
    ways.dedup();
    let clauses: Vec<String> = ways
        .iter()
        .map(|way| {
            let ids: Vec<u32> = failed.iter().filter(|f| f.1 == *way).map(|f| f.0).collect();
            format!("VM {} {way}", table::id_list(&ids))
        })
        .collect();
    clauses.join("; ")
}

/// True if the child was ended by Ctrl+C: SIGINT on Unix.
#[cfg(unix)]
fn killed_by_sigint(status: Option<ExitStatus>) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.and_then(|s| s.signal()) == Some(2)
}

/// True if the child was ended by Ctrl+C: on Windows there are no signals,
/// and a console's Ctrl+C ends a process with `STATUS_CONTROL_C_EXIT`.
#[cfg(not(unix))]
fn killed_by_sigint(status: Option<ExitStatus>) -> bool {
    const STATUS_CONTROL_C_EXIT: u32 = 0xC000_013A;
    status.and_then(|s| s.code()) == Some(STATUS_CONTROL_C_EXIT as i32)
}

fn describe(status: Option<ExitStatus>) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.and_then(|s| s.signal()) {
            return format!("died (killed by signal {sig})");
        }
    }
    match status.and_then(|s| s.code()) {
        Some(code) => format!("failed (exit code {code})"),
        None => "vanished".into(),
    }
}

fn table_of(dir: &Path, n: u32) -> Result<String> {
    // analyze's reader: a last line cut short (a full disk) is dropped, not fatal.
    let (logs, _notes) = crate::analyze::read_logs(dir)?;
    let rows: Vec<VmStats> = logs
        .iter()
        .filter(|(id, _)| *id <= n)
        .map(|(id, lines)| VmStats {
            vm: *id,
            ..VmStats::from_lines(lines)
        })
        .collect();
    Ok(report::end_of_run_table(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_grouped_by_how_the_vms_failed() {
        let died = "died (killed by signal 9)".to_string();
        let mut failed: Vec<(u32, String)> = (1..=12).map(|id| (id, died.clone())).collect();
        failed[3].1 = "failed (exit code 1)".into();
        assert_eq!(
            failures(&failed),
            "VM 1-3, 5-12 died (killed by signal 9); VM 4 failed (exit code 1)"
        );
    }
}
