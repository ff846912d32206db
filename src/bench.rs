//! Benchmark figures from parsed logs (issue 6): each tick's lateness against
//! its absolute deadline, tick counts against `rate x runtime`, the first
//! tick, send-to-arrival latency, percentiles and the spread of repeated runs.
//! Pure functions over `logline::Line`: the `cargo bench` target
//! (`benches/bench.rs`) runs the binary, reads the logs and hands them here;
//! its synthetic run for timing the log tools is [`crate::testkit`]'s.

use std::fmt;
use std::time::Duration;

use crate::analyze::distributions::percentile;
use crate::analyze::per_vm::latencies_ms;
use crate::logline::{Event, Line, StartInfo};
use crate::params;
use crate::run::messages::Index;

/// Why figures cannot be taken from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchError(pub String);

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

/// p50, p99 and max of a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub n: usize,
    pub p50: i64,
    pub p99: i64,
    pub max: i64,
}

impl Percentiles {
    /// Sorts `values` in place; `None` if there are none.
    pub fn of(values: &mut [i64]) -> Option<Percentiles> {
        values.sort_unstable();
        Some(Percentiles {
            n: values.len(),
            p50: percentile(values, 50)?,
            p99: percentile(values, 99)?,
            max: *values.last()?,
        })
    }
}

/// Median, min and max of one figure over repeated runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Spread {
    /// `None` if there is no value (NaNs are left out).
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
            runs: n,
        })
    }
}

/// The deadline of tick `k` (from 1) in nanoseconds since the epoch, by the
/// VM's own integer arithmetic: `start_at + (k-1) * 1e9 / rate` ns.
pub fn tick_deadline_ns(start_at_us: i64, rate: u32, k: u64) -> i64 {
    start_at_us * 1000 + params::tick_offset(rate, k).as_nanos() as i64
}

/// One VM's ticks measured against its schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub vm: u32,
    pub rate: u32,
    /// `rate x runtime` ticks, as the VM counts them.
    pub expected: u64,
    /// Tick events in the log.
    pub made: u64,
    /// Each tick's lateness in ns: its logged time minus its deadline. The log
    /// keeps microseconds, so an on-time tick may show up to 1 us early.
    pub lateness_ns: Vec<i64>,
    /// Ticks logged at or after the next tick's deadline: they missed their
    /// slot, so the VM was, for a while, not keeping its rate.
    pub missed: u64,
    /// The shared start instant, us since the epoch.
    pub start_at_us: i64,
    /// When tick 1 was logged, us since the epoch.
    pub first_tick_us: Option<i64>,
    /// The runtime its `start` line gives, us.
    pub runtime_us: u64,
}

impl TickReport {
    /// `made - expected`: 0 when the VM made exactly `rate x runtime` ticks.
    pub fn count_error(&self) -> i64 {
        self.made as i64 - self.expected as i64
    }
}

/// Measures one VM's log (its lines in order) against its schedule. The log
/// must open with a `start` line carrying `runtime` and `start_at`.
pub fn ticks(lines: &[Line]) -> Result<TickReport, BenchError> {
    let Some(first) = lines.first() else {
        return Err(BenchError("an empty log".into()));
    };
    let vm = first.vm;
    let (rate, runtime_us, start_at_us) = match &first.event {
        Event::Start(StartInfo {
            rate,
            runtime_us: Some(runtime),
            start_at_us: Some(at),
            delay_us: None,
            clock_skew_us: None,
            clock_drift_ppb: None,
            ..
        }) if *rate > 0 => (*rate, *runtime, *at),
        _ => {
            return Err(BenchError(format!(
                "VM {vm}: the log does not open with a start line with a rate, runtime and start_at"
            )));
        }
    };
    let mut report = TickReport {
        vm,
        rate,
        expected: params::tick_count(rate, Duration::from_micros(runtime_us)),
        made: 0,
        lateness_ns: Vec::with_capacity(lines.len()),
        missed: 0,
        start_at_us,
        first_tick_us: None,
        runtime_us,
    };
    for line in lines {
        let Some((k, _)) = line.event.tick_clock() else {
            continue;
        };
        if k == 0 {
            return Err(BenchError(format!("VM {vm}: a tick numbered 0")));
        }
        let at_ns = line.time_us * 1000;
        report
            .lateness_ns
            .push(at_ns - tick_deadline_ns(start_at_us, rate, k));
        if at_ns >= tick_deadline_ns(start_at_us, rate, k + 1) {
            report.missed += 1;
        }
        if k == 1 {
            report.first_tick_us = Some(line.time_us);
        }
        report.made += 1;
    }
    Ok(report)
}

/// Send-to-arrival latencies in us of every receive of a run, matched to
/// their sends by the one matcher ([`Index`], [`latencies_ms`]); and how many
/// receives named no delivered message in the logs given.
pub fn latencies_us(logs: &[(u32, Vec<Line>)]) -> (Vec<i64>, u64) {
    let sends = Index::of(logs);
    let mut all = Vec::new();
    let mut unmatched = 0;
    for (id, lines) in logs {
        let (ms, missing) = latencies_ms(*id, lines, &sends);
        all.extend(ms.iter().map(|m| (m * 1000.0).round() as i64));
        unmatched += missing;
    }
    (all, unmatched)
}

/// What a run's logs say about its messages and links: one `sent` per
/// recipient of each `send`, every `receive` and `pending`, and the link
/// events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounts {
    pub sent: u64,
    pub received: u64,
    pub pending: u64,
    pub peer_lost: u64,
    pub link_down: u64,
    pub link_up: u64,
    /// The sum of `resent` over the `link_up` lines.
    pub resent: u64,
}

impl LinkCounts {
    pub fn of(logs: &[(u32, Vec<Line>)]) -> LinkCounts {
        let mut c = LinkCounts::default();
        for line in logs.iter().flat_map(|(_, lines)| lines) {
            match &line.event {
                Event::Send { to, .. } => c.sent += to.len() as u64,
                Event::Receive { .. } => c.received += 1,
                Event::Pending { .. } => c.pending += 1,
                Event::PeerLost { .. } => c.peer_lost += 1,
                Event::LinkDown { .. } => c.link_down += 1,
                Event::LinkUp { resent, .. } => {
                    c.link_up += 1;
                    c.resent += resent;
                }
                _ => {}
            }
        }
        c
    }

    /// Messages sent that were neither received nor left pending (negative
    /// if more were recorded than sent: duplicates).
    pub fn lost(&self) -> i64 {
        self.sent as i64 - self.received as i64 - self.pending as i64
    }
}

/// Every receive of a run that matches its send, as (when it was sent,
/// send-to-arrival latency), both in us; by the same matching as
/// [`latencies_us`].
pub fn timed_latencies_us(logs: &[(u32, Vec<Line>)]) -> Vec<(i64, i64)> {
    let sends = Index::of(logs);
    let mut out = Vec::new();
    for (id, lines) in logs {
        for line in lines {
            let Event::Receive { wait_us, .. } = line.event else {
                continue;
            };
            if let Some(Ok(sent)) = sends.taken_by(*id, line) {
                let sent = sent.send.time_us;
                out.push((sent, line.time_us - wait_us as i64 - sent));
            }
        }
    }
    out
}

/// Splits (sent, latency) pairs into the latencies of messages sent inside
/// any of `windows` (`[from, to]` us, both ends included) and the rest.
pub fn split_by_send_time(msgs: &[(i64, i64)], windows: &[(i64, i64)]) -> (Vec<i64>, Vec<i64>) {
    let (mut inside, mut rest) = (Vec::new(), Vec::new());
    for &(sent, latency) in msgs {
        if windows.iter().any(|&(a, b)| (a..=b).contains(&sent)) {
            inside.push(latency);
        } else {
            rest.push(latency);
        }
    }
    (inside, rest)
}

/// One TCP socket of `/proc/PID/net/tcp` or `tcp6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpEntry {
    pub local: std::net::SocketAddr,
    pub remote: std::net::SocketAddr,
    /// The kernel's state number: 1 is ESTABLISHED, 10 LISTEN.
    pub state: u8,
    pub inode: u64,
}

impl TcpEntry {
    pub const ESTABLISHED: u8 = 1;
}

/// Parses the text of `/proc/net/tcp` or `/proc/net/tcp6` (the kernel prints
/// each address as native-endian 32-bit words in hex); lines that do not
/// parse are left out.
pub fn parse_proc_net_tcp(text: &str) -> Vec<TcpEntry> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    fn addr(field: &str) -> Option<SocketAddr> {
        let (ip, port) = field.split_once(':')?;
        let port = u16::from_str_radix(port, 16).ok()?;
        let word = |i: usize| -> Option<[u8; 4]> {
            let hex = ip.get(i * 8..i * 8 + 8)?;
            Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
        };
        let ip = match ip.len() {
            8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
            32 => {
                let mut bytes = [0u8; 16];
                for i in 0..4 {
                    bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
                }
                IpAddr::V6(Ipv6Addr::from(bytes))
            }
            _ => return None,
        };
        Some(SocketAddr::new(ip, port))
    }
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || !f[0].ends_with(':') {
                return None;
            }
            Some(TcpEntry {
                local: addr(f[1])?,
                remote: addr(f[2])?,
                state: u8::from_str_radix(f[3], 16).ok()?,
                inode: f[9].parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logline;

    fn parse(text: &str) -> Vec<Line> {
        text.lines().map(|l| Line::parse(l).unwrap()).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<i64> = (1..=100).rev().collect();
        let p = Percentiles::of(&mut v).unwrap();
        assert_eq!((p.n, p.p50, p.p99, p.max), (100, 50, 99, 100));
        assert!(Percentiles::of(&mut []).is_none());
    }

    #[test]
    fn spread_is_median_min_max() {
        let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.runs), (2.0, 1.0, 3.0, 3));
        assert_eq!(Spread::of(&[4.0, 1.0, f64::NAN]).unwrap().median, 2.5);
        assert!(Spread::of(&[]).is_none());
    }

    #[test]
    fn deadlines_follow_the_vm() {
        let at = 1_795_000_000_000_000;
        assert_eq!(tick_deadline_ns(at, 3, 1), at * 1000);
        assert_eq!(tick_deadline_ns(at, 3, 3), at * 1000 + 666_666_666);
        assert_eq!(
            tick_deadline_ns(at, 10_000, 10_001),
            at * 1000 + 1_000_000_000
        );
    }

    const LOG: &str = "\
time=2026-11-22T10:00:00.000000Z vm=2 event=start rate=4 event_range=10 seed=7 peers=1,3 run=r runtime=1 start_at=2026-11-22T10:00:00.000000Z
time=2026-11-22T10:00:00.000100Z vm=2 event=internal tick=1 clock=1 queue=0
time=2026-11-22T10:00:00.250000Z vm=2 event=send tick=2 clock=2 queue=0 to=1
time=2026-11-22T10:00:00.749999Z vm=2 event=internal tick=3 clock=3 queue=0
time=2026-11-22T10:00:01.000000Z vm=2 event=stop ticks=3 clock=3 reason=runtime";

    #[test]
    fn lateness_and_missed_slots() {
        let r = ticks(&parse(LOG)).unwrap();
        assert_eq!((r.vm, r.rate, r.expected, r.made), (2, 4, 4, 3));
        assert_eq!(r.count_error(), -1);
        // Tick 3 was due at 0.5 s and came just before tick 4's deadline.
        assert_eq!(r.lateness_ns, vec![100_000, 0, 249_999_000]);
        assert_eq!(r.missed, 0);
        assert_eq!(
            r.first_tick_us,
            Some(logline::parse_time("2026-11-22T10:00:00.000100Z").unwrap())
        );
        let late = LOG.replace("00.749999Z", "00.750000Z");
        assert_eq!(ticks(&parse(&late)).unwrap().missed, 1);
    }

    #[test]
    fn logs_without_a_schedule_are_errors() {
        assert!(ticks(&[]).is_err());
        let old = "time=2026-11-22T10:00:00.000000Z vm=2 event=start rate=4 event_range=10 seed=7 peers=1,3 run=r";
        assert!(ticks(&parse(old)).is_err());
        let zero = LOG.replace("rate=4", "rate=0");
        assert!(ticks(&parse(&zero)).is_err());
        let tick0 = LOG.replace("tick=1 ", "tick=0 ");
        assert!(ticks(&parse(&tick0)).is_err());
    }

    #[test]
    fn latency_is_arrival_minus_send() {
        let sender =
            parse("time=2026-11-22T10:00:00.000100Z vm=1 event=send tick=5 clock=5 queue=0 to=2");
        let receiver = parse(
            "time=2026-11-22T10:00:00.200100Z vm=2 event=receive tick=2 clock=6 queue=0 from=1 sent_tick=5 msg_clock=5 wait_us=199950
time=2026-11-22T10:00:00.300000Z vm=2 event=receive tick=3 clock=7 queue=0 from=3 sent_tick=1 msg_clock=1 wait_us=0",
        );
        assert_eq!(latencies_us(&[(1, sender), (2, receiver)]), (vec![50], 1));
    }

    #[test]
    fn a_synthetic_run_passes_verify_and_measures_as_made() {
        for vms in [2, 3, 5] {
            let files =
                crate::testkit::synthetic_run(vms, 50, Duration::from_secs(2), 7, (30, 250));
            let report = crate::verify::check(&files);
            assert!(report.ok(), "{vms} VMs: {:?}", &report.violations[..1]);
            let mut logs = Vec::new();
            for (name, text) in &files {
                assert!(name.starts_with("machine_"), "{name}");
                let lines = parse(text);
                let r = ticks(&lines).unwrap();
                assert_eq!((r.made, r.expected, r.missed), (100, 100, 0));
                assert!(r.lateness_ns.iter().all(|&l| l == 30_000), "{r:?}");
                logs.push((r.vm, lines));
            }
            let (us, unmatched) = latencies_us(&logs);
            assert_eq!(unmatched, 0);
            assert!(!us.is_empty() && us.iter().all(|&l| l == 250));
        }
    }

    #[test]
    fn link_counts_and_losses() {
        let a = parse(
            "time=2026-11-22T10:00:00.000100Z vm=1 event=send tick=1 clock=1 queue=0 to=2,3
time=2026-11-22T10:00:00.100000Z vm=1 event=link_down peer=2
time=2026-11-22T10:00:00.200000Z vm=1 event=link_up peer=2 resent=3
time=2026-11-22T10:00:00.300000Z vm=1 event=send tick=2 clock=2 queue=0 to=3",
        );
        let b = parse(
            "time=2026-11-22T10:00:00.100000Z vm=2 event=link_down peer=1
time=2026-11-22T10:00:00.200000Z vm=2 event=link_up peer=1 resent=1
time=2026-11-22T10:00:00.300000Z vm=2 event=receive tick=2 clock=2 queue=0 from=1 sent_tick=1 msg_clock=1 wait_us=0
time=2026-11-22T10:00:00.400000Z vm=2 event=peer_lost peer=3",
        );
        let c = parse(
            "time=2026-11-22T10:00:01.000000Z vm=3 event=pending from=1 sent_tick=2 msg_clock=2",
        );
        let n = LinkCounts::of(&[(1, a), (2, b), (3, c)]);
        assert_eq!(
            n,
            LinkCounts {
                sent: 3,
                received: 1,
                pending: 1,
                peer_lost: 1,
                link_down: 2,
                link_up: 2,
                resent: 4,
            }
        );
        assert_eq!(n.lost(), 1);
    }

    #[test]
    fn latencies_split_by_when_they_were_sent() {
        let sender = parse(
            "time=2026-11-22T10:00:00.000100Z vm=1 event=send tick=5 clock=5 queue=0 to=2
time=2026-11-22T10:00:01.000000Z vm=1 event=send tick=6 clock=6 queue=0 to=2",
        );
        let receiver = parse(
            "time=2026-11-22T10:00:00.200100Z vm=2 event=receive tick=2 clock=6 queue=0 from=1 sent_tick=5 msg_clock=5 wait_us=199950
time=2026-11-22T10:00:01.500000Z vm=2 event=receive tick=3 clock=7 queue=0 from=1 sent_tick=6 msg_clock=6 wait_us=0
time=2026-11-22T10:00:01.500000Z vm=2 event=receive tick=4 clock=8 queue=0 from=3 sent_tick=1 msg_clock=1 wait_us=0",
        );
        let t0 = logline::parse_time("2026-11-22T10:00:00.000100Z").unwrap();
        let timed = timed_latencies_us(&[(1, sender), (2, receiver)]);
        assert_eq!(timed, vec![(t0, 50), (t0 + 999_900, 500_000)]);
        let (inside, rest) = split_by_send_time(&timed, &[(t0 + 999_900, t0 + 999_900)]);
        assert_eq!((inside, rest), (vec![500_000], vec![50]));
        let (inside, rest) = split_by_send_time(&timed, &[]);
        assert_eq!((inside.len(), rest.len()), (0, 2));
    }

    #[test]
    fn proc_net_tcp_parses() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A8E2 0100007F:E1D5 01 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 20 4 30 10 -1
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
garbage";
        let e = parse_proc_net_tcp(v4);
        if cfg!(target_endian = "little") {
            assert_eq!(e.len(), 2);
            assert_eq!(e[0].local, "127.0.0.1:43234".parse().unwrap());
            assert_eq!(e[0].remote, "127.0.0.1:57813".parse().unwrap());
            assert_eq!((e[0].state, e[0].inode), (TcpEntry::ESTABLISHED, 123456));
            assert_eq!(e[1].local, "0.0.0.0:8080".parse().unwrap());
            assert_eq!(e[1].state, 10);
            let v6 = "   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:A8E2 01 00000000:00000000 00:00000000 00000000     0        0 7 1";
            let e = parse_proc_net_tcp(v6);
            assert_eq!(e[0].local, "[::1]:8080".parse().unwrap());
            assert_eq!(e[0].remote, "[::1]:43234".parse().unwrap());
        }
    }
}
