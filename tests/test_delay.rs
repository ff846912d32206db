//! `--delay MIN..MAX`: every message waits MIN..MAX ms before it reaches the
//! receiver's queue, each link staying first in, first out.

mod common;

use std::collections::HashMap;

use common::*;
use lamport_sim::logline::Event;

#[test]
fn every_message_lands_within_its_delay_and_the_run_verifies() {
    let dir = tempdir();
    run_ok(
        &[
            "--vms",
            "3",
            "--runtime",
            "2",
            "--rates",
            "40,60,80",
            "--delay",
            "20..35",
            "--base-port",
            "0",
            "--seed",
            "3",
        ],
        dir.path(),
    );
    let logs = read_logs(dir.path());
    let mut sent: HashMap<(u32, u64), i64> = HashMap::new();
    for (id, lines) in &logs {
        assert_eq!(start_of(lines).delay_us, Some((20_000, 35_000)), "vm {id}");
        for l in lines {
            if let Event::Send { tick, .. } = l.event {
                sent.insert((*id, tick), l.time_us);
            }
        }
    }
    let mut receives = 0;
    for (_, lines) in &logs {
        for l in lines {
            let Event::Receive {
                from,
                sent_tick,
                wait_us,
                ..
            } = l.event
            else {
                continue;
            };
            let landed = l.time_us - wait_us as i64;
            let took = landed - sent[&(from, sent_tick)];
            // The delay, plus loopback and scheduling on a busy machine.
            assert!(
                (20_000..35_000 + 20_000).contains(&took),
                "{took} us: {l:?}"
            );
            receives += 1;
        }
    }
    assert!(receives > 20, "only {receives} receives");
    assert_verifies(dir.path());
}

#[test]
fn a_bad_delay_is_one_line_naming_the_flag() {
    let dir = tempdir();
    for bad in ["50..5", "-1", "x..2", "0..70000"] {
        let out = run_with_limit(
            bin().args(["--delay", bad, "--logs"]).arg(dir.path()),
            std::time::Duration::from_secs(10),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("error: --delay {bad}: ")),
            "{stderr}"
        );
    }
}
