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
    /// Seconds a peer may stay unreachable while this VM ticks (its link down,
    /// reconnecting) before the VM gives up on it and logs `peer_lost`.
    #[arg(long, value_name = "SECS", default_value = "30")]
    pub peer_timeout: f64,
    /// At the stop: seconds a VM waits for a peer's goodbye and
    /// acknowledgements without any progress on that link before it gives up
    /// on the peer; every message delivered or acknowledged restarts the wait.
    #[arg(long, value_name = "SECS", default_value = "5")]
    pub stop_grace: f64,
    /// Seed for every random choice (rates, rolls, delays); drawn and printed if not given.
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
pub struct VmArgs {
    /// This VM's id (1, 2, ...).
    #[arg(long, value_name = "I")]
    pub id: u32,
    /// Address to listen on, e.g. 127.0.0.1:10001 (use 0.0.0.0:PORT to accept other hosts).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// A peer as ID=HOST:PORT, e.g. --peer 2=127.0.0.1:10002. Repeat for each peer.
    #[arg(long = "peer", value_name = "J=ADDR")]
    pub peers: Vec<String>,
    /// A fixed tick rate for this VM, instead of drawing one from --min-rate..=--max-rate.
    #[arg(long, value_name = "R")]
    pub rate: Option<u32>,
    /// The run id; VMs join one run only if they share it.
    #[arg(long, value_name = "ID", default_value = "manual")]
    pub run: String,
    /// A file whose content is the run's secret (every VM of the run needs the
    /// same). Links are accepted only from peers that prove they hold it.
    /// Without this flag, the secret is $LAMPORT_SECRET, if set.
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// Seconds to wait for all peers to come up before giving up.
    #[arg(long, value_name = "SECS", default_value = "60")]
    pub connect_timeout: f64,
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
