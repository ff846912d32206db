//! The per-link bookkeeping that makes a link heal, as pure state machines
//! with no IO: [`Outgoing`] numbers this VM's messages to one peer and keeps
//! each until the peer acknowledges it; [`Incoming`] records the peer's
//! messages once each, in order, and says what to acknowledge.
//!
//! Messages of a link are numbered 1, 2, 3, ... per direction. On every
//! (re)connection each side says how many of the other's messages it has
//! (`resume`); the other side drops what that acknowledges and sends the
//! rest again, in order. A receiver that sees a number it already has drops
//! it; one that sees a gap has met a broken peer and closes the link.

use std::collections::VecDeque;
use std::fmt;

/// One message as the link carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg {
    pub seq: u64,
    pub sent_tick: u64,
    pub clock: u64,
}

/// A peer said something no correct peer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError(pub String);

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// This VM's messages to one peer.
#[derive(Debug, Default)]
pub struct Outgoing {
    /// The last number given to a message (0: none yet).
    last: u64,
    /// Sent and not yet acknowledged, oldest first: numbers `acked+1 ..= last`.
    unacked: VecDeque<Msg>,
    /// This VM stopped ticking: after `last`, a `Bye` (sent again on every reconnection).
    bye: bool,
    /// The peer acknowledged the `Bye`: it has every message of this link.
    bye_acked: bool,
    /// The goodbye travels another way (the launcher relays it): no `Bye` frame.
    quiet: bool,
}

impl Outgoing {
    /// Numbers a new message and keeps it until acknowledged.
    pub fn push(&mut self, sent_tick: u64, clock: u64) -> Msg {
        self.last += 1;
        let msg = Msg {
            seq: self.last,
            sent_tick,
            clock,
        };
        self.unacked.push_back(msg);
        msg
    }

    /// The peer has every message up to `upto` (and the `Bye`, if `bye`).
    /// Returns how many messages this newly acknowledged.
    pub fn ack(&mut self, upto: u64, bye: bool) -> Result<usize, LinkError> {
        if upto > self.last {
            return Err(LinkError(format!(
                "acknowledged message {upto}, but only {} were sent",
                self.last
            )));
        }
        if bye && !(self.bye && upto == self.last) {
            return Err(LinkError("acknowledged a goodbye not sent".into()));
        }
        let before = self.unacked.len();
        while self.unacked.front().is_some_and(|m| m.seq <= upto) {
            self.unacked.pop_front();
        }
        self.bye_acked |= bye;
        Ok(before - self.unacked.len())
    }

    /// A new connection: the peer has `peer_has` of this link's messages.
    /// Returns what to send again, in order (then a `Bye`, if [`Self::bye_pending`]).
    pub fn resume(&mut self, peer_has: u64) -> Result<impl Iterator<Item = &Msg>, LinkError> {
        self.ack(peer_has, false)?;
        Ok(self.unacked.iter())
    }

    /// Marks the stop: no message follows; returns the number of the last one.
    pub fn say_bye(&mut self) -> u64 {
        self.bye = true;
        self.last
    }

    /// The same, when the goodbye is relayed rather than sent as a frame.
    pub fn say_bye_quietly(&mut self) -> u64 {
        self.quiet = true;
        self.say_bye()
    }

    /// The relay is gone: the goodbye goes as a frame after all.
    pub fn speak_up(&mut self) {
        self.quiet = false;
    }

    /// A `Bye` frame was said and the peer has not acknowledged it yet.
    pub fn bye_pending(&self) -> bool {
        self.bye && !self.bye_acked && !self.quiet
    }

    /// This VM said `Bye` on this link.
    pub fn bye_said(&self) -> bool {
        self.bye
    }

    /// The peer has every message and the goodbye (a quiet one needs no
    /// acknowledgement: the peer learns it from the relay).
    pub fn done(&self) -> bool {
        self.bye_acked || (self.quiet && self.bye && self.unacked.is_empty())
    }

    pub fn unacked(&self) -> usize {
        self.unacked.len()
    }

    /// The number of the last message (what a `Bye` names).
    pub fn last(&self) -> u64 {
        self.last
    }
}

/// What to do with a message that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The next one: record it.
    New,
    /// Already recorded (sent again after a reconnection): drop it.
    Duplicate,
}

/// One peer's messages to this VM.
#[derive(Debug, Default)]
pub struct Incoming {
    /// Messages recorded: numbers `1 ..= received`.
    received: u64,
    /// The last `received` acknowledged to the peer.
    acked: u64,
    /// The peer's `Bye`, once it came: its last message's number.
    bye: Option<u64>,
    /// The `Bye` was acknowledged.
    bye_acked: bool,
    /// The peer's goodbye, relayed: it sent this many messages in all.
    expect: Option<u64>,
}

impl Incoming {
    /// A message numbered `seq` arrived.
    pub fn arrive(&mut self, seq: u64) -> Result<Arrival, LinkError> {
        if seq <= self.received {
            return Ok(Arrival::Duplicate);
        }
        if self.expect.is_some_and(|last| seq > last) {
            return Err(LinkError(format!("message {seq} after its goodbye")));
        }
        if self.bye.is_some() {
            return Err(LinkError(format!("message {seq} after its goodbye")));
        }
        if seq != self.received + 1 {
            return Err(LinkError(format!(
                "message {seq} where {} was due",
                self.received + 1
            )));
        }
        self.received = seq;
        Ok(Arrival::New)
    }

    /// The peer's `Bye` after its message `last`.
    pub fn bye(&mut self, last: u64) -> Result<(), LinkError> {
        if last != self.received {
            return Err(LinkError(format!(
                "goodbye after message {last}, but {} arrived",
                self.received
            )));
        }
        self.bye = Some(last);
        Ok(())
    }

    /// The peer's goodbye came another way: it sent `last` messages in all.
    pub fn end_at(&mut self, last: u64) -> Result<(), LinkError> {
        if last < self.received {
            return Err(LinkError(format!(
                "goodbye after message {last}, but {} arrived",
                self.received
            )));
        }
        self.expect = Some(last);
        Ok(())
    }

    /// The ack to send now, if there is news for the peer: (upto, bye).
    pub fn ack_due(&self) -> Option<(u64, bool)> {
        let bye = self.bye.is_some();
        (self.received > self.acked || bye && !self.bye_acked).then_some((self.received, bye))
    }

    /// The ack returned by [`Self::ack_due`] was sent.
    pub fn acked(&mut self, upto: u64, bye: bool) {
        self.acked = self.acked.max(upto);
        self.bye_acked |= bye;
    }

    /// A new connection: whatever was acknowledged on the old one may be
    /// lost with it, and `received` goes in the handshake instead.
    pub fn reconnected(&mut self) {
        self.acked = self.received;
        self.bye_acked = false;
    }

    /// How many messages arrived (what the handshake's `resume` says).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The peer said goodbye and everything it sent came: nothing more comes.
    pub fn ended(&self) -> bool {
        self.bye.is_some() || self.expect == Some(self.received)
    }

    /// The peer's goodbye came, on the link or relayed.
    pub fn goodbye_known(&self) -> bool {
        self.bye.is_some() || self.expect.is_some()
    }

    /// What this side still waits for from the peer, in words (for the
    /// warning of a stop that gave up): its goodbye, or messages.
    pub fn missing(&self) -> String {
        match self.bye.or(self.expect) {
            None => "its goodbye never came".into(),
            Some(last) if last > self.received => {
                format!("{} of its {last} messages never came", last - self.received)
            }
            Some(_) => "nothing of its missing".into(),
        }
    }

    /// Messages recorded but not yet acknowledged.
    pub fn unacked(&self) -> u64 {
        self.received - self.acked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn acks_free_and_resume_sends_the_rest_in_order() {
        let mut out = Outgoing::default();
        for t in 1..=5 {
            out.push(t, 10 * t);
        }
        assert_eq!(out.ack(2, false), Ok(2));
        assert_eq!(out.ack(1, false), Ok(0), "an old ack changes nothing");
        let again: Vec<u64> = out.resume(3).unwrap().map(|m| m.seq).collect();
        assert_eq!(again, [4, 5]);
        assert!(out.ack(6, false).is_err());
        assert!(out.ack(5, true).is_err(), "no bye was said");
        assert_eq!(out.say_bye(), 5);
        assert!(out.bye_pending() && !out.done());
        assert_eq!(out.ack(5, true), Ok(2));
        assert!(out.done() && !out.bye_pending());
    }

    #[test]
    fn a_relayed_goodbye_ends_a_link_once_everything_came() {
        let mut inc = Incoming::default();
        inc.arrive(1).unwrap();
        inc.end_at(3).unwrap();
        assert!(!inc.ended());
        inc.arrive(2).unwrap();
        inc.arrive(3).unwrap();
        assert!(inc.ended());
        assert!(inc.arrive(4).is_err());
        assert!(Incoming::default().end_at(0).is_ok());
        let mut early = Incoming::default();
        early.arrive(1).unwrap();
        assert!(early.end_at(0).is_err());
        let mut out = Outgoing::default();
        out.push(1, 1);
        assert_eq!(out.say_bye_quietly(), 1);
        assert!(!out.bye_pending() && !out.done());
        out.ack(1, false).unwrap();
        assert!(out.done());
    }

    #[test]
    fn duplicates_dropped_gaps_refused() {
        let mut inc = Incoming::default();
        assert_eq!(inc.arrive(1), Ok(Arrival::New));
        assert_eq!(inc.arrive(1), Ok(Arrival::Duplicate));
        assert!(inc.arrive(3).is_err());
        assert_eq!(inc.arrive(2), Ok(Arrival::New));
        assert_eq!(inc.ack_due(), Some((2, false)));
        inc.acked(2, false);
        assert_eq!(inc.ack_due(), None);
        assert!(inc.bye(1).is_err());
        inc.bye(2).unwrap();
        assert_eq!(inc.ack_due(), Some((2, true)));
        assert!(inc.arrive(3).is_err(), "nothing after a goodbye");
        assert_eq!(inc.arrive(2), Ok(Arrival::Duplicate));
        inc.acked(2, true);
        assert_eq!(inc.ack_due(), None);
    }

    /// A frame on one connection, either way.
    #[derive(Debug, Clone)]
    enum Wire {
        Msg(Msg),
        Bye(u64),
        Ack(u64, bool),
    }

    proptest! {
        /// Messages from A to B over connections that break at random
        /// points, each break losing a random part of what was in flight
        /// either way: B records every message exactly once, in order, and
        /// once A says goodbye both sides agree the link is done.
        #[test]
        fn every_message_once_in_order_whatever_breaks(
            sends in 1usize..60,
            script in proptest::collection::vec((0u8..4, 0usize..8), 1..80),
        ) {
            let mut a = Outgoing::default();
            let mut b = Incoming::default();
            let mut recorded: Vec<u64> = Vec::new();
            let (mut to_b, mut to_a): (VecDeque<Wire>, VecDeque<Wire>) = Default::default();
            let mut sent = 0;
            // The script, then a fair schedule (send, deliver) that must finish.
            let mut steps = script.into_iter().chain((0..).map(|i| (i % 2, 7)));
            let mut rounds = 0;
            loop {
                rounds += 1;
                prop_assert!(rounds < 10_000, "no progress");
                let (op, n) = steps.next().unwrap_or((1, 7));
                match op {
                    // A sends (or says goodbye once it sent them all).
                    0 if sent < sends => {
                        sent += 1;
                        let m = a.push(sent as u64, sent as u64);
                        to_b.push_back(Wire::Msg(m));
                    }
                    0 if !a.bye_pending() && !a.done() => {
                        to_b.push_back(Wire::Bye(a.say_bye()));
                    }
                    // Deliver up to n frames each way.
                    0 | 1 => {
                        for _ in 0..=n {
                            match to_b.pop_front() {
                                Some(Wire::Msg(m)) => {
                                    if b.arrive(m.seq).map_err(|e| TestCaseError::fail(e.0))? == Arrival::New {
                                        recorded.push(m.sent_tick);
                                    }
                                }
                                Some(Wire::Bye(last)) => {
                                    b.bye(last).map_err(|e| TestCaseError::fail(e.0))?;
                                }
                                Some(Wire::Ack(..)) | None => {}
                            }
                            if let Some((upto, bye)) = b.ack_due() {
                                b.acked(upto, bye);
                                to_a.push_back(Wire::Ack(upto, bye));
                            }
                            if let Some(Wire::Ack(upto, bye)) = to_a.pop_front() {
                                a.ack(upto, bye).map_err(|e| TestCaseError::fail(e.0))?;
                            }
                        }
                    }
                    // The connection breaks: what was in flight after the
                    // first n frames each way is lost; then the handshake.
                    _ => {
                        to_b.truncate(n);
                        to_a.truncate(n % 3);
                        // The old connection's last frames arrive, or not,
                        // before the new one: deliver them now.
                        while let Some(w) = to_b.pop_front() {
                            match w {
                                Wire::Msg(m) => {
                                    if b.arrive(m.seq).map_err(|e| TestCaseError::fail(e.0))? == Arrival::New {
                                        recorded.push(m.sent_tick);
                                    }
                                }
                                Wire::Bye(last) => {
                                    b.bye(last).map_err(|e| TestCaseError::fail(e.0))?;
                                }
                                Wire::Ack(..) => {}
                            }
                        }
                        while let Some(Wire::Ack(upto, bye)) = to_a.pop_front() {
                            a.ack(upto, bye).map_err(|e| TestCaseError::fail(e.0))?;
                        }
                        b.reconnected();
                        let bye = a.bye_pending();
                        let last = a.last();
                        let again: Vec<Msg> = a
                            .resume(b.received())
                            .map_err(|e| TestCaseError::fail(e.0))?
                            .copied()
                            .collect();
                        to_b.extend(again.into_iter().map(Wire::Msg));
                        if bye {
                            to_b.push_back(Wire::Bye(last));
                        }
                    }
                }
                if a.done() {
                    break;
                }
            }
            let want: Vec<u64> = (1..=sends as u64).collect();
            prop_assert_eq!(recorded, want);
            prop_assert!(b.ended());
            prop_assert_eq!(a.unacked(), 0);
        }
    }
}
