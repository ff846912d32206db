//! `collect`'s splitting, pure: the log lines in a stream of several VMs'
//! output (`kubectl logs`, `docker compose logs`), each after an optional
//! engine prefix, grouped by their `vm=` key in input order, so each VM's
//! lines come out exactly as its `machine_N.log` had them. Everything else
//! in the stream (the VMs' progress on stderr, the engine's own lines) is
//! counted and skipped.

use std::collections::BTreeMap;

use crate::logline::Line;

/// The log lines of a stream, by VM.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    /// Each VM's log text, every line ending in a newline.
    pub logs: BTreeMap<u32, String>,
    /// Lines that were not log lines.
    pub skipped: usize,
}

impl Collected {
    /// How many log lines were kept.
    pub fn lines(&self) -> usize {
        self.logs.values().map(|t| t.matches('\n').count()).sum()
    }
}

/// Splits `input` into its VMs' logs.
pub fn split(input: &[u8]) -> Collected {
    let mut out = Collected::default();
    for raw in input.split(|&b| b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        match std::str::from_utf8(raw).ok().and_then(log_line) {
            Some((vm, text)) => {
                let log = out.logs.entry(vm).or_default();
                log.push_str(text);
                log.push('\n');
            }
            None => out.skipped += 1,
        }
    }
    out
}

/// The log line in `line` and its VM: the line itself, or what follows a
/// `kubectl logs --prefix` prefix (`[pod/NAME/CONTAINER] `) or a Compose
/// one (`NAME  | `, colours and all).
fn log_line(line: &str) -> Option<(u32, &str)> {
    fn parse(text: &str) -> Option<(u32, &str)> {
        Line::parse(text).ok().map(|l| (l.vm, text))
    }
    parse(line)
        .or_else(|| kubectl_rest(line).and_then(parse))
        .or_else(|| compose_rest(line).and_then(parse))
}

fn kubectl_rest(line: &str) -> Option<&str> {
    let (prefix, rest) = line.strip_prefix('[')?.split_once("] ")?;
    (!prefix.contains(char::is_whitespace)).then_some(rest)
}

fn compose_rest(line: &str) -> Option<&str> {
    let (prefix, rest) = line.split_once('|')?;
    let name = strip_colours(prefix);
    let name = name.trim_end();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let rest = skip_colour(rest);
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// `text` less its ANSI colour codes (`ESC [ ... m`).
fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&rest[..at]);
        rest = skip_colour(&rest[at..]);
        if rest.starts_with('\x1b') {
            // Not a colour code: keep it (the name check refuses it).
            out.push('\x1b');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// `text` less one colour code at its start, if it has one.
fn skip_colour(text: &str) -> &str {
    let Some(body) = text.strip_prefix("\x1b[") else {
        return text;
    };
    match body.find(|c: char| !(c.is_ascii_digit() || c == ';')) {
        Some(end) if body[end..].starts_with('m') => &body[end + 1..],
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L1: &str = "time=2026-01-01T00:00:00.000001Z vm=1 event=internal tick=1 clock=1 queue=0";
    const L2: &str = "time=2026-01-01T00:00:00.000002Z vm=2 event=internal tick=1 clock=1 queue=0";
    const L1B: &str = "time=2026-01-01T00:00:00.500001Z vm=1 event=internal tick=2 clock=2 queue=0";

    #[test]
    fn lines_are_grouped_by_vm_in_input_order() {
        let input = format!("{L1}\n{L2}\r\nlamport-sim: vm 1: listening\n\n{L1B}\n");
        let c = split(input.as_bytes());
        assert_eq!(c.logs[&1], format!("{L1}\n{L1B}\n"));
        assert_eq!(c.logs[&2], format!("{L2}\n"));
        assert_eq!((c.skipped, c.lines()), (1, 3));
    }

    #[test]
    fn engine_prefixes_are_taken_off() {
        let input = [
            format!("[pod/lamport-0-x7k2p/vm] {L1}"),
            format!("vm2_1  | {L2}"),
            format!("\x1b[36mvm1-1  |\x1b[0m {L1B}"),
            "[pod/lamport-1-abcde/vm] lamport-sim: vm 2: stopped".into(),
            format!("two words | {L2}"),
            format!("[a b] {L2}"),
        ]
        .join("\n");
        let c = split(input.as_bytes());
        assert_eq!(c.logs[&1], format!("{L1}\n{L1B}\n"));
        assert_eq!(c.logs[&2], format!("{L2}\n"));
        assert_eq!(c.skipped, 3);
    }

    #[test]
    fn nothing_but_noise_gives_no_logs() {
        let c = split(b"error: pods not found\n\xff\xfe\n");
        assert!(c.logs.is_empty());
        assert_eq!(c.skipped, 2);
    }
}
