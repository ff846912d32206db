//! A VM's physical clock under `--clock-skew` and `--clock-drift`: the one
//! definition of how the `time` a VM logs relates to true time, used by the
//! VM to write it and by every reader to undo it.
//!
//! VM i's clock reads `P(T) = T + offset + drift * (T - S)` at true time T,
//! where S is its start instant (`start_at`, on true time), `offset` its
//! `clock_skew_us` and `drift` its `clock_drift_ppm`, both from its `start`
//! line. The drift is at most 10% either way, so P rises with T; true time
//! comes back as `T = S + (P - S - offset) / (1 + drift)`, to the microsecond.

use crate::logline::{Event, Line, StartInfo};

const BILLION: i128 = 1_000_000_000;

/// One VM's physical clock against true time, all in microseconds since the
/// epoch but `drift_ppb` (parts per billion).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhysClock {
    pub offset_us: i64,
    pub drift_ppb: i64,
    /// True time from which the drift counts (the VM's start instant).
    pub start_us: i64,
}

impl PhysClock {
    /// The clock of the VM whose `start` line is `s`; `None` for a VM whose
    /// clock is true (no `clock_skew_us` or `clock_drift_ppm`).
    pub fn of(s: &StartInfo, first_time_us: i64) -> Option<PhysClock> {
        if s.clock_skew_us.is_none() && s.clock_drift_ppb.is_none() {
            return None;
        }
        Some(PhysClock {
            offset_us: s.clock_skew_us.unwrap_or(0),
            drift_ppb: s.clock_drift_ppb.unwrap_or(0),
            start_us: s.start_at_us.unwrap_or(first_time_us),
        })
    }

    /// What the clock reads at true time `true_us`. Never falls as
    /// `true_us` rises (the drift is at most 10% either way).
    pub fn physical(&self, true_us: i64) -> i64 {
        let since = i128::from(true_us - self.start_us);
        let drift = (since * i128::from(self.drift_ppb)).div_euclid(BILLION);
        true_us + self.offset_us + drift as i64
    }

    /// The true time at which the clock read `phys_us` (nearest microsecond).
    pub fn true_time(&self, phys_us: i64) -> i64 {
        let since = i128::from(phys_us - self.start_us - self.offset_us);
        let rate = BILLION + i128::from(self.drift_ppb);
        // Rounded to nearest, halves up.
        let back = (2 * since * BILLION + rate).div_euclid(2 * rate);
        self.start_us + back as i64
    }

    /// How far the clock is ahead of true time at `true_us`, microseconds.
    pub fn ahead_us(&self, true_us: i64) -> i64 {
        self.physical(true_us) - true_us
    }
}

/// Each log's clock, from its `start` line (`None` for a true clock or a
/// log without `start`).
pub fn clocks(logs: &[(u32, Vec<Line>)]) -> Vec<Option<PhysClock>> {
    logs.iter()
        .map(|(_, lines)| {
            let first = lines.first()?;
            match &first.event {
                Event::Start(s) => PhysClock::of(s, first.time_us),
                _ => None,
            }
        })
        .collect()
}

/// The logs on true time: every line's `time` undone through its VM's
/// clock. `None` when every clock is true (the logs are already on it).
pub fn on_true_time(logs: &[(u32, Vec<Line>)]) -> Option<Vec<(u32, Vec<Line>)>> {
    let clocks = clocks(logs);
    if clocks.iter().all(Option::is_none) {
        return None;
    }
    let logs = logs.iter().zip(&clocks).map(|((id, lines), clock)| {
        let lines = lines.iter().map(|l| Line {
            time_us: clock.map_or(l.time_us, |c| c.true_time(l.time_us)),
            ..l.clone()
        });
        (*id, lines.collect())
    });
    Some(logs.collect())
}

/// The clock uncertainty epsilon of a run: the largest difference between
/// two VMs' clocks at any true instant from `from_us` to `to_us` (each
/// clock's lead over true time is linear in it, so the largest is at one
/// end). A true clock leads by 0. Microseconds.
pub fn epsilon_us(clocks: &[Option<PhysClock>], from_us: i64, to_us: i64) -> i64 {
    [from_us, to_us]
        .iter()
        .map(|&t| {
            let ahead = clocks.iter().map(|c| c.map_or(0, |c| c.ahead_us(t)));
            let (lo, hi) = ahead.fold((i64::MAX, i64::MIN), |(lo, hi), a| (lo.min(a), hi.max(a)));
            hi.saturating_sub(lo).max(0)
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_795_000_000_000_000;

    #[test]
    fn true_time_undoes_the_physical_clock() {
        for (offset_us, drift_ppb) in [(0, 0), (-250_000, 0), (123_456, 50_000), (-7, -100_000_000)]
        {
            let c = PhysClock {
                offset_us,
                drift_ppb,
                start_us: S,
            };
            for t in [
                S - 5_000_000,
                S,
                S + 1,
                S + 999_999,
                S + 60_000_000,
                S + 3_600_000_123,
            ] {
                let p = c.physical(t);
                assert!((c.true_time(p) - t).abs() <= 1, "{c:?} {t} {p}");
            }
        }
    }

    #[test]
    fn the_physical_clock_is_offset_then_drifts_and_never_falls() {
        let c = PhysClock {
            offset_us: -250_000,
            drift_ppb: 20_000_000,
            start_us: S,
        };
        assert_eq!(c.physical(S), S - 250_000);
        // 2% fast: 10 s later it has gained 200 ms.
        assert_eq!(
            c.physical(S + 10_000_000),
            S + 10_000_000 - 250_000 + 200_000
        );
        let slow = PhysClock {
            drift_ppb: -100_000_000,
            ..c
        };
        let mut last = i64::MIN;
        for t in (S - 100..S + 3_000).step_by(7) {
            assert!(slow.physical(t) >= last);
            last = slow.physical(t);
        }
    }

    #[test]
    fn epsilon_is_the_widest_spread_of_the_clocks() {
        let a = PhysClock {
            offset_us: -100,
            drift_ppb: 0,
            start_us: S,
        };
        let b = PhysClock {
            offset_us: 300,
            drift_ppb: 1_000_000, // 1000 ppm: +1 ms per second
            start_us: S,
        };
        assert_eq!(epsilon_us(&[Some(a), None], S, S + 1), 100);
        assert_eq!(epsilon_us(&[Some(a), Some(b)], S, S), 400);
        // After 2 s, b has gained 2 ms.
        assert_eq!(epsilon_us(&[Some(a), Some(b)], S, S + 2_000_000), 2_400);
        assert_eq!(epsilon_us(&[None, None], S, S + 10), 0);
        assert_eq!(epsilon_us(&[], S, S + 10), 0);
    }
}
