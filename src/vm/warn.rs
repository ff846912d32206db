//! Warnings on stderr: each line in one write (VMs share the launcher's
//! stderr), and repeats counted, not repeated.
//!
//! The first warning of a kind is printed in full. Further warnings of that
//! kind are counted and summed up in one line at most every
//! [`SUMMARY_EVERY`] (`vm 3: warning: 212 more like the last (rejected
//! connection) in 5 s`), and at [`Warner::flush`]; while they keep coming, the
//! wait doubles with each summary up to [`LONGEST_SUMMARY_EVERY`], so a
//! flood of minutes costs a VM a few lines, not one per 5 s (1024 VMs share
//! one stderr). A kind that has been quiet for [`SUMMARY_EVERY`] is printed
//! in full again. Across all kinds, at most
//! [`MAX_LINES`] lines are printed per [`SUMMARY_EVERY`]: a warning over that
//! budget is counted too, and printed (with its count) when there is room.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often repeats of one kind are summed up, at most; also how long a kind
/// must be quiet to be printed in full again.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(5);
/// The longest wait between two summaries of one kind.
pub const LONGEST_SUMMARY_EVERY: Duration = Duration::from_secs(60);
/// Most warning lines of one VM per [`SUMMARY_EVERY`], all kinds together
/// (the summaries at the stop come on top).
pub const MAX_LINES: u32 = 10;

/// Prints warnings on stderr, counting repeats.
pub struct Warner {
    me: u32,
    tally: Mutex<Tally>,
}

impl Warner {
    pub fn new(me: u32) -> Self {
        Warner {
            me,
            tally: Mutex::new(Tally::new(Instant::now())),
        }
    }

    /// Prints `vm N: warning: MSG`, or counts it; `kind` names the kind of
    /// warning (for example "rejected connection"): repeats of one kind are
    /// counted and summed up.
    pub fn warn(&self, kind: &'static str, msg: &str) {
        let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        for line in tally.warn(Instant::now(), kind, msg) {
            say_err!("vm {}: warning: {line}", self.me);
        }
    }

    /// Prints what is still counted and not yet said (at the stop).
    pub fn flush(&self) {
        let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        for line in tally.flush(Instant::now()) {
            say_err!("vm {}: warning: {line}", self.me);
        }
    }
}

/// The counting, without a clock or a stream: each call is told the time and
/// returns the lines to print (without the `vm N: warning: ` prefix).
#[derive(Debug)]
struct Tally {
    kinds: Vec<Kind>,
    /// Start of the current budget window and the lines printed in it.
    window: Instant,
    lines: u32,
}

/// One kind of warning.
#[derive(Debug)]
struct Kind {
    name: &'static str,
    /// The last line printed of this kind, if any.
    said: Option<Instant>,
    /// The last warning of this kind, printed or counted.
    last: Instant,
    /// Warnings counted since the last line of this kind.
    pending: u64,
    /// The wait from the last line of this kind to its next summary.
    every: Duration,
    /// The first counted warning, when no line of this kind was printed since
    /// it came (the budget held it back): printed in full later.
    held: Option<(Instant, String)>,
}

impl Tally {
    fn new(now: Instant) -> Self {
        Tally {
            kinds: Vec::new(),
            window: now,
            lines: 0,
        }
    }

    fn warn(&mut self, now: Instant, kind: &'static str, msg: &str) -> Vec<String> {
        if now.saturating_duration_since(self.window) >= SUMMARY_EVERY {
            (self.window, self.lines) = (now, 0);
        }
        let mut out = Vec::new();
        // Summaries that are due first, so they come before anything newer.
        for i in 0..self.kinds.len() {
            if self.lines < MAX_LINES && self.kinds[i].summary_due(now) {
                let k = &mut self.kinds[i];
                out.push(k.summary(now));
                k.every = (k.every * 2).min(LONGEST_SUMMARY_EVERY);
                self.lines += 1;
            }
        }
        let i = match self.kinds.iter().position(|k| k.name == kind) {
            Some(i) => i,
            None => {
                self.kinds.push(Kind {
                    name: kind,
                    said: None,
                    last: now,
                    pending: 0,
                    every: SUMMARY_EVERY,
                    held: None,
                });
                self.kinds.len() - 1
            }
        };
        let k = &mut self.kinds[i];
        let quiet = match k.said {
            None => true,
            Some(_) => now.saturating_duration_since(k.last) >= SUMMARY_EVERY,
        };
        if k.pending == 0 && quiet && self.lines < MAX_LINES {
            out.push(msg.to_string());
            self.lines += 1;
            k.said = Some(now);
            k.every = SUMMARY_EVERY;
        } else {
            // Held back by the budget alone: printed in full later.
            if k.pending == 0 && quiet {
                k.held = Some((now, msg.to_string()));
            }
            k.pending += 1;
        }
        k.last = now;
        out
    }

    /// Every count not yet said, regardless of the budget (once, at the stop).
    fn flush(&mut self, now: Instant) -> Vec<String> {
        self.kinds
            .iter_mut()
            .filter(|k| k.pending > 0)
            .map(|k| k.summary(now))
            .collect()
    }
}

impl Kind {
    fn summary_due(&self, now: Instant) -> bool {
        self.pending > 0
            && self
                .said
                .is_none_or(|said| now.saturating_duration_since(said) >= self.every)
    }

    /// The line for the warnings counted so far; resets the count.
    fn summary(&mut self, now: Instant) -> String {
        let line = match self.held.take() {
            Some((_, msg)) if self.pending == 1 => msg,
            Some((first, msg)) => format!(
                "{msg} (and {} more like it in {})",
                self.pending - 1,
                span(self.last.saturating_duration_since(first))
            ),
            None if self.pending == 1 => format!("1 more like the last ({})", self.name),
            None => format!(
                "{} more like the last ({}) in {}",
                self.pending,
                self.name,
                span(
                    self.last
                        .saturating_duration_since(self.said.unwrap_or(self.last))
                )
            ),
        };
        self.pending = 0;
        self.said = Some(now);
        line
    }
}

/// `5 s`, `0.3 s`: whole seconds, tenths below one second.
fn span(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 0.95 {
        format!("{:.1} s", s.max(0.1))
    } else {
        format!("{s:.0} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn the_first_of_a_kind_is_printed_and_repeats_are_counted() {
        let t0 = Instant::now();
        let mut t = Tally::new(t0);
        assert_eq!(
            t.warn(t0, "rejected", "bad hello from 1.2.3.4"),
            ["bad hello from 1.2.3.4"]
        );
        for ms in 1..=212 {
            assert!(t.warn(at(t0, ms * 20), "rejected", "again").is_empty());
        }
        // 5 s after the first line, the next one brings the summary.
        assert_eq!(
            t.warn(at(t0, 5_000), "rejected", "again"),
            ["212 more like the last (rejected) in 4 s"]
        );
        assert_eq!(t.flush(at(t0, 6_000)), ["1 more like the last (rejected)"]);
        assert!(
            t.flush(at(t0, 7_000)).is_empty(),
            "a flush says each count once"
        );
    }

    #[test]
    fn a_long_flood_is_summed_up_ever_more_rarely() {
        let t0 = Instant::now();
        let mut t = Tally::new(t0);
        let mut lines = 0;
        // 10 warnings a second for 10 minutes.
        for ms in (0..600_000).step_by(100) {
            lines += t.warn(at(t0, ms), "flood", "again").len();
        }
        // The first line, then summaries at 5, 15, 35, 75 s, then every 60 s.
        assert_eq!(lines, 1 + 4 + 8, "{lines}");
        assert_eq!(t.flush(at(t0, 600_000)).len(), 1);
        // Quiet, then again: in full, and summed up 5 s later.
        assert_eq!(t.warn(at(t0, 700_000), "flood", "anew"), ["anew"]);
        assert!(t.warn(at(t0, 700_001), "flood", "anew").is_empty());
        assert_eq!(t.warn(at(t0, 705_000), "flood", "anew").len(), 1);
    }

    #[test]
    fn kinds_are_counted_apart() {
        let t0 = Instant::now();
        let mut t = Tally::new(t0);
        assert_eq!(t.warn(t0, "a", "a1"), ["a1"]);
        assert_eq!(t.warn(at(t0, 1), "b", "b1"), ["b1"]);
        assert!(t.warn(at(t0, 2), "a", "a2").is_empty());
        assert!(t.warn(at(t0, 3), "b", "b2").is_empty());
        assert!(t.warn(at(t0, 4), "b", "b3").is_empty());
        assert_eq!(
            t.flush(at(t0, 10)),
            [
                "1 more like the last (a)",
                "2 more like the last (b) in 0.1 s"
            ]
        );
    }

    #[test]
    fn a_kind_quiet_for_a_while_is_printed_in_full_again() {
        let t0 = Instant::now();
        let mut t = Tally::new(t0);
        assert_eq!(
            t.warn(t0, "link", "link to VM 3 down"),
            ["link to VM 3 down"]
        );
        assert_eq!(
            t.warn(at(t0, 30_000), "link", "link to VM 7 down"),
            ["link to VM 7 down"]
        );
        // A repeat, then quiet: its count comes first, then the new line.
        assert!(
            t.warn(at(t0, 31_000), "link", "link to VM 8 down")
                .is_empty()
        );
        assert_eq!(
            t.warn(at(t0, 40_000), "link", "link to VM 9 down"),
            ["1 more like the last (link)", "link to VM 9 down"]
        );
    }

    #[test]
    fn a_flood_of_kinds_stays_within_the_budget() {
        let t0 = Instant::now();
        let mut t = Tally::new(t0);
        const KINDS: [&str; 30] = [
            "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12", "k13",
            "k14", "k15", "k16", "k17", "k18", "k19", "k20", "k21", "k22", "k23", "k24", "k25",
            "k26", "k27", "k28", "k29",
        ];
        let mut printed = 0;
        for round in 0..100u64 {
            for (i, k) in KINDS.iter().enumerate() {
                let now = at(t0, round * 40 + i as u64);
                printed += t.warn(now, k, &format!("{k} #{round}")).len();
            }
        }
        // 4 s of warnings: one budget window.
        assert_eq!(printed, MAX_LINES as usize);
        // What the budget held back comes later, with its first message.
        let later = t.warn(at(t0, 6_000), "k0", "k0 again");
        assert_eq!(later.len(), MAX_LINES as usize);
        assert_eq!(later[0], "99 more like the last (k0) in 4 s");
        let flushed = t.flush(at(t0, 7_000));
        assert_eq!(flushed.len(), KINDS.len() - MAX_LINES as usize + 1);
        assert!(
            flushed.contains(&"k29 #0 (and 99 more like it in 4 s)".to_string()),
            "{flushed:?}"
        );
        assert!(
            flushed.contains(&"1 more like the last (k0)".to_string()),
            "{flushed:?}"
        );
    }
}
