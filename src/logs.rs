//! Reading a run folder: the `machine_*.log` files in it, in id order, and
//! their lines parsed through `logline`. The IO edge of `verify`, the
//! launcher's table and `analyze`.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

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

/// Splits a log's text into its whole lines and a last line cut short: the
/// writer ends every line with a newline, so text after the last newline is
/// a write cut short (a crash or a full disk), never a whole event.
pub fn split_cut(text: &str) -> (&str, Option<&str>) {
    match text.rfind('\n') {
        Some(i) if i + 1 < text.len() => (&text[..=i], Some(&text[i + 1..])),
        Some(_) => (text, None),
        None if text.is_empty() => (text, None),
        None => ("", Some(text)),
    }
}

/// Why a run folder could not be read. The first two mean "not a run
/// folder" (a usage error); the last means a log is there but is not text.
#[derive(Debug)]
pub enum ReadError {
    /// The folder, or a file in it, cannot be read.
    Io { path: PathBuf, err: std::io::Error },
    /// The folder holds no `machine_<id>.log`.
    NoLogs { dir: PathBuf },
    /// A log is not UTF-8; `byte` is where the valid text ends.
    NotText { path: PathBuf, byte: usize },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { path, err } => write!(f, "cannot read {}: {err}", path.display()),
            ReadError::NoLogs { dir } => write!(f, "no machine_*.log files in {}", dir.display()),
            ReadError::NotText { path, byte } => {
                write!(f, "{} is not UTF-8 text (byte {byte})", path.display())
            }
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads every `machine_<id>.log` in `dir`, sorted by id. Fails if the folder
/// cannot be read, holds no log, or a log is not UTF-8.
pub fn read_run(dir: &Path) -> Result<Vec<LogFile>, ReadError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |err| ReadError::Io { path, err }
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = log_id(&name) else { continue };
        let path = entry.path();
        let bytes = fs::read(&path).map_err(io(&path))?;
        let text = String::from_utf8(bytes).map_err(|e| ReadError::NotText {
            byte: e.utf8_error().valid_up_to(),
            path,
        })?;
        files.push(LogFile { name, id, text });
    }
    if files.is_empty() {
        return Err(ReadError::NoLogs {
            dir: dir.to_path_buf(),
        });
    }
    files.sort_by_key(|f| f.id);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::split_cut;

    #[test]
    fn text_after_the_last_newline_is_cut() {
        assert_eq!(split_cut(""), ("", None));
        assert_eq!(split_cut("a\nb\n"), ("a\nb\n", None));
        assert_eq!(split_cut("a\nb"), ("a\n", Some("b")));
        assert_eq!(split_cut("ab"), ("", Some("ab")));
    }
}
