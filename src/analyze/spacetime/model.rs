//! What the space-time diagram shows ([`SpaceTime`]): the tick events
//! ([`Mark`]) and the delivered messages ([`Arrow`], matched by
//! [`crate::run::messages`]) within a time window, cut short when a lane
//! would hold too many. Pure; [`super::svg`] draws it.

use crate::analyze::per_vm::secs_since;
use crate::logline::{Event, Line};
use crate::run::messages::Index;

/// Most events one lane of the space-time diagram shows; a window holding
/// more is cut short so the diagram stays readable (and small).
pub const MAX_LANE_EVENTS: usize = 150;

/// How an event is drawn in the space-time diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Internal,
    Send,
    Receive,
}

/// One tick event in the space-time window.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub vm: u32,
    /// Seconds since the run's start.
    pub t: f64,
    pub kind: Kind,
    pub clock: u64,
}

/// One message from its send to its receive, at least partly in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    pub from: u32,
    pub to: u32,
    /// When it was sent and when it was received (processed), seconds since start.
    pub sent: f64,
    pub received: f64,
}

/// What the space-time diagram shows: events and messages in a time window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpaceTime {
    /// (start, end), seconds since the run's start.
    pub window: (f64, f64),
    /// One lane per VM, in this order.
    pub vms: Vec<u32>,
    pub marks: Vec<Mark>,
    /// Messages whose send-to-receive span overlaps the window. Messages
    /// never received (`pending`, or lost) are not included.
    pub arrows: Vec<Arrow>,
}

impl SpaceTime {
    /// The events and messages of `logs` within `window`.
    pub fn of(logs: &[(u32, Vec<Line>)], start_us: i64, window: (f64, f64), sends: &Index) -> Self {
        let mut st = SpaceTime {
            window,
            vms: logs.iter().map(|(id, _)| *id).collect(),
            ..SpaceTime::default()
        };
        for (id, lines) in logs {
            for line in lines {
                let t = secs_since(start_us, line.time_us);
                if t >= window.0 && t <= window.1 {
                    st.marks.extend(mark_of(*id, t, &line.event));
                }
                st.arrows
                    .extend(arrow_to(*id, line, start_us, window, sends));
            }
        }
        st
    }
}

/// The message a receive line took, if its span overlaps `window`.
fn arrow_to(
    to: u32,
    line: &Line,
    start_us: i64,
    window: (f64, f64),
    sends: &Index,
) -> Option<Arrow> {
    let Event::Receive { from, .. } = line.event else {
        return None;
    };
    let received = secs_since(start_us, line.time_us);
    if received < window.0 {
        return None;
    }
    let sent = sends.taken_by(to, line)?.ok()?;
    let sent = secs_since(start_us, sent.send.time_us);
    (sent <= window.1).then_some(Arrow {
        from,
        to,
        sent,
        received,
    })
}

impl SpaceTime {
    /// Ends the window early so no lane holds more than `max` events;
    /// returns the window's requested end if it did.
    pub fn cap(&mut self, max: usize) -> Option<f64> {
        let end = self
            .vms
            .iter()
            .filter_map(|&vm| {
                let mut times: Vec<f64> = self
                    .marks
                    .iter()
                    .filter(|m| m.vm == vm)
                    .map(|m| m.t)
                    .collect();
                times.sort_unstable_by(f64::total_cmp);
                times.get(max).copied()
            })
            .min_by(f64::total_cmp)?;
        // Just before the first event that does not fit.
        let end = (end - 1e-6).max(self.window.0 + 1e-6);
        self.marks.retain(|m| m.t <= end);
        self.arrows.retain(|a| a.sent <= end);
        Some(std::mem::replace(&mut self.window.1, end))
    }
}

fn mark_of(vm: u32, t: f64, event: &Event) -> Option<Mark> {
    let (kind, clock) = match *event {
        Event::Internal { clock, .. } => (Kind::Internal, clock),
        Event::Send { clock, .. } => (Kind::Send, clock),
        Event::Receive { clock, .. } => (Kind::Receive, clock),
        _ => return None,
    };
    Some(Mark { vm, t, kind, clock })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::fixtures::{T0, internal, two_vms};

    #[test]
    fn space_time_keeps_the_window_and_cuts_arrows_at_its_edges() {
        let logs = two_vms();
        let of = |window| SpaceTime::of(&logs, T0, window, &Index::of(&logs));
        let st = of((0.15, 0.5));
        let times: Vec<(u32, f64)> = st.marks.iter().map(|m| (m.vm, m.t)).collect();
        assert_eq!(times, vec![(1, 0.2), (2, 0.2), (2, 0.4)]);
        // Sent at 0.1, before the window, received inside it: kept.
        assert_eq!(st.arrows.len(), 1);
        let a = &st.arrows[0];
        assert_eq!((a.from, a.to, a.sent, a.received), (1, 2, 0.1, 0.4));
        assert!(of((0.45, 1.0)).arrows.is_empty());
        assert_eq!(st.vms, vec![1, 2]);
    }

    #[test]
    fn a_crowded_window_is_cut_short() {
        let lines: Vec<Line> = (1..=10).map(|k| internal(k as i64 * 10, 1, k, k)).collect();
        let mut st = SpaceTime::of(&[(1, lines)], T0, (0.0, 10.0), &Index::default());
        assert_eq!(st.cap(20), None);
        assert_eq!(st.cap(4), Some(10.0));
        assert_eq!(st.marks.len(), 4);
        assert!(st.window.1 < 0.05 && st.window.1 > 0.04);
    }
}
