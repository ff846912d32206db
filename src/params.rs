//! The model's parameters as typed values, shared by the argument layer
//! (`config`, which checks flags into them), the launcher (which hands each
//! VM its [`VmConfig`] over the control pipe) and the VM (which runs on
//! them). No flags, no sockets, no files.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Longest `--delay` accepted: one minute.
pub const MAX_DELAY_MS: f64 = 60_000.0;

/// A bad argument: which flag, what value, what is wrong. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub flag: &'static str,
    pub value: String,
    pub why: String,
    /// The next step, where one exists: printed as its own `hint:` line,
    /// never part of the one-line message.
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.flag, self.value, self.why)
    }
}

impl std::error::Error for ConfigError {}

pub(crate) fn bad<T>(
    flag: &'static str,
    value: impl fmt::Display,
    why: impl Into<String>,
) -> Result<T, ConfigError> {
    Err(ConfigError {
        flag,
        value: value.to_string(),
        why: why.into(),
        hint: None,
    })
}

/// The model's checked knobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    pub runtime: Duration,
    pub min_rate: u32,
    pub max_rate: u32,
    pub event_range: u32,
    pub max_queue: usize,
    /// `--delay`; `None` for no delay.
    pub delay: Option<DelayRange>,
    pub seed: Option<u64>,
    pub logs: PathBuf,
    /// `--peer-timeout`: how long a peer may stay unreachable while ticking.
    pub peer_timeout: Duration,
    /// `--stop-grace`: how long a stopping VM waits on a link without progress.
    pub stop_grace: Duration,
    /// `--clock-skew` (microseconds); `None` for clocks that start true.
    #[serde(default)]
    pub clock_skew: Option<ClockRange>,
    /// `--clock-drift` (parts per billion); `None` for clocks that keep time.
    #[serde(default)]
    pub clock_drift: Option<ClockRange>,
}

/// `--delay MIN..MAX`: a network delay drawn uniformly, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelayRange {
    pub min_us: u64,
    pub max_us: u64,
}

impl DelayRange {
    /// Checks `--delay MIN..MAX` (or one number) in milliseconds, to the
    /// microsecond; 0 (or 0..0) is no delay.
    pub fn parse(text: &str) -> Result<Option<DelayRange>, ConfigError> {
        let range = parse_range(
            "--delay",
            text,
            (0.0, MAX_DELAY_MS),
            "milliseconds",
            "5..50",
        )?;
        Ok(range.map(|(min, max)| DelayRange {
            min_us: min.unsigned_abs(),
            max_us: max.unsigned_abs(),
        }))
    }
}

/// Checks `MIN..MAX` (or one number) of `flag` within `lo..=hi` of its
/// unit, to a thousandth: the pair in thousandths of the unit, `None` for
/// 0 (or 0..0). The one parser of `--delay`, `--clock-skew` and `--clock-drift`.
fn parse_range(
    flag: &'static str,
    text: &str,
    (lo, hi): (f64, f64),
    unit: &str,
    example: &str,
) -> Result<Option<(i64, i64)>, ConfigError> {
    let usage = format!("must be MIN..MAX {unit} ({lo} <= MIN <= MAX <= {hi}), e.g. {example}");
    let milli = |v: &str| {
        let x = v.trim().parse::<f64>().ok()?;
        (x.is_finite() && (lo..=hi).contains(&x)).then(|| (x * 1000.0).round() as i64)
    };
    // A negative MIN holds no `..` of its own: split at the first `..` after it.
    let at = text.get(1..).and_then(|t| t.find("..")).map(|i| i + 1);
    let (a, b) = match at {
        Some(i) => (&text[..i], &text[i + 2..]),
        None => (text, text),
    };
    match (milli(a), milli(b)) {
        (Some(0), Some(0)) => Ok(None),
        (Some(min), Some(max)) if min <= max => Ok(Some((min, max))),
        _ => bad(flag, text, usage),
    }
}

/// Largest `--clock-skew`, either way: one hour.
pub const MAX_SKEW_MS: f64 = 3_600_000.0;
/// Largest `--clock-drift`, either way: 10% (a clock that fast or slow is broken).
pub const MAX_DRIFT_PPM: f64 = 100_000.0;

/// `--clock-skew MIN..MAX` (thousandths: microseconds) or `--clock-drift
/// MIN..MAX` (thousandths: parts per billion): each VM draws its own value
/// uniformly from the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockRange {
    pub min: i64,
    pub max: i64,
}

impl ClockRange {
    /// Checks `--clock-skew MIN..MAX` milliseconds (negative allowed); 0 is none.
    pub fn parse_skew(text: &str) -> Result<Option<ClockRange>, ConfigError> {
        let range = parse_range(
            "--clock-skew",
            text,
            (-MAX_SKEW_MS, MAX_SKEW_MS),
            "milliseconds",
            "-250..250",
        )?;
        Ok(range.map(|(min, max)| ClockRange { min, max }))
    }

    /// Checks `--clock-drift MIN..MAX` parts per million (negative allowed); 0 is none.
    pub fn parse_drift(text: &str) -> Result<Option<ClockRange>, ConfigError> {
        let range = parse_range(
            "--clock-drift",
            text,
            (-MAX_DRIFT_PPM, MAX_DRIFT_PPM),
            "parts per million",
            "-50..50",
        )?;
        Ok(range.map(|(min, max)| ClockRange { min, max }))
    }

    /// One value drawn uniformly from the range, in thousandths.
    pub fn draw(self, rng: &mut impl rand::Rng) -> i64 {
        rng.random_range(self.min..=self.max)
    }
}

impl fmt::Display for ClockRange {
    /// `MIN..MAX` in the flag's unit, as the flag takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let milli = |v: i64| crate::logline::format_milli(v);
        write!(f, "{}..{}", milli(self.min), milli(self.max))
    }
}

impl fmt::Display for DelayRange {
    /// `MIN..MAX` milliseconds, the form of `--delay` and of the log's `delay` key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::logline::format_delay(self.min_us, self.max_us))
    }
}

/// How a VM gets its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RateSpec {
    Fixed(u32),
    Draw { min: u32, max: u32 },
}

impl RateSpec {
    /// The rate: the fixed one, or one drawn from the range with `rng`.
    pub fn pick(self, rng: &mut impl rand::Rng) -> u32 {
        match self {
            RateSpec::Fixed(r) => r,
            RateSpec::Draw { min, max } => rng.random_range(min..=max),
        }
    }
}

/// A checked `vm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmConfig {
    pub id: u32,
    pub listen: SocketAddr,
    /// (id, HOST:PORT), sorted by id; empty in control mode (the launcher sends them).
    pub peers: Vec<(u32, String)>,
    pub rate: RateSpec,
    pub run: String,
    pub connect_timeout: Duration,
    /// `--secret-file`; without it the VM reads `LAMPORT_SECRET`.
    pub secret_file: Option<PathBuf>,
    pub control: bool,
    /// Report [`crate::control::Status`] lines for the launcher's live view.
    pub live: bool,
    /// `--log-stdout`: every log line on standard output too (by hand only).
    #[serde(default)]
    pub log_stdout: bool,
    pub model: Model,
}

/// The run's seed: the one given, else a fresh one (printed by the caller).
pub fn seed_or_draw(seed: Option<u64>) -> u64 {
    seed.unwrap_or_else(|| rand::rng().random())
}

// The tick schedule: a model rule that the VM keeps and readers check.

/// The number of ticks in `runtime` at `rate`: tick k is at (k-1)/rate.
pub fn tick_count(rate: u32, runtime: Duration) -> u64 {
    let us = runtime.as_micros();
    (u128::from(rate) * us).div_ceil(1_000_000) as u64
}

/// The offset of tick `k` (from 1) after the start instant.
pub fn tick_offset(rate: u32, k: u64) -> Duration {
    let nanos = u128::from(k - 1) * 1_000_000_000 / u128::from(rate);
    Duration::from_nanos(nanos as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_is_min_dot_dot_max_milliseconds() {
        let d = |min_us, max_us| Ok(Some(DelayRange { min_us, max_us }));
        assert_eq!(DelayRange::parse("0"), Ok(None));
        assert_eq!(DelayRange::parse("0..0"), Ok(None));
        assert_eq!(DelayRange::parse("5..50"), d(5_000, 50_000));
        assert_eq!(DelayRange::parse("20"), d(20_000, 20_000));
        assert_eq!(DelayRange::parse("0..0.25"), d(0, 250));
    }

    #[test]
    fn delay_shows_as_it_is_written() {
        let d = DelayRange::parse("5..50.5").unwrap().unwrap();
        assert_eq!(d.to_string(), "5..50.5");
        assert_eq!(DelayRange::parse(&d.to_string()), Ok(Some(d)));
    }

    #[test]
    fn skew_and_drift_may_be_negative_and_parse_like_delay() {
        let r = |min, max| Ok(Some(ClockRange { min, max }));
        assert_eq!(ClockRange::parse_skew("-250..250"), r(-250_000, 250_000));
        assert_eq!(
            ClockRange::parse_skew("-300..-100.5"),
            r(-300_000, -100_500)
        );
        assert_eq!(ClockRange::parse_skew("40"), r(40_000, 40_000));
        assert_eq!(ClockRange::parse_skew("-40"), r(-40_000, -40_000));
        assert_eq!(ClockRange::parse_skew("0..0"), Ok(None));
        assert_eq!(ClockRange::parse_drift("-50..20"), r(-50_000, 20_000));
        for bad in ["5..-5", "x", "1..2..3", "-3600001..0", "..5", "-"] {
            let e = ClockRange::parse_skew(bad).unwrap_err();
            assert_eq!((e.flag, e.value.as_str()), ("--clock-skew", bad));
        }
        assert_eq!(
            ClockRange::parse_drift("0..100001").unwrap_err().flag,
            "--clock-drift"
        );
        // --delay keeps its own bounds: no negative delay.
        assert_eq!(DelayRange::parse("-1..2").unwrap_err().flag, "--delay");
        let shown = ClockRange::parse_skew("-250.25..3").unwrap().unwrap();
        assert_eq!(shown.to_string(), "-250.25..3");
    }

    #[test]
    fn a_fixed_rate_is_kept_and_a_range_is_drawn_from() {
        let mut rng = crate::vm::vm_rng(7, 1);
        assert_eq!(RateSpec::Fixed(4).pick(&mut rng), 4);
        for _ in 0..50 {
            assert!((2..=3).contains(&RateSpec::Draw { min: 2, max: 3 }.pick(&mut rng)));
        }
    }

    #[test]
    fn tick_counts_are_rate_times_runtime() {
        assert_eq!(tick_count(6, Duration::from_secs(60)), 360);
        assert_eq!(tick_count(1, Duration::from_secs(60)), 60);
        assert_eq!(tick_count(4, Duration::from_millis(2500)), 10);
        assert_eq!(tick_count(3, Duration::from_millis(500)), 2);
        assert_eq!(tick_count(10_000, Duration::from_secs(1)), 10_000);
    }

    #[test]
    fn deadlines_are_absolute_and_exact() {
        assert_eq!(tick_offset(4, 1), Duration::ZERO);
        assert_eq!(tick_offset(4, 2), Duration::from_millis(250));
        assert_eq!(tick_offset(3, 4), Duration::from_secs(1));
        assert_eq!(tick_offset(3, 3), Duration::from_nanos(666_666_666));
        // No accumulated error after a day at 7 ticks/s.
        assert_eq!(tick_offset(7, 7 * 86_400 + 1), Duration::from_secs(86_400));
    }
}
