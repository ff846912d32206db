//! `lamport-sim vm`: VMs started by hand, in any order, over real TCP.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::*;
use lamport_sim::logline::Event;
use lamport_sim::wire::Frame;

fn start_vm(dir: &std::path::Path, id: u32, ports: &[u16], rate: u32, runtime: &str) -> Child {
    vm_cmd(dir, id, ports, rate, runtime, "t", 11)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vm")
}

#[test]
fn three_vms_started_by_hand_in_reverse_order_make_one_run() {
    let dir = tempdir();
    let ports = free_ports(3);
    let c3 = start_vm(dir.path(), 3, &ports, 40, "2");
    std::thread::sleep(Duration::from_millis(300));
    let c2 = start_vm(dir.path(), 2, &ports, 60, "2");
    std::thread::sleep(Duration::from_millis(300));
    let c1 = start_vm(dir.path(), 1, &ports, 80, "2");
    for c in [c1, c2, c3] {
        wait_ok(c);
    }
    let logs = read_logs(dir.path());
    let starts: Vec<i64> = logs.iter().map(|(_, l)| l[0].time_us).collect();
    let spread = starts.iter().max().unwrap() - starts.iter().min().unwrap();
    assert!(
        spread < 200_000,
        "by-hand VMs start within a moment of each other, not {spread} us apart"
    );
    for ((id, lines), rate) in logs.iter().zip([80, 60, 40]) {
        assert_eq!(stop_of(lines), Some((rate * 2, "runtime")), "vm {id}");
    }
    assert_verifies(dir.path());
}

/// The line of `stderr` that starts with `prefix`.
fn line_with<'a>(stderr: &'a str, prefix: &str) -> &'a str {
    stderr
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line `{prefix}...` in:\n{stderr}"))
}

#[test]
fn by_hand_vms_say_when_they_tick_and_sum_up_at_the_stop() {
    let dir = tempdir();
    let ports = free_ports(3);
    let rates = [40, 60, 80];
    let children: Vec<Child> = (1..=3)
        .map(|id| start_vm(dir.path(), id, &ports, rates[id as usize - 1], "1.5"))
        .collect();
    let outs: Vec<_> = children.into_iter().map(wait_ok).collect();
    let logs = read_logs(dir.path());
    let folder = dir.path().display().to_string();
    for ((id, lines), out) in logs.iter().zip(&outs) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let peers: Vec<String> = (1..=3u32)
            .filter(|p| p != id)
            .map(|p| p.to_string())
            .collect();
        let rate = rates[*id as usize - 1];
        assert_eq!(
            line_with(&stderr, &format!("vm {id}: connected")),
            format!(
                "vm {id}: connected to {}; ticking at {rate}/s, seed 11",
                peers.join(", ")
            )
        );
        let Some(Event::Stop {
            ticks,
            clock,
            reason,
        }) = lines.last().map(|l| &l.event)
        else {
            panic!("vm {id}: no stop line");
        };
        let count = |kind: fn(&Event) -> bool| lines.iter().filter(|l| kind(&l.event)).count();
        let sends = count(|e| matches!(e, Event::Send { .. }));
        let receives = count(|e| matches!(e, Event::Receive { .. }));
        let pending = count(|e| matches!(e, Event::Pending { .. }));
        assert_eq!(
            line_with(&stderr, &format!("vm {id}: stopped")),
            format!(
                "vm {id}: stopped ({}) after {ticks} ticks, clock {clock}",
                reason.as_str()
            )
        );
        let log = log_path(dir.path(), *id).display().to_string();
        assert_eq!(
            line_with(&stderr, &format!("vm {id}: {sends} sends")),
            format!("vm {id}: {sends} sends, {receives} receives, {pending} pending; log {log}")
        );
        assert!(!stderr.contains("hint:"), "the seed was given:\n{stderr}");
        for l in stderr.lines() {
            assert!(l.replace(&folder, "").chars().count() <= 80, "{l}");
        }
    }
    assert_verifies(dir.path());
}

#[test]
fn a_vm_waits_for_a_missing_peer_then_gives_up_clearly() {
    let dir = tempdir();
    let ports = free_ports(2);
    let mut c = bin();
    c.args([
        "vm",
        "--id",
        "1",
        "--listen",
        &format!("127.0.0.1:{}", ports[0]),
    ])
    .args([
        "--peer",
        &format!("2=127.0.0.1:{}", ports[1]),
        "--connect-timeout",
        "2.5",
    ])
    .arg("--logs")
    .arg(dir.path());
    let out = run_with_limit(&mut c, Duration::from_secs(15));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("waiting for VM 2"),
        "says whom it waits for: {stderr}"
    );
    // No --seed: it says once how to give every VM the same.
    assert_eq!(stderr.matches("hint: ").count(), 1, "{stderr}");
    assert!(
        line_with(&stderr, "vm 1: hint: ").contains(" --seed "),
        "{stderr}"
    );
    assert!(!stderr.contains("connected to"), "{stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("--peer 2=127.0.0.1:") && last.contains("gave up"),
        "{stderr}"
    );
    let logs = read_logs(dir.path());
    assert_eq!(stop_of(&logs[0].1), Some((0, "error")));
    assert_verifies(dir.path());
}

#[test]
fn garbage_and_impostors_on_a_vm_port_change_nothing() {
    let dir = tempdir();
    let ports = free_ports(2);
    let c1 = start_vm(dir.path(), 1, &ports, 100, "2");
    let c2 = start_vm(dir.path(), 2, &ports, 50, "2");
    wait_for_line(
        &log_path(dir.path(), 1),
        "tick=20 ",
        Duration::from_secs(20),
    );
    // VM 2 accepts VM 1's link (the lower id dials): the attacks play VM 1.
    let target = format!("127.0.0.1:{}", ports[1]);
    let frame = |f: Frame| {
        let mut b = Vec::new();
        f.encode(&mut b);
        b
    };
    let hello = |from, to, run: &str| {
        frame(Frame::Hello {
            from,
            to,
            nonce: [7; 16],
            instance: 1,
            run: run.into(),
        })
    };
    let msg = frame(Frame::Msg {
        seq: 1,
        sent_tick: 1,
        clock: 1_000_000,
    });
    let forged = frame(Frame::Proof {
        resume: 0,
        mac: [0; 32],
    });
    let attacks: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.0\r\n\r\n".to_vec(),
        vec![0xff; 300],
        vec![0, 0],
        hello(1, 2, "other-run"),
        hello(9, 2, "t"),
        hello(1, 7, "t"),
        hello(3, 2, "t"), // not a peer, and would have to be dialled
        [hello(1, 2, "t"), msg.clone()].concat(), // no proof, straight to a message
        [hello(1, 2, "t"), forged, msg].concat(), // a proof without the secret
    ];
    for bytes in &attacks {
        if let Ok(mut s) = TcpStream::connect(&target) {
            let _ = s.write_all(bytes);
        }
    }
    for c in [c1, c2] {
        wait_ok(c);
    }
    let logs = read_logs(dir.path());
    assert_eq!(stop_of(&logs[0].1), Some((200, "runtime")));
    assert!(
        !logs[0]
            .1
            .iter()
            .any(|l| format!("{:?}", l.event).contains("1000000")),
        "an impostor injected a message"
    );
    assert_verifies(dir.path());
}
