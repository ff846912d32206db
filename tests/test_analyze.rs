//! `lamport-sim analyze`: a real short run, then the report it writes, and
//! the exit codes for folders that are not runs.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;

fn analyze(args: &[&Path]) -> Output {
    let mut c = bin();
    c.arg("analyze").args(args);
    run_with_limit(&mut c, Duration::from_secs(20))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The rows of a CSV as maps from column name to cell.
fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let body = std::fs::read_to_string(path).expect("summary.csv");
    let mut lines = body.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(String::from)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn a_real_run_gets_a_full_report() {
    let dir = tempdir();
    let run = run_with_limit(
        &mut fast_run(dir.path(), &["--vms", "3", "--runtime", "2"]),
        Duration::from_secs(30),
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_verifies(dir.path());

    let out = analyze(&[dir.path()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("per s") && stdout.contains("drift (max - min"),
        "{stdout}"
    );
    let report = dir.path().join("report");
    for f in [
        "report.html",
        "summary.csv",
        "summary.json",
        "clock.svg",
        "drift.svg",
    ] {
        assert!(report.join(f).is_file(), "{f} missing");
    }
    for f in [
        "queue.svg",
        "jumps.svg",
        "events.svg",
        "spacetime.svg",
        "staleness.svg",
    ] {
        let svg = std::fs::read_to_string(report.join(f)).unwrap();
        assert!(svg.starts_with("<svg"), "{f}");
    }
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 7);
    assert!(html.contains("<h2>Happens-before"));
    assert!(stdout.contains("happens-before (vector clocks rebuilt from the logs)"));
    let json = std::fs::read_to_string(report.join("summary.json")).unwrap();
    assert_eq!(json.matches("\"causal\": {\"events\": ").count(), 3);

    let rows = csv_rows(&report.join("summary.csv"));
    assert_eq!(rows.len(), 3);
    for (i, row) in rows.iter().enumerate() {
        let n = |k: &str| -> f64 { row[k].parse().unwrap_or_else(|_| panic!("{k}={}", row[k])) };
        assert_eq!(n("vm"), (i + 1) as f64);
        assert!((50.0..=100.0).contains(&n("rate_per_s")));
        assert!((n("ticks") - 2.0 * n("rate_per_s")).abs() <= 1.0, "{row:?}");
        assert!(n("final_clock") >= n("ticks") && n("jump_mean") >= 1.0);
        assert!(n("clock_rate_per_s") >= n("rate_per_s") * 0.5, "{row:?}");
        let events = n("internal_events") + n("send_events") + n("receive_events");
        assert_eq!(events, n("ticks"));
        assert!(n("latency_mean_ms") >= 0.0 && n("latency_mean_ms") < 1000.0);
        assert_eq!(row["stop"], "runtime");
        assert!(n("drift_max") >= n("drift_mean"));
        assert!((0.0..=1.0).contains(&n("concurrent_share")), "{row:?}");
        assert!(n("staleness_max_events") >= n("staleness_mean_events"));
    }

    // --out elsewhere, and a window with nothing in it.
    let other = dir.path().join("elsewhere");
    let mut c = bin();
    c.arg("analyze")
        .arg(dir.path())
        .arg("--out")
        .arg(&other)
        .args(["--window", "50..60"]);
    let out = run_with_limit(&mut c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let st = std::fs::read_to_string(other.join("spacetime.svg")).unwrap();
    assert!(st.contains("No events in this window"));
}

/// Runs `analyze` on `dir` and returns (exit code, stderr).
fn failure(dir: &Path) -> (Option<i32>, String) {
    let out = analyze(&[dir]);
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_folder_that_is_not_a_run_exits_2_with_one_line() {
    let dir = tempdir();
    let gone = dir.path().join("gone");
    for d in [gone.as_path(), dir.path()] {
        let (code, err) = failure(d);
        assert_eq!(code, Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: ") && err.contains(&d.display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn an_unparsable_log_exits_1_naming_it() {
    let dir = tempdir();
    std::fs::write(log_path(dir.path(), 1), b"\x00\xff\xfe binary").unwrap();
    let (code, err) = failure(dir.path());
    assert_eq!(code, Some(1));
    assert!(
        err.contains("machine_1.log") && err.lines().count() == 1,
        "{err}"
    );
    std::fs::write(log_path(dir.path(), 1), "not a log line\n").unwrap();
    let (code, err) = failure(dir.path());
    assert_eq!(code, Some(1));
    assert!(err.contains("machine_1.log:1:"), "{err}");
}

#[test]
fn a_bad_window_is_a_usage_error() {
    let dir = tempdir();
    let mut c = bin();
    c.arg("analyze").arg(dir.path()).args(["--window", "9..3"]);
    let out = run_with_limit(&mut c, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--window 9..3"));
}

/// Copies the committed run `logs/baseline/run_1` into a fresh folder.
fn committed_run() -> tempfile::TempDir {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("logs/baseline/run_1");
    let dir = tempdir();
    for id in 1..=3 {
        let name = format!("machine_{id}.log");
        std::fs::copy(from.join(&name), dir.path().join(&name)).expect("copy a committed log");
    }
    dir
}

/// The number before "matched receives" in analyze's output.
fn matched_receives(out: &str) -> u64 {
    let at = out
        .find(" matched receives")
        .expect("a matched receives figure");
    let n = out[..at].rsplit(' ').next().expect("a number");
    n.parse().expect("a number of matched receives")
}

/// Rewrites VM 2's send that VM 3 received first so that it went to VM 1
/// only; returns that send's tick.
fn misaddress_one_send(dir: &Path) -> u64 {
    let three = std::fs::read_to_string(dir.join("machine_3.log")).expect("machine_3.log");
    let tick: u64 = three
        .lines()
        .find_map(|l| {
            let rest = l.split(" event=receive ").nth(1)?;
            let tail = rest.split(" from=2 sent_tick=").nth(1)?;
            tail.split(' ').next()?.parse().ok()
        })
        .expect("VM 3 receives from VM 2");
    let path = dir.join("machine_2.log");
    let two = std::fs::read_to_string(&path).expect("machine_2.log");
    let key = format!(" event=send tick={tick} ");
    let mut hits = 0;
    let doctored: String = two
        .lines()
        .map(|l| {
            let line = match (l.contains(&key), l.rfind(" to=")) {
                (true, Some(at)) => {
                    hits += 1;
                    format!("{} to=1", &l[..at])
                }
                _ => l.to_string(),
            };
            line + "\n"
        })
        .collect();
    assert_eq!(hits, 1, "one send of VM 2 at tick {tick}");
    std::fs::write(&path, doctored).expect("write machine_2.log");
    tick
}

#[test]
fn a_receive_of_a_send_addressed_elsewhere_is_no_delivered_message() {
    let clean = committed_run();
    let out = analyze(&[clean.path()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = matched_receives(&text(&out.stdout));

    let doctored = committed_run();
    let tick = misaddress_one_send(doctored.path());
    let mut verify = bin();
    verify.arg("verify").arg(doctored.path());
    let v = run_with_limit(&mut verify, Duration::from_secs(20));
    let said = text(&v.stdout) + &text(&v.stderr);
    assert_eq!(v.status.code(), Some(1), "{said}");
    assert!(said.contains("went to 1, not to VM 3"), "{said}");

    let out = analyze(&[doctored.path()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = matched_receives(&text(&out.stdout));
    assert_eq!(after + 1, before, "VM 3's receive of VM 2's tick {tick}");

    // ShiViz draws an arrow where the receive's vector clock holds the send:
    // VM 3's first receive from VM 2 knows VM 2 only through that message.
    let knows_vm2 = |dir: &Path| {
        let mut c = bin();
        c.args(["export", "--shiviz"]).arg(dir);
        let out = run_with_limit(&mut c, Duration::from_secs(20));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let log = std::fs::read_to_string(dir.join("shiviz.log")).expect("shiviz.log");
        let lines: Vec<&str> = log.lines().collect();
        let key = format!(" from=2 sent_tick={tick}");
        let clock = lines
            .windows(2)
            .find(|w| {
                w[0].starts_with("receive ") && w[0].contains(&key) && w[1].starts_with("vm3 ")
            })
            .map(|w| w[1])
            .expect("VM 3's receive in the export");
        clock.contains("\"vm2\"")
    };
    assert!(knows_vm2(clean.path()));
    assert!(
        !knows_vm2(doctored.path()),
        "no arrow for the misaddressed send"
    );
}

/// A folder of two experiments copied from the committed logs: `wide`
/// (baseline's 5 runs, rates 1..6, two of which drown) and `narrow`
/// (narrow-only's 5 runs, rates 4..6, none drowns).
fn two_experiments() -> tempfile::TempDir {
    let logs = Path::new(env!("CARGO_MANIFEST_DIR")).join("logs");
    let dir = tempdir();
    for (to, from) in [("wide", "baseline"), ("narrow", "narrow-only")] {
        for k in 1..=5 {
            let (src, dst) = (
                logs.join(from).join(format!("run_{k}")),
                dir.path().join(to).join(format!("run_{k}")),
            );
            std::fs::create_dir_all(&dst).expect("a run folder");
            for id in 1..=3 {
                let name = format!("machine_{id}.log");
                std::fs::copy(src.join(&name), dst.join(&name)).expect("copy a committed log");
            }
        }
    }
    dir
}

/// The numbers of the `<text>` elements of `svg`.
fn numbers(svg: &str) -> Vec<f64> {
    svg.split("<text")
        .filter_map(|t| t.split('>').nth(1)?.split('<').next()?.trim().parse().ok())
        .collect()
}

/// The pixel points of the polylines of `svg` drawn with `style` (e.g. a
/// dash pattern).
fn lines_with(svg: &str, style: &str) -> Vec<Vec<(f64, f64)>> {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| {
            p.split(" points=")
                .next()
                .is_some_and(|a| a.contains(style))
        })
        .map(|p| {
            let pts = p
                .split("points=\"")
                .nth(1)
                .and_then(|r| r.split('"').next());
            pts.unwrap_or("")
                .split_whitespace()
                .filter_map(|xy| {
                    let (x, y) = xy.split_once(',')?;
                    Some((x.parse().ok()?, y.parse().ok()?))
                })
                .collect()
        })
        .collect()
}

/// The centres of the `<circle>` marks of `svg`.
fn circles(svg: &str) -> Vec<(f64, f64)> {
    let attr = |c: &str, name: &str| -> Option<f64> {
        c.split(&format!(" {name}=\""))
            .nth(1)?
            .split('"')
            .next()?
            .parse()
            .ok()
    };
    svg.split("<circle")
        .skip(1)
        .filter_map(|c| Some((attr(c, "cx")?, attr(c, "cy")?)))
        .collect()
}

#[test]
fn a_folder_of_experiments_gets_the_model_in_one_picture() {
    let dir = two_experiments();
    let mut c = bin();
    c.arg("analyze")
        .arg(dir.path())
        .args(["--compare", "wide,narrow"]);
    let out = run_with_limit(&mut c, Duration::from_secs(60));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(
            "2 experiments, 10 runs with the model's prediction (2 with a drowning VM), 30 VMs"
        ),
        "{stdout}"
    );
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).expect(f);

    // One mark per run: open circles for the 8 runs where nobody drowns,
    // filled triangles for baseline runs 1 and 3, and one of each in the
    // legend; the y = x line, dashed, rising from the lower left to the
    // upper right, with every mark inside its span.
    let drift = read("model_drift.svg");
    assert_eq!(drift.matches("<circle").count(), 8 + 1, "{drift}");
    assert_eq!(drift.matches("<polygon").count(), 2 + 1);
    assert!(drift.contains("no VM drowns (8)") && drift.contains("a VM drowns (2)"));
    let diagonal: Vec<_> = lines_with(&drift, "stroke-width=\"2\" stroke-dasharray")
        .into_iter()
        .filter(|l| l.len() == 2)
        .collect();
    assert_eq!(diagonal.len(), 1, "{drift}");
    let [(x0, y0), (x1, y1)] = [diagonal[0][0], diagonal[0][1]];
    assert!(x0 < x1 && y0 > y1, "{diagonal:?}");
    // The legend comes first; the diagonal spans the chart's shared range.
    let marks = circles(&drift);
    assert_eq!(marks.len(), 9);
    for &(x, y) in &marks[1..] {
        assert!((x0..=x1).contains(&x) && (y1..=y0).contains(&y), "{x},{y}");
    }

    // One mark per VM, with the model's hinge and the threshold at 1.
    let load = read("model_queue.svg");
    let marks = load.matches("<circle").count() + load.matches("<polygon").count();
    assert_eq!(marks, 30 + 2, "{load}");
    assert!(load.contains(">\nlambda = r\n</text>") && load.contains("lambda / r"));
    let threshold = lines_with(&load, "stroke-width=\"2\" stroke-dasharray");
    assert!(
        threshold.iter().any(|l| l.len() == 2 && l[0].0 == l[1].0),
        "a vertical line at lambda / r = 1: {threshold:?}"
    );

    // Wide against narrow: one jump chart, and two drift panels on one scale.
    let jumps = read("compare_jumps_wide_narrow.svg");
    assert!(jumps.contains("wide: mean ") && jumps.contains("narrow: mean "));
    let drift = read("compare_drift_wide_narrow.svg");
    let panels: Vec<&str> = drift.split("<svg x=").skip(1).collect();
    assert_eq!(panels.len(), 2);
    let top = |p: &str| numbers(p).into_iter().fold(0.0, f64::max);
    assert_eq!(top(panels[0]), top(panels[1]), "one y scale");

    // The experiment itself gains its queues with the predicted slope: one
    // dashed line (and its legend swatch) for each of the two drowning VMs.
    let mut c = bin();
    c.arg("analyze").arg(dir.path().join("wide"));
    let out = run_with_limit(&mut c, Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let queues = read("wide/queue_runs.svg");
    assert_eq!(lines_with(&queues, "stroke-dasharray=\"6 4\"").len(), 2 * 2);
    assert!(
        queues.contains(">\nVM 1: +0.67/s\n</text>"),
        "baseline run 1's VM 1"
    );

    // --compare names experiments of the folder, and only of a folder.
    let mut c = bin();
    c.arg("analyze")
        .arg(dir.path())
        .args(["--compare", "wide,gone"]);
    let out = run_with_limit(&mut c, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("gone"));
    let mut c = bin();
    c.arg("analyze")
        .arg(dir.path().join("wide"))
        .args(["--compare", "wide,narrow"]);
    let out = run_with_limit(&mut c, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--compare"));
}
