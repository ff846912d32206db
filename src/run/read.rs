//! The one reader of a run folder: its `machine_<id>.log` files in id order,
//! split into lines by one rule, and parsed through `logline` in parallel.
//!
//! Lines: the writer ends every line with `\n` and writes no `\r`, so a line
//! is the text up to a `\n`, and a `\r` before it is part of the line (a
//! parser error, as any other stray byte: a log that went through a CRLF
//! conversion is not the log the VM wrote). Text after the last `\n` is a
//! write cut short (a crash or a full disk), never a whole event.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;

use anyhow::{Result, bail};

use super::layout::log_id;
use crate::logline::{Line, ParseError};

/// Every log of a run, parsed: (VM id, its lines), by id.
pub type RunLogs = Vec<(u32, Vec<Line>)>;

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
    /// Its whole lines, parsed; the error names the 1-based line number. A
    /// last line cut short is left out.
    pub fn lines(&self) -> Result<Vec<Line>, (usize, ParseError)> {
        let (whole, _) = split_cut(&self.text);
        lines_of(whole)
            .enumerate()
            .map(|(i, l)| Line::parse(l).map_err(|e| (i + 1, e)))
            .collect()
    }
}

/// Splits a log's text into its whole lines and a last line cut short (text
/// after the last newline).
pub fn split_cut(text: &str) -> (&str, Option<&str>) {
    match text.rfind('\n') {
        Some(i) if i + 1 < text.len() => (&text[..=i], Some(&text[i + 1..])),
        Some(_) => (text, None),
        None if text.is_empty() => (text, None),
        None => ("", Some(text)),
    }
}

/// The lines of `text`: split on `\n` only (a `\r` stays in its line), the
/// empty piece after a final newline dropped.
pub fn lines_of(text: &str) -> impl Iterator<Item = &str> {
    // memchr's vectorized search: verify and analyze 3-6% faster than with
    // std's `split_inclusive` (`cargo bench -- logtools`, NOTEBOOK issue 14).
    let mut newlines = memchr::memchr_iter(b'\n', text.as_bytes());
    let mut start = 0;
    std::iter::from_fn(move || {
        let end = newlines
            .next()
            .or((start < text.len()).then_some(text.len()))?;
        let line = &text[start..end];
        start = end + 1;
        Some(line)
    })
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

/// Every log of `dir` parsed, by id, and notes on what was skipped (an empty
/// log, a last line cut short). A bad line anywhere else is an error naming
/// file and line.
pub fn read_logs(dir: &Path) -> Result<(RunLogs, Vec<String>)> {
    let files = read_run(dir)?;
    let mut logs = Vec::with_capacity(files.len());
    let mut notes = Vec::new();
    for (file, parsed) in files.iter().zip(parse_all(&files)) {
        let (lines, note) = parsed?;
        if lines.is_empty() {
            notes.push(format!("{} is empty", file.name));
        }
        notes.extend(note);
        logs.push((file.id, lines));
    }
    Ok((logs, notes))
}

type Parsed = Result<(Vec<Line>, Option<String>)>;

/// Runs `f` on every item (a log file, say), spread over the machine's
/// cores; the results in item order. `lost` stands in for a worker that
/// panicked.
pub fn each_parallel<I: Sync, T: Send>(
    items: &[I],
    f: impl Fn(&I) -> T + Sync,
    lost: impl Fn() -> T,
) -> Vec<T> {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let workers = cores.min(items.len()).max(1);
    let mut results: Vec<Option<T>> = (0..items.len()).map(|_| None).collect();
    let f = &f;
    thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    let mine = items.iter().enumerate().skip(w).step_by(workers);
                    mine.map(|(i, item)| (i, f(item))).collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().unwrap_or_default() {
                results[i] = Some(r);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(&lost))
        .collect()
}

/// Parses every file, spread over the machine's cores.
fn parse_all(files: &[LogFile]) -> Vec<Parsed> {
    let lost = || Err(anyhow::anyhow!("a log parser thread failed"));
    each_parallel(files, parse_file, lost)
}

/// One file's lines. A last line cut short is dropped with a note; any bad
/// whole line is an error.
fn parse_file(f: &LogFile) -> Parsed {
    let (whole, cut) = split_cut(&f.text);
    let mut lines = Vec::with_capacity(memchr::memchr_iter(b'\n', whole.as_bytes()).count());
    let mut n = 0;
    for (i, text) in lines_of(whole).enumerate() {
        n = i + 1;
        match Line::parse(text) {
            Ok(line) => lines.push(line),
            Err(e) => bail!("{}:{}: {e}", f.name, i + 1),
        }
    }
    let note = cut.map(|text| match Line::parse(text) {
        Ok(_) => format!(
            "{}:{}: last line cut short (no newline), ignored",
            f.name,
            n + 1
        ),
        Err(e) => format!("{}:{}: last line cut short, ignored ({e})", f.name, n + 1),
    });
    Ok((lines, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> LogFile {
        LogFile {
            name: "machine_1.log".into(),
            id: 1,
            text: text.into(),
        }
    }

    const GOOD: &str =
        "time=2026-11-22T10:00:00.000000Z vm=1 event=internal tick=1 clock=1 queue=0\n";

    #[test]
    fn text_after_the_last_newline_is_cut() {
        assert_eq!(split_cut(""), ("", None));
        assert_eq!(split_cut("a\nb\n"), ("a\nb\n", None));
        assert_eq!(split_cut("a\nb"), ("a\n", Some("b")));
        assert_eq!(split_cut("ab"), ("", Some("ab")));
    }

    #[test]
    fn lines_split_on_newline_only() {
        let lines: Vec<&str> = lines_of("a\r\nb\n\nc\n").collect();
        assert_eq!(lines, ["a\r", "b", "", "c"]);
    }

    proptest::proptest! {
        /// As std's `split_inclusive('\n')` with each `\n` taken off.
        #[test]
        fn lines_are_split_inclusive_without_the_newline(text in "[a\n\ré]{0,20}") {
            let by_std: Vec<&str> = text
                .split_inclusive('\n')
                .map(|l| l.strip_suffix('\n').unwrap_or(l))
                .collect();
            proptest::prop_assert_eq!(lines_of(&text).collect::<Vec<_>>(), by_std);
        }
    }

    #[test]
    fn a_carriage_return_is_part_of_the_line_for_every_reader() {
        let crlf = GOOD.replace('\n', "\r\n");
        let e = parse_file(&file(&crlf)).unwrap_err().to_string();
        assert!(e.starts_with("machine_1.log:1: "), "{e}");
        assert_eq!(file(&crlf).lines().unwrap_err().0, 1);
        assert_eq!(file(GOOD).lines().unwrap().len(), 1);
    }

    #[test]
    fn a_last_line_cut_short_is_dropped_with_a_note() {
        let text = format!("{GOOD}time=2026-11-22T10:00:00.1");
        let (lines, note) = parse_file(&file(&text)).unwrap();
        assert_eq!(lines.len(), 1);
        assert!(
            note.unwrap()
                .starts_with("machine_1.log:2: last line cut short")
        );
        assert_eq!(parse_file(&file(GOOD)).unwrap().0.len(), 1);
        // Even one that parses: without its newline it was not all written.
        let whole_but_cut = GOOD.trim_end();
        let (lines, note) = parse_file(&file(whole_but_cut)).unwrap();
        assert!(lines.is_empty());
        assert!(
            note.unwrap()
                .starts_with("machine_1.log:1: last line cut short")
        );
    }

    #[test]
    fn any_other_bad_line_is_an_error_naming_file_and_line() {
        for text in [format!("garbage\n{GOOD}"), format!("{GOOD}garbage\n")] {
            let e = parse_file(&file(&text)).unwrap_err().to_string();
            assert!(e.starts_with("machine_1.log:"), "{e}");
        }
    }

    #[test]
    fn files_parse_in_order() {
        let files: Vec<LogFile> = (0..5).map(|i| file(&GOOD.repeat(i))).collect();
        let parsed = parse_all(&files);
        let counts: Vec<usize> = parsed.iter().map(|p| p.as_ref().unwrap().0.len()).collect();
        assert_eq!(counts, [0, 1, 2, 3, 4]);
        assert!(parse_all(&[]).is_empty());
    }
}
