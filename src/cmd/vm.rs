//! `lamport-sim vm`: one VM, started by the launcher (`--control`: its
//! checked configuration over stdin) or by hand (flags). Exit codes: 0 when
//! it stopped cleanly, 1 on failure, 2 on a usage error.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::VmArgs;
use crate::config::ConfigError;

/// `lamport-sim vm ...`.
pub fn main(a: &VmArgs) -> Result<ExitCode> {
    let cfg = if a.control {
        let (Some(id), Some(listen)) = (a.id, a.listen.as_deref()) else {
            return Err(ConfigError {
                flag: "--control",
                value: String::new(),
                why: "needs --id and --listen (the launcher gives both)".into(),
                hint: None,
            }
            .into());
        };
        crate::vm::config_from_launcher(id, listen)?
    } else {
        crate::config::vm(a)?
    };
    // A socket per peer: a VM of 1024 needs more than a shell's usual 1024.
    let _ = crate::limits::raise_open_files();
    let id = cfg.id;
    crate::vm::run(cfg).map_err(|e| match e.downcast::<ConfigError>() {
        Ok(usage) => usage.into(),
        Err(e) => e.context(format!("vm {id}")),
    })?;
    Ok(ExitCode::SUCCESS)
}
