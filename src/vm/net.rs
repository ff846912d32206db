//! A VM's network: one thread that owns the listener and every connection,
//! multiplexed with `mio`'s own portable sockets (epoll on Linux, kqueue on
//! the BSDs and macOS, AFD on Windows). It makes and remakes the links,
//! checks every handshake, feeds the network queue, acknowledges what
//! arrives and sends again what a broken connection lost. No clock logic here.
//!
//! **Links.** One TCP connection per pair of VMs carries messages both ways:
//! the lower id dials, the higher accepts (a 1024-VM run holds 523,776
//! connections, not twice that). The handshake (`wire`, `auth`) proves both
//! sides hold the run's secret and says where each side's stream resumes;
//! [`super::link`] keeps every message until the peer acknowledges it, so a
//! connection that breaks (a reset, a peer paused or cut off: no answer for
//! [`LINK_TIMEOUT`] while messages wait) is dialled again and loses nothing.
//! A peer is given up on (`peer_lost`) only after `--peer-timeout` unreachable
//! while ticking, or `--stop-grace` without progress during the stop.
//!
//! **Sending.** The tick thread writes a message straight onto the link's
//! socket (under the link's lock, so frames never interleave with the net
//! thread's acks): no thread hop between a `send` line and the wire. What
//! the kernel does not take waits in the link's backlog, which the net
//! thread drains when the socket is writable again.
//!
//! Hostile or broken input closes only its own connection, with one warning:
//! bad frames, wrong run, unknown sender, a failed secret check, a
//! handshake that does not finish within [`HANDSHAKE_TIMEOUT`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::{TcpListener as MioListener, TcpStream as MioStream};
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::{Domain, Protocol, Socket, Type};
use std::sync::mpsc::{Receiver, Sender};

use super::auth::{self, Secret, Side, Transcript};
use super::link::{Arrival, Incoming, Msg, Outgoing};
use super::queue::{DelayLine, QueueTx, Queued};
pub use super::warn::Warner;
use crate::params::DelayRange;
use crate::wire::{Frame, Nonce, WireError};

/// How long a new connection has to say its `Hello` (a stranger that
/// connects and says nothing costs at most this long).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the rest of a handshake may take once it began (a dial, or an
/// accepted `Hello` waiting for its `Proof`): on a machine loaded with a
/// thousand VMs, a peer may not run for a while.
const HANDSHAKE_LONG: Duration = Duration::from_secs(10);
/// Connections in handshake at once, beyond one per peer; past that the
/// oldest is dropped, so connections that never speak cannot keep a real
/// peer out.
pub const MAX_HANDSHAKING: usize = 64;
/// Most messages kept for one peer that has not acknowledged them; past
/// that the peer is given up on (a peer that reads nothing for this long is
/// not coming back in time).
pub const MAX_UNACKED: usize = 1 << 16;
/// Default for the most messages a VM holds (`--max-queue`); while it holds
/// this many the net thread stops reading (so TCP pushes back on senders),
/// until the VM stops.
pub const MAX_QUEUE: usize = 1 << 20;
/// A link with messages waiting for an acknowledgement this long, and
/// nothing at all heard from the peer meanwhile, is broken: it is dialled
/// again (a partition or a paused peer never resets a connection). This is
/// the figure of runs up to 256 VMs; larger runs stretch it (up to 4 times
/// at 513 VMs and more), so that a peer starved of CPU by a thousand others
/// is not taken for a dead one (a false alarm costs a reconnection, and a
/// thousand of them at once cost the machine).
pub const LINK_TIMEOUT: Duration = Duration::from_secs(2);
/// Why a connection ends when the peer closed it cleanly.
const CLOSED: &str = "connection closed";
/// A receiver acknowledges at most this long after a message arrives...
const ACK_DELAY: Duration = Duration::from_millis(20);
/// ...or at once when this many wait.
const ACK_EVERY: u64 = 32;
/// While a VM does not read (its queue is full) it still tells each peer
/// this often that it is alive, so none of them takes the silence for a
/// broken link.
const KEEPALIVE: Duration = Duration::from_millis(500);
/// Redialling a peer: first after this long, doubling up to [`DIAL_MAX`].
const DIAL_FIRST: Duration = Duration::from_millis(20);
const DIAL_MAX: Duration = Duration::from_millis(500);
/// Dials in progress at once (connects in waves, not 1,023 SYNs at once).
const MAX_DIALING: usize = 64;
/// How often the coarse timers are looked at (broken links, giving up,
/// keepalives): a look costs one pass over every peer, so not on every wake.
const SWEEP: Duration = Duration::from_millis(250);
/// How often a paused net thread looks whether the queue has room again.
const PAUSE_POLL: Duration = Duration::from_millis(1);
/// How long after a failed accept the listener is tried again.
const ACCEPT_RETRY: Duration = Duration::from_millis(10);
/// Bytes read from one connection at a time.
const READ_CHUNK: usize = 16 * 1024;
const NET_STACK: usize = 256 * 1024;
const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);
/// Connections the kernel holds for the listener before it accepts them.
/// std's `TcpListener::bind` asks for 128; a burst of connections past that
/// (a port scan, a 1024-VM set-up) has its SYNs dropped and retried a second
/// later. The kernel caps this at its own limit (`net.core.somaxconn` on
/// Linux, 4096 by default).
pub const LISTEN_BACKLOG: i32 = 4096;

/// Binds a VM's listener as `TcpListener::bind` does (with `SO_REUSEADDR`
/// on Unix, as std sets it), but with a [`LISTEN_BACKLOG`] std cannot ask for.
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// What the network tells the VM's control loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// The link to `peer` is up: for the first time, or again after a
    /// break with `resent` messages sent again.
    LinkUp { peer: u32, first: bool, resent: u64 },
    /// The link to `peer` broke (after it had been up); it is being remade.
    LinkDown { peer: u32, why: String },
    /// This VM gave up on `peer`.
    PeerLost { peer: u32, why: String },
    /// Stopping: every link is done (both ways delivered) or given up.
    AllDone,
}

/// One link's state shared by the tick thread (which sends) and the net
/// thread (which acknowledges, resends and remakes connections).
#[derive(Default)]
pub struct Link {
    out: Outgoing,
    /// The current connection, while the link is up.
    writer: Option<Writer>,
    /// Given up on: messages are still numbered and kept (to count them), never sent.
    lost: bool,
    /// Since when messages (or the `Bye`) wait for an acknowledgement, if any do.
    waiting_since: Option<Instant>,
}

/// The sending half of a link's current connection.
struct Writer {
    stream: Arc<MioStream>,
    /// Encoded frames the kernel has not taken yet.
    backlog: Vec<u8>,
    /// A write failed: the net thread closes the connection.
    failed: bool,
    /// When anything was last written (for keepalives).
    wrote: Instant,
}

impl Writer {
    fn new(stream: Arc<MioStream>) -> Writer {
        Writer {
            stream,
            backlog: Vec::new(),
            failed: false,
            wrote: Instant::now(),
        }
    }

    /// Queues a frame and hands the kernel what it takes now.
    fn send(&mut self, frame: &Frame) {
        frame.encode(&mut self.backlog);
        self.flush();
    }

    fn flush(&mut self) {
        if self.failed || self.backlog.is_empty() {
            return;
        }
        match write_some(&self.stream, &self.backlog) {
            Ok(n) => {
                self.backlog.drain(..n);
                self.wrote = Instant::now();
            }
            Err(_) => self.failed = true,
        }
    }
}

fn lock(link: &Mutex<Link>) -> MutexGuard<'_, Link> {
    // A panic while holding a link's lock leaves plain data behind: use it.
    link.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the tick thread (and the resolver thread) ask of the net thread.
enum Cmd {
    /// The resolver's answer for the peer at this position.
    Resolved(usize, std::io::Result<Vec<SocketAddr>>),
    /// Stopping; whether the goodbyes go through the launcher.
    Stop(bool),
    Gone(u32),
    /// The launcher gave up waiting for that peer's goodbye.
    Silent(u32),
    /// Those peers exited cleanly: their links are done both ways.
    Finished(Vec<u32>),
    /// Relayed goodbyes: (peer, messages it sent this VM in all).
    Ended(Vec<(u32, u64)>),
    /// Relayed goodbyes of peers with nothing unacknowledged to this VM.
    Quiet(Vec<u32>),
}

/// The tick thread's handle on the network.
pub struct NetHandle {
    /// By position in the sorted peer list.
    links: Vec<Arc<Mutex<Link>>>,
    cmds: Sender<Cmd>,
    waker: Arc<Waker>,
    /// Per peer: why the last dial failed (for set-up's progress lines).
    dial_errors: Arc<Mutex<Vec<Option<String>>>>,
}

impl NetHandle {
    /// Sends one message to the peer at `pos`: numbered, kept until
    /// acknowledged, and written now if the link is up.
    pub fn send(&self, pos: usize, sent_tick: u64, clock: u64) {
        let mut link = lock(&self.links[pos]);
        let msg = link.out.push(sent_tick, clock);
        if link.lost {
            return;
        }
        if link.waiting_since.is_none() {
            link.waiting_since = Some(Instant::now());
        }
        let over = link.out.unacked() > MAX_UNACKED;
        let mut failed = false;
        if let Some(w) = link.writer.as_mut() {
            w.send(&msg_frame(msg));
            failed = w.failed;
        }
        drop(link);
        if failed || over {
            self.wake();
        }
    }

    /// The stop: a `Bye` on every link (again on reconnections, until
    /// acknowledged), then the net thread sees the stop through. With
    /// `relayed`, the goodbyes go through the launcher instead: returns, per
    /// peer (by position), how many messages went to it if some are not yet
    /// acknowledged, for the launcher to pass on (`None`: the peer has them
    /// all, and needs to hear only that this VM stopped).
    pub fn stop(&self, relayed: bool) -> Vec<Option<u64>> {
        let mut sent = Vec::with_capacity(self.links.len());
        for link in &self.links {
            let mut link = lock(link);
            if relayed {
                let last = link.out.say_bye_quietly();
                sent.push((link.out.unacked() > 0).then_some(last));
                continue;
            }
            link.out.speak_up();
            let last = link.out.say_bye();
            sent.push(Some(last));
            if link.lost {
                continue;
            }
            link.waiting_since.get_or_insert_with(Instant::now);
            if let Some(w) = link.writer.as_mut() {
                w.send(&Frame::Bye { last });
            }
        }
        let _ = self.cmds.send(Cmd::Stop(relayed));
        self.wake();
        sent
    }

    /// Peers' goodbyes, relayed: (peer, messages it sent this VM in all).
    pub fn ended(&self, ends: Vec<(u32, u64)>) {
        let _ = self.cmds.send(Cmd::Ended(ends));
        self.wake();
    }

    /// Peers' goodbyes, relayed: they stopped with everything they sent
    /// this VM acknowledged.
    pub fn quiet(&self, peers: Vec<u32>) {
        let _ = self.cmds.send(Cmd::Quiet(peers));
        self.wake();
    }

    /// Those peers exited cleanly (the launcher saw it): a VM exits 0 only
    /// once it had every message of each peer and each peer had all of its,
    /// so nothing is missing either way, even an acknowledgement lost with
    /// a connection that broke at the very end.
    pub fn finished(&self, peers: Vec<u32>) {
        let _ = self.cmds.send(Cmd::Finished(peers));
        self.wake();
    }

    /// The launcher heard no goodbye from that peer in time: give up on it.
    pub fn silent(&self, peer: u32) {
        let _ = self.cmds.send(Cmd::Silent(peer));
        self.wake();
    }

    /// That peer's process is gone: give up on it now.
    pub fn gone(&self, peer: u32) {
        let _ = self.cmds.send(Cmd::Gone(peer));
        self.wake();
    }

    /// Messages to the peer at `pos` never acknowledged.
    pub fn unacked(&self, pos: usize) -> usize {
        lock(&self.links[pos]).out.unacked()
    }

    /// Why the last dial of each peer failed, if it did.
    pub fn dial_errors(&self) -> Vec<Option<String>> {
        self.dial_errors
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    fn wake(&self) {
        let _ = self.waker.wake();
    }
}

fn msg_frame(m: Msg) -> Frame {
    Frame::Msg {
        seq: m.seq,
        sent_tick: m.sent_tick,
        clock: m.clock,
    }
}

/// Everything the net thread needs to know and share.
pub struct Inbound {
    pub me: u32,
    pub run: String,
    pub secret: Secret,
    /// This process's instance (drawn at start).
    pub instance: u64,
    /// Sorted (peer id, address): this VM dials the peers with higher ids.
    pub peers: Vec<(u32, String)>,
    pub queue: QueueTx,
    pub events: Box<dyn Fn(NetEvent) + Send>,
    pub warner: Arc<Warner>,
    /// The net thread stops reading while the VM holds this many messages.
    pub max_queue: usize,
    /// Set when the VM stops: from then on every message goes to `pending`,
    /// so the net thread reads on whatever the VM holds.
    pub stopping: Arc<AtomicBool>,
    /// `--delay`, and the run's seed it draws from.
    pub delay: Option<(DelayRange, u64)>,
    pub peer_timeout: Duration,
    pub stop_grace: Duration,
}

/// Starts the net thread on a bound listener.
pub fn spawn(listener: std::net::TcpListener, ctx: Inbound) -> io::Result<NetHandle> {
    listener.set_nonblocking(true)?;
    let mut listener = MioListener::from_std(listener);
    let poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let (cmd_tx, cmd_rx) = std::sync::mpsc::channel();
    let n = ctx.peers.len();
    let links: Vec<Arc<Mutex<Link>>> = (0..n).map(|_| Arc::default()).collect();
    let dial_errors = Arc::new(Mutex::new(vec![None; n]));
    let now = Instant::now();
    let peers_dial: Vec<bool> = ctx.peers.iter().map(|(id, _)| *id > ctx.me).collect();
    let peers = ctx
        .peers
        .iter()
        .map(|(id, addr)| Peer {
            id: *id,
            dial: (*id > ctx.me).then(|| addr.clone()),
            inc: Incoming::default(),
            delay: ctx
                .delay
                .map(|(range, seed)| DelayLine::new(range, seed, *id, ctx.me)),
            conn: None,
            dialing: false,
            refused: false,
            phase: Phase::Waiting,
            ever_up: false,
            instance: None,
            down_since: None,
            last_heard: now,
            ack_at: None,
            next_dial: now,
            backoff: DIAL_FIRST,
            progress_at: now,
            turn: 0,
            resolving: false,
            addrs: None,
            challenged: 0,
            queued: *id > ctx.me,
            down_why: String::new(),
            down_warned: false,
        })
        .collect();
    let resolver = Resolver::Idle(cmd_tx.clone(), Arc::clone(&waker));
    let handle = NetHandle {
        links: links.clone(),
        cmds: cmd_tx,
        waker,
        dial_errors: Arc::clone(&dial_errors),
    };
    let mut net = Net {
        ctx,
        listener,
        poll,
        conns: Vec::new(),
        free: Vec::new(),
        peers,
        links,
        cmds: cmd_rx,
        dial_errors,
        dialing: 0,
        dial_queue: (0..n).filter(|&pos| peers_dial[pos]).collect(),
        resolver,
        timers: BinaryHeap::new(),
        next_sweep: now,
        handshakes: 0,
        unfinished: n,
        stopping: false,
        relayed_at: None,
        relayed: false,
        all_done: false,
        paused: false,
        resume_from: 0,
        retry_accept: None,
        buf: vec![0; READ_CHUNK],
    };
    thread::Builder::new()
        .name("net".into())
        .stack_size(NET_STACK)
        .spawn(move || net.run())?;
    Ok(handle)
}

/// The resolver thread, started at the first name to look up (a run on
/// IP addresses never has one): it looks up each (peer position,
/// HOST:PORT) it is sent, in turn, and hands the answer to the net thread.
/// It ends with the net thread (its requests' sender dropped).
enum Resolver {
    Idle(Sender<Cmd>, Arc<Waker>),
    Running(Sender<(usize, String)>),
    /// It could not be started: every lookup fails.
    Failed,
}

impl Resolver {
    /// Asks for `addr` to be looked up for the peer at `pos`; false if it cannot be.
    fn ask(&mut self, pos: usize, addr: String) -> bool {
        if let Resolver::Idle(cmds, waker) = self {
            *self = match spawn_resolver(cmds.clone(), Arc::clone(waker)) {
                Ok(tx) => Resolver::Running(tx),
                Err(_) => Resolver::Failed,
            };
        }
        match self {
            Resolver::Running(tx) => tx.send((pos, addr)).is_ok(),
            _ => false,
        }
    }
}

fn spawn_resolver(cmds: Sender<Cmd>, waker: Arc<Waker>) -> io::Result<Sender<(usize, String)>> {
    let (tx, rx) = std::sync::mpsc::channel::<(usize, String)>();
    thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            for (pos, addr) in rx {
                let got = addr.to_socket_addrs().map(Iterator::collect);
                if cmds.send(Cmd::Resolved(pos, got)).is_err() {
                    break;
                }
                let _ = waker.wake();
            }
        })?;
    Ok(tx)
}

/// Where a link stands, as the net thread sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not up: not yet connected, or broken and being remade.
    Waiting,
    Up,
    /// Stopping, and everything went through both ways.
    Done,
    /// Given up on.
    Lost,
}

/// A precise timer: what to look at when its instant comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// The delayed acknowledgement of the link at this position.
    Ack(usize),
    /// The next dial of the peer at this position.
    Dial(usize),
    /// The handshake deadline of the connection in this slot, of this generation.
    Handshake(usize, u32),
}

/// The net thread's own state of one peer's link.
struct Peer {
    id: u32,
    /// The address to dial, if this VM is the dialer of the pair.
    dial: Option<String>,
    inc: Incoming,
    delay: Option<DelayLine>,
    /// The slot of the established connection.
    conn: Option<usize>,
    /// A dial is in progress.
    dialing: bool,
    /// Stopping, it answered that it had finished with this VM: no redial.
    refused: bool,
    phase: Phase,
    ever_up: bool,
    /// The peer process's instance, once a handshake proved it.
    instance: Option<u64>,
    /// Since when the link is down (after it was up).
    down_since: Option<Instant>,
    /// When a frame last came from the peer on the current connection.
    last_heard: Instant,
    /// When the delayed acknowledgement is due.
    ack_at: Option<Instant>,
    next_dial: Instant,
    backoff: Duration,
    /// Stopping: the last time this link got anywhere.
    progress_at: Instant,
    /// Which of the dial name's addresses the next dial takes. The name is
    /// looked up for every dial (the first, and each after a failed dial or
    /// a broken link), so a name that resolves only once its peer is up, or
    /// a peer back at another address, is found; a failed dial moves on to
    /// the name's next address.
    turn: usize,
    /// A lookup of the dial name is under way.
    resolving: bool,
    /// The dial name's addresses, looked up for the next dial.
    addrs: Option<Vec<SocketAddr>>,
    /// Connections of this peer waiting for its `Proof`.
    challenged: u32,
    /// In the dial queue.
    queued: bool,
    /// Why the link last broke.
    down_why: String,
    /// This break was already warned about (it lasted).
    down_warned: bool,
}

/// The net thread's state.
struct Net {
    ctx: Inbound,
    listener: MioListener,
    poll: Poll,
    /// Connections by slot; a token is (generation << 32) | slot.
    conns: Vec<Slot>,
    free: Vec<usize>,
    peers: Vec<Peer>,
    links: Vec<Arc<Mutex<Link>>>,
    cmds: Receiver<Cmd>,
    dial_errors: Arc<Mutex<Vec<Option<String>>>>,
    /// Dials in progress.
    dialing: usize,
    /// Peers due for a dial, in turn (at most [`MAX_DIALING`] dial at once).
    dial_queue: VecDeque<usize>,
    /// Where peer names are looked up.
    resolver: Resolver,
    /// Precise timers (acks, dials, handshakes), soonest first; each is
    /// checked against the state when it fires, so none needs cancelling.
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    /// When the coarse timers are looked at next.
    next_sweep: Instant,
    /// Accepted connections still in their handshake.
    handshakes: usize,
    /// Peers whose link is neither done nor given up.
    unfinished: usize,
    stopping: bool,
    /// When the launcher last passed goodbyes or exits on (stopping under
    /// it): the stop as a whole is moving, so a link waiting on a peer that
    /// is slow to answer (starved among a thousand VMs) is not given up on.
    relayed_at: Option<Instant>,
    /// Stopping under the launcher: a goodbye that has not come is the
    /// launcher's to give up on (it knows who said one), not this VM's.
    relayed: bool,
    /// [`NetEvent::AllDone`] was said.
    all_done: bool,
    /// The VM holds `max_queue` messages: no link is read.
    paused: bool,
    /// The slot the last resume from a pause served last.
    resume_from: usize,
    /// After an accept error (out of file descriptors, say), when to try again:
    /// edge-triggered readiness will not come back for connections already waiting.
    retry_accept: Option<Instant>,
    buf: Vec<u8>,
}

#[derive(Default)]
struct Slot {
    /// Counts the connections this slot has held (within [`SLOT_MASK`]).
    generation: u32,
    conn: Option<Conn>,
}

struct Conn {
    stream: Arc<MioStream>,
    addr: SocketAddr,
    /// Bytes read but not yet decoded (less than one frame, except while paused).
    pending: Vec<u8>,
    role: Role,
}

enum Role {
    /// Accepted; waiting for a `Hello` until the deadline.
    Accepted(Instant),
    /// Accepted, `Challenge` sent; waiting for the dialer's `Proof`.
    Challenged {
        deadline: Instant,
        pos: usize,
        dialer_nonce: Nonce,
        nonce: Nonce,
        dialer_instance: u64,
        resume: u64,
    },
    /// Dialled; `Hello` sent once connected, waiting for the `Challenge`.
    Dialing {
        deadline: Instant,
        pos: usize,
        connected: bool,
        nonce: Nonce,
    },
    /// The established connection of the link at `pos`.
    Link(usize),
}

impl Role {
    fn deadline(&self) -> Option<Instant> {
        match *self {
            Role::Accepted(d)
            | Role::Challenged { deadline: d, .. }
            | Role::Dialing { deadline: d, .. } => Some(d),
            Role::Link(_) => None,
        }
    }
}

/// What reading a connection came to.
enum Verdict {
    /// Nothing more for now; keep it.
    Open,
    /// Drop it, saying why.
    Close(String),
}

impl Net {
    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.next_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.ctx
                        .warner
                        .warn("poll", &format!("network poll failed: {e}"));
                    thread::sleep(PAUSE_POLL);
                }
                continue;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => self.commands(),
                    token => {
                        if event.is_writable() || event.is_error() || event.is_write_closed() {
                            self.writable(token);
                        }
                        if event.is_readable() || event.is_error() || event.is_read_closed() {
                            self.serve(token);
                        }
                    }
                }
            }
            if self.retry_accept.is_some_and(|at| at <= Instant::now()) {
                self.accept_all();
            }
            self.timers();
            self.resume_if_room();
            self.check_all_done();
        }
    }

    /// The earliest timer: a precise one, the next sweep, an accept retry.
    fn next_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut wake = self.next_sweep;
        if let Some(Reverse((t, _))) = self.timers.peek() {
            wake = wake.min(*t);
        }
        if let Some(t) = self.retry_accept {
            wake = wake.min(t);
        }
        if self.paused {
            wake = wake.min(now + PAUSE_POLL);
        }
        if !self.dial_queue.is_empty() && self.dialing < MAX_DIALING {
            wake = now;
        }
        Some(wake.saturating_duration_since(now))
    }

    fn at(&mut self, when: Instant, timer: Timer) {
        self.timers.push(Reverse((when, timer)));
    }

    /// Moves the link at `pos` to `phase`, keeping count of unfinished links.
    fn set_phase(&mut self, pos: usize, phase: Phase) {
        let finished = |p: Phase| matches!(p, Phase::Done | Phase::Lost);
        let before = self.peers[pos].phase;
        if finished(before) != finished(phase) {
            if finished(phase) {
                self.unfinished -= 1;
            } else {
                self.unfinished += 1;
            }
        }
        self.peers[pos].phase = phase;
    }

    /// What the tick thread asked, and writes it found failing.
    fn commands(&mut self) {
        while let Ok(cmd) = self.cmds.try_recv() {
            match cmd {
                Cmd::Resolved(pos, got) => self.resolved(pos, got),
                Cmd::Stop(relayed) => {
                    self.stopping = true;
                    self.relayed = relayed;
                    let now = Instant::now();
                    for pos in 0..self.peers.len() {
                        self.peers[pos].progress_at = now;
                        self.maybe_done(pos);
                        self.maybe_never(pos);
                    }
                }
                Cmd::Finished(ids) => {
                    self.relayed_at = Some(Instant::now());
                    for id in ids {
                        let Some(pos) = self.pos(id) else { continue };
                        if matches!(self.peers[pos].phase, Phase::Done | Phase::Lost) {
                            continue;
                        }
                        if let Some(slot) = self.peers[pos].conn.take() {
                            self.drop_conn(slot);
                        }
                        lock(&self.links[pos]).writer = None;
                        self.set_phase(pos, Phase::Done);
                    }
                }
                Cmd::Silent(id) => {
                    if let Some(pos) = self.pos(id) {
                        let why = format!(
                            "it said no goodbye within {} s of the last one the launcher heard (--stop-grace)",
                            self.ctx.stop_grace.as_secs_f64()
                        );
                        self.lose(pos, why);
                    }
                }
                Cmd::Gone(id) => {
                    if let Some(pos) = self.pos(id) {
                        self.lose(pos, "its process exited".into());
                    }
                }
                Cmd::Ended(ends) => {
                    let now = Instant::now();
                    // The launcher is passing goodbyes on: progress for
                    // every peer whose own has yet to come (on a machine
                    // loaded with a thousand VMs it may come late).
                    self.relayed_at = Some(now);
                    for (id, last) in ends {
                        let Some(pos) = self.pos(id) else { continue };
                        if let Err(e) = self.peers[pos].inc.end_at(last) {
                            self.ctx
                                .warner
                                .warn("bad goodbye", &format!("VM {id}: {e}"));
                            continue;
                        }
                        self.peers[pos].progress_at = now;
                        self.maybe_done(pos);
                    }
                }
                Cmd::Quiet(ids) => {
                    let now = Instant::now();
                    self.relayed_at = Some(now);
                    for id in ids {
                        let Some(pos) = self.pos(id) else { continue };
                        let p = &mut self.peers[pos];
                        if p.inc.goodbye_known() {
                            // Named with a count before: that count stands.
                            continue;
                        }
                        // Everything it sent was acknowledged, so it came.
                        let had = p.inc.received();
                        if p.inc.end_at(had).is_err() {
                            continue;
                        }
                        p.progress_at = now;
                        self.maybe_done(pos);
                    }
                }
            }
        }
        for pos in 0..self.peers.len() {
            let (failed, over) = {
                let link = lock(&self.links[pos]);
                let failed = link.writer.as_ref().is_some_and(|w| w.failed);
                (failed, !link.lost && link.out.unacked() > MAX_UNACKED)
            };
            if over {
                let why = format!("it has not acknowledged {MAX_UNACKED} messages");
                self.lose(pos, why);
            } else if failed {
                self.link_down(pos, "a write failed".into());
            }
        }
    }

    /// Accepts until the listener has nothing more (readiness is
    /// edge-triggered: connections left waiting would get no new event).
    fn accept_all(&mut self) {
        self.retry_accept = None;
        loop {
            match self.listener.accept() {
                Ok((stream, addr)) => {
                    let role = Role::Accepted(Instant::now() + HANDSHAKE_TIMEOUT);
                    self.admit(stream, addr, role);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of file descriptors, say: try again shortly.
                    self.ctx
                        .warner
                        .warn("accept", &format!("accept failed: {e}"));
                    self.retry_accept = Some(Instant::now() + ACCEPT_RETRY);
                    return;
                }
            }
        }
    }

    /// Registers a new connection; returns its slot.
    fn admit(&mut self, mut stream: MioStream, addr: SocketAddr, role: Role) -> Option<usize> {
        if matches!(role, Role::Accepted(_)) && self.handshakes >= self.max_handshaking() {
            self.drop_oldest_handshake();
        }
        let _ = stream.set_nodelay(true);
        let slot = self.free.pop().unwrap_or_else(|| {
            self.conns.push(Slot::default());
            self.conns.len() - 1
        });
        let token = token_of(slot, self.conns[slot].generation);
        // Both interests from the start: a link's socket is shared with the
        // tick thread as soon as it is up, and mio registers through `&mut`.
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.poll.registry().register(&mut stream, token, interest) {
            self.free.push(slot);
            self.ctx.warner.warn(
                "dropped connection",
                &format!("dropped connection with {addr}: {e}"),
            );
            return None;
        }
        let accepted = matches!(role, Role::Accepted(_));
        if accepted {
            self.handshakes += 1;
        }
        if let Some(deadline) = role.deadline() {
            self.at(
                deadline,
                Timer::Handshake(slot, self.conns[slot].generation),
            );
        }
        self.conns[slot].conn = Some(Conn {
            stream: Arc::new(stream),
            addr,
            pending: Vec::new(),
            role,
        });
        // Edge-triggered: bytes that came with the connection are read now.
        if accepted {
            self.serve(token);
        }
        Some(slot)
    }

    fn max_handshaking(&self) -> usize {
        MAX_HANDSHAKING + self.peers.len()
    }

    fn drop_oldest_handshake(&mut self) {
        let oldest = (0..self.conns.len())
            .filter_map(|i| match self.conns[i].conn.as_ref()?.role {
                Role::Accepted(d) | Role::Challenged { deadline: d, .. } => Some((d, i)),
                _ => None,
            })
            .min();
        if let Some((_, slot)) = oldest {
            self.close(slot, "too many handshakes at once".into());
        }
    }

    /// The socket of a connection can take bytes again.
    fn writable(&mut self, token: Token) {
        let Some(slot) = self.live_slot(token) else {
            return;
        };
        let Some(conn) = self.conns[slot].conn.as_mut() else {
            return;
        };
        match conn.role {
            Role::Dialing {
                connected: false,
                pos,
                nonce,
                ..
            } => {
                // A non-blocking connect ended: in a connection or an error
                // (or it is still under way, when looked at right after it began).
                let failed = match conn.stream.take_error() {
                    Ok(Some(e)) | Err(e) => Some(e.to_string()),
                    Ok(None) => match conn.stream.peer_addr() {
                        Ok(_) => None,
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                        Err(e) => Some(e.to_string()),
                    },
                };
                if let Some(why) = failed {
                    self.dial_failed(slot, pos, why);
                    return;
                }
                let hello = Frame::Hello {
                    from: self.ctx.me,
                    to: self.peers[pos].id,
                    nonce,
                    instance: self.ctx.instance,
                    run: self.ctx.run.clone(),
                };
                if let Role::Dialing { connected, .. } = &mut conn.role {
                    *connected = true;
                }
                if let Err(why) = write_frame(&conn.stream, &hello) {
                    self.dial_failed(slot, pos, why);
                    return;
                }
                // The answer may already be there.
                self.serve(token);
            }
            Role::Link(pos) => {
                let failed = {
                    let mut link = lock(&self.links[pos]);
                    link.writer.as_mut().is_some_and(|w| {
                        w.flush();
                        w.failed
                    })
                };
                if failed {
                    self.link_down(pos, "a write failed".into());
                }
            }
            _ => {}
        }
    }

    /// The slot of a token, unless the token is stale.
    fn live_slot(&self, token: Token) -> Option<usize> {
        let (slot, generation) = slot_of(token);
        let s = self.conns.get(slot)?;
        (s.generation == generation && s.conn.is_some()).then_some(slot)
    }

    /// Reads what a connection has, unless its token is stale.
    fn serve(&mut self, token: Token) {
        let Some(slot) = self.live_slot(token) else {
            return;
        };
        let Some(mut conn) = self.conns[slot].conn.take() else {
            return;
        };
        let verdict = self.pump(slot, &mut conn);
        // A handshake that completed may have closed this slot's old
        // occupant elsewhere, never this one: put it back.
        self.conns[slot].conn = Some(conn);
        if let Verdict::Close(why) = verdict {
            self.close(slot, why);
        }
    }

    /// Decodes what is buffered, then reads until the socket has nothing more.
    fn pump(&mut self, slot: usize, conn: &mut Conn) -> Verdict {
        loop {
            if let Verdict::Close(why) = self.decode(slot, conn) {
                return Verdict::Close(why);
            }
            if self.holds_back(conn) {
                return Verdict::Open;
            }
            if matches!(
                conn.role,
                Role::Dialing {
                    connected: false,
                    ..
                }
            ) {
                return Verdict::Open;
            }
            match (&*conn.stream).read(&mut self.buf) {
                Ok(0) if conn.pending.is_empty() => {
                    return Verdict::Close(CLOSED.into());
                }
                Ok(0) => return Verdict::Close("connection closed inside a frame".into()),
                Ok(n) => conn.pending.extend_from_slice(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Verdict::Open,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Verdict::Close(e.to_string()),
            }
        }
    }

    /// Handles every complete frame in `conn.pending`.
    fn decode(&mut self, slot: usize, conn: &mut Conn) -> Verdict {
        let mut used = 0;
        let verdict = loop {
            if self.holds_back(conn) {
                break Verdict::Open;
            }
            match Frame::decode(&conn.pending[used..]) {
                Ok((frame, n)) => {
                    used += n;
                    if let Verdict::Close(why) = self.frame(slot, conn, frame) {
                        break Verdict::Close(why);
                    }
                }
                Err(WireError::Incomplete) => break Verdict::Open,
                Err(e) => break Verdict::Close(e.to_string()),
            }
        };
        conn.pending.drain(..used);
        verdict
    }

    /// While paused, a link is left unread (TCP pushes back on the peer); a
    /// handshake still goes on.
    fn holds_back(&self, conn: &Conn) -> bool {
        self.paused && matches!(conn.role, Role::Link(_))
    }

    fn frame(&mut self, slot: usize, conn: &mut Conn, frame: Frame) -> Verdict {
        match (&conn.role, frame) {
            (
                Role::Accepted(_),
                Frame::Hello {
                    from,
                    to,
                    nonce,
                    instance,
                    run,
                },
            ) => self.hello(slot, conn, from, to, nonce, instance, &run),
            (Role::Challenged { .. }, Frame::Proof { resume, mac }) => {
                self.proof(slot, conn, resume, &mac)
            }
            (
                Role::Dialing {
                    connected: true, ..
                },
                Frame::Challenge {
                    nonce,
                    instance,
                    resume,
                    mac,
                },
            ) => self.challenge(slot, conn, nonce, instance, resume, &mac),
            (Role::Dialing { pos, .. }, Frame::Reject { reason }) => {
                let pos = *pos;
                let why = format!("rejected: {reason}");
                self.note_dial_error(pos, &why);
                // Redialling a peer that gave up on this VM, or finished
                // with it, only brings the same answer: at 1024 VMs a
                // thousand VMs redialling a thousand peers each kept the
                // machine busy for minutes. The answer is unproven, so it
                // may cost a loss (never silent) but never end a link as
                // done: a peer that finished is done once the launcher says
                // it exited cleanly (`finished`), or given up at the grace.
                match refused_for_good(&reason, self.ctx.me) {
                    Some(Refusal::GaveUp) if self.stopping => {
                        self.lose(pos, format!("it answered: {reason}"));
                    }
                    Some(Refusal::Finished) if self.stopping => self.peers[pos].refused = true,
                    _ => {}
                }
                Verdict::Close(why)
            }
            (&Role::Link(pos), frame) => self.link_frame(pos, frame),
            (_, other) => Verdict::Close(format!("unexpected {} in a handshake", kind(&other))),
        }
    }

    /// Acceptor: a `Hello`. Checks what it can before any secret is
    /// involved, then challenges.
    #[allow(clippy::too_many_arguments)]
    fn hello(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        from: u32,
        to: u32,
        dialer_nonce: Nonce,
        dialer_instance: u64,
        run: &str,
    ) -> Verdict {
        let pos = match self.check_hello(from, to, run) {
            Ok(pos) => pos,
            Err(why) => {
                let _ = write_frame(
                    &conn.stream,
                    &Frame::Reject {
                        reason: why.clone(),
                    },
                );
                return Verdict::Close(why);
            }
        };
        let nonce = auth::nonce();
        let resume = self.peers[pos].inc.received();
        let t = self.as_acceptor(from, dialer_nonce, nonce, dialer_instance);
        let challenge = Frame::Challenge {
            nonce,
            instance: self.ctx.instance,
            resume,
            mac: t.mac(&self.ctx.secret, Side::Acceptor, resume),
        };
        if let Err(why) = write_frame(&conn.stream, &challenge) {
            return Verdict::Close(why);
        }
        self.peers[pos].challenged += 1;
        let deadline = Instant::now() + HANDSHAKE_LONG;
        self.at(
            deadline,
            Timer::Handshake(slot, self.conns[slot].generation),
        );
        conn.role = Role::Challenged {
            deadline,
            pos,
            dialer_nonce,
            nonce,
            dialer_instance,
            resume,
        };
        Verdict::Open
    }

    /// The handshake as this VM sees it when it accepts `dialer`'s link.
    fn as_acceptor(
        &self,
        dialer: u32,
        dialer_nonce: Nonce,
        nonce: Nonce,
        dialer_instance: u64,
    ) -> Transcript<'_> {
        Transcript {
            run: &self.ctx.run,
            dialer,
            acceptor: self.ctx.me,
            dialer_nonce,
            acceptor_nonce: nonce,
            dialer_instance,
            acceptor_instance: self.ctx.instance,
        }
    }

    /// The peer's position, or why its hello is refused.
    fn check_hello(&self, from: u32, to: u32, run: &str) -> Result<usize, String> {
        let me = self.ctx.me;
        if run != self.ctx.run {
            return Err(format!(
                "VM {from} is in run `{run}`, this VM is in run `{}`",
                self.ctx.run
            ));
        }
        if to != me {
            return Err(format!("VM {from} wanted VM {to}, this is VM {me}"));
        }
        let Some(pos) = self.pos(from) else {
            return Err(format!("VM {from} is not a peer of VM {me}"));
        };
        if from > me {
            return Err(format!("VM {from} should wait for VM {me} to dial it"));
        }
        match self.peers[pos].phase {
            Phase::Lost => Err(format!("VM {me} gave up on VM {from}")),
            Phase::Done => Err(format!("VM {me} has finished with VM {from}")),
            _ => Ok(pos),
        }
    }

    /// Acceptor: the dialer's `Proof`. Only now does anything change.
    fn proof(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        peer_has: u64,
        mac: &crate::wire::Mac,
    ) -> Verdict {
        let Role::Challenged {
            pos,
            dialer_nonce,
            nonce,
            dialer_instance,
            resume,
            ..
        } = conn.role
        else {
            return Verdict::Open;
        };
        let id = self.peers[pos].id;
        let t = self.as_acceptor(id, dialer_nonce, nonce, dialer_instance);
        if !t.check(&self.ctx.secret, Side::Dialer, peer_has, mac) {
            return Verdict::Close(format!(
                "it claims to be VM {id} but does not hold the run's secret"
            ));
        }
        // Messages that came on the old connection after `resume` was said
        // come again on this one, and are dropped as duplicates.
        let _ = resume;
        self.establish(pos, slot, conn, dialer_instance, peer_has)
    }

    /// Dialer: the acceptor's `Challenge`. Checks it proves the secret, then proves ours.
    fn challenge(
        &mut self,
        slot: usize,
        conn: &mut Conn,
        acceptor_nonce: Nonce,
        acceptor_instance: u64,
        peer_has: u64,
        mac: &crate::wire::Mac,
    ) -> Verdict {
        let Role::Dialing { pos, nonce, .. } = conn.role else {
            return Verdict::Open;
        };
        let id = self.peers[pos].id;
        let t = Transcript {
            run: &self.ctx.run,
            dialer: self.ctx.me,
            acceptor: id,
            dialer_nonce: nonce,
            acceptor_nonce,
            dialer_instance: self.ctx.instance,
            acceptor_instance,
        };
        if !t.check(&self.ctx.secret, Side::Acceptor, peer_has, mac) {
            let why = format!("VM {id} at {} does not hold the run's secret", conn.addr);
            self.note_dial_error(pos, &why);
            return Verdict::Close(why);
        }
        if let Some(why) = self.finished_with(pos) {
            return Verdict::Close(why);
        }
        let resume = self.peers[pos].inc.received();
        let proof = Frame::Proof {
            resume,
            mac: t.mac(&self.ctx.secret, Side::Dialer, resume),
        };
        if let Err(why) = write_frame(&conn.stream, &proof) {
            return Verdict::Close(why);
        }
        self.establish(pos, slot, conn, acceptor_instance, peer_has)
    }

    /// Why no link to the peer at `pos` may be made any more, if none may:
    /// a handshake begun before this VM gave up on the peer (or finished
    /// with it) ends there, since `peer_lost` is final.
    fn finished_with(&self, pos: usize) -> Option<String> {
        let (me, id) = (self.ctx.me, self.peers[pos].id);
        match self.peers[pos].phase {
            Phase::Lost => Some(format!("VM {me} gave up on VM {id}")),
            Phase::Done => Some(format!("VM {me} has finished with VM {id}")),
            Phase::Up | Phase::Waiting => None,
        }
    }

    /// Both sides proved the secret: this connection is now the link's.
    /// Sends again what the peer does not have.
    fn establish(
        &mut self,
        pos: usize,
        slot: usize,
        conn: &mut Conn,
        instance: u64,
        peer_has: u64,
    ) -> Verdict {
        let id = self.peers[pos].id;
        if let Some(why) = self.finished_with(pos) {
            return Verdict::Close(why);
        }
        if self.peers[pos].instance.is_some_and(|i| i != instance) {
            return Verdict::Close(format!(
                "VM {id} restarted: a VM cannot rejoin a run it left"
            ));
        }
        let now = Instant::now();
        if let Some(old) = self.peers[pos].conn.take() {
            // A peer that reconnects found its old connection dead before we did.
            self.drop_conn(old);
            if self.peers[pos].phase == Phase::Up {
                self.went_down(pos, "the peer reconnected".into());
            }
        }
        let resent = {
            let mut link = lock(&self.links[pos]);
            let bye = link.out.bye_pending();
            let last = link.out.last();
            let again: Vec<Msg> = match link.out.resume(peer_has) {
                Ok(msgs) => msgs.copied().collect(),
                Err(e) => return Verdict::Close(e.0),
            };
            let mut w = Writer::new(Arc::clone(&conn.stream));
            for m in &again {
                frame_into(&mut w.backlog, &msg_frame(*m));
            }
            if bye {
                frame_into(&mut w.backlog, &Frame::Bye { last });
            }
            w.flush();
            link.waiting_since = (!again.is_empty() || bye).then_some(now);
            link.writer = Some(w);
            again.len() as u64
        };
        match conn.role {
            Role::Dialing { .. } => {
                self.dialing = self.dialing.saturating_sub(1);
                self.peers[pos].dialing = false;
            }
            Role::Challenged { .. } => {
                let c = &mut self.peers[pos].challenged;
                *c = c.saturating_sub(1);
                self.handshakes = self.handshakes.saturating_sub(1);
            }
            _ => {}
        }
        conn.role = Role::Link(pos);
        self.set_phase(pos, Phase::Up);
        let p = &mut self.peers[pos];
        p.instance = Some(instance);
        p.inc.reconnected();
        p.conn = Some(slot);
        p.last_heard = now;
        p.progress_at = now;
        let down_since = p.down_since.take();
        p.backoff = DIAL_FIRST;
        p.ack_at = None;
        let first = !p.ever_up;
        p.ever_up = true;
        if let Ok(mut errors) = self.dial_errors.lock() {
            errors[pos] = None;
        }
        if !first {
            // One line per break, once it healed (and one before, if it lasted).
            let took = now.saturating_duration_since(down_since.unwrap_or(now));
            let msg = format!(
                "link to VM {id} broke ({}) and was back after {}; {resent} messages sent again",
                p.down_why,
                seconds(took)
            );
            self.ctx.warner.warn("link healed", &msg);
        }
        self.tell(NetEvent::LinkUp {
            peer: id,
            first,
            resent,
        });
        Verdict::Open
    }

    /// A frame on an established link.
    fn link_frame(&mut self, pos: usize, frame: Frame) -> Verdict {
        let now = Instant::now();
        self.peers[pos].last_heard = now;
        match frame {
            Frame::Msg {
                seq,
                sent_tick,
                clock,
            } => {
                let p = &mut self.peers[pos];
                match p.inc.arrive(seq) {
                    Ok(Arrival::Duplicate) => return Verdict::Open,
                    Ok(Arrival::New) => {}
                    Err(e) => return Verdict::Close(e.0),
                }
                p.progress_at = now;
                let q = Queued {
                    from: p.id,
                    sent_tick,
                    msg_clock: clock,
                    arrived: p.delay.as_mut().map_or(now, |d| d.land(now)),
                };
                if p.inc.unacked() >= ACK_EVERY {
                    self.ack(pos);
                } else if self.peers[pos].ack_at.is_none() {
                    self.peers[pos].ack_at = Some(now + ACK_DELAY);
                    self.at(now + ACK_DELAY, Timer::Ack(pos));
                }
                if !self.ctx.queue.push(q) {
                    return Verdict::Close("the VM is gone".into());
                }
                self.paused = self.full();
                if self.peers[pos].inc.ended() {
                    // The last message of a relayed goodbye.
                    self.maybe_done(pos);
                }
                Verdict::Open
            }
            Frame::Ack { upto, bye } => {
                let mut link = lock(&self.links[pos]);
                let done_before = link.out.done();
                match link.out.ack(upto, bye) {
                    Ok(n) => {
                        if n > 0 || (link.out.done() && !done_before) {
                            self.peers[pos].progress_at = now;
                        }
                        let waiting = link.out.unacked() > 0 || link.out.bye_pending();
                        link.waiting_since = if !waiting {
                            None
                        } else if n > 0 {
                            Some(now)
                        } else {
                            link.waiting_since
                        };
                        drop(link);
                        self.maybe_done(pos);
                        Verdict::Open
                    }
                    Err(e) => Verdict::Close(e.0),
                }
            }
            Frame::Bye { last } => {
                if let Err(e) = self.peers[pos].inc.bye(last) {
                    return Verdict::Close(e.0);
                }
                self.peers[pos].progress_at = now;
                // At once: the peer waits for it to finish.
                self.ack(pos);
                self.maybe_done(pos);
                Verdict::Open
            }
            other => Verdict::Close(format!("unexpected {} on a link", kind(&other))),
        }
    }

    /// Sends the acknowledgement due on the link at `pos`, if any.
    fn ack(&mut self, pos: usize) {
        let p = &mut self.peers[pos];
        p.ack_at = None;
        let Some((upto, bye)) = p.inc.ack_due() else {
            return;
        };
        let mut link = lock(&self.links[pos]);
        if let Some(w) = link.writer.as_mut() {
            w.send(&Frame::Ack { upto, bye });
            p.inc.acked(upto, bye);
        }
    }

    /// A link whose both directions went through is done: the peer said
    /// goodbye and everything of its came, and it acknowledged everything of
    /// this VM's and its goodbye. (Judged by the link alone: the net thread
    /// may see the last frames before it sees the tick thread's stop.)
    fn maybe_done(&mut self, pos: usize) {
        if self.peers[pos].phase == Phase::Waiting && self.peers[pos].ever_up {
            // Down, but (say) the peer finished and left first: if nothing is
            // missing either way, there is nothing to reconnect for.
            if self.delivered(pos) {
                self.set_phase(pos, Phase::Done);
            }
            return;
        }
        if self.peers[pos].phase != Phase::Up {
            return;
        }
        if self.peers[pos].inc.ended() && self.peers[pos].inc.ack_due().is_some() {
            // The last acknowledgement goes now, not after the delay.
            self.ack(pos);
        }
        let p = &self.peers[pos];
        if p.inc.ended() && p.inc.ack_due().is_none() && lock(&self.links[pos]).out.done() {
            self.set_phase(pos, Phase::Done);
        }
    }

    /// Stopping, a link that was never up is done (nothing was sent either
    /// way), unless a handshake under way may still bring it up on the
    /// peer's side: then it is seen through like any other.
    fn maybe_never(&mut self, pos: usize) {
        let p = &self.peers[pos];
        if self.stopping
            && !p.ever_up
            && p.phase == Phase::Waiting
            && !p.dialing
            && p.challenged == 0
        {
            self.set_phase(pos, Phase::Done);
        }
    }

    /// Everything went through both ways but (maybe) the acknowledgement of
    /// this VM's goodbye: the peer has every message and this VM said goodbye.
    fn delivered(&self, pos: usize) -> bool {
        let link = lock(&self.links[pos]);
        self.peers[pos].inc.ended() && link.out.bye_said() && link.out.unacked() == 0
    }

    fn check_all_done(&mut self) {
        if self.stopping && !self.all_done && self.unfinished == 0 {
            self.all_done = true;
            self.tell(NetEvent::AllDone);
        }
    }

    /// Every precise timer that is due, the dials whose turn came, and
    /// every [`SWEEP`] the coarse ones.
    fn timers(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((when, timer))) = self.timers.peek() {
            if when > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::Ack(pos) => {
                    if self.peers[pos].ack_at.is_some_and(|t| t <= now) {
                        self.ack(pos);
                    }
                }
                Timer::Dial(pos) => self.dial_due(pos, now),
                Timer::Handshake(slot, generation) => {
                    let late = |net: &Net| {
                        net.conns[slot].generation == generation
                            && net.conns[slot]
                                .conn
                                .as_ref()
                                .and_then(|c| c.role.deadline())
                                .is_some_and(|d| d <= now)
                    };
                    if late(self) {
                        // What came while this VM did not run counts: on a
                        // loaded machine the answer may be waiting unread.
                        let token = token_of(slot, generation);
                        self.writable(token);
                        self.serve(token);
                    }
                    if late(self) {
                        self.close(slot, "the handshake did not finish in time".into());
                    }
                }
            }
        }
        while self.dialing < MAX_DIALING {
            let Some(pos) = self.dial_queue.pop_front() else {
                break;
            };
            self.peers[pos].queued = false;
            self.dial(pos);
        }
        if now >= self.next_sweep {
            self.next_sweep = now + self.sweep_every();
            self.sweep(now);
        }
    }

    /// The link at `pos`'s last progress, or the launcher's last relay if
    /// that came later (see [`Net::relayed_at`]).
    fn relay_progress(&self, pos: usize) -> Instant {
        let own = self.peers[pos].progress_at;
        self.relayed_at.map_or(own, |at| at.max(own))
    }

    /// [`LINK_TIMEOUT`], stretched for large runs.
    fn link_timeout(&self) -> Duration {
        let stretch = (self.peers.len() / 128).clamp(1, 4) as u32;
        LINK_TIMEOUT * stretch
    }

    /// [`SWEEP`], stretched with the number of peers so that sweeping costs
    /// about the same per second whatever the run's size (up to 2 s at 1,024 VMs).
    fn sweep_every(&self) -> Duration {
        let stretch = (self.peers.len() / 128).clamp(1, 8) as u32;
        SWEEP * stretch
    }

    /// A dial timer fired: queue the dial if it is still wanted.
    fn dial_due(&mut self, pos: usize, now: Instant) {
        let p = &self.peers[pos];
        let wanted = p.phase == Phase::Waiting
            && p.dial.is_some()
            && !p.refused
            && !p.dialing
            // Stopping, a link never up stays down.
            && (p.ever_up || !self.stopping)
            && now >= p.next_dial;
        if wanted && !p.queued {
            self.peers[pos].queued = true;
            self.dial_queue.push_back(pos);
        }
    }

    /// The coarse timers, one pass over the peers: broken links, keepalives
    /// while paused, giving up (unreachable, or the stop grace).
    fn sweep(&mut self, now: Instant) {
        for pos in 0..self.peers.len() {
            match self.peers[pos].phase {
                Phase::Up => self.watch_up(pos, now),
                Phase::Waiting => self.watch_waiting(pos, now),
                Phase::Done | Phase::Lost => continue,
            }
            let p = &self.peers[pos];
            if !self.stopping || matches!(p.phase, Phase::Done | Phase::Lost) {
                continue;
            }
            if !p.ever_up {
                self.maybe_never(pos);
            } else if self.relayed && (!p.inc.goodbye_known() || p.refused) {
                // Waiting for the launcher to relay the goodbye (or say
                // `silent`), or to say the peer that finished with this VM
                // exited (`finished`, or `gone`): it alone knows.
            } else if self.relay_progress(pos) + self.ctx.stop_grace <= now {
                let unacked = lock(&self.links[pos]).out.unacked();
                let why = format!(
                    "no progress for {} s of the stop (--stop-grace): {}, {unacked} of ours unacknowledged",
                    self.ctx.stop_grace.as_secs_f64(),
                    p.inc.missing()
                );
                self.lose(pos, why);
            }
        }
    }

    fn watch_up(&mut self, pos: usize, now: Instant) {
        if self.stopping && self.relayed {
            // Stopping under the launcher, silence is no break: every VM is
            // on this machine, where only a reset breaks a connection, and a
            // peer slow to answer is starved, not gone (at 1024 VMs such
            // false breaks, redialled on a machine with no CPU to spare,
            // cost hundreds of link_downs and peers given up on). The
            // launcher says who is silent or gone, and bounds the stop.
            return;
        }
        let p = &self.peers[pos];
        let (dead, keepalive) = {
            let mut link = lock(&self.links[pos]);
            let dead = link
                .waiting_since
                .is_some_and(|since| now >= since.max(p.last_heard) + self.link_timeout());
            let quiet = link
                .writer
                .as_ref()
                .is_some_and(|w| now >= w.wrote + KEEPALIVE);
            if !dead && self.paused && quiet {
                // Not reading, but alive: say so with the last ack.
                let (upto, bye) = (p.inc.received(), p.inc.ended());
                if let Some(w) = link.writer.as_mut() {
                    w.send(&Frame::Ack { upto, bye });
                }
            }
            (dead, quiet)
        };
        let _ = keepalive;
        if dead {
            // Unread answers count: this VM may not have run for a while.
            if let Some(slot) = self.peers[pos].conn {
                self.serve(token_of(slot, self.conns[slot].generation));
            }
            let p = &self.peers[pos];
            let link = lock(&self.links[pos]);
            let still = link
                .waiting_since
                .is_some_and(|since| now >= since.max(p.last_heard) + self.link_timeout());
            drop(link);
            if !still || self.peers[pos].phase != Phase::Up {
                return;
            }
            let why = format!("no answer for {} s", self.link_timeout().as_secs());
            self.link_down(pos, why);
        }
    }

    fn watch_waiting(&mut self, pos: usize, now: Instant) {
        let p = &mut self.peers[pos];
        if let Some(since) = p
            .down_since
            .filter(|s| !p.down_warned && now >= *s + LINK_TIMEOUT * 2)
        {
            p.down_warned = true;
            let msg = format!(
                "link to VM {} broke ({}) {} ago; reconnecting",
                p.id,
                p.down_why,
                seconds(now - since)
            );
            self.ctx.warner.warn("link down", &msg);
        }
        let p = &self.peers[pos];
        if let Some(since) = p.down_since {
            if !self.stopping && now >= since + self.ctx.peer_timeout {
                let why = format!(
                    "unreachable for {} s (--peer-timeout)",
                    self.ctx.peer_timeout.as_secs_f64()
                );
                self.lose(pos, why);
                return;
            }
        }
        // A dial whose timer was lost in a race is queued here at the latest.
        self.dial_due(pos, now);
    }

    /// Starts a non-blocking connect to the peer at `pos`.
    fn dial(&mut self, pos: usize) {
        let now = Instant::now();
        let p = &mut self.peers[pos];
        if p.dialing || p.phase != Phase::Waiting {
            return;
        }
        p.next_dial = now + p.backoff;
        p.backoff = (p.backoff * 2).min(DIAL_MAX);
        // If this dial fails, the next one.
        let next = p.next_dial;
        self.at(next, Timer::Dial(pos));
        let p = &mut self.peers[pos];
        let addr = p.dial.clone().unwrap_or_default();
        // An address is dialled at once; a name is looked up afresh by the
        // resolver thread (a lookup may take seconds, which this thread,
        // serving every link, cannot wait), and dialled when it answers.
        let target = match (addr.parse::<SocketAddr>(), p.addrs.take()) {
            (Ok(a), _) => a,
            (Err(_), Some(all)) => all[p.turn % all.len()],
            (Err(_), None) => {
                if p.resolving {
                    return;
                }
                if self.resolver.ask(pos, addr.clone()) {
                    self.peers[pos].resolving = true;
                } else {
                    let why = format!("cannot resolve {addr}: no thread to look it up");
                    self.note_dial_error(pos, &why);
                }
                return;
            }
        };
        let stream = match MioStream::connect(target) {
            Ok(s) => s,
            Err(e) => {
                self.peers[pos].turn = self.peers[pos].turn.wrapping_add(1);
                self.note_dial_error(pos, &e.to_string());
                return;
            }
        };
        let role = Role::Dialing {
            deadline: now + HANDSHAKE_LONG,
            pos,
            connected: false,
            nonce: auth::nonce(),
        };
        if let Some(slot) = self.admit(stream, target, role) {
            self.peers[pos].dialing = true;
            self.dialing += 1;
            // On loopback the connection is often up already: say hello now
            // rather than on the next wake.
            self.writable(token_of(slot, self.conns[slot].generation));
        }
    }

    /// The resolver's answer for the peer at `pos`: its addresses go to
    /// the next dial, queued now; a failure is the dial's error.
    fn resolved(&mut self, pos: usize, got: std::io::Result<Vec<SocketAddr>>) {
        let p = &mut self.peers[pos];
        p.resolving = false;
        let addr = p.dial.clone().unwrap_or_default();
        match got {
            Ok(all) if !all.is_empty() => p.addrs = Some(all),
            Ok(_) => return self.note_dial_error(pos, &format!("{addr} resolves to no address")),
            Err(e) => return self.note_dial_error(pos, &format!("cannot resolve {addr}: {e}")),
        }
        let p = &mut self.peers[pos];
        if p.phase == Phase::Waiting && !p.refused && !p.dialing && !p.queued {
            p.queued = true;
            self.dial_queue.push_back(pos);
        }
    }

    fn dial_failed(&mut self, slot: usize, pos: usize, why: String) {
        self.peers[pos].turn = self.peers[pos].turn.wrapping_add(1);
        self.note_dial_error(pos, &why);
        self.close(slot, why);
    }

    fn note_dial_error(&mut self, pos: usize, why: &str) {
        if let Ok(mut errors) = self.dial_errors.lock() {
            errors[pos] = Some(why.to_string());
        }
    }

    /// The link at `pos` broke: drop its connection; the dialer dials again.
    fn link_down(&mut self, pos: usize, why: String) {
        if let Some(slot) = self.peers[pos].conn.take() {
            self.drop_conn(slot);
        }
        if self.peers[pos].phase == Phase::Up {
            self.went_down(pos, why);
        }
    }

    /// Bookkeeping of a link that was up and is not.
    fn went_down(&mut self, pos: usize, why: String) {
        lock(&self.links[pos]).writer = None;
        let now = Instant::now();
        // A link that had delivered everything both ways is done (the peer
        // typically exited after its stop).
        if self.delivered(pos) {
            self.set_phase(pos, Phase::Done);
            return;
        }
        // Stopping, a peer that closed cleanly with nothing of ours
        // missing has finished (its goodbye may still be on its way through
        // the launcher): no link to remake, nothing to log.
        let finished = {
            let link = lock(&self.links[pos]);
            why == CLOSED && link.out.bye_said() && link.out.unacked() == 0
        };
        self.set_phase(pos, Phase::Waiting);
        if finished {
            self.peers[pos].down_since = Some(now);
            self.peers[pos].down_warned = true;
            self.peers[pos].down_why = why;
            return;
        }
        if self.peers[pos].dial.is_some() {
            self.at(now, Timer::Dial(pos));
        }
        let p = &mut self.peers[pos];
        p.down_since = Some(now);
        p.ack_at = None;
        p.next_dial = now;
        p.backoff = DIAL_FIRST;
        p.down_why = short_reason(&why).to_string();
        p.down_warned = false;
        let id = p.id;
        self.tell(NetEvent::LinkDown { peer: id, why });
    }

    /// Gives up on the peer at `pos`.
    fn lose(&mut self, pos: usize, why: String) {
        if matches!(self.peers[pos].phase, Phase::Lost | Phase::Done) {
            return;
        }
        if let Some(slot) = self.peers[pos].conn.take() {
            self.drop_conn(slot);
        }
        {
            let mut link = lock(&self.links[pos]);
            link.writer = None;
            link.lost = true;
        }
        // Nothing missing either way: done, not lost.
        if self.delivered(pos) {
            self.set_phase(pos, Phase::Done);
            return;
        }
        self.set_phase(pos, Phase::Lost);
        let id = self.peers[pos].id;
        let why = match self.peers[pos].down_since {
            Some(_) => format!("{why}; its link broke ({})", self.peers[pos].down_why),
            None => why,
        };
        self.tell(NetEvent::PeerLost { peer: id, why });
    }

    /// Drops a connection, saying why where someone needs to know.
    fn close(&mut self, slot: usize, why: String) {
        let Some(conn) = self.conns[slot].conn.as_ref() else {
            return;
        };
        let addr = conn.addr;
        match conn.role {
            Role::Accepted(_) | Role::Challenged { .. } => {
                // A handshake cut short by the stop is no news.
                if !self.stopping {
                    self.ctx.warner.warn(
                        "rejected connection",
                        &format!("rejected connection from {addr}: {why}"),
                    );
                }
                self.drop_conn(slot);
            }
            Role::Dialing { pos, .. } => {
                self.note_dial_error(pos, &why);
                self.drop_conn(slot);
            }
            Role::Link(pos) => {
                // Only the link's current connection takes the link down
                // (an old one replaced by a reconnection may end later).
                let current = self.peers[pos].conn == Some(slot);
                if current {
                    self.peers[pos].conn = None;
                }
                self.drop_conn(slot);
                if current && self.peers[pos].phase == Phase::Up {
                    self.went_down(pos, why);
                }
            }
        }
    }

    /// Forgets a connection (closing the socket once the last handle on it goes).
    fn drop_conn(&mut self, slot: usize) {
        let Some(conn) = self.conns[slot].conn.take() else {
            return;
        };
        let next = (self.conns[slot].generation as usize + 1) & SLOT_MASK;
        self.conns[slot].generation = next as u32;
        self.free.push(slot);
        match conn.role {
            Role::Dialing { pos, .. } => {
                self.dialing = self.dialing.saturating_sub(1);
                self.peers[pos].dialing = false;
            }
            Role::Challenged { pos, .. } => {
                let c = &mut self.peers[pos].challenged;
                *c = c.saturating_sub(1);
                self.handshakes = self.handshakes.saturating_sub(1);
            }
            Role::Accepted(_) => self.handshakes = self.handshakes.saturating_sub(1),
            Role::Link(pos) => {
                // The tick thread's handle goes first, so this one is the
                // last and closing it takes the socket out of the poll set.
                let mut link = lock(&self.links[pos]);
                if link
                    .writer
                    .as_ref()
                    .is_some_and(|w| Arc::ptr_eq(&w.stream, &conn.stream))
                {
                    link.writer = None;
                }
            }
        }
        // Dropping the last handle closes the socket (no `shutdown` first:
        // at the end of a 1024-VM run that was a million system calls).
        if let Role::Dialing { pos, .. } | Role::Challenged { pos, .. } = conn.role {
            self.maybe_never(pos);
        }
    }

    fn tell(&self, event: NetEvent) {
        (self.ctx.events)(event);
    }

    fn pos(&self, id: u32) -> Option<usize> {
        self.peers.binary_search_by_key(&id, |p| p.id).ok()
    }

    /// True while the VM holds `max_queue` messages and is not stopping.
    fn full(&self) -> bool {
        self.ctx.queue.held() >= self.ctx.max_queue && !self.ctx.stopping.load(Ordering::SeqCst)
    }

    /// After a pause, reads every link again: edge-triggered readiness was
    /// used up while nobody read.
    fn resume_if_room(&mut self) {
        if !self.paused || self.full() {
            return;
        }
        self.paused = false;
        // Round robin from where the last resume stopped: each place freed on
        // the queue goes to the next connection, so no peer is starved.
        let (n, start) = (self.conns.len(), self.resume_from);
        for step in 1..=n {
            if self.paused {
                return;
            }
            let slot = (start + step) % n;
            self.resume_from = slot;
            let generation = self.conns[slot].generation;
            if self.conns[slot].conn.is_some() {
                self.serve(token_of(slot, generation));
            }
        }
    }
}

/// `1.2 s` or `35 ms`.
/// A peer's answer to this VM's `Hello` that no redial changes (see
/// [`Net::check_hello`] and [`Net::finished_with`], which word it).
fn refused_for_good(reason: &str, me: u32) -> Option<Refusal> {
    if reason.ends_with(&format!(" gave up on VM {me}")) {
        Some(Refusal::GaveUp)
    } else if reason.ends_with(&format!(" has finished with VM {me}")) {
        Some(Refusal::Finished)
    } else {
        None
    }
}

/// How a peer refused this VM for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    GaveUp,
    Finished,
}

fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// An error without the OS's ` (os error N)`.
fn short_reason(why: &str) -> &str {
    match why.rfind(" (os error ") {
        Some(at) if why.ends_with(')') => &why[..at],
        _ => why,
    }
}

/// The frame's kind, for messages (never its content).
fn kind(frame: &Frame) -> &'static str {
    match frame {
        Frame::Hello { .. } => "hello",
        Frame::Challenge { .. } => "challenge",
        Frame::Reject { .. } => "reject",
        Frame::Msg { .. } => "message",
        Frame::Bye { .. } => "goodbye",
        Frame::Proof { .. } => "proof",
        Frame::Ack { .. } => "acknowledgement",
    }
}

fn frame_into(out: &mut Vec<u8>, frame: &Frame) {
    frame.encode(out);
}

/// Writes one short handshake frame; a fresh socket's buffer takes it whole.
fn write_frame(stream: &MioStream, frame: &Frame) -> Result<(), String> {
    let mut bytes = Vec::new();
    frame.encode(&mut bytes);
    match write_some(stream, &bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err("the peer does not read its handshake".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A token is a slot in the low half of a `usize` and the slot's generation
/// in the high half, so an event for a closed connection never reaches the
/// one that took its slot.
const SLOT_BITS: u32 = usize::BITS / 2;
const SLOT_MASK: usize = (1 << SLOT_BITS) - 1;

fn token_of(slot: usize, generation: u32) -> Token {
    Token(((generation as usize & SLOT_MASK) << SLOT_BITS) | slot)
}

fn slot_of(token: Token) -> (usize, u32) {
    (token.0 & SLOT_MASK, (token.0 >> SLOT_BITS) as u32)
}

/// Writes what the non-blocking socket takes; 0 when it takes nothing now.
fn write_some(mut stream: &MioStream, bytes: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < bytes.len() {
        match stream.write(&bytes[done..]) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "peer closed")),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_peer_that_gave_up_or_finished_refuses_for_good() {
        assert_eq!(
            refused_for_good("VM 5 gave up on VM 1", 1),
            Some(Refusal::GaveUp)
        );
        assert_eq!(
            refused_for_good("VM 5 has finished with VM 1", 1),
            Some(Refusal::Finished)
        );
        assert_eq!(refused_for_good("VM 5 gave up on VM 12", 1), None);
        assert_eq!(
            refused_for_good("VM 2 should wait for VM 1 to dial it", 1),
            None
        );
    }

    #[test]
    fn tokens_carry_slot_and_generation_and_never_the_listeners() {
        for (slot, generation) in [(0, 0), (7, 1), (63, 12_345), (1, SLOT_MASK as u32 - 1)] {
            let token = token_of(slot, generation);
            assert_eq!(slot_of(token), (slot, generation));
            assert_ne!(token, LISTENER);
            assert_ne!(token, WAKER);
        }
    }
}
