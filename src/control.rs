//! The line protocol between the launcher and its VM children, over each
//! child's stdin (launcher -> VM) and stdout (VM -> launcher). One definition
//! used by both sides.
//!
//! ```text
//! VM -> launcher:  listening 127.0.0.1:40123     (bound; the real address)
//!                  linked 12                     (during set-up: links up so far, when it grows)
//!                  ready                         (connected to every peer, both ways)
//!                  status 4 120 131 2 30 41 49   (with --live: rate tick clock queue
//!                                                 sends receives internals)
//!                  ended 2:14 3:9                (stopped ticking; of the messages to VM 2, 14 in
//!                                                 all, some are unacknowledged, and of the 9 to
//!                                                 VM 3; everything to the others is acknowledged)
//!                  lost 3 14                     (gave up on VM 3 with 14 messages to it
//!                                                 unacknowledged; or it never said goodbye)
//!                  done                          (the stop is through and the log whole:
//!                                                 exit 0 follows, once its sockets are closed)
//! launcher -> VM:  config {"id":1,...}           (the VM's checked configuration, JSON; first, once)
//!                  secret 9f2c...                (the run's secret, hex; second, once)
//!                  peer 2 127.0.0.1:40124        (one per peer)
//!                  gone 3                        (VM 3 exited: give up on it at once)
//!                  ended 2:5 4:3                 (VM 2 stopped ticking with messages to this VM
//!                                                 unacknowledged, 5 sent in all; VM 4 with 3)
//!                  quiet 1-40 42 44-99           (these VMs stopped ticking, each with every
//!                                                 message to this VM acknowledged, unless an
//!                                                 `ended` line named it before)
//!                  connect                       (peers complete: connect now)
//!                  go 1795000000000412           (start ticking at this wall time, us)
//!                  stop                          (stop cleanly now)
//! ```
//! End of stdin means the launcher is gone: the VM stops on its own.

use std::net::SocketAddr;

use crate::params::VmConfig;

/// A line from the launcher to a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToVm {
    /// The VM's checked configuration, as `config` made it from `run`'s
    /// flags: handed over typed, never rendered back into flags.
    Config(Box<VmConfig>),
    /// The run's secret, as hex (never on a command line, where `ps` shows it).
    Secret(String),
    Peer(u32, SocketAddr),
    /// That VM's process exited: waiting for it is pointless.
    Gone(u32),
    /// These VMs exited cleanly: each had every message of this VM and this
    /// VM had all of theirs (their last acknowledgements may be lost with
    /// the connection).
    Finished(Vec<u32>),
    /// That VM said no goodbye within `--stop-grace` of the last one heard:
    /// give up on it (under the launcher it is the launcher that knows).
    Silent(u32),
    /// These VMs stopped ticking, each after sending this VM so many messages,
    /// some not yet acknowledged: the goodbyes, relayed (one line instead of
    /// a frame on every link).
    Ended(Vec<(u32, u64)>),
    /// These VMs stopped ticking with everything they sent this VM
    /// acknowledged (unless an `ended` line named them before): nothing more
    /// comes from them. A stop where nothing is in flight, the usual one, is
    /// then one short line per VM and round, not one entry per pair (a
    /// million at 1024 VMs, which took a starved launcher 13-17 s to pass on).
    Quiet(Vec<u32>),
    Connect,
    Go(i64),
    Stop,
}

/// A line from a VM to the launcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromVm {
    Listening(SocketAddr),
    /// During set-up: this many of the VM's links are up (said as it grows).
    Linked(u32),
    /// This VM stopped ticking after sending so many messages to each peer
    /// listed, some of them unacknowledged (every message to the others is
    /// acknowledged).
    Ended(Vec<(u32, u64)>),
    Ready,
    /// This VM gave up on a peer (`peer_lost`) with `unacked` messages sent to
    /// it and not acknowledged (0 if the peer never said goodbye instead).
    Lost {
        peer: u32,
        unacked: u64,
    },
    /// Where the VM is now (only with `vm --live`, a few times a second).
    Status(Status),
    /// The stop is through, nothing was given up on and the log is whole:
    /// the VM exits 0 once its sockets are closed (at 1024 VMs that takes
    /// seconds, which its peers need not wait for).
    Done,
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
            // Serializing plain data cannot fail but for a path that is not
            // UTF-8, which `config::run` refuses (`--logs`); the VM would
            // then refuse the empty line.
            ToVm::Config(cfg) => format!(
                "config {}\n",
                serde_json::to_string(cfg).unwrap_or_default()
            ),
            ToVm::Secret(hex) => format!("secret {hex}\n"),
            ToVm::Peer(id, addr) => format!("peer {id} {addr}\n"),
            ToVm::Gone(id) => format!("gone {id}\n"),
            ToVm::Silent(id) => format!("silent {id}\n"),
            ToVm::Finished(ids) => {
                let ids: String = ids.iter().map(|id| format!(" {id}")).collect();
                format!("finished{ids}\n")
            }
            ToVm::Ended(ends) => format!("ended{}\n", counts_text(ends)),
            ToVm::Quiet(ids) => format!("quiet{}\n", ranges_text(ids)),
            ToVm::Connect => "connect\n".into(),
            ToVm::Go(at) => format!("go {at}\n"),
            ToVm::Stop => "stop\n".into(),
        }
    }

    /// Parses a line (newline optional); `None` if it is not one of ours.
    pub fn parse(line: &str) -> Option<ToVm> {
        if let Some(json) = line.trim_end().strip_prefix("config ") {
            return serde_json::from_str(json)
                .ok()
                .map(|c| ToVm::Config(Box::new(c)));
        }
        if let Some(rest) = line.trim_end().strip_prefix("ended") {
            return parse_counts(rest).map(ToVm::Ended);
        }
        if let Some(rest) = line.trim_end().strip_prefix("finished") {
            if !rest.is_empty() && !rest.starts_with(' ') {
                return None;
            }
            let ids: Option<Vec<u32>> = rest.split_whitespace().map(|w| w.parse().ok()).collect();
            return ids.map(ToVm::Finished);
        }
        if let Some(rest) = line.trim_end().strip_prefix("quiet") {
            return parse_ranges(rest).map(ToVm::Quiet);
        }
        let mut w = line.split_whitespace();
        let msg = match (w.next()?, w.next(), w.next()) {
            ("secret", Some(hex), None) => ToVm::Secret(hex.to_string()),
            ("gone", Some(id), None) => ToVm::Gone(id.parse().ok()?),
            ("silent", Some(id), None) => ToVm::Silent(id.parse().ok()?),
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
            FromVm::Linked(n) => format!("linked {n}\n"),
            FromVm::Ended(sent) => format!("ended{}\n", counts_text(sent)),
            FromVm::Ready => "ready\n".into(),
            FromVm::Done => "done\n".into(),
            FromVm::Lost { peer, unacked } => format!("lost {peer} {unacked}\n"),
            FromVm::Status(s) => format!(
                "status {} {} {} {} {} {} {}\n",
                s.rate, s.tick, s.clock, s.queue, s.sends, s.receives, s.internals
            ),
        }
    }

    /// Parses a line (newline optional); `None` if it is not one of ours.
    pub fn parse(line: &str) -> Option<FromVm> {
        if let Some(rest) = line.trim_end().strip_prefix("ended") {
            return parse_counts(rest).map(FromVm::Ended);
        }
        let mut w = line.split_whitespace();
        let msg = match (w.next()?, w.next()) {
            ("listening", Some(addr)) => FromVm::Listening(addr.parse().ok()?),
            ("linked", Some(n)) => FromVm::Linked(n.parse().ok()?),
            ("ready", None) => FromVm::Ready,
            ("done", None) => FromVm::Done,
            ("lost", Some(peer)) => FromVm::Lost {
                peer: peer.parse().ok()?,
                unacked: w.next()?.parse().ok()?,
            },
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

/// ` 2:14 3:9`: id:count pairs, each after a space.
fn counts_text(counts: &[(u32, u64)]) -> String {
    counts.iter().map(|(id, n)| format!(" {id}:{n}")).collect()
}

/// ` 1-40 42 44-99`: ids in runs, each run after a space (ids sorted first).
fn ranges_text(ids: &[u32]) -> String {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut text = String::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while ids.get(j + 1) == Some(&(ids[j] + 1)) {
            j += 1;
        }
        if j == i {
            text.push_str(&format!(" {}", ids[i]));
        } else {
            text.push_str(&format!(" {}-{}", ids[i], ids[j]));
        }
        i = j + 1;
    }
    text
}

/// The longest run of ids a `quiet` line may hold (far beyond any run's
/// size: a bad line must not make a VM allocate gigabytes).
const MAX_RUN: u32 = 1 << 16;

/// Ids in runs as [`ranges_text`] writes them; `None` for anything else,
/// a run that goes down or one longer than [`MAX_RUN`] among it.
fn parse_ranges(rest: &str) -> Option<Vec<u32>> {
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    let mut ids = Vec::new();
    for run in rest.split_whitespace() {
        let (a, b): (u32, u32) = match run.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let a = run.parse().ok()?;
                (a, a)
            }
        };
        if b < a || b - a > MAX_RUN {
            return None;
        }
        ids.extend(a..=b);
    }
    Some(ids)
}

fn parse_counts(rest: &str) -> Option<Vec<(u32, u64)>> {
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    rest.split_whitespace()
        .map(|pair| {
            let (id, n) = pair.split_once(':')?;
            Some((id.parse().ok()?, n.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let addr: SocketAddr = "127.0.0.1:40123".parse().unwrap();
        let model = crate::params::Model {
            runtime: std::time::Duration::from_micros(2_500_001),
            min_rate: 1,
            max_rate: 6,
            event_range: 10,
            max_queue: 1 << 20,
            delay: Some(crate::params::DelayRange {
                min_us: 5_000,
                max_us: 50_250,
            }),
            seed: Some(u64::MAX),
            logs: "logs/a b".into(),
            peer_timeout: std::time::Duration::from_secs(30),
            stop_grace: std::time::Duration::from_millis(5_500),
            clock_skew: Some(crate::params::ClockRange {
                min: -250_000,
                max: 250_500,
            }),
            clock_drift: None,
        };
        let cfg = VmConfig {
            id: 7,
            listen: addr,
            peers: Vec::new(),
            rate: crate::params::RateSpec::Draw { min: 1, max: 6 },
            run: "0a1b2c".into(),
            connect_timeout: std::time::Duration::from_secs(60),
            secret_file: None,
            control: true,
            live: false,
            log_stdout: false,
            model,
        };
        let line = ToVm::Config(Box::new(cfg.clone())).line();
        assert!(line.starts_with("config {") && line.ends_with("}\n") && line.lines().count() == 1);
        for m in [
            ToVm::Config(Box::new(cfg)),
            ToVm::Secret("9f2c01".into()),
            ToVm::Peer(2, addr),
            ToVm::Gone(3),
            ToVm::Silent(4),
            ToVm::Finished(vec![2, 406]),
            ToVm::Ended(vec![(2, 5), (4, 0)]),
            ToVm::Ended(vec![]),
            ToVm::Quiet(vec![1, 2, 3, 5, 7, 8, 1024]),
            ToVm::Quiet(vec![]),
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
            FromVm::Linked(12),
            FromVm::Ended(vec![(2, 14), (3, 9)]),
            FromVm::Ready,
            FromVm::Done,
            FromVm::Lost {
                peer: 3,
                unacked: 14,
            },
            FromVm::Status(status),
        ] {
            assert_eq!(FromVm::parse(&m.line()), Some(m));
        }
    }

    #[test]
    fn quiet_ids_go_in_runs() {
        assert_eq!(
            ToVm::Quiet(vec![9, 1, 2, 3, 5, 2]).line(),
            "quiet 1-3 5 9\n"
        );
        let all: Vec<u32> = (1..=1024).collect();
        assert_eq!(ToVm::Quiet(all.clone()).line(), "quiet 1-1024\n");
        assert_eq!(ToVm::parse("quiet 1-1024"), Some(ToVm::Quiet(all)));
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
            "ended 2",
            "ended 2:x",
            "endedx",
            "quiet 5-3",
            "quiet 1-4000000000",
            "quiet 1-",
            "quiet x",
            "quietx",
            "hello",
        ] {
            assert_eq!(ToVm::parse(l), None, "{l}");
        }
        for l in [
            "",
            "listening",
            "listening nowhere",
            "ready set",
            "done now",
            "status 1 2 3",
            "status 1 2 3 4 5 6 7 8",
            "status 1 2 3 4 5 6 x",
        ] {
            assert_eq!(FromVm::parse(l), None, "{l}");
        }
    }
}
