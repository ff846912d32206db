//! Arguments -> validated run and VM configurations, with a typed error that
//! names the flag and the value at fault. No sockets, no files.

use std::net::SocketAddr;
use std::time::Duration;

use crate::cli::{ModelArgs, RunArgs, VmArgs};
pub use crate::params::{ConfigError, DelayRange, MAX_DELAY_MS, Model, RateSpec, VmConfig};

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
        let shown = rates
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        if rates.len() != a.vms as usize {
            return bad(
                "--rates",
                shown,
                format!("lists {} rates for --vms {}", rates.len(), a.vms),
            );
        }
        if let Some(r) = rates.iter().find(|&&r| r == 0 || r > MAX_RATE) {
            return bad("--rates", shown, format!("rate {r} is not 1..={MAX_RATE}"));
        }
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
/// `--control`, the configuration comes checked over stdin instead).
pub fn vm(a: &VmArgs) -> Result<VmConfig, ConfigError> {
    let (id, listen) = (a.id, &a.listen);
    if id == 0 {
        return bad("--id", id, "VM ids start at 1");
    }
    let listen: SocketAddr = match listen.parse() {
        Ok(addr) => addr,
        Err(_) => {
            return bad("--listen", listen, "is not IP:PORT, e.g. 127.0.0.1:10001");
        }
    };
    let peers = peers(id, &a.peers)?;
    if peers.is_empty() && !a.control {
        return bad(
            "--peer",
            "(none)",
            "a VM needs at least one peer, e.g. --peer 2=127.0.0.1:10002",
        );
    }
    let rate = match a.rate {
        Some(r) => {
            check_rate("--rate", r)?;
            RateSpec::Fixed(r)
        }
        None => RateSpec::Draw {
            min: a.model.min_rate,
            max: a.model.max_rate,
        },
    };
    check_run_id(&a.run)?;
    Ok(VmConfig {
        id,
        listen,
        peers,
        rate,
        run: a.run.clone(),
        connect_timeout: secs("--connect-timeout", a.connect_timeout)?,
        secret_file: a.secret_file.clone(),
        control: a.control,
        live: a.live,
        model: model(&a.model)?,
    })
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
    let port_ok = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0));
    if !port_ok {
        return bad("--peer", p, usage);
    }
    Ok((id, addr.to_string()))
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
