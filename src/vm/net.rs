//! A VM's network: one thread that owns the listener and every inbound
//! connection, multiplexed with `mio`'s own portable sockets (epoll on Linux,
//! kqueue on the BSDs and macOS, AFD on Windows), and feeds the network
//! queue; plus the outbound connections the tick loop writes to. No clock
//! logic here.
//!
//! One thread per VM, whatever the number of peers: a 64-VM run holds 64 of
//! them instead of 4,032 reader threads (NOTEBOOK.md, "One net thread").
//!
//! Hostile or broken input closes only its own connection, with one
//! rate-limited warning on stderr: bad frames, wrong run, unknown or duplicate
//! sender, a handshake that does not finish within [`HANDSHAKE_TIMEOUT`].
//! Outbound writes never block the tick loop: sockets are non-blocking and
//! whatever the kernel does not take waits in a bounded backlog.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::{TcpListener as MioListener, TcpStream as MioStream};
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};

use super::Ctl;
use super::queue::{DelayLine, QueueTx, Queued};
pub use super::warn::Warner;
use crate::config::DelayRange;
use crate::wire::{Frame, FrameReader, WireError};

/// How long a new connection has to complete its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections allowed in handshake at once; past that the oldest is dropped,
/// so connections that never speak cannot keep a real peer out.
pub const MAX_HANDSHAKING: usize = 64;
/// Most bytes waiting for one slow peer before the link is declared lost
/// (about 55,000 messages).
pub const MAX_BACKLOG: usize = 1 << 20;
/// Default for the most messages a VM holds (`--max-queue`); while it holds
/// this many the net thread stops reading (so TCP pushes back on senders),
/// until the VM stops.
pub const MAX_QUEUE: usize = 1 << 20;
/// How often a paused net thread looks whether the queue has room again.
const PAUSE_POLL: Duration = Duration::from_millis(1);
/// How long after a failed accept the listener is tried again.
const ACCEPT_RETRY: Duration = Duration::from_millis(10);
/// Bytes read from one connection at a time.
const READ_CHUNK: usize = 4096;
const NET_STACK: usize = 256 * 1024;
const LISTENER: Token = Token(usize::MAX);
/// Connections the kernel holds for the listener before it accepts them.
/// std's `TcpListener::bind` asks for 128; a burst of connections past that
/// (a port scan, a fuzzer) has its SYNs dropped and retried a second later,
/// while real peers wait behind it. The kernel caps this at its own limit
/// (`net.core.somaxconn` on Linux, 4096 by default).
pub const LISTEN_BACKLOG: i32 = 1024;

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
    /// A peer's inbound connection passed the handshake.
    InboundUp(u32),
    /// A peer's inbound connection ended: `clean` if it said `Bye` first.
    InboundClosed { peer: u32, clean: bool, why: String },
}

/// Everything the net thread needs to know and share.
pub struct Inbound {
    pub me: u32,
    pub run: String,
    /// Sorted peer ids.
    pub peers: Vec<u32>,
    pub queue: QueueTx,
    pub events: super::Ctls,
    pub warner: Arc<Warner>,
    /// The net thread stops reading while the VM holds this many messages.
    pub max_queue: usize,
    /// Set when the VM stops: from then on every message goes to `pending`,
    /// so the net thread reads on whatever the VM holds, to reach each `Bye`.
    pub stopping: Arc<AtomicBool>,
    /// `--delay`, and the run's seed it draws from.
    pub delay: Option<(DelayRange, u64)>,
}

/// Starts the net thread on a bound listener.
pub fn spawn(listener: std::net::TcpListener, ctx: Inbound) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = MioListener::from_std(listener);
    let poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let claimed = vec![false; ctx.peers.len()];
    let mut net = Net {
        ctx,
        listener,
        poll,
        conns: Vec::new(),
        free: Vec::new(),
        claimed,
        paused: false,
        resume_from: 0,
        retry_accept: None,
        buf: vec![0; READ_CHUNK],
    };
    thread::Builder::new()
        .name("net".into())
        .stack_size(NET_STACK)
        .spawn(move || net.run())
        .map(|_| ())
}

/// The net thread's state.
struct Net {
    ctx: Inbound,
    listener: MioListener,
    poll: Poll,
    /// Connections by slot; a token is (generation << 32) | slot.
    conns: Vec<Slot>,
    free: Vec<usize>,
    /// One flag per peer: an inbound connection was accepted (never cleared,
    /// so nobody can take a peer's place later).
    claimed: Vec<bool>,
    /// The VM holds `max_queue` messages: no peer's connection is read.
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
    stream: MioStream,
    addr: SocketAddr,
    /// Bytes read but not yet decoded (less than one frame, except while paused).
    pending: Vec<u8>,
    state: State,
}

enum State {
    /// Waiting for a `Hello` until this instant.
    Handshake(Instant),
    /// A peer, after its `Hello` was accepted.
    Peer {
        id: u32,
        delay: Option<Box<DelayLine>>,
    },
}

/// What reading a connection came to.
enum Verdict {
    /// Nothing more for now; keep it.
    Open,
    /// Drop it; for a peer, tell the VM (`clean` if it said bye).
    Close { clean: bool, why: String },
}

impl Net {
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
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
                    token => self.serve(token),
                }
            }
            if self.retry_accept.is_some_and(|at| at <= Instant::now()) {
                self.accept_all();
            }
            self.expire_handshakes();
            self.resume_if_room();
        }
    }

    /// The earliest handshake deadline or accept retry, or a short poll while paused.
    fn next_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let handshakes = self
            .conns
            .iter()
            .filter_map(|s| match s.conn.as_ref()?.state {
                State::Handshake(deadline) => Some(deadline),
                State::Peer { .. } => None,
            });
        let pause = self.paused.then(|| now + PAUSE_POLL);
        let wake = handshakes.chain(self.retry_accept).chain(pause).min()?;
        Some(wake.saturating_duration_since(now))
    }

    /// Accepts until the listener has nothing more (readiness is
    /// edge-triggered: connections left waiting would get no new event).
    fn accept_all(&mut self) {
        self.retry_accept = None;
        loop {
            match self.listener.accept() {
                Ok((stream, addr)) => self.admit(stream, addr),
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

    /// Registers a new connection for its handshake.
    /// (mio's accepted streams are already non-blocking.)
    fn admit(&mut self, mut stream: MioStream, addr: SocketAddr) {
        if self.handshaking() >= MAX_HANDSHAKING {
            self.drop_oldest_handshake();
        }
        let slot = self.free.pop().unwrap_or_else(|| {
            self.conns.push(Slot::default());
            self.conns.len() - 1
        });
        let token = token_of(slot, self.conns[slot].generation);
        let registered = self
            .poll
            .registry()
            .register(&mut stream, token, Interest::READABLE);
        if let Err(e) = registered {
            self.free.push(slot);
            self.ctx.warner.warn(
                "dropped connection",
                &format!("dropped connection from {addr}: {e}"),
            );
            return;
        }
        self.conns[slot].conn = Some(Conn {
            stream,
            addr,
            pending: Vec::new(),
            state: State::Handshake(Instant::now() + HANDSHAKE_TIMEOUT),
        });
        // Edge-triggered: bytes that came with the connection are read now.
        self.serve(token);
    }

    fn handshaking(&self) -> usize {
        self.conns
            .iter()
            .filter(|s| {
                matches!(
                    s.conn,
                    Some(Conn {
                        state: State::Handshake(_),
                        ..
                    })
                )
            })
            .count()
    }

    fn drop_oldest_handshake(&mut self) {
        let oldest = (0..self.conns.len())
            .filter_map(|i| match self.conns[i].conn.as_ref()?.state {
                State::Handshake(deadline) => Some((deadline, i)),
                State::Peer { .. } => None,
            })
            .min();
        if let Some((_, slot)) = oldest {
            let why = "too many handshakes at once".to_string();
            self.close(slot, Verdict::Close { clean: false, why });
        }
    }

    /// Reads what a connection has, unless its token is stale.
    fn serve(&mut self, token: Token) {
        let (slot, generation) = slot_of(token);
        let Some(s) = self.conns.get_mut(slot) else {
            return;
        };
        if s.generation != generation {
            return;
        }
        let Some(mut conn) = s.conn.take() else {
            return;
        };
        let verdict = self.pump(&mut conn);
        self.conns[slot].conn = Some(conn);
        if let Verdict::Close { .. } = verdict {
            self.close(slot, verdict);
        }
    }

    /// Decodes what is buffered, then reads until the socket has nothing more.
    fn pump(&mut self, conn: &mut Conn) -> Verdict {
        loop {
            if let Verdict::Close { clean, why } = self.decode(conn) {
                return Verdict::Close { clean, why };
            }
            if self.holds_back(conn) {
                return Verdict::Open;
            }
            match conn.stream.read(&mut self.buf) {
                Ok(0) => return eof(conn),
                Ok(n) => conn.pending.extend_from_slice(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Verdict::Open,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return closed(e.to_string()),
            }
        }
    }

    /// Handles every complete frame in `conn.pending`.
    fn decode(&mut self, conn: &mut Conn) -> Verdict {
        let mut used = 0;
        let verdict = loop {
            if self.holds_back(conn) {
                break Verdict::Open;
            }
            match Frame::decode(&conn.pending[used..]) {
                Ok((frame, n)) => {
                    used += n;
                    if let Verdict::Close { clean, why } = self.frame(conn, frame) {
                        break Verdict::Close { clean, why };
                    }
                }
                Err(WireError::Incomplete) => break Verdict::Open,
                Err(e) => break closed(e.to_string()),
            }
        };
        conn.pending.drain(..used);
        verdict
    }

    /// While paused, a peer's connection is left unread (TCP pushes back on
    /// the peer); a handshake still goes on.
    fn holds_back(&self, conn: &Conn) -> bool {
        self.paused && matches!(conn.state, State::Peer { .. })
    }

    fn frame(&mut self, conn: &mut Conn, frame: Frame) -> Verdict {
        match (&mut conn.state, frame) {
            (State::Handshake(_), Frame::Hello { from, to, run }) => {
                self.hello(conn, from, to, &run)
            }
            (State::Handshake(_), other) => closed(format!("expected a hello, got {other:?}")),
            (State::Peer { id, delay }, Frame::Msg { sent_tick, clock }) => {
                let read = Instant::now();
                let q = Queued {
                    from: *id,
                    sent_tick,
                    msg_clock: clock,
                    arrived: delay.as_mut().map_or(read, |d| d.land(read)),
                };
                if !self.ctx.queue.push(q) {
                    return closed("the VM is gone".into());
                }
                self.paused = self.full();
                Verdict::Open
            }
            (State::Peer { .. }, Frame::Bye) => Verdict::Close {
                clean: true,
                why: "stopped before this VM".into(),
            },
            (State::Peer { .. }, other) => {
                closed(format!("unexpected {other:?} after the handshake"))
            }
        }
    }

    /// Checks a `Hello`, answers it, and makes the connection a peer's.
    fn hello(&mut self, conn: &mut Conn, from: u32, to: u32, run: &str) -> Verdict {
        let verdict = self.check_hello(from, to, run);
        let reply = match &verdict {
            Ok(_) => Frame::Accept,
            Err(why) => Frame::Reject {
                reason: why.clone(),
            },
        };
        let mut bytes = Vec::new();
        reply.encode(&mut bytes);
        // A fresh socket's send buffer is empty: the short answer fits at once.
        if let Err(e) = conn.stream.write_all(&bytes) {
            return closed(format!("could not answer the hello: {e}"));
        }
        match verdict {
            Ok(pos) => {
                self.claimed[pos] = true;
                let delay = self
                    .ctx
                    .delay
                    .map(|(range, seed)| Box::new(DelayLine::new(range, seed, from, self.ctx.me)));
                conn.state = State::Peer { id: from, delay };
                self.ctx.events.send(Ctl::Net(NetEvent::InboundUp(from)));
                Verdict::Open
            }
            Err(why) => closed(why),
        }
    }

    /// The peer's position in `peers`, or why its hello is refused.
    fn check_hello(&self, from: u32, to: u32, run: &str) -> Result<usize, String> {
        let ctx = &self.ctx;
        if run != ctx.run {
            return Err(format!(
                "VM {from} is in run `{run}`, this VM is in run `{}`",
                ctx.run
            ));
        }
        if to != ctx.me {
            return Err(format!("VM {from} wanted VM {to}, this is VM {}", ctx.me));
        }
        let Ok(pos) = ctx.peers.binary_search(&from) else {
            return Err(format!("VM {from} is not a peer of VM {}", ctx.me));
        };
        if self.claimed[pos] {
            return Err(format!("VM {from} is already connected"));
        }
        Ok(pos)
    }

    /// Drops a connection, saying why where someone needs to know.
    fn close(&mut self, slot: usize, verdict: Verdict) {
        let Some(mut conn) = self.conns[slot].conn.take() else {
            return;
        };
        let next = (self.conns[slot].generation as usize + 1) & SLOT_MASK;
        self.conns[slot].generation = next as u32;
        self.free.push(slot);
        let _ = self.poll.registry().deregister(&mut conn.stream);
        let Verdict::Close { clean, why } = verdict else {
            return;
        };
        match conn.state {
            State::Handshake(_) => self.ctx.warner.warn(
                "rejected connection",
                &format!("rejected connection from {}: {why}", conn.addr),
            ),
            State::Peer { id, .. } => {
                if !clean {
                    self.ctx.warner.warn(
                        "connection ended",
                        &format!("connection from VM {id} ({}) ended: {why}", conn.addr),
                    );
                }
                let closed = NetEvent::InboundClosed {
                    peer: id,
                    clean,
                    why,
                };
                self.ctx.events.send(Ctl::Net(closed));
            }
        }
    }

    fn expire_handshakes(&mut self) {
        let now = Instant::now();
        for slot in 0..self.conns.len() {
            let late = matches!(
                self.conns[slot].conn,
                Some(Conn { state: State::Handshake(deadline), .. }) if deadline <= now
            );
            if late {
                let why = format!("no hello within {} s", HANDSHAKE_TIMEOUT.as_secs());
                self.close(slot, Verdict::Close { clean: false, why });
            }
        }
    }

    /// True while the VM holds `max_queue` messages and is not stopping.
    fn full(&self) -> bool {
        self.ctx.queue.held() >= self.ctx.max_queue && !self.ctx.stopping.load(Ordering::SeqCst)
    }

    /// After a pause, reads every peer again: edge-triggered readiness was
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

fn closed(why: String) -> Verdict {
    Verdict::Close { clean: false, why }
}

fn eof(conn: &Conn) -> Verdict {
    if conn.pending.is_empty() {
        closed("connection closed without a bye".into())
    } else {
        closed("connection closed inside a frame".into())
    }
}

/// Why an outbound connection could not be made.
#[derive(Debug)]
pub enum ConnectError {
    /// Nobody answered (yet): worth retrying.
    Unreachable(String),
    /// Somebody answered and said no (another run, wrong id...).
    Rejected(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Unreachable(why) => f.write_str(why),
            ConnectError::Rejected(why) => write!(f, "rejected: {why}"),
        }
    }
}

/// A persistent connection to one peer.
pub struct Outbound {
    pub peer: u32,
    stream: TcpStream,
    backlog: Vec<u8>,
    frame: Vec<u8>,
}

/// Connects to `peer` at `addr` and completes the handshake.
pub fn connect(
    me: u32,
    peer: u32,
    addr: &str,
    run: &str,
    timeout: Duration,
) -> Result<Outbound, ConnectError> {
    let unreachable = |e: io::Error| ConnectError::Unreachable(e.to_string());
    let target = addr
        .to_socket_addrs()
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| ConnectError::Unreachable(format!("{addr} resolves to no address")))?;
    let stream = TcpStream::connect_timeout(&target, timeout).map_err(unreachable)?;
    stream.set_nodelay(true).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(unreachable)?;
    let mut hello = Vec::new();
    Frame::Hello {
        from: me,
        to: peer,
        run: run.to_string(),
    }
    .encode(&mut hello);
    (&stream).write_all(&hello).map_err(unreachable)?;
    let mut reader = FrameReader::new(&stream);
    match reader.next_frame() {
        Ok(Frame::Accept) => {}
        Ok(Frame::Reject { reason }) => return Err(ConnectError::Rejected(reason)),
        Ok(other) => return Err(ConnectError::Rejected(format!("answered {other:?}"))),
        Err(e) => return Err(ConnectError::Unreachable(format!("handshake failed: {e}"))),
    }
    stream.set_nonblocking(true).map_err(unreachable)?;
    Ok(Outbound {
        peer,
        stream,
        backlog: Vec::new(),
        frame: Vec::with_capacity(32),
    })
}

impl Outbound {
    /// Sends one message without blocking; what the kernel does not take now
    /// waits in the backlog.
    pub fn send(&mut self, sent_tick: u64, clock: u64) -> io::Result<()> {
        self.frame.clear();
        Frame::Msg { sent_tick, clock }.encode(&mut self.frame);
        if self.backlog.is_empty() {
            let n = write_some(&self.stream, &self.frame)?;
            self.backlog.extend_from_slice(&self.frame[n..]);
        } else {
            self.backlog.extend_from_slice(&self.frame);
            self.drain()?;
        }
        if self.backlog.len() > MAX_BACKLOG {
            return Err(io::Error::other(format!(
                "VM {} has not read {} bytes of messages",
                self.peer,
                self.backlog.len()
            )));
        }
        Ok(())
    }

    /// True if some bytes still wait for the peer.
    pub fn has_backlog(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// Hands as much of the backlog to the kernel as it takes now.
    pub fn drain(&mut self) -> io::Result<()> {
        let n = write_some(&self.stream, &self.backlog)?;
        self.backlog.drain(..n);
        Ok(())
    }

    /// Stops cleanly: writes the backlog and `Bye` (waiting at most `timeout`),
    /// then closes the sending half.
    pub fn finish(mut self, timeout: Duration) -> io::Result<()> {
        Frame::Bye.encode(&mut self.backlog);
        self.stream.set_nonblocking(false)?;
        self.stream.set_write_timeout(Some(timeout))?;
        (&self.stream).write_all(&self.backlog)?;
        self.stream.shutdown(Shutdown::Write)
    }
}

/// Writes what the non-blocking socket takes; 0 when it takes nothing now.
fn write_some(mut stream: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
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
    fn tokens_carry_slot_and_generation_and_never_the_listeners() {
        for (slot, generation) in [(0, 0), (7, 1), (63, 12_345), (1, SLOT_MASK as u32)] {
            let token = token_of(slot, generation);
            assert_eq!(slot_of(token), (slot, generation));
            assert_ne!(token, LISTENER);
        }
    }
}
