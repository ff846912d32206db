use super::*;
use crate::testkit::{History, Plan, T0};

/// The test kit's run with line numbers: every line comes 1 ms after the
/// run's previous one, and each call returns the line number it wrote in its
/// VM's log. Tests skew a tick or clock, or drop a message on the wire, to
/// break exactly one rule.
struct Sim {
    h: History,
    now: i64,
}

impl Sim {
    fn new(n: u32) -> Sim {
        Sim::planned(n, 2, None)
    }

    fn planned(n: u32, rate: u32, runtime_us: Option<u64>) -> Sim {
        let plan = Plan {
            rate,
            seed: 7,
            run: "test".into(),
            runtime_us,
            start_at_us: None,
            ..Plan::default()
        };
        Sim {
            h: History::planned(n, plan, T0),
            now: T0,
        }
    }

    /// The time of the next line.
    fn next(&mut self) -> i64 {
        self.now += 1_000;
        self.now
    }

    fn internal(&mut self, id: u32) -> usize {
        let t = self.next();
        self.h.internal_at(id, t);
        self.h.lines(id)
    }

    fn send(&mut self, id: u32, to: &[u32]) -> usize {
        let t = self.next();
        self.h.send_at(id, to, t);
        self.h.lines(id)
    }

    fn receive(&mut self, id: u32) -> usize {
        self.receive_nth(id, 0)
    }

    /// Receives the k-th queued message (k > 0 breaks FIFO).
    fn receive_nth(&mut self, id: u32, k: usize) -> usize {
        let t = self.next();
        self.h.receive_nth_at(id, k, t);
        self.h.lines(id)
    }

    /// The k-th queued message is lost on the wire.
    fn drop_nth(&mut self, id: u32, k: usize) {
        self.h.drop_nth(id, k);
    }

    fn note(&mut self, id: u32, event: Event) -> usize {
        let t = self.next();
        self.h.note_at(id, &event, t);
        self.h.lines(id)
    }

    fn peer_lost(&mut self, id: u32, peer: u32) -> usize {
        self.note(id, Event::PeerLost { peer })
    }

    fn link_down(&mut self, id: u32, peer: u32) -> usize {
        self.note(id, Event::LinkDown { peer })
    }

    fn link_up(&mut self, id: u32, peer: u32, resent: u64) -> usize {
        self.note(id, Event::LinkUp { peer, resent })
    }

    fn stop(&mut self, id: u32) -> usize {
        self.stop_for(id, StopReason::Runtime)
    }

    /// Logs the queue as pending, then stop; returns the stop's line.
    fn stop_for(&mut self, id: u32, reason: StopReason) -> usize {
        let t = self.next();
        self.h.stop_at(id, reason, t);
        self.h.lines(id)
    }

    fn stop_all(&mut self) {
        for id in 1..=self.h.vm_count() {
            self.stop(id);
        }
    }

    fn files(&self) -> Vec<(String, String)> {
        self.h.files()
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
        let hit =
            c.file == file && c.line == line && c.to_string().contains(word) && c.fails == fails;
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
    s.h.skew_tick(1, 1);
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
    s.h.skew_tick(1, -1);
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
            sim.h.skew_clock(1, 1);
        }
    });
    let want = "internal clock 5 should be previous clock 3 + 1 = 4";
    expect(&check(&files), &[("machine_1.log", 5, want)]);
}

#[test]
fn a_send_clock_must_be_previous_plus_one() {
    let files = base_with(|sim, step| {
        if step == 11 {
            sim.h.skew_clock(1, 1);
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
            sim.h.skew_clock(1, 2);
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
    let word = "VM 1's message of tick 2 to VM 2 never recorded there, though VM 2 stopped cleanly";
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
fn tick_run(rate: u32, runtime_us: Option<u64>, ticks: u64, reason: StopReason) -> (Report, usize) {
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

/// A correct 3-VM run of about `lines` lines, each tick rolled by the VM's die.
fn big_run(lines: usize) -> Vec<(String, String)> {
    let mut s = Sim::new(3);
    while s.h.total_lines() < lines {
        for id in 1..=3u32 {
            let t = s.next();
            s.h.roll_at(id, t);
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
                    if sim.h.queued(id) > 0 {
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

// ---- lying clocks ----

#[test]
fn lying_clocks_break_no_rule() {
    // VM 1 a quarter second fast and gaining 5%, VM 2 as far slow and
    // losing: their times disagree, each log on its own still rises.
    let plan = Plan {
        rate: 20,
        seed: 3,
        runtime_us: Some(1_000_000),
        delay_us: 2_000,
        ..Plan::default()
    };
    let clocks = [(250_000, 50_000_000), (-250_000, -50_000_000), (0, 0)];
    let mut h = History::skewed(3, plan, T0, &clocks);
    for k in 0..20 {
        for id in 1..=3 {
            h.roll_at(id, T0 + k * 50_000 + i64::from(id) * 100);
        }
    }
    for id in 1..=3 {
        h.stop_at(id, crate::logline::StopReason::Runtime, T0 + 1_000_000);
    }
    let files = h.files();
    assert!(
        files[0]
            .1
            .lines()
            .next()
            .unwrap()
            .ends_with(" clock_skew_us=250000 clock_drift_ppm=50000")
    );
    expect_ok(&check(&files));
    // The clocks do lie: some message is received, by VM 2's clock, before
    // VM 1 sent it.
    let logs: Vec<(u32, Vec<Line>)> = files
        .iter()
        .enumerate()
        .map(|(i, (_, text))| {
            (
                i as u32 + 1,
                text.lines().map(|l| Line::parse(l).unwrap()).collect(),
            )
        })
        .collect();
    let a = crate::analyze::analyze(&logs, (0.0, 1.0));
    let c = a.causal.unwrap().clocks;
    assert!(
        c.skewed && c.before_send > 0 && c.before_send_true == 0,
        "{c:?}"
    );
}
