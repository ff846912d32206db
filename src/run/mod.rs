//! A run, as its readers see it: a folder of `machine_<id>.log` files (or an
//! experiment folder of `run_<k>` run folders), read and parsed once, and its
//! receives matched to their sends once.
//!
//! - [`layout`]: file and folder names: `machine_<id>.log`, `run_<k>`.
//! - [`read`]: the one reader of a run folder: the files, their lines (one
//!   rule for line endings and for a last line cut short), parsed in parallel.
//! - [`messages`]: the one send/receive matcher: a receive is a delivered
//!   message only if its sender logged that send and addressed it to the
//!   receiver.
//! - [`clock`]: a VM's physical clock under `--clock-skew` and
//!   `--clock-drift`, and true time recovered from its `start` line.
//! - [`collect`]: an engine's merged output (`kubectl logs`) split back
//!   into the VMs' logs by each line's `vm=` key.
//!
//! Every reader (verify, analyze, export, experiment, the launcher's
//! end-of-run table, bench) goes through this module; none of them, and
//! nothing here, imports the VM. The VM's log writer imports [`layout`] for
//! the file name.

pub mod clock;
pub mod collect;
pub mod layout;
pub mod messages;
pub mod read;
