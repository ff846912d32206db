//! lamport-sim: scale models of an asynchronous distributed system, with
//! Lamport logical clocks, one OS process per virtual machine.
//!
//! # Layout
//!
//! ```text
//! cmd { run, vm, verify, analyze, experiment, export, deploy, collect }   (printing, exit codes, folders)
//!   -> cli -> config (params) -> launcher -> N x vm { net -> queue -> tick(clock, step) -> log }
//!          -> deploy { compose, kubernetes, slurm } -> an engine's file -> N x vm ; engine output -> run::collect
//!   -> logs/machine_N.log -> run { layout, read, messages, clock } -> verify | analyze { per_vm, drift, causal, spacetime::model -> Analysis -> plots, spacetime::svg } -> report | export ; experiment
//! ```
//!
//! - [`cmd`]: one file per subcommand (`cmd/run.rs` .. `cmd/export.rs`): reads
//!   the folders, calls the library, prints, picks the exit code; `main.rs`
//!   only parses and dispatches. Nothing below prints a result.
//! - [`cli`]: clap types; their doc comments are `--help`.
//! - [`config`]: arguments -> checked configurations; errors name the flag.
//! - [`params`]: the model's parameters as types (`VmConfig`, `Model`,
//!   `DelayRange`, `ClockRange`, `RateSpec`, `ConfigError`), shared by `config`, the
//!   launcher (which hands each VM its `VmConfig` over stdin) and `vm`.
//! - [`launcher`]: `run`: spawns one `vm` child per VM, hands out addresses
//!   and the start instant, forwards Ctrl+C, reaps, returns how the run
//!   ended (`Ended`; `cmd::run` prints the table).
//! - [`control`]: the launcher <-> VM line protocol on stdin/stdout.
//! - [`deploy`]: `deploy`: the file that runs a whole simulation on an
//!   engine, as text: [`deploy::compose`], [`deploy::kubernetes`],
//!   [`deploy::slurm`], written through a small ordered YAML tree
//!   ([`deploy::yaml`]); `collect` splits the engines' logs back
//!   ([`run::collect`]).
//! - [`engine`]: what a workload engine tells a VM started under it:
//!   [`engine::slurm`] (rank, tasks and hosts from `SLURM_*`, pure).
//! - [`live`]: the launcher's live view on a terminal, as text.
//! - [`vm`]: one VM: [`vm::net`] (the net thread, outbound senders), [`vm::queue`]
//!   (the network queue and `--delay`), [`vm::clock`]
//!   (Lamport rules), [`vm::step`] (one tick, pure), [`vm::log`] (the file),
//!   [`vm::mailbox`] (control news for the tick loop), `vm/setup.rs`
//!   (listener, secret, peers, set-up), `vm/tick.rs` (the tick loop and its
//!   deadlines), `vm/peers.rs` (one `Peer` per peer), `vm/stop.rs` (the stop
//!   protocol), `vm/state.rs` (the `Vm` they act on), `vm/mod.rs` (the
//!   wiring, threads).
//! - [`wire`]: the TCP frame format.
//! - [`logline`]: the one definition of the log format.
//! - [`verify`]: checks a run's logs against the rules of `docs/log-format.md`.
//! - [`analyze`]: `analyze`, one question per file, pure:
//!   [`analyze::distributions`] (the one percentile), [`analyze::per_vm`]
//!   (per-VM figures and series, latencies; also the launcher's table
//!   figures), [`analyze::drift`], [`analyze::spacetime`] (`model`, `svg`),
//!   [`analyze::plots`] (SVG as text), [`analyze::across`] (the model
//!   against many runs and experiments: points, slopes, shared scales),
//!   [`analyze::model`] (the model's predictions beside the logs),
//!   [`analyze::causal`] (happens-before rebuilt from the logs: `vclock`,
//!   `pairs` for concurrency, `staleness`, `hlc` the hybrid logical clock,
//!   `skew` the wall clocks, logged and true, against happens-before),
//!   `analyze/mod.rs` (the [`analyze::Analysis`] of a run and its notes,
//!   and reading a run folder to make it).
//! - [`report`]: one file per output format, each returning its bytes:
//!   [`report::text`] (terminal tables), [`report::csv`], [`report::json`],
//!   [`report::html`] (CSS in `report.css`), [`report::markdown`] (an
//!   experiment's summary), [`report::markup`] (`escape_xml`, shared with the SVG).
//! - [`text`]: terminal tables and prose within 80 columns (launcher, vm,
//!   verify, report).
//! - [`experiment`]: batches of runs, each judged.
//! - [`export`]: `export`: a run's events with vector clocks in another
//!   tool's format, [`export::shiviz`] (text, pure); `export/mod.rs` (the
//!   runs' text and what to say about it).
//! - [`theory`]: what the model predicts from the rates and the die alone.
//! - [`run`]: what a run is to its readers: [`run::layout`] (file and folder
//!   names), [`run::read`] (the one reader of a run folder),
//!   [`run::messages`] (the one send/receive matcher), [`run::clock`] (a
//!   VM's lying clock and true time back from its `start` line, shared
//!   with the VM's log writer). No reader imports [`vm`].
//! - [`lock`]: one run per log folder (OS file locks).
//! - [`limits`]: the open-files limit a run of N VMs needs, raised at start.
//! - [`manual`]: `completions` and `man`, generated from [`cli`].
//! - [`bench`]: benchmark figures from parsed logs (`cargo bench` uses them).
//! - `testkit` (hidden): for tests and benchmarks only, lawful runs built on
//!   [`vm::step`] without processes.

pub mod analyze;
pub mod bench;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod control;
pub mod deploy;
pub mod engine;
pub mod experiment;
pub mod export;
pub mod launcher;
pub mod limits;
pub mod live;
pub mod lock;
pub mod logline;
pub mod manual;
pub mod params;
pub mod report;
pub mod run;
#[doc(hidden)]
pub mod testkit;
pub mod text;
pub mod theory;
pub mod verify;
pub mod vm;
pub mod wire;
