//! `verify`: holds one run's logs to the rules of `docs/log-format.md`
//! (Rule 1 .. Rule 7) and reports every violation with its file and line. It
//! owns the rules and their wording; the log format itself belongs to
//! [`crate::logline`].
//!
//! [`check`] is pure (file name and text in, [`Report`] out); [`check_dir`] is
//! the thin IO edge that reads a run folder, and [`main`] also walks the
//! `run_<k>` folders of an experiment.
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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use crate::logline::{Event, Line, StartInfo, StopReason, format_time};

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
fn wrap(text: &str) -> String {
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

/// The lines of a file: split on `\n`, the empty piece after a final newline dropped.
fn lines_of(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
}

fn scan_file(file: &str, id: u32, text: &str) -> Scan {
    let mut scan = Scan::new(file, id);
    let (whole, cut) = crate::logs::split_cut(text);
    for (i, line) in lines_of(whole).enumerate() {
        scan.line(i + 1, line);
    }
    if cut.is_some() {
        scan.cut();
    }
    scan.finish();
    scan
}

fn vm_id_of(name: &str) -> Option<u32> {
    crate::vm::log::log_id(name)
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

    /// The send `inc` names: its log's index, the send, and `r`'s place in its `to`.
    fn send_for(&self, r: &Log, inc: &Incoming) -> Result<(usize, &Send, usize), Miss> {
        let (from, tick) = (inc.from, inc.sent_tick);
        let &si = self.index.get(&from).ok_or(Miss::NoLog)?;
        let s = &self.logs[si];
        let Some(send) = s.send_at(tick) else {
            if !s.stopped && tick > s.end_tick {
                return Err(Miss::PastEnd(si));
            }
            return Err(Miss::Bad(format!("no send at tick {tick} in {}", s.file)));
        };
        let Some(k) = send.to.iter().position(|&id| id == r.id) else {
            let to = id_list(&send.to);
            let msg = format!(
                "the send at {}:{} went to {to}, not to VM {}",
                s.file, send.line, r.id
            );
            return Err(Miss::Bad(msg));
        };
        Ok((si, send, k))
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
    for (name, text) in files {
        let Some(id) = vm_id_of(name) else {
            found.flag(name, 0, "not a machine_<id>.log file name".to_string());
            continue;
        };
        if run.index.contains_key(&id) {
            found.flag(name, 0, format!("a second log for VM {id}"));
            continue;
        }
        let scan = scan_file(name, id, text);
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
    let files: Vec<(String, String)> = crate::logs::read_run(dir)?
        .into_iter()
        .map(|f| (f.name, f.text))
        .collect();
    Ok(check(&files))
}

/// Most violations printed before the rest are only counted.
pub const SHOWN: usize = 40;

/// `lamport-sim verify DIR`: prints the causes, violations (a screenful, then
/// a count) and a summary. Exit 0 if every rule holds, 1 on violations, 2 if
/// DIR is neither a run folder nor an experiment folder. An experiment folder
/// (`run_<k>` folders and no logs of its own, as `analyze` and `export` take
/// it) gets one line per run and exits 1 if any run fails.
pub fn main(dir: &Path) -> anyhow::Result<ExitCode> {
    if crate::experiment::is_experiment(dir) {
        return Ok(main_experiment(dir));
    }
    match check_dir(dir) {
        Ok(report) => {
            print!("{}", report.render());
            Ok(exit_code(report.ok()))
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

/// One line per `run_<k>` of the experiment in `dir`, then a verdict.
fn main_experiment(dir: &Path) -> ExitCode {
    let runs = crate::experiment::run_dirs(dir);
    let mut failed = 0;
    for (k, run_dir) in &runs {
        let line = match check_dir(run_dir) {
            Ok(report) => {
                failed += usize::from(!report.ok());
                report.one_line()
            }
            Err(e) => {
                failed += 1;
                format!("FAILED: {e:#}")
            }
        };
        print!("{}", wrap(&format!("run_{k}: {line}")));
    }
    let n = runs.len();
    if failed == 0 {
        println!("verify: OK, all {n} runs pass every rule of {DOC}");
    } else {
        println!("verify: FAILED: {failed} of {n} runs");
    }
    exit_code(failed == 0)
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    const T0: i64 = 1_795_000_000_000_000;

    #[derive(Clone, Copy)]
    struct Msg {
        from: u32,
        sent_tick: u64,
        msg_clock: u64,
    }

    struct Vm {
        id: u32,
        tick: u64,
        clock: u64,
        text: String,
        lines: usize,
        queue: VecDeque<Msg>,
    }

    /// A tiny, correct, single-threaded model of a run, writing its logs
    /// through `Line::write_to`. Tests poke `tick`/`clock` or drop queued
    /// messages to break exactly one rule.
    struct Sim {
        now: i64,
        vms: Vec<Vm>,
    }

    impl Sim {
        fn new(n: u32) -> Sim {
            Sim::planned(n, 2, None)
        }

        fn planned(n: u32, rate: u32, runtime_us: Option<u64>) -> Sim {
            let vm = |id| Vm {
                id,
                tick: 0,
                clock: 0,
                text: String::new(),
                lines: 0,
                queue: VecDeque::new(),
            };
            let mut sim = Sim {
                now: T0,
                vms: (1..=n).map(vm).collect(),
            };
            for id in 1..=n {
                let info = StartInfo {
                    rate,
                    event_range: 10,
                    seed: 7,
                    peers: (1..=n).filter(|&p| p != id).collect(),
                    run: "test".into(),
                    runtime_us,
                    start_at_us: None,
                    delay_us: None,
                };
                sim.write(id, Event::Start(info));
            }
            sim
        }

        fn vm(&mut self, id: u32) -> &mut Vm {
            &mut self.vms[id as usize - 1]
        }

        /// Writes one line for VM `id`; returns its line number.
        fn write(&mut self, id: u32, event: Event) -> usize {
            self.now += 1_000;
            let line = Line {
                time_us: self.now,
                vm: id,
                event,
            };
            let vm = self.vm(id);
            line.write_to(&mut vm.text);
            vm.lines += 1;
            vm.lines
        }

        fn step(&mut self, id: u32) -> (u64, u64) {
            let vm = self.vm(id);
            vm.tick += 1;
            vm.clock += 1;
            (vm.tick, vm.clock)
        }

        fn internal(&mut self, id: u32) -> usize {
            let (tick, clock) = self.step(id);
            let queue = 0;
            self.write(id, Event::Internal { tick, clock, queue })
        }

        fn send(&mut self, id: u32, to: &[u32]) -> usize {
            let (tick, clock) = self.step(id);
            for &r in to {
                let msg = Msg {
                    from: id,
                    sent_tick: tick,
                    msg_clock: clock,
                };
                self.vm(r).queue.push_back(msg);
            }
            let (queue, to) = (0, to.to_vec());
            self.write(
                id,
                Event::Send {
                    tick,
                    clock,
                    queue,
                    to,
                },
            )
        }

        fn receive(&mut self, id: u32) -> usize {
            self.receive_nth(id, 0)
        }

        /// Receives the k-th queued message (k > 0 breaks FIFO).
        fn receive_nth(&mut self, id: u32, k: usize) -> usize {
            let vm = self.vm(id);
            let m = vm.queue.remove(k).unwrap();
            vm.tick += 1;
            vm.clock = vm.clock.max(m.msg_clock) + 1;
            let event = Event::Receive {
                tick: vm.tick,
                clock: vm.clock,
                queue: vm.queue.len() as u64,
                from: m.from,
                sent_tick: m.sent_tick,
                msg_clock: m.msg_clock,
                wait_us: 500,
            };
            self.write(id, event)
        }

        /// The k-th queued message is lost on the wire.
        fn drop_nth(&mut self, id: u32, k: usize) {
            self.vm(id).queue.remove(k);
        }

        fn peer_lost(&mut self, id: u32, peer: u32) -> usize {
            self.write(id, Event::PeerLost { peer })
        }

        fn link_down(&mut self, id: u32, peer: u32) -> usize {
            self.write(id, Event::LinkDown { peer })
        }

        fn link_up(&mut self, id: u32, peer: u32, resent: u64) -> usize {
            self.write(id, Event::LinkUp { peer, resent })
        }

        fn stop(&mut self, id: u32) -> usize {
            self.stop_for(id, StopReason::Runtime)
        }

        /// Logs the queue as pending, then stop; returns the stop's line.
        fn stop_for(&mut self, id: u32, reason: StopReason) -> usize {
            let queued: Vec<Msg> = self.vm(id).queue.drain(..).collect();
            for m in queued {
                let (from, sent_tick, msg_clock) = (m.from, m.sent_tick, m.msg_clock);
                self.write(
                    id,
                    Event::Pending {
                        from,
                        sent_tick,
                        msg_clock,
                    },
                );
            }
            let vm = self.vm(id);
            let (ticks, clock) = (vm.tick, vm.clock);
            self.write(
                id,
                Event::Stop {
                    ticks,
                    clock,
                    reason,
                },
            )
        }

        fn stop_all(&mut self) {
            for id in 1..=self.vms.len() as u32 {
                self.stop(id);
            }
        }

        fn files(&self) -> Vec<(String, String)> {
            let file = |vm: &Vm| (format!("machine_{}.log", vm.id), vm.text.clone());
            self.vms.iter().map(file).collect()
        }
    }

    enum Op {
        Internal,
        Send(&'static [u32]),
        Receive,
        Stop,
    }

    /// The base run. Lines it writes (file:line event):
    /// m1: 1 start, 2 internal t1 c1, 3 send t2 c2 to 2,3, 4 receive t3 c3
    ///     from 3 st1 mc1, 5 internal t4 c4, 6 receive t5 c5 from 2 st2 mc4,
    ///     7 send t6 c6 to 2, 8 pending from 3 st4 mc5, 9 stop 6 6
    /// m2: 1 start, 2 receive t1 c3 from 1 st2, 3 send t2 c4 to 1,3,
    ///     4 pending from 3 st4, 5 pending from 1 st6, 6 stop 2 4
    /// m3: 1 start, 2 send t1 c1 to 1, 3 receive t2 c3 from 1 st2,
    ///     4 internal t3 c4, 5 send t4 c5 to 1,2, 6 pending from 2 st2, 7 stop 4 5
    const BASE: [(u32, Op); 15] = [
        (1, Op::Internal),
        (1, Op::Send(&[2, 3])),
        (3, Op::Send(&[1])),
        (2, Op::Receive),
        (3, Op::Receive),
        (1, Op::Receive),
        (2, Op::Send(&[1, 3])),
        (1, Op::Internal),
        (3, Op::Internal),
        (1, Op::Receive),
        (3, Op::Send(&[1, 2])),
        (1, Op::Send(&[2])),
        (1, Op::Stop),
        (2, Op::Stop),
        (3, Op::Stop),
    ];

    /// The base run, calling `tweak` before each step with the step's index.
    fn base_with(mut tweak: impl FnMut(&mut Sim, usize)) -> Vec<(String, String)> {
        let mut sim = Sim::new(3);
        for (i, (id, op)) in BASE.iter().enumerate() {
            tweak(&mut sim, i);
            match op {
                Op::Internal => sim.internal(*id),
                Op::Send(to) => sim.send(*id, to),
                Op::Receive => sim.receive(*id),
                Op::Stop => sim.stop(*id),
            };
        }
        sim.files()
    }

    fn base() -> Vec<(String, String)> {
        base_with(|_, _| {})
    }

    fn text_mut<'a>(files: &'a mut [(String, String)], name: &str) -> &'a mut String {
        &mut files.iter_mut().find(|(n, _)| n == name).unwrap().1
    }

    /// Rewrites the lines of one file with `f`.
    fn with_lines(files: &mut [(String, String)], name: &str, f: impl FnOnce(&mut Vec<String>)) {
        let text = text_mut(files, name);
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        f(&mut lines);
        *text = lines.iter().map(|l| format!("{l}\n")).collect();
    }

    fn parsed(files: &mut [(String, String)], name: &str, no: usize) -> Line {
        let text = text_mut(files, name);
        Line::parse(text.lines().nth(no - 1).unwrap()).unwrap()
    }

    fn written(line: &Line) -> String {
        let mut s = String::new();
        line.write_to(&mut s);
        s.trim_end().to_string()
    }

    /// Changes line `no` (1-based) of file `name` through its parsed form.
    fn edit(files: &mut [(String, String)], name: &str, no: usize, f: impl FnOnce(&mut Line)) {
        let mut line = parsed(files, name, no);
        f(&mut line);
        let text = written(&line);
        with_lines(files, name, |lines| lines[no - 1] = text);
    }

    /// Inserts `text` so that it becomes line `no`.
    fn insert(files: &mut [(String, String)], name: &str, no: usize, text: &str) {
        with_lines(files, name, |lines| lines.insert(no - 1, text.to_string()));
    }

    /// Asserts exactly these violations, in order: (file, line, a telling
    /// word), and no cause that fails the run.
    #[track_caller]
    fn expect(report: &Report, want: &[(&str, usize, &str)]) {
        let causes: Vec<String> = report.causes.iter().map(|c| c.to_string()).collect();
        assert!(report.causes.iter().all(|c| !c.fails), "{causes:#?}");
        let got: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
        assert_eq!(report.violations.len(), want.len(), "{got:#?}");
        for (v, &(file, line, word)) in report.violations.iter().zip(want) {
            let hit = v.file == file && v.line == line && v.message.contains(word);
            assert!(hit, "expected {file}:{line} with `{word}`, got {got:#?}");
        }
    }

    #[track_caller]
    fn expect_ok(report: &Report) {
        expect(report, &[]);
        assert!(report.ok());
    }

    /// Asserts exactly these causes, in order: (file, line, a telling word
    /// in the whole text, fails), then exactly the violations `want`.
    #[track_caller]
    fn expect_causes(
        report: &Report,
        causes: &[(&str, usize, &str, bool)],
        want: &[(&str, usize, &str)],
    ) {
        let got: Vec<String> = report.causes.iter().map(|c| c.to_string()).collect();
        assert_eq!(report.causes.len(), causes.len(), "{got:#?}");
        for (c, &(file, line, word, fails)) in report.causes.iter().zip(causes) {
            let hit = c.file == file
                && c.line == line
                && c.to_string().contains(word)
                && c.fails == fails;
            assert!(
                hit,
                "expected {file}:{line} with `{word}`, fails {fails}, got {got:#?}"
            );
        }
        let without: Report = Report {
            causes: Vec::new(),
            ..report.clone()
        };
        expect(&without, want);
    }

    fn set_clock(line: &mut Line, value: u64) {
        match &mut line.event {
            Event::Internal { clock, .. }
            | Event::Send { clock, .. }
            | Event::Receive { clock, .. }
            | Event::Stop { clock, .. } => *clock = value,
            other => panic!("no clock in {other:?}"),
        }
    }

    fn set_sent(line: &mut Line, tick: u64, clock: u64) {
        match &mut line.event {
            Event::Receive {
                sent_tick,
                msg_clock,
                ..
            }
            | Event::Pending {
                sent_tick,
                msg_clock,
                ..
            } => (*sent_tick, *msg_clock) = (tick, clock),
            other => panic!("not a receive or pending: {other:?}"),
        }
    }

    // ---- a correct run ----

    #[test]
    fn a_correct_run_passes_with_right_counts() {
        let report = check(&base());
        expect_ok(&report);
        let s = &report.summary;
        assert_eq!((s.vms, s.lines), (3, 22));
        let events: Vec<u64> = KINDS.iter().map(|k| s.events[k]).collect();
        assert_eq!(events, [3, 3, 5, 4, 4, 0, 0, 0, 3]);
        assert_eq!((s.messages_sent, s.received, s.pending), (8, 4, 4));
        assert_eq!((s.lost, s.peer_lost), (0, 0));
        assert!(s.crashed.is_empty() && s.missing.is_empty() && s.lost_by.is_empty());
        assert!(report.ok());
    }

    #[test]
    fn summary_and_violation_display() {
        let report = check(&base());
        assert_eq!(
            report.summary.to_string(),
            "3 VMs, 22 lines: 3 start, 3 internal, 5 send, 4 receive, 4 pending, \
             0 peer_lost, 3 stop; crashed: none\n\
             messages: 8 sent = 4 received + 4 pending + 0 lost"
        );
        let v = Violation::new(
            "machine_2.log",
            17,
            "receive clock 9 should be max(5, 7) + 1 = 8".into(),
        );
        assert_eq!(
            v.to_string(),
            "machine_2.log:17: receive clock 9 should be max(5, 7) + 1 = 8"
        );
        assert_eq!(
            Violation::new("machine_2.log", 0, "x".into()).to_string(),
            "machine_2.log: x"
        );
        assert_eq!(Violation::new("", 0, "x".into()).to_string(), "x");
    }

    #[test]
    fn summary_display_names_losses_crashes_and_missing_logs() {
        let mut s = Sim::new(3);
        s.send(1, &[2, 3]);
        s.stop(1);
        let mut files = s.files();
        files.truncate(1);
        let text = check(&files).summary.to_string();
        assert!(
            text.ends_with(
                "crashed: none; no log: 2, 3\n\
                 messages: 2 sent = 0 received + 0 pending + 2 lost \
                 (1 to VM 2 without a log, 1 to VM 3 without a log)"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_log_without_final_newline_has_its_last_line_cut() {
        let mut files = base();
        // Even a whole stop line: the writer ends every line with a newline.
        text_mut(&mut files, "machine_2.log").pop();
        let report = check(&files);
        let cut = [("machine_2.log", 6, "last line cut short", true)];
        expect_causes(&report, &cut, &[]);
        assert!(report.causes[0].to_string().contains("VM 2 has no stop"));
        assert_eq!(report.summary.lines, 22);
    }

    // ---- causes: said first, consequences counted ----

    #[test]
    fn a_line_cut_short_is_the_one_cause_and_what_it_hides_is_counted() {
        let mut files = base();
        // m2 line 3 is its send at tick 2 to 1 and 3; cut it, and what follows.
        with_lines(&mut files, "machine_2.log", |l| l.truncate(3));
        let text = text_mut(&mut files, "machine_2.log");
        text.truncate(text.len() - 12);
        let report = check(&files);
        // m1:6 and m3:6 name that send; m1:7's message to VM 2 and m3:5's are
        // lost to the crash; m2 never recorded m1:3's, m1 and m3 recorded the rest.
        let cause = [(
            "machine_2.log",
            3,
            "2 receives and pendings name VM 2's ticks after its last logged one (1) \
             and cannot be checked (the first at machine_1.log:6); \
             2 messages to VM 2 counted as lost",
            true,
        )];
        expect_causes(&report, &cause, &[]);
        assert!(!report.ok());
        let s = &report.summary;
        assert_eq!(
            s.lost_by[&Loss {
                cause: "receiver crashed",
                vm: 2
            }],
            2
        );
        assert_eq!(
            s.messages_sent,
            s.recorded_received + s.recorded_pending + s.lost + s.unrecorded
        );
        assert_eq!(s.unmatched, 2);
        let text = report.render();
        assert!(
            text.starts_with("machine_2.log:3: last line cut short"),
            "{text}"
        );
        assert!(
            text.ends_with("verify: FAILED: 1 cause (said first), no other violation\n"),
            "{text}"
        );
    }

    #[test]
    fn what_a_cut_does_not_explain_is_still_told_after_it() {
        let mut files = base();
        with_lines(&mut files, "machine_2.log", |l| l.truncate(3));
        text_mut(&mut files, "machine_2.log").pop();
        // m3:3 receives m1's tick 2 with a wrong clock: nothing to do with VM 2.
        edit(&mut files, "machine_3.log", 3, |l| set_clock(l, 9));
        let report = check(&files);
        let cause = [("machine_2.log", 3, "cut short", true)];
        let want = [
            ("machine_3.log", 3, "receive clock 9"),
            ("machine_3.log", 4, "previous clock 9"),
        ];
        expect_causes(&report, &cause, &want);
        let text = report.render_unwrapped();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("machine_2.log:3: last line cut short"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("machine_3.log:3: receive clock 9"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_log_is_one_line_first_with_a_count() {
        let mut files = base();
        files.retain(|(name, _)| name != "machine_2.log");
        // And one independent fault, which must still be told.
        edit(&mut files, "machine_3.log", 4, |l| set_clock(l, 9));
        let report = check(&files);
        let cause = [(
            "machine_2.log",
            0,
            "machine_2.log is missing: 2 receives and pendings name VM 2 and cannot be \
             checked (the first at machine_1.log:6); 3 messages to VM 2 counted as lost",
            true,
        )];
        let want = [
            ("machine_3.log", 4, "internal clock 9"),
            ("machine_3.log", 5, "previous clock 9"),
        ];
        expect_causes(&report, &cause, &want);
        let text = report.render();
        assert!(
            text.starts_with("machine_2.log is missing: 2 receives"),
            "{text}"
        );
        assert_eq!(text.matches("VM 2 and cannot").count(), 1, "{text}");
        assert!(
            text.contains("verify: FAILED: 1 cause (said first) and 2 other violations"),
            "{text}"
        );
    }

    #[test]
    fn a_log_without_stop_is_a_note_with_its_losses() {
        let mut s = Sim::new(2);
        s.send(1, &[2]);
        s.send(1, &[2]);
        s.receive(2);
        s.stop(1);
        let report = check(&s.files());
        let note = [(
            "machine_2.log",
            0,
            "machine_2.log has no stop (VM 2 crashed or was killed after line 2): \
             1 message to VM 2 counted as lost",
            false,
        )];
        expect_causes(&report, &note, &[]);
        assert!(report.ok());
        assert!(
            report
                .render()
                .ends_with("verify: OK, every rule of docs/log-format.md holds\n")
        );
        assert_eq!(
            report.summary.messages_line(),
            "messages: 2 sent = 1 received + 0 pending + 1 lost (1 to crashed VM 2)"
        );
    }

    #[test]
    fn a_log_without_stop_that_lost_its_end_fails() {
        let mut s = Sim::new(2);
        s.send(1, &[2]);
        s.send(1, &[2]);
        s.receive(2);
        s.receive(2);
        s.stop(2);
        let mut files = s.files();
        // VM 1's log lost its last send and never got to stop: a full disk.
        with_lines(&mut files, "machine_1.log", |l| l.truncate(2));
        let report = check(&files);
        let cause = [(
            "machine_1.log",
            0,
            "no stop (VM 1 crashed or was killed after line 2): 1 receive or pending \
             names VM 1's ticks after its last logged one (1) and cannot be checked \
             (the first at machine_2.log:3)",
            true,
        )];
        expect_causes(&report, &cause, &[]);
    }

    #[test]
    fn a_log_of_another_run_is_said_first() {
        let mut files = base();
        edit(&mut files, "machine_3.log", 1, |l| {
            if let Event::Start(info) = &mut l.event {
                info.run = "other".into();
            }
        });
        let cause = [(
            "machine_3.log",
            1,
            "run=other, but 2 of 3 logs have run=test",
            true,
        )];
        expect_causes(&check(&files), &cause, &[]);
    }

    #[test]
    fn many_violations_show_a_screenful_after_the_causes() {
        let mut files = base();
        files.retain(|(name, _)| name != "machine_3.log");
        for _ in 0..SHOWN {
            with_lines(&mut files, "machine_1.log", |l| l.push(l[1].clone()));
        }
        let report = check(&files);
        let text = report.render_unwrapped();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("machine_3.log is missing"), "{text}");
        assert!(
            lines[1..=SHOWN]
                .iter()
                .all(|l| l.starts_with("machine_1.log:")),
            "{text}"
        );
        assert!(lines[SHOWN + 1].starts_with("... and "), "{text}");
    }

    #[test]
    fn one_line_for_an_experiment_names_the_first_cause() {
        let mut files = base();
        files.retain(|(name, _)| name != "machine_2.log");
        let report = check(&files);
        assert_eq!(
            report.one_line(),
            "FAILED: 1 violation; first: machine_2.log is missing"
        );
        let ok = check(&base()).one_line();
        assert_eq!(ok, "OK, 3 VMs, 22 lines, 8 messages sent, 0 lost");
    }

    // ---- rule 1: shape ----

    #[test]
    fn an_unparseable_line_is_told_and_the_file_still_checked() {
        let mut files = base();
        insert(&mut files, "machine_2.log", 3, "this is not logfmt");
        edit(&mut files, "machine_2.log", 7, |l| set_clock(l, 9));
        let report = check(&files);
        expect(
            &report,
            &[
                ("machine_2.log", 3, "cannot parse"),
                ("machine_2.log", 7, "stop clock=9"),
            ],
        );
        assert_eq!(report.summary.lines, 23);
    }

    #[test]
    fn a_blank_line_is_unparseable() {
        let mut files = base();
        insert(&mut files, "machine_3.log", 4, "");
        expect(&check(&files), &[("machine_3.log", 4, "cannot parse")]);
    }

    #[test]
    fn the_first_line_must_be_start() {
        let mut files = base();
        with_lines(&mut files, "machine_1.log", |l| {
            l.remove(0);
        });
        expect(
            &check(&files),
            &[("machine_1.log", 1, "first line is internal")],
        );
    }

    #[test]
    fn an_empty_log_is_a_violation() {
        let mut files = base();
        text_mut(&mut files, "machine_3.log").clear();
        let report = check(&files);
        assert!(
            report
                .violations
                .iter()
                .any(|v| v.file == "machine_3.log" && v.line == 0 && v.message.contains("empty"))
        );
    }

    #[test]
    fn a_second_start_is_a_violation() {
        let mut files = base();
        let start = written(&parsed(&mut files, "machine_2.log", 1));
        insert(&mut files, "machine_2.log", 2, &start);
        expect(&check(&files), &[("machine_2.log", 2, "second start")]);
    }

    #[test]
    fn the_vm_field_must_match_the_file_name() {
        let mut files = base();
        edit(&mut files, "machine_3.log", 4, |l| l.vm = 2);
        expect(&check(&files), &[("machine_3.log", 4, "vm=2")]);
    }

    #[test]
    fn nothing_may_follow_stop() {
        let mut files = base();
        let mut late = parsed(&mut files, "machine_1.log", 9);
        late.time_us += 1;
        late.event = Event::PeerLost { peer: 2 };
        insert(&mut files, "machine_1.log", 10, &written(&late));
        insert(&mut files, "machine_1.log", 11, &written(&late));
        expect(&check(&files), &[("machine_1.log", 10, "after stop")]);
    }

    #[test]
    fn a_second_stop_is_a_violation() {
        let mut files = base();
        let stop = written(&parsed(&mut files, "machine_1.log", 9));
        insert(&mut files, "machine_1.log", 10, &stop);
        expect(&check(&files), &[("machine_1.log", 10, "second stop")]);
    }

    #[test]
    fn pending_must_come_after_the_last_tick() {
        let mut files = base();
        // Swap m1's send (line 7) and pending (line 8), keeping the times in place.
        let (mut send, mut pending) = (
            parsed(&mut files, "machine_1.log", 7),
            parsed(&mut files, "machine_1.log", 8),
        );
        std::mem::swap(&mut send.time_us, &mut pending.time_us);
        let (send, pending) = (written(&send), written(&pending));
        with_lines(&mut files, "machine_1.log", |l| {
            (l[6], l[7]) = (pending, send)
        });
        expect(
            &check(&files),
            &[("machine_1.log", 7, "pending before the send at line 8")],
        );
    }

    #[test]
    fn file_names_must_be_machine_id_log() {
        let mut files = base();
        let text = files[0].1.clone();
        files.push(("notes.txt".into(), text.clone()));
        files.push(("machine_01.log".into(), text.clone()));
        files.push(("machine_1.log".into(), text));
        let report = check(&files);
        let want = [
            ("machine_01.log", 0, "not a machine_<id>.log"),
            ("notes.txt", 0, "not a machine"),
            ("machine_1.log", 0, "second log for VM 1"),
        ];
        expect(&report, &want);
        assert_eq!(report.summary.vms, 3);
    }

    #[test]
    fn no_logs_is_not_a_pass() {
        let report = check(&[]);
        assert!(!report.ok());
        assert!(report.violations[0].message.contains("no machine_"));
    }

    // ---- rule 2: ticks and time ----

    #[test]
    fn a_tick_gap_is_told_once() {
        let mut s = Sim::new(2);
        s.internal(1);
        s.vm(1).tick += 1;
        let gap = s.internal(1);
        s.internal(1);
        s.stop(1);
        s.stop(2);
        expect(
            &check(&s.files()),
            &[("machine_1.log", gap, "tick 3 should be 2")],
        );
    }

    #[test]
    fn a_repeated_tick_is_told() {
        let mut s = Sim::new(2);
        s.internal(1);
        s.vm(1).tick -= 1;
        let again = s.internal(1);
        s.stop(1);
        s.stop(2);
        expect(
            &check(&s.files()),
            &[("machine_1.log", again, "tick 1 should be 2")],
        );
    }

    #[test]
    fn time_must_not_go_backwards() {
        let mut files = base();
        edit(&mut files, "machine_2.log", 3, |l| l.time_us = T0);
        expect(&check(&files), &[("machine_2.log", 3, "before")]);
    }

    // ---- rule 3: clocks ----

    #[test]
    fn an_internal_clock_must_be_previous_plus_one() {
        let files = base_with(|sim, step| {
            if step == 7 {
                sim.vm(1).clock += 1;
            }
        });
        let want = "internal clock 5 should be previous clock 3 + 1 = 4";
        expect(&check(&files), &[("machine_1.log", 5, want)]);
    }

    #[test]
    fn a_send_clock_must_be_previous_plus_one() {
        let files = base_with(|sim, step| {
            if step == 11 {
                sim.vm(1).clock += 1;
            }
        });
        expect(
            &check(&files),
            &[(
                "machine_1.log",
                7,
                "send clock 7 should be previous clock 5 + 1 = 6",
            )],
        );
    }

    #[test]
    fn a_receive_clock_must_be_max_plus_one() {
        let files = base_with(|sim, step| {
            if step == 9 {
                sim.vm(1).clock += 2;
            }
        });
        expect(
            &check(&files),
            &[(
                "machine_1.log",
                6,
                "receive clock 7 should be max(4, 4) + 1 = 5",
            )],
        );
    }

    #[test]
    fn internal_queue_must_be_zero() {
        let mut files = base();
        edit(&mut files, "machine_3.log", 4, |l| {
            l.event = Event::Internal {
                tick: 3,
                clock: 4,
                queue: 3,
            }
        });
        expect(
            &check(&files),
            &[("machine_3.log", 4, "queue 3 should be 0")],
        );
    }

    #[test]
    fn stop_clock_must_be_the_last_clock() {
        let mut files = base();
        edit(&mut files, "machine_2.log", 6, |l| set_clock(l, 5));
        expect(
            &check(&files),
            &[(
                "machine_2.log",
                6,
                "stop clock=5 should be the last tick event's clock, 4",
            )],
        );
    }

    #[test]
    fn stop_ticks_must_be_the_last_tick() {
        let mut files = base();
        edit(&mut files, "machine_2.log", 6, |l| {
            l.event = Event::Stop {
                ticks: 3,
                clock: 4,
                reason: StopReason::Runtime,
            }
        });
        expect(
            &check(&files),
            &[(
                "machine_2.log",
                6,
                "stop ticks=3 should be the last tick, 2",
            )],
        );
    }

    // ---- rule 4: matching ----

    #[test]
    fn a_wrong_msg_clock_is_told() {
        let mut files = base();
        edit(&mut files, "machine_1.log", 4, |l| set_sent(l, 1, 2));
        expect(
            &check(&files),
            &[(
                "machine_1.log",
                4,
                "msg_clock 2 but the send at machine_3.log:2 carries clock 1",
            )],
        );
    }

    #[test]
    fn a_receive_must_name_a_send() {
        let mut files = base();
        // VM 3's tick 2 is a receive; its real message of tick 1 is then unrecorded.
        edit(&mut files, "machine_1.log", 4, |l| set_sent(l, 2, 1));
        let want = [
            ("machine_1.log", 4, "no send at tick 2 in machine_3.log"),
            ("machine_3.log", 2, "never recorded"),
        ];
        expect(&check(&files), &want);
    }

    #[test]
    fn a_receive_must_name_a_send_to_this_vm() {
        let mut s = Sim::new(3);
        for _ in 0..3 {
            s.internal(3);
        }
        s.send(1, &[2]);
        let to_three = s.send(1, &[3]);
        s.receive(2);
        let wrong = s.receive(3);
        s.stop_all();
        let mut files = s.files();
        edit(&mut files, "machine_3.log", wrong, |l| set_sent(l, 1, 1));
        let want = [
            ("machine_1.log", to_three, "never recorded"),
            ("machine_3.log", wrong, "went to 2, not to VM 3"),
        ];
        expect(&check(&files), &want);
    }

    #[test]
    fn from_must_be_a_peer() {
        let mut s = Sim::new(3);
        s.send(1, &[2]);
        let got = s.receive(2);
        s.stop_all();
        let mut files = s.files();
        edit(&mut files, "machine_2.log", 1, |l| {
            if let Event::Start(info) = &mut l.event {
                info.peers = vec![3];
            }
        });
        expect(
            &check(&files),
            &[("machine_2.log", got, "from=1 is not one of this VM's peers")],
        );
    }

    #[test]
    fn a_send_goes_only_to_peers() {
        let mut s = Sim::new(3);
        let send = s.send(1, &[2, 3]);
        s.receive(2);
        s.receive(3);
        s.stop_all();
        let mut files = s.files();
        edit(&mut files, "machine_1.log", 1, |l| {
            if let Event::Start(info) = &mut l.event {
                info.peers = vec![2];
            }
        });
        expect(
            &check(&files),
            &[("machine_1.log", send, "names VM 3, which is not a peer")],
        );
    }

    #[test]
    fn a_send_names_each_vm_once() {
        let mut files = base();
        edit(&mut files, "machine_1.log", 7, |l| {
            l.event = Event::Send {
                tick: 6,
                clock: 6,
                queue: 0,
                to: vec![2, 2],
            }
        });
        // The second message to VM 2 is also never recorded.
        let want = [
            ("machine_1.log", 7, "names a VM twice"),
            ("machine_1.log", 7, "never recorded"),
        ];
        expect(&check(&files), &want);
    }

    #[test]
    fn a_missing_sender_log_fails_its_receives() {
        let mut files = base();
        files.retain(|(name, _)| name != "machine_2.log");
        let report = check(&files);
        let cause = [(
            "machine_2.log",
            0,
            "2 receives and pendings name VM 2",
            true,
        )];
        expect_causes(&report, &cause, &[]);
        assert_eq!(report.summary.lost, 3);
        assert_eq!(report.summary.lost_for("no receiver log"), 3);
        assert_eq!(report.summary.missing, [2]);
    }

    #[test]
    fn a_peer_without_a_log_is_only_a_note() {
        let mut s = Sim::new(3);
        s.send(1, &[2, 3]);
        s.receive(2);
        s.stop(1);
        s.stop(2);
        let mut files = s.files();
        files.truncate(2);
        let report = check(&files);
        expect_ok(&report);
        assert_eq!(
            (report.summary.lost, report.summary.missing.as_slice()),
            (1, &[3][..])
        );
    }

    #[test]
    fn a_pending_may_not_repeat_a_receive() {
        let mut files = base();
        let mut dup = parsed(&mut files, "machine_2.log", 4);
        dup.event = Event::Pending {
            from: 1,
            sent_tick: 2,
            msg_clock: 2,
        };
        insert(&mut files, "machine_2.log", 4, &written(&dup));
        expect(
            &check(&files),
            &[("machine_2.log", 4, "recorded twice (first at line 2")],
        );
    }

    #[test]
    fn a_message_is_received_once() {
        let mut s = Sim::new(2);
        s.send(1, &[2]);
        let second = s.send(1, &[2]);
        for _ in 0..3 {
            s.internal(2);
        }
        let first = s.receive(2);
        let dup = s.receive(2);
        s.stop(1);
        s.stop(2);
        let mut files = s.files();
        edit(&mut files, "machine_2.log", dup, |l| set_sent(l, 1, 1));
        let twice = format!("recorded twice (first at line {first}");
        let want = [
            ("machine_1.log", second, "never recorded"),
            ("machine_2.log", dup, twice.as_str()),
        ];
        expect(&check(&files), &want);
    }

    #[test]
    fn one_peers_messages_come_in_order() {
        let mut s = Sim::new(2);
        s.send(1, &[2]);
        s.send(1, &[2]);
        s.receive_nth(2, 1);
        let late = s.receive(2);
        s.stop(1);
        s.stop(2);
        expect(
            &check(&s.files()),
            &[("machine_2.log", late, "tick 1 comes after its tick 2")],
        );
    }

    // ---- rule 5: accounting ----

    /// VM 1 sends two messages to VM 2; the second is lost on the wire.
    fn lose_second(s: &mut Sim) -> usize {
        s.send(1, &[2]);
        let second = s.send(1, &[2]);
        s.drop_nth(2, 1);
        s.receive(2);
        second
    }

    #[test]
    fn a_message_to_a_clean_stopper_must_be_recorded() {
        let mut s = Sim::new(2);
        let second = lose_second(&mut s);
        s.stop(1);
        s.stop(2);
        let report = check(&s.files());
        expect(
            &report,
            &[(
                "machine_1.log",
                second,
                "message of tick 2 to VM 2 never recorded there",
            )],
        );
        assert_eq!(report.summary.lost, 0);
    }

    #[test]
    fn a_skipped_message_is_told_even_if_the_receiver_crashed() {
        let mut s = Sim::new(2);
        let first = s.send(1, &[2]);
        s.send(1, &[2]);
        s.drop_nth(2, 0);
        s.receive(2);
        s.stop(1);
        expect(
            &check(&s.files()),
            &[("machine_1.log", first, "though the one of tick 2 was")],
        );
    }

    #[test]
    fn a_crashed_receiver_excuses_the_tail() {
        let mut s = Sim::new(2);
        s.send(1, &[2]);
        s.send(1, &[2]);
        s.receive(2);
        s.stop(1);
        let report = check(&s.files());
        expect_ok(&report);
        assert_eq!(
            (report.summary.lost, report.summary.crashed.as_slice()),
            (1, &[2][..])
        );
        assert_eq!(report.summary.lost_for("receiver crashed"), 1);
    }

    #[test]
    fn a_crashed_sender_excuses_the_tail() {
        let mut s = Sim::new(2);
        lose_second(&mut s);
        s.stop(2);
        let report = check(&s.files());
        expect_ok(&report);
        assert_eq!(
            (report.summary.lost, report.summary.crashed.as_slice()),
            (1, &[1][..])
        );
        assert_eq!(report.summary.lost_for("sender crashed"), 1);
    }

    #[test]
    fn the_senders_peer_lost_excuses_nothing() {
        let mut s = Sim::new(2);
        s.send(1, &[2]);
        s.peer_lost(1, 2);
        let second = s.send(1, &[2]);
        s.drop_nth(2, 1);
        s.receive(2);
        s.stop(1);
        s.stop(2);
        let report = check(&s.files());
        let word =
            "VM 1's message of tick 2 to VM 2 never recorded there, though VM 2 stopped cleanly";
        expect(&report, &[("machine_1.log", second, word)]);
        assert_eq!((report.summary.lost, report.summary.unrecorded), (0, 1));
        assert_eq!(report.summary.peer_lost, 1);
    }

    #[test]
    fn the_senders_late_peer_lost_excuses_nothing() {
        let mut s = Sim::new(2);
        let second = lose_second(&mut s);
        s.peer_lost(1, 2);
        s.stop(1);
        s.stop(2);
        expect(
            &check(&s.files()),
            &[("machine_1.log", second, "never recorded")],
        );
    }

    #[test]
    fn the_receivers_peer_lost_excuses_nothing() {
        let mut s = Sim::new(2);
        let second = lose_second(&mut s);
        s.peer_lost(2, 1);
        s.stop(1);
        s.stop(2);
        let report = check(&s.files());
        expect(
            &report,
            &[("machine_1.log", second, "though VM 2 stopped cleanly")],
        );
        assert_eq!(report.summary.lost, 0);
        assert!(
            report
                .summary
                .messages_line()
                .ends_with("+ 1 never recorded")
        );
    }

    #[test]
    fn each_unexcused_loss_is_told_at_its_send() {
        // A whole tail lost between two clean stoppers: one violation each.
        let mut s = Sim::new(3);
        s.send(1, &[2]);
        s.receive(2);
        let a = s.send(1, &[2, 3]);
        let b = s.send(1, &[2]);
        s.drop_nth(2, 0);
        s.drop_nth(2, 0);
        s.link_down(1, 2);
        s.peer_lost(1, 2);
        s.stop_all();
        let report = check(&s.files());
        expect(
            &report,
            &[
                ("machine_1.log", a, "of tick 2 to VM 2"),
                ("machine_1.log", b, "of tick 3 to VM 2"),
            ],
        );
        let line = report.summary.messages_line();
        assert_eq!(
            line,
            "messages: 4 sent = 1 received + 1 pending + 0 lost + 2 never recorded"
        );
    }

    #[test]
    fn a_crashed_receiver_still_excuses_after_a_peer_lost() {
        // The crash is the cause, whatever peer_lost lines say.
        let mut s = Sim::new(2);
        s.send(1, &[2]);
        s.send(1, &[2]);
        s.receive(2);
        s.link_down(1, 2);
        s.peer_lost(1, 2);
        s.stop(1);
        let report = check(&s.files());
        expect_ok(&report);
        assert_eq!(report.summary.lost_for("receiver crashed"), 1);
        assert_eq!(
            report.summary.messages_line(),
            "messages: 2 sent = 1 received + 0 pending + 1 lost (1 to crashed VM 2)"
        );
    }

    // ---- link events ----

    #[test]
    fn link_events_that_alternate_pass_and_are_summed_up() {
        let mut s = Sim::new(3);
        s.link_down(1, 2);
        s.send(1, &[2, 3]);
        s.link_up(1, 2, 1);
        s.link_down(2, 1);
        s.link_up(2, 1, 0);
        s.link_down(1, 2);
        s.link_up(1, 2, 4);
        s.link_down(3, 1);
        s.stop_all();
        let report = check(&s.files());
        expect_ok(&report);
        let sum = &report.summary;
        assert_eq!((sum.link_down, sum.link_up, sum.resent), (4, 3, 5));
        assert_eq!(
            sum.links_line().as_deref(),
            Some("links: 4 broke, 3 healed, 5 messages resent")
        );
        let text = sum.to_string();
        assert!(!text.contains("link_down"), "{text}");
        assert!(text.ends_with("\nlinks: 4 broke, 3 healed, 5 messages resent"));
        assert_eq!(check(&base()).summary.links_line(), None);
    }

    #[test]
    fn a_peer_lost_may_follow_a_link_down() {
        let mut s = Sim::new(2);
        s.link_down(1, 2);
        s.peer_lost(1, 2);
        let up = s.link_up(1, 2, 0);
        s.stop_all();
        // Given up: the link is not down any more, so no link_up may follow.
        let report = check(&s.files());
        expect(&report, &[("machine_1.log", up, "without a link_down")]);
    }

    #[test]
    fn a_link_up_needs_a_link_down_before_it() {
        let mut s = Sim::new(2);
        let up = s.link_up(2, 1, 0);
        s.link_down(2, 1);
        s.link_up(2, 1, 0);
        let again = s.link_up(2, 1, 0);
        s.stop_all();
        expect(
            &check(&s.files()),
            &[
                (
                    "machine_2.log",
                    up,
                    "link_up for VM 1 without a link_down before it",
                ),
                (
                    "machine_2.log",
                    again,
                    "link_up for VM 1 without a link_down",
                ),
            ],
        );
    }

    #[test]
    fn two_link_downs_need_a_link_up_between() {
        let mut s = Sim::new(3);
        let first = s.link_down(1, 3);
        s.link_down(1, 2);
        let second = s.link_down(1, 3);
        s.stop_all();
        let word = format!("link_down for VM 3, whose link is down since line {first}");
        expect(&check(&s.files()), &[("machine_1.log", second, &word)]);
    }

    #[test]
    fn a_link_event_names_a_peer() {
        let mut s = Sim::new(3);
        let down = s.link_down(1, 4);
        let up = s.link_up(1, 1, 0);
        s.stop_all();
        expect(
            &check(&s.files()),
            &[
                (
                    "machine_1.log",
                    down,
                    "link_down names VM 4, which is not a peer (peers: 2, 3)",
                ),
                (
                    "machine_1.log",
                    up,
                    "link_up names VM 1, which is not a peer",
                ),
            ],
        );
    }

    #[test]
    fn link_events_excuse_nothing() {
        let mut s = Sim::new(2);
        let second = lose_second(&mut s);
        s.link_down(1, 2);
        s.link_up(1, 2, 1);
        s.stop_all();
        expect(
            &check(&s.files()),
            &[("machine_1.log", second, "though VM 2 stopped cleanly")],
        );
    }

    #[test]
    fn what_verify_prints_fits_in_80_columns() {
        // Long causes, long violations and a long summary, all wrapped.
        let mut s = Sim::new(12);
        for id in 1..=12 {
            let to: Vec<u32> = (1..=12).filter(|&p| p != id).collect();
            s.send(id, &to);
        }
        s.drop_nth(2, 0);
        s.send(1, &[2]);
        s.receive(2);
        s.link_down(3, 4);
        s.stop_all();
        let mut files = s.files();
        files.remove(11);
        let report = check(&files);
        assert!(!report.ok());
        let text = report.render();
        let wide: Vec<&str> = text
            .lines()
            .filter(|l| l.chars().count() > crate::text::WIDTH)
            .collect();
        assert!(wide.is_empty(), "{text}");
        // Nothing is lost by wrapping: each cause and violation is a line
        // and its indented continuation lines.
        let unwrapped = report.render_unwrapped();
        assert!(unwrapped.lines().any(|l| l.chars().count() > 80));
        let words = |t: &str| t.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(words(&text), words(&unwrapped));
        let heads = text.lines().filter(|l| !l.starts_with("  ")).count();
        assert_eq!(heads, unwrapped.lines().count(), "{text}");
    }

    #[test]
    fn a_long_summary_breaks_between_items() {
        let mut sum = check(&base()).summary;
        sum.crashed = (1..=60).collect();
        sum.missing = (61..=90).collect();
        let cause = "receiver crashed";
        sum.lost_by = (1..=20).map(|vm| (Loss { cause, vm }, 1_000)).collect();
        sum.link_down = 3;
        let text = sum.wrapped();
        assert!(crate::text::max_width(&text) <= 80, "{text}");
        let words = |t: &str| t.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(words(&text), words(&sum.to_string()));
        // Never inside an item: no line starts with the kind of a count.
        assert!(
            text.lines()
                .all(|l| !l.trim_start().starts_with("peer_lost")),
            "{text}"
        );
        let second = text.lines().nth(1).unwrap_or_default();
        assert!(second.starts_with("  3 stop; crashed: 1, 2, 3,"), "{text}");
        assert_eq!(text.lines().filter(|l| !l.starts_with("  ")).count(), 3);
    }

    // ---- rule 6: tick count ----

    /// VM 1 makes `ticks` ticks then stops with `reason`; VM 2 makes none.
    fn tick_run(
        rate: u32,
        runtime_us: Option<u64>,
        ticks: u64,
        reason: StopReason,
    ) -> (Report, usize) {
        let mut s = Sim::planned(2, rate, runtime_us);
        for _ in 0..ticks {
            s.internal(1);
        }
        let stop = s.stop_for(1, reason);
        s.stop_for(2, StopReason::Signal);
        (check(&s.files()), stop)
    }

    #[test]
    fn tick_count_allows_one_either_way() {
        for ticks in [5, 6, 7] {
            expect_ok(&tick_run(2, Some(3_000_000), ticks, StopReason::Runtime).0);
        }
        for ticks in [4, 8] {
            let (report, stop) = tick_run(2, Some(3_000_000), ticks, StopReason::Runtime);
            expect(
                &report,
                &[("machine_1.log", stop, "rate 2 * runtime 3 s makes 6 ticks")],
            );
        }
    }

    #[test]
    fn tick_count_rounds_up() {
        // 3 * 2.5 = 7.5, so 8 ticks: 9 passes, 6 does not.
        expect_ok(&tick_run(3, Some(2_500_000), 9, StopReason::Runtime).0);
        let (report, stop) = tick_run(3, Some(2_500_000), 6, StopReason::Runtime);
        expect(
            &report,
            &[("machine_1.log", stop, "runtime 2.5 s makes 8 ticks")],
        );
    }

    #[test]
    fn tick_count_needs_runtime_and_a_runtime_stop() {
        expect_ok(&tick_run(2, None, 1, StopReason::Runtime).0);
        expect_ok(&tick_run(2, Some(3_000_000), 1, StopReason::Signal).0);
        expect_ok(&tick_run(2, Some(3_000_000), 1, StopReason::Error).0);
    }

    // ---- the IO edge ----

    #[test]
    fn check_dir_reads_only_machine_logs() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in base() {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        std::fs::write(dir.path().join("machine_x.log"), "junk").unwrap();
        let report = check_dir(dir.path()).unwrap();
        expect_ok(&report);
        assert_eq!(report.summary.vms, 3);
    }

    #[test]
    fn check_dir_errors_name_the_folder_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("no machine_*.log") && err.contains(&dir.path().display().to_string()),
            "{err}"
        );
        let gone = dir.path().join("gone");
        let err = check_dir(&gone).unwrap_err().to_string();
        assert!(err.contains("gone"), "{err}");
        std::fs::write(dir.path().join("machine_1.log"), b"time=\xff\n").unwrap();
        let err = check_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("machine_1.log") && err.contains("UTF-8"),
            "{err}"
        );
    }

    // ---- speed ----

    /// A correct 3-VM run of about `lines` lines, following the model's rolls.
    fn big_run(lines: usize) -> Vec<(String, String)> {
        let mut s = Sim::new(3);
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        while s.vms.iter().map(|v| v.lines).sum::<usize>() < lines {
            for id in 1..=3u32 {
                if !s.vm(id).queue.is_empty() {
                    s.receive(id);
                    continue;
                }
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let peers: Vec<u32> = (1..=3).filter(|&p| p != id).collect();
                match rng % 10 {
                    0 => s.send(id, &peers[..1]),
                    1 => s.send(id, &peers[1..]),
                    2 => s.send(id, &peers),
                    _ => s.internal(id),
                };
            }
        }
        s.stop_all();
        s.files()
    }

    #[test]
    fn a_generated_run_passes() {
        let report = check(&big_run(3_000));
        expect_ok(&report);
        assert!(report.summary.received > 100);
    }

    #[test]
    #[ignore = "timing: cargo test --release -- --ignored --nocapture"]
    fn a_million_lines_check_fast() {
        let files = big_run(1_000_000);
        let t = std::time::Instant::now();
        let report = check(&files);
        let elapsed = t.elapsed();
        expect_ok(&report);
        println!("{} in {elapsed:?}", report.summary);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// One step of a random history: which VM acts, and how.
        #[derive(Debug, Clone)]
        enum Act {
            Internal(u32),
            /// Send from a VM to the peers picked by a bit mask (at least one).
            Send(u32, u32),
            Receive(u32),
        }

        fn act(n: u32) -> impl Strategy<Value = Act> {
            prop_oneof![
                (1..=n).prop_map(Act::Internal),
                (1..=n, 1..(1u32 << n)).prop_map(|(id, mask)| Act::Send(id, mask)),
                (1..=n).prop_map(Act::Receive),
            ]
        }

        fn history() -> impl Strategy<Value = (u32, Vec<Act>)> {
            (2..=5u32).prop_flat_map(|n| (Just(n), prop::collection::vec(act(n), 0..120)))
        }

        /// Plays a history through the clock rules; messages left queued end as `pending`.
        fn play(n: u32, acts: &[Act]) -> Sim {
            let mut sim = Sim::new(n);
            for a in acts {
                match *a {
                    Act::Internal(id) => {
                        sim.internal(id);
                    }
                    Act::Send(id, mask) => {
                        let to: Vec<u32> = (1..=n)
                            .filter(|&p| p != id && mask & (1 << (p - 1)) != 0)
                            .collect();
                        if to.is_empty() {
                            sim.internal(id);
                        } else {
                            sim.send(id, &to);
                        }
                    }
                    Act::Receive(id) => {
                        if !sim.vm(id).queue.is_empty() {
                            sim.receive(id);
                        }
                    }
                }
            }
            sim.stop_all();
            sim
        }

        /// What a corruption changes in one line.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Field {
            /// The clock of a tick line.
            Clock,
            /// `sent_tick` of a receive or pending.
            SentTick,
            /// `msg_clock` of a receive or pending.
            MsgClock,
            /// `from` of a receive or pending, to another VM of the run.
            From,
        }

        /// Adds `delta` to `field` of one line picked among the lines that
        /// have it, in any file but `not_in`; returns (file index, 1-based
        /// line), or `None` when no line fits or the value would go below 0.
        fn corrupt(
            files: &mut [(String, String)],
            not_in: Option<usize>,
            pick: prop::sample::Index,
            delta: i64,
            field: Field,
        ) -> Option<(usize, usize)> {
            let key = if field == Field::Clock {
                " tick="
            } else {
                " sent_tick="
            };
            let fits: Vec<(usize, usize)> = files
                .iter()
                .enumerate()
                .filter(|(f, _)| Some(*f) != not_in)
                .flat_map(|(f, (_, text))| {
                    let lines = text.lines().enumerate();
                    lines
                        .filter(|(_, l)| l.contains(key))
                        .map(move |(i, _)| (f, i))
                })
                .collect();
            if fits.is_empty() {
                return None;
            }
            let (f, i) = fits[pick.index(fits.len())];
            let n = files.len() as i64;
            let mut lines: Vec<String> = files[f].1.lines().map(String::from).collect();
            let mut line = Line::parse(&lines[i]).ok()?;
            let value = match (&mut line.event, field) {
                (
                    Event::Internal { clock, .. }
                    | Event::Send { clock, .. }
                    | Event::Receive { clock, .. },
                    Field::Clock,
                ) => clock,
                (
                    Event::Receive { sent_tick, .. } | Event::Pending { sent_tick, .. },
                    Field::SentTick,
                ) => sent_tick,
                (
                    Event::Receive { msg_clock, .. } | Event::Pending { msg_clock, .. },
                    Field::MsgClock,
                ) => msg_clock,
                (Event::Receive { from, .. } | Event::Pending { from, .. }, Field::From) => {
                    // Another VM of the run, never the receiver itself.
                    let me = i64::from(line.vm);
                    let mut to = (i64::from(*from) - 1 + delta).rem_euclid(n) + 1;
                    if to == me || to == i64::from(*from) {
                        to = (to % n) + 1;
                    }
                    if to == me || to == i64::from(*from) {
                        return None;
                    }
                    *from = to as u32;
                    return Some(rewrite(files, f, i, &mut lines, &line));
                }
                _ => return None,
            };
            let new = *value as i64 + delta;
            if new < 0 {
                return None;
            }
            *value = new as u64;
            Some(rewrite(files, f, i, &mut lines, &line))
        }

        fn rewrite(
            files: &mut [(String, String)],
            f: usize,
            i: usize,
            lines: &mut [String],
            line: &Line,
        ) -> (usize, usize) {
            lines[i] = written(line);
            files[f].1 = lines.join("\n") + "\n";
            (f, i + 1)
        }

        fn told_at(report: &Report, file: &str, line: usize) -> bool {
            report
                .violations
                .iter()
                .any(|v| v.file == file && v.line == line)
        }

        fn texts(report: &Report) -> Vec<String> {
            let causes = report.causes.iter().map(ToString::to_string);
            causes
                .chain(report.violations.iter().map(ToString::to_string))
                .collect()
        }

        /// Every message sent ended one way: the summary's arithmetic holds.
        fn adds_up(s: &Summary) -> bool {
            s.messages_sent == s.recorded_received + s.recorded_pending + s.lost + s.unrecorded
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn every_history_that_follows_the_rules_verifies((n, acts) in history()) {
                let report = check(&play(n, &acts).files());
                prop_assert!(report.ok(), "{:?}", texts(&report));
                prop_assert!(report.causes.is_empty(), "{:?}", texts(&report));
                prop_assert!(adds_up(&report.summary));
            }

            #[test]
            fn any_single_corrupted_clock_is_caught(
                (n, acts) in history(),
                pick in any::<prop::sample::Index>(),
                delta in prop_oneof![-5i64..=-1, 1i64..=5],
            ) {
                let mut files = play(n, &acts).files();
                let at = corrupt(&mut files, None, pick, delta, Field::Clock);
                let Some((f, no)) = at else { return Ok(()) };
                let report = check(&files);
                prop_assert!(!report.ok());
                prop_assert!(report.causes.is_empty(), "{:?}", texts(&report));
                prop_assert!(told_at(&report, &files[f].0, no), "{:?}", texts(&report));
                prop_assert!(adds_up(&report.summary));
            }

            #[test]
            fn any_single_corrupted_message_is_caught(
                (n, acts) in history(),
                pick in any::<prop::sample::Index>(),
                delta in prop_oneof![-3i64..=-1, 1i64..=3],
                field in prop_oneof![Just(Field::SentTick), Just(Field::MsgClock), Just(Field::From)],
            ) {
                let mut files = play(n, &acts).files();
                let at = corrupt(&mut files, None, pick, delta, field);
                let Some((f, no)) = at else { return Ok(()) };
                let report = check(&files);
                // Every log is whole and stopped: nothing may be grouped away.
                prop_assert!(!report.ok(), "{:?}", texts(&report));
                prop_assert!(report.causes.is_empty(), "{:?}", texts(&report));
                // A send's clock is its VM's, which grows with its tick: a
                // changed sent_tick names a send with another clock, if any.
                if field != Field::From {
                    prop_assert!(told_at(&report, &files[f].0, no), "{:?}", texts(&report));
                }
                prop_assert!(adds_up(&report.summary));
            }

            #[test]
            fn a_cut_or_removed_log_is_said_first_and_hides_no_other_fault(
                (n, acts) in history(),
                damaged in any::<prop::sample::Index>(),
                cut_at in any::<prop::sample::Index>(),
                remove in any::<bool>(),
                pick in any::<prop::sample::Index>(),
                delta in prop_oneof![-5i64..=-1, 1i64..=5],
            ) {
                let mut files = play(n, &acts).files();
                let b = damaged.index(files.len());
                let name = files[b].0.clone();
                let fault = corrupt(&mut files, Some(b), pick, delta, Field::Clock);
                let mut cut_line = 0;
                if remove {
                    files.remove(b);
                } else {
                    let text = &mut files[b].1;
                    let p = cut_at.index(text.len() - 1);
                    text.truncate(p);
                    if !text.is_empty() && !text.ends_with('\n') {
                        cut_line = text.matches('\n').count() + 1;
                    }
                }
                let report = check(&files);
                let first = report.causes.first();
                prop_assert!(first.is_some_and(|c| c.file == name), "{:?}", texts(&report));
                prop_assert_eq!(report.causes.len(), 1, "{:?}", texts(&report));
                if cut_line > 0 {
                    let c = &report.causes[0];
                    prop_assert!(c.fails && c.line == cut_line, "{:?}", texts(&report));
                }
                if let Some((f, no)) = fault {
                    let f = if remove && f > b { f - 1 } else { f };
                    prop_assert!(told_at(&report, &files[f].0, no), "{:?}", texts(&report));
                }
                prop_assert!(adds_up(&report.summary));
            }
        }
    }
}
