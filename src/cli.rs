//! The command line as clap derive types. Doc comments here become `--help`.
//! No IO and no validation beyond types: `config` turns these into checked
//! configurations.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

/// Scale models of an asynchronous distributed system with Lamport clocks.
///
/// Runs N virtual machines, each its own OS process ticking at its own random
/// rate, connected over TCP. Every VM logs every event with its wall time,
/// queue length and logical clock to LOGS/machine_N.log.
///
/// With no subcommand, `run` is assumed: `lamport-sim --vms 3 --runtime 60`.
/// The model, the log format and every rule `verify` checks are described in
/// docs/log-format.md.
#[derive(Debug, Parser)]
#[command(name = "lamport-sim", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a whole simulation: one child process per VM on 127.0.0.1 (the default).
    Run(RunArgs),
    /// Run one VM by hand, in its own terminal, connecting to its peers.
    Vm(VmArgs),
    /// Check a run's logs against every rule of docs/log-format.md; exit 0 only if all hold.
    Verify(VerifyArgs),
    /// Repeat one run R times into LOGS/NAME/run_1..run_R, verify each, write a summary.
    Experiment(ExperimentArgs),
    /// Print per-VM statistics of a run and write plots, summary.csv,
    /// summary.json and report.html into a report folder.
    Analyze(AnalyzeArgs),
    /// Write a run's events with their vector clocks for another tool:
    /// `--shiviz` for ShiViz, the space-time log visualiser.
    Export(ExportArgs),
    /// Write the file that runs a whole simulation on Docker Compose,
    /// Kubernetes or Slurm, which then place the VMs.
    #[command(subcommand)]
    Deploy(DeployCommand),
    /// Split `kubectl logs` (or `docker compose logs`) output back into
    /// machine_N.log files by each line's `vm=` key.
    #[command(after_help = COLLECT_HELP)]
    Collect(CollectArgs),
    /// Print a shell completion script for SHELL on standard output.
    Completions(CompletionsArgs),
    /// Print the manual page (roff, section 1) on standard output.
    Man,
}

/// The model's knobs, shared by `run` and `vm`.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Seconds to run (decimals allowed, e.g. 2.5).
    #[arg(
        long,
        value_name = "SECS",
        default_value = "60",
        allow_negative_numbers = true
    )]
    pub runtime: f64,
    /// Lowest tick rate a VM may draw, in ticks per second.
    #[arg(long, value_name = "A", default_value_t = 1)]
    pub min_rate: u32,
    /// Highest tick rate a VM may draw, in ticks per second.
    #[arg(long, value_name = "B", default_value_t = 6)]
    pub max_rate: u32,
    /// Sides of the die rolled on a tick with an empty queue: 1, 2 and 3 send,
    /// everything above 3 is an internal event (so 10 means 70% internal).
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub event_range: u32,
    /// Most messages a VM holds on its network queue; while it is this full
    /// the VM stops reading its connections, so TCP pushes back on senders.
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    pub max_queue: usize,
    /// Network delay in milliseconds: each message waits a random MIN..MAX ms
    /// (drawn from the seed) before it reaches the receiver's queue; every
    /// link stays first in, first out. One number is a fixed delay; 0 is none.
    #[arg(
        long,
        value_name = "MIN..MAX",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub delay: String,
    /// Clock skew in milliseconds, negative allowed: each VM's clock, the
    /// `time` it logs, is off true time by an offset drawn from MIN..MAX
    /// (from the seed); its `start` line records it. One number is the same
    /// offset for all; 0 is none.
    #[arg(
        long,
        value_name = "MIN..MAX",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub clock_skew: String,
    /// Clock drift in parts per million, negative allowed: each VM's clock
    /// runs fast or slow by a rate drawn from MIN..MAX (from the seed),
    /// counted from its start; its `start` line records it. 0 is none.
    #[arg(
        long,
        value_name = "MIN..MAX",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub clock_drift: String,
    /// Seconds a peer may stay unreachable while this VM ticks (its link down,
    /// reconnecting) before the VM gives up on it and logs `peer_lost`.
    #[arg(long, value_name = "SECS", default_value = "30")]
    pub peer_timeout: f64,
    /// At the stop: seconds a VM waits for a peer's goodbye and
    /// acknowledgements without any progress on that link before it gives up
    /// on the peer; every message delivered or acknowledged restarts the wait.
    #[arg(long, value_name = "SECS", default_value = "5")]
    pub stop_grace: f64,
    /// Seed for every random choice (rates, rolls, delays, lying clocks); drawn and printed if not given.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Folder for machine_N.log files (created if missing).
    #[arg(long, value_name = "DIR", default_value = "logs")]
    pub logs: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Number of virtual machines (at least 2).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub vms: u32,
    /// VM i listens on 127.0.0.1:(P + i); 0 lets every VM take any free port.
    #[arg(long, value_name = "P", default_value_t = 10000)]
    pub base_port: u16,
    /// Fixed rates, one per VM, instead of drawing them: e.g. --rates 1,6,6
    /// (one slow VM among fast ones). The count must equal --vms.
    #[arg(long, value_name = "R1,R2,..", value_delimiter = ',')]
    pub rates: Option<Vec<u32>>,
    /// Seconds set-up may go without progress (a VM listening, one more link
    /// up, a VM ready) before the run is given up; each VM's own
    /// --connect-timeout too.
    #[arg(long, value_name = "SECS", default_value = "60")]
    pub connect_timeout: f64,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("identity").required(true).args(["id", "index", "slurm"])))]
pub struct VmArgs {
    /// This VM's id (1, 2, ...). One of --id, --index, --slurm.
    #[arg(long, value_name = "I")]
    pub id: Option<u32>,
    /// This VM's 0-based index: its id is K + 1. For an engine that numbers
    /// from 0, e.g. a Kubernetes Indexed Job's `--index $(JOB_COMPLETION_INDEX)`.
    #[arg(long, value_name = "K")]
    pub index: Option<u32>,
    /// Take the id, the number of VMs and every peer's host from the Slurm
    /// job step (SLURM_PROCID, SLURM_NTASKS, SLURM_STEP_NODELIST,
    /// SLURM_STEP_TASKS_PER_NODE; block distribution): VM i listens on
    /// 0.0.0.0:(--base-port + i). E.g. `srun --distribution=block -n 4
    /// lamport-sim vm --slurm --run R --seed S`.
    #[arg(long, conflicts_with_all = ["peer", "peers"])]
    pub slurm: bool,
    /// With --slurm only: VM i listens on port P + i on its node, so several
    /// tasks on one node never share a port [default: 7000].
    #[arg(long, value_name = "P")]
    pub base_port: Option<u16>,
    /// The number of VMs in the run, with --peers (or --slurm, where it must
    /// agree with SLURM_NTASKS): the peers are every id 1..=N but this one.
    #[arg(long, value_name = "N")]
    pub vms: Option<u32>,
    /// Every peer's address from one template: `{id}` becomes the peer's id,
    /// `{index}` its id - 1, and the result must be HOST:PORT. E.g.
    /// `--vms 5 --peers 'vm{id}:7000'` (Compose services vm1..vm5), or
    /// `--vms 4 --peers 'lamport-{index}.lamport:7000'` (Kubernetes).
    #[arg(
        long,
        value_name = "TEMPLATE",
        conflicts_with = "peer",
        requires = "vms"
    )]
    pub peers: Option<String>,
    /// Address to listen on, e.g. 127.0.0.1:10001 (use 0.0.0.0:PORT to accept
    /// other hosts). Optional with --peers: 0.0.0.0 and the port of this
    /// VM's own address in the template.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// A peer as ID=HOST:PORT, e.g. --peer 2=127.0.0.1:10002. Repeat for each
    /// peer. A name that does not resolve yet is retried within --connect-timeout.
    #[arg(long = "peer", value_name = "J=ADDR")]
    pub peer: Vec<String>,
    /// A fixed tick rate for this VM, instead of drawing one from --min-rate..=--max-rate.
    #[arg(long, value_name = "R")]
    pub rate: Option<u32>,
    /// Fixed rates, one per VM of the run: this VM takes the entry of its id,
    /// so one command line serves every VM of an engine, e.g. --rates 1,6,6.
    /// The count must equal the number of VMs.
    #[arg(
        long,
        value_name = "R1,R2,..",
        value_delimiter = ',',
        conflicts_with = "rate"
    )]
    pub rates: Option<Vec<u32>>,
    /// The run id; VMs join one run only if they share it.
    #[arg(long, value_name = "ID", default_value = "manual")]
    pub run: String,
    /// A file whose content is the run's secret (every VM of the run needs the
    /// same). Links are accepted only from peers that prove they hold it.
    /// Without this flag, the secret is $LAMPORT_SECRET, if set.
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// Seconds to wait for all peers to come up (listening, their names
    /// resolving) before giving up.
    #[arg(long, value_name = "SECS", default_value = "60")]
    pub connect_timeout: f64,
    /// Also write every log line to standard output, whole lines as the
    /// file gets them (the file is still written), for `docker logs` or
    /// `kubectl logs`.
    #[arg(long, conflicts_with = "control")]
    pub log_stdout: bool,
    /// Internal: talk to the launcher over stdin/stdout (the configuration
    /// and the peers arrive on stdin; --id and --listen must agree with it).
    #[arg(long, hide = true)]
    pub control: bool,
    /// Internal, with --control: report live figures a few times a second.
    #[arg(long, hide = true, requires = "control")]
    pub live: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The run's log folder, or an experiment folder (each run_<k> is verified).
    #[arg(value_name = "DIR", default_value = "logs")]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ExperimentArgs {
    /// Name of the experiment: its runs go to LOGS/NAME/run_1 .. run_R.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// How many runs (with --seed S, run k uses seed S + k - 1).
    #[arg(long, value_name = "R", default_value_t = 5)]
    pub runs: u32,
    /// Remove the old runs of an experiment of this name (every run_k, its
    /// summary and plots) before the first new run. Without it, a name
    /// whose folder already holds runs is refused.
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    /// The run's log folder, an experiment folder (`logs/NAME`), or a
    /// folder of experiments (`logs`: the model's plots over all of them).
    #[arg(value_name = "DIR", default_value = "logs")]
    pub dir: PathBuf,
    /// Folder for the report, created if missing [default: DIR/report].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The space-time diagram's time window, in seconds from the run's start.
    #[arg(long, value_name = "START..END", default_value = "0..10")]
    pub window: String,
    /// With DIR a folder of experiments: also draw these two side by side
    /// on one scale (jump sizes, drift), e.g. `baseline,narrow-only`.
    #[arg(long, value_name = "A,B")]
    pub compare: Option<String>,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("format").required(true).args(["shiviz"])))]
pub struct ExportArgs {
    /// ShiViz's log format (the only format for now): line 1 the parser
    /// regex, line 2 the multi-run delimiter, then per event a description
    /// line and a `vmI {vector clock}` line.
    #[arg(long)]
    pub shiviz: bool,
    /// The run's log folder, or an experiment folder (one section per run).
    #[arg(value_name = "DIR", default_value = "logs")]
    pub dir: PathBuf,
    /// The file to write, `-` for standard output [default: DIR/shiviz.log].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `deploy`'s engines.
#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Print a Compose file: services vm1..vmN on one private network, the
    /// --logs folder bind-mounted into each.
    #[command(after_help = COMPOSE_HELP)]
    Compose(ComposeArgs),
    /// Print Kubernetes manifests: a Secret, a headless Service and an
    /// Indexed Job of N pods, each VM also logging to standard output.
    #[command(after_help = KUBERNETES_HELP)]
    Kubernetes(KubernetesArgs),
    /// Print an sbatch script: one srun step of N tasks, one VM each.
    #[command(after_help = SLURM_HELP)]
    Slurm(SlurmArgs),
}

const COMPOSE_HELP: &str = "\
Example:
  lamport-sim deploy compose --vms 5 --runtime 60 --logs ./logs -o compose.yml
  docker compose -f compose.yml up       (or: docker-compose -f compose.yml up)
  lamport-sim verify ./logs

`up` returns when every VM has exited; the logs are already in --logs (made
if missing), owned by you. The image (--image) must hold the binary as its
entrypoint: deploy/image.sh builds one. On a Swarm: docker stack deploy -c
compose.yml lamport (--logs must then exist on every node).";

const KUBERNETES_HELP: &str = "\
Example:
  lamport-sim deploy kubernetes --vms 4 --runtime 60 -o lamport.yaml
  kubectl apply -f lamport.yaml
  kubectl wait --for=condition=complete job/lamport --timeout=300s
  kubectl logs -l lamport-sim/run=RUN --tail=-1 --max-log-requests=4 \\
    | lamport-sim collect --logs ./logs
  lamport-sim verify ./logs

deploy prints the exact commands, with the run id and the timeout, on
stderr. Pod K (0-based) is VM K+1, found by its peers as
NAME-K.NAME:PORT. --logs only names the folder in those commands.";

const SLURM_HELP: &str = "\
Example:
  lamport-sim deploy slurm --vms 4 --runtime 60 --logs $HOME/lamport/logs -o lamport.sh
  sbatch --wait lamport.sh
  lamport-sim verify $HOME/lamport/logs

Every node must see --logs and --bin at the same paths (a shared
filesystem); the same script runs on one node. Task K is VM K+1 on port
--base-port + K+1 of its node; Slurm's own output goes to
LOGS/slurm-JOBID.out.";

const COLLECT_HELP: &str = "\
Example:
  kubectl logs -l lamport-sim/run=RUN --tail=-1 --max-log-requests=4 \\
    | lamport-sim collect --logs ./logs
  lamport-sim verify ./logs

Lines may carry a `kubectl logs --prefix` ([pod/NAME/CONTAINER]) or a
Compose (NAME  | ) prefix; every line that is not a log line is skipped
and counted.";

/// The run options of `deploy`: the model's, the run's, and where the file goes.
#[derive(Debug, Clone, Args)]
pub struct DeployRunArgs {
    /// Number of virtual machines (at least 2).
    #[arg(long, value_name = "N")]
    pub vms: u32,
    /// Fixed rates, one per VM, instead of drawing them: e.g. --rates 1,6,6.
    /// The count must equal --vms.
    #[arg(long, value_name = "R1,R2,..", value_delimiter = ',')]
    pub rates: Option<Vec<u32>>,
    /// Each VM's --connect-timeout: seconds set-up may go without progress.
    #[arg(long, value_name = "SECS", default_value = "60")]
    pub connect_timeout: f64,
    /// The run id every VM shares [default: a fresh random one].
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// Write the file here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Clone, Args)]
#[command(mut_arg("logs", |a| a.required(true).default_value(None)
    .help("Folder on this host for the machine_N.log files, bind-mounted at /logs in every VM (made if missing)")))]
pub struct ComposeArgs {
    /// The image to run (its entrypoint is lamport-sim).
    #[arg(long, value_name = "TAG", default_value = "lamport-sim:latest")]
    pub image: String,
    /// The port every VM listens on in its own container.
    #[arg(long, value_name = "P", default_value_t = 7000)]
    pub port: u16,
    #[command(flatten)]
    pub run: DeployRunArgs,
}

#[derive(Debug, Clone, Args)]
#[command(mut_arg("logs", |a| a
    .help("Folder the printed `collect` command writes the logs into (the VMs write theirs in the pod)")))]
pub struct KubernetesArgs {
    /// The image to run (its entrypoint is lamport-sim); pulled only if missing.
    #[arg(long, value_name = "TAG", default_value = "lamport-sim:latest")]
    pub image: String,
    /// The Job's and the headless Service's name; pod K is NAME-K.
    #[arg(long, value_name = "NAME", default_value = "lamport")]
    pub name: String,
    /// The port every VM listens on in its own pod.
    #[arg(long, value_name = "P", default_value_t = 7000)]
    pub port: u16,
    #[command(flatten)]
    pub run: DeployRunArgs,
}

#[derive(Debug, Clone, Args)]
#[command(mut_arg("logs", |a| a.required(true).default_value(None)
    .help("Folder for the machine_N.log files, seen by every node at the same path (made if missing)")))]
pub struct SlurmArgs {
    /// The lamport-sim binary every node runs [default: this one's absolute path].
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,
    /// VM I listens on port P + I of its node, so tasks sharing a node never share a port.
    #[arg(long, value_name = "P", default_value_t = 7000)]
    pub base_port: u16,
    #[command(flatten)]
    pub run: DeployRunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CollectArgs {
    /// The output to split [default: standard input].
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Folder to write machine_N.log into (made if missing).
    #[arg(long, value_name = "DIR")]
    pub logs: PathBuf,
    /// Remove the folder's old machine_N.log files first. Without it, a
    /// folder that holds logs is refused.
    #[arg(long)]
    pub replace: bool,
}
