//! The one definition of the log format (docs/log-format.md): writing and
//! parsing of `machine_N.log` lines in logfmt. Every other module reads and
//! writes log lines only through [`Line`].
//!
//! Times are held as microseconds since the Unix epoch and written as RFC 3339
//! UTC with exactly six fractional digits. Readers ignore keys they do not
//! know, so keys may be added at the end of a line: `start` carries
//! `runtime` (seconds) and `start_at` (the shared start instant), so that
//! `verify` can check tick counts and `analyze` can measure tick lateness.

use std::fmt::{self, Write as _};

/// Why a VM stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The runtime ran out.
    Runtime,
    /// Ctrl+C, SIGINT, SIGTERM, a `stop` from the launcher or the launcher's death.
    Signal,
    /// Something went wrong (a peer never came up, a log write failed...).
    Error,
}

impl StopReason {
    /// The word written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Runtime => "runtime",
            StopReason::Signal => "signal",
            StopReason::Error => "error",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "runtime" => Some(StopReason::Runtime),
            "signal" => Some(StopReason::Signal),
            "error" => Some(StopReason::Error),
            _ => None,
        }
    }
}

/// The `start` line's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartInfo {
    pub rate: u32,
    pub event_range: u32,
    pub seed: u64,
    pub peers: Vec<u32>,
    pub run: String,
    /// Planned runtime in microseconds (extra key `runtime`, written in seconds).
    pub runtime_us: Option<u64>,
    /// The shared start instant, microseconds since the epoch (extra key `start_at`).
    pub start_at_us: Option<i64>,
    /// `--delay`, as (min, max) microseconds (extra key `delay`, written in
    /// milliseconds as `MIN..MAX`); absent when there is no delay.
    pub delay_us: Option<(u64, u64)>,
}

/// One logged event, without its time and VM id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Start(StartInfo),
    Internal {
        tick: u64,
        clock: u64,
        queue: u64,
    },
    Send {
        tick: u64,
        clock: u64,
        queue: u64,
        to: Vec<u32>,
    },
    Receive {
        tick: u64,
        clock: u64,
        queue: u64,
        from: u32,
        sent_tick: u64,
        msg_clock: u64,
        wait_us: u64,
    },
    Pending {
        from: u32,
        sent_tick: u64,
        msg_clock: u64,
    },
    PeerLost {
        peer: u32,
    },
    /// The link to `peer` broke; it is being re-established.
    LinkDown {
        peer: u32,
    },
    /// The link to `peer` is back; `resent` messages were sent again on it.
    LinkUp {
        peer: u32,
        resent: u64,
    },
    Stop {
        ticks: u64,
        clock: u64,
        reason: StopReason,
    },
}

impl Event {
    /// The `event=` word.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Start(_) => "start",
            Event::Internal { .. } => "internal",
            Event::Send { .. } => "send",
            Event::Receive { .. } => "receive",
            Event::Pending { .. } => "pending",
            Event::PeerLost { .. } => "peer_lost",
            Event::LinkDown { .. } => "link_down",
            Event::LinkUp { .. } => "link_up",
            Event::Stop { .. } => "stop",
        }
    }

    /// The tick and clock of a tick event (`internal`, `send`, `receive`).
    pub fn tick_clock(&self) -> Option<(u64, u64)> {
        match *self {
            Event::Internal { tick, clock, .. }
            | Event::Send { tick, clock, .. }
            | Event::Receive { tick, clock, .. } => Some((tick, clock)),
            _ => None,
        }
    }

    /// The queue length logged with a tick event.
    pub fn queue(&self) -> Option<u64> {
        match *self {
            Event::Internal { queue, .. }
            | Event::Send { queue, .. }
            | Event::Receive { queue, .. } => Some(queue),
            _ => None,
        }
    }
}

/// One log line: when, which VM, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Microseconds since the Unix epoch, UTC.
    pub time_us: i64,
    pub vm: u32,
    pub event: Event,
}

/// Why a line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

impl Line {
    /// Appends this line, with its trailing newline, to `out`.
    pub fn write_to(&self, out: &mut String) {
        write_line(self.time_us, self.vm, &self.event, out);
    }

    /// Parses one line (without its newline). Unknown keys are ignored.
    pub fn parse(text: &str) -> Result<Line, ParseError> {
        let fields = Fields::split(text)?;
        let time_us = parse_time(fields.req("time")?)?;
        let vm = fields.num("vm")?;
        let event = match fields.req("event")? {
            "start" => Event::Start(StartInfo {
                rate: fields.num("rate")?,
                event_range: fields.num("event_range")?,
                seed: fields.num("seed")?,
                peers: parse_ids(fields.req("peers")?)?,
                run: fields.req("run")?.to_string(),
                runtime_us: fields.opt("runtime").map(parse_secs).transpose()?,
                start_at_us: fields.opt("start_at").map(parse_time).transpose()?,
                delay_us: fields.opt("delay").map(parse_delay).transpose()?,
            }),
            "internal" => Event::Internal {
                tick: fields.num("tick")?,
                clock: fields.num("clock")?,
                queue: fields.num("queue")?,
            },
            "send" => Event::Send {
                tick: fields.num("tick")?,
                clock: fields.num("clock")?,
                queue: fields.num("queue")?,
                to: parse_ids(fields.req("to")?)?,
            },
            "receive" => Event::Receive {
                tick: fields.num("tick")?,
                clock: fields.num("clock")?,
                queue: fields.num("queue")?,
                from: fields.num("from")?,
                sent_tick: fields.num("sent_tick")?,
                msg_clock: fields.num("msg_clock")?,
                wait_us: fields.num("wait_us")?,
            },
            "pending" => Event::Pending {
                from: fields.num("from")?,
                sent_tick: fields.num("sent_tick")?,
                msg_clock: fields.num("msg_clock")?,
            },
            "peer_lost" => Event::PeerLost {
                peer: fields.num("peer")?,
            },
            "link_down" => Event::LinkDown {
                peer: fields.num("peer")?,
            },
            "link_up" => Event::LinkUp {
                peer: fields.num("peer")?,
                resent: fields.num("resent")?,
            },
            "stop" => Event::Stop {
                ticks: fields.num("ticks")?,
                clock: fields.num("clock")?,
                reason: {
                    let r = fields.req("reason")?;
                    match StopReason::parse(r) {
                        Some(reason) => reason,
                        None => return err(format!("unknown stop reason `{r}`")),
                    }
                },
            },
            other => return err(format!("unknown event `{other}`")),
        };
        Ok(Line { time_us, vm, event })
    }
}

/// Appends one line for `event` of VM `vm` at `time_us`, with its newline, to `out`.
pub fn write_line(time_us: i64, vm: u32, event: &Event, out: &mut String) {
    out.push_str("time=");
    write_time(time_us, out);
    // Writing into a String cannot fail.
    let _ = write!(out, " vm={} event={}", vm, event.kind());
    let _ = match event {
        Event::Start(s) => write_start(s, out),
        Event::Internal { tick, clock, queue } => {
            write!(out, " tick={tick} clock={clock} queue={queue}")
        }
        Event::Send {
            tick,
            clock,
            queue,
            to,
        } => {
            let _ = write!(out, " tick={tick} clock={clock} queue={queue} to=");
            write_ids(to, out);
            Ok(())
        }
        Event::Receive {
            tick,
            clock,
            queue,
            from,
            sent_tick,
            msg_clock,
            wait_us,
        } => write!(
            out,
            " tick={tick} clock={clock} queue={queue} from={from} sent_tick={sent_tick} msg_clock={msg_clock} wait_us={wait_us}"
        ),
        Event::Pending {
            from,
            sent_tick,
            msg_clock,
        } => write!(
            out,
            " from={from} sent_tick={sent_tick} msg_clock={msg_clock}"
        ),
        Event::PeerLost { peer } | Event::LinkDown { peer } => write!(out, " peer={peer}"),
        Event::LinkUp { peer, resent } => write!(out, " peer={peer} resent={resent}"),
        Event::Stop {
            ticks,
            clock,
            reason,
        } => write!(
            out,
            " ticks={ticks} clock={clock} reason={}",
            reason.as_str()
        ),
    };
    out.push('\n');
}

fn write_start(s: &StartInfo, out: &mut String) -> fmt::Result {
    write!(
        out,
        " rate={} event_range={} seed={} peers=",
        s.rate, s.event_range, s.seed
    )?;
    write_ids(&s.peers, out);
    write!(out, " run={}", s.run)?;
    if let Some(us) = s.runtime_us {
        out.push_str(" runtime=");
        write_secs(us, out);
    }
    if let Some(at) = s.start_at_us {
        out.push_str(" start_at=");
        write_time(at, out);
    }
    if let Some((min, max)) = s.delay_us {
        out.push_str(" delay=");
        out.push_str(&format_delay(min, max));
    }
    Ok(())
}

/// A delay range of microseconds as `MIN..MAX` milliseconds, the form of
/// the `delay` key and of `--delay`.
pub fn format_delay(min_us: u64, max_us: u64) -> String {
    let mut out = String::new();
    write_fixed(min_us, 3, &mut out);
    out.push_str("..");
    write_fixed(max_us, 3, &mut out);
    out
}

fn write_ids(ids: &[u32], out: &mut String) {
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{id}");
    }
}

fn parse_ids(s: &str) -> Result<Vec<u32>, ParseError> {
    // A VM stopped before it learned its peers writes `peers=`.
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|t| {
            t.parse()
                .or_else(|_| err(format!("`{t}` is not a VM id in `{s}`")))
        })
        .collect()
}

/// Seconds with up to six decimals and no trailing zeros: `60`, `2.5`.
fn write_secs(us: u64, out: &mut String) {
    write_fixed(us, 6, out);
}

/// Writes `value / 10^digits` as a decimal without trailing zeros.
fn write_fixed(value: u64, digits: u32, out: &mut String) {
    let unit = 10u64.pow(digits);
    let _ = write!(out, "{}", value / unit);
    let frac = value % unit;
    if frac != 0 {
        let frac = format!("{frac:0width$}", width = digits as usize);
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

fn parse_secs(s: &str) -> Result<u64, ParseError> {
    parse_fixed(s, 6).ok_or_else(|| ParseError(format!("`{s}` is not a number of seconds")))
}

/// `MIN..MAX` milliseconds (to the microsecond) as microseconds.
fn parse_delay(s: &str) -> Result<(u64, u64), ParseError> {
    let bad = || ParseError(format!("`{s}` is not MIN..MAX milliseconds"));
    let (min, max) = s.split_once("..").ok_or_else(bad)?;
    let (min, max) = (parse_fixed(min, 3), parse_fixed(max, 3));
    min.zip(max).filter(|(a, b)| a <= b).ok_or_else(bad)
}

/// Parses a decimal with at most `digits` fractional digits as an integer
/// count of `10^-digits` units.
fn parse_fixed(s: &str, digits: u32) -> Option<u64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > digits as usize || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let frac: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = digits as usize)
            .parse()
            .ok()?
    };
    whole.checked_mul(10u64.pow(digits))?.checked_add(frac)
}

/// The key=value pairs of one line, in order.
struct Fields<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn split(text: &'a str) -> Result<Self, ParseError> {
        let mut pairs = Vec::with_capacity(12);
        for token in text.split(' ') {
            match token.split_once('=') {
                Some((k, v)) if !k.is_empty() => pairs.push((k, v)),
                _ => return err(format!("`{}` is not key=value", shorten(token))),
            }
        }
        Ok(Fields { pairs })
    }

    fn opt(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn req(&self, key: &str) -> Result<&'a str, ParseError> {
        self.opt(key)
            .ok_or_else(|| ParseError(format!("missing key `{key}`")))
    }

    fn num<T: std::str::FromStr>(&self, key: &str) -> Result<T, ParseError> {
        let v = self.req(key)?;
        v.parse()
            .or_else(|_| err(format!("`{key}={}` is not a number", shorten(v))))
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Writes `us` (microseconds since the epoch) as `2026-11-22T10:00:00.250113Z`.
pub fn write_time(us: i64, out: &mut String) {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
}

/// Formats `us` as an RFC 3339 string (see [`write_time`]).
pub fn format_time(us: i64) -> String {
    let mut s = String::with_capacity(27);
    write_time(us, &mut s);
    s
}

/// Parses the exact form [`write_time`] writes, falling back to any RFC 3339 time.
pub fn parse_time(s: &str) -> Result<i64, ParseError> {
    if let Some(us) = parse_time_fast(s.as_bytes()) {
        return Ok(us);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_micros())
        .or_else(|_| err(format!("`{}` is not an RFC 3339 time", shorten(s))))
}

fn parse_time_fast(b: &[u8]) -> Option<i64> {
    // 2026-11-22T10:00:00.250113Z
    if b.len() != 27
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[26] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s, us) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..26)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000) + us)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// The current wall time in microseconds since the epoch.
pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> Vec<Event> {
        vec![
            Event::Start(StartInfo {
                rate: 4,
                event_range: 10,
                seed: 7,
                peers: vec![1, 3],
                run: "5f3a9c".into(),
                runtime_us: Some(2_500_000),
                start_at_us: Some(1_795_000_000_000_412),
                delay_us: Some((500, 20_000)),
            }),
            Event::Start(StartInfo {
                rate: 1,
                event_range: 3,
                seed: u64::MAX,
                peers: vec![],
                run: "manual".into(),
                runtime_us: None,
                start_at_us: None,
                delay_us: None,
            }),
            Event::Internal {
                tick: 1,
                clock: 1,
                queue: 0,
            },
            Event::Send {
                tick: 2,
                clock: 2,
                queue: 0,
                to: vec![1, 3],
            },
            Event::Receive {
                tick: 3,
                clock: 6,
                queue: 1,
                from: 3,
                sent_tick: 4,
                msg_clock: 5,
                wait_us: 180_233,
            },
            Event::Pending {
                from: 1,
                sent_tick: 359,
                msg_clock: 412,
            },
            Event::PeerLost { peer: 3 },
            Event::LinkDown { peer: 2 },
            Event::LinkUp {
                peer: 2,
                resent: 14,
            },
            Event::Stop {
                ticks: 240,
                clock: 415,
                reason: StopReason::Runtime,
            },
            Event::Stop {
                ticks: 0,
                clock: 0,
                reason: StopReason::Error,
            },
        ]
    }

    #[test]
    fn every_kind_round_trips() {
        for (i, event) in all_kinds().into_iter().enumerate() {
            let line = Line {
                time_us: 1_795_000_000_250_113 + i as i64,
                vm: 2,
                event,
            };
            let mut s = String::new();
            line.write_to(&mut s);
            assert!(s.ends_with('\n'));
            let parsed = Line::parse(s.trim_end()).expect(&s);
            assert_eq!(parsed, line, "{s}");
        }
    }

    #[test]
    fn matches_the_spec_example() {
        let text = "time=2026-11-22T10:00:00.500602Z vm=2 event=receive tick=3 clock=6 queue=1 from=3 sent_tick=4 msg_clock=5 wait_us=180233";
        let line = Line::parse(text).unwrap();
        let mut s = String::new();
        line.write_to(&mut s);
        assert_eq!(s.trim_end(), text);
        let start = "time=2026-11-22T10:00:00.000412Z vm=2 event=start rate=4 event_range=10 seed=7 peers=1,3 run=5f3a9c";
        let mut s = String::new();
        Line::parse(start).unwrap().write_to(&mut s);
        assert_eq!(s.trim_end(), start);
    }

    #[test]
    fn time_format_agrees_with_chrono() {
        for us in [0i64, 1_795_000_000_250_113, 951_782_400_000_001, -1] {
            let ours = format_time(us);
            let theirs = chrono::DateTime::from_timestamp_micros(us)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            assert_eq!(ours, theirs);
            assert_eq!(parse_time(&ours).unwrap(), us);
        }
        // Other RFC 3339 forms are accepted through chrono.
        assert_eq!(
            parse_time("2026-11-22T11:00:00.25+01:00").unwrap(),
            parse_time("2026-11-22T10:00:00.250000Z").unwrap()
        );
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let l = Line::parse("time=2026-11-22T10:00:00.000000Z vm=1 event=peer_lost peer=2 why=eof")
            .unwrap();
        assert_eq!(l.event, Event::PeerLost { peer: 2 });
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for bad in [
            "",
            "garbage",
            "time=2026-11-22T10:00:00.000000Z vm=1",
            "time=yesterday vm=1 event=stop ticks=1 clock=1 reason=runtime",
            "time=2026-11-22T10:00:00.000000Z vm=x event=peer_lost peer=2",
            "time=2026-11-22T10:00:00.000000Z vm=1 event=teleport",
            "time=2026-11-22T10:00:00.000000Z vm=1 event=send tick=1 clock=1 queue=0 to=1,,2",
            "time=2026-11-22T10:00:00.000000Z vm=1 event=stop ticks=1 clock=1 reason=bored",
            "time=2026-11-22T10:00:00.000000Z vm=1 event=internal tick=-1 clock=1 queue=0",
            "time=2026-11-22T10:00:00.000000Z  vm=1 event=peer_lost peer=2",
            "time=2026-13-22T10:00:00.000000Z vm=1 event=peer_lost peer=2",
            "time=2026-02-29T10:00:00.000000Z vm=1 event=peer_lost peer=2",
        ] {
            assert!(Line::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seconds_round_trip() {
        for us in [0, 1, 2_500_000, 60_000_000, 1_000_001] {
            let mut s = String::new();
            write_secs(us, &mut s);
            assert_eq!(parse_secs(&s).unwrap(), us, "{s}");
        }
        assert!(parse_secs("1.2345678").is_err());
        assert!(parse_secs("-1").is_err());
    }
}
