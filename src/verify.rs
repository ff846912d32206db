//! `verify`: holds one run's logs to the rules of `docs/log-format.md`
//! (section 4) and reports every violation with its file and line. It owns
//! the rules and their wording; the log format itself belongs to
//! [`crate::logline`].
//!
//! [`check`] is pure (file name and text in, [`Report`] out); [`check_dir`] is
//! the thin IO edge that reads a run folder.
//!
//! How it works, in three passes that each touch a line at most once:
//! 1. Each file is parsed once. That pass checks the rules local to one file
//!    (shape, ticks, time, clocks, tick count) and keeps only what the
//!    cross-file rules need: each send (tick, clock, line, `to`), each
//!    `receive`/`pending` and each `peer_lost`.
//! 2. Every `receive`/`pending` is matched to its send by binary search over
//!    the sender's sends (kept sorted by tick), filling one "recorded at line"
//!    slot per message (a send to k VMs owns k slots); FIFO order is checked
//!    on the way.
//! 3. Each sender's messages are walked per link: the recorded ones must be a
//!    prefix; an unrecorded tail is either excused (and counted as lost, by
//!    cause) or reported at the send line.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use crate::logline::{Event, Line, StartInfo, StopReason, format_time};

/// Event kinds in the order [`Summary`] lists them.
const KINDS: [&str; 7] = [
    "start",
    "internal",
    "send",
    "receive",
    "pending",
    "peer_lost",
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
        Event::Stop { .. } => 6,
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
    /// Messages never recorded by their receiver, with an excuse (see [`Summary::lost_by`]).
    pub lost: u64,
    /// `lost` split by excuse: "receiver crashed", "sender crashed",
    /// "sender peer_lost", "receiver peer_lost", "no receiver log".
    pub lost_by: BTreeMap<&'static str, u64>,
    /// VMs whose log has no `stop` line (they did not stop cleanly).
    pub crashed: Vec<u32>,
    /// `peer_lost` lines.
    pub peer_lost: u64,
    /// VM ids named in `peers`, `to` or `from` that have no log file (a note, not a violation).
    pub missing: Vec<u32>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} VMs, {} lines: ", self.vms, self.lines)?;
        for (i, kind) in KINDS.iter().enumerate() {
            let n = self.events.get(kind).copied().unwrap_or(0);
            write!(f, "{}{n} {kind}", if i > 0 { ", " } else { "" })?;
        }
        write!(
            f,
            "; {} messages sent, {} received, {} pending, {} lost",
            self.messages_sent, self.received, self.pending, self.lost
        )?;
        if !self.lost_by.is_empty() {
            let causes: Vec<String> = self
                .lost_by
                .iter()
                .map(|(c, n)| format!("{n} {c}"))
                .collect();
            write!(f, " ({})", causes.join(", "))?;
        }
        write!(f, "; crashed: {}", id_list(&self.crashed))?;
        if !self.missing.is_empty() {
            write!(f, "; no log: {}", id_list(&self.missing))?;
        }
        Ok(())
    }
}

fn id_list(ids: &[u32]) -> String {
    if ids.is_empty() {
        return "none".to_string();
    }
    let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
    ids.join(", ")
}

/// The outcome of checking one run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every broken rule, sorted by VM id and line.
    pub violations: Vec<Violation>,
    /// Counts over the run.
    pub summary: Summary,
}

impl Report {
    /// True when no rule is broken.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
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
    /// (peer, line) of each `peer_lost`.
    peer_lost: Vec<(u32, usize)>,
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

    fn lost_peer_by(&self, peer: u32, line: usize) -> bool {
        self.peer_lost.iter().any(|&(p, l)| p == peer && l <= line)
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
                peer_lost: Vec::new(),
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
                format!("cannot parse line: {e} (docs/log-format.md, section 3)"),
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
                self.incoming(no, from, sent_tick, msg_clock);
            }
            Event::Pending {
                from,
                sent_tick,
                msg_clock,
            } => {
                self.open_pendings.push(no);
                self.incoming(no, from, sent_tick, msg_clock);
            }
            Event::PeerLost { peer } => self.log.peer_lost.push((peer, no)),
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

    fn incoming(&mut self, line: usize, from: u32, sent_tick: u64, msg_clock: u64) {
        let inc = Incoming {
            line,
            from,
            sent_tick,
            msg_clock,
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

    fn finish(&mut self) {
        if self.lines == 0 {
            self.flag(0, "empty log (a log begins with start)".to_string());
        }
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
    for (i, line) in lines_of(text).enumerate() {
        scan.line(i + 1, line);
    }
    scan.finish();
    scan
}

fn vm_id_of(name: &str) -> Option<u32> {
    crate::vm::log::log_id(name)
}

/// What the cross-file passes find.
#[derive(Default)]
struct Findings {
    violations: Vec<Violation>,
    lost: u64,
    lost_by: BTreeMap<&'static str, u64>,
    missing: BTreeSet<u32>,
}

impl Findings {
    fn flag(&mut self, file: &str, line: usize, message: String) {
        self.violations.push(Violation::new(file, line, message));
    }
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
        for r in &self.logs {
            let mut last = HashMap::new();
            for inc in &r.incoming {
                fifo(r, inc, &mut last, found);
                self.match_one(r, inc, &mut got, found);
            }
        }
        got
    }

    /// Rule 4 for one receive or pending `inc` of log `r`.
    fn match_one(&self, r: &Log, inc: &Incoming, got: &mut [Vec<usize>], found: &mut Findings) {
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
            Err(msg) => {
                if !self.index.contains_key(&from) {
                    found.missing.insert(from);
                }
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
        } else {
            let tick = inc.sent_tick;
            let msg = format!(
                "VM {from}'s message of tick {tick} recorded twice (first at line {slot}; at most once)"
            );
            found.flag(file, line, msg);
        }
    }

    /// The send `inc` names: its log's index, the send, and `r`'s place in its `to`.
    fn send_for(&self, r: &Log, inc: &Incoming) -> Result<(usize, &Send, usize), String> {
        let (from, tick) = (inc.from, inc.sent_tick);
        let no_log = || format!("names VM {from}, but there is no machine_{from}.log");
        let &si = self.index.get(&from).ok_or_else(no_log)?;
        let s = &self.logs[si];
        let no_send = || format!("no send at tick {tick} in {}", s.file);
        let send = s.send_at(tick).ok_or_else(no_send)?;
        let Some(k) = send.to.iter().position(|&id| id == r.id) else {
            let to = id_list(&send.to);
            return Err(format!(
                "the send at {}:{} went to {to}, not to VM {}",
                s.file, send.line, r.id
            ));
        };
        Ok((si, send, k))
    }

    /// Pass 3 (rule 5) for the messages of one sender.
    fn account(&self, s: &Log, got: &[usize], found: &mut Findings) {
        // Per receiver: the unrecorded messages since its last recorded one.
        let mut open: HashMap<u32, Vec<(usize, u64)>> = HashMap::new();
        for send in &s.sends {
            for (k, &to) in send.to.iter().enumerate() {
                if !s.is_peer(to) {
                    continue; // told at the send line
                }
                let gap = open.entry(to).or_default();
                if got[send.slot + k] == 0 {
                    gap.push((send.line, send.tick));
                    continue;
                }
                for (line, tick) in gap.drain(..) {
                    let msg = format!(
                        "message to VM {to} of tick {tick} never recorded there, though the one of tick {} was (FIFO loses only a tail)",
                        send.tick
                    );
                    found.flag(&s.file, line, msg);
                }
            }
        }
        for (to, tail) in open {
            self.settle_tail(s, to, &tail, found);
        }
    }

    /// An unrecorded tail of link `s` -> `to`: excused and counted as lost, or told.
    fn settle_tail(&self, s: &Log, to: u32, tail: &[(usize, u64)], found: &mut Findings) {
        let Some(&(first, _)) = tail.first() else {
            return;
        };
        if let Some(cause) = self.excuse(s, to, first) {
            found.lost += tail.len() as u64;
            *found.lost_by.entry(cause).or_default() += tail.len() as u64;
            if cause == "no receiver log" {
                found.missing.insert(to);
            }
            return;
        }
        for &(line, tick) in tail {
            let msg = format!(
                "message to VM {to} of tick {tick} never recorded there (VM {to} stopped cleanly and no peer_lost excuses it)"
            );
            found.flag(&s.file, line, msg);
        }
    }

    /// Why messages from `s` to `to`, from line `first` of `s` on, may be missing.
    fn excuse(&self, s: &Log, to: u32, first: usize) -> Option<&'static str> {
        let Some(r) = self.log(to) else {
            return Some("no receiver log");
        };
        if !r.stopped {
            Some("receiver crashed")
        } else if !s.stopped {
            // It may have logged sends that never reached the wire.
            Some("sender crashed")
        } else if s.lost_peer_by(to, first) {
            Some("sender peer_lost")
        } else if r.lost_peer_by(s.id, usize::MAX) {
            // Rule 5 as it stands today (docs/log-format.md) excuses this
            // too, beside the sender's peer_lost: a receiver that stops
            // waiting for a hung sender after its grace period loses the
            // link's tail too, and says so with peer_lost.
            Some("receiver peer_lost")
        } else {
            None
        }
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
    let mut violations = found.violations;
    violations.sort_by_cached_key(|v| (vm_id_of(&v.file), v.file.clone(), v.line));
    Report {
        violations,
        summary,
    }
}

fn fill_summary(summary: &mut Summary, run: &Run, found: &Findings) {
    let count = |kind: &str| summary.events.get(kind).copied().unwrap_or(0);
    summary.received = count("receive");
    summary.pending = count("pending");
    summary.peer_lost = count("peer_lost");
    summary.vms = run.logs.len();
    summary.messages_sent = run.logs.iter().map(|l| l.slots as u64).sum();
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

/// `lamport-sim verify DIR`: prints violations (a screenful, then a count) and
/// a summary. Exit 0 if every rule holds, 1 on violations, 2 if unreadable.
pub fn main(dir: &Path) -> anyhow::Result<std::process::ExitCode> {
    let report = match check_dir(dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(std::process::ExitCode::from(2));
        }
    };
    for v in report.violations.iter().take(SHOWN) {
        println!("{v}");
    }
    if report.violations.len() > SHOWN {
        println!(
            "... and {} more violations",
            report.violations.len() - SHOWN
        );
    }
    println!("{}", report.summary);
    if report.ok() {
        println!("verify: OK, every rule of docs/log-format.md holds");
        Ok(std::process::ExitCode::SUCCESS)
    } else {
        println!("verify: {} violations", report.violations.len());
        Ok(std::process::ExitCode::from(1))
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

    /// Asserts exactly these violations, in order: (file, line, a telling word).
    #[track_caller]
    fn expect(report: &Report, want: &[(&str, usize, &str)]) {
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
        assert_eq!(events, [3, 3, 5, 4, 4, 0, 3]);
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
             0 peer_lost, 3 stop; 8 messages sent, 4 received, 4 pending, 0 lost; crashed: none"
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
            text.ends_with("2 lost (2 no receiver log); crashed: none; no log: 2, 3"),
            "{text}"
        );
    }

    #[test]
    fn a_log_without_final_newline_is_fine() {
        let mut files = base();
        text_mut(&mut files, "machine_2.log").pop();
        expect_ok(&check(&files));
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
        let want = [
            ("machine_1.log", 6, "no machine_2.log"),
            ("machine_3.log", 6, "no machine_2.log"),
        ];
        expect(&report, &want);
        assert_eq!(report.summary.lost, 3);
        assert_eq!(report.summary.lost_by["no receiver log"], 3);
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
                "message to VM 2 of tick 2 never recorded there",
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
        assert_eq!(report.summary.lost_by["receiver crashed"], 1);
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
        assert_eq!(report.summary.lost_by["sender crashed"], 1);
    }

    #[test]
    fn the_senders_peer_lost_excuses_what_follows_it() {
        let mut s = Sim::new(2);
        s.send(1, &[2]);
        s.peer_lost(1, 2);
        s.send(1, &[2]);
        s.drop_nth(2, 1);
        s.receive(2);
        s.stop(1);
        s.stop(2);
        let report = check(&s.files());
        expect_ok(&report);
        assert_eq!((report.summary.lost, report.summary.peer_lost), (1, 1));
        assert_eq!(report.summary.lost_by["sender peer_lost"], 1);
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
    fn the_receivers_peer_lost_excuses_the_tail() {
        let mut s = Sim::new(2);
        lose_second(&mut s);
        s.peer_lost(2, 1);
        s.stop(1);
        s.stop(2);
        let report = check(&s.files());
        expect_ok(&report);
        assert_eq!(report.summary.lost_by["receiver peer_lost"], 1);
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

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn every_history_that_follows_the_rules_verifies((n, acts) in history()) {
                let report = check(&play(n, &acts).files());
                prop_assert!(report.ok(), "{:?}", report.violations.iter().map(ToString::to_string).collect::<Vec<_>>());
            }

            #[test]
            fn any_single_corrupted_clock_is_caught(
                (n, acts) in history(),
                pick in any::<prop::sample::Index>(),
                delta in prop_oneof![-5i64..=-1, 1i64..=5],
            ) {
                let mut files = play(n, &acts).files();
                // Every tick line of every file, as (file, line index).
                let ticks: Vec<(usize, usize)> = files.iter().enumerate().flat_map(|(f, (_, text))| {
                    text.lines().enumerate().filter(|(_, l)| l.contains(" tick=")).map(move |(i, _)| (f, i))
                }).collect();
                prop_assume!(!ticks.is_empty());
                let (f, i) = ticks[pick.index(ticks.len())];
                let mut lines: Vec<String> = files[f].1.lines().map(String::from).collect();
                let mut line = Line::parse(&lines[i]).unwrap();
                let clock = match &mut line.event {
                    Event::Internal { clock, .. } | Event::Send { clock, .. } | Event::Receive { clock, .. } => clock,
                    _ => unreachable!(),
                };
                let new = *clock as i64 + delta;
                prop_assume!(new >= 0);
                *clock = new as u64;
                let mut text = String::new();
                line.write_to(&mut text);
                lines[i] = text.trim_end().to_string();
                files[f].1 = lines.join("\n") + "\n";
                let report = check(&files);
                prop_assert!(!report.ok());
                let name = &files[f].0;
                prop_assert!(
                    report.violations.iter().any(|v| &v.file == name && v.line == i + 1),
                    "no violation at {}:{}: {:?}", name, i + 1,
                    report.violations.iter().map(ToString::to_string).collect::<Vec<_>>()
                );
            }
        }
    }
}
