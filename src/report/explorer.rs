//! `explorer.html`: the causal explorer, one offline page (its script
//! `explorer.js` and style sheet `explorer.css` beside this file, inlined).
//! It draws the whole run's space-time diagram and, on a click, marks the
//! clicked event's causal past, its future and the events concurrent with it.
//!
//! The Rust side computes everything the page shows ([`Explorer`]) and
//! embeds it as compact JSON; the page compares vector clocks and draws.
//! The clocks come from [`VectorClocks::matched`] on the same logs, the
//! function `analyze`'s happens-before figures come from, so the page and
//! `summary.json` cannot disagree on what happens before what.
//!
//! The JSON (`explorer_data`): `{"run", "vms": [ids], "fields": [names],
//! "events": [[...], ...]}`, one array per tick event, by VM (in `vms`
//! order) then log order, its entries named by `fields`:
//! - `vm`: the VM id; `tick`: its tick number; `kind`: `i`, `s` or `r`;
//! - `lamport`: the logged Lamport clock; `wall`: microseconds since the
//!   run's start (the VM's own clock, as logged);
//! - `vc`: the vector clock, one entry per VM in `vms` order;
//! - `msg`: for a receive, `[from VM, sent tick, the send's index in
//!   events or -1 when its send is not in the logs, sent at (us since
//!   start) or null, wait in the queue (us)]`; otherwise null;
//! - `hlc`: the hybrid logical clock `[l (us since start), c, l - pt (us)]`
//!   from [`Hlc::matched`], the figures `summary.json`'s `hlc_*` come from.
//!
//! The page offers every label field it finds (Lamport, vector, HLC) at its
//! label toggle: a further label is one more field here and in [`Event`].

use std::fmt::Write as _;

use super::markup::escape_xml;
use crate::analyze::Analysis;
use crate::analyze::causal::hlc::Hlc;
use crate::analyze::causal::vclock::VectorClocks;
use crate::logline::{Event as LogEvent, Line};
use crate::run::messages::Index;

/// The file `analyze` writes the explorer to, beside `report.html`.
pub const FILE: &str = "explorer.html";

const JS: &str = include_str!("explorer.js");
const CSS: &str = include_str!("explorer.css");

/// The names of each event's entries in the JSON, in order.
pub const FIELDS: [&str; 8] = ["vm", "tick", "kind", "lamport", "wall", "vc", "msg", "hlc"];

/// What the explorer shows: every tick event of the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Explorer {
    pub run: Option<String>,
    /// VM ids, in lane order; entry i of every vector clock is VM `vms[i]`.
    pub vms: Vec<u32>,
    /// By VM (in `vms` order), then log order.
    pub events: Vec<Event>,
}

/// One tick event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub vm: u32,
    pub tick: u64,
    /// `i`, `s` or `r` (internal, send, receive).
    pub kind: char,
    pub lamport: u64,
    /// Microseconds since the run's start.
    pub wall_us: i64,
    pub vc: Vec<u32>,
    pub msg: Option<Msg>,
    /// The hybrid logical clock: l (microseconds since the start), c, and
    /// l - pt (how far l is ahead of the event's logged time, microseconds).
    pub hlc: (i64, u32, i64),
}

/// The message a receive took.
#[derive(Debug, Clone, PartialEq)]
pub struct Msg {
    pub from: u32,
    pub sent_tick: u64,
    /// The send's index in [`Explorer::events`], and when it was sent (us
    /// since the start); `None` when the send is not in the logs.
    pub send: Option<(usize, i64)>,
    /// How long the message waited in the receiver's queue.
    pub wait_us: u64,
}

impl Explorer {
    /// The tick events of `logs` (VM id, its lines), whose common start is
    /// `start_us`, with their vector clocks.
    pub fn of(logs: &[(u32, Vec<Line>)], start_us: i64, run: Option<String>) -> Explorer {
        let index = Index::of(logs);
        let vc = VectorClocks::matched(logs, &index);
        let hlc = Hlc::matched(logs, &index);
        // Where each VM's events begin in `events`, to point at sends.
        let mut first = vec![0usize; logs.len() + 1];
        for (i, _) in logs.iter().enumerate() {
            first[i + 1] = first[i] + vc.count(i);
        }
        let mut events = Vec::with_capacity(vc.len());
        for (i, (id, lines)) in logs.iter().enumerate() {
            let ticks = lines.iter().filter(|l| l.event.tick_clock().is_some());
            for (pos, line) in ticks.enumerate() {
                let msg = msg_of(*id, line, &index, &first, start_us);
                let stamp = hlc.stamp(i, pos);
                let hlc = (stamp.l_us - start_us, stamp.c, hlc.offset_us(i, pos));
                events.push(event_of(*id, line, vc.clock(i, pos), start_us, msg, hlc));
            }
        }
        Explorer {
            run,
            vms: vc.vms.clone(),
            events,
        }
    }

    /// The embedded JSON (see the module doc).
    pub fn json(&self) -> String {
        let mut out = String::with_capacity(64 + self.events.len() * (40 + 3 * self.vms.len()));
        let run = serde_json::to_string(&self.run).unwrap_or_else(|_| "null".into());
        let vms: Vec<String> = self.vms.iter().map(u32::to_string).collect();
        let fields: Vec<String> = FIELDS.iter().map(|f| format!("\"{f}\"")).collect();
        let _ = write!(
            out,
            "{{\"run\":{run},\"vms\":[{}],\"fields\":[{}],\"events\":[",
            vms.join(","),
            fields.join(",")
        );
        for (k, e) in self.events.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            e.write_json(&mut out);
        }
        out.push_str("]}");
        out
    }
}

impl Event {
    fn write_json(&self, out: &mut String) {
        let _ = write!(
            out,
            "[{},{},\"{}\",{},{},[",
            self.vm, self.tick, self.kind, self.lamport, self.wall_us
        );
        for (j, v) in self.vc.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(out, "{v}");
        }
        out.push_str("],");
        match &self.msg {
            None => out.push_str("null"),
            Some(m) => {
                let (at, sent) = match m.send {
                    Some((k, t)) => (k.to_string(), t.to_string()),
                    None => ("-1".into(), "null".into()),
                };
                let _ = write!(
                    out,
                    "[{},{},{at},{sent},{}]",
                    m.from, m.sent_tick, m.wait_us
                );
            }
        }
        let (l, c, ahead) = self.hlc;
        let _ = write!(out, ",[{l},{c},{ahead}]]");
    }
}

fn event_of(
    vm: u32,
    line: &Line,
    vc: &[u32],
    start_us: i64,
    msg: Option<Msg>,
    hlc: (i64, u32, i64),
) -> Event {
    let (tick, lamport) = line.event.tick_clock().unwrap_or_default();
    let kind = match line.event {
        LogEvent::Send { .. } => 's',
        LogEvent::Receive { .. } => 'r',
        _ => 'i',
    };
    Event {
        vm,
        tick,
        kind,
        lamport,
        wall_us: line.time_us - start_us,
        vc: vc.to_vec(),
        msg,
        hlc,
    }
}

/// The message receive `line` of VM `to` took; `first[i]` is where VM index
/// i's events begin.
fn msg_of(to: u32, line: &Line, index: &Index, first: &[usize], start_us: i64) -> Option<Msg> {
    let LogEvent::Receive {
        from,
        sent_tick,
        wait_us,
        ..
    } = line.event
    else {
        return None;
    };
    let send = index
        .taken_by(to, line)
        .and_then(Result::ok)
        .map(|s| (first[s.log] + s.send.pos, s.send.time_us - start_us));
    Some(Msg {
        from,
        sent_tick,
        send,
        wait_us,
    })
}

/// `explorer.html` of the run `a` analyzed, whose logs are `logs`.
pub fn page(a: &Analysis, logs: &[(u32, Vec<Line>)]) -> String {
    let ex = Explorer::of(logs, a.start_us, a.run.clone());
    let title = match &a.run {
        Some(r) => format!("lamport-sim run {r}: causal explorer"),
        None => "lamport-sim run: causal explorer".to_string(),
    };
    let title = escape_xml(&title);
    // `</` would end the script element early; JSON allows `<\/`.
    let json = ex.json().replace("</", "<\\/");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<header><h1>{title}</h1><a href=\"report.html\">report.html</a></header>\n{BODY}<script type=\"application/json\" id=\"explorer-data\">{json}</script>\n<script>\n{JS}</script>\n</body>\n</html>\n"
    )
}

/// The page's controls, panel and drawing area; `explorer.js` fills them.
const BODY: &str = r#"<div id="controls">
<span>Time axis: <label><input type="radio" name="axis" value="wall" checked> wall time</label> <label><input type="radio" name="axis" value="lamport"> Lamport clock</label></span>
<span>Labels: <select id="label"></select></span>
<button id="fit" type="button">Fit</button>
<span class="hint">Wheel: zoom · drag: pan · click an event: its past, future and concurrent events · shift-click: a second event · Esc: clear</span>
</div>
<div id="legend"><span class="dot i"></span> internal <span class="dot s"></span> send <span class="dot r"></span> receive · after a click: <span class="key-past">past</span> <span class="key-future">future</span> <span class="key-concurrent">concurrent</span> · lanes: the box hides one, &#9650;&#9660; move it</div>
<div id="lanes"></div>
<div id="main"><div id="view"></div><aside id="panel"><p>Click an event.</p></aside></div>
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logline::format_time;
    use crate::testkit::T0;

    /// VM 1 sends to VM 2 at 100 ms (tick 2), which takes it at 400 ms after
    /// 250 ms queued; VM 2 then takes a message whose send is not in the logs.
    fn two_vms() -> Vec<(u32, Vec<Line>)> {
        let line = |ms: i64, vm: u32, rest: &str| {
            let text = format!("time={} vm={vm} event={rest}", format_time(T0 + ms * 1000));
            Line::parse(&text).expect("a valid line")
        };
        let one = vec![
            line(0, 1, "internal tick=1 clock=1 queue=0"),
            line(100, 1, "send tick=2 clock=2 queue=0 to=2"),
            line(200, 1, "internal tick=3 clock=3 queue=0"),
        ];
        let two = vec![
            line(0, 2, "internal tick=1 clock=1 queue=0"),
            line(200, 2, "internal tick=2 clock=2 queue=0"),
            line(
                400,
                2,
                "receive tick=3 clock=3 queue=0 from=1 sent_tick=2 msg_clock=2 wait_us=250000",
            ),
            line(
                600,
                2,
                "receive tick=4 clock=4 queue=0 from=1 sent_tick=99 msg_clock=3 wait_us=0",
            ),
        ];
        vec![(1, one), (2, two)]
    }

    #[test]
    fn one_entry_per_tick_event_with_its_vector_clock_and_message() {
        let logs = two_vms();
        let ex = Explorer::of(&logs, T0, Some("r1".into()));
        let ticks: usize = logs
            .iter()
            .map(|(_, l)| l.iter().filter(|l| l.event.tick_clock().is_some()).count())
            .sum();
        assert_eq!(ex.events.len(), ticks);
        assert_eq!(ex.vms, vec![1, 2]);
        let vc = VectorClocks::of(&logs);
        let hlc = crate::analyze::causal::hlc::of(&logs);
        let mut k = 0;
        for (i, (id, _)) in logs.iter().enumerate() {
            for pos in 0..vc.count(i) {
                assert_eq!(ex.events[k].vm, *id);
                assert_eq!(ex.events[k].vc, vc.clock(i, pos));
                let stamp = hlc.stamp(i, pos);
                let want = (stamp.l_us - T0, stamp.c, hlc.offset_us(i, pos));
                assert_eq!(ex.events[k].hlc, want);
                // l is never behind the event's own clock.
                assert!(want.2 >= 0 && want.0 == ex.events[k].wall_us + want.2);
                k += 1;
            }
        }
        // Every receive points at its send, which is a send of the sender
        // at the tick the receive names.
        let r = &ex.events[5];
        assert_eq!((r.vm, r.tick, &r.vc), (2, 3, &vec![2, 3]));
        let m = r.msg.as_ref().expect("a receive has its message");
        assert_eq!((m.from, m.sent_tick, m.wait_us), (1, 2, 250_000));
        {
            let (at, sent_us) = m.send.expect("its send is in the logs");
            let s = &ex.events[at];
            assert_eq!((s.kind, s.vm, s.tick), ('s', m.from, m.sent_tick));
            assert_eq!(s.wall_us, sent_us);
            assert_eq!((sent_us, r.wall_us), (100_000, 400_000));
        }
        let lost = ex.events[6].msg.as_ref().expect("a receive");
        assert_eq!((lost.sent_tick, lost.send), (99, None));
        assert!(ex.events.iter().all(|e| (e.kind == 'r') == e.msg.is_some()));
    }

    #[test]
    fn the_json_holds_the_named_fields_of_every_event() {
        let logs = two_vms();
        let ex = Explorer::of(&logs, T0, Some("r1".into()));
        let v: serde_json::Value = serde_json::from_str(&ex.json()).expect("valid JSON");
        assert_eq!(v["run"], "r1");
        assert_eq!(v["vms"], serde_json::json!([1, 2]));
        assert_eq!(v["fields"], serde_json::json!(FIELDS));
        let events = v["events"].as_array().expect("events");
        assert_eq!(events.len(), ex.events.len());
        for (j, e) in events.iter().zip(&ex.events) {
            let j = j.as_array().expect("an array per event");
            assert_eq!(j.len(), FIELDS.len());
            assert_eq!(j[0], e.vm);
            assert_eq!(j[1], e.tick);
            assert_eq!(j[2], e.kind.to_string());
            assert_eq!(j[3], e.lamport);
            assert_eq!(j[4], e.wall_us);
            assert_eq!(j[5], serde_json::json!(e.vc));
            match &e.msg {
                None => assert!(j[6].is_null()),
                Some(m) => {
                    let (at, sent) = match m.send {
                        Some((k, t)) => (serde_json::json!(k), serde_json::json!(t)),
                        None => (serde_json::json!(-1), serde_json::Value::Null),
                    };
                    let want = serde_json::json!([m.from, m.sent_tick, at, sent, m.wait_us]);
                    assert_eq!(j[6], want);
                }
            }
            assert_eq!(j[7], serde_json::json!([e.hlc.0, e.hlc.1, e.hlc.2]));
        }
    }

    #[test]
    fn the_page_is_offline_and_its_data_cannot_end_the_script() {
        let logs = two_vms();
        let mut a = crate::analyze::analyze(&logs, (0.0, 1.0));
        a.run = Some("</script><b>".into());
        let html = page(&a, &logs);
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        // Offline, no CDN: the one URL is the SVG namespace, never fetched.
        let no_ns = html.replace("\"http://www.w3.org/2000/svg\"", "");
        assert!(!no_ns.contains("http") && !no_ns.contains("src="));
        assert_eq!(html.matches("</script>").count(), 2);
        assert!(html.contains(
            "<script type=\"application/json\" id=\"explorer-data\">{\"run\":\"<\\/script><b>\""
        ));
        assert!(html.contains("&lt;/script&gt;&lt;b&gt;"));
        assert!(html.contains("href=\"report.html\""));
    }
}
