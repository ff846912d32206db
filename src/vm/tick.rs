//! The tick loop: every tick on its absolute deadline, the control news
//! handled between ticks, the live figures.

use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Result;

use super::net::NetEvent;
use super::state::{Ctl, STATUS_EVERY, Vm};
use super::status;
use super::step::{self, Incoming};
use crate::control::{Status, ToVm};
use crate::logline::{Event, StopReason};
use crate::params::{tick_count, tick_offset};

impl Vm {
    /// Handles control news until `deadline`; returns a stop request if one came.
    pub(super) fn wait_until(&mut self, deadline: Instant) -> Result<Option<StopReason>> {
        // Even when the deadline has passed (a late tick) one piece of news is
        // handled, so an overloaded VM still hears a stop request.
        loop {
            self.report_status();
            let wake = self.next_status.map_or(deadline, |s| s.min(deadline));
            if let Some(reason) = self.wait_one(wake)? {
                return Ok(Some(reason));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// Handles the next piece of control news, or returns at `deadline`.
    pub(super) fn wait_one(&mut self, deadline: Instant) -> Result<Option<StopReason>> {
        match self.ctl_rx.recv_deadline(deadline) {
            Some(ctl) => self.handle(ctl),
            None => Ok(None),
        }
    }

    /// Under a live view, tells the launcher where this VM is, when due.
    pub(super) fn report_status(&mut self) {
        let Some(due) = self.next_status else { return };
        let now = Instant::now();
        if now < due {
            return;
        }
        self.next_status = Some(now + STATUS_EVERY);
        let [sends, receives, internals] = self.counts;
        let status = Status {
            rate: self.rate,
            tick: self.ticks,
            clock: self.clock.value(),
            queue: self.queue.len_at(now) as u64,
            sends,
            receives,
            internals,
        };
        if let Some(slot) = &self.status {
            slot.post(status);
        }
    }

    pub(super) fn handle(&mut self, ctl: Ctl) -> Result<Option<StopReason>> {
        match ctl {
            Ctl::Stop(reason) => return Ok(Some(reason)),
            Ctl::Orphaned => {
                // Goodbyes said to the launcher are lost with it: say them
                // on the links (again, if the stop had begun).
                self.control = false;
                if self.stopping.load(Ordering::SeqCst) {
                    self.net.stop(false);
                }
            }
            Ctl::Launcher(ToVm::Stop) => return Ok(Some(StopReason::Signal)),
            Ctl::Launcher(ToVm::Gone(peer)) => self.net.gone(peer),
            Ctl::Launcher(ToVm::Silent(peer)) => self.net.silent(peer),
            Ctl::Launcher(ToVm::Finished(peers)) => self.net.finished(peers),
            Ctl::Launcher(ToVm::Ended(ends)) => self.net.ended(ends),
            Ctl::Launcher(ToVm::Quiet(peers)) => self.net.quiet(peers),
            Ctl::Launcher(_) => {}
            Ctl::Net(NetEvent::LinkUp {
                peer,
                first,
                resent,
            }) => {
                if let Some(pos) = self.pos(peer) {
                    self.peers[pos].linked = true;
                }
                // Only the breaks the log showed: one during set-up that
                // heals after `start` is no `link_up` out of nowhere.
                let pos = self.pos(peer);
                if !first && pos.is_some_and(|p| std::mem::take(&mut self.peers[p].down_logged)) {
                    self.log.write(&Event::LinkUp { peer, resent })?;
                }
            }
            Ctl::Net(NetEvent::LinkDown { peer, .. }) => {
                if let Some(pos) = self.pos(peer).filter(|_| self.start_logged) {
                    if !std::mem::replace(&mut self.peers[pos].down_logged, true) {
                        self.log.write(&Event::LinkDown { peer })?;
                    }
                }
            }
            Ctl::Net(NetEvent::PeerLost { peer, why }) => {
                if let Some(pos) = self.pos(peer) {
                    self.lose(pos, &why)?;
                }
            }
            Ctl::Net(NetEvent::AllDone) => self.all_done = true,
        }
        Ok(None)
    }

    /// Logs `start`, then the peers lost before it.
    pub(super) fn log_start(&mut self) -> Result<()> {
        self.log.write(&Event::Start(self.start.clone()))?;
        self.start_logged = true;
        for peer in self.peers.iter().filter(|p| p.lost).map(|p| p.id) {
            self.log.write(&Event::PeerLost { peer })?;
        }
        Ok(())
    }

    /// Runs every tick on its absolute deadline, then stops.
    pub(super) fn run_ticks(mut self, t0: (Instant, i64)) -> Result<()> {
        match self.tick_all(t0) {
            Ok((reason, false)) => self.abort_setup(reason),
            Ok((reason, true)) => self.stop(reason),
            Err(e) => {
                // The log cannot be written (disk full...): say bye so the
                // peers drain and carry on, then report the error.
                self.say_goodbyes();
                Err(e)
            }
        }
    }

    /// Every tick on its deadline; returns why ticking ended and whether it began.
    pub(super) fn tick_all(&mut self, (t0, t0_us): (Instant, i64)) -> Result<(StopReason, bool)> {
        if self.live {
            self.status = status::StatusSlot::spawn();
            self.next_status = self.status.as_ref().map(|_| Instant::now());
        }
        self.start.start_at_us = Some(t0_us);
        self.log.start_at(t0_us);
        let total = tick_count(self.rate, self.runtime);
        if let Some(reason) = self.wait_until(t0)? {
            return Ok((reason, false));
        }
        self.log_start()?;
        for k in 1..=total {
            let deadline = t0 + tick_offset(self.rate, k);
            if let Some(reason) = self.wait_until(deadline)? {
                return Ok((reason, true));
            }
            self.tick(k)?;
            let next = t0 + tick_offset(self.rate, k + 1);
            self.log.flush_if_due(next)?;
        }
        self.log.flush()?;
        let reason = self
            .wait_until(t0 + self.runtime)?
            .unwrap_or(StopReason::Runtime);
        Ok((reason, true))
    }

    /// One tick: take a message or roll, log it, and for a send write the log
    /// out before the message goes on the wire.
    pub(super) fn tick(&mut self, k: u64) -> Result<()> {
        let now = Instant::now();
        let (msg, left) = self.queue.take(now);
        let msg = msg.map(|q| Incoming {
            from: q.from,
            sent_tick: q.sent_tick,
            msg_clock: q.msg_clock,
            wait_us: now.saturating_duration_since(q.arrived).as_micros() as u64,
        });
        // The queue length at the moment of the decision: 0 when there was
        // nothing to take, even if a message lands a microsecond later.
        let queue = left as u64;
        let event = step::step(
            &mut self.clock,
            k,
            msg,
            queue,
            &self.start.peers,
            self.start.event_range,
            &mut self.rng,
        );
        self.ticks = k;
        let kind = match event {
            Event::Send { .. } => 0,
            Event::Receive { .. } => 1,
            _ => 2,
        };
        self.counts[kind] += 1;
        self.log.write(&event)?;
        if let Event::Send { to, clock, .. } = &event {
            self.log.flush()?;
            for peer in to {
                if let Some(pos) = self.pos(*peer) {
                    self.net.send(pos, k, *clock);
                }
            }
        }
        Ok(())
    }
}

impl Vm {
    /// How many links have been up.
    pub(super) fn links_up(&self) -> usize {
        self.peers.iter().filter(|p| p.linked).count()
    }

    pub(super) fn pos(&self, peer: u32) -> Option<usize> {
        self.peers.binary_search_by_key(&peer, |p| p.id).ok()
    }

    /// Logs `peer_lost` once.
    pub(super) fn lose(&mut self, pos: usize, why: &str) -> Result<()> {
        if !self.peers[pos].lost {
            self.peers[pos].lost = true;
            self.warner.warn(
                "lost peer",
                &format!("gave up on VM {}: {why}", self.peers[pos].id),
            );
            // Lost during set-up: logged right after `start`, which comes first.
            if self.start_logged {
                self.log.write(&Event::PeerLost {
                    peer: self.peers[pos].id,
                })?;
            }
        }
        Ok(())
    }
}
