//! A running VM's state ([`Vm`], owned by the tick loop), the news its main
//! thread takes ([`Ctl`]), and its `start` line. The parts that act on it
//! (set-up, ticks, the stop) are `impl Vm` blocks in files of their own.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;

use super::clock::Clock;
use super::log::LogWriter;
use super::mailbox::Mailbox;
use super::net::{NetEvent, NetHandle, Warner};
use super::peers::Peer;
use super::queue::NetQueue;
use super::status;
use crate::control::ToVm;
use crate::logline::{StartInfo, StopReason};
use crate::params::VmConfig;

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

/// What [`Vm::new`] is made of, besides the configuration.
pub(super) struct Parts {
    pub(super) rate: u32,
    pub(super) seed: u64,
    pub(super) rng: StdRng,
    pub(super) log: LogWriter,
    pub(super) queue: NetQueue,
    pub(super) ctl_rx: Ctls,
    pub(super) net: NetHandle,
    pub(super) warner: Arc<Warner>,
    pub(super) stopping: Arc<AtomicBool>,
}

/// A running VM: everything the tick loop owns.
pub(super) struct Vm {
    pub(super) id: u32,
    pub(super) start: StartInfo,
    /// Per peer, sorted by id (positions are the net thread's too).
    pub(super) peers: Vec<Peer>,
    pub(super) rate: u32,
    pub(super) runtime: Duration,
    pub(super) clock: Clock,
    pub(super) rng: StdRng,
    pub(super) ticks: u64,
    pub(super) log: LogWriter,
    pub(super) queue: NetQueue,
    pub(super) ctl_rx: Ctls,
    /// The links, through the net thread.
    pub(super) net: NetHandle,
    /// Shared with the net thread: set when the stop protocol begins.
    pub(super) stopping: Arc<AtomicBool>,
    /// Stopping: the net thread says every link is done or given up.
    pub(super) all_done: bool,
    /// The `start` line is in the log (lines about links wait for it).
    pub(super) start_logged: bool,
    pub(super) warner: Arc<Warner>,
    /// Under a live view: when the next [`Status`] line is due, and where it goes.
    pub(super) next_status: Option<Instant>,
    pub(super) status: Option<Arc<status::StatusSlot>>,
    /// Started with `--live`.
    pub(super) live: bool,
    /// Events so far, by kind: sends, receives, internals.
    pub(super) counts: [u64; 3],
    /// Started by hand (not under the launcher): it talks on stderr.
    pub(super) by_hand: bool,
    /// Under the launcher.
    pub(super) control: bool,
}

impl Vm {
    pub(super) fn new(cfg: &VmConfig, peers: &[(u32, String)], parts: Parts) -> Vm {
        let ids: Vec<u32> = peers.iter().map(|p| p.0).collect();
        Vm {
            id: cfg.id,
            start: start_info(cfg, &ids, parts.rate, parts.seed, parts.log.drawn()),
            peers: ids.iter().copied().map(Peer::new).collect(),
            rate: parts.rate,
            runtime: cfg.model.runtime,
            clock: Clock::default(),
            rng: parts.rng,
            ticks: 0,
            log: parts.log,
            queue: parts.queue,
            ctl_rx: parts.ctl_rx,
            net: parts.net,
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
}

/// The `start` line; `skew`: the clock's drawn offset (microseconds) and
/// drift (parts per billion), each `None` without its flag.
pub(super) fn start_info(
    cfg: &VmConfig,
    peers: &[u32],
    rate: u32,
    seed: u64,
    skew: (Option<i64>, Option<i64>),
) -> StartInfo {
    StartInfo {
        rate,
        event_range: cfg.model.event_range,
        seed,
        peers: peers.to_vec(),
        run: cfg.run.clone(),
        runtime_us: Some(cfg.model.runtime.as_micros() as u64),
        start_at_us: None,
        delay_us: cfg.model.delay.map(|d| (d.min_us, d.max_us)),
        clock_skew_us: skew.0,
        clock_drift_ppb: skew.1,
    }
}
