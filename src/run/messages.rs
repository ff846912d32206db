//! The one send/receive matcher. A `receive` or `pending` line names its
//! message by (`from`, `sent_tick`); it is a delivered message only if VM
//! `from`'s log has a `send` at that tick AND that send's `to` holds the
//! receiver. Anything else is no message: verify reports it (telling the
//! causes apart with [`Miss`]), every other reader leaves it out (no arrow,
//! no latency, no happens-before edge).
//!
//! [`find`] is the rule over any sorted list of sends ([`SendRecord`]), so
//! verify keeps its own per-log records; [`Index`] is the index over parsed
//! lines that analyze, export and bench use.

use std::collections::HashMap;

use crate::logline::{Event, Line};

/// A send as the matcher sees it: its tick and its addressees.
pub trait SendRecord {
    fn tick(&self) -> u64;
    fn to(&self) -> &[u32];
}

/// Why a receive names no delivered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// The sender has no log.
    NoLog,
    /// The sender's log has no send at that tick.
    NoSend,
    /// The send is there but was not addressed to the receiver.
    NotAddressed,
}

/// The send at `tick` in `sends` (sorted by tick) and the receiver's place in
/// its `to`, if the send is there and went to `receiver`.
pub fn find<S: SendRecord>(sends: &[S], tick: u64, receiver: u32) -> Result<(&S, usize), Miss> {
    let i = sends
        .binary_search_by_key(&tick, |s| s.tick())
        .map_err(|_| Miss::NoSend)?;
    let send = &sends[i];
    addressed(send.to(), receiver).map(|k| (send, k))
}

/// The receiver's place in a send's `to`: the one addressing rule.
fn addressed(to: &[u32], receiver: u32) -> Result<usize, Miss> {
    let k = to.iter().position(|&id| id == receiver);
    k.ok_or(Miss::NotAddressed)
}

/// One `send` line of a parsed log.
#[derive(Debug, Clone, PartialEq)]
pub struct SendAt<'a> {
    pub tick: u64,
    /// Its wall time, microseconds since the epoch.
    pub time_us: i64,
    /// Its place among its VM's tick events (`internal`, `send`, `receive`), from 0.
    pub pos: usize,
    pub to: &'a [u32],
}

impl SendRecord for SendAt<'_> {
    fn tick(&self) -> u64 {
        self.tick
    }
    fn to(&self) -> &[u32] {
        self.to
    }
}

/// A matched message: the sender's index in the logs given, and its send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sent<'i, 'a> {
    pub log: usize,
    pub send: &'i SendAt<'a>,
}

/// The sends of every log of a run, by VM, sorted by tick.
#[derive(Debug, Default)]
pub struct Index<'a> {
    by_vm: HashMap<u32, usize>,
    /// Per log, the ticks of its sends, sorted: searched apart from the
    /// sends themselves, 8 bytes a step (a 1M-line run has 300k sends).
    ticks: Vec<Vec<u64>>,
    sends: Vec<Vec<SendAt<'a>>>,
}

impl<'a> Index<'a> {
    /// Indexes the sends of `logs`: (VM id, its lines).
    pub fn of(logs: &'a [(u32, Vec<Line>)]) -> Self {
        let by_vm = logs.iter().enumerate().map(|(i, l)| (l.0, i)).collect();
        let sends: Vec<Vec<SendAt>> = logs.iter().map(|(_, lines)| sends_of(lines)).collect();
        let ticks = sends
            .iter()
            .map(|s| s.iter().map(|s| s.tick).collect())
            .collect();
        Index {
            by_vm,
            ticks,
            sends,
        }
    }

    /// The send a receive of VM `receiver` names by (`from`, `tick`).
    pub fn send_for(&self, receiver: u32, from: u32, tick: u64) -> Result<Sent<'_, 'a>, Miss> {
        let &log = self.by_vm.get(&from).ok_or(Miss::NoLog)?;
        let i = self.ticks[log]
            .binary_search(&tick)
            .map_err(|_| Miss::NoSend)?;
        let send = &self.sends[log][i];
        addressed(send.to, receiver)?;
        Ok(Sent { log, send })
    }

    /// The send a `receive` line of VM `receiver` took; `None` for any other
    /// line, `Some(Err)` for a receive that names no delivered message.
    pub fn taken_by(&self, receiver: u32, line: &Line) -> Option<Result<Sent<'_, 'a>, Miss>> {
        match line.event {
            Event::Receive {
                from, sent_tick, ..
            } => Some(self.send_for(receiver, from, sent_tick)),
            _ => None,
        }
    }
}

/// The sends of one log, sorted by tick.
fn sends_of(lines: &[Line]) -> Vec<SendAt<'_>> {
    let ticks = lines.iter().filter(|l| l.event.tick_clock().is_some());
    let mut sends: Vec<SendAt> = ticks
        .enumerate()
        .filter_map(|(pos, l)| match &l.event {
            Event::Send { tick, to, .. } => Some(SendAt {
                tick: *tick,
                time_us: l.time_us,
                pos,
                to,
            }),
            _ => None,
        })
        .collect();
    if !sends.is_sorted_by_key(|s| s.tick) {
        sends.sort_by_key(|s| s.tick);
    }
    sends
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(time_us: i64, vm: u32, event: Event) -> Line {
        Line { time_us, vm, event }
    }

    fn send(tick: u64, to: &[u32]) -> Event {
        Event::Send {
            tick,
            clock: tick,
            queue: 0,
            to: to.to_vec(),
        }
    }

    fn receive(tick: u64, from: u32, sent_tick: u64) -> Event {
        Event::Receive {
            tick,
            clock: tick + 1,
            queue: 0,
            from,
            sent_tick,
            msg_clock: sent_tick,
            wait_us: 0,
        }
    }

    fn internal(tick: u64) -> Event {
        Event::Internal {
            tick,
            clock: tick,
            queue: 0,
        }
    }

    /// VM 1 sends to 2 at tick 2 and to 3 at tick 3; VM 2 receives both.
    fn run() -> Vec<(u32, Vec<Line>)> {
        let one = vec![
            line(10, 1, internal(1)),
            line(20, 1, send(2, &[2])),
            line(30, 1, send(3, &[3])),
        ];
        let two = vec![
            line(40, 2, receive(1, 1, 2)),
            line(50, 2, receive(2, 1, 3)),
            line(60, 2, receive(3, 4, 1)),
            line(70, 2, receive(4, 1, 9)),
        ];
        vec![(1, one), (2, two), (3, vec![])]
    }

    #[test]
    fn a_receive_matches_only_a_send_addressed_to_it() {
        let logs = run();
        let index = Index::of(&logs);
        let got = index.send_for(2, 1, 2).unwrap();
        assert_eq!((got.log, got.send.tick, got.send.pos), (0, 2, 1));
        assert_eq!(got.send.time_us, 20);
        assert_eq!(index.send_for(3, 1, 3).unwrap().send.pos, 2);
        assert_eq!(index.send_for(2, 1, 3), Err(Miss::NotAddressed));
        assert_eq!(index.send_for(2, 1, 9), Err(Miss::NoSend));
        assert_eq!(index.send_for(2, 1, 1), Err(Miss::NoSend));
        assert_eq!(index.send_for(2, 4, 1), Err(Miss::NoLog));
    }

    #[test]
    fn taken_by_tells_receives_from_other_lines() {
        let logs = run();
        let index = Index::of(&logs);
        let taken: Vec<_> = logs[1]
            .1
            .iter()
            .map(|l| index.taken_by(2, l).map(|r| r.map(|s| s.send.tick)))
            .collect();
        use Miss::*;
        let want = [
            Some(Ok(2)),
            Some(Err(NotAddressed)),
            Some(Err(NoLog)),
            Some(Err(NoSend)),
        ];
        assert_eq!(taken, want);
        assert_eq!(index.taken_by(1, &logs[0].1[0]), None);
    }

    #[test]
    fn find_gives_the_receivers_place_in_to() {
        let logs = [(1, vec![line(1, 1, send(5, &[4, 2, 3]))])];
        let sends = sends_of(&logs[0].1);
        assert_eq!(find(&sends, 5, 3).map(|(_, k)| k), Ok(2));
        assert_eq!(find(&sends, 5, 1).map(|(_, k)| k), Err(Miss::NotAddressed));
        assert_eq!(find(&sends, 4, 3).map(|(_, k)| k), Err(Miss::NoSend));
        let none: [SendAt; 0] = [];
        assert_eq!(find(&none, 5, 3).map(|(_, k)| k), Err(Miss::NoSend));
    }

    #[test]
    fn sends_out_of_tick_order_are_still_found() {
        let logs = vec![(
            1,
            vec![line(1, 1, send(7, &[2])), line(2, 1, send(3, &[2]))],
        )];
        let index = Index::of(&logs);
        assert_eq!(index.send_for(2, 1, 3).unwrap().send.pos, 1);
        assert_eq!(index.send_for(2, 1, 7).unwrap().send.pos, 0);
    }
}
