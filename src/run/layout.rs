//! Names in a log folder: VM `id` writes `machine_<id>.log`; an experiment
//! folder holds one run folder `run_<k>` per run. Used by the writer
//! (`vm/log.rs`), the lock and every reader, so a name is defined once.

use std::path::{Path, PathBuf};

/// The file name of VM `id`'s log: `machine_<id>.log`.
pub fn log_name(id: u32) -> String {
    format!("machine_{id}.log")
}

/// The path of VM `id`'s log in `dir`.
pub fn log_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(log_name(id))
}

/// The VM id in a `machine_<id>.log` file name (plain decimal, no sign or
/// leading zero, so each id has exactly one file name).
pub fn log_id(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("machine_")?.strip_suffix(".log")?;
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if plain { digits.parse().ok() } else { None }
}

/// True if `dir` holds `machine_<id>.log` files of its own (a run folder).
pub fn has_logs(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| log_id(&e.file_name().to_string_lossy()).is_some())
    })
}

/// The name of run `k`'s folder in an experiment folder: `run_<k>`.
pub fn run_dir_name(k: u32) -> String {
    format!("run_{k}")
}

/// The `run_<k>` folders of `dir`, by k (none if `dir` cannot be read).
pub fn run_dirs(dir: &Path) -> Vec<(u32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut runs: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let k = e.file_name().to_str()?.strip_prefix("run_")?.parse().ok()?;
            Some((k, e.path()))
        })
        .collect();
    runs.sort_by_key(|r| r.0);
    runs
}

/// True if `dir` is an experiment folder: `run_<k>` folders and no logs of
/// its own.
pub fn is_experiment(dir: &Path) -> bool {
    !has_logs(dir) && !run_dirs(dir).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ids_come_from_file_names() {
        assert_eq!(log_id("machine_12.log"), Some(12));
        assert_eq!(log_id(&log_name(7)), Some(7));
        assert_eq!(log_id("machine_0.log"), Some(0));
        assert_eq!(log_id("machine_.log"), None);
        assert_eq!(log_id("machine_2.log.bak"), None);
        assert_eq!(log_id("report"), None);
        assert_eq!(log_id("machine_+2.log"), None);
        assert_eq!(log_id("machine_02.log"), None);
    }

    #[test]
    fn a_folder_of_run_folders_is_an_experiment() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_experiment(dir.path()));
        std::fs::create_dir(dir.path().join(run_dir_name(2))).unwrap();
        std::fs::create_dir(dir.path().join(run_dir_name(1))).unwrap();
        std::fs::create_dir(dir.path().join("run_x")).unwrap();
        let ks: Vec<u32> = run_dirs(dir.path()).iter().map(|r| r.0).collect();
        assert_eq!(ks, [1, 2]);
        assert!(is_experiment(dir.path()));
        std::fs::write(log_path(dir.path(), 1), "").unwrap();
        assert!(has_logs(dir.path()));
        assert!(!is_experiment(dir.path()));
    }
}
