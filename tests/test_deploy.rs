//! `lamport-sim deploy compose|kubernetes|slurm` and `collect`, through the
//! real binary: the files it writes read back (YAML through yaml-rust2, the
//! sbatch script line by line) for N services, an Indexed Job of N, one
//! srun step of N tasks; bad input refused with exit 2 and a line naming
//! the flag; and `collect` rebuilding a real run's logs, byte for byte, from
//! a made-up `kubectl logs --prefix` stream of them.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::*;
use yaml_rust2::{Yaml, YamlLoader};

fn deploy(args: &[&str]) -> Output {
    let mut c = bin();
    c.arg("deploy").args(args);
    run_with_limit(&mut c, Duration::from_secs(20))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn strs(node: &Yaml) -> Vec<String> {
    node.as_vec()
        .unwrap_or_else(|| panic!("not a list: {node:?}"))
        .iter()
        .map(|y| y.as_str().expect("a string").to_string())
        .collect()
}

/// The value after `flag` in `args`.
fn after<'a>(args: &'a [String], flag: &str) -> &'a str {
    let at = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("{flag} in {args:?}"));
    &args[at + 1]
}

/// The hint line on stderr: the run id and seed, how to start, how to get logs.
fn hint(out: &Output) -> String {
    let err = text(&out.stderr);
    let line = err.lines().last().unwrap_or_default().to_string();
    assert!(line.starts_with("lamport-sim: run "), "{err}");
    line
}

#[test]
fn compose_is_n_services_sharing_run_seed_and_secret() {
    let dir = tempdir();
    let logs = dir.path().join("logs");
    let l = logs.to_str().unwrap();
    let out = deploy(&[
        "compose",
        "--vms",
        "5",
        "--runtime",
        "3",
        "--seed",
        "9",
        "--delay",
        "1..4",
        "--logs",
        l,
    ]);
    let file = ok(&out);
    assert!(logs.is_dir(), "deploy makes the log folder");
    let doc = &YamlLoader::load_from_str(&file).unwrap()[0];
    assert_eq!(doc["version"].as_str(), Some("3.8"));
    let services = doc["services"].as_hash().unwrap();
    assert_eq!(services.len(), 5);
    let abs = logs.canonicalize().unwrap().display().to_string();
    let (mut runs, mut secrets) = (Vec::new(), Vec::new());
    for id in 1..=5 {
        let s = &doc["services"][format!("vm{id}").as_str()];
        assert_eq!(s["hostname"].as_str(), Some(format!("vm{id}").as_str()));
        assert_eq!(s["image"].as_str(), Some("lamport-sim:latest"));
        let cmd = strs(&s["command"]);
        assert_eq!(cmd[0], "vm");
        assert_eq!(after(&cmd, "--id"), id.to_string());
        assert_eq!(after(&cmd, "--vms"), "5");
        assert_eq!(after(&cmd, "--peers"), "vm{id}:7000");
        assert_eq!(after(&cmd, "--listen"), "0.0.0.0:7000");
        assert_eq!(after(&cmd, "--seed"), "9");
        assert_eq!(after(&cmd, "--delay"), "1..4");
        assert_eq!(after(&cmd, "--runtime"), "3");
        assert_eq!(after(&cmd, "--logs"), "/logs");
        runs.push(after(&cmd, "--run").to_string());
        secrets.push(
            s["environment"]["LAMPORT_SECRET"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        assert_eq!(s["volumes"][0]["type"].as_str(), Some("bind"));
        assert_eq!(s["volumes"][0]["source"].as_str(), Some(abs.as_str()));
        assert_eq!(s["restart"].as_str(), Some("no"));
        assert_eq!(
            s["deploy"]["restart_policy"]["condition"].as_str(),
            Some("none")
        );
        assert_eq!(strs(&s["networks"]), ["lamport"]);
    }
    runs.dedup();
    secrets.dedup();
    assert_eq!(
        (runs.len(), secrets.len()),
        (1, 1),
        "one run id, one secret"
    );
    assert_eq!(secrets[0].len(), 64);
    let line = hint(&out);
    assert!(line.contains(&format!("run {}, seed 9", runs[0])), "{line}");
    assert!(line.contains("docker compose -f"), "{line}");
    assert!(line.contains(&abs), "{line}");

    // A second deploy draws another secret and run id.
    let again = ok(&deploy(&["compose", "--vms", "5", "--logs", l]));
    let doc2 = &YamlLoader::load_from_str(&again).unwrap()[0];
    let s2 = doc2["services"]["vm1"]["environment"]["LAMPORT_SECRET"]
        .as_str()
        .unwrap();
    assert_ne!(s2, secrets[0]);
}

#[test]
fn kubernetes_is_a_headless_service_and_an_indexed_job_of_n() {
    let dir = tempdir();
    let file = dir.path().join("lamport.yaml");
    let out = deploy(&[
        "kubernetes",
        "--vms",
        "4",
        "--runtime",
        "20",
        "--run",
        "k8s-run",
        "--name",
        "sim",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(ok(&out).is_empty(), "-o writes the file instead of stdout");
    let docs = YamlLoader::load_from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Secret", "Service", "Job"]);
    let service = &docs[1]["spec"];
    assert_eq!(docs[1]["metadata"]["name"].as_str(), Some("sim"));
    assert_eq!(service["clusterIP"].as_str(), Some("None"));
    assert_eq!(service["publishNotReadyAddresses"].as_bool(), Some(true));
    assert_eq!(
        service["selector"]["lamport-sim/run"].as_str(),
        Some("k8s-run")
    );
    let job = &docs[2]["spec"];
    assert_eq!(job["completionMode"].as_str(), Some("Indexed"));
    assert_eq!(
        (job["completions"].as_i64(), job["parallelism"].as_i64()),
        (Some(4), Some(4))
    );
    assert_eq!(job["backoffLimit"].as_i64(), Some(0));
    let pod = &job["template"]["spec"];
    assert_eq!(
        job["template"]["metadata"]["labels"]["lamport-sim/run"].as_str(),
        Some("k8s-run")
    );
    assert_eq!(pod["subdomain"].as_str(), Some("sim"));
    let args = strs(&pod["containers"][0]["args"]);
    assert_eq!(after(&args, "--index"), "$(LAMPORT_INDEX)");
    assert_eq!(after(&args, "--peers"), "sim-{index}.sim:7000");
    assert_eq!(after(&args, "--run"), "k8s-run");
    assert!(args.contains(&"--log-stdout".to_string()));
    let secret_ref = &pod["containers"][0]["env"][1]["valueFrom"]["secretKeyRef"];
    assert_eq!(
        secret_ref["name"].as_str(),
        docs[0]["metadata"]["name"].as_str()
    );
    let line = hint(&out);
    for part in [
        "kubectl apply -f",
        "job/sim",
        "kubectl logs -l lamport-sim/run=k8s-run --tail=-1 --max-log-requests=4",
        "lamport-sim collect --logs logs",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
}

#[test]
fn slurm_is_one_srun_step_of_n_tasks() {
    let dir = tempdir();
    let logs = dir.path().join("slurm-logs");
    let out = deploy(&[
        "slurm",
        "--vms",
        "6",
        "--runtime",
        "10",
        "--base-port",
        "7100",
        "--seed",
        "3",
        "--rates",
        "1,2,3,4,5,6",
        "--bin",
        "/opt/lamport-sim",
        "--logs",
        logs.to_str().unwrap(),
    ]);
    let script = ok(&out);
    let abs = logs.canonicalize().unwrap().display().to_string();
    let lines: Vec<&str> = script.lines().collect();
    assert_eq!(lines[0], "#!/bin/sh");
    assert!(lines.contains(&"#SBATCH --ntasks=6"), "{script}");
    assert!(
        lines.contains(&format!("#SBATCH --output={abs}/slurm-%j.out").as_str()),
        "{script}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("LAMPORT_SECRET=$(od -An -N16 -tx1 /dev/urandom"))
    );
    let steps: Vec<&&str> = lines.iter().filter(|l| l.starts_with("srun ")).collect();
    assert_eq!(steps.len(), 1, "{script}");
    let words: Vec<String> = steps[0].split(' ').map(String::from).collect();
    assert_eq!(
        &words[..6],
        [
            "srun",
            "--distribution=block",
            "--kill-on-bad-exit=0",
            "/opt/lamport-sim",
            "vm",
            "--slurm"
        ]
    );
    assert_eq!(after(&words, "--vms"), "6");
    assert_eq!(after(&words, "--base-port"), "7100");
    assert_eq!(after(&words, "--seed"), "3");
    assert_eq!(after(&words, "--rates"), "1,2,3,4,5,6");
    assert_eq!(after(&words, "--logs"), abs);
    // The script checks as sh.
    let sh = run_with_limit(
        std::process::Command::new("sh")
            .arg("-n")
            .arg("-c")
            .arg(&script),
        Duration::from_secs(10),
    );
    assert!(sh.status.success(), "{}", text(&sh.stderr));
    assert!(hint(&out).contains("sbatch --wait"));

    // Without --bin, the binary's own absolute path.
    let own = ok(&deploy(&[
        "slurm",
        "--vms",
        "2",
        "--logs",
        logs.to_str().unwrap(),
    ]));
    let exe = Path::new(env!("CARGO_BIN_EXE_lamport-sim"))
        .canonicalize()
        .unwrap();
    assert!(
        own.contains(&format!(" {} vm --slurm ", exe.display())),
        "{own}"
    );
}

#[test]
fn bad_input_is_refused_naming_the_flag() {
    let dir = tempdir();
    let logs = dir.path().join("never");
    let l = logs.to_str().unwrap();
    for (args, flag) in [
        (&["compose", "--vms", "1", "--logs", l][..], "--vms"),
        (
            &["compose", "--vms", "3", "--rates", "1,2", "--logs", l],
            "--rates",
        ),
        (
            &["compose", "--vms", "3", "--runtime", "0", "--logs", l],
            "--runtime",
        ),
        (
            &["compose", "--vms", "3", "--port", "0", "--logs", l],
            "--port",
        ),
        (
            &["compose", "--vms", "3", "--run", "a b", "--logs", l],
            "--run",
        ),
        (
            &["compose", "--vms", "3", "--image", "", "--logs", l],
            "--image",
        ),
        (&["kubernetes", "--vms", "3", "--name", "Not_DNS"], "--name"),
        (&["kubernetes", "--vms", "3", "--run", "x_"], "--run"),
        (
            &[
                "kubernetes",
                "--vms",
                "3",
                "--min-rate",
                "9",
                "--max-rate",
                "2",
            ],
            "--min-rate",
        ),
        (
            &["slurm", "--vms", "3", "--base-port", "65534", "--logs", l],
            "--base-port",
        ),
        (
            &["slurm", "--vms", "3", "--logs", "/tmp/has space"],
            "--logs",
        ),
        (
            &["slurm", "--vms", "3", "--delay", "9..1", "--logs", l],
            "--delay",
        ),
    ] {
        let out = deploy(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(
            lines[0].starts_with(&format!("error: {flag} ")),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert!(!logs.exists(), "a refused deploy makes no folder");
    // A missing --logs is clap's to refuse, naming it.
    let out = deploy(&["compose", "--vms", "3"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(
            "error: the following required arguments were not provided:\n  --logs <DIR>"
        ),
        "{err}"
    );
}

#[test]
fn every_deploy_help_says_how_to_start_it_and_get_the_logs() {
    for (engine, words) in [
        ("compose", &["docker compose", "verify"][..]),
        ("kubernetes", &["kubectl apply", "kubectl logs", "collect"]),
        ("slurm", &["sbatch --wait", "verify"]),
    ] {
        let out = ok(&deploy(&[engine, "--help"]));
        assert!(out.contains("Example:"), "{engine}");
        for w in words {
            assert!(out.contains(w), "{engine}: {w}");
        }
    }
    let out = run_with_limit(bin().args(["collect", "--help"]), Duration::from_secs(10));
    assert!(ok(&out).contains("kubectl logs"));
}

/// The lines of `dir`'s logs as `kubectl logs --prefix` shows several pods:
/// each pod's lines in order, the pods interleaved, and their stderr between.
fn kubectl_stream(dir: &Path) -> (String, BTreeMap<u32, Vec<u8>>) {
    let mut originals = BTreeMap::new();
    let mut pods: Vec<Vec<String>> = Vec::new();
    for (id, _) in read_logs(dir) {
        let bytes = std::fs::read(log_path(dir, id)).unwrap();
        let prefix = format!("[pod/lamport-{}-x{id}k2p/vm] ", id - 1);
        let mut lines: Vec<String> = vec![format!("{prefix}lamport-sim: vm {id}: listening")];
        lines.extend(text(&bytes).lines().map(|l| format!("{prefix}{l}")));
        lines.push(format!("{prefix}lamport-sim: vm {id}: stopped"));
        pods.push(lines);
        originals.insert(id, bytes);
    }
    let mut stream = String::new();
    let longest = pods.iter().map(Vec::len).max().unwrap_or(0);
    for k in 0..longest {
        for (p, pod) in pods.iter().enumerate() {
            // Uneven turns, as concurrent log requests come back.
            for line in pod.iter().skip(k * (p + 1)).take(p + 1) {
                stream.push_str(line);
                stream.push('\n');
            }
        }
    }
    (stream, originals)
}

fn collect(args: &[&str], dir: &Path, stdin: &[u8]) -> Output {
    let mut child = bin()
        .arg("collect")
        .args(args)
        .arg("--logs")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    wait_with_limit(child, Duration::from_secs(20))
}

#[test]
fn collect_rebuilds_a_real_run_from_kubectl_logs() {
    let dir = tempdir();
    let (run, back) = (dir.path().join("run"), dir.path().join("back"));
    run_ok(
        &[
            "run",
            "--vms",
            "3",
            "--runtime",
            "1",
            "--base-port",
            "0",
            "--min-rate",
            "20",
            "--max-rate",
            "40",
        ],
        &run,
    );
    let (stream, originals) = kubectl_stream(&run);
    assert_eq!(originals.len(), 3);
    let out = collect(&[], &back, stream.as_bytes());
    let said = ok(&out);
    assert!(
        said.contains("wrote 3 logs") && said.contains("skipped 6 other lines"),
        "{said}"
    );
    for (id, bytes) in &originals {
        let got = std::fs::read(log_path(&back, *id)).unwrap();
        assert!(got == *bytes, "machine_{id}.log differs");
    }
    assert_verifies(&back);

    // The folder now holds logs: refused, then replaced.
    let again = collect(&[], &back, stream.as_bytes());
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("--logs"));
    std::fs::write(log_path(&back, 9), "stale\n").unwrap();
    let file = dir.path().join("stream.txt");
    std::fs::write(&file, &stream).unwrap();
    ok(&collect(&[file.to_str().unwrap(), "--replace"], &back, b""));
    assert!(!log_path(&back, 9).exists(), "--replace removes old logs");
    assert_verifies(&back);
}

#[test]
fn collect_of_no_log_line_fails_and_writes_nothing() {
    let dir = tempdir();
    let back = dir.path().join("back");
    let out = collect(&[], &back, b"error: no pods found\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no log lines"),
        "{}",
        text(&out.stderr)
    );
    assert!(!back.exists());
}
