//! One virtual machine: wires the network thread, the network queue, the
//! control mailbox, the log and the tick loop together, and runs the model
//! of docs/log-format.md from set-up to the clean stop.
//!
//! Threads: the net thread (`net`) owns the listener and every inbound
//! connection, pushes messages onto the network queue (`queue`) and
//! connection news into the control mailbox (a `resolve` thread looks up
//! peer names for it); a Ctrl+C handler and, under the
//! launcher, a stdin reader post stop requests there too. The main thread is
//! the only one that touches the clock, the log and the outbound sockets: it
//! sleeps on the mailbox until each tick's absolute deadline, so it wakes at
//! once for a stop and never busy-waits.
//!
//! The parts, in the order a VM lives them: `setup` (the configuration,
//! the secret, the peers, set-up until every link is up), `tick` (every
//! tick on its deadline, control news between ticks), `peers` (one `Peer`
//! per peer: linked, its break logged, given up on), `stop` (the stop
//! protocol and the logs of a failed set-up), all `impl Vm` blocks over the
//! state in `state` (the `Vm` they share, the news `Ctl`, the `start` line);
//! `status` is what the VM tells the launcher on stdout. This file wires
//! them: [`run`]. No part imports this file, and none imports another in a
//! circle (`tests/crosscheck/imports.py`).

/// `eprintln!` in one write. std's `eprintln!` may write a line in several
/// pieces, so the lines of VMs sharing the launcher's stderr interleaved
/// mid-line; one `write_all` of a short line is one `write`, which a pipe
/// keeps whole (up to `PIPE_BUF`, 4 KiB on Linux).
macro_rules! say_err {
    ($($arg:tt)*) => {{
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    }};
}

pub mod auth;
pub mod clock;
pub mod link;
pub mod log;
pub mod mailbox;
pub mod net;
mod peers;
pub mod queue;
mod setup;
mod state;
pub mod status;
pub mod step;
mod stop;
mod tick;
pub mod warn;

pub use crate::params::{tick_count, tick_offset};
pub use setup::config_from_launcher;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::logline::StopReason;
use crate::params::{self, ConfigError, VmConfig};
use auth::Secret;
use log::LogWriter;
use mailbox::Mailbox;
use net::{Inbound, Warner};
use setup::{peers, secret_by_hand, seed_hint, stopped_before_peers, tighten_timer_slack};
use state::{Ctl, Ctls, Parts, Vm};

/// The RNG of VM `id` in a run with `seed`: each VM its own stream.
pub fn vm_rng(seed: u64, id: u32) -> StdRng {
    StdRng::seed_from_u64(seed ^ u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The clock of VM `id` in a run with `seed`: its offset (microseconds) and
/// drift (parts per billion) drawn from `--clock-skew` and `--clock-drift`,
/// each `None` without its flag. A stream of its own, apart from
/// [`vm_rng`], so a seed's rates and rolls are the same with and without
/// lying clocks.
pub fn clock_draw(model: &params::Model, seed: u64, id: u32) -> (Option<i64>, Option<i64>) {
    let mut rng = StdRng::seed_from_u64(
        seed ^ u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xC10C_5E3D_D41F_7A11,
    );
    let skew = model.clock_skew.map(|r| r.draw(&mut rng));
    let drift = model.clock_drift.map(|r| r.draw(&mut rng));
    (skew, drift)
}

/// Runs one VM to the end. Bad arguments come back as [`ConfigError`].
pub fn run(cfg: VmConfig) -> Result<()> {
    tighten_timer_slack();
    let seed = params::seed_or_draw(cfg.model.seed);
    let mut rng = vm_rng(seed, cfg.id);
    let rate = cfg.rate.pick(&mut rng);
    // By hand the secret comes from a file or the environment (under the
    // launcher, over stdin): read it before anything else can fail late.
    let secret = if cfg.control {
        Secret::default()
    } else {
        secret_by_hand(&cfg)?
    };
    // The handler first, so a signal never finds a half-made VM; then bind
    // before touching the log, so a port in use cannot wipe an old log.
    let ctl: Ctls = Mailbox::new();
    let stop_tx = Arc::clone(&ctl);
    ctrlc::set_handler(move || stop_tx.send(Ctl::Stop(StopReason::Signal)))
        .context("cannot install the Ctrl+C handler")?;
    let listener = net::bind(cfg.listen).map_err(|e| ConfigError {
        flag: "--listen",
        value: cfg.listen.to_string(),
        why: e.to_string(),
        hint: None,
    })?;
    // Its id's lock; by hand also the folder's (under the launcher, it holds it).
    let _lock = if cfg.control {
        crate::lock::launched_vm(&cfg.model.logs, cfg.id, &cfg.run)?
    } else {
        crate::lock::hand_vm(&cfg.model.logs, cfg.id, &cfg.run)?
    };
    let mut log = LogWriter::create(&cfg.model.logs, cfg.id)?;
    if cfg.log_stdout {
        log.also_to_stdout();
    }
    let (skew, drift) = clock_draw(&cfg.model, seed, cfg.id);
    log.skew_clock(skew, drift);
    let warner = Arc::new(Warner::new(cfg.id));
    if !cfg.control {
        say_err!(
            "vm {}: run {}, log {}",
            cfg.id,
            cfg.run,
            log.path().display()
        );
        if cfg.model.seed.is_none() {
            say_err!("{}", seed_hint(cfg.id, seed));
        }
    }
    let (peers, secret) = match peers(&cfg, &listener, &ctl, secret)? {
        Ok(got) => got,
        Err(reason) => return stopped_before_peers(&cfg, rate, seed, log, reason),
    };
    if secret.is_empty() && !cfg.listen.ip().is_loopback() {
        warner.warn(
            "no secret",
            &format!(
                "listening on {} without a secret: anyone who knows the run id can join (set LAMPORT_SECRET or --secret-file)",
                cfg.listen
            ),
        );
    }
    let max_id = peers
        .iter()
        .map(|p| p.0)
        .chain([cfg.id])
        .max()
        .unwrap_or(cfg.id);
    log::remove_stale(&cfg.model.logs, max_id)?;
    let (queue_tx, queue) = queue::channel();
    let stopping = Arc::new(AtomicBool::new(false));
    let ctx = Inbound {
        me: cfg.id,
        run: cfg.run.clone(),
        secret,
        instance: rand::rng().random(),
        peers: peers.clone(),
        queue: queue_tx,
        events: {
            let ctl = Arc::clone(&ctl);
            Box::new(move |event| ctl.send(Ctl::Net(event)))
        },
        warner: Arc::clone(&warner),
        max_queue: cfg.model.max_queue,
        stopping: Arc::clone(&stopping),
        delay: cfg.model.delay.map(|d| (d, seed)),
        peer_timeout: cfg.model.peer_timeout,
        stop_grace: cfg.model.stop_grace,
    };
    let net = net::spawn(listener, ctx).context("cannot start the network thread")?;
    let parts = Parts {
        rate,
        seed,
        rng,
        log,
        queue,
        ctl_rx: ctl,
        net,
        warner,
        stopping,
    };
    let mut vm = Vm::new(&cfg, &peers, parts);
    let started = match vm.connect(&cfg, &peers)? {
        Ok(()) => vm.wait_for_go(cfg.control)?,
        Err(reason) => Err(reason),
    };
    if started.is_ok() && vm.by_hand {
        say_err!("{}", vm.connected_line());
    }
    match started {
        Ok(t0) => vm.run_ticks(t0),
        Err(reason) => vm.abort_setup(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn each_vm_has_its_own_stream() {
        let draw = |seed, id| vm_rng(seed, id).random_range(1..=6u32);
        let a: Vec<u32> = (1..=8).map(|id| draw(7, id)).collect();
        let b: Vec<u32> = (1..=8).map(|id| draw(7, id)).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|&r| r != a[0]), "{a:?}");
    }

    #[test]
    fn clocks_are_drawn_from_their_own_stream_within_the_ranges() {
        let mut model = crate::config::run(&{
            use clap::Parser;
            crate::cli::Cli::parse_from(["lamport-sim"]).run
        })
        .unwrap()
        .model;
        assert_eq!(clock_draw(&model, 7, 1), (None, None));
        model.clock_skew = params::ClockRange::parse_skew("-250..250").unwrap();
        model.clock_drift = params::ClockRange::parse_drift("-50..50").unwrap();
        let drawn: Vec<_> = (1..=20).map(|id| clock_draw(&model, 7, id)).collect();
        assert_eq!(
            drawn,
            (1..=20)
                .map(|id| clock_draw(&model, 7, id))
                .collect::<Vec<_>>()
        );
        for &(s, d) in &drawn {
            assert!((-250_000..=250_000).contains(&s.unwrap()));
            assert!((-50_000..=50_000).contains(&d.unwrap()));
        }
        assert!(drawn.iter().any(|&d| d != drawn[0]));
        assert_ne!(clock_draw(&model, 8, 1), clock_draw(&model, 7, 1));
    }
}
