//! `analyze`: reads a run folder through [`crate::run::read`] and computes
//! the figures ([`analysis`], one question per file); the charts ([`plots`],
//! [`spacetime`]) and the tables ([`crate::report`]) are text. It prints and writes nothing: `cmd::analyze`
//! prints the tables and writes the report folder. A log whose last line is
//! cut short (a VM killed mid-write) is analyzed without that line, with a
//! note.

pub mod analysis;
pub mod causal;
pub mod distributions;
pub mod drift;
#[cfg(test)]
mod fixtures;
pub mod model;
pub mod per_vm;
pub mod plots;
pub mod spacetime;

use std::path::Path;

use anyhow::Result;

use crate::run::read;
pub use analysis::Analysis;

/// Reads the run in `dir` (through [`read`]) and analyzes it; `window` is
/// the space-time diagram's, in seconds from the start. The reader's notes
/// (a cut last line) come first in [`Analysis::notes`].
pub fn analyze_dir(dir: &Path, window: (f64, f64)) -> Result<Analysis> {
    let (logs, read_notes) = read::read_logs(dir)?;
    let mut analysis = analysis::analyze(&logs, window);
    analysis.notes.splice(0..0, read_notes);
    Ok(analysis)
}
