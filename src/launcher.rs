//! `run`: spawns `current_exe() vm ...` once per VM, collects the addresses
//! they listen on, hands every VM its peers and one shared start instant,
//! forwards Ctrl+C / SIGTERM, reaps every child and says how the run ended
//! ([`Ended`]); `cmd::run` prints the end-of-run table from the logs. It
//! never reads a logical clock while the run goes on.
//!
//! Each child's stdin is a pipe from the launcher: when the launcher dies,
//! even by SIGKILL (or `TerminateProcess` on Windows), the pipe closes and
//! every VM stops on its own. Each child runs in its own process group (on
//! Windows, `CREATE_NEW_PROCESS_GROUP`), so a terminal's Ctrl+C reaches only
//! the launcher, which forwards `stop`: one path, and no child can be hit by
//! SIGINT in the instants before its own handler exists.
//!
//! Each VM's first control line is the run's secret, new for every run and
//! never on a command line. Set-up (every VM listening, then every VM with
//! all its links up) may take as long as it makes progress: it is given up
//! after `--connect-timeout` without any, in one line. A VM that exits
//! uncleanly is announced to the others (`gone`), so none waits out its
//! grace for it; one that gave up on peers (`lost`) is reported as a loss,
//! and the run exits 1. Everything a VM says often (live figures, links up)
//! is kept by its stdout's reader without waking the launcher's thread.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::RngExt;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};

use crate::config::{ConfigError, RunConfig};
use crate::control::{FromVm, Status, ToVm};
use crate::live;
use crate::lock::FolderLock;
use crate::logline;
use crate::params::{Model, RateSpec, VmConfig};
use crate::text as table;

/// How long an exited VM's status is waited for before its peers are told
/// it is gone anyway (its stdout closes a moment before it is reapable).
const GONE_WAIT: Duration = Duration::from_millis(100);
/// How long after the runtime a VM may take to stop before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long goodbyes are gathered before they are passed on.
const RELAY_EVERY: Duration = Duration::from_millis(10);
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
    /// What its stdout's reader keeps for the launcher's thread.
    heard: Arc<Heard>,
    /// The peers it gave up on (`lost J N`), with its messages to each never
    /// acknowledged.
    lost: Vec<(u32, u64)>,
    /// It said `done`: its peers were told it finished, and its exit (once
    /// its sockets are closed, seconds later at 1024 VMs) is nothing to them.
    done: bool,
}

impl Vm {
    fn tell(&mut self, msg: &ToVm) {
        self.tell_text(&msg.line());
    }

    /// Writes control lines in one write (1023 `peer` lines are one, not 1023).
    fn tell_text(&mut self, text: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            if stdin
                .write_all(text.as_bytes())
                .and_then(|()| stdin.flush())
                .is_err()
            {
                self.stdin = None;
            }
        }
    }
}

/// What a VM's stdout reader keeps itself, so that the launcher's thread
/// need not wake for it: 1024 VMs say about 4096 `status` lines a second,
/// and up to a million `linked K` lines during set-up.
#[derive(Debug, Default)]
struct Heard {
    /// Its last live figures (live view only).
    live: Mutex<Option<Status>>,
    /// The most links it said were up.
    linked: AtomicU32,
}

impl Heard {
    fn live(&self) -> Option<Status> {
        *self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// When a VM last said more of its links were up (set-up progress), noted
/// by the stdout readers.
#[derive(Debug)]
struct LinkProgress {
    base: Instant,
    /// Milliseconds from `base`.
    last_ms: AtomicU64,
}

impl LinkProgress {
    fn new() -> Self {
        LinkProgress {
            base: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    /// VM's `heard` says `linked k`: progress if k is more than before.
    fn linked(&self, heard: &Heard, k: u32) {
        if heard.linked.fetch_max(k, Ordering::Relaxed) < k {
            let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.last_ms.fetch_max(ms, Ordering::Relaxed);
        }
    }

    fn last(&self) -> Instant {
        self.base + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
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

/// What a run came to, for its command to report: the end-of-run table
/// (when [`Ended::table_due`]), the VMs that failed or gave up, the exit
/// status. What the launcher said on the way (the run line, set-up errors)
/// is said already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The run folder: its logs.
    pub logs: PathBuf,
    /// How many VMs the run had.
    pub vms: u32,
    pub how: How,
    /// The VMs that failed, each with how: `died (killed by signal 9)`,
    /// `failed (exit code 1)`, `vanished`.
    pub failed: Vec<(u32, String)>,
    /// The VMs that gave up on peers, each with its (peer, messages not
    /// acknowledged).
    pub lost: Vec<(u32, Vec<(u32, u64)>)>,
}

/// How a run ended, as far as the launcher could drive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Ctrl+C before any VM started (said already); no logs.
    NotStarted,
    /// Set-up failed (said already); `usage` when a VM's own usage error
    /// (exit 2, e.g. a port taken) caused it.
    SetupFailed { usage: bool },
    /// The VMs ran to the end (by runtime or by request).
    Ran,
    /// Ctrl+C during set-up or while the VMs ticked: they stopped early.
    Interrupted,
}

impl Ended {
    /// Whether an end-of-run table is due: the VMs got past set-up.
    pub fn table_due(&self) -> bool {
        matches!(self.how, How::Ran | How::Interrupted)
    }

    /// The exit status: 0 only if every VM stopped cleanly; 1 when one
    /// failed or gave up or set-up failed; 2 when set-up failed on a VM's
    /// usage error; 130 when interrupted.
    pub fn exit_code(&self) -> u8 {
        match self.how {
            How::NotStarted => 130,
            How::SetupFailed { usage } => {
                if usage {
                    2
                } else {
                    1
                }
            }
            _ if !self.failed.is_empty() || !self.lost.is_empty() => 1,
            How::Interrupted => 130,
            How::Ran => 0,
        }
    }
}

/// Runs a whole simulation and says how it ended.
pub fn run(cfg: RunConfig) -> Result<Ended> {
    run_labeled(cfg, "")
}

/// [`run`], with `label` in front of the progress line (e.g. "run 2 of 5: ").
pub fn run_labeled(cfg: RunConfig, label: &str) -> Result<Ended> {
    install_interrupt_handler()?;
    let seed = crate::params::seed_or_draw(cfg.model.seed);
    let run_id = new_run_id();
    // Every check before anything is written: the open-files limit and the
    // ports, then the folder's lock, held to the end of the run (taking it
    // creates the folder).
    preflight(&cfg)?;
    let _lock = FolderLock::exclusive(&cfg.model.logs, &format!("run {run_id}"))?;
    if interrupted() {
        eprintln!("lamport-sim: interrupted before any VM started");
        return Ok(Ended {
            logs: cfg.model.logs.clone(),
            vms: cfg.vms,
            how: How::NotStarted,
            failed: Vec::new(),
            lost: Vec::new(),
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
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
    let progress = Arc::new(LinkProgress::new());
    let mut vms = spawn_all(&cfg, seed, &run_id, &new_secret(), &tx, &progress)?;
    let mut launch = Launch {
        rx,
        vms: &mut vms,
        stopping: false,
        interrupted: false,
        label,
        exited: Vec::new(),
        progress,
        relay: Vec::new(),
        relay_at: None,
        goodbyes: (0, 0),
        rounds: (0, Duration::ZERO),
        relay_span: (None, None),
        said_bye: vec![false; cfg.vms as usize],
        finished: Vec::new(),
        quiet: Vec::new(),
        last_bye: None,
        stop_began: None,
        grace: cfg.model.stop_grace,
        // The VMs' own bound is --stop-grace without progress; this one is
        // the safety net beyond it.
        stop_limit: STOP_TIMEOUT + 3 * cfg.model.stop_grace,
    };
    let mut outcome = launch.drive(&cfg);
    if launch.interrupted && matches!(outcome, Outcome::Ran) {
        outcome = Outcome::InterruptedRun;
    }
    if let Outcome::SetupFailed(why, _) = &outcome {
        // The cause first, before whatever the stop brings.
        eprintln!("lamport-sim: {why}");
    }
    launch.stop_all();
    launch.reap(cfg.model.runtime + launch.stop_limit);
    if tracing() {
        let (heard, passed) = launch.goodbyes;
        let span = |t: Option<Instant>| {
            launch
                .relay_span
                .0
                .zip(t)
                .map_or(0.0, |(a, b)| (b - a).as_secs_f64())
        };
        let (rounds, longest) = launch.rounds;
        eprintln!(
            "lamport-sim: trace: {heard} goodbyes heard over {:.2} s, {passed} counts passed on in {rounds} rounds (the longest took {:.2} s) by {:.2} s, the last VM reaped at {:.2} s",
            span(launch.last_bye),
            longest.as_secs_f64(),
            span(launch.relay_span.1),
            span(Some(Instant::now()))
        );
    }
    Ok(finish(&cfg, &vms, outcome))
}

/// The checks of a run before anything is written: raises the open-files
/// limit (the VMs inherit it) and fails with a `--vms` error if it is still
/// too low for the run, then [`check_ports`].
pub fn preflight(cfg: &RunConfig) -> Result<(), ConfigError> {
    crate::limits::check_run(cfg.vms, crate::limits::raise_open_files())?;
    check_ports(cfg)
}

/// A fresh run id: six random hex digits.
pub fn new_run_id() -> String {
    format!("{:06x}", rand::rng().random_range(0..0x100_0000u32))
}

/// The run's secret: 32 random bytes as hex, new for every run (and for
/// every `deploy`). Under the launcher it reaches the VMs over their control
/// pipes only, never a command line (`ps` shows those to every local user).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes[..]);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

fn spawn_all(
    cfg: &RunConfig,
    seed: u64,
    run_id: &str,
    secret: &str,
    tx: &Sender<Ev>,
    progress: &Arc<LinkProgress>,
) -> Result<Vec<Vm>> {
    let exe = std::env::current_exe().context("cannot find this program's own executable")?;
    let mut vms: Vec<Vm> = Vec::new();
    for id in 1..=cfg.vms {
        let port = if cfg.base_port == 0 {
            0
        } else {
            cfg.base_port + id as u16
        };
        let vm_cfg = vm_config(cfg, id, port, seed, run_id);
        let mut cmd = Command::new(&exe);
        in_own_group(&mut cmd);
        let spawned = cmd
            // The VM's configuration goes over stdin; its id, address and
            // folder are on the command line only so that `ps` tells the
            // VMs apart (the VM checks that id and address agree).
            .args(["vm", "--control", "--id", &id.to_string()])
            .args(["--listen", &vm_cfg.listen.to_string()])
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
        let heard = Arc::new(Heard::default());
        if let Some(out) = child.stdout.take() {
            let keep = (Arc::clone(&heard), Arc::clone(progress));
            watch_stdout(id, out, tx.clone(), keep);
        }
        let mut vm = Vm {
            id,
            child,
            stdin,
            addr: None,
            ready: false,
            gone: false,
            status: None,
            heard,
            lost: Vec::new(),
            done: false,
        };
        // The configuration first, then the secret, before the peers:
        // links admit only its holders.
        vm.tell(&ToVm::Config(Box::new(vm_cfg)));
        vm.tell(&ToVm::Secret(secret.to_string()));
        vms.push(vm);
    }
    Ok(vms)
}

/// The next event, or a timeout at `wake` (std's `recv_deadline` is not stable yet).
fn recv_until(rx: &Receiver<Ev>, wake: Instant) -> Result<Ev, RecvTimeoutError> {
    rx.recv_timeout(wake.saturating_duration_since(Instant::now()))
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

/// The terminal's height and width (stderr's), where it can be told.
#[cfg(unix)]
fn terminal_size() -> Option<(usize, usize)> {
    let ws = rustix::termios::tcgetwinsize(std::io::stderr()).ok()?;
    (ws.ws_row > 0 && ws.ws_col > 0).then(|| (usize::from(ws.ws_row), usize::from(ws.ws_col)))
}

#[cfg(not(unix))]
fn terminal_size() -> Option<(usize, usize)> {
    None
}

/// VM `id`'s configuration, checked with the run's: its rate fixed by
/// `--rates` or drawn from the range, the run's seed.
fn vm_config(cfg: &RunConfig, id: u32, port: u16, seed: u64, run_id: &str) -> VmConfig {
    let rate = match cfg.rates.as_ref().and_then(|r| r.get(id as usize - 1)) {
        Some(&rate) => RateSpec::Fixed(rate),
        None => RateSpec::Draw {
            min: cfg.model.min_rate,
            max: cfg.model.max_rate,
        },
    };
    VmConfig {
        id,
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        peers: Vec::new(),
        rate,
        run: run_id.to_string(),
        connect_timeout: cfg.connect_timeout,
        secret_file: None,
        control: true,
        live: live_view(),
        log_stdout: false,
        model: Model {
            seed: Some(seed),
            ..cfg.model.clone()
        },
    }
}

/// Forwards a child's control lines, but for the figures and links it keeps
/// in `keep`; its end means the child is gone.
fn watch_stdout(
    id: u32,
    out: std::process::ChildStdout,
    tx: Sender<Ev>,
    keep: (Arc<Heard>, Arc<LinkProgress>),
) {
    let (heard, progress) = keep;
    let _ = thread::Builder::new()
        .name(format!("vm{id}-stdout"))
        .stack_size(64 * 1024)
        .spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                match FromVm::parse(&line) {
                    Some(FromVm::Status(s)) => {
                        *heard.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
                    }
                    Some(FromVm::Linked(k)) => progress.linked(&heard, k),
                    Some(msg) => {
                        let _ = tx.send(Ev::Said(id, msg));
                    }
                    None => {}
                }
            }
            let _ = tx.send(Ev::Gone(id));
        });
}

/// `LAMPORT_SIM_TRACE` is set: the launcher times set-up and the stop on
/// stderr (for measuring large runs: `bench/README.md`).
fn tracing() -> bool {
    std::env::var_os("LAMPORT_SIM_TRACE").is_some()
}

/// How long goodbyes are gathered before they are passed on:
/// [`RELAY_EVERY`], stretched with the run's size up to 16 times (160 ms at
/// 1024 VMs). Each round is a write to every VM still running, and at 1024
/// VMs rounds of 10 ms were 70,000 writes whose wake-ups kept this one
/// process, starved among a thousand, passing goodbyes on for 6 s.
fn relay_every(vms: usize) -> Duration {
    RELAY_EVERY * (vms / 64).clamp(1, 16) as u32
}

/// How the run went, as far as the launcher could drive it.
enum Outcome {
    /// Every phase was reached; the run ended (by runtime or by request).
    Ran,
    /// Ctrl+C before the VMs started ticking.
    Interrupted,
    /// Ctrl+C while they ticked: they stopped early, cleanly.
    InterruptedRun,
    /// A VM exited during set-up (its own error is on stderr), or set-up
    /// timed out; in which phase.
    SetupFailed(String, Phase),
}

struct Launch<'a> {
    rx: Receiver<Ev>,
    vms: &'a mut Vec<Vm>,
    stopping: bool,
    interrupted: bool,
    label: &'a str,
    /// VMs whose stdout closed and whose peers are not yet told: when it
    /// closed. Peers are told `gone` unless the VM exited cleanly (then it
    /// finished with every peer, and 1024 VMs stopping at once would
    /// otherwise make a million `gone` lines).
    exited: Vec<(u32, Instant)>,
    /// Set-up progress that the stdout readers note.
    progress: Arc<LinkProgress>,
    /// Goodbyes to pass on, per VM (by position): (who ended, messages it
    /// sent that VM). Gathered for [`RELAY_EVERY`], so that VMs stopping
    /// together make one line each, not one per pair.
    relay: Vec<Vec<(u32, u64)>>,
    /// When the gathered goodbyes go out.
    relay_at: Option<Instant>,
    /// Goodbyes heard, and goodbye entries passed on (for the trace).
    goodbyes: (usize, usize),
    /// Rounds of passing on, and the longest one took (for the trace).
    rounds: (usize, Duration),
    /// When the first goodbye was heard, and the last passed on (trace).
    relay_span: (Option<Instant>, Option<Instant>),
    /// VMs that exited cleanly, to pass on with the next goodbyes.
    finished: Vec<u32>,
    /// VMs whose goodbye came since the last round (each VM hears them as
    /// `quiet`, after the counts of its `ended` line, if any).
    quiet: Vec<u32>,
    /// Per VM (by position): it said its goodbye, or was given up on.
    said_bye: Vec<bool>,
    /// When the last goodbye was heard.
    last_bye: Option<Instant>,
    /// When the VMs were to stop ticking (the end of the runtime, or the
    /// stop the launcher asked for, if sooner).
    stop_began: Option<Instant>,
    /// `--stop-grace`: how long after the last goodbye heard the VMs that
    /// said none are given up on.
    grace: Duration,
    /// How long the stop may take before VMs still running are killed.
    stop_limit: Duration,
}

/// The two waits of set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Every VM bound its port and said where.
    Bind,
    /// Every VM has all its links up.
    Connect,
}

impl Phase {
    fn done(self, vm: &Vm) -> bool {
        match self {
            Phase::Bind => vm.addr.is_some(),
            Phase::Connect => vm.ready,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Phase::Bind => "bind its port",
            Phase::Connect => "connect to its peers",
        }
    }
}

/// The set-up deadline: `timeout` (`--connect-timeout`) after the last
/// progress, which is a VM listening, a VM's `linked K` with a larger K than
/// it said before, or a VM ready. A big run on a slow machine may take long
/// to set up, but not long without progress.
#[derive(Debug)]
struct SetupClock {
    timeout: Duration,
    last: Instant,
    /// Per VM (id - 1): listening, most links said, ready.
    seen: Vec<(bool, u32, bool)>,
}

impl SetupClock {
    fn new(vms: usize, timeout: Duration, now: Instant) -> Self {
        SetupClock {
            timeout,
            last: now,
            seen: vec![(false, 0, false); vms],
        }
    }

    /// Notes what VM `id` said; true if it is progress (the deadline moves).
    fn said(&mut self, id: u32, msg: &FromVm, now: Instant) -> bool {
        let Some(seen) = (id as usize)
            .checked_sub(1)
            .and_then(|i| self.seen.get_mut(i))
        else {
            return false;
        };
        let progress = match *msg {
            FromVm::Listening(_) => !std::mem::replace(&mut seen.0, true),
            FromVm::Linked(k) if k > seen.1 => {
                seen.1 = k;
                true
            }
            FromVm::Ready => !std::mem::replace(&mut seen.2, true),
            _ => false,
        };
        if progress {
            self.last = now;
        }
        progress
    }

    /// Progress at `at`, noted elsewhere.
    fn progressed(&mut self, at: Instant) {
        self.last = self.last.max(at);
    }

    fn deadline(&self) -> Instant {
        self.last + self.timeout
    }
}

/// `VM 3 of 8`, `4 of 6 VMs (VM 1, 3-5)`, `312 of 1024 VMs`: some of the
/// VMs, with their ids when they are few.
fn some_vms(ids: &[u32], vms: usize) -> String {
    let list = table::id_list(ids);
    if ids.len() == 1 {
        format!("VM {list} of {vms}")
    } else if ids.len() < vms && list.len() <= 24 {
        format!("{} of {vms} VMs (VM {list})", ids.len())
    } else {
        format!("{} of {vms} VMs", ids.len())
    }
}

/// `2 of 1024 VMs (VM 8, 9) did not stop in time; killing them`.
fn not_stopped(late: &[u32], vms: usize) -> String {
    let them = if late.len() == 1 { "it" } else { "them" };
    format!(
        "{} did not stop in time; killing {them}",
        some_vms(late, vms)
    )
}

/// `312 of 1024 VMs not connected to all peers after 60 s; try fewer VMs or
/// --connect-timeout`, with the ids when they are few.
fn setup_timed_out(phase: Phase, late: &[u32], vms: usize, timeout: Duration) -> String {
    let what = match phase {
        Phase::Bind => "not listening",
        Phase::Connect => "not connected to all peers",
    };
    let who = some_vms(late, vms);
    format!(
        "{who} {what} after {} s; try fewer VMs or --connect-timeout",
        timeout.as_secs_f64()
    )
}

impl Launch<'_> {
    fn drive(&mut self, cfg: &RunConfig) -> Outcome {
        let began = Instant::now();
        let mut clock = SetupClock::new(self.vms.len(), cfg.connect_timeout, began);
        if let Some(o) = self.wait_setup(&mut clock, Phase::Bind) {
            return o;
        }
        self.trace(began, "every VM bound its port");
        let addrs: Vec<(u32, SocketAddr)> = self
            .vms
            .iter()
            .filter_map(|v| Some((v.id, v.addr?)))
            .collect();
        for vm in self.vms.iter_mut() {
            let mut text = String::with_capacity(32 * addrs.len());
            for &(id, addr) in &addrs {
                if id != vm.id {
                    text.push_str(&ToVm::Peer(id, addr).line());
                }
            }
            vm.tell_text(&text);
        }
        // Only once every VM has its peers does any start to dial: a
        // thousand VMs dialling would starve this one process of the CPU
        // it needs to tell the rest (at 1024 VMs that was 38 s of set-up).
        for vm in self.vms.iter_mut() {
            vm.tell(&ToVm::Connect);
        }
        self.trace(began, "every VM has its peers");
        if let Some(o) = self.wait_setup(&mut clock, Phase::Connect) {
            return o;
        }
        self.trace(began, "every link is up");
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

    /// When [`tracing`], a line on stderr when a phase of set-up ends.
    fn trace(&self, began: Instant, what: &str) {
        if tracing() {
            let links: u64 = self
                .vms
                .iter()
                .map(|v| u64::from(v.heard.linked.load(Ordering::Relaxed)))
                .sum();
            eprintln!(
                "lamport-sim: trace: {:.2} s: {what} ({} link ends up)",
                began.elapsed().as_secs_f64(),
                links
            );
        }
    }

    /// Waits until every VM has done `phase`; `None` if they all did.
    fn wait_setup(&mut self, clock: &mut SetupClock, phase: Phase) -> Option<Outcome> {
        let mut traced = Instant::now();
        while !self.vms.iter().all(|v| phase.done(v)) {
            if phase == Phase::Connect && traced.elapsed() >= Duration::from_secs(2) {
                traced = Instant::now();
                self.trace(self.progress.base, "linking");
            }
            clock.progressed(self.progress.last());
            let wake = if tracing() {
                clock
                    .deadline()
                    .min(Instant::now() + Duration::from_secs(2))
            } else {
                clock.deadline()
            };
            match recv_until(&self.rx, wake) {
                Ok(Ev::Said(id, msg)) => {
                    clock.said(id, &msg, Instant::now());
                    self.note(id, msg);
                }
                // After Ctrl+C a VM may leave during set-up (a group's SIGINT
                // can reach a child before it takes its own group): that is
                // the interrupt, not a failure.
                Ok(Ev::Gone(id)) if interrupted() || self.died_of_sigint(id) => {
                    self.mark_gone(id);
                    return Some(Outcome::Interrupted);
                }
                Ok(Ev::Gone(id)) => {
                    self.mark_gone(id);
                    self.tell_gone(id);
                    return Some(Outcome::SetupFailed(
                        format!("VM {id} exited before it could {}", phase.what()),
                        phase,
                    ));
                }
                Ok(Ev::Interrupt) => return Some(Outcome::Interrupted),
                Err(_) if self.progress.last().max(clock.last) + clock.timeout > Instant::now() => {
                }
                Err(_) => {
                    let late: Vec<u32> = self
                        .vms
                        .iter()
                        .filter(|v| !phase.done(v))
                        .map(|v| v.id)
                        .collect();
                    let why = setup_timed_out(phase, &late, self.vms.len(), clock.timeout);
                    return Some(Outcome::SetupFailed(why, phase));
                }
            }
        }
        None
    }

    /// VM `id` stopped ticking after sending `sent` (peer, count; for the
    /// peers with messages unacknowledged): every other VM learns what to
    /// wait for from it, the others only that it stopped.
    fn ended(&mut self, id: u32, sent: &[(u32, u64)]) {
        if self.relay.len() != self.vms.len() {
            self.relay = vec![Vec::new(); self.vms.len()];
        }
        self.goodbyes.0 += 1;
        if let Some(i) = self.index_of(id) {
            self.said_bye[i] = true;
        }
        self.last_bye = Some(Instant::now());
        self.relay_span.0.get_or_insert(Instant::now());
        for &(peer, n) in sent {
            if let Some(i) = self
                .index_of(peer)
                .filter(|&i| peer != id && !self.vms[i].gone)
            {
                self.relay[i].push((id, n));
            }
        }
        self.quiet.push(id);
        let every = relay_every(self.vms.len());
        self.relay_at.get_or_insert(Instant::now() + every);
    }

    /// When [`Launch::give_up_on_silent`] has something to do.
    fn silent_due(&self) -> Option<Instant> {
        // Not before twice the grace after the stop began: on a loaded
        // machine the first goodbyes may come seconds before the rest (at
        // 1024 VMs a gap of 5 s made the launcher take 990 live VMs for
        // silent ones).
        let due = (self.last_bye? + self.grace).max(self.stop_began? + 2 * self.grace);
        let waiting = self
            .vms
            .iter()
            .zip(&self.said_bye)
            .any(|(v, &said)| !said && !v.gone);
        waiting.then_some(due)
    }

    /// Stopping, a VM that said no goodbye within the grace of the last
    /// one heard (paused, or starved of CPU for that long) is given up on by
    /// every other VM: they cannot tell a slow launcher from a silent peer,
    /// this process can.
    fn give_up_on_silent(&mut self) {
        if self.silent_due().is_none_or(|at| at > Instant::now()) {
            return;
        }
        let silent: Vec<u32> = self
            .vms
            .iter()
            .zip(&self.said_bye)
            .filter(|(v, said)| !**said && !v.gone)
            .map(|(v, _)| v.id)
            .collect();
        for id in silent {
            if let Some(i) = self.index_of(id) {
                self.said_bye[i] = true;
            }
            let line = ToVm::Silent(id);
            for vm in self.vms.iter_mut().filter(|v| !v.gone && v.id != id) {
                vm.tell(&line);
            }
        }
    }

    /// Passes on the goodbyes gathered, if their time came.
    fn relay_due(&mut self) {
        if self.relay_at.is_none_or(|at| at > Instant::now()) {
            return;
        }
        self.relay_at = None;
        let t0 = Instant::now();
        // One write per VM: its counts first, then the exits and the quiet
        // ones (which do not override the counts).
        let mut common = String::new();
        if !self.finished.is_empty() {
            common = ToVm::Finished(std::mem::take(&mut self.finished)).line();
        }
        if !self.quiet.is_empty() {
            common.push_str(&ToVm::Quiet(std::mem::take(&mut self.quiet)).line());
        }
        let mut told = 0;
        for (i, vm) in self.vms.iter_mut().enumerate() {
            if vm.gone {
                continue;
            }
            let mut text = String::new();
            if let Some(ends) = self.relay.get_mut(i).filter(|e| !e.is_empty()) {
                self.goodbyes.1 += ends.len();
                text = ToVm::Ended(std::mem::take(ends)).line();
            }
            text.push_str(&common);
            if !text.is_empty() {
                vm.tell_text(&text);
                told += 1;
            }
        }
        if told > 0 {
            let took = t0.elapsed();
            self.rounds.0 += 1;
            self.rounds.1 = self.rounds.1.max(took);
        }
        self.relay_span.1 = Some(Instant::now());
    }

    /// VM `id`'s place: by its id (ids are 1..=N in order) or else by search
    /// (a goodbye names a thousand peers: no search per name).
    fn index_of(&self, id: u32) -> Option<usize> {
        let i = (id as usize).wrapping_sub(1);
        if self.vms.get(i).is_some_and(|v| v.id == id) {
            return Some(i);
        }
        self.vms.iter().position(|v| v.id == id)
    }

    fn vm_mut(&mut self, id: u32) -> Option<&mut Vm> {
        let i = self.index_of(id)?;
        self.vms.get_mut(i)
    }

    fn note(&mut self, id: u32, msg: FromVm) {
        let Some(vm) = self.vm_mut(id) else {
            return;
        };
        match msg {
            FromVm::Listening(addr) => vm.addr = Some(addr),
            FromVm::Ready => vm.ready = true,
            FromVm::Status(s) => *vm.heard.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(s),
            FromVm::Lost { peer, unacked } => match vm.lost.iter_mut().find(|l| l.0 == peer) {
                Some(l) => l.1 = l.1.max(unacked),
                None => vm.lost.push((peer, unacked)),
            },
            // Set-up progress only (its reader keeps it).
            FromVm::Linked(k) => {
                vm.heard.linked.fetch_max(k, Ordering::Relaxed);
            }
            FromVm::Ended(sent) => self.ended(id, &sent),
            FromVm::Done => {
                if !std::mem::replace(&mut vm.done, true) {
                    self.finished.push(id);
                    self.relay_at
                        .get_or_insert(Instant::now() + relay_every(self.vms.len()));
                }
            }
        }
    }

    /// Tells every VM still running that VM `id` is gone.
    fn tell_gone(&mut self, id: u32) {
        let gone = ToVm::Gone(id);
        for vm in self.vms.iter_mut().filter(|v| !v.gone && v.id != id) {
            vm.tell(&gone);
        }
    }

    /// When [`Launch::settle_exits`] should look again, if it must.
    fn next_settle(&self) -> Option<Instant> {
        (!self.exited.is_empty()).then(|| Instant::now() + Duration::from_millis(5))
    }

    /// Tells the peers of each VM that exited, unless it exited cleanly
    /// (status 0); a VM whose status does not come within [`GONE_WAIT`] is
    /// taken as gone.
    fn settle_exits(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.exited.len() {
            let (id, at) = self.exited[i];
            if self.vm_mut(id).is_some_and(|vm| vm.done) {
                // Its peers heard it finished when it said `done`.
                self.exited.swap_remove(i);
                continue;
            }
            let status = self.vm_mut(id).and_then(|vm| {
                let status = vm.child.try_wait().ok().flatten();
                vm.status = vm.status.or(status);
                vm.status
            });
            match status {
                Some(s) if s.success() => {
                    self.finished.push(id);
                    self.relay_at
                        .get_or_insert(now + relay_every(self.vms.len()));
                }
                Some(_) => self.tell_gone(id),
                None if now < at + GONE_WAIT => {
                    i += 1;
                    continue;
                }
                None => self.tell_gone(id),
            }
            self.exited.swap_remove(i);
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
        if let Some(vm) = self.vm_mut(id) {
            vm.gone = true;
            vm.stdin = None;
        }
    }

    /// Waits for the VMs to finish, forwarding Ctrl+C; on a terminal, draws
    /// the live view a few times a second.
    fn watch_run(&mut self, start: Instant, runtime: Duration) {
        self.stop_began = Some(start + runtime);
        let live = live_view();
        let hard_end = start + runtime + self.stop_limit;
        let mut drawn = 0;
        let mut next_draw = Instant::now();
        while self.vms.iter().any(|v| !v.gone) && Instant::now() < hard_end {
            // Without a terminal there is nothing to redraw: sleep until news.
            let mut wake = if live { next_draw } else { hard_end };
            if let Some(settle) = self.next_settle() {
                wake = wake.min(settle);
            }
            if let Some(at) = self.relay_at {
                wake = wake.min(at);
            }
            if let Some(at) = self.silent_due() {
                wake = wake.min(at);
            }
            match recv_until(&self.rx, wake) {
                Ok(Ev::Gone(id)) => {
                    self.mark_gone(id);
                    self.exited.push((id, Instant::now()));
                }
                Ok(Ev::Interrupt) => {
                    self.interrupted = true;
                    self.stop_all();
                }
                Ok(Ev::Said(id, msg)) => self.note(id, msg),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.settle_exits();
            self.relay_due();
            self.give_up_on_silent();
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
                status: v.heard.live(),
                running: !v.gone,
            })
            .collect();
        let elapsed = start.elapsed().as_secs_f64();
        let fit = terminal_size().map_or(live::Fit::DEFAULT, |(h, w)| live::Fit::terminal(h, w));
        let lines = live::lines(self.label, elapsed, runtime.as_secs_f64(), &rows, fit);
        eprint!("{}", live::redraw(drawn, &lines));
        lines.len()
    }

    /// Asks every VM still running to stop cleanly (once).
    fn stop_all(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        let now = Instant::now();
        self.stop_began = Some(self.stop_began.map_or(now, |at| at.min(now)));
        for vm in self.vms.iter_mut() {
            vm.tell(&ToVm::Stop);
        }
    }

    /// Waits for every child; kills the ones still there after `limit`.
    fn reap(&mut self, limit: Duration) {
        let end = Instant::now() + limit.min(self.stop_limit);
        // VMs stopping before the run began still pass goodbyes through here.
        while self.vms.iter().any(|v| !v.gone) && Instant::now() < end {
            let wake = self
                .relay_at
                .into_iter()
                .chain(self.silent_due())
                .fold(end, Instant::min);
            match recv_until(&self.rx, wake) {
                Ok(Ev::Gone(id)) => self.mark_gone(id),
                Ok(Ev::Said(id, msg)) => self.note(id, msg),
                Ok(Ev::Interrupt) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.relay_due();
            self.give_up_on_silent();
        }
        let mut late: Vec<u32> = Vec::new();
        for vm in self.vms.iter_mut() {
            loop {
                match vm.child.try_wait() {
                    Ok(Some(status)) => {
                        vm.status = Some(status);
                        break;
                    }
                    Ok(None) if Instant::now() < end => thread::sleep(Duration::from_millis(5)),
                    _ => {
                        let _ = vm.child.kill();
                        late.push(vm.id);
                        break;
                    }
                }
            }
        }
        if !late.is_empty() {
            eprintln!("lamport-sim: {}", not_stopped(&late, self.vms.len()));
        }
        for vm in self.vms.iter_mut().filter(|v| late.contains(&v.id)) {
            vm.status = vm.child.wait().ok();
        }
    }
}

/// Turns the children's statuses into how the run ended.
fn finish(cfg: &RunConfig, vms: &[Vm], outcome: Outcome) -> Ended {
    let interrupted_setup = matches!(outcome, Outcome::Interrupted);
    let failed: Vec<(u32, String)> = vms
        .iter()
        .filter(|v| !v.status.is_some_and(|s| s.success()))
        // Ctrl+C during set-up may reach a child before its handler exists.
        .filter(|v| !(interrupted_setup && killed_by_sigint(v.status)))
        .filter(|v| !gave_up(&v.lost, v.status))
        .map(|v| (v.id, describe(v.status)))
        .collect();
    let how = match &outcome {
        // A VM's own usage error (exit 2, e.g. a port taken) is the user's.
        // Those come before it listens: once connecting, a VM that gives up
        // (its own --connect-timeout) is a load failure.
        Outcome::SetupFailed(_, phase) => How::SetupFailed {
            usage: *phase == Phase::Bind
                && vms
                    .iter()
                    .any(|v| v.status.and_then(|s| s.code()) == Some(2)),
        },
        Outcome::Interrupted | Outcome::InterruptedRun => How::Interrupted,
        Outcome::Ran => How::Ran,
    };
    let lost = vms
        .iter()
        .filter(|v| gave_up(&v.lost, v.status))
        .map(|v| (v.id, v.lost.clone()))
        .collect();
    Ended {
        logs: cfg.model.logs.clone(),
        vms: cfg.vms,
        how,
        failed,
        lost,
    }
}

/// True if the VM exited as one that gave up on a peer: it said `lost` and
/// exited with status 1 (its log is complete; messages may be missing).
fn gave_up(lost: &[(u32, u64)], status: Option<ExitStatus>) -> bool {
    !lost.is_empty() && status.and_then(|s| s.code()) == Some(1)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What the launcher hands a VM is what `vm` would have made of the
    /// flags the launcher used to render: the same checked configuration.
    #[test]
    fn a_vm_gets_the_configuration_its_old_flags_gave() {
        use clap::Parser;
        let parse = |args: &[&str]| crate::cli::Cli::try_parse_from(args).unwrap();
        let run_flags = [
            "lamport-sim",
            "--vms",
            "3",
            "--runtime",
            "2.5",
            "--rates",
            "1,6,6",
            "--delay",
            "5..50.25",
            "--event-range",
            "7",
            "--max-queue",
            "9",
            "--peer-timeout",
            "3.5",
            "--stop-grace",
            "0.75",
            "--connect-timeout",
            "12",
            "--logs",
            "some/logs",
        ];
        let run = crate::config::run(&parse(&run_flags).run).unwrap();
        for (id, rate) in [(1, "1"), (3, "6")] {
            let got = vm_config(&run, id, 10_003, 42, "0a1b2c");
            let cli = parse(&[
                "lamport-sim",
                "vm",
                "--control",
                "--id",
                &id.to_string(),
                "--listen",
                "127.0.0.1:10003",
                "--run",
                "0a1b2c",
                "--seed",
                "42",
                "--connect-timeout",
                "12",
                "--runtime",
                "2.5",
                "--rate",
                rate,
                "--event-range",
                "7",
                "--max-queue",
                "9",
                "--delay",
                "5..50.25",
                "--peer-timeout",
                "3.5",
                "--stop-grace",
                "0.75",
                "--logs",
                "some/logs",
            ]);
            let Some(crate::cli::Command::Vm(a)) = cli.command else {
                panic!("not vm")
            };
            let mut want = crate::config::vm(&a).unwrap();
            want.live = got.live;
            assert_eq!(got, want);
        }
        let drawn = crate::config::run(&parse(&["lamport-sim", "--min-rate", "2"]).run).unwrap();
        assert_eq!(
            vm_config(&drawn, 2, 0, 1, "r").rate,
            RateSpec::Draw { min: 2, max: 6 }
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_vm_gave_up_if_it_said_lost_and_exited_1() {
        use std::os::unix::process::ExitStatusExt;
        let exit = |code: i32| Some(ExitStatus::from_raw(code << 8));
        let killed = Some(ExitStatus::from_raw(9));
        let lost: &[(u32, u64)] = &[(3, 14)];
        assert!(gave_up(lost, exit(1)));
        assert!(!gave_up(lost, exit(0)), "a clean exit is no loss");
        assert!(!gave_up(lost, exit(2)));
        assert!(!gave_up(lost, killed), "a crash is a crash");
        assert!(!gave_up(lost, None));
        assert!(!gave_up(&[], exit(1)), "a failure that said no loss");
    }

    #[test]
    fn each_run_has_a_fresh_secret_of_32_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
        assert_eq!(
            ToVm::parse(&ToVm::Secret(a.clone()).line()),
            Some(ToVm::Secret(a))
        );
    }

    #[test]
    fn the_setup_deadline_moves_with_progress_only() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut c = SetupClock::new(3, Duration::from_secs(60), t0);
        assert_eq!(c.deadline(), at(60));
        assert!(c.said(1, &FromVm::Listening(addr), at(10)));
        assert!(!c.said(1, &FromVm::Listening(addr), at(20)), "said twice");
        assert_eq!(c.deadline(), at(70));
        assert!(c.said(2, &FromVm::Linked(5), at(30)));
        assert!(!c.said(2, &FromVm::Linked(5), at(40)), "no more links");
        assert!(!c.said(2, &FromVm::Linked(3), at(41)), "fewer links");
        assert!(c.said(2, &FromVm::Linked(6), at(50)));
        assert!(c.said(2, &FromVm::Ready, at(55)));
        assert!(!c.said(2, &FromVm::Ready, at(56)));
        let status = FromVm::Status(Status::default());
        assert!(!c.said(3, &status, at(57)), "figures are not progress");
        assert!(!c.said(9, &FromVm::Ready, at(58)), "no such VM");
        assert!(!c.said(0, &FromVm::Ready, at(58)), "no such VM");
        assert_eq!(c.deadline(), at(115));
        c.progressed(at(100));
        assert_eq!(c.deadline(), at(160));
        c.progressed(at(90));
        assert_eq!(c.deadline(), at(160), "never back");
    }

    #[test]
    fn more_links_are_progress_and_the_same_or_fewer_are_not() {
        let p = LinkProgress::new();
        let heard = Heard::default();
        assert_eq!(p.last(), p.base);
        thread::sleep(Duration::from_millis(5));
        p.linked(&heard, 3);
        let first = p.last();
        assert!(first > p.base);
        thread::sleep(Duration::from_millis(5));
        p.linked(&heard, 3);
        p.linked(&heard, 2);
        assert_eq!(p.last(), first);
        p.linked(&heard, 4);
        assert!(p.last() > first);
        assert_eq!(heard.linked.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn a_setup_that_stalls_is_one_line() {
        let sixty = Duration::from_secs(60);
        let late: Vec<u32> = (1..=1024).filter(|id| id % 3 != 0).collect();
        assert_eq!(
            setup_timed_out(Phase::Connect, &late[..312], 1024, sixty),
            "312 of 1024 VMs not connected to all peers after 60 s; \
             try fewer VMs or --connect-timeout"
        );
        assert_eq!(
            setup_timed_out(
                Phase::Connect,
                &[1, 3, 4, 5],
                6,
                Duration::from_millis(2500)
            ),
            "4 of 6 VMs (VM 1, 3-5) not connected to all peers after 2.5 s; \
             try fewer VMs or --connect-timeout"
        );
        assert_eq!(
            setup_timed_out(Phase::Bind, &[7], 8, sixty),
            "VM 7 of 8 not listening after 60 s; try fewer VMs or --connect-timeout"
        );
        let all: Vec<u32> = (1..=3).collect();
        assert_eq!(
            setup_timed_out(Phase::Connect, &all, 3, sixty),
            "3 of 3 VMs not connected to all peers after 60 s; try fewer VMs or --connect-timeout"
        );
        assert_eq!(
            not_stopped(&[8, 9, 11], 1024),
            "3 of 1024 VMs (VM 8, 9, 11) did not stop in time; killing them"
        );
        assert_eq!(
            not_stopped(&[2], 3),
            "VM 2 of 3 did not stop in time; killing it"
        );
    }
}
