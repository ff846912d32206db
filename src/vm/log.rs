//! A VM's log file: lines formatted through `logline`, buffered, and handed
//! to the OS before any message goes on the wire (so a SIGKILL never leaves a
//! received message whose send is missing) and on a short timer otherwise.
//! With `--log-stdout` each flush also hands the same bytes, whole lines,
//! to standard output (for an engine's `docker logs` or `kubectl logs`).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::logline::{self, Event};
use crate::run::clock::PhysClock;
use crate::run::layout::{log_id, log_path};

/// Longest a written line waits in the buffer while ticks are frequent.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
const FLUSH_BYTES: usize = 64 * 1024;

/// Removes `machine_<id>.log` files in `dir` with an id above `max_id`, left
/// by an earlier run with more VMs.
pub fn remove_stale(dir: &Path, max_id: u32) -> Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if log_id(&name.to_string_lossy()).is_some_and(|id| id > max_id) {
            // Every VM of the run does this: another one may have been first.
            match fs::remove_file(entry.path()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| {
                        format!("cannot remove stale {}", entry.path().display())
                    });
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The open log of one VM.
pub struct LogWriter {
    vm: u32,
    file: File,
    path: PathBuf,
    buf: String,
    last_flush: Instant,
    /// `--log-stdout`, until standard output fails once (the file goes on).
    to_stdout: bool,
    /// Under `--clock-skew` or `--clock-drift`: the clock the lines are
    /// stamped with, the drawn values as the `start` line records them, and
    /// the last stamp (the clock never runs backwards, even if the host's does).
    skewed: Option<Skewed>,
}

/// A lying clock: [`PhysClock`], what was drawn, the last time written.
struct Skewed {
    clock: PhysClock,
    drawn: (Option<i64>, Option<i64>),
    last_us: i64,
}

impl LogWriter {
    /// Creates (or truncates) `dir/machine_<vm>.log`, creating `dir` if needed.
    pub fn create(dir: &Path, vm: u32) -> Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create log folder {}", dir.display()))?;
        let path = log_path(dir, vm);
        let file =
            File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(LogWriter {
            vm,
            file,
            path,
            buf: String::with_capacity(FLUSH_BYTES + 512),
            last_flush: Instant::now(),
            to_stdout: false,
            skewed: None,
        })
    }

    /// Stamps every line from now on with a clock `skew_us` off true time
    /// and drifting by `drift_ppb` (either may be `None`: 0, and no key in
    /// the `start` line); the drift counts from now until [`Self::start_at`].
    pub fn skew_clock(&mut self, skew_us: Option<i64>, drift_ppb: Option<i64>) {
        if skew_us.is_none() && drift_ppb.is_none() {
            return;
        }
        self.skewed = Some(Skewed {
            clock: PhysClock {
                offset_us: skew_us.unwrap_or(0),
                drift_ppb: drift_ppb.unwrap_or(0),
                start_us: logline::now_us(),
            },
            drawn: (skew_us, drift_ppb),
            last_us: i64::MIN,
        });
    }

    /// The drift counts from `t0_us`, the start instant (true time).
    pub fn start_at(&mut self, t0_us: i64) {
        if let Some(s) = &mut self.skewed {
            s.clock.start_us = t0_us;
        }
    }

    /// What [`Self::skew_clock`] was given: the `start` line's clock keys.
    pub fn drawn(&self) -> (Option<i64>, Option<i64>) {
        self.skewed.as_ref().map_or((None, None), |s| s.drawn)
    }

    /// The time a line written now carries: the wall clock, or the lying one.
    fn stamp(&mut self) -> i64 {
        let now = logline::now_us();
        match &mut self.skewed {
            None => now,
            Some(s) => {
                s.last_us = s.last_us.max(s.clock.physical(now));
                s.last_us
            }
        }
    }

    /// Every flush from now on also goes to standard output.
    pub fn also_to_stdout(&mut self) {
        self.to_stdout = true;
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event stamped with the current wall time (as this VM's
    /// clock tells it: see [`Self::skew_clock`]).
    pub fn write(&mut self, event: &Event) -> Result<()> {
        let time_us = self.stamp();
        logline::write_line(time_us, self.vm, event, &mut self.buf);
        if self.buf.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands every buffered line to the OS.
    pub fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.file
                .write_all(self.buf.as_bytes())
                .with_context(|| format!("cannot write {}", self.path.display()))?;
            if self.to_stdout {
                self.mirror();
            }
            self.buf.clear();
        }
        self.last_flush = Instant::now();
        Ok(())
    }

    /// The buffer (whole lines) to standard output. A failure there (a
    /// closed pipe) ends the copy, said once, but never the VM: the file
    /// is the record.
    fn mirror(&mut self) {
        let mut out = std::io::stdout().lock();
        if let Err(e) = out
            .write_all(self.buf.as_bytes())
            .and_then(|()| out.flush())
        {
            self.to_stdout = false;
            drop(out);
            let line = format!("vm {}: warning: --log-stdout stopped: {e}\n", self.vm);
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }

    /// Flushes if the next line is more than [`FLUSH_EVERY`] away or the
    /// buffer is that old, so `tail -f` is never more than that behind. (At
    /// 100 ticks/s that is one write per 5 ticks, not one per tick: 12% less
    /// CPU, measured.)
    pub fn flush_if_due(&mut self, next_line: Instant) -> Result<()> {
        let idle = next_line.saturating_duration_since(Instant::now()) > FLUSH_EVERY;
        if idle || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }
}
