//! Faults and hostile input: Ctrl+C at any moment, and a live VM under a
//! storm of bad connections. Nothing may hang, crash, orphan or lose.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use lamport_sim::wire::Frame;

/// Ctrl+C to the launcher at `delay` after launch, in a run of 1 s; with
/// `group`, to its whole process group, as a terminal does.
fn interrupt_at(delay: Duration, group: bool) {
    let dir = tempdir();
    let mut cmd = fast_run(dir.path(), &["--vms", "3", "--runtime", "1"]);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(delay);
    if group {
        signal_group(child.id(), "INT");
    } else {
        signal(child.id(), "INT");
    }
    let out = wait_with_limit(child, Duration::from_secs(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_no_process_left(dir.path(), Duration::from_secs(2));
    let has_logs = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("machine_"));
    // Only a signal in the launcher's first instants, before its handler
    // exists (and so before any VM), may end it the default way.
    let ok = match out.status.code() {
        Some(code) => code == 0 || code == 130,
        None => !has_logs,
    };
    assert!(ok, "at {delay:?}: {:?} {stderr}", out.status);
    if has_logs {
        for (id, lines) in read_logs(dir.path()) {
            assert!(
                stop_of(&lines).is_some(),
                "at {delay:?}: vm {id} has no stop line"
            );
        }
        assert_verifies(dir.path());
    }
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn ctrl_c_during_spawn_and_set_up() {
    for ms in [0, 5, 15, 40] {
        interrupt_at(Duration::from_millis(ms), false);
    }
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn ctrl_c_mid_run_and_during_the_stop_drain() {
    for ms in [300, 990, 1005, 1030] {
        interrupt_at(Duration::from_millis(ms), false);
    }
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "sends signals with kill(1), reads /proc"
)]
fn ctrl_c_from_a_terminal_reaches_the_whole_group() {
    for ms in [0, 10, 30, 300] {
        interrupt_at(Duration::from_millis(ms), true);
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn frame(f: Frame) -> Vec<u8> {
    let mut b = Vec::new();
    f.encode(&mut b);
    b
}

/// One hostile payload: random bytes, or a valid frame with a few bytes flipped.
fn hostile(rng: &mut Xorshift, i: usize) -> Vec<u8> {
    let hello = frame(Frame::Hello {
        from: 1,
        to: 2,
        nonce: [3; 16],
        instance: 9,
        run: "fz".into(),
    });
    let msg = frame(Frame::Msg {
        seq: 1,
        sent_tick: 1,
        clock: 999_999,
    });
    match i % 4 {
        0 => {
            let n = (rng.next() % 300) as usize;
            rng.bytes(n)
        }
        1 => {
            let mut b = hello;
            let k = (rng.next() as usize) % b.len();
            b[k] ^= 1 + (rng.next() as u8 % 255);
            [b, msg].concat()
        }
        2 => [
            frame(Frame::Hello {
                from: 1,
                to: 2,
                nonce: [4; 16],
                instance: 9,
                run: "other".into(),
            }),
            msg,
        ]
        .concat(),
        // The real, connected VM 1's name, without the secret.
        _ => [
            hello,
            frame(Frame::Proof {
                resume: 0,
                mac: [0; 32],
            }),
            msg,
        ]
        .concat(),
    }
}

/// Hostile connections the storm makes, all held open at once.
const STORM: usize = 1000;

/// True once the VM has closed `stream` (end of file or a reset) before `deadline`.
fn closed_by_peer(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {} // a `reject` frame, then the close
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        }
    }
}

/// Lets this process hold every connection of the storm (macOS starts at 256 fds).
#[cfg(unix)]
fn allow_open_files(n: u64) {
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && (lim.rlim_cur as u64) < n {
            lim.rlim_cur = lim.rlim_max.min(n as libc::rlim_t);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[cfg(not(unix))]
fn allow_open_files(_n: u64) {}

/// A storm of hostile connections, all held open: the VM must close every
/// one (bad frame, refused hello, or no hello in time), crash on none, let
/// none inject a message, and make every tick. How fast the storm goes is
/// the machine's business, not the test's.
#[test]
fn a_live_vm_shrugs_off_thousands_of_hostile_connections() {
    allow_open_files(STORM as u64 + 256);
    let dir = tempdir();
    let ports = free_ports(2);
    let spawn = |id: u32, rate: u32| {
        vm_cmd(dir.path(), id, &ports, rate, "4", "fz", 5)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (c1, c2) = (spawn(1, 200), spawn(2, 100));
    wait_for_line(
        &log_path(dir.path(), 1),
        "tick=10 ",
        Duration::from_secs(20),
    );
    // VM 2 accepts the link from VM 1 (the lower id dials): the storm plays VM 1.
    let target = format!("127.0.0.1:{}", ports[1]);
    // A frame cut in half and left hanging.
    let mut hanging = TcpStream::connect(&target).expect("connect");
    hanging
        .write_all(
            &frame(Frame::Hello {
                from: 1,
                to: 2,
                nonce: [5; 16],
                instance: 9,
                run: "fz".into(),
            })[..5],
        )
        .expect("write");
    let mut rng = Xorshift(0x5EED_1234_ABCD_0001);
    let mut storm = Vec::with_capacity(STORM);
    for i in 0..STORM {
        let mut s = TcpStream::connect(&target)
            .unwrap_or_else(|e| panic!("hostile connection {i} could not connect: {e}"));
        // The VM may close it before all is written: that is its right.
        let _ = s.write_all(&hostile(&mut rng, i));
        storm.push(s);
    }
    // Every handshake ends within HANDSHAKE_TIMEOUT (3 s) of the last connect.
    let deadline = Instant::now() + Duration::from_secs(20);
    let open: Vec<usize> = (0..STORM)
        .filter(|&i| !closed_by_peer(&mut storm[i], deadline))
        .collect();
    assert!(
        open.is_empty(),
        "{} of {STORM} hostile connections left open by the VM, e.g. {:?}",
        open.len(),
        &open[..open.len().min(10)]
    );
    assert!(
        closed_by_peer(&mut hanging, deadline),
        "a half-sent hello was left open"
    );
    drop(storm);
    for c in [c1, c2] {
        let out = wait_with_limit(c, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.lines().count() < 200,
            "warnings are rate-limited, got {} lines",
            stderr.lines().count()
        );
    }
    let logs = read_logs(dir.path());
    assert_eq!(
        stop_of(&logs[1].1),
        Some((400, "runtime")),
        "every tick made under attack"
    );
    let injected = logs[1]
        .1
        .iter()
        .any(|l| format!("{:?}", l.event).contains("999999"));
    assert!(!injected, "a hostile connection injected a message");
    assert_verifies(dir.path());
}

#[test]
fn a_flooded_vm_pushes_back_and_loses_nothing() {
    let dir = tempdir();
    run_ok(
        &[
            "--rates",
            "1,300,300",
            "--event-range",
            "3",
            "--runtime",
            "2",
            "--max-queue",
            "20",
            "--base-port",
            "0",
        ],
        dir.path(),
    );
    let logs = read_logs(dir.path());
    let slow = &logs[0].1;
    let most = slow
        .iter()
        .filter_map(|l| l.event.queue())
        .max()
        .unwrap_or(0);
    // Two readers may each add one as the queue reaches the cap.
    assert!(most <= 21, "the queue is capped at --max-queue, saw {most}");
    let pending = slow.iter().filter(|l| l.event.kind() == "pending").count();
    assert!(
        pending > 100,
        "the backlog waits in TCP and lands as pending at stop, got {pending}"
    );
    assert!(
        logs.iter()
            .all(|(_, l)| l.iter().all(|l| l.event.kind() != "peer_lost"))
    );
    assert_verifies(dir.path());
}

#[test]
fn a_flooded_vm_takes_from_every_peer_in_turn() {
    let dir = tempdir();
    run_ok(
        &[
            "--rates",
            "20,300,300",
            "--event-range",
            "3",
            "--runtime",
            "3",
            "--max-queue",
            "5",
            "--base-port",
            "0",
        ],
        dir.path(),
    );
    let logs = read_logs(dir.path());
    let froms: Vec<u32> = logs[0]
        .1
        .iter()
        .filter_map(|l| match l.event {
            lamport_sim::logline::Event::Receive { from, .. } => Some(from),
            _ => None,
        })
        .collect();
    // The second half: long after the queue first filled up.
    let late = &froms[froms.len() / 2..];
    for peer in [2, 3] {
        let n = late.iter().filter(|&&f| f == peer).count();
        assert!(
            n * 4 >= late.len(),
            "VM {peer} got {n} of the last {} places on the queue: {froms:?}",
            late.len()
        );
    }
    assert_verifies(dir.path());
}

/// A tmpfs of a few KB, unmounted on drop (even on panic).
struct SmallDisk(std::path::PathBuf);

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "mounts a Linux tmpfs, reads /proc")]
fn a_full_disk_ends_the_run_with_an_error_naming_the_file() {
    let dir = tempdir();
    let mount = dir.path().join("small");
    std::fs::create_dir(&mount).expect("mkdir");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mount)
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        skip(
            "a_full_disk_ends_the_run_with_an_error_naming_the_file",
            "cannot mount a tmpfs (needs root)",
        );
        return;
    }
    let _disk = SmallDisk(mount.clone());
    let mut c = bin();
    c.args([
        "--vms",
        "3",
        "--min-rate",
        "2000",
        "--max-rate",
        "2000",
        "--runtime",
        "5",
    ])
    .args(["--base-port", "0", "--logs"])
    .arg(&mount);
    let out = run_with_limit(&mut c, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let full = stderr
        .lines()
        .find(|l| l.contains("No space left on device"))
        .unwrap_or_default();
    assert!(
        full.contains("error: vm ") && full.contains("cannot write") && full.contains("machine_"),
        "{stderr}"
    );
    assert_no_process_left(&mount, Duration::from_secs(2));
}

#[test]
fn a_valid_handshake_then_garbage_closes_only_that_connection() {
    use lamport_sim::vm::auth::{Secret, Side, Transcript};
    use lamport_sim::wire::FrameReader;
    use std::net::TcpListener;
    let dir = tempdir();
    // This test plays VM 3, with the run's secret: it listens where VM 1
    // expects it, and accepts VM 1's link with a correct handshake.
    let fake = TcpListener::bind("127.0.0.1:0").expect("bind");
    let fake_addr = fake.local_addr().expect("addr");
    let ports = free_ports(2);
    let vm = |id: u32| {
        let mut c = vm_cmd(dir.path(), id, &ports, 50, "1", "g", 3);
        if id == 1 {
            c.args(["--peer", &format!("3={fake_addr}"), "--stop-grace", "1"]);
        }
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (c1, c2) = (vm(1), vm(2));
    let (mut from_vm1, _) = fake.accept().expect("VM 1 dials its peer 3");
    let mut reader = FrameReader::new(from_vm1.try_clone().expect("clone"));
    let Ok(Frame::Hello {
        from: 1,
        to: 3,
        nonce,
        instance,
        run,
    }) = reader.next_frame()
    else {
        panic!("VM 1 says hello first");
    };
    let secret = Secret::new(SECRET);
    let t = Transcript {
        run: &run,
        dialer: 1,
        acceptor: 3,
        dialer_nonce: nonce,
        acceptor_nonce: [42; 16],
        dialer_instance: instance,
        acceptor_instance: 77,
    };
    let challenge = Frame::Challenge {
        nonce: [42; 16],
        instance: 77,
        resume: 0,
        mac: t.mac(&secret, Side::Acceptor, 0),
    };
    from_vm1.write_all(&frame(challenge)).expect("challenge");
    let Ok(Frame::Proof { resume, mac }) = reader.next_frame() else {
        panic!("VM 1 proves it holds the secret");
    };
    assert!(
        t.check(&secret, Side::Dialer, resume, &mac),
        "a valid proof"
    );
    // The link is up: now garbage.
    from_vm1
        .write_all(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x99])
        .expect("garbage");
    drop(fake);
    let out1 = wait_with_limit(c1, Duration::from_secs(30));
    let stderr1 = String::from_utf8_lossy(&out1.stderr);
    // VM 1 gave up on VM 3 (it never came back), and says so with exit 1.
    assert!(!out1.status.success(), "{stderr1}");
    assert!(stderr1.contains("gave up on VM 3"), "{stderr1}");
    wait_ok(c2);
    let logs = read_logs(dir.path());
    assert_eq!(
        stop_of(&logs[0].1),
        Some((50, "runtime")),
        "VM 1 ran its whole runtime"
    );
    assert!(
        logs[0]
            .1
            .iter()
            .any(|l| l.event == lamport_sim::logline::Event::PeerLost { peer: 3 })
    );
    assert_eq!(stop_of(&logs[1].1), Some((50, "runtime")));
}
