//! The `tcp-floor-1024` case: what this machine's kernel alone costs for
//! the shape of a 1024-VM run, with no lamport-sim in it. N processes (this
//! bench binary again, started with [`CHILD`]), each a listener and one
//! `mio` poll loop like a VM's net thread, join a full mesh over loopback
//! TCP (the lower id dials: 523,776 connections at 1024). On each connection
//! they then swap `frames` 16-byte frames in turn (3 is the size of our
//! handshake: hello, challenge, proof), then one frame each way on every
//! connection (what a goodbye on every link would cost), then exit (the
//! kernel closes every socket).
//!
//! Set-up and stop figures of `scale-vms-1024` can be read against these:
//! nothing lamport-sim does can link the mesh faster than the kernel can.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// The first argument that makes the bench binary one floor process.
pub const CHILD: &str = "--tcp-floor-child";

const FRAME: usize = 16;
const LISTENER: Token = Token(usize::MAX);

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// What one floor run measured, in seconds.
pub struct Floor {
    /// The shared start to the last process with every connection made and
    /// every handshake frame swapped.
    pub linked: f64,
    /// From there to the last process that had a frame from every peer.
    pub bye: f64,
    /// From there to the last process reaped.
    pub exit: f64,
}

/// A base port with `n` free ports above it (each bound and let go).
pub fn free_ports(n: u16) -> Option<u16> {
    (20_000..=60_000 - n).step_by(usize::from(n)).find(|&base| {
        (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
    })
}

/// Runs `vms` floor processes on ports `base..base+vms`; `None` (with the
/// reason on stderr) if a process failed.
pub fn run(exe: &Path, vms: usize, frames: usize, base: u16) -> Option<Floor> {
    let start = now_ms() + 500 + vms as u128 * 3;
    let mut kids = Vec::with_capacity(vms);
    for id in 0..vms {
        let child = Command::new(exe)
            .arg(CHILD)
            .args([vms, frames, base as usize, id].map(|n| n.to_string()))
            .arg(start.to_string())
            .stdout(Stdio::piped())
            .spawn();
        match child {
            Ok(c) => kids.push(c),
            Err(e) => {
                eprintln!("tcp-floor: cannot start process {id}: {e}");
                return None;
            }
        }
    }
    let (mut linked, mut bye, mut ok) = (0u128, 0u128, true);
    for kid in kids {
        let out = kid.wait_with_output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let times: Vec<u128> = text
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        match times[..] {
            [l, b] if out.status.success() => {
                linked = linked.max(l);
                bye = bye.max(b);
            }
            _ => ok = false,
        }
    }
    let reaped = now_ms();
    let secs = |a: u128, b: u128| b.saturating_sub(a) as f64 / 1000.0;
    ok.then(|| Floor {
        linked: secs(start, linked),
        bye: secs(linked, bye),
        exit: secs(bye, reaped),
    })
}

struct Conn {
    stream: TcpStream,
    dialer: bool,
    step: usize,
    buf: [u8; FRAME],
    got: usize,
    linked: bool,
    bye_in: bool,
}

/// One floor process: `vms frames base id start_ms`. Prints when it was
/// linked and when every peer's frame had come (ms since the epoch).
pub fn child(args: &[String]) -> Result<(), String> {
    let num = |i: usize| -> Result<u128, String> {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("argument {i}: a number expected"))
    };
    let (vms, frames, base, me) = (
        num(0)? as usize,
        num(1)? as usize,
        num(2)? as u16,
        num(3)? as usize,
    );
    let start = num(4)?;
    let addr = |i: usize| SocketAddr::from(([127, 0, 0, 1], base + i as u16));
    let err = |what: &str, e: std::io::Error| format!("{what}: {e}");
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .map_err(|e| err("socket", e))?;
    sock.set_reuse_address(true).map_err(|e| err("reuse", e))?;
    sock.bind(&addr(me).into()).map_err(|e| err("bind", e))?;
    sock.listen(4096).map_err(|e| err("listen", e))?;
    sock.set_nonblocking(true)
        .map_err(|e| err("nonblocking", e))?;
    let mut listener = TcpListener::from_std(sock.into());
    let mut poll = Poll::new().map_err(|e| err("poll", e))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|e| err("register", e))?;
    let wait = start.saturating_sub(now_ms());
    std::thread::sleep(Duration::from_millis(wait as u64));
    let mut conns: Vec<Conn> = Vec::with_capacity(vms);
    let give_up = Instant::now() + Duration::from_secs(600);
    let new_conn = |stream, dialer| Conn {
        stream,
        dialer,
        step: 0,
        buf: [0; FRAME],
        got: 0,
        linked: false,
        bye_in: false,
    };
    for peer in me + 1..vms {
        // Every listener is bound before the start: a refusal is a full
        // backlog, tried again.
        let mut stream = loop {
            match TcpStream::connect(addr(peer)) {
                Ok(s) => break s,
                Err(e) if Instant::now() > give_up => return Err(err("connect", e)),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let token = Token(conns.len());
        poll.registry()
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| err("register", e))?;
        conns.push(new_conn(stream, true));
    }
    let (mut linked, mut byes, mut linked_at) = (0, 0, 0u128);
    let mut events = Events::with_capacity(1024);
    loop {
        if linked == vms - 1 && linked_at == 0 {
            linked_at = now_ms();
            for c in &mut conns {
                c.stream
                    .write_all(&[9; FRAME])
                    .map_err(|e| err("write", e))?;
            }
        }
        if linked_at != 0 && byes == vms - 1 {
            break;
        }
        if Instant::now() > give_up {
            return Err("not done in 600 s".into());
        }
        poll.poll(&mut events, Some(Duration::from_secs(1)))
            .map_err(|e| err("poll", e))?;
        for ev in events.iter() {
            if ev.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let token = Token(conns.len());
                    poll.registry()
                        .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                        .map_err(|e| err("register", e))?;
                    conns.push(new_conn(stream, false));
                }
                continue;
            }
            let Some(c) = conns.get_mut(ev.token().0) else {
                continue;
            };
            loop {
                if !c.linked {
                    if c.step == frames {
                        c.linked = true;
                        linked += 1;
                        continue;
                    }
                    // The dialer writes the even frames, the acceptor the odd.
                    if (c.step % 2 == 0) == c.dialer {
                        match c.stream.write(&[1; FRAME]) {
                            Ok(FRAME) => {
                                c.step += 1;
                                continue;
                            }
                            _ => break,
                        }
                    }
                }
                match c.stream.read(&mut c.buf[c.got..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        c.got += n;
                        if c.got == FRAME {
                            c.got = 0;
                            if !c.linked {
                                c.step += 1;
                            } else if !c.bye_in {
                                c.bye_in = true;
                                byes += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    println!("{linked_at} {}", now_ms());
    let _ = std::io::stdout().flush();
    Ok(())
}
