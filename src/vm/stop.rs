//! The stop of docs/log-format.md §1, and the failures of set-up: every
//! log ends with `stop`.

use std::sync::atomic::Ordering;

use anyhow::Result;

use super::state::Vm;
use super::status::say;
use crate::control::FromVm;
use crate::logline::{Event, StopReason};

impl Vm {
    /// Two lines: `vm 1: stopped (runtime) after 300 ticks, clock 412` and
    /// `vm 1: 61 sends, 58 receives, 2 pending; log logs/machine_1.log`.
    pub(super) fn summary(&self, reason: StopReason, pending: usize) -> String {
        let [sends, receives, _] = self.counts;
        let id = self.id;
        format!(
            "vm {id}: stopped ({}) after {} ticks, clock {}\nvm {id}: {sends} sends, {receives} receives, {pending} pending; log {}",
            reason.as_str(),
            self.ticks,
            self.clock.value(),
            self.log.path().display()
        )
    }

    /// Stopped before the first tick: still a complete log.
    pub(super) fn abort_setup(mut self, reason: StopReason) -> Result<()> {
        self.log_start()?;
        self.stop(reason)
    }

    /// Set-up failed: a log that starts and stops with `reason=error`.
    pub(super) fn log_failure(&mut self) -> Result<()> {
        self.log_start()?;
        self.say_goodbyes();
        self.log.write(&Event::Stop {
            ticks: 0,
            clock: 0,
            reason: StopReason::Error,
        })?;
        self.log.flush()
    }

    /// The stop of docs/log-format.md §1: a goodbye on every link, then
    /// read, acknowledge and resend until every link is done both ways (or
    /// given up on after `--stop-grace` without progress), log what is
    /// still queued as `pending`, log `stop`.
    pub(super) fn stop(mut self, reason: StopReason) -> Result<()> {
        self.stopping.store(true, Ordering::SeqCst);
        self.log.flush()?;
        self.say_goodbyes();
        while !self.all_done {
            let ctl = self.ctl_rx.recv();
            self.handle(ctl)?;
        }
        let pending = self.queue.drain_all();
        for q in &pending {
            self.log.write(&Event::Pending {
                from: q.from,
                sent_tick: q.sent_tick,
                msg_clock: q.msg_clock,
            })?;
        }
        self.log.write(&Event::Stop {
            ticks: self.ticks,
            clock: self.clock.value(),
            reason,
        })?;
        self.log.flush()?;
        self.warner.flush();
        if self.by_hand {
            say_err!("{}", self.summary(reason, pending.len()));
        }
        let losses = self.report_losses();
        if self.control {
            if losses.is_ok() {
                // Peers waiting only for this VM's last acknowledgement
                // (lost with a connection that broke) hear from the
                // launcher now, not after the sockets are closed.
                let _ = say(FromVm::Done);
            }
            // The log is whole: what is left is closing sockets, which must
            // not starve the launcher and the VMs still stopping.
            crate::limits::step_aside();
        }
        // No thread of ours may still be working when the process exits
        // (NetHandle::close says why).
        self.net.close();
        losses
    }

    /// The goodbyes: a frame on every link by hand; under the launcher one
    /// control line, which the launcher passes on, with the count of
    /// messages sent to each peer that has some of them unacknowledged (a
    /// 1024-VM stop is then 1,024 short lines, not a million frames on links
    /// that may have carried nothing, nor a million counts to pass on).
    pub(super) fn say_goodbyes(&mut self) {
        let sent = self.net.stop(self.control);
        if self.control {
            let counts: Vec<(u32, u64)> = self
                .peers
                .iter()
                .zip(sent)
                .filter_map(|(p, n)| Some((p.id, n?)))
                .collect();
            let _ = say(FromVm::Ended(counts));
        }
    }

    /// After the stop: every peer given up on, with the messages it never
    /// acknowledged. Any such peer fails the VM (exit 1).
    pub(super) fn report_losses(&self) -> Result<()> {
        let mut lost = Vec::new();
        for (pos, p) in self.peers.iter().enumerate().filter(|(_, p)| p.lost) {
            let (peer, unacked) = (p.id, self.net.unacked(pos) as u64);
            if self.control {
                let _ = say(FromVm::Lost { peer, unacked });
            }
            lost.push(format!("VM {peer} ({unacked} unacknowledged)"));
        }
        if lost.is_empty() {
            return Ok(());
        }
        anyhow::bail!(
            "gave up on {}; messages may be lost: run verify",
            some_of(&lost, 3)
        )
    }
}

/// The first `n` items, then how many more (a VM may give up on a thousand).
pub(super) fn some_of(items: &[String], n: usize) -> String {
    if items.len() <= n + 1 {
        return items.join(", ");
    }
    format!("{} and {} more", items[..n].join(", "), items.len() - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_of_losses_is_cut_short() {
        let items: Vec<String> = (1..=5).map(|i| format!("VM {i}")).collect();
        assert_eq!(some_of(&items[..4], 3), "VM 1, VM 2, VM 3, VM 4");
        assert_eq!(some_of(&items, 3), "VM 1, VM 2, VM 3 and 2 more");
    }
}
