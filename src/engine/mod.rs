//! What a workload engine tells a VM about itself and its peers, read from
//! the engine's own terms. Pure: the caller hands in the environment.
//!
//! - [`slurm`]: a task's id, the number of tasks and every task's host
//!   from the `SLURM_*` variables of a job step.

pub mod slurm;
