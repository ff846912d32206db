//! `lamport-sim export --shiviz`: a real short run and an experiment folder
//! exported, every line read back, each host's own entries counted, the
//! arrows ShiViz would draw held against the logs; and the exit codes for
//! folders that are not runs.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;
use lamport_sim::logline::Event;

fn export(args: &[&str], dir: &Path) -> Output {
    let mut c = bin();
    c.args(["export", "--shiviz"]).arg(dir).args(args);
    run_with_limit(&mut c, Duration::from_secs(20))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One exported event: its description's fields and its host line.
#[derive(Debug)]
struct Exported {
    kind: String,
    fields: HashMap<String, String>,
    host: u32,
    clock: HashMap<u32, u32>,
}

/// `send tick=2 clock=2 queue=0 time=... to=1,3 sent_tick=2`, in this key order.
fn description(line: &str) -> (String, HashMap<String, String>) {
    let mut tokens = line.split(' ');
    let kind = tokens.next().unwrap().to_string();
    let pairs: Vec<(String, String)> = tokens
        .map(|t| {
            let (k, v) = t.split_once('=').unwrap_or_else(|| panic!("{line}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    let keys: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
    let tail: &[&str] = match kind.as_str() {
        "internal" => &[],
        "send" => &["to", "sent_tick"],
        "receive" => &["from", "sent_tick"],
        other => panic!("kind {other}: {line}"),
    };
    assert_eq!(keys[..4], ["tick", "clock", "queue", "time"], "{line}");
    assert_eq!(keys[4..], *tail, "{line}");
    (kind, pairs.into_iter().collect())
}

/// `vm2 {"vm1":2,"vm2":3}`.
fn host_line(line: &str) -> (u32, HashMap<u32, u32>) {
    let (host, json) = line.split_once(' ').unwrap();
    let host = host.strip_prefix("vm").unwrap().parse().unwrap();
    let body = json.strip_prefix('{').and_then(|j| j.strip_suffix('}'));
    let entries = body.unwrap_or_else(|| panic!("{line}")).split(',');
    let clock = entries
        .map(|e| {
            let (k, v) = e.split_once(':').unwrap();
            let k = k.strip_prefix("\"vm").and_then(|k| k.strip_suffix('"'));
            (k.unwrap().parse().unwrap(), v.parse().unwrap())
        })
        .collect();
    (host, clock)
}

/// The sections of an export: (label, events), after checking the header.
fn read_export(file: &str) -> Vec<(Option<String>, Vec<Exported>)> {
    let mut lines = file.lines();
    assert!(lines.next().unwrap().starts_with("^(?<event>"));
    assert_eq!(lines.next(), Some("^=== (?<trace>\\S+) ===$"));
    let mut sections: Vec<(Option<String>, Vec<Exported>)> = Vec::new();
    while let Some(line) = lines.next() {
        if let Some(label) = line.strip_prefix("=== ") {
            let label = label.strip_suffix(" ===").unwrap().to_string();
            sections.push((Some(label), Vec::new()));
            continue;
        }
        if sections.is_empty() {
            sections.push((None, Vec::new()));
        }
        let (kind, fields) = description(line);
        let (host, clock) = host_line(lines.next().expect("a host line"));
        let e = Exported {
            kind,
            fields,
            host,
            clock,
        };
        sections.last_mut().unwrap().1.push(e);
    }
    sections
}

/// Each host's events in the order of their own entries, which must run 1, 2, 3, ...
fn by_host(events: &[Exported]) -> HashMap<u32, Vec<&Exported>> {
    let mut hosts: HashMap<u32, Vec<&Exported>> = HashMap::new();
    for e in events {
        hosts.entry(e.host).or_default().push(e);
    }
    for (host, list) in &mut hosts {
        list.sort_by_key(|e| e.clock[host]);
        let own: Vec<u32> = list.iter().map(|e| e.clock[host]).collect();
        assert_eq!(own, (1..=list.len() as u32).collect::<Vec<_>>(), "vm{host}");
        for (k, e) in list.iter().enumerate() {
            assert_eq!(e.fields["tick"], (k + 1).to_string(), "vm{host}");
        }
    }
    hosts
}

/// The arrows ShiViz draws (its rule: an arrow from host g's event number
/// V(e)[g] into e when e knows more of g than its host's previous event,
/// unless another such candidate's clock already holds it), as (from host,
/// its own entry, to host, its own entry).
fn arrows(hosts: &HashMap<u32, Vec<&Exported>>) -> HashSet<(u32, u32, u32, u32)> {
    let mut out = HashSet::new();
    for (&h, list) in hosts {
        let mut known: HashMap<u32, u32> = HashMap::new();
        for e in list {
            let new: Vec<(u32, u32)> = e
                .clock
                .iter()
                .filter(|(g, t)| **g != h && known.get(g).is_none_or(|k| k < t))
                .map(|(g, t)| (*g, *t))
                .collect();
            known.extend(new.iter().copied());
            let implied = |&(g, t): &(u32, u32)| {
                new.iter().any(|&(g2, t2)| {
                    let c = &hosts[&g2][t2 as usize - 1].clock;
                    g2 != g && c.get(&g) == Some(&t)
                })
            };
            for &(g, t) in new.iter().filter(|c| !implied(c)) {
                out.insert((g, t, h, e.clock[&h]));
            }
        }
    }
    out
}

/// Every receive whose send is in the logs, as (sender, sent_tick,
/// receiver, receive tick).
fn messages(dir: &Path) -> HashSet<(u32, u32, u32, u32)> {
    let mut out = HashSet::new();
    for (id, lines) in read_logs(dir) {
        for l in lines {
            if let Event::Receive {
                tick,
                from,
                sent_tick,
                ..
            } = l.event
            {
                out.insert((from, sent_tick as u32, id, tick as u32));
            }
        }
    }
    out
}

/// Checks one exported run against its logs; returns (events, arrows).
fn check_run(events: &[Exported], dir: &Path) -> (usize, usize) {
    let logs = read_logs(dir);
    let ticks: usize = logs
        .iter()
        .map(|(_, l)| l.iter().filter(|l| l.event.tick_clock().is_some()).count())
        .sum();
    assert_eq!(events.len(), ticks, "every tick event is exported");
    assert!(events.iter().all(|e| e.clock.values().all(|&v| v > 0)));
    let hosts = by_host(events);
    let drawn = arrows(&hosts);
    let sent = messages(dir);
    assert!(drawn.is_subset(&sent), "{:?}", drawn.difference(&sent));
    for (g, t, _, _) in &drawn {
        assert_eq!(hosts[g][*t as usize - 1].kind, "send");
    }
    (events.len(), drawn.len())
}

#[test]
fn a_real_run_exports_every_event_with_its_clock() {
    let dir = tempdir();
    let run = run_with_limit(
        &mut fast_run(dir.path(), &["--vms", "3", "--runtime", "1.5"]),
        Duration::from_secs(30),
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let out = export(&[], dir.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let file = std::fs::read_to_string(dir.path().join("shiviz.log")).unwrap();
    let sections = read_export(&file);
    assert_eq!(sections.len(), 1);
    assert_eq!(sections[0].0, None);
    let (events, arrows) = check_run(&sections[0].1, dir.path());
    let said = format!("shiviz: {events} events, {arrows} arrows (1 run) written to ");
    assert!(stdout.starts_with(&said), "{stdout}");

    // The same text on standard output, the summary then on stderr.
    let out = export(&["-o", "-"], dir.path());
    assert_eq!(text(&out.stdout), file);
    assert!(text(&out.stderr).starts_with("shiviz: "));
}

#[test]
fn an_experiment_exports_one_labelled_section_per_run() {
    let dir = tempdir();
    let args = [
        "experiment",
        "--name",
        "e",
        "--runs",
        "2",
        "--runtime",
        "0.5",
        "--base-port",
        "0",
        "--min-rate",
        "20",
        "--max-rate",
        "40",
    ];
    run_ok(&args, dir.path());
    let exp = dir.path().join("e");
    let file = exp.join("one.log");
    let out = export(&["-o", file.to_str().unwrap()], &exp);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(2 runs) written to"));
    let sections = read_export(&std::fs::read_to_string(&file).unwrap());
    let labels: Vec<Option<&str>> = sections.iter().map(|s| s.0.as_deref()).collect();
    assert_eq!(labels, [Some("run_1"), Some("run_2")]);
    for (k, (_, events)) in (1..).zip(&sections) {
        check_run(events, &exp.join(format!("run_{k}")));
    }
}

#[test]
fn a_folder_that_is_not_a_run_exits_2_with_one_line() {
    let dir = tempdir();
    let gone = dir.path().join("gone");
    for d in [gone.as_path(), dir.path()] {
        let out = export(&[], d);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: ") && err.contains(&d.display().to_string()));
        assert!(out.stdout.is_empty());
    }
    let mut c = bin();
    c.arg("export").arg(dir.path());
    let out = run_with_limit(&mut c, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--shiviz"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_run_without_tick_events_says_so() {
    let dir = tempdir();
    let line = "time=2026-11-22T10:00:00.000000Z vm=1 event=stop ticks=0 clock=0 reason=runtime\n";
    std::fs::write(log_path(dir.path(), 1), line).unwrap();
    let out = export(&[], dir.path());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no tick events") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn a_message_that_brings_no_news_gets_no_arrow_and_a_note() {
    // VM 1 sends to 2 and 3 at once; 3 passes word on to 2, which takes
    // 3's message first: VM 1's message then tells 2 nothing new.
    let dir = tempdir();
    let t = "time=2026-11-22T10:00:00";
    let start = |vm: u32, peers: &str| {
        format!(
            "{t}.000000Z vm={vm} event=start rate=1 event_range=10 seed=1 peers={peers} run=nn\n"
        )
    };
    let logs = [
        start(1, "2,3") + &format!("{t}.100000Z vm=1 event=send tick=1 clock=1 queue=0 to=2,3\n"),
        start(2, "1,3")
            + &format!("{t}.100000Z vm=2 event=internal tick=1 clock=1 queue=0\n")
            + &format!(
                "{t}.400000Z vm=2 event=receive tick=2 clock=4 queue=1 from=3 sent_tick=2 msg_clock=3 wait_us=100\n"
            )
            + &format!(
                "{t}.500000Z vm=2 event=receive tick=3 clock=5 queue=0 from=1 sent_tick=1 msg_clock=1 wait_us=390000\n"
            ),
        start(3, "1,2")
            + &format!(
                "{t}.200000Z vm=3 event=receive tick=1 clock=2 queue=0 from=1 sent_tick=1 msg_clock=1 wait_us=100\n"
            )
            + &format!("{t}.300000Z vm=3 event=send tick=2 clock=3 queue=0 to=2\n"),
    ];
    for (id, text) in (1..).zip(&logs) {
        std::fs::write(log_path(dir.path(), id), text).unwrap();
    }
    assert_verifies(dir.path());
    let out = export(&[], dir.path());
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("shiviz: 6 events, 2 arrows"), "{stdout}");
    assert!(
        stdout.contains("note: 1 receive brought no news"),
        "{stdout}"
    );
    let file = std::fs::read_to_string(dir.path().join("shiviz.log")).unwrap();
    let sections = read_export(&file);
    let hosts = by_host(&sections[0].1);
    let want: HashSet<_> = [(1, 1, 3, 1), (3, 2, 2, 2)].into();
    assert_eq!(arrows(&hosts), want);
}
