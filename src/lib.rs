//! lamport-sim: scale models of an asynchronous distributed system, with
//! Lamport logical clocks, one OS process per virtual machine.
//!
//! # Layout
//!
//! ```text
//! cli -> config -> launcher -> N x vm { net -> queue -> tick(clock, step) -> log }
//!     -> logs/machine_N.log -> logline -> verify | stats ; experiment
//! ```
//!
//! - [`cli`]: clap types; their doc comments are `--help`.
//! - [`config`]: arguments -> checked configurations; errors name the flag.
//! - [`launcher`]: `run`: spawns one `vm` child per VM, hands out addresses
//!   and the start instant, forwards Ctrl+C, reaps, prints the table.
//! - [`control`]: the launcher <-> VM line protocol on stdin/stdout.
//! - [`vm`]: one VM: [`vm::net`] (listener, readers, senders), [`vm::clock`]
//!   (Lamport rules), [`vm::step`] (one tick, pure), [`vm::log`] (the file),
//!   `vm/mod.rs` (threads, deadlines, the stop protocol).
//! - [`wire`]: the TCP frame format.
//! - [`logline`]: the one definition of the log format.
//! - [`verify`]: checks a run's logs against SPEC §4.
//! - [`stats`]: per-VM figures from parsed logs.
//! - [`experiment`]: batches of runs with a summary.
//! - [`logs`]: reading a run folder.
//! - [`bench`]: benchmark figures from parsed logs (`cargo bench` uses them).

pub mod bench;
pub mod cli;
pub mod config;
pub mod control;
pub mod experiment;
pub mod launcher;
pub mod logline;
pub mod logs;
pub mod stats;
pub mod verify;
pub mod vm;
pub mod wire;
