//! Start-up: the configuration (from the launcher or by hand), the secret,
//! the peers, and set-up until every link is up and the VM may tick.

use std::io::BufRead;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::auth::Secret;
use super::log::LogWriter;
use super::state::{Ctl, Ctls, Vm, start_info};
use super::status::say;
use crate::control::{FromVm, ToVm};
use crate::logline::{self, Event, StopReason};
use crate::params::{ConfigError, VmConfig};

/// How often a VM under the launcher says how many links are up during set-up.
pub(super) const LINKED_EVERY: Duration = Duration::from_millis(250);

pub(super) const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Under the launcher (`--control`): the configuration it sends as the
/// first line on stdin, checked by the launcher's own `config`. `id` and
/// `listen` are the command line's (there so that `ps` tells the VMs
/// apart), which must agree with it.
pub fn config_from_launcher(id: u32, listen: &str) -> Result<VmConfig> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the launcher's configuration")?;
    match ToVm::parse(&line) {
        Some(ToVm::Config(cfg))
            if cfg.control && cfg.id == id && cfg.listen.to_string() == listen =>
        {
            Ok(*cfg)
        }
        _ => {
            anyhow::bail!("the launcher sent no configuration (run `vm` by hand without --control)")
        }
    }
}

/// The secret of a VM started by hand: `--secret-file`, else `LAMPORT_SECRET`, else none.
pub(super) fn secret_by_hand(cfg: &VmConfig) -> Result<Secret, ConfigError> {
    if let Some(path) = &cfg.secret_file {
        let text = std::fs::read(path).map_err(|e| ConfigError {
            flag: "--secret-file",
            value: path.display().to_string(),
            why: format!("cannot be read: {}", short_reason(&e.to_string())),
            hint: None,
        })?;
        let secret = Secret::from_text(&text);
        if secret.is_empty() {
            return Err(ConfigError {
                flag: "--secret-file",
                value: path.display().to_string(),
                why: "is empty".into(),
                hint: None,
            });
        }
        return Ok(secret);
    }
    Ok(std::env::var_os("LAMPORT_SECRET")
        .map(|v| Secret::from_text(v.as_encoded_bytes()))
        .unwrap_or_default())
}

/// Stopped (Ctrl+C, the launcher gone) before the peers were known: a log
/// that starts and stops.
pub(super) fn stopped_before_peers(
    cfg: &VmConfig,
    rate: u32,
    seed: u64,
    mut log: LogWriter,
    reason: StopReason,
) -> Result<()> {
    let skew = log.drawn();
    log.write(&Event::Start(start_info(cfg, &[], rate, seed, skew)))?;
    log.write(&Event::Stop {
        ticks: 0,
        clock: 0,
        reason,
    })?;
    log.flush()
}

/// A by-hand VM that drew its own seed: how to give a run one seed.
pub(super) fn seed_hint(id: u32, seed: u64) -> String {
    format!("vm {id}: hint: give every VM the same seed, e.g. --seed {seed}")
}

/// An error as the terminal shows it: without the OS's ` (os error N)`.
pub(super) fn short_reason(why: &str) -> &str {
    match why.rfind(" (os error ") {
        Some(at) if why.ends_with(')') => &why[..at],
        _ => why,
    }
}

/// `VM 2, 3 (Connection refused); VM 4 to connect back`: the peers set-up
/// waits for, grouped by reason (`None`: it has yet to connect back).
pub(super) fn waiting_text(waiting: &[(u32, Option<String>)]) -> String {
    let mut reasons: Vec<&Option<String>> = Vec::new();
    for (_, why) in waiting {
        if !reasons.contains(&why) {
            reasons.push(why);
        }
    }
    let clauses: Vec<String> = reasons
        .into_iter()
        .map(|why| {
            let ids: Vec<u32> = waiting
                .iter()
                .filter(|w| &w.1 == why)
                .map(|w| w.0)
                .collect();
            let ids = crate::text::id_list(&ids);
            match why {
                Some(why) => format!("VM {ids} ({why})"),
                None => format!("VM {ids} to connect back"),
            }
        })
        .collect();
    clauses.join("; ")
}

/// Linux lets a sleeping thread wake up to its timer slack (50 us by
/// default) after its deadline, to batch wake-ups. A tick's deadline is the
/// point of the model, so the tick thread (and the threads it starts) take
/// the smallest slack. Where it cannot be set, the default stands.
pub(super) fn tighten_timer_slack() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
}

/// A start instant (monotonic and wall, in us), or why the VM stopped before ticking.
pub(super) type Started = std::result::Result<(Instant, i64), StopReason>;

/// Sorted (id, address) of every peer, and the run's secret.
pub(super) type PeersAndSecret = (Vec<(u32, String)>, Secret);

/// The peers and the secret: from the command line, or from the launcher
/// over stdin (after telling it the address this VM listens on). The inner
/// error is a stop request.
pub(super) fn peers(
    cfg: &VmConfig,
    listener: &TcpListener,
    ctl: &Ctls,
    secret: Secret,
) -> Result<std::result::Result<PeersAndSecret, StopReason>> {
    if !cfg.control {
        return Ok(Ok((cfg.peers.clone(), secret)));
    }
    spawn_stdin_reader(Arc::clone(ctl));
    say(FromVm::Listening(listener.local_addr()?))?;
    let mut peers = Vec::new();
    let mut secret = secret;
    loop {
        match ctl.recv() {
            Ctl::Launcher(ToVm::Secret(hex)) => {
                secret = Secret::from_hex(&hex).context("the launcher sent a secret not in hex")?;
            }
            Ctl::Launcher(ToVm::Peer(id, a)) => peers.push((id, a.to_string())),
            Ctl::Launcher(ToVm::Connect) => break,
            Ctl::Stop(r) => return Ok(Err(r)),
            Ctl::Launcher(ToVm::Stop) => return Ok(Err(StopReason::Signal)),
            _ => {}
        }
    }
    peers.sort_by_key(|p| p.0);
    Ok(Ok((peers, secret)))
}

/// Forwards the launcher's lines; its end of stdin means it is gone.
pub(super) fn spawn_stdin_reader(tx: Ctls) {
    let spawned = thread::Builder::new().name("stdin".into()).spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Some(msg) = ToVm::parse(&line) {
                tx.send(Ctl::Launcher(msg));
            }
        }
        tx.send(Ctl::Orphaned);
        tx.send(Ctl::Stop(StopReason::Signal));
    });
    if spawned.is_err() {
        say_err!("warning: cannot watch stdin; the VM will not notice the launcher's death");
    }
}

impl Vm {
    /// Waits until every link is up. The deadline counts from the last link
    /// that came up: set-up fails only when it stops getting anywhere.
    /// The outer error is a failure; the inner one a stop request.
    pub(super) fn connect(
        &mut self,
        cfg: &VmConfig,
        peers: &[(u32, String)],
    ) -> Result<std::result::Result<(), StopReason>> {
        let mut deadline = Instant::now() + cfg.connect_timeout;
        let mut next_progress = Instant::now() + PROGRESS_EVERY;
        let mut next_linked = Instant::now();
        let mut said_linked = 0;
        loop {
            let up = self.links_up();
            if up == peers.len() {
                return Ok(Ok(()));
            }
            let now = Instant::now();
            if self.control && up > said_linked && now >= next_linked {
                say(FromVm::Linked(up as u32))?;
                said_linked = up;
                next_linked = now + LINKED_EVERY;
            }
            if now >= deadline {
                let waiting = self.waiting_for(peers);
                self.log_failure()?;
                return Err(self.gave_up(cfg, peers, &waiting).into());
            }
            if now >= next_progress && self.by_hand {
                let waiting = self.waiting_for(peers);
                say_err!("vm {}: waiting for {}", self.id, waiting_text(&waiting));
                next_progress = now + PROGRESS_EVERY;
            }
            // Asleep until news (a link up, a stop) or the next thing due.
            let mut wake = deadline;
            if self.by_hand {
                wake = wake.min(next_progress);
            }
            if self.control && up > said_linked {
                wake = wake.min(next_linked);
            }
            if let Some(reason) = self.wait_one(wake)? {
                return Ok(Err(reason));
            }
            if self.links_up() > up {
                deadline = Instant::now() + cfg.connect_timeout;
            }
        }
    }

    /// The error for a set-up that timed out: names the first missing peer's flag.
    pub(super) fn gave_up(
        &self,
        cfg: &VmConfig,
        peers: &[(u32, String)],
        waiting: &[(u32, Option<String>)],
    ) -> ConfigError {
        let missing = peers
            .iter()
            .enumerate()
            .find(|(pos, _)| !self.peers[*pos].linked);
        let value = missing.map_or(String::new(), |(_, (id, addr))| format!("{id}={addr}"));
        // The flag names the peer: if it is the only one missing, its reason is enough.
        let what = match waiting {
            [(id, why)] if missing.is_some_and(|m| m.1.0 == *id) => {
                why.clone().unwrap_or_else(|| "it never connected".into())
            }
            _ => format!("waiting for {}", waiting_text(waiting)),
        };
        ConfigError {
            flag: "--peer",
            value,
            why: format!(
                "gave up after {} s (--connect-timeout): {what}",
                cfg.connect_timeout.as_secs_f64(),
            ),
            hint: None,
        }
    }

    /// Under the launcher: says `ready` and waits for `go`. By hand: now.
    pub(super) fn wait_for_go(&mut self, control: bool) -> Result<Started> {
        if !control {
            return Ok(Ok((Instant::now(), logline::now_us())));
        }
        say(FromVm::Ready)?;
        loop {
            let ctl = self.ctl_rx.recv();
            if let Ctl::Launcher(ToVm::Go(at_us)) = ctl {
                let ahead = u64::try_from(at_us - logline::now_us()).unwrap_or(0);
                return Ok(Ok((Instant::now() + Duration::from_micros(ahead), at_us)));
            }
            if let Some(reason) = self.handle(ctl)? {
                return Ok(Err(reason));
            }
        }
    }

    /// Who set-up still waits for: each peer this VM dials with why the
    /// last dial failed, or `None` for a peer that has yet to dial this VM.
    pub(super) fn waiting_for(&self, peers: &[(u32, String)]) -> Vec<(u32, Option<String>)> {
        let errors = self.net.dial_errors();
        let mut out = Vec::new();
        for (pos, (id, _)) in peers.iter().enumerate() {
            if self.peers[pos].linked {
                continue;
            }
            if *id > self.id {
                let why = errors[pos].as_deref().unwrap_or("not tried yet");
                out.push((*id, Some(short_reason(why).to_string())));
            } else {
                out.push((*id, None));
            }
        }
        out
    }

    /// `vm 1: connected to 2, 3; ticking at 5/s, seed 42`.
    pub(super) fn connected_line(&self) -> String {
        format!(
            "vm {}: connected to {}; ticking at {}/s, seed {}",
            self.id,
            crate::text::id_list(&self.start.peers),
            self.rate,
            self.start.seed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_up_lines_are_short() {
        let refused = || Some("Connection refused".to_string());
        let waiting: Vec<(u32, Option<String>)> = (2..=12)
            .map(|id| (id, if id == 4 { None } else { refused() }))
            .collect();
        assert_eq!(
            waiting_text(&waiting),
            "VM 2, 3, 5-12 (Connection refused); VM 4 to connect back"
        );
        assert_eq!(
            short_reason("Connection refused (os error 111)"),
            "Connection refused"
        );
        assert_eq!(
            short_reason("handshake failed: eof"),
            "handshake failed: eof"
        );
        let hint = seed_hint(12, u64::MAX);
        assert!(hint.len() <= 80 && hint.ends_with("--seed 18446744073709551615"));
    }
}
