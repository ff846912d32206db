//! The line protocol between the launcher and its VM children, over each
//! child's stdin (launcher -> VM) and stdout (VM -> launcher). One definition
//! used by both sides.
//!
//! ```text
//! VM -> launcher:  listening 127.0.0.1:40123     (bound; the real address)
//!                  ready                         (connected to every peer, both ways)
//!                  status 4 120 131 2 30 41 49   (with --live: rate tick clock queue
//!                                                 sends receives internals)
//! launcher -> VM:  peer 2 127.0.0.1:40124        (one per peer)
//!                  connect                       (peers complete: connect now)
//!                  go 1795000000000412           (start ticking at this wall time, us)
//!                  stop                          (stop cleanly now)
//! ```
//! End of stdin means the launcher is gone: the VM stops on its own.

use std::net::SocketAddr;

/// A line from the launcher to a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToVm {
    Peer(u32, SocketAddr),
    Connect,
    Go(i64),
    Stop,
}

/// A line from a VM to the launcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromVm {
    Listening(SocketAddr),
    Ready,
    /// Where the VM is now (only with `vm --live`, a few times a second).
    Status(Status),
}

/// A VM's live figures, for the launcher's live view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    pub rate: u32,
    /// Ticks made so far (the last tick's number).
    pub tick: u64,
    pub clock: u64,
    /// Messages on the network queue now.
    pub queue: u64,
    pub sends: u64,
    pub receives: u64,
    pub internals: u64,
}

impl ToVm {
    /// The line, with its newline.
    pub fn line(&self) -> String {
        match self {
            ToVm::Peer(id, addr) => format!("peer {id} {addr}\n"),
            ToVm::Connect => "connect\n".into(),
            ToVm::Go(at) => format!("go {at}\n"),
            ToVm::Stop => "stop\n".into(),
        }
    }

    /// Parses a line (newline optional); `None` if it is not one of ours.
    pub fn parse(line: &str) -> Option<ToVm> {
        let mut w = line.split_whitespace();
        let msg = match (w.next()?, w.next(), w.next()) {
            ("peer", Some(id), Some(addr)) => ToVm::Peer(id.parse().ok()?, addr.parse().ok()?),
            ("connect", None, None) => ToVm::Connect,
            ("go", Some(at), None) => ToVm::Go(at.parse().ok()?),
            ("stop", None, None) => ToVm::Stop,
            _ => return None,
        };
        w.next().is_none().then_some(msg)
    }
}

impl FromVm {
    /// The line, with its newline.
    pub fn line(&self) -> String {
        match self {
            FromVm::Listening(addr) => format!("listening {addr}\n"),
            FromVm::Ready => "ready\n".into(),
            FromVm::Status(s) => format!(
                "status {} {} {} {} {} {} {}\n",
                s.rate, s.tick, s.clock, s.queue, s.sends, s.receives, s.internals
            ),
        }
    }

    /// Parses a line (newline optional); `None` if it is not one of ours.
    pub fn parse(line: &str) -> Option<FromVm> {
        let mut w = line.split_whitespace();
        let msg = match (w.next()?, w.next()) {
            ("listening", Some(addr)) => FromVm::Listening(addr.parse().ok()?),
            ("ready", None) => FromVm::Ready,
            ("status", Some(rate)) => {
                let mut n = || w.next()?.parse::<u64>().ok();
                FromVm::Status(Status {
                    rate: rate.parse().ok()?,
                    tick: n()?,
                    clock: n()?,
                    queue: n()?,
                    sends: n()?,
                    receives: n()?,
                    internals: n()?,
                })
            }
            _ => return None,
        };
        w.next().is_none().then_some(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let addr: SocketAddr = "127.0.0.1:40123".parse().unwrap();
        for m in [
            ToVm::Peer(2, addr),
            ToVm::Connect,
            ToVm::Go(1_795_000_000_000_412),
            ToVm::Stop,
        ] {
            assert_eq!(ToVm::parse(&m.line()), Some(m));
        }
        let status = Status {
            rate: 4,
            tick: 120,
            clock: 131,
            queue: 2,
            sends: 30,
            receives: 41,
            internals: 49,
        };
        for m in [
            FromVm::Listening(addr),
            FromVm::Ready,
            FromVm::Status(status),
        ] {
            assert_eq!(FromVm::parse(&m.line()), Some(m));
        }
    }

    #[test]
    fn anything_else_is_none() {
        for l in [
            "",
            "go",
            "go x",
            "peer 2",
            "peer x 1.2.3.4:5",
            "stop now",
            "hello",
        ] {
            assert_eq!(ToVm::parse(l), None, "{l}");
        }
        for l in [
            "",
            "listening",
            "listening nowhere",
            "ready set",
            "status 1 2 3",
            "status 1 2 3 4 5 6 7 8",
            "status 1 2 3 4 5 6 x",
        ] {
            assert_eq!(FromVm::parse(l), None, "{l}");
        }
    }
}
