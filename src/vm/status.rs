//! What a VM tells the launcher on stdout: control lines ([`say`]) and,
//! under the launcher's live view, the VM's latest [`Status`], written to the
//! launcher by a thread of its own. The tick loop only replaces the value in
//! a slot, so a launcher that stops reading its pipe (stopped with Ctrl+Z,
//! say) can hold up that thread, never a tick.

use std::io::Write as _;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

use anyhow::{Context, Result};

use crate::control::{FromVm, Status};

/// Writes one control line to the launcher.
pub(super) fn say(msg: FromVm) -> Result<()> {
    say_line(&msg.line()).context("cannot talk to the launcher")
}

pub(super) fn say_line(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes()).and_then(|()| out.flush())
}

/// The latest status not written yet.
#[derive(Default)]
pub struct StatusSlot {
    latest: Mutex<Option<Status>>,
    ready: Condvar,
}

impl StatusSlot {
    /// Starts the writer thread; `None` if it cannot start (no live view then).
    pub fn spawn() -> Option<Arc<StatusSlot>> {
        let slot = Arc::new(StatusSlot::default());
        let mine = Arc::clone(&slot);
        thread::Builder::new()
            .name("status".into())
            .stack_size(64 * 1024)
            .spawn(move || mine.write_forever())
            .ok()?;
        Some(slot)
    }

    /// Replaces the status to be written next.
    pub fn post(&self, status: Status) {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        *latest = Some(status);
        self.ready.notify_one();
    }

    /// Waits for the next status to write.
    fn next(&self) -> Status {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(s) = latest.take() {
                return s;
            }
            latest = self.ready.wait(latest).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn write_forever(&self) {
        loop {
            let line = FromVm::Status(self.next()).line();
            // The launcher gone closes the VM's stdin too, which stops it.
            if say_line(&line).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_latest_status_waits() {
        let slot = StatusSlot::default();
        for tick in 1..=3 {
            slot.post(Status {
                tick,
                ..Status::default()
            });
        }
        assert_eq!(slot.next().tick, 3);
        assert!(slot.latest.lock().unwrap().is_none());
    }
}
