//! Arguments -> validated run and VM configurations, with a typed error that
//! names the flag and the value at fault. No sockets, no files.

use std::net::SocketAddr;
use std::time::Duration;

use crate::cli::{ModelArgs, RunArgs, VmArgs};
pub use crate::params::{
    ClockRange, ConfigError, DelayRange, MAX_DELAY_MS, Model, RateSpec, VmConfig,
};

/// Highest tick rate accepted.
pub const MAX_RATE: u32 = 1_000_000;
/// Most VMs in one run.
pub const MAX_VMS: u32 = 1024;
/// Longest runtime accepted: one week.
pub const MAX_RUNTIME_SECS: f64 = 7.0 * 24.0 * 3600.0;

/// A checked `run`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    pub vms: u32,
    pub base_port: u16,
    /// Fixed rates, one per VM (`--rates`); `None` draws them.
    pub rates: Option<Vec<u32>>,
    /// `--connect-timeout`: how long set-up may go without progress.
    pub connect_timeout: Duration,
    pub model: Model,
}

/// Checks the model flags shared by `run` and `vm`.
pub fn model(a: &ModelArgs) -> Result<Model, ConfigError> {
    let runtime = secs("--runtime", a.runtime)?;
    check_rate("--min-rate", a.min_rate)?;
    check_rate("--max-rate", a.max_rate)?;
    if a.min_rate > a.max_rate {
        return bad(
            "--min-rate",
            a.min_rate,
            format!("is above --max-rate {}", a.max_rate),
        );
    }
    if a.event_range < 3 {
        return bad(
            "--event-range",
            a.event_range,
            "must be at least 3 (1, 2 and 3 are the sends)",
        );
    }
    if a.max_queue == 0 {
        return bad("--max-queue", a.max_queue, "must be at least 1");
    }
    if a.logs.as_os_str().is_empty() {
        return bad("--logs", "''", "must name a folder");
    }
    Ok(Model {
        runtime,
        min_rate: a.min_rate,
        max_rate: a.max_rate,
        event_range: a.event_range,
        max_queue: a.max_queue,
        delay: DelayRange::parse(&a.delay)?,
        clock_skew: ClockRange::parse_skew(&a.clock_skew)?,
        clock_drift: ClockRange::parse_drift(&a.clock_drift)?,
        seed: a.seed,
        logs: a.logs.clone(),
        peer_timeout: secs("--peer-timeout", a.peer_timeout)?,
        stop_grace: secs("--stop-grace", a.stop_grace)?,
    })
}

use crate::params::bad;

fn check_rate(flag: &'static str, r: u32) -> Result<(), ConfigError> {
    if r == 0 || r > MAX_RATE {
        return bad(flag, r, format!("must be 1..={MAX_RATE} ticks per second"));
    }
    Ok(())
}

fn secs(flag: &'static str, s: f64) -> Result<Duration, ConfigError> {
    if !s.is_finite() || s <= 0.0 || s > MAX_RUNTIME_SECS {
        return bad(
            flag,
            s,
            format!("must be above 0 and at most {MAX_RUNTIME_SECS} seconds"),
        );
    }
    let d = Duration::from_micros((s * 1e6).round() as u64);
    if d.is_zero() {
        return bad(flag, s, "is below one microsecond");
    }
    Ok(d)
}

/// Checks `run`'s arguments.
pub fn run(a: &RunArgs) -> Result<RunConfig, ConfigError> {
    if !(2..=MAX_VMS).contains(&a.vms) {
        return bad("--vms", a.vms, format!("must be 2..={MAX_VMS}"));
    }
    if a.base_port != 0 && u32::from(a.base_port) + a.vms > 65_535 {
        return bad(
            "--base-port",
            a.base_port,
            format!("leaves no room for {} VMs below port 65535", a.vms),
        );
    }
    if let Some(rates) = &a.rates {
        check_rates(rates, a.vms, &format!("--vms {}", a.vms))?;
    }
    if a.model.logs.to_str().is_none() {
        return bad(
            "--logs",
            a.model.logs.display(),
            "must be UTF-8 text (each VM gets its configuration as text)",
        );
    }
    Ok(RunConfig {
        vms: a.vms,
        base_port: a.base_port,
        rates: a.rates.clone(),
        connect_timeout: secs("--connect-timeout", a.connect_timeout)?,
        model: model(&a.model)?,
    })
}

/// Checks `vm`'s arguments, as given by hand (under the launcher, with
/// `--control`, the configuration comes checked over stdin instead), with
/// the process's environment for `--slurm`.
pub fn vm(a: &VmArgs) -> Result<VmConfig, ConfigError> {
    vm_in(a, |name| std::env::var(name).ok())
}

/// [`vm`] with the environment given as `var` (a fake one in tests).
pub fn vm_in(a: &VmArgs, var: impl Fn(&str) -> Option<String>) -> Result<VmConfig, ConfigError> {
    let placed = placement(a, var)?;
    let listen = match (&a.listen, placed.listen) {
        (Some(text), _) => match text.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                return bad("--listen", text, "is not IP:PORT, e.g. 127.0.0.1:10001");
            }
        },
        (None, Some(default)) => default,
        (None, None) => {
            return bad(
                "--listen",
                "(none)",
                "is needed without --peers or --slurm, e.g. --listen 127.0.0.1:10001",
            );
        }
    };
    if placed.peers.is_empty() && !a.control {
        return bad(
            "--peer",
            "(none)",
            "a VM needs at least one peer, e.g. --peer 2=127.0.0.1:10002",
        );
    }
    let vms = placed.vms.unwrap_or(placed.peers.len() as u32 + 1);
    let rate = vm_rate(a, placed.id, vms)?;
    check_run_id(&a.run)?;
    Ok(VmConfig {
        id: placed.id,
        listen,
        peers: placed.peers,
        rate,
        run: a.run.clone(),
        connect_timeout: secs("--connect-timeout", a.connect_timeout)?,
        secret_file: a.secret_file.clone(),
        control: a.control,
        live: a.live,
        log_stdout: a.log_stdout,
        model: model(&a.model)?,
    })
}

/// `--base-port` of `vm --slurm` when not given.
pub const SLURM_BASE_PORT: u16 = 7000;

/// Who a VM is and where its peers are, from `--id`/`--index`/`--slurm`
/// and `--peer`/`--vms --peers`.
struct Placement {
    id: u32,
    /// The run's number of VMs, where the flags say it.
    vms: Option<u32>,
    peers: Vec<(u32, String)>,
    /// The address to listen on without `--listen`.
    listen: Option<SocketAddr>,
}

fn placement(a: &VmArgs, var: impl Fn(&str) -> Option<String>) -> Result<Placement, ConfigError> {
    if a.slurm {
        return slurm(a, var);
    }
    if let Some(p) = a.base_port {
        return bad(
            "--base-port",
            p,
            "is for --slurm only (--peers gives each port)",
        );
    }
    let (flag, id) = match (a.id, a.index) {
        (Some(id), _) => ("--id", id),
        (None, Some(k)) => ("--index", k.saturating_add(1)),
        (None, None) => return bad("--id", "(none)", "give --id, --index or --slurm"),
    };
    if id == 0 {
        return bad("--id", id, "VM ids start at 1");
    }
    match (&a.peers, a.vms) {
        (Some(template), Some(n)) => {
            check_vms(n, flag, id)?;
            let (peers, listen) = template_peers(template, n, id)?;
            Ok(Placement {
                id,
                vms: Some(n),
                peers,
                listen: Some(listen),
            })
        }
        (None, Some(n)) => bad(
            "--vms",
            n,
            "needs --peers TEMPLATE (or --slurm) to place the peers, e.g. --peers 'vm{id}:7000'",
        ),
        (Some(template), None) => bad("--peers", template, "needs --vms N"),
        (None, None) => Ok(Placement {
            id,
            vms: None,
            peers: peers(id, &a.peer)?,
            listen: None,
        }),
    }
}

/// A run of `n` VMs that holds VM `id` (named by `flag`).
fn check_vms(n: u32, flag: &'static str, id: u32) -> Result<(), ConfigError> {
    if !(2..=MAX_VMS).contains(&n) {
        return bad("--vms", n, format!("must be 2..={MAX_VMS}"));
    }
    if id > n {
        let shown = if flag == "--index" { id - 1 } else { id };
        return bad(flag, shown, format!("is not a VM of --vms {n}"));
    }
    Ok(())
}

/// `--peers TEMPLATE` for VM `id` of `n`: `{id}` -> j, `{index}` -> j - 1.
pub fn expand_template(template: &str, j: u32) -> String {
    template
        .replace("{id}", &j.to_string())
        .replace("{index}", &(j - 1).to_string())
}

/// The peers of VM `id` of `n` from a template, and its default listen
/// address (0.0.0.0 and the port of its own expansion).
fn template_peers(
    template: &str,
    n: u32,
    id: u32,
) -> Result<(Vec<(u32, String)>, SocketAddr), ConfigError> {
    if !template.contains("{id}") && !template.contains("{index}") {
        return bad(
            "--peers",
            template,
            "must hold {id} or {index}, e.g. 'vm{id}:7000'",
        );
    }
    let mut peers = Vec::new();
    let mut own_port = 0;
    for j in 1..=n {
        let addr = expand_template(template, j);
        let Some(port) = host_port(&addr) else {
            return bad(
                "--peers",
                template,
                format!("gives VM {j} the address {addr}, not HOST:PORT"),
            );
        };
        if j == id {
            own_port = port;
        } else {
            peers.push((j, addr));
        }
    }
    Ok((peers, SocketAddr::from(([0, 0, 0, 0], own_port))))
}

/// `vm --slurm`: the id, the VMs and the peers' hosts from the job step.
fn slurm(a: &VmArgs, var: impl Fn(&str) -> Option<String>) -> Result<Placement, ConfigError> {
    let step = crate::engine::slurm::step(var).map_err(|e| ConfigError {
        flag: "--slurm",
        value: if e.value.is_empty() {
            e.var.to_string()
        } else {
            format!("{}={}", e.var, e.value)
        },
        why: e.why,
        hint: None,
    })?;
    let n = step.hosts.len() as u32;
    if !(2..=MAX_VMS).contains(&n) {
        return bad(
            "--slurm",
            format!("SLURM_NTASKS={n}"),
            format!("a run needs 2..={MAX_VMS} VMs (srun -n)"),
        );
    }
    if let Some(v) = a.vms.filter(|&v| v != n) {
        return bad("--vms", v, format!("disagrees with SLURM_NTASKS={n}"));
    }
    let base = a.base_port.unwrap_or(SLURM_BASE_PORT);
    if base == 0 || u32::from(base) + n > 65_535 {
        return bad(
            "--base-port",
            base,
            format!("must be 1.. and leave room for {n} VMs below port 65535"),
        );
    }
    let id = step.rank + 1;
    let port = |j: u32| base + j as u16;
    let peers = (1..=n)
        .zip(&step.hosts)
        .filter(|(j, _)| *j != id)
        .map(|(j, host)| (j, format!("{host}:{}", port(j))))
        .collect();
    Ok(Placement {
        id,
        vms: Some(n),
        peers,
        listen: Some(SocketAddr::from(([0, 0, 0, 0], port(id)))),
    })
}

/// `vm`'s rate: `--rate`, the id-th of `--rates` (which lists one per VM
/// of the `vms`), or drawn from the model's range.
fn vm_rate(a: &VmArgs, id: u32, vms: u32) -> Result<RateSpec, ConfigError> {
    if let Some(rates) = &a.rates {
        check_rates(rates, vms, &format!("{vms} VMs"))?;
        return match rates.get(id as usize - 1) {
            Some(&r) => Ok(RateSpec::Fixed(r)),
            None => bad(
                "--rates",
                show_rates(rates),
                format!("has no rate for VM {id}"),
            ),
        };
    }
    match a.rate {
        Some(r) => {
            check_rate("--rate", r)?;
            Ok(RateSpec::Fixed(r))
        }
        None => Ok(RateSpec::Draw {
            min: a.model.min_rate,
            max: a.model.max_rate,
        }),
    }
}

fn show_rates(rates: &[u32]) -> String {
    rates
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `--rates`: `vms` of them (`what` says how many are wanted), each a rate.
fn check_rates(rates: &[u32], vms: u32, what: &str) -> Result<(), ConfigError> {
    let shown = show_rates(rates);
    if rates.len() != vms as usize {
        return bad(
            "--rates",
            shown,
            format!("lists {} rates for {what}", rates.len()),
        );
    }
    if let Some(r) = rates.iter().find(|&&r| r == 0 || r > MAX_RATE) {
        return bad("--rates", shown, format!("rate {r} is not 1..={MAX_RATE}"));
    }
    Ok(())
}

/// Checks a run id: 1 to 64 characters of `A-Z a-z 0-9 _ -`.
pub fn check_run_id(run: &str) -> Result<(), ConfigError> {
    let ok = (1..=crate::wire::MAX_RUN_ID).contains(&run.len())
        && run
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return bad(
            "--run",
            run,
            "must be 1 to 64 characters of A-Z a-z 0-9 _ -",
        );
    }
    Ok(())
}

fn peers(me: u32, raw: &[String]) -> Result<Vec<(u32, String)>, ConfigError> {
    let mut out: Vec<(u32, String)> = Vec::with_capacity(raw.len());
    for p in raw {
        let (id, addr) = parse_peer(p)?;
        if id == me {
            return bad("--peer", p, format!("names this VM's own id {me}"));
        }
        if out.iter().any(|(j, _)| *j == id) {
            return bad("--peer", p, format!("VM {id} is listed twice"));
        }
        out.push((id, addr));
    }
    out.sort_by_key(|(id, _)| *id);
    Ok(out)
}

fn parse_peer(p: &str) -> Result<(u32, String), ConfigError> {
    let usage = "must be ID=HOST:PORT, e.g. 2=127.0.0.1:10002";
    let Some((id, addr)) = p.split_once('=') else {
        return bad("--peer", p, usage);
    };
    let Ok(id) = id.parse::<u32>() else {
        return bad("--peer", p, usage);
    };
    if id == 0 {
        return bad("--peer", p, "VM ids start at 1");
    }
    if host_port(addr).is_none() {
        return bad("--peer", p, usage);
    }
    Ok((id, addr.to_string()))
}

/// The port of `HOST:PORT` (a host is not looked up here: a name may
/// resolve only once its machine is up), or `None` if it is not that form.
fn host_port(addr: &str) -> Option<u16> {
    let (host, port) = addr.rsplit_once(':')?;
    let port = port.parse::<u16>().ok().filter(|&p| p != 0)?;
    (!host.is_empty()).then_some(port)
}

/// Checks `analyze --window START..END`: seconds from the run's start,
/// 0 <= START < END.
pub fn window(text: &str) -> Result<(f64, f64), ConfigError> {
    let parse = |v: &str| v.trim().parse::<f64>().ok().filter(|x| x.is_finite());
    let Some((a, b)) = text.split_once("..") else {
        return bad(
            "--window",
            text,
            "must be START..END in seconds, e.g. 0..10",
        );
    };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) if 0.0 <= a && a < b => Ok((a, b)),
        (Some(_), Some(_)) => bad("--window", text, "needs 0 <= START < END"),
        _ => bad(
            "--window",
            text,
            "must be START..END in seconds, e.g. 0..10",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::PathBuf;

    fn run_args(extra: &[&str]) -> Result<RunConfig, ConfigError> {
        let cli = crate::cli::Cli::try_parse_from([&["lamport-sim"], extra].concat()).unwrap();
        run(&cli.run)
    }

    fn vm_args(extra: &[&str]) -> Result<VmConfig, ConfigError> {
        let base = [
            "lamport-sim",
            "vm",
            "--id",
            "1",
            "--listen",
            "127.0.0.1:10001",
        ];
        let cli = crate::cli::Cli::try_parse_from([&base[..], extra].concat()).unwrap();
        match cli.command {
            Some(crate::cli::Command::Vm(a)) => vm(&a),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_spec_defaults() {
        let c = run_args(&[]).unwrap();
        assert_eq!((c.vms, c.base_port), (3, 10000));
        assert_eq!(c.model.runtime, Duration::from_secs(60));
        assert_eq!(
            (c.model.min_rate, c.model.max_rate, c.model.event_range),
            (1, 6, 10)
        );
        assert_eq!(c.model.logs, PathBuf::from("logs"));
        assert_eq!(c.rates, None);
        assert_eq!(c.connect_timeout, Duration::from_secs(60));
        assert_eq!(
            run_args(&["--rates", "1,6,6"]).unwrap().rates,
            Some(vec![1, 6, 6])
        );
    }

    #[test]
    fn bad_run_arguments_name_their_flag() {
        for (args, flag) in [
            (&["--vms", "1"][..], "--vms"),
            (&["--vms", "0"], "--vms"),
            (&["--min-rate", "5", "--max-rate", "3"], "--min-rate"),
            (&["--min-rate", "0"], "--min-rate"),
            (&["--event-range", "2"], "--event-range"),
            (&["--runtime", "0"], "--runtime"),
            (&["--runtime", "-3"], "--runtime"),
            (&["--runtime", "NaN"], "--runtime"),
            (&["--base-port", "65534", "--vms", "3"], "--base-port"),
            (&["--rates", "1,6"], "--rates"),
            (&["--max-queue", "0"], "--max-queue"),
            (&["--rates", "1,0,6"], "--rates"),
            (&["--delay", "5..2"], "--delay"),
            (&["--delay", "-1..2"], "--delay"),
            (&["--delay", "x"], "--delay"),
            (&["--delay", "1..2..3"], "--delay"),
            (&["--delay", "0..60001"], "--delay"),
            (&["--connect-timeout", "0"], "--connect-timeout"),
        ] {
            let e = run_args(args).unwrap_err();
            assert_eq!(e.flag, flag, "{args:?}: {e}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_logs_folder_not_in_utf8_is_refused_for_a_run() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let args = [
            OsStr::new("lamport-sim"),
            OsStr::new("--logs"),
            OsStr::from_bytes(b"logs\xff"),
        ];
        let cli = crate::cli::Cli::try_parse_from(args).unwrap();
        assert_eq!(run(&cli.run).unwrap_err().flag, "--logs");
    }

    #[test]
    fn peers_parse_sort_and_reject_nonsense() {
        let c = vm_args(&["--peer", "3=h:3", "--peer", "2=127.0.0.1:10002"]).unwrap();
        assert_eq!(
            c.peers,
            vec![(2, "127.0.0.1:10002".into()), (3, "h:3".into())]
        );
        for args in [
            &[][..],
            &["--peer", "1=127.0.0.1:10001"],
            &["--peer", "2=127.0.0.1:1", "--peer", "2=127.0.0.1:2"],
            &["--peer", "2"],
            &["--peer", "x=127.0.0.1:1"],
            &["--peer", "2=127.0.0.1"],
            &["--peer", "2=:80"],
            &["--peer", "0=127.0.0.1:1"],
        ] {
            let e = vm_args(args).unwrap_err();
            assert_eq!(e.flag, "--peer", "{args:?}: {e}");
        }
    }

    #[test]
    fn vm_checks_listen_rate_and_run() {
        assert_eq!(
            vm_args(&["--peer", "2=a:1", "--rate", "0"])
                .unwrap_err()
                .flag,
            "--rate"
        );
        assert_eq!(
            vm_args(&["--peer", "2=a:1", "--run", "a b"])
                .unwrap_err()
                .flag,
            "--run"
        );
        assert_eq!(
            vm_args(&["--peer", "2=a:1", "--run", ""]).unwrap_err().flag,
            "--run"
        );
        let c = vm_args(&["--peer", "2=a:1", "--rate", "7"]).unwrap();
        assert_eq!(c.rate, RateSpec::Fixed(7));
        let cli = crate::cli::Cli::try_parse_from([
            "x", "vm", "--id", "1", "--listen", "nope", "--peer", "2=a:1",
        ])
        .unwrap();
        let Some(crate::cli::Command::Vm(a)) = cli.command else {
            panic!()
        };
        assert_eq!(vm(&a).unwrap_err().flag, "--listen");
    }

    /// `vm` with `args` and the environment `env`, or clap's refusal.
    fn vm_env(args: &[&str], env: &[(&str, &str)]) -> Result<VmConfig, String> {
        let cli = crate::cli::Cli::try_parse_from([&["lamport-sim", "vm"][..], args].concat())
            .map_err(|e| format!("clap: {}", e.kind()))?;
        let Some(crate::cli::Command::Vm(a)) = cli.command else {
            panic!("not vm")
        };
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vm_in(&a, |k| env.iter().find(|p| p.0 == k).map(|p| p.1.clone())).map_err(|e| e.to_string())
    }

    fn addrs(peers: &[(u32, String)]) -> Vec<(u32, &str)> {
        peers.iter().map(|(j, a)| (*j, a.as_str())).collect()
    }

    #[test]
    fn a_template_places_every_peer_and_the_listen_port() {
        let c = vm_env(&["--id", "2", "--vms", "3", "--peers", "vm{id}:7000"], &[]).unwrap();
        assert_eq!(c.id, 2);
        assert_eq!(addrs(&c.peers), [(1, "vm1:7000"), (3, "vm3:7000")]);
        assert_eq!(c.listen.to_string(), "0.0.0.0:7000");
        let k = vm_env(
            &[
                "--index",
                "0",
                "--vms",
                "3",
                "--peers",
                "lamport-{index}.lamport:70{id}",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(k.id, 1);
        assert_eq!(
            addrs(&k.peers),
            [(2, "lamport-1.lamport:702"), (3, "lamport-2.lamport:703")]
        );
        assert_eq!(k.listen.to_string(), "0.0.0.0:701");
        let given = vm_env(
            &[
                "--id",
                "1",
                "--vms",
                "2",
                "--peers",
                "h{id}:9",
                "--listen",
                "127.0.0.1:5",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(given.listen.to_string(), "127.0.0.1:5");
    }

    #[test]
    fn identity_and_template_mistakes_name_their_flag() {
        for (args, starts) in [
            (&["--id", "1", "--vms", "3"][..], "--vms 3: needs --peers"),
            (
                &["--id", "1", "--vms", "3", "--peers", "vm:7000"],
                "--peers vm:7000: must hold {id}",
            ),
            (
                &["--id", "1", "--vms", "3", "--peers", "vm{id}"],
                "--peers vm{id}: gives VM 1 the address vm1, not HOST:PORT",
            ),
            (
                &["--id", "1", "--vms", "3", "--peers", "vm:{id}00000"],
                "--peers vm:{id}00000: gives VM 1",
            ),
            (
                &["--id", "4", "--vms", "3", "--peers", "vm{id}:1"],
                "--id 4: is not a VM of --vms 3",
            ),
            (
                &["--index", "3", "--vms", "3", "--peers", "vm{id}:1"],
                "--index 3: is not a VM of --vms 3",
            ),
            (
                &["--id", "1", "--vms", "1", "--peers", "vm{id}:1"],
                "--vms 1: must be 2..=",
            ),
            (
                &["--id", "0", "--vms", "2", "--peers", "vm{id}:1"],
                "--id 0: VM ids start at 1",
            ),
            (
                &["--id", "1", "--peer", "2=a:1"],
                "--listen (none): is needed without --peers or --slurm",
            ),
            (&["--id", "1", "--listen", "127.0.0.1:1"], "--peer (none)"),
            (
                &[
                    "--id",
                    "1",
                    "--vms",
                    "2",
                    "--peers",
                    "a{id}:1",
                    "--base-port",
                    "7000",
                ],
                "--base-port 7000: is for --slurm only",
            ),
        ] {
            let e = vm_env(args, &[]).unwrap_err();
            assert!(e.starts_with(starts), "{args:?}: {e}");
        }
        for args in [
            &[][..],
            &[
                "--id",
                "1",
                "--index",
                "0",
                "--peer",
                "2=a:1",
                "--listen",
                "127.0.0.1:1",
            ],
            &["--id", "1", "--slurm"],
            &["--slurm", "--peer", "2=a:1"],
            &["--slurm", "--peers", "a{id}:1", "--vms", "2"],
            &["--id", "1", "--peers", "a{id}:1"],
            &[
                "--id", "1", "--vms", "2", "--peers", "a{id}:1", "--peer", "2=a:1",
            ],
            &[
                "--id", "1", "--vms", "2", "--peers", "a{id}:1", "--rate", "1", "--rates", "1,2",
            ],
            &[
                "--id",
                "1",
                "--listen",
                "127.0.0.1:1",
                "--control",
                "--log-stdout",
            ],
        ] {
            assert!(
                vm_env(args, &[]).unwrap_err().starts_with("clap: "),
                "{args:?}"
            );
        }
    }

    #[test]
    fn rates_give_each_vm_its_own_entry() {
        let t = ["--vms", "3", "--peers", "vm{id}:7000", "--rates", "1,6,9"];
        for (id, rate) in [("1", 1), ("2", 6), ("3", 9)] {
            let c = vm_env(&[&["--id", id][..], &t].concat(), &[]).unwrap();
            assert_eq!(c.rate, RateSpec::Fixed(rate));
        }
        let e = vm_env(
            &[
                "--id", "1", "--vms", "3", "--peers", "v{id}:1", "--rates", "1,6",
            ],
            &[],
        );
        assert_eq!(e.unwrap_err(), "--rates 1,6: lists 2 rates for 3 VMs");
        let e = vm_env(
            &[
                "--id", "1", "--vms", "2", "--peers", "v{id}:1", "--rates", "1,0",
            ],
            &[],
        );
        assert!(e.unwrap_err().starts_with("--rates 1,0: rate 0 is not"));
        let by_peer = [
            "--id",
            "2",
            "--listen",
            "127.0.0.1:1",
            "--peer",
            "1=a:1",
            "--rates",
            "4,5",
        ];
        assert_eq!(vm_env(&by_peer, &[]).unwrap().rate, RateSpec::Fixed(5));
        let far = [
            "--id",
            "5",
            "--listen",
            "127.0.0.1:1",
            "--peer",
            "1=a:1",
            "--rates",
            "4,5",
        ];
        assert_eq!(
            vm_env(&far, &[]).unwrap_err(),
            "--rates 4,5: has no rate for VM 5"
        );
    }

    const STEP: [(&str, &str); 4] = [
        ("SLURM_PROCID", "1"),
        ("SLURM_NTASKS", "3"),
        ("SLURM_STEP_NODELIST", "n[1-2]"),
        ("SLURM_STEP_TASKS_PER_NODE", "2,1"),
    ];

    #[test]
    fn slurm_gives_the_id_the_vms_and_a_port_per_id() {
        let c = vm_env(&["--slurm", "--rates", "1,2,3"], &STEP).unwrap();
        assert_eq!(c.id, 2);
        assert_eq!(addrs(&c.peers), [(1, "n1:7001"), (3, "n2:7003")]);
        assert_eq!(c.listen.to_string(), "0.0.0.0:7002");
        assert_eq!(c.rate, RateSpec::Fixed(2));
        let c = vm_env(&["--slurm", "--base-port", "9000", "--vms", "3"], &STEP).unwrap();
        assert_eq!(addrs(&c.peers), [(1, "n1:9001"), (3, "n2:9003")]);
        assert_eq!(c.listen.to_string(), "0.0.0.0:9002");
    }

    #[test]
    fn a_slurm_step_that_cannot_serve_says_which_variable() {
        assert_eq!(
            vm_env(&["--slurm", "--vms", "4"], &STEP).unwrap_err(),
            "--vms 4: disagrees with SLURM_NTASKS=3"
        );
        assert!(
            vm_env(&["--slurm", "--base-port", "65533"], &STEP)
                .unwrap_err()
                .starts_with("--base-port 65533: must be 1..")
        );
        let e = vm_env(&["--slurm"], &STEP[1..]).unwrap_err();
        assert!(e.starts_with("--slurm SLURM_PROCID: is not set"), "{e}");
        let mut one = STEP;
        one[1].1 = "1";
        one[0].1 = "0";
        one[3].1 = "1,0";
        let e = vm_env(&["--slurm"], &one).unwrap_err();
        assert!(
            e.starts_with("--slurm SLURM_NTASKS=1: a run needs 2..="),
            "{e}"
        );
        let mut cyclic = STEP.to_vec();
        cyclic.push(("SLURM_DISTRIBUTION", "cyclic"));
        let e = vm_env(&["--slurm"], &cyclic).unwrap_err();
        assert!(
            e.starts_with("--slurm SLURM_DISTRIBUTION=cyclic: is not block"),
            "{e}"
        );
    }

    #[test]
    fn log_stdout_is_kept() {
        let base = ["--id", "1", "--listen", "127.0.0.1:1", "--peer", "2=a:1"];
        assert!(!vm_env(&base, &[]).unwrap().log_stdout);
        assert!(
            vm_env(&[&base[..], &["--log-stdout"]].concat(), &[])
                .unwrap()
                .log_stdout
        );
    }

    #[test]
    fn message_names_flag_and_value() {
        let e = run_args(&["--min-rate", "5", "--max-rate", "3"]).unwrap_err();
        assert_eq!(e.to_string(), "--min-rate 5: is above --max-rate 3");
    }

    #[test]
    fn window_is_start_dot_dot_end() {
        assert_eq!(window("0..10"), Ok((0.0, 10.0)));
        assert_eq!(window("1.5..2.25"), Ok((1.5, 2.25)));
        for bad in [
            "", "5", "5..2", "3..3", "-1..2", "a..b", "0..inf", "1..2..3",
        ] {
            let e = window(bad).unwrap_err();
            assert_eq!((e.flag, e.value.as_str()), ("--window", bad));
        }
    }
}
