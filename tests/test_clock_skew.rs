//! `--clock-skew` and `--clock-drift`: each VM logs on a clock of its own,
//! off true time by amounts drawn from the seed and recorded in its `start`
//! line; `verify` still passes and `analyze` shows what the lying clocks do,
//! with the hybrid logical clock.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use lamport_sim::logline::Event;
use lamport_sim::run::clock::PhysClock;

fn csv_row(path: &std::path::Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).expect("summary.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let row: Vec<&str> = lines.next().expect("a row").split(',').collect();
    assert_eq!(header.len(), row.len(), "no quoted commas in this run");
    header
        .into_iter()
        .zip(row)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_skewed_run_verifies_and_its_analysis_shows_the_hybrid_clock() {
    let dir = tempdir();
    run_ok(
        &[
            "--vms",
            "3",
            "--runtime",
            "3",
            "--rates",
            "10,20,30",
            "--clock-skew",
            "-250..250",
            "--base-port",
            "0",
            "--seed",
            "11",
        ],
        dir.path(),
    );
    assert_verifies(dir.path());
    assert_crosschecks(dir.path());
    let logs = read_logs(dir.path());
    let mut offsets = Vec::new();
    for (id, lines) in &logs {
        let s = start_of(lines);
        let skew = s.clock_skew_us.expect("clock_skew_us in the start line");
        assert!((-250_000..=250_000).contains(&skew), "vm {id}: {skew}");
        assert_eq!(s.clock_drift_ppb, None, "no --clock-drift, no key");
        offsets.push(skew);
        // The start line's time is the VM's own clock at about start_at.
        let at = s.start_at_us.expect("start_at");
        let ahead = lines[0].time_us - at;
        assert!(
            (ahead - skew).abs() < 1_000_000,
            "vm {id}: {ahead} vs {skew}"
        );
        let raw = std::fs::read_to_string(log_path(dir.path(), *id)).unwrap();
        let first = raw.lines().next().unwrap();
        assert!(
            first.ends_with(&format!(" clock_skew_us={skew}")),
            "{first}"
        );
    }
    assert!(offsets.iter().any(|&o| o != offsets[0]), "{offsets:?}");

    let out = run_with_limit(
        bin().arg("analyze").arg(dir.path()),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).replace("\n    ", " ");
    assert!(text.contains("the VMs' clocks: they lie"), "{text}");
    assert!(
        text.contains("receives before their send by the VMs' own clocks: "),
        "{text}"
    );
    assert!(
        text.contains("hybrid logical clock (l, c) from the logged times: l - pt at most"),
        "{text}"
    );
    let row = csv_row(&dir.path().join("report/summary.csv"));
    let num = |k: &str| -> f64 {
        row[k]
            .parse()
            .unwrap_or_else(|_| panic!("{k} = {:?}", row[k]))
    };
    // The bound of the paper, with epsilon from the start lines.
    let spread = (offsets.iter().max().unwrap() - offsets.iter().min().unwrap()) as f64 / 1000.0;
    assert!((num("clock_epsilon_ms") - spread).abs() < 1e-9, "{row:?}");
    assert!(num("hlc_max_offset_ms") >= 0.0 && num("hlc_max_offset_ms") <= spread);
    assert_eq!(num("hlc_beyond_epsilon"), 0.0);
    assert!(num("receives_before_send") >= 0.0);
    assert_eq!(num("receives_before_send_true"), 0.0);
    assert_eq!(num("hb_pairs_wall_reversed_true"), 0.0);
    assert!(row.contains_key("hlc_max_c"));
    assert!((num("clock_skew_ms") * 1000.0 - offsets[0] as f64).abs() < 1e-6);
    let json = std::fs::read_to_string(dir.path().join("report/summary.json")).unwrap();
    assert!(json.contains("\"hlc_max_offset_ms\": "), "{json}");
    // The hybrid clock rebuilt apart from the Rust code: the paper's
    // theorems hold, and summary.json's figures are the same.
    assert_hlc_crosschecks(dir.path());
}

/// `tests/crosscheck/hlc.py DIR` rebuilds the hybrid logical clock from the
/// logs alone, checks its properties and compares `summary.json`'s figures.
fn assert_hlc_crosschecks(dir: &std::path::Path) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crosscheck/hlc.py");
    let out = match std::process::Command::new("python3")
        .arg(&script)
        .arg(dir)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            skip(
                "the crosscheck by tests/crosscheck/hlc.py",
                &format!("python3: {e}"),
            );
            return;
        }
    };
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains(" events; l - pt at most "),
        "hlc.py disagrees on {}:\n{said}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rolls of one VM: what each of its ticks that took no message did.
fn rolls(lines: &[lamport_sim::logline::Line]) -> Vec<Option<Vec<u32>>> {
    lines
        .iter()
        .filter_map(|l| match &l.event {
            Event::Send { to, .. } => Some(Some(to.clone())),
            Event::Internal { .. } => Some(None),
            _ => None,
        })
        .collect()
}

#[test]
fn lying_clocks_change_no_rate_or_roll_of_a_seed_and_true_time_comes_back() {
    let run = |extra: &[&str]| {
        let dir = tempdir();
        let args = [
            &["--vms", "4", "--runtime", "1.5", "--min-rate", "20"][..],
            &["--event-range", "30"],
            &["--max-rate", "40", "--base-port", "0", "--seed", "23"],
            extra,
        ]
        .concat();
        run_ok(&args, dir.path());
        assert_verifies(dir.path());
        (read_logs(dir.path()), dir)
    };
    let (plain, _a) = run(&[]);
    let (skewed, _b) = run(&["--clock-skew", "-400..400", "--clock-drift", "-80..80"]);
    for ((id, p), (_, s)) in plain.iter().zip(&skewed) {
        let (ps, ss) = (start_of(p), start_of(s));
        assert_eq!(ps.rate, ss.rate, "vm {id}: the rate is the seed's");
        assert_eq!((ps.clock_skew_us, ps.clock_drift_ppb), (None, None));
        // The n-th roll is the same in both (messages may move rolls to
        // other ticks, never change them).
        let (a, b) = (rolls(p), rolls(s));
        let n = a.len().min(b.len());
        assert!(n > 5, "vm {id}: {n} rolls");
        assert_eq!(a[..n], b[..n], "vm {id}");
        // Undone through the start line, every time lies within the run's
        // true span (the launcher's start instant is true time).
        let c = PhysClock::of(ss, s[0].time_us).expect("a lying clock");
        let at = ss.start_at_us.unwrap();
        for l in &s[1..] {
            let t = c.true_time(l.time_us);
            assert!(t >= at - 2 && t < at + 30_000_000, "vm {id}: {l:?}");
        }
    }
}
