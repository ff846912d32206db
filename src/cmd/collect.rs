//! `lamport-sim collect [FILE] --logs DIR [--replace]`: reads an engine's
//! merged output (FILE or standard input), splits it into the VMs' logs
//! ([`crate::run::collect`]) and writes DIR/machine_N.log, holding the
//! folder's lock meanwhile. Exit codes: 0 ok, 1 no log line in the input
//! or a file that cannot be read or written, 2 a folder that already holds
//! logs (without `--replace`) or is in use.

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::CollectArgs;
use crate::config::ConfigError;
use crate::lock::FolderLock;
use crate::run::collect::{self, Collected};
use crate::run::layout;

/// `lamport-sim collect ...`.
pub fn main(a: &CollectArgs) -> Result<ExitCode> {
    if !a.replace && layout::has_logs(&a.logs) {
        return Err(ConfigError {
            flag: "--logs",
            value: a.logs.display().to_string(),
            why: "already holds machine_N.log files".into(),
            hint: Some("--replace removes them first; or pick another folder".into()),
        }
        .into());
    }
    let input = read_input(a.file.as_deref())?;
    let found = collect::split(&input);
    let from = a
        .file
        .as_ref()
        .map_or("standard input".into(), |f| f.display().to_string());
    if found.logs.is_empty() {
        bail!("no log lines in {from} ({} other lines)", found.skipped);
    }
    let lock = FolderLock::exclusive(&a.logs, "collect")?;
    if a.replace {
        remove_logs(&a.logs)?;
    }
    for (id, text) in &found.logs {
        let path = layout::log_path(&a.logs, *id);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    drop(lock);
    println!("lamport-sim: collect: {}", summary(&found, &a.logs));
    Ok(ExitCode::SUCCESS)
}

fn read_input(file: Option<&Path>) -> Result<Vec<u8>> {
    match file {
        Some(f) => std::fs::read(f).with_context(|| format!("cannot read {}", f.display())),
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
            Ok(buf)
        }
    }
}

/// Removes `dir`'s `machine_<id>.log` files, so no old VM's log stays beside the new ones.
fn remove_logs(dir: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for e in entries.flatten() {
        if layout::log_id(&e.file_name().to_string_lossy()).is_some() {
            std::fs::remove_file(e.path())
                .with_context(|| format!("cannot remove {}", e.path().display()))?;
        }
    }
    Ok(())
}

/// What was written, e.g. `wrote 4 logs (machine_1.log .. machine_4.log, 812 lines) into logs; skipped 9 other lines`.
fn summary(c: &Collected, dir: &Path) -> String {
    let ids: Vec<u32> = c.logs.keys().copied().collect();
    let names = match (ids.first(), ids.last()) {
        (Some(a), Some(b)) if ids.len() > 1 && (b - a) as usize + 1 == ids.len() => {
            format!("{} .. {}", layout::log_name(*a), layout::log_name(*b))
        }
        _ => ids
            .iter()
            .map(|i| layout::log_name(*i))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "wrote {} ({names}, {}) into {}; skipped {}",
        plural(ids.len(), "log", "logs"),
        plural(c.lines(), "line", "lines"),
        dir.display(),
        plural(c.skipped, "other line", "other lines"),
    )
}
