//! One virtual machine: wires the network thread, the network queue, the
//! control mailbox, the log and the tick loop together, and runs the model
//! of docs/log-format.md from set-up to the clean stop.
//!
//! Threads: the net thread (`net`) owns the listener and every inbound
//! connection, pushes messages onto the network queue (`queue`) and
//! connection news into the control mailbox; a Ctrl+C handler and, under the
//! launcher, a stdin reader post stop requests there too. The main thread is
//! the only one that touches the clock, the log and the outbound sockets: it
//! sleeps on the mailbox until each tick's absolute deadline, so it wakes at
//! once for a stop and never busy-waits.

/// `eprintln!` in one write. std's `eprintln!` may write a line in several
/// pieces, so the lines of VMs sharing the launcher's stderr interleaved
/// mid-line; one `write_all` of a short line is one `write`, which a pipe
/// keeps whole (up to `PIPE_BUF`, 4 KiB on Linux).
macro_rules! say_err {
    ($($arg:tt)*) => {{
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    }};
}

pub mod auth;
pub mod clock;
pub mod link;
pub mod log;
pub mod mailbox;
pub mod net;
pub mod queue;
pub mod status;
pub mod step;
pub mod warn;

use std::io::{BufRead, Write};
use std::net::{TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::config::{ConfigError, RateSpec, VmConfig};
use crate::control::{FromVm, Status, ToVm};
use crate::logline::{self, Event, StartInfo, StopReason};
use auth::Secret;
use clock::Clock;
use log::LogWriter;
use mailbox::Mailbox;
use net::{Inbound, NetEvent, NetHandle, Warner};
use queue::NetQueue;
use step::Incoming;

/// How often a VM under the launcher says how many links are up during set-up.
const LINKED_EVERY: Duration = Duration::from_millis(250);
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// How often a VM under a live view reports its figures.
pub const STATUS_EVERY: Duration = Duration::from_millis(250);

/// The VM's control mailbox, shared by everyone who sends it news.
pub type Ctls = Arc<Mailbox<Ctl>>;

/// News for the VM's main thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ctl {
    Net(NetEvent),
    Launcher(ToVm),
    /// Ctrl+C, SIGTERM, or the launcher's stdin closed.
    Stop(StopReason),
    /// The launcher is gone (its end of stdin closed): nobody relays goodbyes.
    Orphaned,
}

/// The RNG of VM `id` in a run with `seed`: each VM its own stream.
pub fn vm_rng(seed: u64, id: u32) -> StdRng {
    StdRng::seed_from_u64(seed ^ u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The number of ticks in `runtime` at `rate`: tick k is at (k-1)/rate.
pub fn tick_count(rate: u32, runtime: Duration) -> u64 {
    let us = runtime.as_micros();
    (u128::from(rate) * us).div_ceil(1_000_000) as u64
}

/// The offset of tick `k` (from 1) after the start instant.
pub fn tick_offset(rate: u32, k: u64) -> Duration {
    let nanos = u128::from(k - 1) * 1_000_000_000 / u128::from(rate);
    Duration::from_nanos(nanos as u64)
}

/// Runs one VM to the end. Bad arguments come back as [`ConfigError`].
pub fn run(cfg: VmConfig) -> Result<()> {
    tighten_timer_slack();
    let seed = cfg.model.seed.unwrap_or_else(|| rand::rng().random());
    let mut rng = vm_rng(seed, cfg.id);
    let rate = match cfg.rate {
        RateSpec::Fixed(r) => r,
        RateSpec::Draw { min, max } => rng.random_range(min..=max),
    };
    // By hand the secret comes from a file or the environment (under the
    // launcher, over stdin): read it before anything else can fail late.
    let secret = if cfg.control {
        Secret::default()
    } else {
        secret_by_hand(&cfg)?
    };
    // The handler first, so a signal never finds a half-made VM; then bind
    // before touching the log, so a port in use cannot wipe an old log.
    let ctl: Ctls = Mailbox::new();
    let stop_tx = Arc::clone(&ctl);
    ctrlc::set_handler(move || stop_tx.send(Ctl::Stop(StopReason::Signal)))
        .context("cannot install the Ctrl+C handler")?;
    let listener = net::bind(cfg.listen).map_err(|e| ConfigError {
        flag: "--listen",
        value: cfg.listen.to_string(),
        why: e.to_string(),
        hint: None,
    })?;
    resolve_peers(&cfg.peers)?;
    // Its id's lock; by hand also the folder's (under the launcher, it holds it).
    let _lock = if cfg.control {
        crate::lock::launched_vm(&cfg.model.logs, cfg.id, &cfg.run)?
    } else {
        crate::lock::hand_vm(&cfg.model.logs, cfg.id, &cfg.run)?
    };
    let log = LogWriter::create(&cfg.model.logs, cfg.id)?;
    let warner = Arc::new(Warner::new(cfg.id));
    if !cfg.control {
        say_err!(
            "vm {}: run {}, log {}",
            cfg.id,
            cfg.run,
            log.path().display()
        );
        if cfg.model.seed.is_none() {
            say_err!("{}", seed_hint(cfg.id, seed));
        }
    }
    let (peers, secret) = match peers(&cfg, &listener, &ctl, secret)? {
        Ok(got) => got,
        Err(reason) => return stopped_before_peers(&cfg, rate, seed, log, reason),
    };
    if secret.is_empty() && !cfg.listen.ip().is_loopback() {
        warner.warn(
            "no secret",
            &format!(
                "listening on {} without a secret: anyone who knows the run id can join (set LAMPORT_SECRET or --secret-file)",
                cfg.listen
            ),
        );
    }
    let max_id = peers
        .iter()
        .map(|p| p.0)
        .chain([cfg.id])
        .max()
        .unwrap_or(cfg.id);
    log::remove_stale(&cfg.model.logs, max_id)?;
    let (queue_tx, queue) = queue::channel();
    let stopping = Arc::new(AtomicBool::new(false));
    let ctx = Inbound {
        me: cfg.id,
        run: cfg.run.clone(),
        secret,
        instance: rand::rng().random(),
        peers: peers.clone(),
        queue: queue_tx,
        events: Arc::clone(&ctl),
        warner: Arc::clone(&warner),
        max_queue: cfg.model.max_queue,
        stopping: Arc::clone(&stopping),
        delay: cfg.model.delay.map(|d| (d, seed)),
        peer_timeout: cfg.model.peer_timeout,
        stop_grace: cfg.model.stop_grace,
    };
    let net = net::spawn(listener, ctx).context("cannot start the network thread")?;
    let parts = Parts {
        rate,
        seed,
        rng,
        log,
        queue,
        ctl_rx: ctl,
        net,
        warner,
        stopping,
    };
    let mut vm = Vm::new(&cfg, &peers, parts);
    let started = match vm.connect(&cfg, &peers)? {
        Ok(()) => vm.wait_for_go(cfg.control)?,
        Err(reason) => Err(reason),
    };
    if started.is_ok() && vm.by_hand {
        say_err!("{}", vm.connected_line());
    }
    match started {
        Ok(t0) => vm.run_ticks(t0),
        Err(reason) => vm.abort_setup(reason),
    }
}

/// The secret of a VM started by hand: `--secret-file`, else `LAMPORT_SECRET`, else none.
fn secret_by_hand(cfg: &VmConfig) -> Result<Secret, ConfigError> {
    if let Some(path) = &cfg.secret_file {
        let text = std::fs::read(path).map_err(|e| ConfigError {
            flag: "--secret-file",
            value: path.display().to_string(),
            why: format!("cannot be read: {}", short_reason(&e.to_string())),
            hint: None,
        })?;
        let secret = Secret::from_text(&text);
        if secret.is_empty() {
            return Err(ConfigError {
                flag: "--secret-file",
                value: path.display().to_string(),
                why: "is empty".into(),
                hint: None,
            });
        }
        return Ok(secret);
    }
    Ok(std::env::var_os("LAMPORT_SECRET")
        .map(|v| Secret::from_text(v.as_encoded_bytes()))
        .unwrap_or_default())
}

/// Stopped (Ctrl+C, the launcher gone) before the peers were known: a log
/// that starts and stops.
fn stopped_before_peers(
    cfg: &VmConfig,
    rate: u32,
    seed: u64,
    mut log: LogWriter,
    reason: StopReason,
) -> Result<()> {
    log.write(&Event::Start(start_info(cfg, &[], rate, seed)))?;
    log.write(&Event::Stop {
        ticks: 0,
        clock: 0,
        reason,
    })?;
    log.flush()
}

fn start_info(cfg: &VmConfig, peers: &[u32], rate: u32, seed: u64) -> StartInfo {
    StartInfo {
        rate,
        event_range: cfg.model.event_range,
        seed,
        peers: peers.to_vec(),
        run: cfg.run.clone(),
        runtime_us: Some(cfg.model.runtime.as_micros() as u64),
        start_at_us: None,
        delay_us: cfg.model.delay.map(|d| (d.min_us, d.max_us)),
    }
}

/// A by-hand VM that drew its own seed: how to give a run one seed.
fn seed_hint(id: u32, seed: u64) -> String {
    format!("vm {id}: hint: give every VM the same seed, e.g. --seed {seed}")
}

/// An error as the terminal shows it: without the OS's ` (os error N)`.
fn short_reason(why: &str) -> &str {
    match why.rfind(" (os error ") {
        Some(at) if why.ends_with(')') => &why[..at],
        _ => why,
    }
}

/// `VM 2, 3 (Connection refused); VM 4 to connect back`: the peers set-up
/// waits for, grouped by reason (`None`: it has yet to connect back).
fn waiting_text(waiting: &[(u32, Option<String>)]) -> String {
    let mut reasons: Vec<&Option<String>> = Vec::new();
    for (_, why) in waiting {
        if !reasons.contains(&why) {
            reasons.push(why);
        }
    }
    let clauses: Vec<String> = reasons
        .into_iter()
        .map(|why| {
            let ids: Vec<u32> = waiting
                .iter()
                .filter(|w| &w.1 == why)
                .map(|w| w.0)
                .collect();
            let ids = crate::text::id_list(&ids);
            match why {
                Some(why) => format!("VM {ids} ({why})"),
                None => format!("VM {ids} to connect back"),
            }
        })
        .collect();
    clauses.join("; ")
}

/// Linux lets a sleeping thread wake up to its timer slack (50 us by
/// default) after its deadline, to batch wake-ups. A tick's deadline is the
/// point of the model, so the tick thread (and the threads it starts) take
/// the smallest slack. Where it cannot be set, the default stands.
fn tighten_timer_slack() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
}

/// Fails with a `--peer` error for a peer whose host name does not resolve
/// (a typo is better reported now than after the connect timeout).
fn resolve_peers(peers: &[(u32, String)]) -> Result<(), ConfigError> {
    for (id, addr) in peers {
        let resolved = addr.to_socket_addrs().map(|mut a| a.next().is_some());
        if !matches!(resolved, Ok(true)) {
            let why = resolved.err().map_or("resolves to no address".into(), |e| {
                format!("cannot resolve: {e}")
            });
            return Err(ConfigError {
                flag: "--peer",
                value: format!("{id}={addr}"),
                why,
                hint: None,
            });
        }
    }
    Ok(())
}

/// A start instant (monotonic and wall, in us), or why the VM stopped before ticking.
type Started = std::result::Result<(Instant, i64), StopReason>;

/// Sorted (id, address) of every peer, and the run's secret.
type PeersAndSecret = (Vec<(u32, String)>, Secret);

/// The peers and the secret: from the command line, or from the launcher
/// over stdin (after telling it the address this VM listens on). The inner
/// error is a stop request.
fn peers(
    cfg: &VmConfig,
    listener: &TcpListener,
    ctl: &Ctls,
    secret: Secret,
) -> Result<std::result::Result<PeersAndSecret, StopReason>> {
    if !cfg.control {
        return Ok(Ok((cfg.peers.clone(), secret)));
    }
    spawn_stdin_reader(Arc::clone(ctl));
    say(FromVm::Listening(listener.local_addr()?))?;
    let mut peers = Vec::new();
    let mut secret = secret;
    loop {
        match ctl.recv() {
            Ctl::Launcher(ToVm::Secret(hex)) => {
                secret = Secret::from_hex(&hex).context("the launcher sent a secret not in hex")?;
            }
            Ctl::Launcher(ToVm::Peer(id, a)) => peers.push((id, a.to_string())),
            Ctl::Launcher(ToVm::Connect) => break,
            Ctl::Stop(r) => return Ok(Err(r)),
            Ctl::Launcher(ToVm::Stop) => return Ok(Err(StopReason::Signal)),
            _ => {}
        }
    }
    peers.sort_by_key(|p| p.0);
    Ok(Ok((peers, secret)))
}

/// Writes one control line to the launcher.
fn say(msg: FromVm) -> Result<()> {
    say_line(&msg.line()).context("cannot talk to the launcher")
}

fn say_line(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes()).and_then(|()| out.flush())
}

/// Forwards the launcher's lines; its end of stdin means it is gone.
fn spawn_stdin_reader(tx: Ctls) {
    let spawned = thread::Builder::new().name("stdin".into()).spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Some(msg) = ToVm::parse(&line) {
                tx.send(Ctl::Launcher(msg));
            }
        }
        tx.send(Ctl::Orphaned);
        tx.send(Ctl::Stop(StopReason::Signal));
    });
    if spawned.is_err() {
        say_err!("warning: cannot watch stdin; the VM will not notice the launcher's death");
    }
}

/// What [`Vm::new`] is made of, besides the configuration.
struct Parts {
    rate: u32,
    seed: u64,
    rng: StdRng,
    log: LogWriter,
    queue: NetQueue,
    ctl_rx: Ctls,
    net: NetHandle,
    warner: Arc<Warner>,
    stopping: Arc<AtomicBool>,
}

/// A running VM: everything the tick loop owns.
struct Vm {
    id: u32,
    start: StartInfo,
    peers: Vec<u32>,
    rate: u32,
    runtime: Duration,
    clock: Clock,
    rng: StdRng,
    ticks: u64,
    log: LogWriter,
    queue: NetQueue,
    ctl_rx: Ctls,
    /// The links, through the net thread.
    net: NetHandle,
    /// Per peer (by position in `peers`): the link has been up.
    linked: Vec<bool>,
    /// Per peer: its link's last break is in the log, its `link_up` not yet.
    down_logged: Vec<bool>,
    /// Per peer: given up on (`peer_lost` logged).
    lost: Vec<bool>,
    /// Shared with the net thread: set when the stop protocol begins.
    stopping: Arc<AtomicBool>,
    /// Stopping: the net thread says every link is done or given up.
    all_done: bool,
    /// The `start` line is in the log (lines about links wait for it).
    start_logged: bool,
    warner: Arc<Warner>,
    /// Under a live view: when the next [`Status`] line is due, and where it goes.
    next_status: Option<Instant>,
    status: Option<Arc<status::StatusSlot>>,
    /// Started with `--live`.
    live: bool,
    /// Events so far, by kind: sends, receives, internals.
    counts: [u64; 3],
    /// Started by hand (not under the launcher): it talks on stderr.
    by_hand: bool,
    /// Under the launcher.
    control: bool,
}

impl Vm {
    fn new(cfg: &VmConfig, peers: &[(u32, String)], parts: Parts) -> Vm {
        let ids: Vec<u32> = peers.iter().map(|p| p.0).collect();
        let n = ids.len();
        Vm {
            id: cfg.id,
            start: start_info(cfg, &ids, parts.rate, parts.seed),
            peers: ids,
            rate: parts.rate,
            runtime: cfg.model.runtime,
            clock: Clock::default(),
            rng: parts.rng,
            ticks: 0,
            log: parts.log,
            queue: parts.queue,
            ctl_rx: parts.ctl_rx,
            net: parts.net,
            linked: vec![false; n],
            down_logged: vec![false; n],
            lost: vec![false; n],
            stopping: parts.stopping,
            all_done: false,
            start_logged: false,
            warner: parts.warner,
            next_status: None,
            status: None,
            live: cfg.live,
            counts: [0; 3],
            by_hand: !cfg.control,
            control: cfg.control,
        }
    }

    /// Waits until every link is up. The deadline counts from the last link
    /// that came up: set-up fails only when it stops getting anywhere.
    /// The outer error is a failure; the inner one a stop request.
    fn connect(
        &mut self,
        cfg: &VmConfig,
        peers: &[(u32, String)],
    ) -> Result<std::result::Result<(), StopReason>> {
        let mut deadline = Instant::now() + cfg.connect_timeout;
        let mut next_progress = Instant::now() + PROGRESS_EVERY;
        let mut next_linked = Instant::now();
        let mut said_linked = 0;
        loop {
            let up = self.linked.iter().filter(|&&l| l).count();
            if up == peers.len() {
                return Ok(Ok(()));
            }
            let now = Instant::now();
            if self.control && up > said_linked && now >= next_linked {
                say(FromVm::Linked(up as u32))?;
                said_linked = up;
                next_linked = now + LINKED_EVERY;
            }
            if now >= deadline {
                let waiting = self.waiting_for(peers);
                self.log_failure()?;
                return Err(self.gave_up(cfg, peers, &waiting).into());
            }
            if now >= next_progress && self.by_hand {
                let waiting = self.waiting_for(peers);
                say_err!("vm {}: waiting for {}", self.id, waiting_text(&waiting));
                next_progress = now + PROGRESS_EVERY;
            }
            // Asleep until news (a link up, a stop) or the next thing due.
            let mut wake = deadline;
            if self.by_hand {
                wake = wake.min(next_progress);
            }
            if self.control && up > said_linked {
                wake = wake.min(next_linked);
            }
            if let Some(reason) = self.wait_one(wake)? {
                return Ok(Err(reason));
            }
            if self.linked.iter().filter(|&&l| l).count() > up {
                deadline = Instant::now() + cfg.connect_timeout;
            }
        }
    }

    /// The error for a set-up that timed out: names the first missing peer's flag.
    fn gave_up(
        &self,
        cfg: &VmConfig,
        peers: &[(u32, String)],
        waiting: &[(u32, Option<String>)],
    ) -> ConfigError {
        let missing = peers.iter().enumerate().find(|(pos, _)| !self.linked[*pos]);
        let value = missing.map_or(String::new(), |(_, (id, addr))| format!("{id}={addr}"));
        // The flag names the peer: if it is the only one missing, its reason is enough.
        let what = match waiting {
            [(id, why)] if missing.is_some_and(|m| m.1.0 == *id) => {
                why.clone().unwrap_or_else(|| "it never connected".into())
            }
            _ => format!("waiting for {}", waiting_text(waiting)),
        };
        ConfigError {
            flag: "--peer",
            value,
            why: format!(
                "gave up after {} s (--connect-timeout): {what}",
                cfg.connect_timeout.as_secs_f64(),
            ),
            hint: None,
        }
    }

    /// Under the launcher: says `ready` and waits for `go`. By hand: now.
    fn wait_for_go(&mut self, control: bool) -> Result<Started> {
        if !control {
            return Ok(Ok((Instant::now(), logline::now_us())));
        }
        say(FromVm::Ready)?;
        loop {
            let ctl = self.ctl_rx.recv();
            if let Ctl::Launcher(ToVm::Go(at_us)) = ctl {
                let ahead = u64::try_from(at_us - logline::now_us()).unwrap_or(0);
                return Ok(Ok((Instant::now() + Duration::from_micros(ahead), at_us)));
            }
            if let Some(reason) = self.handle(ctl)? {
                return Ok(Err(reason));
            }
        }
    }

    fn pos(&self, peer: u32) -> Option<usize> {
        self.peers.binary_search(&peer).ok()
    }

    /// Who set-up still waits for: each peer this VM dials with why the
    /// last dial failed, or `None` for a peer that has yet to dial this VM.
    fn waiting_for(&self, peers: &[(u32, String)]) -> Vec<(u32, Option<String>)> {
        let errors = self.net.dial_errors();
        let mut out = Vec::new();
        for (pos, (id, _)) in peers.iter().enumerate() {
            if self.linked[pos] {
                continue;
            }
            if *id > self.id {
                let why = errors[pos].as_deref().unwrap_or("not tried yet");
                out.push((*id, Some(short_reason(why).to_string())));
            } else {
                out.push((*id, None));
            }
        }
        out
    }

    /// `vm 1: connected to 2, 3; ticking at 5/s, seed 42`.
    fn connected_line(&self) -> String {
        format!(
            "vm {}: connected to {}; ticking at {}/s, seed {}",
            self.id,
            crate::text::id_list(&self.peers),
            self.rate,
            self.start.seed
        )
    }

    /// Two lines: `vm 1: stopped (runtime) after 300 ticks, clock 412` and
    /// `vm 1: 61 sends, 58 receives, 2 pending; log logs/machine_1.log`.
    fn summary(&self, reason: StopReason, pending: usize) -> String {
        let [sends, receives, _] = self.counts;
        let id = self.id;
        format!(
            "vm {id}: stopped ({}) after {} ticks, clock {}\nvm {id}: {sends} sends, {receives} receives, {pending} pending; log {}",
            reason.as_str(),
            self.ticks,
            self.clock.value(),
            self.log.path().display()
        )
    }

    /// Handles control news until `deadline`; returns a stop request if one came.
    fn wait_until(&mut self, deadline: Instant) -> Result<Option<StopReason>> {
        // Even when the deadline has passed (a late tick) one piece of news is
        // handled, so an overloaded VM still hears a stop request.
        loop {
            self.report_status();
            let wake = self.next_status.map_or(deadline, |s| s.min(deadline));
            if let Some(reason) = self.wait_one(wake)? {
                return Ok(Some(reason));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// Handles the next piece of control news, or returns at `deadline`.
    fn wait_one(&mut self, deadline: Instant) -> Result<Option<StopReason>> {
        match self.ctl_rx.recv_deadline(deadline) {
            Some(ctl) => self.handle(ctl),
            None => Ok(None),
        }
    }

    /// Under a live view, tells the launcher where this VM is, when due.
    fn report_status(&mut self) {
        let Some(due) = self.next_status else { return };
        let now = Instant::now();
        if now < due {
            return;
        }
        self.next_status = Some(now + STATUS_EVERY);
        let [sends, receives, internals] = self.counts;
        let status = Status {
            rate: self.rate,
            tick: self.ticks,
            clock: self.clock.value(),
            queue: self.queue.len_at(now) as u64,
            sends,
            receives,
            internals,
        };
        if let Some(slot) = &self.status {
            slot.post(status);
        }
    }

    fn handle(&mut self, ctl: Ctl) -> Result<Option<StopReason>> {
        match ctl {
            Ctl::Stop(reason) => return Ok(Some(reason)),
            Ctl::Orphaned => {
                // Goodbyes said to the launcher are lost with it: say them
                // on the links (again, if the stop had begun).
                self.control = false;
                if self.stopping.load(Ordering::SeqCst) {
                    self.net.stop(false);
                }
            }
            Ctl::Launcher(ToVm::Stop) => return Ok(Some(StopReason::Signal)),
            Ctl::Launcher(ToVm::Gone(peer)) => self.net.gone(peer),
            Ctl::Launcher(ToVm::Silent(peer)) => self.net.silent(peer),
            Ctl::Launcher(ToVm::Finished(peers)) => self.net.finished(peers),
            Ctl::Launcher(ToVm::Ended(ends)) => self.net.ended(ends),
            Ctl::Launcher(ToVm::Quiet(peers)) => self.net.quiet(peers),
            Ctl::Launcher(_) => {}
            Ctl::Net(NetEvent::LinkUp {
                peer,
                first,
                resent,
            }) => {
                if let Some(pos) = self.pos(peer) {
                    self.linked[pos] = true;
                }
                // Only the breaks the log showed: one during set-up that
                // heals after `start` is no `link_up` out of nowhere.
                let pos = self.pos(peer);
                if !first && pos.is_some_and(|p| std::mem::take(&mut self.down_logged[p])) {
                    self.log.write(&Event::LinkUp { peer, resent })?;
                }
            }
            Ctl::Net(NetEvent::LinkDown { peer, .. }) => {
                if let Some(pos) = self.pos(peer).filter(|_| self.start_logged) {
                    if !std::mem::replace(&mut self.down_logged[pos], true) {
                        self.log.write(&Event::LinkDown { peer })?;
                    }
                }
            }
            Ctl::Net(NetEvent::PeerLost { peer, why }) => {
                if let Some(pos) = self.pos(peer) {
                    self.lose(pos, &why)?;
                }
            }
            Ctl::Net(NetEvent::AllDone) => self.all_done = true,
        }
        Ok(None)
    }

    /// Logs `peer_lost` once.
    fn lose(&mut self, pos: usize, why: &str) -> Result<()> {
        if !self.lost[pos] {
            self.lost[pos] = true;
            self.warner.warn(
                "lost peer",
                &format!("gave up on VM {}: {why}", self.peers[pos]),
            );
            // Lost during set-up: logged right after `start`, which comes first.
            if self.start_logged {
                self.log.write(&Event::PeerLost {
                    peer: self.peers[pos],
                })?;
            }
        }
        Ok(())
    }

    /// Logs `start`, then the peers lost before it.
    fn log_start(&mut self) -> Result<()> {
        self.log.write(&Event::Start(self.start.clone()))?;
        self.start_logged = true;
        for pos in 0..self.peers.len() {
            if self.lost[pos] {
                let peer = self.peers[pos];
                self.log.write(&Event::PeerLost { peer })?;
            }
        }
        Ok(())
    }

    /// Runs every tick on its absolute deadline, then stops.
    fn run_ticks(mut self, t0: (Instant, i64)) -> Result<()> {
        match self.tick_all(t0) {
            Ok((reason, false)) => self.abort_setup(reason),
            Ok((reason, true)) => self.stop(reason),
            Err(e) => {
                // The log cannot be written (disk full...): say bye so the
                // peers drain and carry on, then report the error.
                self.say_goodbyes();
                Err(e)
            }
        }
    }

    /// Every tick on its deadline; returns why ticking ended and whether it began.
    fn tick_all(&mut self, (t0, t0_us): (Instant, i64)) -> Result<(StopReason, bool)> {
        if self.live {
            self.status = status::StatusSlot::spawn();
            self.next_status = self.status.as_ref().map(|_| Instant::now());
        }
        self.start.start_at_us = Some(t0_us);
        let total = tick_count(self.rate, self.runtime);
        if let Some(reason) = self.wait_until(t0)? {
            return Ok((reason, false));
        }
        self.log_start()?;
        for k in 1..=total {
            let deadline = t0 + tick_offset(self.rate, k);
            if let Some(reason) = self.wait_until(deadline)? {
                return Ok((reason, true));
            }
            self.tick(k)?;
            let next = t0 + tick_offset(self.rate, k + 1);
            self.log.flush_if_due(next)?;
        }
        self.log.flush()?;
        let reason = self
            .wait_until(t0 + self.runtime)?
            .unwrap_or(StopReason::Runtime);
        Ok((reason, true))
    }

    /// One tick: take a message or roll, log it, and for a send write the log
    /// out before the message goes on the wire.
    fn tick(&mut self, k: u64) -> Result<()> {
        let now = Instant::now();
        let (msg, left) = self.queue.take(now);
        let msg = msg.map(|q| Incoming {
            from: q.from,
            sent_tick: q.sent_tick,
            msg_clock: q.msg_clock,
            wait_us: now.saturating_duration_since(q.arrived).as_micros() as u64,
        });
        // The queue length at the moment of the decision: 0 when there was
        // nothing to take, even if a message lands a microsecond later.
        let queue = left as u64;
        let event = step::step(
            &mut self.clock,
            k,
            msg,
            queue,
            &self.peers,
            self.start.event_range,
            &mut self.rng,
        );
        self.ticks = k;
        let kind = match event {
            Event::Send { .. } => 0,
            Event::Receive { .. } => 1,
            _ => 2,
        };
        self.counts[kind] += 1;
        self.log.write(&event)?;
        if let Event::Send { to, clock, .. } = &event {
            self.log.flush()?;
            for peer in to {
                if let Some(pos) = self.pos(*peer) {
                    self.net.send(pos, k, *clock);
                }
            }
        }
        Ok(())
    }

    /// Stopped before the first tick: still a complete log.
    fn abort_setup(mut self, reason: StopReason) -> Result<()> {
        self.log_start()?;
        self.stop(reason)
    }

    /// Set-up failed: a log that starts and stops with `reason=error`.
    fn log_failure(&mut self) -> Result<()> {
        self.log_start()?;
        self.say_goodbyes();
        self.log.write(&Event::Stop {
            ticks: 0,
            clock: 0,
            reason: StopReason::Error,
        })?;
        self.log.flush()
    }

    /// The stop of docs/log-format.md §1: a goodbye on every link, then
    /// read, acknowledge and resend until every link is done both ways (or
    /// given up on after `--stop-grace` without progress), log what is
    /// still queued as `pending`, log `stop`.
    fn stop(mut self, reason: StopReason) -> Result<()> {
        self.stopping.store(true, Ordering::SeqCst);
        self.log.flush()?;
        self.say_goodbyes();
        while !self.all_done {
            let ctl = self.ctl_rx.recv();
            self.handle(ctl)?;
        }
        let pending = self.queue.drain_all();
        for q in &pending {
            self.log.write(&Event::Pending {
                from: q.from,
                sent_tick: q.sent_tick,
                msg_clock: q.msg_clock,
            })?;
        }
        self.log.write(&Event::Stop {
            ticks: self.ticks,
            clock: self.clock.value(),
            reason,
        })?;
        self.log.flush()?;
        self.warner.flush();
        if self.by_hand {
            say_err!("{}", self.summary(reason, pending.len()));
        }
        let losses = self.report_losses();
        if self.control {
            if losses.is_ok() {
                // Peers waiting only for this VM's last acknowledgement
                // (lost with a connection that broke) hear from the
                // launcher now, not after the sockets are closed.
                let _ = say(FromVm::Done);
            }
            // The log is whole: what is left is closing sockets, which must
            // not starve the launcher and the VMs still stopping.
            crate::limits::step_aside();
        }
        losses
    }

    /// The goodbyes: a frame on every link by hand; under the launcher one
    /// control line, which the launcher passes on, with the count of
    /// messages sent to each peer that has some of them unacknowledged (a
    /// 1024-VM stop is then 1,024 short lines, not a million frames on links
    /// that may have carried nothing, nor a million counts to pass on).
    fn say_goodbyes(&mut self) {
        let sent = self.net.stop(self.control);
        if self.control {
            let counts: Vec<(u32, u64)> = self
                .peers
                .iter()
                .zip(sent)
                .filter_map(|(&id, n)| Some((id, n?)))
                .collect();
            let _ = say(FromVm::Ended(counts));
        }
    }

    /// After the stop: every peer given up on, with the messages it never
    /// acknowledged. Any such peer fails the VM (exit 1).
    fn report_losses(&self) -> Result<()> {
        let mut lost = Vec::new();
        for pos in 0..self.peers.len() {
            if !self.lost[pos] {
                continue;
            }
            let (peer, unacked) = (self.peers[pos], self.net.unacked(pos) as u64);
            if self.control {
                let _ = say(FromVm::Lost { peer, unacked });
            }
            lost.push(format!("VM {peer} ({unacked} unacknowledged)"));
        }
        if lost.is_empty() {
            return Ok(());
        }
        anyhow::bail!(
            "gave up on {}; messages may be lost: run verify",
            some_of(&lost, 3)
        )
    }
}

/// The first `n` items, then how many more (a VM may give up on a thousand).
fn some_of(items: &[String], n: usize) -> String {
    if items.len() <= n + 1 {
        return items.join(", ");
    }
    format!("{} and {} more", items[..n].join(", "), items.len() - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_of_losses_is_cut_short() {
        let items: Vec<String> = (1..=5).map(|i| format!("VM {i}")).collect();
        assert_eq!(some_of(&items[..4], 3), "VM 1, VM 2, VM 3, VM 4");
        assert_eq!(some_of(&items, 3), "VM 1, VM 2, VM 3 and 2 more");
    }

    #[test]
    fn tick_counts_are_rate_times_runtime() {
        assert_eq!(tick_count(6, Duration::from_secs(60)), 360);
        assert_eq!(tick_count(1, Duration::from_secs(60)), 60);
        assert_eq!(tick_count(4, Duration::from_millis(2500)), 10);
        assert_eq!(tick_count(3, Duration::from_millis(500)), 2);
        assert_eq!(tick_count(10_000, Duration::from_secs(1)), 10_000);
    }

    #[test]
    fn deadlines_are_absolute_and_exact() {
        assert_eq!(tick_offset(4, 1), Duration::ZERO);
        assert_eq!(tick_offset(4, 2), Duration::from_millis(250));
        assert_eq!(tick_offset(3, 4), Duration::from_secs(1));
        assert_eq!(tick_offset(3, 3), Duration::from_nanos(666_666_666));
        // No accumulated error after a day at 7 ticks/s.
        assert_eq!(tick_offset(7, 7 * 86_400 + 1), Duration::from_secs(86_400));
    }

    #[test]
    fn set_up_lines_are_short() {
        let refused = || Some("Connection refused".to_string());
        let waiting: Vec<(u32, Option<String>)> = (2..=12)
            .map(|id| (id, if id == 4 { None } else { refused() }))
            .collect();
        assert_eq!(
            waiting_text(&waiting),
            "VM 2, 3, 5-12 (Connection refused); VM 4 to connect back"
        );
        assert_eq!(
            short_reason("Connection refused (os error 111)"),
            "Connection refused"
        );
        assert_eq!(
            short_reason("handshake failed: eof"),
            "handshake failed: eof"
        );
        let hint = seed_hint(12, u64::MAX);
        assert!(hint.len() <= 80 && hint.ends_with("--seed 18446744073709551615"));
    }

    #[test]
    fn each_vm_has_its_own_stream() {
        let draw = |seed, id| vm_rng(seed, id).random_range(1..=6u32);
        let a: Vec<u32> = (1..=8).map(|id| draw(7, id)).collect();
        let b: Vec<u32> = (1..=8).map(|id| draw(7, id)).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|&r| r != a[0]), "{a:?}");
    }
}
