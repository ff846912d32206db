//! Per-VM figures from a parsed log: what the launcher's end-of-run table
//! shows. Pure functions over `logline::Line`s.

use std::fmt::Write as _;

use crate::logline::{Event, Line, StopReason};

/// One VM's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmStats {
    pub vm: u32,
    pub rate: u32,
    pub ticks: u64,
    pub receives: u64,
    pub sends: u64,
    pub internals: u64,
    pub final_clock: u64,
    pub max_queue: u64,
    /// Largest clock increase from one tick to the next.
    pub max_jump: u64,
    pub pending: u64,
    pub peer_lost: u64,
    /// How it stopped; `None` if the log has no `stop` (the VM died).
    pub stop: Option<StopReason>,
}

impl VmStats {
    /// Figures of one VM's log.
    pub fn from_lines(lines: &[Line]) -> VmStats {
        let mut s = VmStats::default();
        let mut prev_clock = 0;
        for line in lines {
            s.vm = line.vm;
            if let Some((tick, clock)) = line.event.tick_clock() {
                s.ticks = tick;
                s.max_jump = s.max_jump.max(clock.saturating_sub(prev_clock));
                s.final_clock = clock;
                prev_clock = clock;
            }
            s.max_queue = s.max_queue.max(line.event.queue().unwrap_or(0));
            match &line.event {
                Event::Start(st) => s.rate = st.rate,
                Event::Internal { .. } => s.internals += 1,
                Event::Send { .. } => s.sends += 1,
                Event::Receive { .. } => s.receives += 1,
                Event::Pending { .. } => s.pending += 1,
                Event::PeerLost { .. } => s.peer_lost += 1,
                Event::Stop { reason, .. } => s.stop = Some(*reason),
            }
        }
        s
    }
}

/// The end-of-run table, one row per VM.
pub fn table(rows: &[VmStats]) -> String {
    let mut out = String::from(
        "  vm  rate  ticks  receive   send  internal  clock  max queue  max jump  pending  stop\n",
    );
    for r in rows {
        let stop = r.stop.map_or("DIED", |s| s.as_str());
        let _ = writeln!(
            out,
            "{:>4} {:>5} {:>6} {:>8} {:>6} {:>9} {:>6} {:>10} {:>9} {:>8}  {stop}",
            r.vm,
            r.rate,
            r.ticks,
            r.receives,
            r.sends,
            r.internals,
            r.final_clock,
            r.max_queue,
            r.max_jump,
            r.pending
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logline::StartInfo;

    fn line(event: Event) -> Line {
        Line {
            time_us: 0,
            vm: 2,
            event,
        }
    }

    #[test]
    fn counts_jumps_and_queues() {
        let lines = vec![
            line(Event::Start(StartInfo {
                rate: 4,
                event_range: 10,
                seed: 1,
                peers: vec![1, 3],
                run: "r".into(),
                runtime_us: None,
                start_at_us: None,
            })),
            line(Event::Internal {
                tick: 1,
                clock: 1,
                queue: 0,
            }),
            line(Event::Send {
                tick: 2,
                clock: 2,
                queue: 0,
                to: vec![1, 3],
            }),
            line(Event::Receive {
                tick: 3,
                clock: 9,
                queue: 4,
                from: 3,
                sent_tick: 4,
                msg_clock: 8,
                wait_us: 1,
            }),
            line(Event::Pending {
                from: 1,
                sent_tick: 9,
                msg_clock: 3,
            }),
            line(Event::Stop {
                ticks: 3,
                clock: 9,
                reason: StopReason::Runtime,
            }),
        ];
        let s = VmStats::from_lines(&lines);
        assert_eq!((s.vm, s.rate, s.ticks), (2, 4, 3));
        assert_eq!((s.internals, s.sends, s.receives, s.pending), (1, 1, 1, 1));
        assert_eq!((s.final_clock, s.max_jump, s.max_queue), (9, 7, 4));
        assert_eq!(s.stop, Some(StopReason::Runtime));
        let t = table(&[s]);
        assert!(t.lines().nth(1).unwrap().ends_with("runtime"), "{t}");
    }

    #[test]
    fn a_log_without_stop_died() {
        let s = VmStats::from_lines(&[line(Event::Internal {
            tick: 1,
            clock: 1,
            queue: 0,
        })]);
        assert_eq!(s.stop, None);
        assert!(table(&[s]).contains("DIED"));
    }
}
