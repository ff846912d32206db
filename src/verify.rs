//! `verify`: holds one run's logs to the rules of `docs/log-format.md`
//! (Rule 1 .. Rule 7) and reports every violation with its file and line. It
//! owns the rules and their wording; the log format itself belongs to
//! [`crate::logline`].
//!
//! [`check`] is pure (file name and text in, [`Report`] out); [`check_dir`]
//! reads a run folder through [`crate::run::read`] and checks it. It prints
//! nothing: `cmd::verify` prints the report and picks the exit code.
//!
//! Damage is told before what it breaks: a missing log, a last line cut
//! short and a log without `stop` are each one [`Cause`], said first, with
//! the receives and pendings they leave unverifiable counted in it, not
//! listed. Everything else is a [`Violation`] at its line.
//!
//! How it works, in three passes that each touch a line at most once:
//! 1. Each file is parsed once. That pass checks the rules local to one file
//!    (shape, ticks, time, clocks, tick count, link events) and keeps only
//!    what the cross-file rules need: each send (tick, clock, line, `to`)
//!    and each `receive`/`pending`.
//! 2. Every `receive`/`pending` is matched to its send by binary search over
//!    the sender's sends (kept sorted by tick), filling one "recorded at line"
//!    slot per message (a send to k VMs owns k slots); FIFO order is checked
//!    on the way.
//! 3. Each sender's messages are walked per link: the recorded ones must be a
//!    prefix; an unrecorded tail is either excused by a crash or a missing
//!    log (and counted as lost, by cause) or reported at the send line.
//!    Nothing excuses a loss between two VMs that both stopped cleanly: not
//!    `peer_lost` (a VM gave up on a peer), not a link that broke.
//!
//! Every message sent ends in exactly one of: recorded as `receive`,
//! recorded as `pending`, lost (excused), or never recorded (a violation);
//! the summary's arithmetic line shows that sum.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use crate::logline::{Event, Line, StartInfo, StopReason, format_time};
use crate::run::{layout, messages, read};

/// Event kinds in the order [`Summary`] lists them.
const KINDS: [&str; 9] = [
    "start",
    "internal",
    "send",
    "receive",
    "pending",
    "peer_lost",
    "link_down",
    "link_up",
    "stop",
];

fn kind_index(event: &Event) -> usize {
    match event {
        Event::Start(_) => 0,
        Event::Internal { .. } => 1,
        Event::Send { .. } => 2,
        Event::Receive { .. } => 3,
        Event::Pending { .. } => 4,
        Event::PeerLost { .. } => 5,
        Event::LinkDown { .. } => 6,
        Event::LinkUp { .. } => 7,
        Event::Stop { .. } => 8,
    }
}

/// One broken rule, at one line of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The file at fault, e.g. `machine_2.log`; empty when no file is (an empty run).
    pub file: String,
    /// 1-based line number; 0 when the whole file is meant.
    pub line: usize,
    /// What is wrong (what the rule expects).
    pub message: String,
}

impl Violation {
    fn new(file: &str, line: usize, message: String) -> Self {
        Violation {
            file: file.to_string(),
            line,
            message,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.line) {
            (true, _) => f.write_str(&self.message),
            (false, 0) => write!(f, "{}: {}", self.file, self.message),
            _ => write!(f, "{}:{}: {}", self.file, self.line, self.message),
        }
    }
}

/// Counts over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Log files checked.
    pub vms: usize,
    /// Lines in them (parsed or not).
    pub lines: usize,
    /// Parsed lines by `event=` kind; every kind is present, zero or not.
    pub events: BTreeMap<&'static str, u64>,
    /// Messages logged as sent: the sum over sends of `to.len()`.
    pub messages_sent: u64,
    /// `receive` lines.
    pub received: u64,
    /// `pending` lines.
    pub pending: u64,
    /// Messages recorded by their receiver as `receive` (each message once).
    pub recorded_received: u64,
    /// Messages recorded by their receiver as `pending` (each message once).
    pub recorded_pending: u64,
    /// Messages never recorded by their receiver, with an excuse (see [`Summary::lost_by`]).
    pub lost: u64,
    /// `lost` split by excuse and the VM it is about.
    pub lost_by: BTreeMap<Loss, u64>,
    /// Messages never recorded and not excused (each one a violation).
    pub unrecorded: u64,
    /// `receive` and `pending` lines that record no message: they name no
    /// send, or repeat a message already recorded.
    pub unmatched: u64,
    /// VMs whose log has no `stop` line (they did not stop cleanly).
    pub crashed: Vec<u32>,
    /// `peer_lost` lines.
    pub peer_lost: u64,
    /// `link_down` lines: links that broke.
    pub link_down: u64,
    /// `link_up` lines: links re-established.
    pub link_up: u64,
    /// The sum of `resent` over the `link_up` lines.
    pub resent: u64,
    /// VM ids named in `peers`, `to` or `from` that have no log file: each one
    /// a [`Cause`], failing the run only if a receive or pending names it.
    pub missing: Vec<u32>,
}

/// Why some messages were never recorded, and the VM that excuse is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Loss {
    /// "receiver crashed", "sender crashed" or "no receiver log".
    pub cause: &'static str,
    /// The receiver, or for the sender's causes the sender.
    pub vm: u32,
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vm = self.vm;
        match self.cause {
            "receiver crashed" => write!(f, "to crashed VM {vm}"),
            "sender crashed" => write!(f, "from crashed VM {vm}"),
            "no receiver log" => write!(f, "to VM {vm} without a log"),
            other => write!(f, "{other} (VM {vm})"),
        }
    }
}

impl Summary {
    /// Messages lost for `cause`, over every VM.
    pub fn lost_for(&self, cause: &str) -> u64 {
        let of = self.lost_by.iter().filter(|(l, _)| l.cause == cause);
        of.map(|(_, n)| n).sum()
    }

    /// Messages to (or, for the sender's causes, from) `vm` lost for `cause`.
    fn lost_at(&self, cause: &'static str, vm: u32) -> u64 {
        self.lost_by.get(&Loss { cause, vm }).copied().unwrap_or(0)
    }

    /// The arithmetic line: every message sent, by how it ended.
    pub fn messages_line(&self) -> String {
        self.messages_parts().join(" ")
    }

    /// [`Summary::messages_line`] in pieces that are never broken apart.
    fn messages_parts(&self) -> Vec<String> {
        let mut parts = vec![
            format!("messages: {} sent", self.messages_sent),
            format!("= {} received", self.recorded_received),
            format!("+ {} pending", self.recorded_pending),
            format!("+ {} lost", self.lost),
        ];
        let causes: Vec<String> = self
            .lost_by
            .iter()
            .map(|(loss, n)| format!("{n} {loss}"))
            .collect();
        parts.extend(listed(&causes, "(", ")"));
        if self.unrecorded > 0 {
            parts.push(format!("+ {} never recorded", self.unrecorded));
        }
        if self.unmatched > 0 {
            if let Some(last) = parts.last_mut() {
                last.push(';');
            }
            parts.push(format!("{} receive and pending lines", self.unmatched));
            parts.push("record no message sent".to_string());
        }
        parts
    }

    /// The first line in pieces: the counts, by kind, and who crashed.
    fn counts_parts(&self) -> Vec<String> {
        let mut parts = vec![
            format!("{} VMs,", self.vms),
            format!("{} lines:", self.lines),
        ];
        let kinds = KINDS.iter().filter(|k| !LINK_KINDS.contains(k));
        let counts: Vec<String> = kinds
            .map(|kind| format!("{} {kind}", self.events.get(kind).copied().unwrap_or(0)))
            .collect();
        parts.extend(listed(&counts, "", ";"));
        parts.push("crashed:".to_string());
        parts.extend(listed(&id_strings(&self.crashed), "", ""));
        if !self.missing.is_empty() {
            if let Some(last) = parts.last_mut() {
                last.push(';');
            }
            parts.push("no log:".to_string());
            parts.extend(listed(&id_strings(&self.missing), "", ""));
        }
        parts
    }

    /// `links: 3 broke, 3 healed, 41 messages resent`, or `None` when no
    /// link event was logged.
    pub fn links_line(&self) -> Option<String> {
        if self.link_down + self.link_up == 0 {
            return None;
        }
        let resent = messages(self.resent);
        Some(format!(
            "links: {} broke, {} healed, {resent} resent",
            self.link_down, self.link_up
        ))
    }

    /// The summary as [`fmt::Display`] writes it, each line broken (between
    /// its items, never inside one) to fit in
    /// [`WIDTH`](crate::text::WIDTH) columns.
    pub fn wrapped(&self) -> String {
        let mut out = pack(&self.counts_parts());
        out += &pack(&self.messages_parts());
        if let Some(links) = self.links_line() {
            out += &wrap(&links);
        }
        out
    }
}

/// `items` as a comma-separated list in pieces, each item with the comma
/// after it; `open` before the first, `close` after the last.
fn listed(items: &[String], open: &str, close: &str) -> Vec<String> {
    let n = items.len();
    let piece = |(i, item): (usize, &String)| {
        let (first, last) = (i == 0, i + 1 == n);
        let end = if last { close } else { "," };
        format!("{}{item}{end}", if first { open } else { "" })
    };
    items.iter().enumerate().map(piece).collect()
}

/// Pieces joined by spaces into lines of at most
/// [`WIDTH`](crate::text::WIDTH) columns, the lines after the
/// first indented by two spaces; a piece is never broken.
fn pack(parts: &[String]) -> String {
    let width = crate::text::WIDTH;
    let mut out = String::new();
    let mut line = String::new();
    for part in parts {
        let len = line.chars().count();
        if len > 2 && len + 1 + part.chars().count() > width {
            out += &line;
            out.push('\n');
            line = "  ".to_string();
        } else if !line.is_empty() && line != "  " {
            line.push(' ');
        }
        line += part;
    }
    out += &line;
    out.push('\n');
    out
}

/// Link events are told by [`Summary::links_line`], not among the counts.
const LINK_KINDS: [&str; 2] = ["link_down", "link_up"];

/// The counts, [`Summary::messages_line`], then [`Summary::links_line`] if
/// any link event was logged; [`Summary::wrapped`] is the same in 80 columns.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.counts_parts().join(" "))?;
        write!(f, "\n{}", self.messages_line())?;
        if let Some(links) = self.links_line() {
            write!(f, "\n{links}")?;
        }
        Ok(())
    }
}

/// Ids as strings, or `none`.
fn id_strings(ids: &[u32]) -> Vec<String> {
    if ids.is_empty() {
        return vec!["none".to_string()];
    }
    ids.iter().map(u32::to_string).collect()
}

fn id_list(ids: &[u32]) -> String {
    if ids.is_empty() {
        return "none".to_string();
    }
    let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
    ids.join(", ")
}

/// Damage said before anything else: a missing log, a last line cut short, a
/// log without `stop`, a log of another run. Told once, with what it leaves
/// unverifiable counted in its message rather than listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The file it is about, e.g. `machine_2.log` (missing or not).
    pub file: String,
    /// 1-based line number; 0 when the whole file is meant.
    pub line: usize,
    /// What happened, e.g. "machine_2.log is missing".
    pub headline: String,
    /// Its consequences, counted ("40 receives and pendings name VM 2 and
    /// cannot be checked; ..."); may be empty.
    pub consequences: String,
    /// True if it fails the run; a VM that crashed cleanly between two lines
    /// is only a note.
    pub fails: bool,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline)?;
        if !self.consequences.is_empty() {
            write!(f, ": {}", self.consequences)?;
        }
        Ok(())
    }
}

/// The outcome of checking one run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The causes, by VM id: said first, each once.
    pub causes: Vec<Cause>,
    /// Every other broken rule, sorted by VM id and line. What a cause leaves
    /// unverifiable is not here but counted in the cause.
    pub violations: Vec<Violation>,
    /// Counts over the run.
    pub summary: Summary,
}

impl Report {
    /// True when no rule is broken.
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && !self.causes.iter().any(|c| c.fails)
    }

    /// Failing causes plus violations.
    pub fn failures(&self) -> usize {
        self.violations.len() + self.causes.iter().filter(|c| c.fails).count()
    }

    /// The first thing wrong, briefly: a failing cause's headline, else the first violation.
    pub fn first_failure(&self) -> Option<String> {
        let cause = self.causes.iter().find(|c| c.fails);
        cause
            .map(|c| c.headline.clone())
            .or_else(|| self.violations.first().map(Violation::to_string))
    }

    /// What `verify DIR` prints: the causes, at most [`SHOWN`] violations
    /// then a count, the summary, and the verdict, every line wrapped to
    /// [`WIDTH`](crate::text::WIDTH) columns (the continuation
    /// lines indented by two spaces).
    pub fn render(&self) -> String {
        let mut out = wrap(&self.faults());
        out += &self.summary.wrapped();
        out += &wrap(&format!("verify: {}\n", self.verdict()));
        out
    }

    /// [`Report::render`] without breaking long lines.
    #[cfg(test)]
    fn render_unwrapped(&self) -> String {
        let mut out = self.faults();
        out += &format!("{}\n", self.summary);
        out += &format!("verify: {}\n", self.verdict());
        out
    }

    /// The causes, at most [`SHOWN`] violations, then a count, one a line.
    fn faults(&self) -> String {
        let mut out = String::new();
        for c in &self.causes {
            out += &format!("{c}\n");
        }
        for v in self.violations.iter().take(SHOWN) {
            out += &format!("{v}\n");
        }
        if self.violations.len() > SHOWN {
            let more = self.violations.len() - SHOWN;
            out += &format!("... and {more} more violations\n");
        }
        out
    }

    /// `OK, ...` or `FAILED: ...`, for the last line.
    fn verdict(&self) -> String {
        if self.ok() {
            return format!("OK, every rule of {DOC} holds");
        }
        let causes = self.causes.iter().filter(|c| c.fails).count();
        let others = self.violations.len();
        match (causes, others) {
            (0, n) => format!("FAILED: {}", plural(n, "violation")),
            (c, 0) => format!(
                "FAILED: {} (said first), no other violation",
                plural(c, "cause")
            ),
            (c, n) => format!(
                "FAILED: {} (said first) and {}",
                plural(c, "cause"),
                plural(n, "other violation")
            ),
        }
    }

    /// One line for an experiment's run: `OK, ...` or `FAILED: ...; first: ...`.
    pub fn one_line(&self) -> String {
        let s = &self.summary;
        let mut line = if self.ok() {
            format!(
                "OK, {} VMs, {} lines, {} messages sent, {} lost",
                s.vms, s.lines, s.messages_sent, s.lost
            )
        } else {
            let first = self.first_failure().unwrap_or_default();
            format!(
                "FAILED: {}; first: {first}",
                plural(self.failures(), "violation")
            )
        };
        if !s.crashed.is_empty() {
            line += &format!("; crashed: {}", id_list(&s.crashed));
        }
        line
    }
}

/// The repository's own description of the rules.
pub const DOC: &str = "docs/log-format.md";

/// Each line of `text` broken at spaces to fit in
/// [`WIDTH`](crate::text::WIDTH) columns; the lines a long one is
/// broken into are indented by two spaces.
pub fn wrap(text: &str) -> String {
    crate::text::wrap_lines(text, 2)
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A send, as kept for matching.
struct Send {
    tick: u64,
    clock: u64,
    line: usize,
    to: Vec<u32>,
    /// Index of the message to `to[0]` among the log's message slots.
    slot: usize,
}

impl messages::SendRecord for Send {
    fn tick(&self) -> u64 {
        self.tick
    }
    fn to(&self) -> &[u32] {
        &self.to
    }
}

/// A `receive` or `pending` line.
struct Incoming {
    line: usize,
    from: u32,
    sent_tick: u64,
    msg_clock: u64,
    /// A `pending` line, not a `receive`.
    pending: bool,
}

/// What one file's pass keeps for the cross-file rules.
struct Log {
    file: String,
    id: u32,
    /// Sorted; `None` without a start line (then peer rules are not checked).
    peers: Option<Vec<u32>>,
    stopped: bool,
    /// Sorted by tick.
    sends: Vec<Send>,
    /// Messages sent: the number of slots.
    slots: usize,
    incoming: Vec<Incoming>,
    /// The sum of `resent` over its `link_up` lines.
    resent: u64,
    /// The last line, cut short (not checked).
    cut_line: Option<usize>,
    /// Lines in the file, the cut one included.
    lines: usize,
    /// The tick of the last tick event: a log without `stop` may have lost
    /// what came after it.
    end_tick: u64,
    /// `run` of the start line, and that line.
    run: Option<(String, usize)>,
}

impl Log {
    fn send_at(&self, tick: u64) -> Option<&Send> {
        let i = self.sends.binary_search_by_key(&tick, |s| s.tick).ok()?;
        Some(&self.sends[i])
    }

    /// Unknown peers (no start line) count as peers, so one fault is told once.
    fn is_peer(&self, id: u32) -> bool {
        self.peers
            .as_ref()
            .is_none_or(|p| p.binary_search(&id).is_ok())
    }
}

/// The single pass over one file: rules 1, 2, 3 and 6.
struct Scan {
    log: Log,
    found: Vec<Violation>,
    kinds: [u64; KINDS.len()],
    lines: usize,
    /// Rate and planned runtime from the start line.
    plan: Option<(u32, Option<u64>)>,
    start_line: Option<usize>,
    stop_line: Option<usize>,
    told_after_stop: bool,
    last_tick: u64,
    last_clock: u64,
    last_time: Option<(i64, usize)>,
    /// Pending lines not yet followed by a tick event.
    open_pendings: Vec<usize>,
    /// Peers whose link is down: the line of its `link_down`, by peer.
    down: HashMap<u32, usize>,
}

impl Scan {
    fn new(file: &str, id: u32) -> Self {
        Scan {
            log: Log {
                file: file.to_string(),
                id,
                peers: None,
                stopped: false,
                sends: Vec::new(),
                slots: 0,
                incoming: Vec::new(),
                resent: 0,
                cut_line: None,
                lines: 0,
                end_tick: 0,
                run: None,
            },
            found: Vec::new(),
            kinds: [0; KINDS.len()],
            lines: 0,
            plan: None,
            start_line: None,
            stop_line: None,
            told_after_stop: false,
            last_tick: 0,
            last_clock: 0,
            last_time: None,
            open_pendings: Vec::new(),
            down: HashMap::new(),
        }
    }

    fn flag(&mut self, line: usize, message: String) {
        self.found
            .push(Violation::new(&self.log.file, line, message));
    }

    fn line(&mut self, no: usize, text: &str) {
        self.lines += 1;
        match Line::parse(text) {
            Ok(line) => self.event(no, line),
            Err(e) => self.flag(
                no,
                format!("cannot parse line: {e} (see Log format in {DOC})"),
            ),
        }
    }

    fn event(&mut self, no: usize, line: Line) {
        self.kinds[kind_index(&line.event)] += 1;
        self.common(no, &line);
        if let Some((tick, clock)) = line.event.tick_clock() {
            let msg_clock = match line.event {
                Event::Receive { msg_clock, .. } => Some(msg_clock),
                _ => None,
            };
            self.tick(no, line.event.kind(), tick, clock, msg_clock);
        }
        self.keep(no, line.event);
    }

    /// Per-kind checks and what the cross-file passes need.
    fn keep(&mut self, no: usize, event: Event) {
        match event {
            Event::Start(info) => self.start(no, info),
            Event::Internal { queue, .. } if queue != 0 => {
                self.flag(no, format!("internal queue {queue} should be 0"));
            }
            Event::Internal { .. } => {}
            Event::Send {
                tick, clock, to, ..
            } => self.send(no, tick, clock, to),
            Event::Receive {
                from,
                sent_tick,
                msg_clock,
                ..
            } => {
                self.incoming(no, from, sent_tick, msg_clock, false);
            }
            Event::Pending {
                from,
                sent_tick,
                msg_clock,
            } => {
                self.open_pendings.push(no);
                self.incoming(no, from, sent_tick, msg_clock, true);
            }
            Event::PeerLost { peer } => {
                // Given up: a link_down before it needs no link_up.
                self.down.remove(&peer);
            }
            Event::LinkDown { peer } => self.link_down(no, peer),
            Event::LinkUp { peer, resent } => self.link_up(no, peer, resent),
            Event::Stop {
                ticks,
                clock,
                reason,
            } => self.stop(no, ticks, clock, reason),
        }
    }

    /// Checks every line must pass: vm field, first line, time order, after stop.
    fn common(&mut self, no: usize, line: &Line) {
        if line.vm != self.log.id {
            let msg = format!(
                "vm={} in machine_{}.log (expected vm={})",
                line.vm, self.log.id, self.log.id
            );
            self.flag(no, msg);
        }
        if no == 1 && !matches!(line.event, Event::Start(_)) {
            let msg = format!("first line is {}, expected start", line.event.kind());
            self.flag(no, msg);
        }
        self.time(no, line.time_us);
        self.after_stop(no, &line.event);
    }

    fn time(&mut self, no: usize, time_us: i64) {
        if let Some((prev, at)) = self.last_time {
            if time_us < prev {
                let (now, then) = (format_time(time_us), format_time(prev));
                let msg =
                    format!("time {now} is before {then} of line {at} (time never goes backwards)");
                self.flag(no, msg);
            }
        }
        self.last_time = Some((time_us, no));
    }

    fn after_stop(&mut self, no: usize, event: &Event) {
        let Some(stop) = self.stop_line else { return };
        if matches!(event, Event::Stop { .. }) {
            self.flag(
                no,
                format!("second stop (first at line {stop}; a log has at most one)"),
            );
        } else if !self.told_after_stop {
            self.told_after_stop = true;
            let msg = format!(
                "{} after stop at line {stop} (nothing may follow stop)",
                event.kind()
            );
            self.flag(no, msg);
        }
    }

    fn start(&mut self, no: usize, info: StartInfo) {
        if let Some(first) = self.start_line {
            self.flag(
                no,
                format!("second start (first at line {first}; a log has one)"),
            );
            return;
        }
        if no != 1 {
            self.flag(no, format!("start at line {no} (a log begins with start)"));
        }
        self.start_line = Some(no);
        let mut peers = info.peers;
        peers.sort_unstable();
        peers.dedup();
        self.log.peers = Some(peers);
        self.plan = Some((info.rate, info.runtime_us));
        self.log.run = Some((info.run, no));
    }

    /// Rules 2 and 3 for a tick event; `msg_clock` is set for a receive.
    fn tick(&mut self, no: usize, kind: &str, tick: u64, clock: u64, msg_clock: Option<u64>) {
        for p in std::mem::take(&mut self.open_pendings) {
            self.flag(p, format!("pending before the {kind} at line {no} (pending lines come after the last tick)"));
        }
        let want = self.last_tick.saturating_add(1);
        if tick != want {
            let msg = format!(
                "tick {tick} should be {want}, after tick {} (no gap or repeat)",
                self.last_tick
            );
            self.flag(no, msg);
        }
        self.last_tick = tick;
        self.clock(no, kind, clock, msg_clock);
    }

    fn clock(&mut self, no: usize, kind: &str, clock: u64, msg_clock: Option<u64>) {
        let prev = self.last_clock;
        let want = prev.max(msg_clock.unwrap_or(0)).saturating_add(1);
        if clock != want {
            let rule = match msg_clock {
                Some(m) => format!("max({prev}, {m}) + 1"),
                None => format!("previous clock {prev} + 1"),
            };
            self.flag(
                no,
                format!("{kind} clock {clock} should be {rule} = {want}"),
            );
        }
        self.last_clock = clock;
    }

    fn send(&mut self, no: usize, tick: u64, clock: u64, to: Vec<u32>) {
        if let Some(msg) = self.bad_to(&to) {
            self.flag(no, msg);
        }
        let slot = self.log.slots;
        self.log.slots += to.len();
        let send = Send {
            tick,
            clock,
            line: no,
            to,
            slot,
        };
        self.log.sends.push(send);
    }

    /// Rule 4's half about `to`: only the sender's peers, each at most once.
    fn bad_to(&self, to: &[u32]) -> Option<String> {
        let peers = self.log.peers.as_deref().unwrap_or_default();
        if let Some(id) = to.iter().find(|&&id| !self.log.is_peer(id)) {
            let (to, peers) = (id_list(to), id_list(peers));
            return Some(format!(
                "send to {to} names VM {id}, which is not a peer (peers: {peers})"
            ));
        }
        if has_duplicates(to) {
            return Some(format!("send to {} names a VM twice", id_list(to)));
        }
        None
    }

    /// A link event must name a peer (rule 1); says so if not.
    fn link_peer(&mut self, no: usize, kind: &str, peer: u32) -> bool {
        if self.log.is_peer(peer) {
            return true;
        }
        let peers = id_list(self.log.peers.as_deref().unwrap_or_default());
        let msg = format!("{kind} names VM {peer}, which is not a peer (peers: {peers})");
        self.flag(no, msg);
        false
    }

    /// Per peer, `link_down` and `link_up` alternate, a `link_down` first.
    fn link_down(&mut self, no: usize, peer: u32) {
        if !self.link_peer(no, "link_down", peer) {
            return;
        }
        if let Some(at) = self.down.insert(peer, no) {
            let msg = format!(
                "link_down for VM {peer}, whose link is down since line {at} (a link_up comes between)"
            );
            self.flag(no, msg);
        }
    }

    fn link_up(&mut self, no: usize, peer: u32, resent: u64) {
        self.log.resent = self.log.resent.saturating_add(resent);
        if !self.link_peer(no, "link_up", peer) {
            return;
        }
        if self.down.remove(&peer).is_none() {
            let msg = format!("link_up for VM {peer} without a link_down before it");
            self.flag(no, msg);
        }
    }

    fn incoming(&mut self, line: usize, from: u32, sent_tick: u64, msg_clock: u64, pending: bool) {
        let inc = Incoming {
            line,
            from,
            sent_tick,
            msg_clock,
            pending,
        };
        self.log.incoming.push(inc);
    }

    fn stop(&mut self, no: usize, ticks: u64, clock: u64, reason: StopReason) {
        if self.stop_line.is_some() {
            return; // told by `after_stop`
        }
        self.stop_line = Some(no);
        self.log.stopped = true;
        if ticks != self.last_tick {
            self.flag(
                no,
                format!(
                    "stop ticks={ticks} should be the last tick, {}",
                    self.last_tick
                ),
            );
        }
        if clock != self.last_clock {
            let msg = format!(
                "stop clock={clock} should be the last tick event's clock, {}",
                self.last_clock
            );
            self.flag(no, msg);
        }
        if reason == StopReason::Runtime {
            self.tick_count(no, ticks);
        }
    }

    /// Rule 6: a VM that ran its whole runtime made ceil(rate * runtime) ticks, give or take 1.
    fn tick_count(&mut self, no: usize, ticks: u64) {
        let Some((rate, Some(runtime_us))) = self.plan else {
            return;
        };
        let want = (u128::from(rate) * u128::from(runtime_us)).div_ceil(1_000_000);
        if u128::from(ticks).abs_diff(want) > 1 {
            let secs = seconds(runtime_us);
            let msg = format!(
                "stop ticks={ticks} but rate {rate} * runtime {secs} s makes {want} ticks (give or take 1)"
            );
            self.flag(no, msg);
        }
    }

    /// Counts the cut last line, if any; it is not parsed, as its end is gone.
    fn cut(&mut self) {
        self.lines += 1;
        self.log.cut_line = Some(self.lines);
    }

    fn finish(&mut self) {
        if self.lines == 0 {
            self.flag(0, "empty log (a log begins with start)".to_string());
        }
        self.log.lines = self.lines;
        self.log.end_tick = self.last_tick;
        // Sorted already unless the ticks are broken, which is told elsewhere.
        if !self.log.sends.is_sorted_by_key(|s| s.tick) {
            self.log.sends.sort_by_key(|s| s.tick);
        }
    }
}

fn has_duplicates(ids: &[u32]) -> bool {
    if ids.windows(2).all(|w| w[0] < w[1]) {
        return false;
    }
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// Microseconds as exact seconds: `3`, `2.5`.
fn seconds(us: u64) -> String {
    let (whole, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    format!("{whole}.{}", format!("{frac:06}").trim_end_matches('0'))
}

fn scan_file(file: &str, id: u32, text: &str) -> Scan {
    let mut scan = Scan::new(file, id);
    let (whole, cut) = read::split_cut(text);
    for (i, line) in read::lines_of(whole).enumerate() {
        scan.line(i + 1, line);
    }
    if cut.is_some() {
        scan.cut();
    }
    scan.finish();
    scan
}

fn vm_id_of(name: &str) -> Option<u32> {
    layout::log_id(name)
}

/// Receives and pendings left unverifiable by one cause: how many, and the
/// first as (VM id, log index, line).
#[derive(Default, Clone, Copy)]
struct Unchecked {
    count: u64,
    first: Option<(u32, usize, usize)>,
}

impl Unchecked {
    fn add(&mut self, at: (u32, usize, usize)) {
        self.count += 1;
        if self.first.is_none_or(|f| at < f) {
            self.first = Some(at);
        }
    }
}

/// What the cross-file passes find.
#[derive(Default)]
struct Findings {
    violations: Vec<Violation>,
    lost: u64,
    lost_by: BTreeMap<Loss, u64>,
    missing: BTreeSet<u32>,
    /// Receives and pendings that name a VM without a log, by that VM.
    no_log: BTreeMap<u32, Unchecked>,
    /// Receives and pendings that name a tick after the end of a log without
    /// `stop`, by that log's index.
    past_end: HashMap<usize, Unchecked>,
    /// Messages recorded: [as receive, as pending].
    recorded: [u64; 2],
    /// Messages never recorded and not excused.
    unrecorded: u64,
}

impl Findings {
    fn flag(&mut self, file: &str, line: usize, message: String) {
        self.violations.push(Violation::new(file, line, message));
    }
}

/// Why the send a receive or pending names is not found.
enum Miss {
    /// The sender has no log.
    NoLog,
    /// The sender's log has no `stop` and ends before that tick.
    PastEnd(usize),
    /// Anything else: a violation with this message.
    Bad(String),
}

/// All logs of a run, by VM id.
struct Run {
    logs: Vec<Log>,
    index: HashMap<u32, usize>,
}

impl Run {
    /// Ids in some start line's `peers` that have no log.
    fn unlogged_peers(&self) -> impl Iterator<Item = u32> + '_ {
        let peers = self.logs.iter().flat_map(|l| l.peers.iter().flatten());
        peers.copied().filter(|id| !self.index.contains_key(id))
    }

    fn log(&self, id: u32) -> Option<&Log> {
        self.index.get(&id).map(|&i| &self.logs[i])
    }

    /// Pass 2: matches every receive and pending; returns, per log and
    /// message slot, the receiver's line that recorded it (0: none).
    fn match_all(&self, found: &mut Findings) -> Vec<Vec<usize>> {
        let mut got: Vec<Vec<usize>> = self.logs.iter().map(|l| vec![0; l.slots]).collect();
        for (ri, r) in self.logs.iter().enumerate() {
            let mut last = HashMap::new();
            for inc in &r.incoming {
                fifo(r, inc, &mut last, found);
                self.match_one((ri, r), inc, &mut got, found);
            }
        }
        got
    }

    /// Rule 4 for one receive or pending `inc` of log `r` (index `ri`).
    fn match_one(
        &self,
        (ri, r): (usize, &Log),
        inc: &Incoming,
        got: &mut [Vec<usize>],
        found: &mut Findings,
    ) {
        let (file, line, from) = (r.file.as_str(), inc.line, inc.from);
        if !r.is_peer(from) {
            found.flag(
                file,
                line,
                format!("from={from} is not one of this VM's peers"),
            );
        }
        let (si, send, k) = match self.send_for(r, inc) {
            Ok(found_send) => found_send,
            Err(Miss::NoLog) => {
                found.missing.insert(from);
                found.no_log.entry(from).or_default().add((r.id, ri, line));
                return;
            }
            Err(Miss::PastEnd(si)) => {
                found.past_end.entry(si).or_default().add((r.id, ri, line));
                return;
            }
            Err(Miss::Bad(msg)) => {
                found.flag(file, line, msg);
                return;
            }
        };
        if send.clock != inc.msg_clock {
            let (m, c, s) = (inc.msg_clock, send.clock, &self.logs[si].file);
            let msg = format!(
                "msg_clock {m} but the send at {s}:{} carries clock {c}",
                send.line
            );
            found.flag(file, line, msg);
        }
        let slot = &mut got[si][send.slot + k];
        if *slot == 0 {
            *slot = line;
            found.recorded[usize::from(inc.pending)] += 1;
        } else {
            let tick = inc.sent_tick;
            let msg = format!(
                "VM {from}'s message of tick {tick} recorded twice (first at line {slot}; at most once)"
            );
            found.flag(file, line, msg);
        }
    }

    /// The send `inc` names: its log's index, the send, and `r`'s place in
    /// its `to` ([`messages::find`], the matcher every reader uses).
    fn send_for(&self, r: &Log, inc: &Incoming) -> Result<(usize, &Send, usize), Miss> {
        let (from, tick) = (inc.from, inc.sent_tick);
        let &si = self.index.get(&from).ok_or(Miss::NoLog)?;
        let s = &self.logs[si];
        match messages::find(&s.sends, tick, r.id) {
            Ok((send, k)) => Ok((si, send, k)),
            Err(messages::Miss::NotAddressed) => {
                let (to, line) = s
                    .send_at(tick)
                    .map_or((String::new(), 0), |send| (id_list(&send.to), send.line));
                let msg = format!(
                    "the send at {}:{line} went to {to}, not to VM {}",
                    s.file, r.id
                );
                Err(Miss::Bad(msg))
            }
            Err(_) if !s.stopped && tick > s.end_tick => Err(Miss::PastEnd(si)),
            Err(_) => Err(Miss::Bad(format!("no send at tick {tick} in {}", s.file))),
        }
    }

    /// Pass 3 (rule 5) for the messages of one sender.
    fn account(&self, s: &Log, got: &[usize], found: &mut Findings) {
        // Per receiver: the unrecorded messages since its last recorded one.
        let mut open: HashMap<u32, Vec<(usize, u64)>> = HashMap::new();
        for send in &s.sends {
            for (k, &to) in send.to.iter().enumerate() {
                let recorded = got[send.slot + k] != 0;
                if !s.is_peer(to) {
                    // Told at the send line.
                    found.unrecorded += u64::from(!recorded);
                    continue;
                }
                let gap = open.entry(to).or_default();
                if !recorded {
                    gap.push((send.line, send.tick));
                    continue;
                }
                for (line, tick) in gap.drain(..) {
                    let msg = format!(
                        "message to VM {to} of tick {tick} never recorded there, though the one of tick {} was (FIFO loses only a tail)",
                        send.tick
                    );
                    found.unrecorded += 1;
                    found.flag(&s.file, line, msg);
                }
            }
        }
        for (to, tail) in open {
            self.settle_tail(s, to, &tail, found);
        }
    }

    /// An unrecorded tail of link `s` -> `to`: excused and counted as lost,
    /// or one violation per message at its send line.
    fn settle_tail(&self, s: &Log, to: u32, tail: &[(usize, u64)], found: &mut Findings) {
        if tail.is_empty() {
            return;
        }
        if let Some(loss) = self.excuse(s, to) {
            found.lost += tail.len() as u64;
            *found.lost_by.entry(loss).or_default() += tail.len() as u64;
            if loss.cause == "no receiver log" {
                found.missing.insert(to);
            }
            return;
        }
        found.unrecorded += tail.len() as u64;
        let from = s.id;
        for &(line, tick) in tail {
            let msg = format!(
                "VM {from}'s message of tick {tick} to VM {to} never recorded there, though VM {to} stopped cleanly"
            );
            found.flag(&s.file, line, msg);
        }
    }

    /// Why the tail of messages from `s` to `to` may be missing: only a
    /// crash or a missing log. Between two VMs that stopped cleanly nothing
    /// excuses a loss, a `peer_lost` of either side included: links resend
    /// what was not acknowledged, and a VM that gives up on a peer has lost
    /// messages, which rule 5 reports.
    fn excuse(&self, s: &Log, to: u32) -> Option<Loss> {
        let loss = |cause, vm| Some(Loss { cause, vm });
        let Some(r) = self.log(to) else {
            return loss("no receiver log", to);
        };
        if !r.stopped {
            loss("receiver crashed", to)
        } else if !s.stopped {
            // It may have logged sends that never reached the wire.
            loss("sender crashed", s.id)
        } else {
            None
        }
    }

    /// Rule 7: the `run` id most logs share (ties: the lowest VM id's), and
    /// a cause for each log of another run.
    fn other_runs(&self) -> Vec<Cause> {
        let mut count: HashMap<&str, (usize, u32)> = HashMap::new();
        for l in &self.logs {
            if let Some((run, _)) = &l.run {
                let e = count.entry(run).or_insert((0, l.id));
                e.0 += 1;
                e.1 = e.1.min(l.id);
            }
        }
        let Some((&main, &(n, _))) = count
            .iter()
            .max_by_key(|&(_, &(n, low))| (n, std::cmp::Reverse(low)))
        else {
            return Vec::new();
        };
        let total: usize = count.values().map(|c| c.0).sum();
        let other = |l: &Log| {
            let (run, line) = l.run.as_ref()?;
            (run != main).then(|| Cause {
                file: l.file.clone(),
                line: *line,
                headline: format!(
                    "{}:{line}: run={run}, but {n} of {total} logs have run={main} (one run per folder, rule 7)",
                    l.file
                ),
                consequences: String::new(),
                fails: true,
            })
        };
        self.logs.iter().filter_map(other).collect()
    }
}

/// Rule 4's FIFO half: from one sender, `sent_tick` only increases.
fn fifo(r: &Log, inc: &Incoming, last: &mut HashMap<u32, (u64, usize)>, found: &mut Findings) {
    let now = (inc.sent_tick, inc.line);
    let Some(prev) = last.insert(inc.from, now) else {
        return;
    };
    if inc.sent_tick < prev.0 {
        last.insert(inc.from, prev);
        let (from, tick, (t, l)) = (inc.from, inc.sent_tick, prev);
        let msg = format!(
            "VM {from}'s message of tick {tick} comes after its tick {t} (line {l}); one peer's messages come in the order sent"
        );
        found.flag(&r.file, inc.line, msg);
    }
}

/// "40 receives and pendings name VM 2 and cannot be checked (the first at machine_1.log:6)".
fn unchecked_text(run: &Run, u: &Unchecked, names: &str) -> Option<String> {
    let (_, li, line) = u.first?;
    let (n, file) = (u.count, &run.logs[li].file);
    let what = if n == 1 {
        "1 receive or pending names"
    } else {
        &format!("{n} receives and pendings name")
    };
    Some(format!(
        "{what} {names} and cannot be checked (the first at {file}:{line})"
    ))
}

/// The cause for a VM that has no log: it fails the run only if some
/// receive or pending names it (they cannot be checked).
fn missing_cause(run: &Run, found: &Findings, summary: &Summary, id: u32) -> Cause {
    let mut parts = Vec::new();
    let u = found.no_log.get(&id).copied().unwrap_or_default();
    parts.extend(unchecked_text(run, &u, &format!("VM {id}")));
    let lost = summary.lost_at("no receiver log", id);
    if lost > 0 {
        parts.push(format!("{} to VM {id} counted as lost", messages(lost)));
    }
    if parts.is_empty() {
        parts.push(format!("VM {id} is named as a peer"));
    }
    let file = format!("machine_{id}.log");
    Cause {
        headline: format!("{file} is missing"),
        file,
        line: 0,
        consequences: parts.join("; "),
        fails: u.count > 0,
    }
}

/// The cause for a log cut short or without `stop`; `None` for a whole,
/// stopped log.
fn end_cause(run: &Run, found: &Findings, summary: &Summary, li: usize) -> Option<Cause> {
    let l = &run.logs[li];
    if l.stopped && l.cut_line.is_none() {
        return None;
    }
    let (file, id) = (&l.file, l.id);
    let mut parts = Vec::new();
    let headline = match l.cut_line {
        Some(cut) => {
            parts.push("not checked (a crash or a full disk leaves a log so)".to_string());
            if !l.stopped {
                parts.push(format!("VM {id} has no stop"));
            }
            format!("{file}:{cut}: last line cut short (no newline at its end)")
        }
        None if l.lines == 0 => format!("{file} has no stop (it is empty)"),
        None => format!(
            "{file} has no stop (VM {id} crashed or was killed after line {})",
            l.lines
        ),
    };
    let u = found.past_end.get(&li).copied().unwrap_or_default();
    let names = format!("VM {id}'s ticks after its last logged one ({})", l.end_tick);
    parts.extend(unchecked_text(run, &u, &names));
    let to = summary.lost_at("receiver crashed", id);
    let from = summary.lost_at("sender crashed", id);
    match (to, from) {
        (0, 0) => {}
        (to, 0) => parts.push(format!("{} to VM {id} counted as lost", messages(to))),
        (0, from) => parts.push(format!("{} from VM {id} counted as lost", messages(from))),
        (to, from) => parts.push(format!(
            "{} to VM {id} and {from} from it counted as lost",
            messages(to)
        )),
    }
    Some(Cause {
        file: file.clone(),
        line: l.cut_line.unwrap_or(0),
        headline,
        consequences: parts.join("; "),
        fails: l.cut_line.is_some() || u.count > 0,
    })
}

fn messages(n: u64) -> String {
    if n == 1 {
        "1 message".to_string()
    } else {
        format!("{n} messages")
    }
}

/// Every cause, by VM id: missing logs, cut or unstopped logs, other runs.
fn causes(run: &Run, found: &Findings, summary: &Summary) -> Vec<Cause> {
    let mut causes: Vec<(u32, Cause)> = Vec::new();
    for &id in &summary.missing {
        causes.push((id, missing_cause(run, found, summary, id)));
    }
    for (li, l) in run.logs.iter().enumerate() {
        causes.extend(end_cause(run, found, summary, li).map(|c| (l.id, c)));
    }
    for c in run.other_runs() {
        causes.push((vm_id_of(&c.file).unwrap_or(0), c));
    }
    causes.sort_by_key(|(id, c)| (*id, c.line == 0, c.line));
    causes.into_iter().map(|(_, c)| c).collect()
}

/// Pass 1 over every file; bad or repeated file names are violations.
fn scan_all(files: &[(String, String)], summary: &mut Summary, found: &mut Findings) -> Run {
    let mut run = Run {
        logs: Vec::with_capacity(files.len()),
        index: HashMap::new(),
    };
    let mut kinds = [0u64; KINDS.len()];
    let mut ids = HashSet::new();
    let mut taken = Vec::with_capacity(files.len());
    for (name, text) in files {
        let Some(id) = vm_id_of(name) else {
            found.flag(name, 0, "not a machine_<id>.log file name".to_string());
            continue;
        };
        if !ids.insert(id) {
            found.flag(name, 0, format!("a second log for VM {id}"));
            continue;
        }
        taken.push((name.as_str(), id, text.as_str()));
    }
    // One file's pass needs no other file: the files are scanned in parallel.
    let scans = read::each_parallel(
        &taken,
        |&(name, id, text)| Some(scan_file(name, id, text)),
        || None,
    );
    for (scan, &(name, id, _)) in scans.into_iter().zip(&taken) {
        let Some(scan) = scan else {
            found.flag(name, 0, "the pass over this log failed".to_string());
            continue;
        };
        summary.lines += scan.lines;
        kinds.iter_mut().zip(scan.kinds).for_each(|(k, n)| *k += n);
        found.violations.extend(scan.found);
        run.index.insert(id, run.logs.len());
        run.logs.push(scan.log);
    }
    summary.events = KINDS.into_iter().zip(kinds).collect();
    run
}

/// Checks the logs of one run, given as (file name, file text) pairs.
pub fn check(files: &[(String, String)]) -> Report {
    let mut summary = Summary::default();
    let mut found = Findings::default();
    let run = scan_all(files, &mut summary, &mut found);
    if run.logs.is_empty() {
        found.flag("", 0, "no machine_<id>.log to check".to_string());
    }
    let got = run.match_all(&mut found);
    for (s, got) in run.logs.iter().zip(&got) {
        run.account(s, got, &mut found);
    }
    found.missing.extend(run.unlogged_peers());
    fill_summary(&mut summary, &run, &found);
    let causes = causes(&run, &found, &summary);
    let mut violations = found.violations;
    violations.sort_by_cached_key(|v| (vm_id_of(&v.file), v.file.clone(), v.line));
    Report {
        causes,
        violations,
        summary,
    }
}

fn fill_summary(summary: &mut Summary, run: &Run, found: &Findings) {
    let count = |kind: &str| summary.events.get(kind).copied().unwrap_or(0);
    summary.received = count("receive");
    summary.pending = count("pending");
    summary.peer_lost = count("peer_lost");
    summary.link_down = count("link_down");
    summary.link_up = count("link_up");
    summary.resent = run.logs.iter().map(|l| l.resent).sum();
    summary.vms = run.logs.len();
    summary.messages_sent = run.logs.iter().map(|l| l.slots as u64).sum();
    [summary.recorded_received, summary.recorded_pending] = found.recorded;
    let recorded = found.recorded[0] + found.recorded[1];
    summary.unmatched = (summary.received + summary.pending).saturating_sub(recorded);
    summary.unrecorded = found.unrecorded;
    let mut crashed: Vec<u32> = run
        .logs
        .iter()
        .filter(|l| !l.stopped)
        .map(|l| l.id)
        .collect();
    crashed.sort_unstable();
    summary.crashed = crashed;
    summary.lost = found.lost;
    summary.lost_by = found.lost_by.clone();
    summary.missing = found.missing.iter().copied().collect();
}

/// Reads every `machine_<id>.log` in `dir` and checks them. Errors (naming
/// the folder or file) when the folder cannot be read, holds no such log, or
/// a log cannot be read or is not UTF-8.
pub fn check_dir(dir: &Path) -> anyhow::Result<Report> {
    let files: Vec<(String, String)> = read::read_run(dir)?
        .into_iter()
        .map(|f| (f.name, f.text))
        .collect();
    Ok(check(&files))
}

/// Most violations printed before the rest are only counted.
pub const SHOWN: usize = 40;

#[cfg(test)]
mod tests;
