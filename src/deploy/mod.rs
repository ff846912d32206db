//! `deploy`: the file that runs one whole simulation on an engine, as text:
//! [`compose`] (a Compose file), [`kubernetes`] (a Secret, a headless
//! Service and an Indexed Job), [`slurm`] (an sbatch script). Each VM of the
//! file is a plain `lamport-sim vm` with the same run id, seed and run
//! options; the engine places them and gives each its identity. This module
//! holds what the three share: the checked [`Plan`] and the VM flags it
//! makes. Pure: `cmd::deploy` makes folders, writes and prints.

pub mod compose;
pub mod kubernetes;
pub mod slurm;
pub mod yaml;

use std::time::Duration;

use crate::config::{ConfigError, RunConfig};

/// What every VM of a deployed run shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The checked run options (`base_port` is not used here: each engine
    /// has its own port flag).
    pub cfg: RunConfig,
    pub run: String,
    pub seed: u64,
    /// The run's secret, fresh for this deploy.
    pub secret: String,
}

impl Plan {
    pub fn vms(&self) -> u32 {
        self.cfg.vms
    }

    /// The run options every VM gets, in the order `vm --help` lists them:
    /// `--run`, `--seed`, the model's flags, `--connect-timeout`,
    /// `--clock-skew` and `--clock-drift` when given (so a file for
    /// true clocks reads as it always did), `--rates` when given. Written
    /// out in full, so a VM never depends on the defaults of the binary in
    /// the image.
    pub fn vm_flags(&self) -> Vec<String> {
        let m = &self.cfg.model;
        let secs = |d: Duration| d.as_secs_f64().to_string();
        let delay = m.delay.map_or_else(|| "0".to_string(), |d| d.to_string());
        let mut flags: Vec<String> = [
            ("--run", self.run.clone()),
            ("--seed", self.seed.to_string()),
            ("--runtime", secs(m.runtime)),
            ("--min-rate", m.min_rate.to_string()),
            ("--max-rate", m.max_rate.to_string()),
            ("--event-range", m.event_range.to_string()),
            ("--max-queue", m.max_queue.to_string()),
            ("--delay", delay),
            ("--peer-timeout", secs(m.peer_timeout)),
            ("--stop-grace", secs(m.stop_grace)),
            ("--connect-timeout", secs(self.cfg.connect_timeout)),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_string(), value])
        .collect();
        for (flag, range) in [
            ("--clock-skew", m.clock_skew),
            ("--clock-drift", m.clock_drift),
        ] {
            if let Some(r) = range {
                flags.extend([flag.to_string(), r.to_string()]);
            }
        }
        if let Some(rates) = &self.cfg.rates {
            let list: Vec<String> = rates.iter().map(u32::to_string).collect();
            flags.extend(["--rates".to_string(), list.join(",")]);
        }
        flags
    }

    /// How long the whole run may take on the engine before it is cut off:
    /// set-up (`--connect-timeout`), the runtime, the stop's own bound and
    /// a minute for the engine to start the VMs. Whole seconds.
    pub fn deadline(&self) -> u64 {
        let m = &self.cfg.model;
        let total = self.cfg.connect_timeout + m.runtime + self.stop_bound() + ENGINE_MARGIN;
        total.as_secs() + u64::from(total.subsec_nanos() > 0)
    }

    /// How long a stopping VM may take (the launcher's safety net beyond
    /// `--stop-grace`): what an engine waits after SIGTERM before SIGKILL.
    pub fn stop_bound(&self) -> Duration {
        crate::launcher::STOP_TIMEOUT + 3 * self.cfg.model.stop_grace
    }
}

/// Time for an engine to schedule and start the VMs.
const ENGINE_MARGIN: Duration = Duration::from_secs(60);

/// Makes the plan: `cfg` checked by `config::run`, the run id given or
/// fresh, the seed given or drawn, a fresh secret.
pub fn plan(cfg: RunConfig, run: Option<&str>) -> Result<Plan, ConfigError> {
    let run = match run {
        Some(r) => {
            crate::config::check_run_id(r)?;
            r.to_string()
        }
        None => crate::launcher::new_run_id(),
    };
    let seed = crate::params::seed_or_draw(cfg.model.seed);
    Ok(Plan {
        cfg,
        run,
        seed,
        secret: crate::launcher::new_secret(),
    })
}

/// A port flag of an engine (`--port`, `--base-port`): 1..=65535.
pub fn check_port(flag: &'static str, port: u16) -> Result<(), ConfigError> {
    if port == 0 {
        return crate::params::bad(flag, port, "must be 1..=65535 (the VMs' fixed port)");
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use clap::Parser;

    /// A plan from `run`-style flags, for the engines' tests.
    pub(crate) fn plan_of(args: &[&str]) -> Plan {
        let cli = crate::cli::Cli::try_parse_from([&["lamport-sim"], args].concat()).unwrap();
        let mut p = plan(crate::config::run(&cli.run).unwrap(), Some("r1")).unwrap();
        p.seed = 42;
        p
    }

    #[test]
    fn every_vm_gets_every_run_option() {
        let p = plan_of(&[
            "--vms",
            "3",
            "--runtime",
            "2.5",
            "--delay",
            "1..5",
            "--rates",
            "1,2,3",
        ]);
        let flags = p.vm_flags().join(" ");
        assert_eq!(
            flags,
            "--run r1 --seed 42 --runtime 2.5 --min-rate 1 --max-rate 6 --event-range 10 \
             --max-queue 1048576 --delay 1..5 --peer-timeout 30 --stop-grace 5 \
             --connect-timeout 60 --rates 1,2,3"
        );
        let no_delay = plan_of(&["--vms", "2"]).vm_flags();
        let at = no_delay.iter().position(|f| f == "--delay").unwrap();
        assert_eq!(no_delay[at + 1], "0");
        assert!(!no_delay.contains(&"--rates".to_string()));
        assert!(!no_delay.iter().any(|f| f.starts_with("--clock")));
        let skewed = plan_of(&["--clock-skew", "-250..250", "--clock-drift", "-20..5.5"]);
        let flags = skewed.vm_flags().join(" ");
        assert!(
            flags.contains("--clock-skew -250..250 --clock-drift -20..5.5"),
            "{flags}"
        );
    }

    #[test]
    fn the_deadline_covers_setup_run_and_stop() {
        let p = plan_of(&[
            "--runtime",
            "10.2",
            "--connect-timeout",
            "20",
            "--stop-grace",
            "1",
        ]);
        // 20 + 10.2 + (5 + 3) + 60, rounded up.
        assert_eq!(p.deadline(), 99);
    }

    #[test]
    fn a_run_id_is_checked_or_fresh_and_secrets_differ() {
        let cfg = plan_of(&[]).cfg;
        assert_eq!(plan(cfg.clone(), Some("a b")).unwrap_err().flag, "--run");
        let (a, b) = (plan(cfg.clone(), None).unwrap(), plan(cfg, None).unwrap());
        assert!(crate::config::check_run_id(&a.run).is_ok());
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), 64);
        assert_eq!(check_port("--port", 0).unwrap_err().flag, "--port");
    }
}
