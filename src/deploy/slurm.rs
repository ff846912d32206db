//! `deploy slurm`: an sbatch script of one `srun` step of N tasks, task K
//! (0-based `SLURM_PROCID`) being VM K+1 through `vm --slurm`, which finds
//! its peers' hosts in the `SLURM_*` variables and its port as base port +
//! id. The script makes the run's secret at job start; srun hands the
//! environment to every task. For a cluster whose nodes share the log
//! folder and the binary's path; the same script runs on one node.

use super::Plan;
use crate::config::ConfigError;
use crate::params::bad;

/// What the script needs besides the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slurm {
    /// The lamport-sim binary, as every node sees it.
    pub bin: String,
    /// The log folder, absolute.
    pub logs: String,
    pub base_port: u16,
}

/// Checks what sbatch reads itself: `--logs` goes into `#SBATCH --output`,
/// which has no quoting and gives `%` a meaning.
pub fn check(s: &Slurm) -> Result<(), ConfigError> {
    if let Some(c) = s
        .logs
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "%\"'\\".contains(*c))
    {
        return bad(
            "--logs",
            &s.logs,
            format!(
                "cannot go into an #SBATCH line: it holds {c:?} (spaces, quotes, backslashes and % are not allowed)"
            ),
        );
    }
    Ok(())
}

/// `text` as one word for sh: bare when safe, else in single quotes.
pub fn sh_word(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-.,/:=+@%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `--time`: the plan's deadline as D-HH:MM:SS.
fn time_limit(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    format!("{d}-{h:02}:{m:02}:{s:02}")
}

/// The `srun` command line's words.
pub fn srun(plan: &Plan, s: &Slurm) -> Vec<String> {
    let mut words: Vec<String> = [
        "srun",
        "--distribution=block",
        "--kill-on-bad-exit=0",
        &s.bin,
        "vm",
        "--slurm",
        "--vms",
        &plan.vms().to_string(),
        "--base-port",
        &s.base_port.to_string(),
    ]
    .map(String::from)
    .into();
    words.extend(plan.vm_flags());
    words.extend(["--logs".to_string(), s.logs.clone()]);
    words
}

/// The sbatch script.
pub fn script(plan: &Plan, s: &Slurm) -> String {
    let n = plan.vms();
    let line: Vec<String> = srun(plan, s).iter().map(|w| sh_word(w)).collect();
    format!(
        "#!/bin/sh\n\
         #SBATCH --job-name=lamport-{run}\n\
         #SBATCH --ntasks={n}\n\
         #SBATCH --time={time}\n\
         #SBATCH --output={logs}/slurm-%j.out\n\
         # lamport-sim run {run}: {n} VMs, seed {seed}, written by `lamport-sim deploy slurm`.\n\
         # Start it with `sbatch --wait FILE`; the logs land in {logs}.\n\
         set -eu\n\
         # The run's secret, fresh for every job; srun passes it to every task.\n\
         LAMPORT_SECRET=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \\n')\n\
         export LAMPORT_SECRET\n\
         mkdir -p {logs_word}\n\
         {srun}\n",
        run = plan.run,
        time = time_limit(plan.deadline()),
        logs = s.logs,
        seed = plan.seed,
        logs_word = sh_word(&s.logs),
        srun = line.join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::tests::plan_of;

    fn slurm() -> Slurm {
        Slurm {
            bin: "/opt/lamport sim/lamport-sim".into(),
            logs: "/shared/logs".into(),
            base_port: 7000,
        }
    }

    #[test]
    fn the_script_asks_for_n_tasks_and_runs_one_step() {
        let plan = plan_of(&["--vms", "4", "--runtime", "30"]);
        let text = script(&plan, &slurm());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#!/bin/sh");
        assert!(lines.contains(&"#SBATCH --ntasks=4"), "{text}");
        assert!(lines.contains(&"#SBATCH --job-name=lamport-r1"));
        assert!(lines.contains(&"#SBATCH --time=0-00:02:50"), "{text}");
        assert!(lines.contains(&"#SBATCH --output=/shared/logs/slurm-%j.out"));
        assert!(lines.contains(&"mkdir -p /shared/logs"));
        let secret = lines
            .iter()
            .position(|l| l.starts_with("LAMPORT_SECRET=$(od "))
            .unwrap();
        assert_eq!(lines[secret + 1], "export LAMPORT_SECRET");
        let step: Vec<&&str> = lines.iter().filter(|l| l.starts_with("srun ")).collect();
        assert_eq!(step.len(), 1);
        assert!(step[0].starts_with(
            "srun --distribution=block --kill-on-bad-exit=0 '/opt/lamport sim/lamport-sim' vm --slurm --vms 4 --base-port 7000 --run r1 --seed 42 "
        ), "{}", step[0]);
        assert!(step[0].ends_with(" --logs /shared/logs"));
        assert!(
            !text.contains(&plan.secret),
            "the deploy's secret stays out of the script"
        );
    }

    #[test]
    fn words_are_quoted_for_sh_and_the_time_is_d_hh_mm_ss() {
        assert_eq!(sh_word("a/b-c"), "a/b-c");
        assert_eq!(sh_word(""), "''");
        assert_eq!(sh_word("it's"), r"'it'\''s'");
        assert_eq!(sh_word("$(x)"), "'$(x)'");
        assert_eq!(time_limit(90_061), "1-01:01:01");
        for logs in ["/a b", "/a%j", "/a'b", "/a\\b"] {
            let s = Slurm {
                logs: logs.into(),
                ..slurm()
            };
            assert_eq!(check(&s).unwrap_err().flag, "--logs", "{logs:?}");
        }
        assert!(check(&slurm()).is_ok());
    }
}
