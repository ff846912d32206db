//! `lamport-sim deploy compose|kubernetes|slurm`: checks the run options
//! with `run`'s own checks, makes the plan (run id, seed, fresh secret),
//! makes the log folder where the engine writes into this host's, and
//! writes the engine's file ([`crate::deploy`]) to standard output or `-o`.
//! One line on stderr says the run id, the seed, how to start the file and
//! how to get the logs back. Exit codes: 0 ok, 1 the file or folder could
//! not be written, 2 bad arguments.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{ComposeArgs, DeployCommand, DeployRunArgs, KubernetesArgs, RunArgs, SlurmArgs};
use crate::config::ConfigError;
use crate::deploy::compose::{self, Compose};
use crate::deploy::kubernetes::{self, Kubernetes};
use crate::deploy::slurm::{self, Slurm};
use crate::deploy::{self, Plan, yaml};
use crate::params::bad;

/// `lamport-sim deploy ...`.
pub fn main(cmd: &DeployCommand) -> Result<ExitCode> {
    match cmd {
        DeployCommand::Compose(a) => compose_main(a),
        DeployCommand::Kubernetes(a) => kubernetes_main(a),
        DeployCommand::Slurm(a) => slurm_main(a),
    }?;
    Ok(ExitCode::SUCCESS)
}

/// The plan from `run`'s checks; `base_port` is the engine's, checked there.
fn plan(a: &DeployRunArgs, base_port: u16) -> Result<Plan, ConfigError> {
    let run_args = RunArgs {
        vms: a.vms,
        base_port,
        rates: a.rates.clone(),
        connect_timeout: a.connect_timeout,
        model: a.model.clone(),
    };
    deploy::plan(crate::config::run(&run_args)?, a.run.as_deref())
}

fn compose_main(a: &ComposeArgs) -> Result<()> {
    deploy::check_port("--port", a.port)?;
    check_image(&a.image)?;
    let plan = plan(&a.run, 0)?;
    let logs = log_folder(&a.run.model.logs)?;
    let c = Compose {
        image: a.image.clone(),
        port: a.port,
        logs: logs.clone(),
        user: user(),
    };
    let text = compose::file(&plan, &c).to_text();
    let file = emit(&text, a.run.output.as_deref())?;
    let f = file.as_deref().unwrap_or("FILE");
    say(&format!(
        "lamport-sim: run {}, seed {}, {} VMs: start with `docker compose -f {f} up` (or docker-compose); \
         it returns when every VM has exited, their logs in {logs} (then `lamport-sim verify {logs}`)",
        plan.run,
        plan.seed,
        plan.vms()
    ));
    Ok(())
}

fn kubernetes_main(a: &KubernetesArgs) -> Result<()> {
    deploy::check_port("--port", a.port)?;
    check_image(&a.image)?;
    let plan = plan(&a.run, 0)?;
    let k = Kubernetes {
        image: a.image.clone(),
        name: a.name.clone(),
        port: a.port,
    };
    kubernetes::check(&plan, &k)?;
    let text = yaml::documents(&kubernetes::manifests(&plan, &k));
    let file = emit(&text, a.run.output.as_deref())?;
    let f = file.as_deref().unwrap_or("FILE");
    say(&format!(
        "lamport-sim: run {run}, seed {seed}, {n} VMs: start with `kubectl apply -f {f}`; logs back with \
         `kubectl wait --for=condition=complete job/{name} --timeout={t}s && kubectl logs -l {label}={run} \
         --tail=-1 --max-log-requests={n} | lamport-sim collect --logs {logs}`",
        run = plan.run,
        seed = plan.seed,
        n = plan.vms(),
        name = k.name,
        t = plan.deadline(),
        label = kubernetes::RUN_LABEL,
        logs = slurm::sh_word(&a.run.model.logs.to_string_lossy()),
    ));
    Ok(())
}

fn slurm_main(a: &SlurmArgs) -> Result<()> {
    deploy::check_port("--base-port", a.base_port)?;
    let plan = plan(&a.run, a.base_port)?;
    let bin = match &a.bin {
        Some(b) => utf8("--bin", b)?,
        None => {
            let exe =
                std::env::current_exe().context("cannot find this binary's path for --bin")?;
            let exe = exe.canonicalize().unwrap_or(exe);
            utf8("--bin", &exe)?
        }
    };
    let mut s = Slurm {
        bin,
        logs: utf8("--logs", &std::path::absolute(&a.run.model.logs)?)?,
        base_port: a.base_port,
    };
    slurm::check(&s)?;
    // sbatch opens --output before the script runs: the folder must exist.
    let logs = log_folder(&a.run.model.logs)?;
    s.logs = logs.clone();
    slurm::check(&s)?;
    let text = slurm::script(&plan, &s);
    let file = emit(&text, a.run.output.as_deref())?;
    let f = file.as_deref().unwrap_or("FILE");
    say(&format!(
        "lamport-sim: run {}, seed {}, {} VMs: start with `sbatch --wait {f}`; the logs land in {logs} \
         (Slurm's own output in {logs}/slurm-JOBID.out; then `lamport-sim verify {logs}`)",
        plan.run,
        plan.seed,
        plan.vms()
    ));
    Ok(())
}

fn check_image(image: &str) -> Result<(), ConfigError> {
    if image.is_empty() || image.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return bad(
            "--image",
            image,
            "must be an image reference, e.g. lamport-sim:latest",
        );
    }
    Ok(())
}

fn utf8(flag: &'static str, path: &Path) -> Result<String, ConfigError> {
    match path.to_str() {
        Some(s) => Ok(s.to_string()),
        None => bad(
            flag,
            path.display(),
            "must be UTF-8 text (it goes into a text file)",
        ),
    }
}

/// Makes the log folder if missing (saying so) and gives its absolute path.
fn log_folder(dir: &Path) -> Result<String> {
    if !dir.is_dir() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot make --logs {}", dir.display()))?;
        say(&format!("lamport-sim: made {}", dir.display()));
    }
    let abs: PathBuf = dir
        .canonicalize()
        .with_context(|| format!("cannot find --logs {}", dir.display()))?;
    Ok(utf8("--logs", &abs)?)
}

/// Writes `text` to `output` (its name returned) or to standard output.
fn emit(text: &str, output: Option<&Path>) -> Result<Option<String>> {
    match output {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(Some(slurm::sh_word(&path.to_string_lossy())))
        }
        None => {
            crate::manual::to_stdout(|o| o.write_all(text.as_bytes()))?;
            Ok(None)
        }
    }
}

/// The invoking user, so the VMs' log files are theirs.
#[cfg(unix)]
fn user() -> Option<String> {
    let (uid, gid) = (rustix::process::getuid(), rustix::process::getgid());
    Some(format!("{}:{}", uid.as_raw(), gid.as_raw()))
}

#[cfg(not(unix))]
fn user() -> Option<String> {
    None
}

fn say(line: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("{line}\n").as_bytes());
}
