//! `cargo bench`: issue 6's harness. Runs the release binary as a user would
//! (`lamport-sim run --base-port 0`, each run in its own temp folder), reads
//! the logs through the library (`logs`, `logline`, `bench`, `verify`),
//! prints one markdown table and writes it to `bench/results.md`.
//!
//! ```text
//! cargo bench                     # every case, full: about 15 minutes
//! cargo bench -- --quick          # fewer runs, shorter runtimes: about 4 minutes
//! cargo bench -- startup scale    # only the cases whose name holds a word
//! cargo bench -- --bin old=/tmp/old --bin new=target/release/lamport-sim cost
//!                                 # two binaries, run by run in turn
//! ```
//!
//! Cases: `cost`, `ticks`, `startup`, `scale-vms` (the search), `scale-rate`,
//! `latency`, `logtools`, `rfc3339`, `scale-vms-256`, `scale-vms-512`, `scale-vms-1024`,
//! `link-fault`, `tcp-floor-1024` (the kernel's own cost of a 1024-VM mesh:
//! `floor`). A filtered run writes `bench/results-WORDS.md`.
//!
//! Measured here, in the harness, because only the harness sees them: the
//! whole run's CPU time (`getrusage(RUSAGE_CHILDREN)` around waiting for the
//! launcher, which reaps its VMs), each VM's peak RSS (`VmHWM` of the
//! launcher's children, polled from /proc until they exit) and the wall time
//! just before the launcher is spawned. Everything else comes from the logs.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use lamport_sim::bench::{self, LinkCounts, Percentiles, Spread, TcpEntry, TickReport};
use lamport_sim::run::read;
use lamport_sim::{logline, verify};

/// The binary cargo built for this bench.
const BIN: &str = env!("CARGO_BIN_EXE_lamport-sim");

/// The binaries to run, (label, path): `--bin` flags, or [`BIN`] alone.
static BINS: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();

fn bin_path(bin: usize) -> &'static Path {
    &BINS.get().expect("BINS is set in main")[bin].1
}

mod floor;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(floor::CHILD) {
        if let Err(e) = floor::child(&args[2..]) {
            eprintln!("tcp-floor process: {e}");
            std::process::exit(1);
        }
        return;
    }
    if !cfg!(target_os = "linux") {
        eprintln!("error: the benchmarks read /proc and getrusage(2): they run on Linux only");
        std::process::exit(1);
    }
    let opts = Opts::from_args();
    let began = Instant::now();
    let load_before = load_average();
    let mut out = Report::default();
    let cases: [(&str, Case); 13] = [
        ("cost", case_cost),
        ("ticks", case_ticks),
        ("startup", case_startup),
        ("scale-vms", case_scale_vms),
        ("scale-rate", case_scale_rate),
        ("latency", case_latency),
        ("logtools", case_logtools),
        ("rfc3339", case_rfc3339),
        ("scale-vms-256", case_scale_256),
        ("scale-vms-512", case_scale_512),
        ("scale-vms-1024", case_scale_1024),
        ("link-fault", case_link_fault),
        ("tcp-floor-1024", case_tcp_floor),
    ];
    for (name, case) in cases {
        if opts.selects(name) {
            eprintln!("== {name}");
            case(&opts, &mut out);
        }
    }
    if out.rows.is_empty() {
        eprintln!("no case matches {:?}; cases: {CASES}", opts.words);
        std::process::exit(2);
    }
    out.rows.push(Row::new(
        "all",
        "runs that exited non-zero or failed verify".into(),
        Target::Zero,
        Unit::Count,
        vec![out.failed_runs as f64],
    ));
    let text = out.markdown(&opts, began.elapsed(), load_before);
    println!("\n{text}");
    let path = opts.results_path();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("cannot create bench/");
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    eprintln!(
        "written to {} in {}",
        path.display(),
        minutes(began.elapsed())
    );
}

// ---------------------------------------------------------------- options

/// One case: runs what it needs and adds its rows.
type Case = fn(&Opts, &mut Report);

const CASES: &str = "cost ticks startup scale-vms scale-rate latency logtools rfc3339 scale-vms-256 scale-vms-512 scale-vms-1024 link-fault tcp-floor-1024";

const USAGE: &str =
    "cargo bench [-- [--quick] [--runs N] [--scale-runtime SECS] [--bin [LABEL=]PATH]... [CASE...]]
  --quick               fewer runs, shorter runtimes
  --runs N              N runs of every case that repeats (not the searches)
  --scale-runtime SECS  runtime of scale-vms-256/512/1024 (default 10)
  --bin [LABEL=]PATH    run this binary instead of the one cargo built; given twice or more,
                        cost, startup, latency, scale-vms-N and link-fault run each binary
                        in turn, run by run, and label their rows; the other cases run the first
A CASE word selects every case whose name holds it.";

struct Opts {
    quick: bool,
    /// Case filters; empty = every case.
    words: Vec<String>,
    /// `--runs N`: replaces each repeating case's own run count.
    runs: Option<u64>,
    /// `--scale-runtime SECS`: the scale-vms-N cases' runtime.
    scale_runtime_s: f64,
}

impl Opts {
    fn from_args() -> Opts {
        let mut opts = Opts {
            quick: false,
            words: Vec::new(),
            runs: None,
            scale_runtime_s: 10.0,
        };
        let mut bins = Vec::new();
        let usage = |why: String| -> ! {
            eprintln!("error: {why}\n{USAGE}");
            std::process::exit(2)
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .unwrap_or_else(|| usage(format!("{name} needs a value")))
            };
            match flag.as_str() {
                // cargo bench passes --bench to harness = false targets.
                "--bench" => {}
                "--quick" => opts.quick = true,
                "--runs" => {
                    let v = value("--runs");
                    match v.parse::<u64>() {
                        Ok(n) if n > 0 => opts.runs = Some(n),
                        _ => usage(format!("--runs wants a whole number above 0, not {v:?}")),
                    }
                }
                "--scale-runtime" => {
                    let v = value("--scale-runtime");
                    match v.parse::<f64>() {
                        Ok(x) if x > 0.0 && x.is_finite() => opts.scale_runtime_s = x,
                        _ => usage(format!("--scale-runtime wants seconds above 0, not {v:?}")),
                    }
                }
                "--bin" => {
                    let v = value("--bin");
                    let (label, path) = match v.split_once('=') {
                        Some((l, p)) if !l.is_empty() && !l.contains('/') => (l.to_string(), p),
                        _ => (v.clone(), v.as_str()),
                    };
                    let path = PathBuf::from(path);
                    if !path.is_file() {
                        usage(format!("--bin {v}: no such file {}", path.display()));
                    }
                    bins.push((label, path));
                }
                "-h" | "--help" => {
                    println!("{USAGE}\ncases: {CASES}");
                    std::process::exit(0);
                }
                flag if flag.starts_with('-') => usage(format!("unknown flag {flag}")),
                word => opts.words.push(word.to_string()),
            }
        }
        if bins.is_empty() {
            bins.push(("built".to_string(), PathBuf::from(BIN)));
        }
        // from_args runs once, before anything reads BINS.
        let _ = BINS.set(bins);
        opts
    }

    /// A repeating case's run count: `--runs`, or `full` (`quick` under `--quick`).
    fn runs(&self, full: u64, quick: u64) -> u64 {
        self.runs.unwrap_or(if self.quick { quick } else { full })
    }

    /// The binaries a comparing case runs, by index into [`BINS`].
    fn bins(&self) -> std::ops::Range<usize> {
        0..BINS.get().map_or(1, Vec::len)
    }

    /// What a comparing case appends to its rows' names: nothing with one binary.
    fn tag(&self, bin: usize) -> String {
        match BINS.get() {
            Some(bins) if bins.len() > 1 => format!(" [{}]", bins[bin].0),
            _ => String::new(),
        }
    }

    fn selects(&self, case: &str) -> bool {
        self.words.is_empty() || self.words.iter().any(|w| case.contains(w.as_str()))
    }

    /// Full value, or the quick one under `--quick`.
    fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }

    fn results_path(&self) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench");
        if self.words.is_empty() {
            dir.join("results.md")
        } else {
            dir.join(format!("results-{}.md", self.words.join("-")))
        }
    }
}

// ---------------------------------------------------------------- one run

/// One `lamport-sim run` to measure.
#[derive(Clone, Copy)]
struct Sim {
    vms: u32,
    runtime_s: f64,
    /// Each VM draws its rate from this range.
    rates: (u32, u32),
    seed: u64,
    /// Index into [`BINS`].
    bin: usize,
    /// Sample the whole process tree's RSS every 100 ms (instead of each
    /// VM's `VmHWM` now and then).
    tree: bool,
}

impl Sim {
    fn new(vms: u32, runtime_s: f64, rates: (u32, u32), seed: u64) -> Sim {
        Sim {
            vms,
            runtime_s,
            rates,
            seed,
            bin: 0,
            tree: false,
        }
    }

    fn with_bin(self, bin: usize) -> Sim {
        Sim { bin, ..self }
    }
}

/// What the harness saw of one run.
struct Run {
    /// Holds `logs/` and the launcher's stdout and stderr.
    dir: tempfile::TempDir,
    exit_ok: bool,
    /// The launcher's exit code; `None` if a signal ended it.
    exit_code: Option<i32>,
    /// The launcher's last stderr line, when it failed.
    why: String,
    /// Lines of the launcher's stderr holding `warning`.
    warnings: usize,
    /// The first few lines of the launcher's stderr that are not a VM's warning.
    err_head: Vec<String>,
    /// The harness killed the launcher: it outlived its time limit. Its VMs
    /// were then reaped by init, so `cpu_s` misses theirs.
    timed_out: bool,
    /// Wall time just before the launcher was spawned, us since the epoch.
    spawned_us: i64,
    /// Wall time just after the launcher was reaped, us since the epoch.
    exited_us: i64,
    /// User + sys CPU seconds of the launcher and every VM.
    cpu_s: f64,
    /// Peak RSS (`VmHWM`) of each VM process seen, in kB (not with `tree`).
    rss_kb: Vec<u64>,
    /// With `tree`: the largest sum of RSS over the launcher and its VMs,
    /// and of RSS less shared pages, in kB, over the 100 ms samples.
    tree_peak_kb: (u64, u64),
    /// VM processes seen.
    vms_seen: usize,
}

impl Run {
    fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }
}

fn run_sim(sim: Sim) -> Run {
    run_sim_with(sim, None)
}

/// Something to do while a run goes on, on its own thread, given the launcher's pid.
type During = Box<dyn FnOnce(u32) + Send>;

fn run_sim_with(sim: Sim, during: Option<During>) -> Run {
    let dir = tempfile::Builder::new()
        .prefix("lsim-bench-")
        .tempdir()
        .expect("cannot make a temp folder");
    let logs = dir.path().join("logs");
    let file = |name: &str| std::fs::File::create(dir.path().join(name)).expect("temp file");
    let mut cmd = Command::new(bin_path(sim.bin));
    cmd.args(["run", "--base-port", "0", "--vms", &sim.vms.to_string()])
        .args(["--runtime", &sim.runtime_s.to_string()])
        .args(["--min-rate", &sim.rates.0.to_string()])
        .args(["--max-rate", &sim.rates.1.to_string()])
        .args(["--seed", &sim.seed.to_string()])
        .arg("--logs")
        .arg(&logs)
        .stdin(Stdio::null())
        .stdout(file("launcher.out"))
        .stderr(file("launcher.err"));
    // Big runs take long to set up (and, before issue 13, long to fail).
    let limit = Duration::from_secs_f64(sim.runtime_s + 90.0 + 0.1 * f64::from(sim.vms));
    let poll = Duration::from_millis(match (sim.tree, sim.runtime_s <= 5.0) {
        (true, _) => 100,
        (false, true) => 50,
        (false, false) => 250,
    });
    let cpu_before = children_cpu_s();
    let spawned_us = logline::now_us();
    let started = Instant::now();
    let mut child = cmd.spawn().expect("cannot spawn lamport-sim");
    let launcher = child.id();
    // The launcher is reaped on its own thread, so that its exit is timed to
    // the microsecond while this one samples /proc.
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        (status, logline::now_us())
    });
    let during = during.map(|f| std::thread::spawn(move || f(launcher)));
    let page_kb = page_size_kb();
    let mut hwm: HashMap<u32, u64> = HashMap::new();
    let mut tree_peak_kb = (0, 0);
    let mut killed = false;
    while !waiter.is_finished() {
        if started.elapsed() > limit && !killed {
            eprintln!("  the run did not end within {limit:?}: killing it");
            // SAFETY: kill(2) has no memory effects; the launcher is not yet
            // reaped (its waiter has not returned), so the pid is still its.
            unsafe { libc::kill(launcher as i32, libc::SIGKILL) };
            killed = true;
        }
        if hwm.len() < sim.vms as usize {
            for pid in children_of(launcher) {
                hwm.entry(pid).or_insert(0);
            }
        }
        if sim.tree {
            let mut sum = (0, 0);
            for pid in std::iter::once(&launcher).chain(hwm.keys()) {
                if let Some((rss, shared)) = statm_pages(*pid) {
                    sum.0 += rss * page_kb;
                    sum.1 += rss.saturating_sub(shared) * page_kb;
                }
            }
            tree_peak_kb = (tree_peak_kb.0.max(sum.0), tree_peak_kb.1.max(sum.1));
        } else {
            for (pid, kb) in hwm.iter_mut() {
                if let Some(now) = vm_hwm_kb(*pid) {
                    *kb = (*kb).max(now);
                }
            }
        }
        std::thread::sleep(poll);
    }
    let (status, exited_us) = waiter.join().expect("the waiter thread panicked");
    let status = status.expect("cannot wait for the launcher");
    if let Some(during) = during {
        let _ = during.join();
    }
    let cpu_s = children_cpu_s() - cpu_before;
    let leftovers = kill_processes_mentioning(dir.path());
    if leftovers > 0 {
        eprintln!("  warning: killed {leftovers} processes left by the run");
    }
    let err = std::fs::read_to_string(dir.path().join("launcher.err")).unwrap_or_default();
    Run {
        exit_ok: status.success(),
        exit_code: status.code(),
        why: err.lines().last().unwrap_or("").to_string(),
        warnings: err.lines().filter(|l| l.contains("warning")).count(),
        err_head: err
            .lines()
            .filter(|l| !(l.starts_with("vm ") && l.contains(": warning: ")))
            .take(3)
            .map(|l| shortened(l, 240))
            .collect(),
        timed_out: killed,
        dir,
        spawned_us,
        exited_us,
        cpu_s,
        vms_seen: hwm.len(),
        rss_kb: hwm.into_values().filter(|&kb| kb > 0).collect(),
        tree_peak_kb,
    }
}

/// Resident and shared pages of a process (`/proc/PID/statm`, cheaper to
/// read than `status`); `None` once it has exited.
fn statm_pages(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let mut f = text.split_whitespace().skip(1);
    Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}

fn page_size_kb() -> u64 {
    // SAFETY: sysconf reads a constant of the system.
    let bytes = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if bytes > 0 { bytes as u64 / 1024 } else { 4 }
}

/// User + sys CPU seconds of every reaped child (and their reaped children).
#[cfg(unix)]
fn children_cpu_s() -> f64 {
    // SAFETY: getrusage writes only into the struct it is given, which is
    // plain data that may start zeroed.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        assert_eq!(
            libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru),
            0,
            "getrusage failed"
        );
        ru
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

#[cfg(not(unix))]
fn children_cpu_s() -> f64 {
    unreachable!("main refuses to run off Linux")
}

/// Pids whose parent is `parent` (this kernel has no /proc/PID/task/*/children).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // `pid (comm) state ppid ...`: comm may hold spaces, so go past its `)`.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            rest.split_whitespace().nth(1) == Some(&parent.to_string())
        })
        .collect()
}

/// `VmHWM` (peak resident set) of a process, kB; `None` once it has exited.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// SIGKILLs every process whose command line mentions `dir`; returns how many.
#[cfg(unix)]
fn kill_processes_mentioning(dir: &Path) -> usize {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for pid in entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
    {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            // SAFETY: kill(2) with a pid and a signal number has no memory effects.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed += 1;
        }
    }
    killed
}

#[cfg(not(unix))]
fn kill_processes_mentioning(_dir: &Path) -> usize {
    unreachable!("main refuses to run off Linux")
}

// ---------------------------------------------------------------- figures of a run

/// What the logs of one run say.
struct Figures {
    ticks: Vec<TickReport>,
    latency_us: Vec<i64>,
    /// (sent, latency) of each matched message, us.
    timed_latency_us: Vec<(i64, i64)>,
    links: LinkCounts,
    lines: usize,
    /// `None` if verify passed, else its first violation.
    verify_error: Option<String>,
}

impl Figures {
    /// verify's verdict in a note: `clean`, or `failed: ` and the first violation.
    fn verdict(&self) -> String {
        self.verify_error
            .as_deref()
            .map_or("clean".to_string(), |e| format!("failed: {e}"))
    }

    /// Reads and measures a run folder; verifies it unless `verify_it` is false.
    fn of(dir: &Path, verify_it: bool) -> Result<Figures, String> {
        let files = read::read_run(dir).map_err(|e| format!("{e:#}"))?;
        let mut figures = Figures {
            ticks: Vec::new(),
            latency_us: Vec::new(),
            timed_latency_us: Vec::new(),
            links: LinkCounts::default(),
            lines: 0,
            verify_error: None,
        };
        let mut logs = Vec::new();
        for f in &files {
            let lines = f
                .lines()
                .map_err(|(no, e)| format!("{}:{no}: {e}", f.name))?;
            figures.lines += lines.len();
            figures
                .ticks
                .push(bench::ticks(&lines).map_err(|e| e.to_string())?);
            logs.push((f.id, lines));
        }
        figures.latency_us = bench::latencies_us(&logs).0;
        figures.timed_latency_us = bench::timed_latencies_us(&logs);
        figures.links = LinkCounts::of(&logs);
        if verify_it {
            let pairs: Vec<(String, String)> =
                files.into_iter().map(|f| (f.name, f.text)).collect();
            let report = verify::check(&pairs);
            figures.verify_error = report.violations.first().map(|v| format!("{v:?}"));
        }
        Ok(figures)
    }

    /// Every tick's lateness, pooled over the VMs, in us.
    fn lateness_us(&self) -> Option<[f64; 3]> {
        let mut all: Vec<i64> = self
            .ticks
            .iter()
            .flat_map(|t| t.lateness_ns.iter().copied())
            .collect();
        let p = Percentiles::of(&mut all)?;
        Some([p.p50 as f64 / 1e3, p.p99 as f64 / 1e3, p.max as f64 / 1e3])
    }

    fn latency(&self) -> Option<[f64; 3]> {
        let mut all = self.latency_us.clone();
        let p = Percentiles::of(&mut all)?;
        Some([p.p50 as f64, p.p99 as f64, p.max as f64])
    }

    /// The largest |ticks made - rate x runtime| over the VMs.
    fn worst_count_error(&self) -> i64 {
        self.ticks
            .iter()
            .map(|t| t.count_error().abs())
            .max()
            .unwrap_or(0)
    }

    fn missed(&self) -> u64 {
        self.ticks.iter().map(|t| t.missed).sum()
    }

    fn first_tick_us(&self) -> Option<i64> {
        self.ticks.iter().filter_map(|t| t.first_tick_us).min()
    }

    /// The shared start instant and the runtime, from the `start` lines
    /// (the latest start, should they differ).
    fn schedule_us(&self) -> Option<(i64, i64)> {
        let at = self.ticks.iter().map(|t| t.start_at_us).max()?;
        let runtime = self.ticks.iter().map(|t| t.runtime_us).max()?;
        Some((at, runtime as i64))
    }
}

/// Runs `sim` and measures it; counts it as failed in `report` if it exited
/// non-zero or its logs fail verify or cannot be measured.
fn measured(sim: Sim, report: &mut Report) -> (Run, Option<Figures>) {
    let run = run_sim(sim);
    let figures = match Figures::of(&run.logs(), true) {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("  cannot measure the logs: {e}");
            None
        }
    };
    let verify_error = figures.as_ref().and_then(|f| f.verify_error.clone());
    if !run.exit_ok || figures.is_none() || verify_error.is_some() {
        report.failed_runs += 1;
        eprintln!(
            "  run failed: exit ok {}, {} {}",
            run.exit_ok,
            run.why,
            verify_error.unwrap_or_default()
        );
    }
    (run, figures)
}

// ---------------------------------------------------------------- cases

/// (run index, binary) for `runs` runs of each binary, the binaries in turn:
/// (0, 0), (0, 1), (1, 0), (1, 1)...; so that noise hits each alike.
fn runs_in_turn(runs: u64, o: &Opts) -> Vec<(u64, usize)> {
    (0..runs)
        .flat_map(|i| o.bins().map(move |b| (i, b)))
        .collect()
}

/// Issue 6 item 1 (and item 2's default-rate lateness): 3 VMs x 20 s at rates 1..6.
fn case_cost(o: &Opts, out: &mut Report) {
    let runs = o.runs(5, 3);
    let mut columns: Vec<Columns> = o.bins().map(|_| Columns::default()).collect();
    for (i, b) in runs_in_turn(runs, o) {
        let v = &mut columns[b];
        let sim = Sim::new(3, 20.0, (1, 6), 1000 + i).with_bin(b);
        let (run, figures) = measured(sim, out);
        let rss_mb = run
            .rss_kb
            .iter()
            .max()
            .map_or(f64::NAN, |&kb| kb as f64 / 1024.0);
        v.push("cpu", run.cpu_s);
        v.push("rss", rss_mb);
        if let Some(f) = figures {
            let late = f.lateness_us().unwrap_or([f64::NAN; 3]);
            let lat = f.latency().unwrap_or([f64::NAN; 3]);
            v.push("p50", late[0]);
            v.push("p99", late[1]);
            v.push("max", late[2]);
            v.push("count", f.worst_count_error() as f64);
            v.push("lat50", lat[0]);
            v.push("lat99", lat[1]);
            eprintln!(
                "  run {}/{runs}{}: CPU {:.3} s, peak RSS {rss_mb:.2} MB ({} VMs seen), lateness p99 {:.0} us",
                i + 1,
                o.tag(b),
                run.cpu_s,
                run.rss_kb.len(),
                late[1]
            );
        }
    }
    for (b, mut v) in columns.into_iter().enumerate() {
        let rows_before = out.rows.len();
        let what = "3 VMs x 20 s, rates 1..6";
        out.row(
            "cost",
            format!("whole-run CPU, user+sys, launcher + VMs ({what})"),
            Target::Below(0.03),
            Unit::Secs,
            v.take("cpu"),
        );
        out.row(
            "cost",
            format!("peak RSS per VM, largest VM's VmHWM ({what})"),
            Target::Below(4.0),
            Unit::Mb,
            v.take("rss"),
        );
        out.row(
            "cost",
            format!("tick lateness p50 ({what})"),
            Target::Info,
            Unit::Us,
            v.take("p50"),
        );
        out.row(
            "cost",
            format!("tick lateness p99 ({what})"),
            Target::Below(1000.0),
            Unit::Us,
            v.take("p99"),
        );
        out.row(
            "cost",
            format!("tick lateness max ({what})"),
            Target::Info,
            Unit::Us,
            v.take("max"),
        );
        out.row(
            "cost",
            format!("ticks made - rate x runtime, worst VM ({what})"),
            Target::Zero,
            Unit::Count,
            v.take("count"),
        );
        out.row(
            "cost",
            format!("send to arrival p50 ({what})"),
            Target::Info,
            Unit::Us,
            v.take("lat50"),
        );
        out.row(
            "cost",
            format!("send to arrival p99 ({what})"),
            Target::Info,
            Unit::Us,
            v.take("lat99"),
        );
        out.tag_rows_since(rows_before, &o.tag(b));
    }
}

/// Issue 6 item 2: lateness and tick counts at 6, 100, 1,000 and 10,000 ticks/s.
fn case_ticks(o: &Opts, out: &mut Report) {
    let runs = o.runs(3, 2);
    let runtime_s = o.pick(20.0, 5.0);
    for rate in [6u32, 100, 1_000, 10_000] {
        let mut v = Columns::default();
        for i in 0..runs {
            let sim = Sim::new(3, runtime_s, (rate, rate), 2000 + i);
            let (run, figures) = measured(sim, out);
            v.push("cpu", run.cpu_s / runtime_s * 100.0);
            let Some(f) = figures else { continue };
            let late = f.lateness_us().unwrap_or([f64::NAN; 3]);
            v.push("count", f.worst_count_error() as f64);
            v.push("p50", late[0]);
            v.push("p99", late[1]);
            v.push("max", late[2]);
            v.push("missed", f.missed() as f64);
            eprintln!(
                "  {rate}/s run {}/{runs}: count error {}, lateness p50 {:.0} p99 {:.0} max {:.0} us, {} missed slots, CPU {:.1}%",
                i + 1,
                f.worst_count_error(),
                late[0],
                late[1],
                late[2],
                f.missed(),
                run.cpu_s / runtime_s * 100.0
            );
        }
        let what = format!(
            "3 VMs x {runtime_s} s at {} ticks/s",
            thousands(rate as f64)
        );
        let p99_target = if rate <= 6 {
            Target::Below(1000.0)
        } else {
            Target::Info
        };
        out.row(
            "ticks",
            format!("ticks made - rate x runtime, worst VM ({what})"),
            Target::Zero,
            Unit::Count,
            v.take("count"),
        );
        out.row(
            "ticks",
            format!("tick lateness p50 ({what})"),
            Target::Info,
            Unit::Us,
            v.take("p50"),
        );
        out.row(
            "ticks",
            format!("tick lateness p99 ({what})"),
            p99_target,
            Unit::Us,
            v.take("p99"),
        );
        out.row(
            "ticks",
            format!("tick lateness max ({what})"),
            Target::Info,
            Unit::Us,
            v.take("max"),
        );
        out.row(
            "ticks",
            format!("ticks that missed their slot, all VMs ({what})"),
            Target::Info,
            Unit::Count,
            v.take("missed"),
        );
        out.row(
            "ticks",
            format!("CPU, % of one core, all processes ({what})"),
            Target::Info,
            Unit::Percent,
            v.take("cpu"),
        );
    }
}

/// Issue 6 item 3: wall time before spawning the launcher to the first `tick=1`.
fn case_startup(o: &Opts, out: &mut Report) {
    let runs = o.runs(5, 3);
    for vms in [3u32, 16, 64] {
        let mut values: Vec<Vec<f64>> = o.bins().map(|_| Vec::new()).collect();
        for (i, b) in runs_in_turn(runs, o) {
            let sim = Sim::new(vms, 1.0, (1, 6), 3000 + i).with_bin(b);
            let (run, figures) = measured(sim, out);
            if let Some(first) = figures.and_then(|f| f.first_tick_us()) {
                let ms = (first - run.spawned_us) as f64 / 1e3;
                eprintln!(
                    "  {vms} VMs run {}/{runs}{}: first tick {ms:.1} ms after launch",
                    i + 1,
                    o.tag(b)
                );
                values[b].push(ms);
            }
        }
        let target = if vms == 3 {
            Target::Below(50.0)
        } else {
            Target::Info
        };
        for (b, values) in values.into_iter().enumerate() {
            out.row(
                "startup",
                format!("launch to first tick, {vms} VMs{}", o.tag(b)),
                target,
                Unit::Ms,
                values,
            );
        }
    }
}

/// Issue 6 item 4, first half: the most VMs that keep 100 ticks/s for 60 s.
fn case_scale_vms(o: &Opts, out: &mut Report) {
    let runtime_s = o.pick(60.0, 20.0);
    // N VMs need N x (N-1) reader threads and as many connections: 128 VMs
    // take about 16,500 of this machine's 32,768 pids, which other sessions
    // share, so the search stops there (see the README).
    let found = search(64, (2, 128), o.pick(2, 1), out, "scale-vms", |n, out| {
        let sim = Sim::new(n, runtime_s, (100, 100), 4000 + u64::from(n));
        keeps_every_tick(sim, out)
    });
    let what = format!("N VMs x 100 ticks/s x {runtime_s} s, no tick lost, verify clean");
    out.row(
        "scale",
        format!("largest N: {what}"),
        Target::AtLeast(64.0),
        Unit::Count,
        found,
    );
    let loose = out.best_within("scale-vms", 100);
    out.row(
        "scale",
        "largest N tried with 99% of ticks in their slot (allows for this machine's stalls)".into(),
        Target::Info,
        Unit::Count,
        loose,
    );
}

/// Issue 6 item 4, second half: the highest rate at which 3 VMs keep every tick.
fn case_scale_rate(o: &Opts, out: &mut Report) {
    let runtime_s = o.pick(20.0, 5.0);
    let found = search(
        10_000,
        (100, 80_000),
        o.pick(3, 2),
        out,
        "scale-rate",
        |rate, out| {
            let sim = Sim::new(3, runtime_s, (rate, rate), 5000 + u64::from(rate));
            keeps_every_tick(sim, out)
        },
    );
    let what = format!("3 VMs x {runtime_s} s, no tick lost, verify clean");
    out.row(
        "scale",
        format!("highest rate, ticks/s: {what}"),
        Target::AtLeast(10_000.0),
        Unit::Count,
        found,
    );
    let loose = out.best_within("scale-rate", 100);
    out.row(
        "scale",
        "highest rate tried with 99% of ticks in their slot (allows for this machine's stalls)"
            .into(),
        Target::Info,
        Unit::Count,
        loose,
    );
}

/// A scale step passes with at most 1 in this many ticks past its slot. The
/// machine itself wakes sleeping threads 1-4 ms late about every 0.5 s (its
/// kernel's DAMON sampling; a plain `sleep` loop shows it too), so "not one"
/// would measure that, not the simulator.
const MISSED_TOLERANCE: u64 = 10_000;

/// One step of a scale search: the run kept its ticks, or why not.
/// A failing step is a finding, not a failed run: it is not counted in `out`.
fn keeps_every_tick(sim: Sim, _out: &mut Report) -> Step {
    let run = run_sim(sim);
    let figures = Figures::of(&run.logs(), true);
    let mut step = Step {
        x: 0,
        ok: false,
        cpu_pct: run.cpu_s / sim.runtime_s * 100.0,
        p99_us: f64::NAN,
        max_us: f64::NAN,
        missed: 0,
        total: 0,
        count_error: 0,
        clean: false,
        why: String::new(),
    };
    let f = match figures {
        Ok(f) => f,
        Err(e) => {
            step.why = format!("no logs to measure ({e}); launcher: {}", run.why);
            return step;
        }
    };
    let late = f.lateness_us().unwrap_or([f64::NAN; 3]);
    (step.p99_us, step.max_us) = (late[1], late[2]);
    (step.missed, step.count_error) = (f.missed(), f.worst_count_error());
    let total: u64 = f.ticks.iter().map(|t| t.made).sum();
    step.total = total;
    step.clean = run.exit_ok && f.verify_error.is_none() && step.count_error == 0;
    step.why = if !run.exit_ok {
        format!("exit: {}", run.why)
    } else if let Some(v) = f.verify_error {
        format!("verify: {v}")
    } else if step.count_error != 0 {
        format!("a VM made {} ticks off rate x runtime", step.count_error)
    } else if step.missed > total / MISSED_TOLERANCE {
        format!("{} of {total} ticks missed their slot", step.missed)
    } else {
        step.ok = true;
        format!("{} of {total} ticks missed their slot", step.missed)
    };
    step
}

/// Searches the largest x in `range` for which `try_x` passes, from `start`:
/// doubling or halving until the answer changes, then `bisections` halvings
/// of the gap. Records every step in `out` and returns the largest pass.
fn search(
    start: u32,
    (lo_limit, hi_limit): (u32, u32),
    bisections: u32,
    out: &mut Report,
    name: &'static str,
    mut try_x: impl FnMut(u32, &mut Report) -> Step,
) -> Vec<f64> {
    let mut attempt = |x: u32, out: &mut Report| {
        let mut step = try_x(x, out);
        step.x = x;
        eprintln!(
            "  {name} {x}: {} ({})",
            if step.ok { "ok" } else { "no" },
            step.why
        );
        let ok = step.ok;
        out.steps.push((name, step));
        ok
    };
    let (mut pass, mut fail) = (None, None);
    let mut x = start;
    if attempt(x, out) {
        pass = Some(x);
        while x < hi_limit {
            x = (x * 2).min(hi_limit);
            if attempt(x, out) {
                pass = Some(x);
            } else {
                fail = Some(x);
                break;
            }
        }
    } else {
        fail = Some(x);
        while x > lo_limit {
            x = (x / 2).max(lo_limit);
            if attempt(x, out) {
                pass = Some(x);
                break;
            }
            fail = Some(x);
        }
    }
    for _ in 0..bisections {
        let (Some(p), Some(f)) = (pass, fail) else {
            break;
        };
        let mid = p + (f - p) / 2;
        if mid == p {
            break;
        }
        if attempt(mid, out) {
            pass = Some(mid);
        } else {
            fail = Some(mid);
        }
    }
    pass.map(|p| vec![f64::from(p)]).unwrap_or_default()
}

/// Issue 6 item 5: send to arrival on the receiver's queue, from the logs.
fn case_latency(o: &Opts, out: &mut Report) {
    let runs = o.runs(5, 3);
    let runtime_s = o.pick(10.0, 5.0);
    let mut columns: Vec<Columns> = o.bins().map(|_| Columns::default()).collect();
    for (i, b) in runs_in_turn(runs, o) {
        let v = &mut columns[b];
        let sim = Sim::new(3, runtime_s, (100, 100), 6000 + i).with_bin(b);
        let (_, figures) = measured(sim, out);
        let Some(lat) = figures.and_then(|f| Some((f.latency()?, f.latency_us.len()))) else {
            continue;
        };
        let (p, n) = lat;
        eprintln!(
            "  run {}/{runs}{}: {n} messages, p50 {} us, p99 {} us, max {} us",
            i + 1,
            o.tag(b),
            p[0],
            p[1],
            p[2]
        );
        v.push("p50", p[0]);
        v.push("p99", p[1]);
        v.push("max", p[2]);
    }
    for (b, mut v) in columns.into_iter().enumerate() {
        let rows_before = out.rows.len();
        let what = format!("3 VMs x {runtime_s} s at 100 ticks/s, loopback");
        out.row(
            "latency",
            format!("send to arrival p50 ({what})"),
            Target::Below(100.0),
            Unit::Us,
            v.take("p50"),
        );
        out.row(
            "latency",
            format!("send to arrival p99 ({what})"),
            Target::Info,
            Unit::Us,
            v.take("p99"),
        );
        out.row(
            "latency",
            format!("send to arrival max ({what})"),
            Target::Info,
            Unit::Us,
            v.take("max"),
        );
        out.tag_rows_since(rows_before, &o.tag(b));
    }
}

/// Issue 6 item 6: `verify` and `analyze` on a synthetic 1,000,000-line run.
fn case_logtools(o: &Opts, out: &mut Report) {
    let runs = o.runs(5, 3);
    let dir = tempfile::Builder::new()
        .prefix("lsim-bench-")
        .tempdir()
        .expect("cannot make a temp folder");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("cannot make the logs folder");
    // 3 VMs x 5,556 ticks/s x 60 s = 1,000,080 tick lines (+ start, pending, stop).
    let files = lamport_sim::testkit::synthetic_run(3, 5_556, Duration::from_secs(60), 7, (40, 60));
    let mut lines = 0;
    for (name, text) in &files {
        lines += text.lines().count();
        std::fs::write(logs.join(name), text).expect("cannot write the synthetic logs");
    }
    drop(files);
    eprintln!("  synthetic run: {} lines", thousands(lines as f64));
    let what = format!("{}-line synthetic run, lines/s", thousands(lines as f64));
    let tool = |args: &[&str]| {
        let mut values = Vec::new();
        for i in 0..runs {
            let started = Instant::now();
            let status = Command::new(bin_path(0))
                .args(args)
                .arg(&logs)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("cannot spawn lamport-sim");
            let secs = started.elapsed().as_secs_f64();
            eprintln!("  {} run {}/{runs}: {secs:.3} s, {status}", args[0], i + 1);
            values.push(if status.success() {
                lines as f64 / secs
            } else {
                f64::NAN
            });
        }
        values
    };
    let verify_values = tool(&["verify"]);
    out.row(
        "logtools",
        format!("verify throughput ({what})"),
        Target::AtLeast(1e6),
        Unit::PerSec,
        verify_values,
    );
    let analyze_built = Command::new(bin_path(0))
        .args(["analyze", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let what_analyze = format!("analyze throughput ({what})");
    if analyze_built {
        let report = dir.path().join("report");
        let report = report.to_string_lossy().into_owned();
        let values = tool(&["analyze", "--out", &report]);
        out.row(
            "logtools",
            what_analyze,
            Target::AtLeast(1e6),
            Unit::PerSec,
            values,
        );
    } else {
        let mut row = Row::new(
            "logtools",
            what_analyze,
            Target::AtLeast(1e6),
            Unit::PerSec,
            vec![],
        );
        row.verdict_override = Some("not built yet (`lamport-sim analyze` is missing)".into());
        out.rows.push(row);
    }
}

/// Issue 14 item 7: what the log time costs per line, in process. The times
/// of a 1M-line run (3 VMs at 5,556 ticks/s: 60 us apart, so every digit
/// moves) are written with chrono ([`logline::write_time`]) and read back by
/// chrono's RFC 3339 parser alone and by the log parser's fast path, each
/// loop timed over all of them. The fast path stays only while it is
/// clearly cheaper than chrono.
fn case_rfc3339(o: &Opts, out: &mut Report) {
    let runs = o.runs(7, 3);
    let n = 1_000_000i64;
    let t0 = 1_795_000_000_000_000i64;
    let times: Vec<i64> = (0..n).map(|i| t0 + i * 60 + i % 7).collect();
    let mut texts = String::with_capacity(27 * n as usize);
    let (mut write, mut chrono, mut fast) = (Vec::new(), Vec::new(), Vec::new());
    let per_s = |started: Instant| n as f64 / started.elapsed().as_secs_f64();
    for i in 0..runs {
        texts.clear();
        let started = Instant::now();
        for &us in &times {
            logline::write_time(us, &mut texts);
        }
        write.push(per_s(started));
        let read = |parse: &dyn Fn(&str) -> Option<i64>| {
            let started = Instant::now();
            let mut sum = 0i64;
            for k in 0..n as usize {
                let us = parse(&texts[27 * k..27 * (k + 1)]).expect("a time the writer wrote");
                sum = sum.wrapping_add(us);
            }
            let rate = per_s(started);
            assert_eq!(sum, times.iter().fold(0i64, |a, &t| a.wrapping_add(t)));
            rate
        };
        chrono.push(read(&|s| {
            logline::parse_time_chrono(std::hint::black_box(s)).ok()
        }));
        fast.push(read(&|s| logline::parse_time_fast(std::hint::black_box(s))));
        eprintln!(
            "  run {}/{runs}: write {:.0} ns, chrono parse {:.0} ns, fast path {:.0} ns per time",
            i + 1,
            1e9 / write[i as usize],
            1e9 / chrono[i as usize],
            1e9 / fast[i as usize]
        );
    }
    let what = |how: &str| format!("{how} (1M log times, times/s)");
    out.row(
        "rfc3339",
        what("write, chrono"),
        Target::Info,
        Unit::PerSec,
        write,
    );
    out.row(
        "rfc3339",
        what("parse, chrono's RFC 3339 parser"),
        Target::Info,
        Unit::PerSec,
        chrono,
    );
    out.row(
        "rfc3339",
        what("parse, the log parser's fast path"),
        Target::Info,
        Unit::PerSec,
        fast,
    );
}

/// Issue 13 item 8: N VMs at default rates for `--scale-runtime` (10 s),
/// timed from outside.
/// The kernel's own cost of a 1024-VM mesh, with no lamport-sim in it
/// (`floor`): what `scale-vms-1024`'s set-up and stop can be read against.
fn case_tcp_floor(o: &Opts, out: &mut Report) {
    const CASE: &str = "tcp-floor-1024";
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("{CASE}: cannot find this bench's binary");
        return;
    };
    // Each process holds a socket per peer: as lamport-sim's launcher does,
    // raise the soft open-files limit to the hard one (children inherit it).
    let limit = lamport_sim::limits::raise_open_files();
    if let Err(e) = lamport_sim::limits::check_run(1024, limit) {
        eprintln!("{CASE}: {e}");
        return;
    }
    let runs = o.runs(3, 1);
    let mut figures: [Vec<f64>; 4] = Default::default();
    for run in 0..runs {
        for (i, frames) in [(0, 0), (1, 3)] {
            let Some(base) = floor::free_ports(1024) else {
                eprintln!("{CASE}: no 1024 free ports in a row");
                return;
            };
            eprintln!(
                "{CASE}: run {} of {runs}, {frames} frames per handshake",
                run + 1
            );
            let Some(f) = floor::run(&exe, 1024, frames, base) else {
                out.failed_runs += 1;
                continue;
            };
            figures[i].push(f.linked);
            if frames == 3 {
                figures[2].push(f.bye);
                figures[3].push(f.exit);
            }
        }
    }
    let [connect, linked, bye, exit] = figures;
    for (what, values) in [
        (
            "1024 processes: every connection of the full mesh made (523,776; no data)",
            connect,
        ),
        (
            "... and a 3-frame handshake on each (our handshake's size)",
            linked,
        ),
        ("then one frame each way on every connection", bye),
        ("then exit: the kernel closes every socket", exit),
    ] {
        out.rows.push(Row::new(
            CASE,
            what.into(),
            Target::Info,
            Unit::Secs,
            values,
        ));
    }
}

fn case_scale_256(o: &Opts, out: &mut Report) {
    scale_n(256, o, out);
}

fn case_scale_512(o: &Opts, out: &mut Report) {
    scale_n(512, o, out);
}

fn case_scale_1024(o: &Opts, out: &mut Report) {
    scale_n(1024, o, out);
}

/// One scale-vms-N case. Its runs may fail (that is what it measures), so
/// they are not counted as failed runs; what happened goes in the notes.
fn scale_n(vms: u32, o: &Opts, out: &mut Report) {
    let runs = o.runs(1, 1);
    let runtime_s = o.scale_runtime_s;
    let case: &'static str = match vms {
        256 => "scale-vms-256",
        512 => "scale-vms-512",
        _ => "scale-vms-1024",
    };
    let mut columns: Vec<Columns> = o.bins().map(|_| Columns::default()).collect();
    for (i, b) in runs_in_turn(runs, o) {
        let v = &mut columns[b];
        let mut sim = Sim::new(vms, runtime_s, (1, 6), 8000 + i).with_bin(b);
        sim.tree = true;
        let run = run_sim(sim);
        let figures = Figures::of(&run.logs(), true);
        let vm_s = f64::from(vms) * runtime_s;
        v.push("exit", if run.exit_ok { 0.0 } else { 1.0 });
        v.push(
            "cpu",
            if run.timed_out {
                f64::NAN
            } else {
                run.cpu_s / vm_s * 1e3
            },
        );
        v.push("mem", run.tree_peak_kb.0 as f64 / 1024.0);
        v.push("own", run.tree_peak_kb.1 as f64 / 1024.0);
        v.push("warnings", run.warnings as f64);
        let mut note = format!(
            "{case}{} run {}/{runs}: launcher exit {} {:.1} s after the launch, {} VM processes seen, CPU {:.2} s, {} warning lines on stderr",
            o.tag(b),
            i + 1,
            run.exit_code
                .map_or("by a signal".to_string(), |c| c.to_string()),
            (run.exited_us - run.spawned_us) as f64 / 1e6,
            run.vms_seen,
            run.cpu_s,
            run.warnings,
        );
        if run.timed_out {
            let _ = write!(
                note,
                "; the harness killed the launcher at its time limit (so the CPU figure misses the VMs)"
            );
        }
        if !run.exit_ok {
            let _ = write!(
                note,
                "; its last stderr line: {:?}; its first lines that are not a VM's warning: {:?}",
                shortened(&run.why, 240),
                run.err_head
            );
        }
        match &figures {
            Ok(f) => {
                let schedule = f.schedule_us();
                let setup = schedule.map_or(f64::NAN, |(at, _)| (at - run.spawned_us) as f64 / 1e6);
                let stop = schedule.map_or(f64::NAN, |(at, runtime)| {
                    (run.exited_us - at - runtime) as f64 / 1e6
                });
                v.push("setup", setup);
                v.push("stop", stop);
                v.push("peer_lost", f.links.peer_lost as f64);
                v.push("link_down", f.links.link_down as f64);
                v.push("lost", f.links.lost() as f64);
                v.push("verify", if f.verify_error.is_none() { 0.0 } else { 1.0 });
                let _ = write!(
                    note,
                    "; {} logs, set-up {setup:.2} s, stop {stop:.2} s, {} peer_lost, {} link_down, {} of {} messages neither received nor pending, verify {}",
                    f.ticks.len(),
                    f.links.peer_lost,
                    f.links.link_down,
                    f.links.lost(),
                    f.links.sent,
                    f.verdict(),
                );
            }
            Err(e) => {
                v.push("verify", 1.0);
                let _ = write!(note, "; no logs to measure: {e}");
            }
        }
        eprintln!("  {note}");
        out.notes.push(note);
    }
    let what = format!("{vms} VMs x {runtime_s} s, rates 1..6");
    let big = vms >= 1024;
    for (b, mut v) in columns.into_iter().enumerate() {
        let rows_before = out.rows.len();
        let rows: [(&str, &str, Target, Unit); 11] = [
            (
                "setup",
                "set-up: launch to the shared start",
                if big {
                    Target::Below(15.0)
                } else {
                    Target::Info
                },
                Unit::Secs,
            ),
            (
                "stop",
                "stop: end of the runtime to the launcher's exit",
                if big {
                    Target::Below(2.0)
                } else {
                    Target::Info
                },
                Unit::Secs,
            ),
            (
                "peer_lost",
                "`peer_lost` lines, all logs",
                Target::Zero,
                Unit::Count,
            ),
            (
                "link_down",
                "`link_down` lines, all logs",
                Target::Info,
                Unit::Count,
            ),
            (
                "lost",
                "messages neither received nor pending",
                Target::Zero,
                Unit::Count,
            ),
            (
                "verify",
                "runs that fail verify (or left no logs)",
                Target::Zero,
                Unit::Count,
            ),
            (
                "exit",
                "runs whose launcher exited non-zero",
                Target::Zero,
                Unit::Count,
            ),
            (
                "cpu",
                "CPU per VM-second, ms (user+sys, all processes / (N x runtime))",
                Target::Info,
                Unit::Ms,
            ),
            (
                "mem",
                "peak memory of the process tree, sum of RSS (100 ms samples)",
                Target::Info,
                Unit::Mb,
            ),
            ("own", "same, RSS less shared pages", Target::Info, Unit::Mb),
            (
                "warnings",
                "warning lines on the launcher's stderr",
                Target::Info,
                Unit::Count,
            ),
        ];
        for (key, name, target, unit) in rows {
            out.row(case, format!("{name} ({what})"), target, unit, v.take(key));
        }
        out.tag_rows_since(rows_before, &o.tag(b));
    }
}

/// When the link-fault case acts, from the launch: resets of VM 1's
/// connections, and a pause of VM 3.
const RESETS_AT_S: [f64; 2] = [3.0, 6.0];
const PAUSE_AT_S: (f64, f64) = (4.0, 5.0);
const RESET_VM: u32 = 1;
const PAUSED_VM: u32 = 3;

/// What the link-fault case did during one run, wall times in us.
#[derive(Default)]
struct FaultLog {
    /// (when, connections killed or why none).
    resets: Vec<(i64, Result<usize, String>)>,
    /// SIGSTOP and SIGCONT.
    pause: Option<(i64, i64)>,
    problems: Vec<String>,
}

/// Issue 13 item 8: 3 VMs at 20..60 ticks/s for 10 s; `ss -K` of VM 1's
/// connections at 3 s and 6 s, VM 3 stopped (SIGSTOP) from 4 s to 5 s.
fn case_link_fault(o: &Opts, out: &mut Report) {
    let runs = o.runs(3, 1);
    let can_reset = ss_kill_works();
    match &can_reset {
        Ok(()) => eprintln!("  ss -K works here"),
        Err(e) => {
            let note = format!(
                "link-fault: `ss -K` kills nothing here ({e}): the resets are left out, only the pause is measured"
            );
            eprintln!("  {note}");
            out.notes.push(note);
        }
    }
    let resets = can_reset.is_ok();
    let mut columns: Vec<Columns> = o.bins().map(|_| Columns::default()).collect();
    for (i, b) in runs_in_turn(runs, o) {
        let v = &mut columns[b];
        let sim = Sim::new(3, 10.0, (20, 60), 9000 + i).with_bin(b);
        let log = Arc::new(Mutex::new(FaultLog::default()));
        let during: During = {
            let log = Arc::clone(&log);
            Box::new(move |launcher| link_faults(launcher, resets, &log))
        };
        let run = run_sim_with(sim, Some(during));
        let faults = std::mem::take(&mut *log.lock().expect("the fault thread panicked"));
        let figures = Figures::of(&run.logs(), true);
        v.push("exit", if run.exit_ok { 0.0 } else { 1.0 });
        let mut note = format!(
            "link-fault{} run {}/{runs}: launcher exit {}",
            o.tag(b),
            i + 1,
            run.exit_code
                .map_or("by a signal".to_string(), |c| c.to_string())
        );
        for (at, killed) in &faults.resets {
            let rel = (*at - run.spawned_us) as f64 / 1e6;
            match killed {
                Ok(n) => {
                    v.push("killed", *n as f64);
                    let _ = write!(
                        note,
                        "; ss -K at {rel:.3} s killed {n} connections of VM {RESET_VM}"
                    );
                }
                Err(e) => {
                    let _ = write!(note, "; ss -K at {rel:.3} s: {e}");
                }
            }
        }
        if let Some((a, z)) = faults.pause {
            let _ = write!(
                note,
                "; VM {PAUSED_VM} stopped {:.3}-{:.3} s",
                (a - run.spawned_us) as f64 / 1e6,
                (z - run.spawned_us) as f64 / 1e6
            );
        }
        for p in &faults.problems {
            let _ = write!(note, "; {p}");
        }
        match figures {
            Ok(f) => {
                let l = f.links;
                v.push("verify", if f.verify_error.is_none() { 0.0 } else { 1.0 });
                v.push(
                    "delivered",
                    (l.received + l.pending) as f64 / l.sent.max(1) as f64 * 100.0,
                );
                v.push("lost", l.lost() as f64);
                v.push("resent", l.resent as f64);
                v.push("link_down", l.link_down as f64);
                v.push("link_up", l.link_up as f64);
                v.push("peer_lost", l.peer_lost as f64);
                const S: i64 = 1_000_000;
                let reset_windows: Vec<(i64, i64)> = faults
                    .resets
                    .iter()
                    .filter(|(_, k)| matches!(k, Ok(n) if *n > 0))
                    .map(|&(at, _)| (at - S, at))
                    .collect();
                let pause_windows: Vec<(i64, i64)> =
                    faults.pause.iter().map(|&(a, z)| (a - S, z)).collect();
                let all_windows: Vec<(i64, i64)> = reset_windows
                    .iter()
                    .chain(&pause_windows)
                    .copied()
                    .collect();
                let (mut near_reset, _) =
                    bench::split_by_send_time(&f.timed_latency_us, &reset_windows);
                let (mut near_pause, _) =
                    bench::split_by_send_time(&f.timed_latency_us, &pause_windows);
                let (_, mut rest) = bench::split_by_send_time(&f.timed_latency_us, &all_windows);
                let mut push = |key_50: &'static str, key_max: &'static str, xs: &mut Vec<i64>| {
                    let p = Percentiles::of(xs);
                    v.push(key_50, p.map_or(f64::NAN, |p| p.p50 as f64));
                    v.push(key_max, p.map_or(f64::NAN, |p| p.max as f64));
                    p
                };
                let pr = push("reset50", "resetmax", &mut near_reset);
                let pp = push("pause50", "pausemax", &mut near_pause);
                let pq = push("rest50", "restmax", &mut rest);
                let show = |p: Option<Percentiles>| {
                    p.map_or("none".to_string(), |p| {
                        format!("{} msgs, p50 {} us, max {} us", p.n, p.p50, p.max)
                    })
                };
                let _ = write!(
                    note,
                    "; {} sent, {} received, {} pending, {} lost; link_down {}, link_up {}, resent {}, peer_lost {}; sent near a reset: {}; near the pause: {}; the rest: {}; verify {}",
                    l.sent,
                    l.received,
                    l.pending,
                    l.lost(),
                    l.link_down,
                    l.link_up,
                    l.resent,
                    l.peer_lost,
                    show(pr),
                    show(pp),
                    show(pq),
                    f.verdict(),
                );
            }
            Err(e) => {
                v.push("verify", 1.0);
                let _ = write!(note, "; no logs to measure: {e}");
            }
        }
        eprintln!("  {note}");
        out.notes.push(note);
    }
    let what = "3 VMs x 10 s, rates 20..60";
    for (b, mut v) in columns.into_iter().enumerate() {
        let rows_before = out.rows.len();
        let mut rows: Vec<(&str, &str, Target, Unit)> = vec![
            (
                "delivered",
                "messages received or pending, % of those sent",
                Target::AtLeast(100.0),
                Unit::Percent,
            ),
            (
                "lost",
                "messages neither received nor pending",
                Target::Zero,
                Unit::Count,
            ),
            ("verify", "runs that fail verify", Target::Zero, Unit::Count),
            (
                "exit",
                "runs whose launcher exited non-zero",
                Target::Zero,
                Unit::Count,
            ),
            ("peer_lost", "`peer_lost` lines", Target::Zero, Unit::Count),
            ("link_down", "`link_down` lines", Target::Info, Unit::Count),
            ("link_up", "`link_up` lines", Target::Info, Unit::Count),
            (
                "resent",
                "sum of `resent` over the `link_up` lines",
                Target::Info,
                Unit::Count,
            ),
        ];
        if resets {
            rows.extend([
                (
                    "killed",
                    "connections `ss -K` killed per reset",
                    Target::Info,
                    Unit::Count,
                ),
                (
                    "reset50",
                    "send to arrival p50, messages sent in the 1 s before a reset",
                    Target::Info,
                    Unit::Us,
                ),
                (
                    "resetmax",
                    "send to arrival max, same messages",
                    Target::Info,
                    Unit::Us,
                ),
            ]);
        }
        rows.extend([
            (
                "pause50",
                "send to arrival p50, messages sent from 1 s before the pause to its end",
                Target::Info,
                Unit::Us,
            ),
            (
                "pausemax",
                "send to arrival max, same messages",
                Target::Info,
                Unit::Us,
            ),
            (
                "rest50",
                "send to arrival p50, every other message",
                Target::Info,
                Unit::Us,
            ),
            (
                "restmax",
                "send to arrival max, every other message",
                Target::Info,
                Unit::Us,
            ),
        ]);
        for (key, name, target, unit) in rows {
            out.row(
                "link-fault",
                format!("{name} ({what})"),
                target,
                unit,
                v.take(key),
            );
        }
        out.tag_rows_since(rows_before, &o.tag(b));
    }
}

/// The link-fault case's faults, on their own thread: waits for the VMs,
/// then acts at [`RESETS_AT_S`] and [`PAUSE_AT_S`] after the launch.
fn link_faults(launcher: u32, resets: bool, log: &Mutex<FaultLog>) {
    let launched = Instant::now();
    let problem = |p: String| log.lock().expect("fault log").problems.push(p);
    let find = |id: u32| {
        while launched.elapsed() < Duration::from_secs(2) {
            if let Some(pid) = vm_pid(launcher, id) {
                return Some(pid);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    };
    let (Some(reset_pid), Some(paused_pid)) = (find(RESET_VM), find(PAUSED_VM)) else {
        problem("the VMs were not found within 2 s of the launch: no faults".into());
        return;
    };
    let at = |s: f64| launched + Duration::from_secs_f64(s);
    let sleep_until = |t: Instant| std::thread::sleep(t.saturating_duration_since(Instant::now()));
    let mut plan: Vec<(Instant, u8)> = vec![(at(PAUSE_AT_S.0), 1), (at(PAUSE_AT_S.1), 2)];
    if resets {
        plan.extend(RESETS_AT_S.iter().map(|&s| (at(s), 0)));
    }
    plan.sort();
    let mut stopped_at = None;
    for (when, what) in plan {
        sleep_until(when);
        match what {
            0 => {
                let now = logline::now_us();
                let killed = reset_connections(reset_pid);
                log.lock().expect("fault log").resets.push((now, killed));
            }
            1 => {
                stopped_at = Some(logline::now_us());
                // SAFETY: kill(2) has no memory effects.
                unsafe { libc::kill(paused_pid as i32, libc::SIGSTOP) };
            }
            _ => {
                // SAFETY: as above.
                unsafe { libc::kill(paused_pid as i32, libc::SIGCONT) };
                if let Some(a) = stopped_at {
                    log.lock().expect("fault log").pause = Some((a, logline::now_us()));
                }
            }
        }
    }
}

/// The pid of VM `id` among the launcher's children (`vm ... --id ID ...`).
fn vm_pid(launcher: u32, id: u32) -> Option<u32> {
    let want = format!("\0--id\0{id}\0");
    children_of(launcher).into_iter().find(|pid| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        String::from_utf8_lossy(&cmdline).contains(&want)
    })
}

/// The established TCP connections of process `pid`, (its end, the other end).
fn established_of(pid: u32) -> Vec<(SocketAddr, SocketAddr)> {
    let inodes: HashSet<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let target = std::fs::read_link(e.path()).ok()?;
            let t = target.to_str()?;
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect();
    ["tcp", "tcp6"]
        .iter()
        .flat_map(|f| {
            bench::parse_proc_net_tcp(
                &std::fs::read_to_string(format!("/proc/{pid}/net/{f}")).unwrap_or_default(),
            )
        })
        .filter(|e| e.state == TcpEntry::ESTABLISHED && inodes.contains(&e.inode))
        .map(|e| (e.local, e.remote))
        .collect()
}

/// Every established connection in this network namespace, (local, remote).
fn all_established() -> HashSet<(SocketAddr, SocketAddr)> {
    ["tcp", "tcp6"]
        .iter()
        .flat_map(|f| {
            bench::parse_proc_net_tcp(
                &std::fs::read_to_string(format!("/proc/self/net/{f}")).unwrap_or_default(),
            )
        })
        .filter(|e| e.state == TcpEntry::ESTABLISHED)
        .map(|e| (e.local, e.remote))
        .collect()
}

/// `ss -K` of exactly these connections (by both ends); returns how many
/// are no longer established afterwards.
fn kill_connections(conns: &[(SocketAddr, SocketAddr)]) -> Result<usize, String> {
    if conns.is_empty() {
        return Err("no established connections to kill".into());
    }
    let filter = conns
        .iter()
        .map(|(l, r)| format!("( src {l} and dst {r} )"))
        .collect::<Vec<_>>()
        .join(" or ");
    let output = Command::new("ss")
        .args(["-K", "-H", "-t", "-n", "state", "established", &filter])
        .output()
        .map_err(|e| format!("cannot run ss: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "ss -K failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let still = all_established();
    Ok(conns.iter().filter(|c| !still.contains(c)).count())
}

fn reset_connections(pid: u32) -> Result<usize, String> {
    kill_connections(&established_of(pid))
}

/// Whether `ss -K` resets a connection here: it needs root and a kernel with
/// INET_DIAG_DESTROY. Tried on a loopback connection of our own.
fn ss_kill_works() -> Result<(), String> {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let mut client =
        std::net::TcpStream::connect(listener.local_addr().map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let (_server, _) = listener.accept().map_err(|e| e.to_string())?;
    let me = (
        client.local_addr().map_err(|e| e.to_string())?,
        client.peer_addr().map_err(|e| e.to_string())?,
    );
    match kill_connections(&[me])? {
        0 => Err("the connection survived it".into()),
        _ => {
            let _ = client.set_read_timeout(Some(Duration::from_millis(500)));
            match client.read(&mut [0u8; 1]) {
                Err(e)
                    if e.kind() != std::io::ErrorKind::WouldBlock
                        && e.kind() != std::io::ErrorKind::TimedOut =>
                {
                    Ok(())
                }
                other => Err(format!("the connection was still usable: {other:?}")),
            }
        }
    }
}

// ---------------------------------------------------------------- the report

/// Named columns of per-run values, gathered run by run.
#[derive(Default)]
struct Columns(HashMap<&'static str, Vec<f64>>);

impl Columns {
    fn push(&mut self, name: &'static str, value: f64) {
        self.0.entry(name).or_default().push(value);
    }

    fn take(&mut self, name: &'static str) -> Vec<f64> {
        self.0.remove(name).unwrap_or_default()
    }
}

#[derive(Clone, Copy)]
enum Target {
    Info,
    Below(f64),
    AtLeast(f64),
    /// Every run must show 0.
    Zero,
}

#[derive(Clone, Copy)]
enum Unit {
    Secs,
    Ms,
    Us,
    Mb,
    Count,
    Percent,
    PerSec,
}

impl Unit {
    fn show(self, v: f64) -> String {
        if v.is_nan() {
            return "-".into();
        }
        match self {
            Unit::Secs => format!("{} s", sig(v)),
            Unit::Ms => format!("{} ms", sig(v)),
            Unit::Us => format!("{} us", sig(v)),
            Unit::Mb => format!("{} MB", sig(v)),
            Unit::Count => thousands(v),
            Unit::Percent => format!("{}%", sig(v)),
            Unit::PerSec => format!("{}/s", thousands(v)),
        }
    }
}

struct Row {
    case: &'static str,
    what: String,
    target: Target,
    unit: Unit,
    values: Vec<f64>,
    verdict_override: Option<String>,
}

impl Row {
    fn new(case: &'static str, what: String, target: Target, unit: Unit, values: Vec<f64>) -> Row {
        Row {
            case,
            what,
            target,
            unit,
            values,
            verdict_override: None,
        }
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::Info => "-".into(),
            Target::Below(t) => format!("< {}", self.unit.show(t)),
            Target::AtLeast(t) => format!(">= {}", self.unit.show(t)),
            Target::Zero => "0".into(),
        }
    }

    fn verdict(&self, spread: Option<Spread>) -> String {
        if let Some(v) = &self.verdict_override {
            return v.clone();
        }
        let Some(s) = spread else {
            return "no measurement".into();
        };
        let show = |v| self.unit.show(v);
        match self.target {
            Target::Info => "-".into(),
            Target::Below(t) if s.median < t => {
                if s.max < t {
                    "met".into()
                } else {
                    format!("met (median; worst run {})", show(s.max))
                }
            }
            Target::Below(t) => format!(
                "MISSED by {} ({:.1}x the target)",
                show(s.median - t),
                s.median / t
            ),
            Target::AtLeast(t) if s.median >= t => "met".into(),
            Target::AtLeast(t) => format!(
                "MISSED by {} ({:.0}% of the target)",
                show(t - s.median),
                s.median / t * 100.0
            ),
            Target::Zero if s.min == 0.0 && s.max == 0.0 => "met".into(),
            Target::Zero => {
                let bad = self.values.iter().filter(|&&v| v != 0.0).count();
                format!("MISSED in {bad} of {} runs", self.values.len())
            }
        }
    }
}

/// One attempt of a scale search.
struct Step {
    x: u32,
    ok: bool,
    cpu_pct: f64,
    p99_us: f64,
    max_us: f64,
    missed: u64,
    /// Ticks made, all VMs.
    total: u64,
    count_error: i64,
    /// Exit 0, verify clean, exact tick counts: all but the slots held.
    clean: bool,
    why: String,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    steps: Vec<(&'static str, Step)>,
    failed_runs: usize,
    /// What happened in each run of the cases whose runs may fail, one line each.
    notes: Vec<String>,
}

impl Report {
    /// The largest x a search `name` tried whose run was clean and kept all
    /// but 1 in `per` ticks in their slots (a lower bound: the search aimed
    /// at the strict test).
    fn best_within(&self, name: &str, per: u64) -> Vec<f64> {
        let best = self
            .steps
            .iter()
            .filter(|(n, st)| *n == name && st.clean && st.missed <= st.total / per)
            .map(|(_, st)| st.x)
            .max();
        best.map(|x| vec![f64::from(x)]).unwrap_or_default()
    }

    /// Appends `tag` to the names of the rows added since there were `n`.
    fn tag_rows_since(&mut self, n: usize, tag: &str) {
        for row in &mut self.rows[n..] {
            row.what.push_str(tag);
        }
    }

    fn row(
        &mut self,
        case: &'static str,
        what: String,
        target: Target,
        unit: Unit,
        values: Vec<f64>,
    ) {
        self.rows.push(Row::new(case, what, target, unit, values));
    }

    fn markdown(&self, o: &Opts, took: Duration, load_before: String) -> String {
        let mut s = String::new();
        let mode = if o.quick { "--quick" } else { "full" };
        let filter = if o.words.is_empty() {
            "every case".to_string()
        } else {
            format!("cases matching {}", o.words.join(", "))
        };
        let _ = writeln!(s, "# lamport-sim benchmarks\n");
        let _ = writeln!(
            s,
            "`cargo bench{}{}` ({mode}, {filter}), {} UTC, commit {}; the pass took {}.\n",
            if o.quick { " -- --quick" } else { "" },
            if o.words.is_empty() {
                String::new()
            } else {
                format!(
                    "{}{}",
                    if o.quick { " " } else { " -- " },
                    o.words.join(" ")
                )
            },
            &logline::format_time(logline::now_us())[..16],
            git_commit(),
            minutes(took)
        );
        if let Some(bins) = BINS
            .get()
            .filter(|b| b.len() > 1 || b[0].1 != Path::new(BIN))
        {
            let list: Vec<String> = bins
                .iter()
                .map(|(label, path)| format!("`{label}` = `{}`", path.display()))
                .collect();
            let _ = writeln!(
                s,
                "Binaries (run in turn, run by run, in the cases that compare): {}.\n",
                list.join(", ")
            );
        }
        let _ = writeln!(s, "Machine: {}", machine());
        let _ = writeln!(
            s,
            "Load average (1, 5, 15 min) before: {load_before}; after: {}.\n",
            load_average()
        );
        let _ = writeln!(
            s,
            "Each figure is over repeated runs (the `runs` column); the verdict compares the median with the target.\n"
        );
        s.push_str("| case | figure | target | median | min | max | runs | verdict |\n|---|---|---|---|---|---|---|---|\n");
        for r in &self.rows {
            let spread = Spread::of(&r.values);
            let cell = |f: fn(&Spread) -> f64| spread.map_or("-".into(), |sp| r.unit.show(f(&sp)));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.case,
                r.what,
                r.target_text(),
                cell(|sp| sp.median),
                cell(|sp| sp.min),
                cell(|sp| sp.max),
                spread.map_or(0, |sp| sp.runs),
                r.verdict(spread)
            );
        }
        if !self.steps.is_empty() {
            s.push_str("\n## Scale searches, step by step\n\n");
            s.push_str("| search | x | no tick lost | CPU, % of one core | lateness p99 | lateness max | missed slots | count error | why |\n|---|---|---|---|---|---|---|---|---|\n");
            for (name, st) in &self.steps {
                let _ = writeln!(
                    s,
                    "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    thousands(f64::from(st.x)),
                    if st.ok { "yes" } else { "no" },
                    Unit::Percent.show(st.cpu_pct),
                    Unit::Us.show(st.p99_us),
                    Unit::Us.show(st.max_us),
                    thousands(st.missed as f64),
                    st.count_error,
                    st.why.replace('|', "/")
                );
            }
        }
        if !self.notes.is_empty() {
            s.push_str("\n## Run by run\n\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s.push_str(DEFINITIONS);
        s
    }
}

const DEFINITIONS: &str = "
## How each figure is measured

- **CPU**: `getrusage(RUSAGE_CHILDREN)` user + sys, before spawning the launcher and after
  reaping it; the launcher reaps its VMs, so every process of the run is counted.
- **Peak RSS per VM**: `VmHWM` from `/proc/PID/status` of each child of the launcher, polled
  until it exits; the row shows the largest VM of each run.
- **Tick lateness**: from the logs, the `time` of tick k minus its deadline
  `start_at + (k-1) * 1e9 / rate` ns (the VM's own integer arithmetic), pooled over the VMs
  of a run. The log keeps microseconds and stamps a line after the tick's work, so this is
  wake-up delay plus the tick's own work.
- **Missed slot** (a lost tick): a tick logged at or after the next tick's deadline. A VM
  never skips a tick (a late one still happens, late), so a scale step passes (\"no tick
  lost\") when the run exits 0, `verify` passes, every VM made exactly rate x runtime ticks,
  and at most 1 tick in 10,000 missed its slot: this machine wakes any sleeping thread 1-4 ms
  late about every 0.5 s (its kernel's DAMON sampling, every 500 ms), so a stricter test
  would measure that. The steps table shows the exact count; the \"99%\" rows show the
  best step that kept 99 ticks in 100 in their slots.
- **Launch to first tick**: wall time just before spawning the launcher to the earliest
  `tick=1` line. The launcher schedules the start 5 ms + 0.2 ms per VM ahead, by design.
- **Send to arrival**: for each `receive`, its time minus `wait_us` minus the time of the
  matching `send` (sender's log, by `from` and `sent_tick`).
- **Set-up** (scale-vms-N): the shared start instant of the `start` lines minus the wall time
  just before spawning the launcher. **Stop**: the wall time just after the launcher was
  reaped (on a thread of its own, so to the microsecond) minus the shared start plus the
  runtime.
- **Peak memory of the process tree** (scale-vms-N): every 100 ms, the sum over the launcher
  and its VMs of `/proc/PID/statm` resident pages (and resident less shared); the largest
  sum. The plain sum counts the binary's shared code pages once per process.
- **CPU per VM-second**: the whole run's CPU (above) over N x runtime.
- **Messages lost**: one message per recipient of each `send`, less `receive` and `pending`
  lines.
- **link-fault**: 3 VMs at 20..60 ticks/s for 10 s. 3 s and 6 s after the launch every
  established TCP connection of VM 1 (found from `/proc/PID/fd` and `/proc/PID/net/tcp`) is
  destroyed with `ss -K` (its peer sees a reset); from 4 s to 5 s VM 3 is stopped with
  SIGSTOP / SIGCONT. The delay the faults add is send to arrival (as below) of messages sent
  in the 1 s before a reset, and from 1 s before the pause to its end, against every other
  message. Without a working `ss -K` (root and a kernel with INET_DIAG_DESTROY, tried on a
  connection of the harness's own first) the resets are left out and the case says so.
- **Log tools**: wall time of `lamport-sim verify DIR` (and `analyze`) as a process, on a
  verify-clean synthetic run written through `logline` (3 VMs at 5,556 ticks/s for 60 s).
";

// ---------------------------------------------------------------- small helpers

/// `text` cut to about `max` bytes, saying how long it was.
fn shortened(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let tail_from = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| i >= text.len().saturating_sub(60))
        .unwrap_or(text.len());
    format!(
        "{} [... {} bytes in all ...] {}",
        &text[..cut],
        text.len(),
        &text[tail_from..]
    )
}

/// Up to three significant digits: 0.0412, 3.21, 45.6, 1234.
fn sig(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        thousands(v)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        let decimals = (-a.log10().floor()) as usize + 2;
        format!("{v:.decimals$}")
    }
}

/// A whole number with thousands separators: 1,000,080.
fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{} min {:02} s", s / 60, s % 60)
}

fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(", ")
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .map_or("?".into(), |kb| format!("{:.1}", kb / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores (nproc), {mem_gib} GiB RAM, Linux {}.",
        kernel.trim()
    )
}

fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".into(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
}
