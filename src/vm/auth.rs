//! The handshake's proof that both sides hold the run's secret, without the
//! secret crossing the wire: each side sends a fresh random nonce, and each
//! answers with an HMAC-SHA256, keyed by the secret, over both nonces and
//! everything else the handshake says (run, ids, instances, resume points).
//! Distributed Erlang's cookie challenge works the same way.
//!
//! A recorded handshake is worthless later: the other side's nonce is new on
//! every connection, so an old MAC never matches. The two directions use
//! different labels, so a MAC cannot be reflected back to its maker.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::wire::{MAC, Mac, NONCE, Nonce};

/// The run's secret: the key of every handshake MAC. Empty means none was
/// given (then anyone who knows the run id can join).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into())
    }

    /// From a file's or a variable's text: trailing line ends do not count,
    /// so `echo s3cret > file` and `LAMPORT_SECRET=s3cret` agree.
    pub fn from_text(text: &[u8]) -> Secret {
        let mut end = text.len();
        while end > 0 && matches!(text[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        Secret(text[..end].to_vec())
    }

    /// From the launcher's hex; `None` if it is not hex.
    pub fn from_hex(hex: &str) -> Option<Secret> {
        if hex.len() % 2 != 0 {
            return None;
        }
        let digit = |c: u8| (c as char).to_digit(16);
        let bytes = hex.as_bytes();
        let mut out = Vec::with_capacity(bytes.len() / 2);
        for pair in bytes.chunks(2) {
            out.push((digit(pair[0])? * 16 + digit(pair[1])?) as u8);
        }
        Some(Secret(out))
    }

    /// The secret as the launcher sends it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Who makes a MAC: the side that accepted the connection or the side that dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Acceptor,
    Dialer,
}

/// Everything one handshake says, as both sides see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript<'a> {
    pub run: &'a str,
    pub dialer: u32,
    pub acceptor: u32,
    pub dialer_nonce: Nonce,
    pub acceptor_nonce: Nonce,
    pub dialer_instance: u64,
    pub acceptor_instance: u64,
}

impl Transcript<'_> {
    /// The MAC that `side` sends, saying it resumes the other side's stream at `resume`.
    pub fn mac(&self, secret: &Secret, side: Side, resume: u64) -> Mac {
        let out = self.hmac(secret, side, resume).finalize().into_bytes();
        let mut mac = [0u8; MAC];
        mac.copy_from_slice(&out);
        mac
    }

    /// True if `mac` is what `side` must send for `resume` (compared in constant time).
    pub fn check(&self, secret: &Secret, side: Side, resume: u64, mac: &Mac) -> bool {
        self.hmac(secret, side, resume).verify_slice(mac).is_ok()
    }

    fn hmac(&self, secret: &Secret, side: Side, resume: u64) -> Hmac<Sha256> {
        // HMAC takes keys of any length, the empty one included.
        let mut h = match <Hmac<Sha256>>::new_from_slice(&secret.0) {
            Ok(h) => h,
            Err(_) => unreachable!("HMAC accepts every key length"),
        };
        h.update(match side {
            Side::Acceptor => b"lamport-sim v2 acceptor",
            Side::Dialer => b"lamport-sim v2 dialer\0\0",
        });
        h.update(&(self.run.len() as u32).to_be_bytes());
        h.update(self.run.as_bytes());
        h.update(&self.dialer.to_be_bytes());
        h.update(&self.acceptor.to_be_bytes());
        h.update(&self.dialer_nonce);
        h.update(&self.acceptor_nonce);
        h.update(&self.dialer_instance.to_be_bytes());
        h.update(&self.acceptor_instance.to_be_bytes());
        h.update(&resume.to_be_bytes());
        h
    }
}

/// A fresh nonce from the operating system's entropy (through rand's CSPRNG).
pub fn nonce() -> Nonce {
    let mut n = [0u8; NONCE];
    rand::fill(&mut n);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript() -> Transcript<'static> {
        Transcript {
            run: "5f3a9c",
            dialer: 1,
            acceptor: 2,
            dialer_nonce: [1; NONCE],
            acceptor_nonce: [2; NONCE],
            dialer_instance: 10,
            acceptor_instance: 20,
        }
    }

    #[test]
    fn only_the_same_secret_and_transcript_check() {
        let key = Secret::new("s3cret");
        let t = transcript();
        let mac = t.mac(&key, Side::Dialer, 7);
        assert!(t.check(&key, Side::Dialer, 7, &mac));
        // Another secret, another side, another resume point: all fail.
        assert!(!t.check(&Secret::new("s3creT"), Side::Dialer, 7, &mac));
        assert!(!t.check(&Secret::default(), Side::Dialer, 7, &mac));
        assert!(!t.check(&key, Side::Acceptor, 7, &mac));
        assert!(!t.check(&key, Side::Dialer, 8, &mac));
        // A replay on a new connection meets a new nonce and fails.
        let fresh = Transcript {
            acceptor_nonce: [3; NONCE],
            ..transcript()
        };
        assert!(!fresh.check(&key, Side::Dialer, 7, &mac));
        for changed in [
            Transcript {
                run: "5f3a9d",
                ..transcript()
            },
            Transcript {
                dialer: 3,
                ..transcript()
            },
            Transcript {
                acceptor_instance: 21,
                ..transcript()
            },
        ] {
            assert!(!changed.check(&key, Side::Dialer, 7, &mac));
        }
    }

    #[test]
    fn secrets_from_text_and_hex() {
        assert_eq!(Secret::from_text(b"abc\r\n\n"), Secret::new("abc"));
        assert_eq!(Secret::from_text(b"a b\n c"), Secret::new("a b\n c"));
        assert!(Secret::from_text(b"\n").is_empty());
        let s = Secret::new(vec![0, 0x9f, 0xff]);
        assert_eq!(s.to_hex(), "009fff");
        assert_eq!(Secret::from_hex("009fff"), Some(s));
        assert_eq!(Secret::from_hex("009ff"), None);
        assert_eq!(Secret::from_hex("zz"), None);
        assert_eq!(format!("{:?}", Secret::new("hidden")), "Secret(6 bytes)");
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
    }
}
