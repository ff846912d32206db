//! A VM's network: the listener thread, one reader thread per inbound
//! connection (handshake, then frames onto the network queue), and the
//! outbound connections the tick loop writes to. No clock logic here.
//!
//! Hostile or broken input closes only its own connection, with one
//! rate-limited warning on stderr: bad frames, wrong run, unknown or duplicate
//! sender, a handshake that does not finish within [`HANDSHAKE_TIMEOUT`].
//! Outbound writes never block the tick loop: sockets are non-blocking and
//! whatever the kernel does not take waits in a bounded backlog.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::Ctl;
use crate::wire::{Frame, FrameReader, ReadError};

/// How long a new connection has to complete its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections allowed in handshake at once; more are dropped on accept.
pub const MAX_HANDSHAKING: usize = 32;
/// Most bytes waiting for one slow peer before the link is declared lost
/// (about 55,000 messages).
pub const MAX_BACKLOG: usize = 1 << 20;
/// Default for the most messages on a VM's network queue (`--max-queue`); a
/// reader waits (and so pushes back on its sender over TCP) while the queue
/// is this full, until the VM stops.
pub const MAX_QUEUE: usize = 1 << 20;
const READER_STACK: usize = 128 * 1024;

/// A message on the network queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub from: u32,
    pub sent_tick: u64,
    pub msg_clock: u64,
    pub arrived: Instant,
}

/// What the network tells the VM's control loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A peer's inbound connection passed the handshake.
    InboundUp(u32),
    /// A peer's inbound connection ended: `clean` if it said `Bye` first.
    InboundClosed { peer: u32, clean: bool, why: String },
}

/// Prints warnings on stderr, at most a few per second.
pub struct Warner {
    me: u32,
    state: Mutex<(Instant, u32, u64)>,
}

impl Warner {
    const PER_SECOND: u32 = 5;

    pub fn new(me: u32) -> Self {
        Warner {
            me,
            state: Mutex::new((Instant::now(), 0, 0)),
        }
    }

    /// Prints `vm N: warning: MSG` unless too many were printed this second.
    pub fn warn(&self, msg: &str) {
        let Ok(mut s) = self.state.lock() else { return };
        let (window, shown, suppressed) = &mut *s;
        if window.elapsed() >= Duration::from_secs(1) {
            if *suppressed > 0 {
                eprintln!(
                    "vm {}: warning: {} more warnings suppressed",
                    self.me, suppressed
                );
            }
            (*window, *shown, *suppressed) = (Instant::now(), 0, 0);
        }
        if *shown < Self::PER_SECOND {
            *shown += 1;
            eprintln!("vm {}: warning: {msg}", self.me);
        } else {
            *suppressed += 1;
        }
    }
}

/// What the listener and its readers share.
pub struct Inbound {
    pub me: u32,
    pub run: String,
    /// Sorted peer ids.
    pub peers: Vec<u32>,
    /// One flag per peer: an inbound connection was accepted (never cleared,
    /// so nobody can take a peer's place later).
    claimed: Vec<AtomicBool>,
    handshaking: AtomicUsize,
    queue: Sender<Queued>,
    events: super::Ctls,
    pub warner: Arc<Warner>,
    /// Readers stop reading while the queue holds this many messages.
    pub max_queue: usize,
    /// Set when the VM stops: from then on every message goes to `pending`,
    /// so readers read on whatever the queue holds, to reach each `Bye`.
    pub stopping: Arc<AtomicBool>,
}

impl Inbound {
    pub fn new(
        me: u32,
        run: String,
        peers: Vec<u32>,
        queue: Sender<Queued>,
        events: super::Ctls,
        warner: Arc<Warner>,
    ) -> Self {
        let claimed = peers.iter().map(|_| AtomicBool::new(false)).collect();
        Inbound {
            me,
            run,
            peers,
            claimed,
            handshaking: AtomicUsize::new(0),
            queue,
            events,
            warner,
            max_queue: MAX_QUEUE,
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// Starts the listener thread.
pub fn spawn_acceptor(listener: TcpListener, ctx: Arc<Inbound>) -> io::Result<()> {
    thread::Builder::new()
        .name("accept".into())
        .stack_size(READER_STACK)
        .spawn(move || accept_loop(&listener, &ctx))
        .map(|_| ())
}

fn accept_loop(listener: &TcpListener, ctx: &Arc<Inbound>) {
    loop {
        let (stream, addr) = match listener.accept() {
            Ok(conn) => conn,
            Err(e) => {
                ctx.warner.warn(&format!("accept failed: {e}"));
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if ctx.handshaking.fetch_add(1, Ordering::SeqCst) >= MAX_HANDSHAKING {
            ctx.handshaking.fetch_sub(1, Ordering::SeqCst);
            ctx.warner.warn(&format!(
                "dropped connection from {addr}: too many handshakes at once"
            ));
            continue;
        }
        let c = Arc::clone(ctx);
        let spawned = thread::Builder::new()
            .name("reader".into())
            .stack_size(READER_STACK)
            .spawn(move || serve(stream, addr, &c));
        if let Err(e) = spawned {
            ctx.handshaking.fetch_sub(1, Ordering::SeqCst);
            ctx.warner
                .warn(&format!("dropped connection from {addr}: no thread: {e}"));
        }
    }
}

/// One inbound connection: handshake, then frames until `Bye` or an error.
fn serve(stream: TcpStream, addr: SocketAddr, ctx: &Inbound) {
    let _ = stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT));
    let mut reader = FrameReader::new(stream);
    let accepted = handshake(&mut reader, ctx);
    ctx.handshaking.fetch_sub(1, Ordering::SeqCst);
    let peer = match accepted {
        Ok(peer) => peer,
        Err(why) => {
            ctx.warner
                .warn(&format!("rejected connection from {addr}: {why}"));
            return;
        }
    };
    let _ = reader.get_ref().set_read_timeout(None);
    ctx.events.send(Ctl::Net(NetEvent::InboundUp(peer)));
    let (clean, why) = read_messages(&mut reader, peer, ctx);
    if !clean {
        ctx.warner
            .warn(&format!("connection from VM {peer} ({addr}) ended: {why}"));
    }
    ctx.events
        .send(Ctl::Net(NetEvent::InboundClosed { peer, clean, why }));
}

/// Reads and checks the `Hello`, answers `Accept` or `Reject`, returns the peer id.
fn handshake(reader: &mut FrameReader<TcpStream>, ctx: &Inbound) -> Result<u32, String> {
    let (from, to, run) = match reader.next_frame() {
        Ok(Frame::Hello { from, to, run }) => (from, to, run),
        Ok(other) => return Err(format!("expected a hello, got {other:?}")),
        Err(e) => return Err(e.to_string()),
    };
    let verdict = check_hello(ctx, from, to, &run);
    let reply = match &verdict {
        Ok(_) => Frame::Accept,
        Err(why) => Frame::Reject {
            reason: why.clone(),
        },
    };
    let mut bytes = Vec::new();
    reply.encode(&mut bytes);
    let mut s = reader.get_ref();
    s.write_all(&bytes)
        .map_err(|e| format!("could not answer the hello: {e}"))?;
    verdict
}

fn check_hello(ctx: &Inbound, from: u32, to: u32, run: &str) -> Result<u32, String> {
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
    if ctx.claimed[pos].swap(true, Ordering::SeqCst) {
        return Err(format!("VM {from} is already connected"));
    }
    Ok(from)
}

/// Pushes messages onto the queue until the peer says `Bye` (clean) or the
/// connection fails.
fn read_messages(reader: &mut FrameReader<TcpStream>, peer: u32, ctx: &Inbound) -> (bool, String) {
    loop {
        match reader.next_frame() {
            Ok(Frame::Msg { sent_tick, clock }) => {
                while ctx.queue.len() >= ctx.max_queue && !ctx.stopping.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(1));
                }
                let q = Queued {
                    from: peer,
                    sent_tick,
                    msg_clock: clock,
                    arrived: Instant::now(),
                };
                if ctx.queue.send(q).is_err() {
                    return (false, "the VM is gone".into());
                }
            }
            Ok(Frame::Bye) => return (true, "stopped before this VM".into()),
            Ok(other) => return (false, format!("unexpected {other:?} after the handshake")),
            Err(ReadError::Eof) => return (false, "connection closed without a bye".into()),
            Err(e) => return (false, e.to_string()),
        }
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
