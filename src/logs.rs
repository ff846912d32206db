//! Reading a run folder: the `machine_*.log` files in it, in id order, and
//! their lines parsed through `logline`. The IO edge of `verify` and `stats`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::logline::{Line, ParseError};
use crate::vm::log::log_id;

/// One log file as read from disk.
#[derive(Debug, Clone)]
pub struct LogFile {
    /// The file name, e.g. `machine_2.log`.
    pub name: String,
    /// The VM id in the file name.
    pub id: u32,
    pub text: String,
}

impl LogFile {
    /// Its lines, parsed; the error names the 1-based line number.
    pub fn lines(&self) -> Result<Vec<Line>, (usize, ParseError)> {
        self.text
            .lines()
            .enumerate()
            .map(|(i, l)| Line::parse(l).map_err(|e| (i + 1, e)))
            .collect()
    }
}

/// Reads every `machine_<id>.log` in `dir`, sorted by id. Fails if the folder
/// cannot be read, holds no log, or a log is not UTF-8.
pub fn read_run(dir: &Path) -> Result<Vec<LogFile>> {
    let entries =
        fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read folder {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = log_id(&name) else { continue };
        let bytes = fs::read(entry.path())
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "{} is not UTF-8 text (byte {})",
                entry.path().display(),
                e.utf8_error().valid_up_to()
            )
        })?;
        files.push(LogFile { name, id, text });
    }
    if files.is_empty() {
        bail!("no machine_*.log files in {}", dir.display());
    }
    files.sort_by_key(|f| f.id);
    Ok(files)
}
