//! Links under faults, on real processes and real TCP: connections reset
//! (`ss -K`), a VM paused across the end of the run, a network partition
//! healed mid-run, impostors without the run's secret, a VM killed outright.
//! After each run `verify` and the independent checker must pass and every
//! message to a VM that stopped cleanly must be in its log exactly once.
//! Resets and namespaces need root and iproute2: without them these tests
//! skip visibly (and fail under `LAMPORT_SIM_REQUIRE_ALL=1`).
//!
//! With `LAMPORT_SIM_KEEP_FAILED=DIR` a failing test leaves its logs and its
//! processes' output in `DIR/<test>/`.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use lamport_sim::logline::{Event, Line};

/// Stops VM 3 (process `pid`) with SIGSTOP from `from` to `to` seconds
/// after `start`, noting both in `aux`.
fn pause_vm(aux: &Path, pid: u32, start: Instant, from: f64, to: f64) {
    sleep_until(start + Duration::from_secs_f64(from));
    note(aux, "SIGSTOP VM 3");
    signal(pid, "STOP");
    sleep_until(start + Duration::from_secs_f64(to));
    note(aux, "SIGCONT VM 3");
    signal(pid, "CONT");
}

/// Sleeps until `at` (at once if it is past).
fn sleep_until(at: Instant) {
    std::thread::sleep(at.saturating_duration_since(Instant::now()));
}

/// What [`reset_soon`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reset {
    /// It destroyed this many sockets.
    Done(usize),
    /// There were connections, and `ss -K` destroyed none: the kernel cannot.
    Unsupported,
    /// There was no connection to reset (the link was not up).
    NothingThere,
}

/// Resets the connections of `port` (see [`reset_connections_of`]), trying
/// again for up to `patience` while there is none (a link still coming
/// back). Notes what it did in `aux`'s timeline.
fn reset_soon(port: u16, patience: Duration, aux: &Path) -> Reset {
    let end = Instant::now() + patience;
    loop {
        let (matched, destroyed) = reset_connections_of(port).unwrap_or_else(|e| panic!("{e}"));
        note(
            aux,
            &format!("ss -K port {port}: {matched} matched, {destroyed} destroyed"),
        );
        if destroyed > 0 {
            return Reset::Done(destroyed);
        }
        if matched > 0 {
            return Reset::Unsupported;
        }
        if Instant::now() >= end {
            return Reset::NothingThere;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Appends `what`, with the wall time, to `aux/faults.txt`: the faults'
/// timeline, kept with the logs when a test fails.
fn note(aux: &Path, what: &str) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(aux.join("faults.txt"))
    {
        let _ = writeln!(f, "{} {what}", now_us());
    }
}

/// `lamport-sim run` of 3 VMs at 20..60 ticks/s for `runtime` s on free ports.
fn launcher(dir: &Path, runtime: &str) -> Command {
    let mut c = bin();
    c.args(["--vms", "3", "--runtime", runtime])
        .args(["--min-rate", "20", "--max-rate", "60", "--base-port", "0"])
        .arg("--logs")
        .arg(dir);
    c
}

/// The `link_down` / `link_up` events VM `id`'s log has about `peer`, in
/// order: `false` for down, `true` for up.
fn link_events(lines: &[Line], peer: u32) -> Vec<bool> {
    lines
        .iter()
        .filter_map(|l| match l.event {
            Event::LinkDown { peer: p } if p == peer => Some(false),
            Event::LinkUp { peer: p, .. } if p == peer => Some(true),
            _ => None,
        })
        .collect()
}

/// Fails unless `events` (see [`link_events`]) is down, up, down, up, ...
/// with at least `breaks` downs, each followed by its up.
fn assert_healed(events: &[bool], breaks: usize, what: &str) {
    let downs = events.iter().filter(|up| !**up).count();
    let alternates = events.iter().enumerate().all(|(i, up)| *up == (i % 2 == 1));
    assert!(
        downs >= breaks && alternates && events.len() % 2 == 0,
        "{what}: expected at least {breaks} link_down, each followed by link_up; got {events:?} (false = down)"
    );
}

/// Fails if any log has a `peer_lost`.
fn assert_no_peer_lost(logs: &[(u32, Vec<Line>)]) {
    for (id, lines) in logs {
        let lost: Vec<_> = lines
            .iter()
            .filter(|l| matches!(l.event, Event::PeerLost { .. }))
            .collect();
        assert!(lost.is_empty(), "vm {id} gave up: {lost:?}");
    }
}

/// Every check a clean run must pass: `verify`, check.py, nothing lost.
fn assert_clean(dir: &Path) {
    assert_verifies(dir);
    assert_crosschecks(dir);
    let n = assert_every_message_once(dir);
    assert!(n > 0, "the run sent no message to check");
}

/// Waits for a `start` line in VM `id`'s log; the instant it was written
/// (by its time, so a test that notices late still times its faults from
/// the run's start).
fn started(dir: &Path, id: u32) -> Instant {
    wait_for_line(&log_path(dir, id), "event=start", Duration::from_secs(20));
    let text = std::fs::read_to_string(log_path(dir, id)).expect("read log");
    let first = text.lines().next().expect("a start line");
    let at = lamport_sim::logline::Line::parse(first)
        .map(|l| l.time_us)
        .unwrap_or_else(|e| panic!("{first}: {e}"));
    let late = Duration::from_micros(now_us().saturating_sub(at).max(0) as u64);
    Instant::now()
        .checked_sub(late)
        .unwrap_or_else(Instant::now)
}

fn keep(name: &str, dirs: &[&Path]) -> KeepOnFailure {
    KeepOnFailure {
        name: name.into(),
        dirs: dirs.iter().map(|d| d.to_path_buf()).collect(),
    }
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "ss -K and /proc are Linux's")]
fn two_tcp_resets_mid_run_heal_and_lose_nothing() {
    const NAME: &str = "two_tcp_resets_mid_run_heal_and_lose_nothing";
    if let Some(why) = cannot_kill_sockets() {
        skip(NAME, &why);
        return;
    }
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let child = spawn_to_files(&mut launcher(dir.path(), "8"), aux.path(), "launcher");
    let start = started(dir.path(), 2);
    // VM 2 accepts the link from VM 1 (the lower id dials): resetting the
    // connections of VM 2's port breaks the link 1-2 and no other.
    let pid = vm_pid(dir.path(), 2).expect("VM 2's process");
    let port = listening_port(pid).unwrap_or_else(|e| panic!("{e}"));
    let mut resets = Vec::new();
    for at in [2.5, 5.0] {
        sleep_until(start + Duration::from_secs_f64(at));
        resets.push(reset_soon(port, Duration::from_secs(1), aux.path()));
    }
    let code = exit_code_within(child, Duration::from_secs(30));
    if resets[0] == Reset::Unsupported {
        skip(
            NAME,
            "ss -K destroyed no socket (a kernel without INET_DIAG_DESTROY)",
        );
        return;
    }
    let stderr = output_of(aux.path(), "launcher", "err");
    assert!(
        resets.iter().all(|r| matches!(r, Reset::Done(_))),
        "resets {resets:?}: the link 1-2 was not up when reset\n{stderr}"
    );
    assert_eq!(code, Some(0), "launcher: {stderr}");
    let logs = read_logs(dir.path());
    assert_healed(&link_events(&logs[0].1, 2), 2, "VM 1 about VM 2");
    assert_healed(&link_events(&logs[1].1, 1), 2, "VM 2 about VM 1");
    for peer in [1, 2] {
        assert_eq!(
            link_events(&logs[2].1, peer),
            [] as [bool; 0],
            "VM 3's link to VM {peer} was never touched"
        );
    }
    assert_no_peer_lost(&logs);
    assert_clean(dir.path());
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn a_peer_given_up_on_stays_given_up_when_it_comes_back() {
    const NAME: &str = "a_peer_given_up_on_stays_given_up_when_it_comes_back";
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let mut cmd = launcher(dir.path(), "8");
    cmd.args(["--peer-timeout", "2"]);
    let child = spawn_to_files(&mut cmd, aux.path(), "launcher");
    let start = started(dir.path(), 3);
    let pid = vm_pid(dir.path(), 3).expect("VM 3's process");
    // Paused well past --peer-timeout: VMs 1 and 2 give up on VM 3, whose
    // redials were still in the listen queue when it comes back.
    pause_vm(aux.path(), pid, start, 2.0, 7.0);
    let code = exit_code_within(child, Duration::from_secs(40));
    let stderr = output_of(aux.path(), "launcher", "err");
    assert_eq!(code, Some(1), "launcher: {stderr}");
    assert!(stderr.contains("gave up on VM 3"), "launcher: {stderr}");
    for (id, lines) in &read_logs(dir.path()) {
        // After its `peer_lost` a VM logs nothing more about that link.
        let mut lost = Vec::new();
        for l in lines {
            match l.event {
                Event::PeerLost { peer } => lost.push(peer),
                Event::LinkUp { peer, .. } | Event::LinkDown { peer } => {
                    assert!(
                        !lost.contains(&peer),
                        "vm {id}: link event for VM {peer} after its peer_lost at {} us",
                        l.time_us
                    );
                }
                _ => {}
            }
        }
        if *id != 3 {
            assert!(lost.contains(&3), "vm {id} never gave up on VM 3");
        }
    }
    // verify fails on the messages really lost, and on nothing else.
    let out = bin()
        .arg("verify")
        .arg(dir.path())
        .output()
        .expect("verify");
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "verify: {report}");
    assert!(report.contains("never recorded"), "verify: {report}");
    assert!(!report.contains("without a link_down"), "verify: {report}");
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn a_vm_silent_past_the_stop_grace_is_given_up_on_by_the_launcher() {
    const NAME: &str = "a_vm_silent_past_the_stop_grace_is_given_up_on_by_the_launcher";
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let mut cmd = launcher(dir.path(), "4");
    cmd.args(["--stop-grace", "1"]);
    let child = spawn_to_files(&mut cmd, aux.path(), "launcher");
    let start = started(dir.path(), 3);
    let pid = vm_pid(dir.path(), 3).expect("VM 3's process");
    // Paused from before the end until well past the grace: VM 3 says no
    // goodbye in time, and only the launcher can tell (VMs 1 and 2 cannot
    // tell a slow launcher from a silent peer).
    pause_vm(aux.path(), pid, start, 3.0, 8.0);
    let code = exit_code_within(child, Duration::from_secs(40));
    let stderr = output_of(aux.path(), "launcher", "err");
    assert_eq!(code, Some(1), "launcher: {stderr}");
    assert!(
        stderr.contains("gave up on VM 3: it said no goodbye within 1 s"),
        "launcher: {stderr}"
    );
    let logs = read_logs(dir.path());
    for (id, lines) in &logs[..2] {
        assert!(
            lines
                .iter()
                .any(|l| matches!(l.event, Event::PeerLost { peer: 3 })),
            "vm {id} never gave up on VM 3"
        );
        assert!(stop_of(lines).is_some(), "vm {id} has no stop line");
    }
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn the_launcher_passes_on_the_counts_of_what_was_in_flight_at_the_stop() {
    const NAME: &str = "the_launcher_passes_on_the_counts_of_what_was_in_flight_at_the_stop";
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let mut cmd = launcher(dir.path(), "4");
    cmd.env("LAMPORT_SIM_TRACE", "1");
    let child = spawn_to_files(&mut cmd, aux.path(), "launcher");
    let start = started(dir.path(), 3);
    let pid = vm_pid(dir.path(), 3).expect("VM 3's process");
    // VM 3 acknowledges nothing in the last second: VMs 1 and 2 stop with
    // messages to it unacknowledged, and their goodbyes must say how many
    // (the others' goodbyes say only that they stopped).
    pause_vm(aux.path(), pid, start, 3.0, 5.0);
    let code = exit_code_within(child, Duration::from_secs(30));
    let stderr = output_of(aux.path(), "launcher", "err");
    assert_eq!(code, Some(0), "launcher: {stderr}");
    let counts: u64 = stderr
        .lines()
        .find_map(|l| {
            let rest = l.split_once("goodbyes heard over")?.1;
            rest.split_once(" s, ")?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no goodbye trace: {stderr}"));
    assert!(counts >= 1, "no count passed on: {stderr}");
    let logs = read_logs(dir.path());
    for (id, lines) in &logs {
        assert!(stop_of(lines).is_some(), "vm {id} has no stop line");
    }
    assert_no_peer_lost(&logs);
    assert_clean(dir.path());
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn a_vm_paused_across_the_end_of_the_run_loses_nothing() {
    const NAME: &str = "a_vm_paused_across_the_end_of_the_run_loses_nothing";
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let child = spawn_to_files(&mut launcher(dir.path(), "6"), aux.path(), "launcher");
    let start = started(dir.path(), 3);
    let pid = vm_pid(dir.path(), 3).expect("VM 3's process");
    // From 1.5 s before the end to 1.5 s after it: within the 5 s stop grace.
    pause_vm(aux.path(), pid, start, 4.5, 7.5);
    let code = exit_code_within(child, Duration::from_secs(30));
    let stderr = output_of(aux.path(), "launcher", "err");
    assert_eq!(code, Some(0), "launcher: {stderr}");
    let logs = read_logs(dir.path());
    for (id, lines) in &logs {
        assert!(stop_of(lines).is_some(), "vm {id} has no stop line");
    }
    // The pause really paused VM 3: its log stops for seconds.
    let gap = logs[2]
        .1
        .windows(2)
        .map(|w| w[1].time_us - w[0].time_us)
        .max()
        .unwrap_or(0);
    assert!(
        gap > 2_000_000,
        "VM 3's log never paused (longest gap {gap} us)"
    );
    assert_no_peer_lost(&logs);
    assert_clean(dir.path());
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "makes Linux network namespaces with ip(8)"
)]
fn a_partition_healed_mid_run_is_logged_and_loses_nothing() {
    const NAME: &str = "a_partition_healed_mid_run_is_logged_and_loses_nothing";
    if let Some(why) = cannot_make_hosts() {
        skip(NAME, &why);
        return;
    }
    let (hosts, addrs) = match make_hosts(3, 100 + std::process::id() % 150) {
        Ok(h) => h,
        Err(why) => {
            skip(NAME, &format!("cannot make namespaces: {why}"));
            return;
        }
    };
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let children: Vec<_> = (1..=3usize)
        .map(|i| {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &hosts.names[i]])
                .arg(env!("CARGO_BIN_EXE_lamport-sim"))
                .args(["vm", "--id", &i.to_string()])
                .args(["--listen", &format!("{}:7000", addrs[i - 1])])
                .args(["--rate", &(10 + 10 * i).to_string(), "--runtime", "9"])
                .args(["--run", "partition", "--seed", "11", "--logs"])
                .arg(dir.path())
                .env("LAMPORT_SECRET", "partition-secret");
            for j in (1..=3).filter(|&j| j != i) {
                c.args(["--peer", &format!("{j}={}:7000", addrs[j - 1])]);
            }
            spawn_to_files(&mut c, aux.path(), &format!("vm{i}"))
        })
        .collect();
    let start = started(dir.path(), 3);
    // Cut VM 3 off (its veth end on the bridge) from 2.5 s to 5.5 s.
    let hub = hosts.names[0].clone();
    let cut = hosts.outer[2].clone();
    sleep_until(start + Duration::from_secs_f64(2.5));
    note(aux.path(), "cut VM 3 off");
    ip(&["-n", &hub, "link", "set", &cut, "down"]).unwrap_or_else(|e| panic!("{e}"));
    sleep_until(start + Duration::from_secs_f64(5.5));
    note(aux.path(), "VM 3 back");
    ip(&["-n", &hub, "link", "set", &cut, "up"]).unwrap_or_else(|e| panic!("{e}"));
    for (i, c) in (1..).zip(children) {
        let code = exit_code_within(c, Duration::from_secs(30));
        assert_eq!(
            code,
            Some(0),
            "vm {i}: {}",
            output_of(aux.path(), &format!("vm{i}"), "err")
        );
    }
    let logs = read_logs(dir.path());
    // The cut really cut: something VM 3 sent VM 1 took over 1.5 s to arrive.
    let slowest = slowest_delivery_us(&logs[2].1, &logs[0].1);
    assert!(
        slowest > 1_500_000,
        "no message from VM 3 to VM 1 was held up by the cut (slowest {slowest} us)"
    );
    for peer in [1, 2] {
        // A silent cut: either side may be the first to notice.
        let seen_by_3 = link_events(&logs[2].1, peer);
        let seen_by_peer = link_events(&logs[peer as usize - 1].1, 3);
        assert!(
            !seen_by_3.is_empty() || !seen_by_peer.is_empty(),
            "a 3 s partition between VM 3 and VM {peer} logged no link_down"
        );
        assert_healed(&seen_by_3, 0, &format!("VM 3 about VM {peer}"));
        assert_healed(&seen_by_peer, 0, &format!("VM {peer} about VM 3"));
    }
    assert_eq!(
        link_events(&logs[0].1, 2),
        [] as [bool; 0],
        "the link 1-2 was never cut"
    );
    assert_no_peer_lost(&logs);
    assert_clean(dir.path());
    drop(hosts);
}

/// The longest a message from the sender (`from`, its log) took to reach
/// the receiver's queue (`to`, its log): arrival is the receive's time less
/// its wait on the queue. In microseconds.
fn slowest_delivery_us(from: &[Line], to: &[Line]) -> i64 {
    let sender = from.first().map_or(0, |l| l.vm);
    let sent_at: std::collections::HashMap<u64, i64> = from
        .iter()
        .filter_map(|l| match l.event {
            Event::Send { tick, .. } => Some((tick, l.time_us)),
            _ => None,
        })
        .collect();
    to.iter()
        .filter_map(|l| match l.event {
            Event::Receive {
                from,
                sent_tick,
                wait_us,
                ..
            } if from == sender => Some(l.time_us - wait_us as i64 - sent_at.get(&sent_tick)?),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// `(sent_tick, clock)` of every message VM `from`'s log sends to `to`.
fn sends_to(lines: &[Line], to: u32) -> Vec<(u64, u64)> {
    lines
        .iter()
        .filter_map(|l| match &l.event {
            Event::Send {
                tick, clock, to: t, ..
            } if t.contains(&to) => Some((*tick, *clock)),
            _ => None,
        })
        .collect()
}

/// `(sent_tick, msg_clock)` of every message a log records from `from`.
fn recorded_from(lines: &[Line], from: u32) -> Vec<(u64, u64)> {
    lines
        .iter()
        .filter_map(|l| match l.event {
            Event::Receive {
                from: f,
                sent_tick,
                msg_clock,
                ..
            }
            | Event::Pending {
                from: f,
                sent_tick,
                msg_clock,
            } if f == from => Some((sent_tick, msg_clock)),
            _ => None,
        })
        .collect()
}

/// True if `dir`'s log of VM `id` shows that VM ticked (a VM that failed to
/// connect may still log `start` and `stop reason=error`).
fn ever_ticked(dir: &Path, id: u32) -> bool {
    std::fs::read_to_string(log_path(dir, id)).is_ok_and(|t| t.contains(" tick="))
}

/// The clock a raw impostor's message carries: never a real run's.
const FORGED_CLOCK: u64 = 1_000_000_000_000;

/// An impostor that speaks the protocol itself, to the letter, and holds
/// the wrong secret: `Hello` as VM 1 of `run` to VM 2 at `port`, a `Proof`
/// made with its own secret in answer to the `Challenge` (it does not stop
/// at the challenge's MAC, which it cannot check), then one `Msg` with a
/// clock of 10^12. `Ok` once VM 2 has closed the connection (or was not
/// there), `Err` if VM 2 answered the proof or kept the connection 5 s.
fn raw_impostor(port: u16, run: &str) -> Result<(), String> {
    use lamport_sim::vm::auth::{self, Secret, Side, Transcript};
    use lamport_sim::wire::{Frame, FrameReader, ReadError};
    use std::io::{ErrorKind, Write};
    let send = |s: &mut std::net::TcpStream, f: Frame| {
        let mut b = Vec::new();
        f.encode(&mut b);
        // VM 2 may close before all is written: that is its right.
        let _ = s.write_all(&b);
    };
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return Ok(()); // VM 2 is gone: nothing to get into
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let (nonce, instance) = (auth::nonce(), 7);
    let hello = Frame::Hello {
        from: 1,
        to: 2,
        nonce,
        instance,
        run: run.into(),
    };
    send(&mut stream, hello);
    let Ok(clone) = stream.try_clone() else {
        return Err("cannot clone the stream".into());
    };
    let mut reader = FrameReader::new(clone);
    if let Ok(Frame::Challenge {
        nonce: theirs,
        instance: their_instance,
        ..
    }) = reader.next_frame()
    {
        let t = Transcript {
            run,
            dialer: 1,
            acceptor: 2,
            dialer_nonce: nonce,
            acceptor_nonce: theirs,
            dialer_instance: instance,
            acceptor_instance: their_instance,
        };
        let mac = t.mac(&Secret::new(&b"B-not-the-secret"[..]), Side::Dialer, 0);
        send(&mut stream, Frame::Proof { resume: 0, mac });
        let forged = Frame::Msg {
            seq: 1,
            sent_tick: 1,
            clock: FORGED_CLOCK,
        };
        send(&mut stream, forged);
    }
    loop {
        match reader.next_frame() {
            Ok(Frame::Reject { .. }) => {}
            Ok(f) => return Err(format!("VM 2 answered the impostor's proof with {f:?}")),
            Err(ReadError::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                return Err("VM 2 kept the impostor's connection open 5 s".into());
            }
            Err(_) => return Ok(()),
        }
    }
}

/// True if any log in `dir` holds the raw impostor's clock.
fn forged_clock_logged(dir: &Path) -> bool {
    read_logs(dir).iter().any(|(_, lines)| {
        lines.iter().any(|l| match l.event {
            Event::Receive { msg_clock, .. } | Event::Pending { msg_clock, .. } => {
                msg_clock == FORGED_CLOCK
            }
            _ => false,
        })
    })
}

/// An impostor: `vm --id 1` of run `run` towards VM 2 at `vm2_port`,
/// holding the wrong secret, giving up after 1 s; logs in `logs`.
fn impostor(logs: &Path, vm2_port: u16, run: &str) -> Command {
    let ports = [free_ports(1)[0], vm2_port];
    let mut c = vm_cmd(logs, 1, &ports, 200, "3", run, 99);
    c.args(["--connect-timeout", "1"])
        .env("LAMPORT_SECRET", "B-not-the-secret");
    c
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc")]
fn an_impostor_before_the_real_peer_gets_nowhere() {
    const NAME: &str = "an_impostor_before_the_real_peer_gets_nowhere";
    let (dir, aux, fake) = (tempdir(), tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path(), fake.path()]);
    let ports = free_ports(2);
    let real = |id: u32, rate: u32| {
        let mut c = vm_cmd(dir.path(), id, &ports, rate, "3", "members", 5);
        c.env("LAMPORT_SECRET", "A-the-secret");
        spawn_to_files(&mut c, aux.path(), &format!("vm{id}"))
    };
    // VM 2 accepts the link 1-2; an impostor VM 1 reaches it first.
    let vm2 = real(2, 50);
    let end = Instant::now() + Duration::from_secs(20);
    while listening_port(vm2.id()).is_err() {
        assert!(Instant::now() < end, "VM 2 never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    // First one that goes on past the challenge and proves with the wrong
    // secret (first: VM 2 words the first warning of a kind in full and
    // only counts the next ones).
    raw_impostor(ports[1], "members").unwrap_or_else(|e| panic!("{e}"));
    wait_for_line(
        &aux.path().join("vm2.err"),
        "warning: rejected connection",
        Duration::from_secs(10),
    );
    let vm2_err = output_of(aux.path(), "vm2", "err");
    assert!(
        vm2_err.contains("does not hold the run's secret"),
        "VM 2 says why it refused: {vm2_err}"
    );
    // Then the real binary, as VM 1 with the wrong secret.
    let imp = spawn_to_files(
        &mut impostor(fake.path(), ports[1], "members"),
        aux.path(),
        "impostor",
    );
    let code = exit_code_within(imp, Duration::from_secs(20));
    let imp_err = output_of(aux.path(), "impostor", "err");
    assert_ne!(code, Some(0), "the impostor joined: {imp_err}");
    assert!(
        imp_err.contains("secret"),
        "the impostor's error names the secret: {imp_err}"
    );
    assert!(
        !ever_ticked(fake.path(), 1),
        "the impostor started ticking: {imp_err}"
    );
    assert!(
        !ever_ticked(dir.path(), 2),
        "VM 2 started its run with the impostor"
    );
    let vm1 = real(1, 40);
    for (id, c) in [(1, vm1), (2, vm2)] {
        let code = exit_code_within(c, Duration::from_secs(30));
        assert_eq!(
            code,
            Some(0),
            "vm {id}: {}",
            output_of(aux.path(), &format!("vm{id}"), "err")
        );
    }
    let logs = read_logs(dir.path());
    let mut sent = sends_to(&logs[0].1, 2);
    let mut got = recorded_from(&logs[1].1, 1);
    sent.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, sent, "VM 2 records exactly the real VM 1's messages");
    assert!(
        !forged_clock_logged(dir.path()),
        "the impostor's message was logged"
    );
    assert_no_peer_lost(&logs);
    assert_clean(dir.path());
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "ss -K and /proc are Linux's")]
fn an_impostor_at_a_reconnect_gets_nowhere() {
    const NAME: &str = "an_impostor_at_a_reconnect_gets_nowhere";
    if let Some(why) = cannot_kill_sockets() {
        skip(NAME, &why);
        return;
    }
    let (dir, aux, fake) = (tempdir(), tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path(), fake.path()]);
    let ports = free_ports(2);
    let real = |id: u32, rate: u32| {
        let mut c = vm_cmd(dir.path(), id, &ports, rate, "7", "members", 6);
        c.env("LAMPORT_SECRET", "A-the-secret");
        spawn_to_files(&mut c, aux.path(), &format!("vm{id}"))
    };
    let (vm1, vm2) = (real(1, 40), real(2, 50));
    let start = started(dir.path(), 2);
    // Impostors dial VM 2 one after another for the whole run (and stop
    // when this test ends, even by a panic).
    let done = Arc::new(AtomicBool::new(false));
    let _stop_dialling = SetOnDrop(done.clone());
    let dialler = {
        let (done, fake, aux) = (
            done.clone(),
            fake.path().to_path_buf(),
            aux.path().to_path_buf(),
        );
        let vm2_port = ports[1];
        std::thread::spawn(move || {
            let mut tries = 0u32;
            while !done.load(Ordering::Relaxed) {
                tries += 1;
                if tries % 2 == 0 {
                    if let Err(e) = raw_impostor(vm2_port, "members") {
                        panic!("{e}");
                    }
                    continue;
                }
                let imp =
                    spawn_to_files(&mut impostor(&fake, vm2_port, "members"), &aux, "impostor");
                let code = exit_code_within(imp, Duration::from_secs(20));
                let err = output_of(&aux, "impostor", "err");
                assert_ne!(code, Some(0), "an impostor joined: {err}");
                assert!(!ever_ticked(&fake, 1), "an impostor started: {err}");
            }
            tries
        })
    };
    let mut resets = Vec::new();
    for at in [2.0, 4.5] {
        sleep_until(start + Duration::from_secs_f64(at));
        resets.push(reset_soon(ports[1], Duration::from_secs(1), aux.path()));
    }
    let codes = [
        exit_code_within(vm1, Duration::from_secs(30)),
        exit_code_within(vm2, Duration::from_secs(30)),
    ];
    done.store(true, Ordering::Relaxed);
    let tries = dialler.join().expect("the impostors' thread");
    if resets[0] == Reset::Unsupported {
        skip(
            NAME,
            "ss -K destroyed no socket (a kernel without INET_DIAG_DESTROY)",
        );
        return;
    }
    assert!(
        resets.iter().all(|r| matches!(r, Reset::Done(_))),
        "resets {resets:?}: the link 1-2 was not up when reset"
    );
    for (id, code) in [(1, codes[0]), (2, codes[1])] {
        assert_eq!(
            code,
            Some(0),
            "vm {id}: {}",
            output_of(aux.path(), &format!("vm{id}"), "err")
        );
    }
    assert!(
        tries >= 4,
        "only {tries} impostor(s) dialled during the run"
    );
    let vm2_err = output_of(aux.path(), "vm2", "err");
    // (Which impostor was turned away first, and so worded in full, varies.)
    assert!(
        vm2_err.contains("warning: rejected connection"),
        "VM 2 never turned an impostor away while it ran:\n{vm2_err}"
    );
    assert!(
        !forged_clock_logged(dir.path()),
        "an impostor's message was logged"
    );
    let logs = read_logs(dir.path());
    assert_healed(&link_events(&logs[0].1, 2), 2, "VM 1 about VM 2");
    assert_healed(&link_events(&logs[1].1, 1), 2, "VM 2 about VM 1");
    let mut sent = sends_to(&logs[0].1, 2);
    let mut got = recorded_from(&logs[1].1, 1);
    sent.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, sent, "VM 2 records exactly the real VM 1's messages");
    assert_no_peer_lost(&logs);
    assert_clean(dir.path());
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Microseconds since the Unix epoch now, as log lines count time.
fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn a_crashed_vm_is_given_up_at_once_and_only_its_losses_are_reported() {
    const NAME: &str = "a_crashed_vm_is_given_up_at_once_and_only_its_losses_are_reported";
    let (dir, aux) = (tempdir(), tempdir());
    let _keep = keep(NAME, &[dir.path(), aux.path()]);
    let child = spawn_to_files(&mut launcher(dir.path(), "5"), aux.path(), "launcher");
    let start = started(dir.path(), 2);
    let pid = vm_pid(dir.path(), 2).expect("VM 2's process");
    sleep_until(start + Duration::from_secs_f64(1.5));
    let killed_at = now_us();
    note(aux.path(), "SIGKILL VM 2");
    signal(pid, "KILL");
    let code = exit_code_within(child, Duration::from_secs(30));
    let stderr = output_of(aux.path(), "launcher", "err");
    assert_eq!(code, Some(1), "launcher: {stderr}");
    assert!(stderr.contains("VM 2 died"), "{stderr}");
    let logs = read_logs(dir.path());
    assert_eq!(stop_of(&logs[1].1), None, "a SIGKILLed VM logs no stop");
    for (id, lines) in logs.iter().filter(|(id, _)| *id != 2) {
        assert_eq!(stop_of(lines).map(|s| s.1), Some("runtime"), "vm {id}");
        // Given up at once (told `gone 2` by the launcher): mid-run, ticks
        // still to come, not after the 30 s peer timeout or at the stop.
        let lost = lines
            .iter()
            .position(|l| l.event == Event::PeerLost { peer: 2 })
            .unwrap_or_else(|| panic!("vm {id} never gave up on VM 2"));
        assert!(
            lines[lost].time_us >= killed_at,
            "vm {id} gave up before the kill"
        );
        let ticks_after = lines[lost..]
            .iter()
            .filter(|l| l.event.kind() == "internal" || l.event.kind() == "send")
            .count();
        assert!(
            ticks_after > 20,
            "vm {id} gave up on VM 2 only {ticks_after} ticks before its end"
        );
        let others = lines
            .iter()
            .filter(|l| matches!(l.event, Event::PeerLost { peer } if peer != 2))
            .count();
        assert_eq!(others, 0, "vm {id} gave up on a live peer");
    }
    let out = run_with_limit(bin().arg("verify").arg(dir.path()), Duration::from_secs(30));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "verify: {report}");
    // The only loss is the crashed VM's, and it is counted by that cause.
    // (verify wraps long lines, continuing them indented.)
    let unwrapped = report.replace("\n  ", " ");
    let summary = unwrapped
        .lines()
        .find(|l| l.starts_with("messages: "))
        .unwrap_or_else(|| panic!("no messages line: {report}"));
    let causes = summary
        .split_once("lost (")
        .and_then(|(_, c)| c.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no loss by cause: {summary}"));
    let (n, cause) = causes.split_once(' ').unwrap_or(("", causes));
    assert!(
        n.parse::<u64>().is_ok() && cause == "to crashed VM 2",
        "verify reports other losses: {summary}"
    );
    assert_crosschecks(dir.path());
    // Between the survivors nothing is lost.
    assert!(assert_every_message_once(dir.path()) > 0);
}
