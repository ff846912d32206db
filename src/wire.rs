//! The frame format spoken between VMs over TCP, encode and decode, with its
//! own error type that tells "incomplete, read more" from "bad data".
//!
//! Every frame is `len: u16 BE` (bytes after the length) then `kind: u8` then
//! the payload. No frame is longer than [`MAX_FRAME`] bytes, so a reader never
//! allocates more than that for one connection. Integers are big-endian.
//!
//! One TCP connection joins a pair of VMs and carries messages both ways: the
//! lower id dials, the higher accepts. The handshake, on every connection
//! (first or reconnect), proves that both sides hold the run's secret without
//! sending it (see `vm::auth`), and says where each side's stream resumes.
//!
//! | kind | frame | payload |
//! |---|---|---|
//! | 1 | `Hello` (dialer -> acceptor) | magic `LSIM`, version u8, from u32, to u32, nonce [16], instance u64, run id (rest, UTF-8, 1..=64 bytes) |
//! | 2 | `Challenge` (acceptor -> dialer) | nonce [16], instance u64, resume u64, mac [32] |
//! | 3 | `Reject` (acceptor -> dialer) | reason (rest, UTF-8) |
//! | 4 | `Msg` | seq u64, sent_tick u64, clock u64 |
//! | 5 | `Bye` (the sender stopped ticking; `last` is its last seq) | last u64 |
//! | 6 | `Proof` (dialer -> acceptor) | resume u64, mac [32] |
//! | 7 | `Ack` (every message up to `upto` arrived; `bye`: and the `Bye`) | upto u64, bye u8 (0 or 1) |
//!
//! `instance` is drawn by each VM process at start: a peer whose instance
//! changes between connections is a restarted process, not the same VM.
//! `resume` is how many of the other side's messages this side has: the
//! other side sends again everything after that.

use std::fmt;

/// The protocol version carried in `Hello`.
pub const VERSION: u8 = 2;
/// Magic bytes at the start of a `Hello`.
pub const MAGIC: &[u8; 4] = b"LSIM";
/// Largest frame on the wire, length prefix included.
pub const MAX_FRAME: usize = 256;
/// Longest run id.
pub const MAX_RUN_ID: usize = 64;
/// Bytes of a handshake nonce.
pub const NONCE: usize = 16;
/// Bytes of a handshake MAC (HMAC-SHA256).
pub const MAC: usize = 32;

/// A handshake nonce.
pub type Nonce = [u8; NONCE];
/// A handshake MAC.
pub type Mac = [u8; MAC];

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Hello {
        from: u32,
        to: u32,
        nonce: Nonce,
        instance: u64,
        run: String,
    },
    Challenge {
        nonce: Nonce,
        instance: u64,
        resume: u64,
        mac: Mac,
    },
    Reject {
        reason: String,
    },
    Msg {
        seq: u64,
        sent_tick: u64,
        clock: u64,
    },
    Bye {
        last: u64,
    },
    Proof {
        resume: u64,
        mac: Mac,
    },
    Ack {
        upto: u64,
        bye: bool,
    },
}

/// What is wrong with bytes that do not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Not enough bytes yet: read more and try again.
    Incomplete,
    /// The length prefix is beyond [`MAX_FRAME`].
    TooLong(usize),
    /// The frame is complete but its content is wrong.
    Bad(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Incomplete => f.write_str("incomplete frame"),
            WireError::TooLong(n) => {
                write!(f, "frame of {n} bytes is over the {MAX_FRAME}-byte limit")
            }
            WireError::Bad(why) => write!(f, "malformed frame: {why}"),
        }
    }
}

impl std::error::Error for WireError {}

impl Frame {
    /// Appends the encoded frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0, 0]);
        match self {
            Frame::Hello {
                from,
                to,
                nonce,
                instance,
                run,
            } => {
                out.push(1);
                out.extend_from_slice(MAGIC);
                out.push(VERSION);
                out.extend_from_slice(&from.to_be_bytes());
                out.extend_from_slice(&to.to_be_bytes());
                out.extend_from_slice(nonce);
                out.extend_from_slice(&instance.to_be_bytes());
                out.extend_from_slice(truncate_utf8(run, MAX_RUN_ID).as_bytes());
            }
            Frame::Challenge {
                nonce,
                instance,
                resume,
                mac,
            } => {
                out.push(2);
                out.extend_from_slice(nonce);
                out.extend_from_slice(&instance.to_be_bytes());
                out.extend_from_slice(&resume.to_be_bytes());
                out.extend_from_slice(mac);
            }
            Frame::Reject { reason } => {
                out.push(3);
                let room = MAX_FRAME - 3;
                out.extend_from_slice(truncate_utf8(reason, room).as_bytes());
            }
            Frame::Msg {
                seq,
                sent_tick,
                clock,
            } => {
                out.push(4);
                out.extend_from_slice(&seq.to_be_bytes());
                out.extend_from_slice(&sent_tick.to_be_bytes());
                out.extend_from_slice(&clock.to_be_bytes());
            }
            Frame::Bye { last } => {
                out.push(5);
                out.extend_from_slice(&last.to_be_bytes());
            }
            Frame::Proof { resume, mac } => {
                out.push(6);
                out.extend_from_slice(&resume.to_be_bytes());
                out.extend_from_slice(mac);
            }
            Frame::Ack { upto, bye } => {
                out.push(7);
                out.extend_from_slice(&upto.to_be_bytes());
                out.push(u8::from(*bye));
            }
        }
        let len = (out.len() - start - 2) as u16;
        out[start..start + 2].copy_from_slice(&len.to_be_bytes());
    }

    /// Decodes one frame from the front of `buf`, returning it and the bytes used.
    pub fn decode(buf: &[u8]) -> Result<(Frame, usize), WireError> {
        if buf.len() < 2 {
            return Err(WireError::Incomplete);
        }
        let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
        if len + 2 > MAX_FRAME {
            return Err(WireError::TooLong(len + 2));
        }
        if len == 0 {
            return Err(WireError::Bad("empty frame".into()));
        }
        let Some(body) = buf.get(2..2 + len) else {
            return Err(WireError::Incomplete);
        };
        Ok((decode_body(body[0], &body[1..])?, 2 + len))
    }
}

fn decode_body(kind: u8, p: &[u8]) -> Result<Frame, WireError> {
    let frame = match kind {
        1 => decode_hello(p)?,
        2 if p.len() == NONCE + 16 + MAC => Frame::Challenge {
            nonce: array(&p[..NONCE]),
            instance: be_u64(&p[NONCE..NONCE + 8]),
            resume: be_u64(&p[NONCE + 8..NONCE + 16]),
            mac: array(&p[NONCE + 16..]),
        },
        3 => Frame::Reject {
            reason: text(p, "reject reason")?,
        },
        4 if p.len() == 24 => Frame::Msg {
            seq: be_u64(&p[0..8]),
            sent_tick: be_u64(&p[8..16]),
            clock: be_u64(&p[16..24]),
        },
        5 if p.len() == 8 => Frame::Bye { last: be_u64(p) },
        6 if p.len() == 8 + MAC => Frame::Proof {
            resume: be_u64(&p[..8]),
            mac: array(&p[8..]),
        },
        7 if p.len() == 9 && p[8] <= 1 => Frame::Ack {
            upto: be_u64(&p[..8]),
            bye: p[8] == 1,
        },
        2 | 4..=7 => {
            return Err(WireError::Bad(format!(
                "kind {kind} with {} payload bytes",
                p.len()
            )));
        }
        _ => return Err(WireError::Bad(format!("unknown frame kind {kind}"))),
    };
    Ok(frame)
}

fn decode_hello(p: &[u8]) -> Result<Frame, WireError> {
    const FIXED: usize = 4 + 1 + 4 + 4 + NONCE + 8;
    if p.len() < 5 || &p[0..4] != MAGIC {
        return Err(WireError::Bad("hello without the LSIM magic".into()));
    }
    if p[4] != VERSION {
        return Err(WireError::Bad(format!(
            "protocol version {} (this program speaks {VERSION})",
            p[4]
        )));
    }
    if p.len() < FIXED {
        return Err(WireError::Bad(format!("hello of {} bytes", p.len())));
    }
    let run = text(&p[FIXED..], "run id")?;
    if run.is_empty() || run.len() > MAX_RUN_ID {
        return Err(WireError::Bad(format!("run id of {} bytes", run.len())));
    }
    Ok(Frame::Hello {
        from: be_u32(&p[5..9]),
        to: be_u32(&p[9..13]),
        nonce: array(&p[13..13 + NONCE]),
        instance: be_u64(&p[13 + NONCE..FIXED]),
        run,
    })
}

fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(b);
    a
}

fn text(p: &[u8], what: &str) -> Result<String, WireError> {
    String::from_utf8(p.to_vec()).map_err(|_| WireError::Bad(format!("{what} is not UTF-8")))
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    u64::from_be_bytes(a)
}

fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    u32::from_be_bytes(a)
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Reads frames from a byte stream, one at a time, with a bounded buffer.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    filled: usize,
}

/// Why [`FrameReader::next_frame`] returned no frame.
#[derive(Debug)]
pub enum ReadError {
    /// The stream ended between frames.
    Eof,
    /// The stream ended inside a frame.
    Truncated,
    /// Bad bytes.
    Wire(WireError),
    /// The socket failed (or timed out).
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Eof => f.write_str("connection closed"),
            ReadError::Truncated => f.write_str("connection closed inside a frame"),
            ReadError::Wire(e) => e.fmt(f),
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

impl<R: std::io::Read> FrameReader<R> {
    /// Wraps a stream.
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            buf: vec![0; 4 * MAX_FRAME],
            filled: 0,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Returns the next frame, reading as needed.
    pub fn next_frame(&mut self) -> Result<Frame, ReadError> {
        loop {
            match Frame::decode(&self.buf[..self.filled]) {
                Ok((frame, used)) => {
                    self.buf.copy_within(used..self.filled, 0);
                    self.filled -= used;
                    return Ok(frame);
                }
                Err(WireError::Incomplete) => self.fill()?,
                Err(e) => return Err(ReadError::Wire(e)),
            }
        }
    }

    fn fill(&mut self) -> Result<(), ReadError> {
        loop {
            match self.inner.read(&mut self.buf[self.filled..]) {
                Ok(0) if self.filled == 0 => return Err(ReadError::Eof),
                Ok(0) => return Err(ReadError::Truncated),
                Ok(n) => {
                    self.filled += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Frame> {
        vec![
            Frame::Hello {
                from: 1,
                to: 3,
                nonce: [7; NONCE],
                instance: u64::MAX,
                run: "5f3a9c".into(),
            },
            Frame::Challenge {
                nonce: [9; NONCE],
                instance: 12,
                resume: 40,
                mac: [0xab; MAC],
            },
            Frame::Reject {
                reason: "another run".into(),
            },
            Frame::Msg {
                seq: 1,
                sent_tick: 42,
                clock: u64::MAX,
            },
            Frame::Bye { last: 17 },
            Frame::Proof {
                resume: 3,
                mac: [1; MAC],
            },
            Frame::Ack {
                upto: 17,
                bye: true,
            },
        ]
    }

    #[test]
    fn round_trip_each_kind() {
        for f in samples() {
            let mut b = Vec::new();
            f.encode(&mut b);
            assert!(b.len() <= MAX_FRAME);
            assert_eq!(Frame::decode(&b), Ok((f.clone(), b.len())));
        }
    }

    #[test]
    fn every_truncation_is_incomplete() {
        for f in samples() {
            let mut b = Vec::new();
            f.encode(&mut b);
            for cut in 0..b.len() {
                assert_eq!(
                    Frame::decode(&b[..cut]),
                    Err(WireError::Incomplete),
                    "{f:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(matches!(
            Frame::decode(&[0xff, 0xff, 1]),
            Err(WireError::TooLong(_))
        ));
        assert!(matches!(Frame::decode(&[0, 0]), Err(WireError::Bad(_))));
        assert!(matches!(Frame::decode(&[0, 1, 9]), Err(WireError::Bad(_))));
        assert!(matches!(
            Frame::decode(&[0, 2, 5, 0]),
            Err(WireError::Bad(_))
        ));
        assert!(matches!(
            Frame::decode(&[0, 3, 4, 0, 0]),
            Err(WireError::Bad(_))
        ));
        // An ack's bye flag is 0 or 1.
        assert!(matches!(
            Frame::decode(&[0, 10, 7, 0, 0, 0, 0, 0, 0, 0, 1, 2]),
            Err(WireError::Bad(_))
        ));
        let mut hello = Vec::new();
        Frame::Hello {
            from: 1,
            to: 2,
            nonce: [0; NONCE],
            instance: 5,
            run: "r".into(),
        }
        .encode(&mut hello);
        let mut wrong_magic = hello.clone();
        wrong_magic[3] = b'X';
        assert!(matches!(
            Frame::decode(&wrong_magic),
            Err(WireError::Bad(_))
        ));
        let mut wrong_version = hello.clone();
        wrong_version[7] = 99;
        assert!(matches!(
            Frame::decode(&wrong_version),
            Err(WireError::Bad(_))
        ));
        let mut bad_utf8 = hello;
        let last = bad_utf8.len() - 1;
        bad_utf8[last] = 0xff;
        assert!(matches!(Frame::decode(&bad_utf8), Err(WireError::Bad(_))));
    }

    #[test]
    fn long_texts_are_bounded() {
        let mut b = Vec::new();
        Frame::Reject {
            reason: "é".repeat(500),
        }
        .encode(&mut b);
        assert!(b.len() <= MAX_FRAME);
        assert!(Frame::decode(&b).is_ok());
    }

    #[test]
    fn reader_splits_a_stream_and_reports_truncation() {
        let mut bytes = Vec::new();
        for f in samples() {
            f.encode(&mut bytes);
        }
        let mut r = FrameReader::new(&bytes[..]);
        for f in samples() {
            assert_eq!(r.next_frame().unwrap(), f);
        }
        assert!(matches!(r.next_frame(), Err(ReadError::Eof)));
        let mut r = FrameReader::new(&bytes[..bytes.len() - 1]);
        for _ in 0..samples().len() - 1 {
            r.next_frame().unwrap();
        }
        assert!(matches!(r.next_frame(), Err(ReadError::Truncated)));
    }

    #[test]
    fn random_bytes_never_panic() {
        // A small deterministic xorshift keeps this test independent of rand's API.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 40) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8).collect();
            let _ = Frame::decode(&bytes);
            let mut r = FrameReader::new(&bytes[..]);
            while r.next_frame().is_ok() {}
        }
    }
}
