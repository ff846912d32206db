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

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

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
    /// This VM's clock offset from true time at its start, microseconds
    /// (extra key `clock_skew_us`, with `--clock-skew`).
    pub clock_skew_us: Option<i64>,
    /// This VM's clock drift, parts per billion (extra key
    /// `clock_drift_ppm`, written in parts per million, with `--clock-drift`).
    pub clock_drift_ppb: Option<i64>,
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
                clock_skew_us: fields.opt("clock_skew_us").map(parse_signed).transpose()?,
                clock_drift_ppb: fields.opt("clock_drift_ppm").map(parse_milli).transpose()?,
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
    if let Some(us) = s.clock_skew_us {
        write!(out, " clock_skew_us={us}")?;
    }
    if let Some(ppb) = s.clock_drift_ppb {
        out.push_str(" clock_drift_ppm=");
        out.push_str(&format_milli(ppb));
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

/// A signed count of thousandths as a decimal without trailing zeros
/// (`-250.5`), the form of `--clock-skew`, `--clock-drift` and `clock_drift_ppm`.
pub fn format_milli(value: i64) -> String {
    let mut out = String::new();
    if value < 0 {
        out.push('-');
    }
    write_fixed(value.unsigned_abs(), 3, &mut out);
    out
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

/// A signed whole number (`clock_skew_us`).
fn parse_signed(s: &str) -> Result<i64, ParseError> {
    let (neg, digits) = s.strip_prefix('-').map_or((false, s), |d| (true, d));
    let bad = || ParseError(format!("`{s}` is not a whole number"));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let v: i64 = digits.parse().map_err(|_| bad())?;
    Ok(if neg { -v } else { v })
}

/// A signed decimal with at most three fractional digits as thousandths
/// (`clock_drift_ppm`), the inverse of [`format_milli`].
fn parse_milli(s: &str) -> Result<i64, ParseError> {
    let (neg, digits) = s.strip_prefix('-').map_or((false, s), |d| (true, d));
    let v = parse_fixed(digits, 3)
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| ParseError(format!("`{s}` is not a number of parts per million")))?;
    Ok(if neg { -v } else { v })
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
    /// The tokens between single spaces, each cut at its first `=`: as
    /// `text.split(' ')` then `split_once('=')`, in one pass over the bytes
    /// (both are ASCII, so every cut is at a char boundary). This is the
    /// parser's hot loop: a third of `verify`'s and `analyze`'s time went to
    /// the two searches.
    fn split(text: &'a str) -> Result<Self, ParseError> {
        let mut pairs = Vec::with_capacity(12);
        let (mut start, mut eq) = (0, None);
        let mut token = |start: usize, eq: Option<usize>, end: usize| match eq {
            Some(e) if e > start => {
                pairs.push((&text[start..e], &text[e + 1..end]));
                Ok(())
            }
            _ => err(format!("`{}` is not key=value", shorten(&text[start..end]))),
        };
        for (i, &c) in text.as_bytes().iter().enumerate() {
            if c == b' ' {
                token(start, eq, i)?;
                (start, eq) = (i + 1, None);
            } else if c == b'=' && eq.is_none() {
                eq = Some(i);
            }
        }
        token(start, eq, text.len())?;
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

/// Writes `us` (microseconds since the epoch) as `2026-11-22T10:00:00.250113Z`:
/// chrono's RFC 3339 with six fractional digits and `Z`. A time outside
/// chrono's range (years beyond +-262,143; no log holds one) is written as the
/// nearest end of that range.
pub fn write_time(us: i64, out: &mut String) {
    let t = DateTime::from_timestamp_micros(us).unwrap_or(if us < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    });
    out.push_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true));
}

/// Formats `us` as an RFC 3339 string (see [`write_time`]).
pub fn format_time(us: i64) -> String {
    let mut s = String::with_capacity(27);
    write_time(us, &mut s);
    s
}

/// Parses an RFC 3339 time to microseconds since the epoch. The exact shape
/// [`write_time`] writes takes [`parse_time_fast`]; anything else (other
/// offsets, other fractional digits, leap seconds) goes to chrono.
pub fn parse_time(s: &str) -> Result<i64, ParseError> {
    if let Some(us) = parse_time_fast(s) {
        return Ok(us);
    }
    parse_time_chrono(s)
}

/// chrono's RFC 3339 parser alone: what [`parse_time`] falls back to.
pub fn parse_time_chrono(s: &str) -> Result<i64, ParseError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_micros())
        .or_else(|_| err(format!("`{}` is not an RFC 3339 time", shorten(s))))
}

/// The log parser's fast path (the time is on every line; `cargo bench --
/// rfc3339` measures it against chrono's parser): only the shape
/// [`write_time`] writes, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, read digit by digit,
/// with chrono checking the date and counting the days. `None` for any other
/// shape, and for what chrono would reject; tested against chrono.
pub fn parse_time_fast(s: &str) -> Option<i64> {
    let b = s.as_bytes();
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
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec, us) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..26)?);
    // Seconds 60 (a leap second) are left to chrono's parser.
    let t = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, mo, d)?.and_hms_micro_opt(
        h,
        mi,
        (sec < 60).then_some(sec)?,
        us,
    )?;
    Some(t.and_utc().timestamp_micros())
}

/// The current wall time in microseconds since the epoch.
pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
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
                clock_skew_us: Some(-249_731),
                clock_drift_ppb: Some(-12_500),
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
                clock_skew_us: None,
                clock_drift_ppb: None,
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

    /// The range of times logs hold: 2000-01-01 to 2100-01-01 (leap days,
    /// a non-leap century year and 100 year boundaries inside).
    const LOG_TIMES: std::ops::Range<i64> = 946_684_800_000_000..4_102_444_800_000_000;

    /// What chrono writes through its own strftime path, independently of
    /// [`write_time`]: the bytes the logs have always held.
    fn strftime(us: i64) -> String {
        DateTime::from_timestamp_micros(us)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string()
    }

    /// The two-search split [`Fields::split`] replaced, as the reference.
    fn split_by_searches(text: &str) -> Option<Vec<(&str, &str)>> {
        text.split(' ')
            .map(|t| t.split_once('=').filter(|(k, _)| !k.is_empty()))
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn fields_split_as_split_then_split_once(text in "[a= é\\r]{0,24}") {
            let fast = Fields::split(&text).ok().map(|f| f.pairs);
            proptest::prop_assert_eq!(fast, split_by_searches(&text));
        }

        #[test]
        fn time_round_trips_through_both_parsers(us in LOG_TIMES) {
            let s = format_time(us);
            proptest::prop_assert_eq!(&s, &strftime(us));
            proptest::prop_assert_eq!(parse_time_fast(&s), Some(us));
            proptest::prop_assert_eq!(parse_time_chrono(&s), Ok(us));
        }

        #[test]
        fn fast_path_agrees_with_chrono_on_any_digits(
            s in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{6}Z"
        ) {
            let chrono = parse_time_chrono(&s).ok();
            match parse_time_fast(&s) {
                Some(us) => proptest::prop_assert_eq!(Some(us), chrono),
                // Declined: chrono rejects it too, or it is a leap second.
                None => proptest::prop_assert!(chrono.is_none() || &s[17..19] == "60", "{}", s),
            }
            proptest::prop_assert_eq!(parse_time(&s).ok(), chrono);
        }

        #[test]
        fn other_offsets_and_digits_go_to_chrono(
            us in LOG_TIMES,
            offset_min in -23 * 60 - 59..=23 * 60 + 59i32,
            digits in 0..=9usize,
        ) {
            let offset = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
            let local = DateTime::from_timestamp_micros(us).unwrap().with_timezone(&offset);
            let mut s = local.format("%Y-%m-%dT%H:%M:%S").to_string();
            let frac = format!("{:06}000", us.rem_euclid(1_000_000));
            if digits > 0 {
                s.push('.');
                s.push_str(&frac[..digits]);
            }
            s.push_str(&local.format("%:z").to_string());
            let cut = 10i64.pow(6u32.saturating_sub(digits as u32));
            proptest::prop_assert_eq!(parse_time(&s), parse_time_chrono(&s));
            proptest::prop_assert_eq!(parse_time(&s), Ok(us - us.rem_euclid(cut)), "{}", s);
        }
    }

    #[test]
    fn time_edge_cases_agree_with_chrono() {
        for s in [
            // Leap days: 2000 and 2024 have one, 2100 and 2026 do not.
            "2000-02-29T12:00:00.000000Z",
            "2024-02-29T00:00:00.000000Z",
            "2100-02-29T00:00:00.000000Z",
            "2026-02-29T10:00:00.000000Z",
            // Year and day boundaries, and the first and last microsecond.
            "2026-12-31T23:59:59.999999Z",
            "2027-01-01T00:00:00.000000Z",
            "1970-01-01T00:00:00.000000Z",
            "1969-12-31T23:59:59.999999Z",
            "0000-01-01T00:00:00.000000Z",
            "9999-12-31T23:59:59.999999Z",
            // Out of range fields.
            "2026-13-01T00:00:00.000000Z",
            "2026-00-01T00:00:00.000000Z",
            "2026-04-31T00:00:00.000000Z",
            "2026-11-22T24:00:00.000000Z",
            "2026-11-22T10:60:00.000000Z",
            // A leap second: chrono's (it counts it into the next second).
            "2016-12-31T23:59:60.500000Z",
            // Other fractional digits and offsets: chrono's.
            "2026-11-22T10:00:00Z",
            "2026-11-22T10:00:00.25Z",
            "2026-11-22T10:00:00.123456789Z",
            "2026-11-22T11:00:00.25+01:00",
            "2026-11-22T04:30:00.250000-05:30",
            "2026-11-22T10:00:00.250000+00:00",
            "2026-11-22t10:00:00.250000z",
            "2026-11-22 10:00:00.250000Z",
            // Not times.
            "2026-11-22T10:00:00.25000aZ",
            "+026-11-22T10:00:00.250000Z",
            "",
        ] {
            assert_eq!(parse_time(s).ok(), parse_time_chrono(s).ok(), "{s}");
            if let Some(us) = parse_time_fast(s) {
                assert_eq!(parse_time_chrono(s), Ok(us), "{s}");
            }
        }
        let at = |s| parse_time(s).unwrap();
        assert_eq!(
            at("2026-12-31T23:59:59.999999Z") + 1,
            at("2027-01-01T00:00:00.000000Z")
        );
        assert_eq!(
            at("2024-02-29T00:00:00.000000Z") - at("2024-02-28T00:00:00.000000Z"),
            86_400_000_000
        );
        assert_eq!(
            at("2026-11-22T11:00:00.25+01:00"),
            at("2026-11-22T10:00:00.250000Z")
        );
        assert!(parse_time("2026-02-29T10:00:00.000000Z").is_err());
        assert!(parse_time("2100-02-29T00:00:00.000000Z").is_err());
        // Written as before: six digits and `Z`, before the epoch too.
        for us in [0i64, -1, 951_782_400_000_001, 1_795_000_000_250_113] {
            assert_eq!(format_time(us), strftime(us));
        }
        assert_eq!(
            format_time(1_795_000_000_250_113),
            "2026-11-18T11:06:40.250113Z"
        );
        // Beyond chrono's range: its nearest end, not a panic.
        assert!(format_time(i64::MAX).starts_with('+'));
        assert!(format_time(i64::MIN).starts_with('-'));
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
