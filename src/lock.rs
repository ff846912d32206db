//! One run per log folder: the OS file locks that keep a second live run out
//! of a folder a run is writing, and the note that lets the refusal name it.
//!
//! A launcher (`run`) or an `experiment` holds `DIR/.lamport-sim.lock`
//! exclusively for its whole run. A VM started by hand holds that file
//! shared, so several of them can share a folder. Every VM, by hand or under
//! the launcher, also holds `DIR/.lamport-sim.vm-<id>.lock` exclusively, so
//! no two live VMs write one `machine_<id>.log`, and a launcher refuses a
//! folder where VMs of a killed launcher are still stopping (they outlive it
//! by up to a second). The OS drops a lock when its process ends,
//! even by SIGKILL, so a stale lock never blocks; a lock file left behind with
//! no lock held means nothing. Lock files are left in place (deleting one
//! while another process has it open would let two processes "hold" it).
//!
//! Who holds a lock is written beside it, in `<lock name>.owner` (two lines:
//! the pid, then who it is, e.g. `run 3fa2c1`): a separate file, because on
//! Windows a locked file cannot be read by another process. Only the holder
//! writes it, and it removes it when it lets go.
//!
//! Taking a lock creates the folder and the lock file only when they are
//! missing; [`FolderLock::abandon`] removes what taking it created, for a run
//! refused after it took the lock, so a refused run leaves nothing behind.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::config::ConfigError;

/// The folder's lock file.
pub const LOCK_FILE: &str = ".lamport-sim.lock";
const OWNER_SUFFIX: &str = ".owner";

/// How a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Shared,
    Exclusive,
}

/// One held lock file; released (and its owner note removed) on drop.
#[derive(Debug)]
pub struct FolderLock {
    file: Option<File>,
    path: PathBuf,
    /// The owner note this holder wrote.
    owner: Option<PathBuf>,
    created_file: bool,
    /// Folders created to hold the lock file, outermost first.
    created_dirs: Vec<PathBuf>,
}

impl FolderLock {
    /// Takes `dir`'s lock for a launcher or an experiment (`who`, e.g.
    /// `run 3fa2c1`), creating `dir` if needed. Refused with a `--logs`
    /// error naming the holder while another run, or a VM started by hand,
    /// uses the folder, or when the folder cannot be created or written.
    pub fn exclusive(dir: &Path, who: &str) -> Result<FolderLock, ConfigError> {
        let lock = take(dir, LOCK_FILE, Mode::Exclusive)?;
        match lock {
            Ok(mut lock) => {
                let vms = live_vms(dir);
                if !vms.is_empty() {
                    lock.abandon();
                    return Err(logs_error(
                        dir,
                        format!(
                            "in use by {}; wait for them or pick another folder",
                            vms.join(", ")
                        ),
                    ));
                }
                // The note is also the proof that the folder can be written.
                if let Err(e) = lock.write_owner(who) {
                    lock.abandon();
                    return Err(logs_error(dir, format!("cannot write in the folder: {e}")));
                }
                Ok(lock)
            }
            Err(file) => Err(logs_error(dir, in_use(dir, &file))),
        }
    }

    /// Releases the lock and removes what taking it created: the lock file
    /// and the folders made for it, when they are empty.
    pub fn abandon(mut self) {
        self.remove_owner();
        drop(self.file.take());
        if self.created_file {
            let _ = fs::remove_file(&self.path);
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }

    fn write_owner(&mut self, who: &str) -> io::Result<()> {
        let path = owner_path(&self.path);
        self.owner = Some(path.clone());
        fs::write(&path, format!("{}\n{who}\n", std::process::id()))
    }

    fn remove_owner(&mut self) {
        if let Some(path) = self.owner.take() {
            let _ = fs::remove_file(path);
        }
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // Still holding the lock: nobody else can have written a newer note.
        self.remove_owner();
    }
}

/// The locks of a VM: its id and, started by hand, its folder (shared).
#[derive(Debug)]
pub struct VmLock {
    // Dropped in this order: the id first, then the folder.
    _id: FolderLock,
    _folder: Option<FolderLock>,
}

/// Takes the id lock of VM `id` of run `run`, started by the launcher in
/// `dir` (which holds the folder's lock). Refused with an `--id` error while
/// another live VM with this id logs there.
pub fn launched_vm(dir: &Path, id: u32, run: &str) -> Result<VmLock, ConfigError> {
    Ok(VmLock {
        _id: id_lock(dir, id, run)?,
        _folder: None,
    })
}

/// Takes the locks of hand-started VM `id` of run `run` logging into `dir`.
/// Refused while a launcher or an experiment holds the folder (a `--logs`
/// error) or another live VM with this id logs there (an `--id` error).
pub fn hand_vm(dir: &Path, id: u32, run: &str) -> Result<VmLock, ConfigError> {
    let folder = match take(dir, LOCK_FILE, Mode::Shared)? {
        Ok(lock) => lock,
        Err(file) => return Err(logs_error(dir, in_use(dir, &file))),
    };
    match id_lock(dir, id, run) {
        Ok(lock) => Ok(VmLock {
            _id: lock,
            _folder: Some(folder),
        }),
        Err(e) => {
            folder.abandon();
            Err(e)
        }
    }
}

/// `dir`'s lock for VM `id`, with its owner note.
fn id_lock(dir: &Path, id: u32, run: &str) -> Result<FolderLock, ConfigError> {
    let name = vm_lock_name(id);
    let mut lock = match take(dir, &name, Mode::Exclusive)? {
        Ok(lock) => lock,
        Err(_) => {
            let holder = read_owner(&owner_path(&dir.join(&name)))
                .map_or(format!("VM {id}"), |h| h.describe());
            return Err(ConfigError {
                flag: "--id",
                value: id.to_string(),
                why: format!(
                    "{holder} already logs to {}; give this VM another --id or --logs",
                    crate::run::layout::log_path(dir, id).display()
                ),
                hint: None,
            });
        }
    };
    if let Err(e) = lock.write_owner(&format!("VM {id} of run {run}")) {
        lock.abandon();
        return Err(logs_error(dir, format!("cannot write in the folder: {e}")));
    }
    Ok(lock)
}

/// Refuses with a `--logs` error if a live run or VM holds `dir`'s lock;
/// creates nothing (a folder without a lock file is free).
pub fn check_free(dir: &Path) -> Result<(), ConfigError> {
    let path = dir.join(LOCK_FILE);
    let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
        return Ok(());
    };
    if held(&file, Mode::Exclusive) {
        return Err(logs_error(dir, in_use(dir, &file)));
    }
    Ok(())
}

/// Locks `file` in `mode` without waiting, until the file is closed (the
/// guard is forgotten: closing the file is what lets go, also on a kill).
fn try_lock(file: &File, mode: Mode) -> io::Result<()> {
    let mut lock = fd_lock::RwLock::new(file);
    match mode {
        Mode::Exclusive => lock.try_write().map(std::mem::forget),
        Mode::Shared => lock.try_read().map(std::mem::forget),
    }
}

/// True if another holder keeps `file` from being locked in `mode` now
/// (a lock that does go through is let go at once).
fn held(file: &File, mode: Mode) -> bool {
    let mut lock = fd_lock::RwLock::new(file);
    let tried = match mode {
        Mode::Exclusive => lock.try_write().map(drop),
        Mode::Shared => lock.try_read().map(drop),
    };
    tried.is_err_and(|e| e.kind() == io::ErrorKind::WouldBlock)
}

fn vm_lock_name(id: u32) -> String {
    format!(".lamport-sim.vm-{id}.lock")
}

fn owner_path(lock: &Path) -> PathBuf {
    let mut name = lock.file_name().unwrap_or_default().to_os_string();
    name.push(OWNER_SUFFIX);
    lock.with_file_name(name)
}

fn logs_error(dir: &Path, why: String) -> ConfigError {
    ConfigError {
        flag: "--logs",
        value: dir.display().to_string(),
        why,
        hint: None,
    }
}

/// Opens (creating if needed) `dir/name` and tries to lock it: the lock, or
/// the open file when another process holds it.
fn take(dir: &Path, name: &str, mode: Mode) -> Result<Result<FolderLock, File>, ConfigError> {
    let path = dir.join(name);
    let mut created_dirs = Vec::new();
    let mut created_file = false;
    let file = match open_existing(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            created_dirs = create_dirs(dir)
                .map_err(|e| logs_error(dir, format!("cannot create the folder: {e}")))?;
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    created_file = true;
                    file
                }
                // Another process made it a moment ago.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    open_existing(&path).map_err(|e| cannot_lock(dir, &e))?
                }
                Err(e) => {
                    for d in created_dirs.iter().rev() {
                        let _ = fs::remove_dir(d);
                    }
                    return Err(logs_error(dir, format!("cannot write in the folder: {e}")));
                }
            }
        }
        Err(e) => return Err(cannot_lock(dir, &e)),
    };
    let locked = try_lock(&file, mode);
    let lock = FolderLock {
        file: Some(file),
        path,
        owner: None,
        created_file,
        created_dirs,
    };
    match locked {
        Ok(()) => Ok(Ok(lock)),
        // Whatever was created here is the holder's now: leave it.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            let mut lock = lock;
            match lock.file.take() {
                Some(file) => Ok(Err(file)),
                None => Err(logs_error(dir, "cannot lock the folder".into())),
            }
        }
        Err(e) => {
            lock.abandon();
            Err(cannot_lock(dir, &e))
        }
    }
}

fn open_existing(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

fn cannot_lock(dir: &Path, e: &io::Error) -> ConfigError {
    logs_error(
        dir,
        format!("cannot lock {}: {e}", dir.join(LOCK_FILE).display()),
    )
}

/// Creates `dir` and its missing parents; returns the ones it created,
/// outermost first. On failure it removes them again.
fn create_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    if let Err(e) = fs::create_dir_all(dir) {
        for d in missing.iter().rev() {
            let _ = fs::remove_dir(d);
        }
        return Err(e);
    }
    Ok(missing)
}

/// Who holds a lock, as its owner note says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    pid: u32,
    who: String,
}

impl Holder {
    /// E.g. `run 3fa2c1 (pid 4242)`.
    fn describe(&self) -> String {
        format!("{} (pid {})", self.who, self.pid)
    }
}

fn read_owner(path: &Path) -> Option<Holder> {
    parse_owner(&fs::read_to_string(path).ok()?)
}

fn parse_owner(text: &str) -> Option<Holder> {
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let who = lines.next()?.trim();
    (!who.is_empty()).then(|| Holder {
        pid,
        who: who.to_string(),
    })
}

/// Why `dir` is in use, given its lock file (open, held by someone else).
fn in_use(dir: &Path, file: &File) -> String {
    // A shared lock goes through only when the holders are hand-started VMs.
    if !held(file, Mode::Shared) {
        let vms = live_vms(dir);
        if !vms.is_empty() {
            return format!(
                "in use by VMs started by hand: {}; wait for them or pick another folder",
                vms.join(", ")
            );
        }
        return "in use by VMs started by hand; wait for them or pick another folder".into();
    }
    match read_owner(&owner_path(&dir.join(LOCK_FILE))) {
        Some(h) => format!(
            "in use by {}; wait for it or pick another folder",
            h.describe()
        ),
        None => "in use by another run; wait for it or pick another folder".into(),
    }
}

/// The hand-started VMs whose id lock in `dir` is held now, by id.
fn live_vms(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut ids: Vec<u32> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            name.strip_prefix(".lamport-sim.vm-")?
                .strip_suffix(".lock")?
                .parse()
                .ok()
        })
        .collect();
    ids.sort_unstable();
    ids.into_iter()
        .filter_map(|id| {
            let path = dir.join(vm_lock_name(id));
            let file = open_existing(&path).ok()?;
            if !held(&file, Mode::Shared) {
                return None;
            }
            Some(read_owner(&owner_path(&path)).map_or(format!("VM {id}"), |h| h.describe()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_notes_round_trip_and_junk_is_nobody() {
        assert_eq!(
            parse_owner("4242\nrun 3fa2c1\n"),
            Some(Holder {
                pid: 4242,
                who: "run 3fa2c1".into()
            })
        );
        for junk in ["", "4242\n", "x\nrun 1\n", "4242\n\n"] {
            assert_eq!(parse_owner(junk), None, "{junk:?}");
        }
    }

    fn temp() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("lsim-lock-")
            .tempdir()
            .expect("temp dir")
    }

    #[test]
    fn one_run_at_a_time_and_a_dropped_lock_frees_the_folder() {
        let t = temp();
        let dir = t.path().join("logs");
        let first = FolderLock::exclusive(&dir, "run aaa111").expect("first");
        let pid = std::process::id();
        let e = FolderLock::exclusive(&dir, "run bbb222").unwrap_err();
        assert_eq!(e.flag, "--logs");
        assert_eq!(
            e.why,
            format!("in use by run aaa111 (pid {pid}); wait for it or pick another folder")
        );
        let e = hand_vm(&dir, 1, "manual").unwrap_err();
        assert!(e.why.starts_with("in use by run aaa111"), "{e}");
        drop(first);
        assert!(!dir.join(".lamport-sim.lock.owner").exists());
        FolderLock::exclusive(&dir, "run bbb222").expect("free again");
    }

    #[test]
    fn abandoning_a_lock_removes_the_folders_it_made() {
        let t = temp();
        let dir = t.path().join("a").join("b");
        FolderLock::exclusive(&dir, "run aaa111")
            .expect("lock")
            .abandon();
        assert!(!t.path().join("a").exists());
        // A folder that was there stays, with nothing added.
        let kept = t.path().join("kept");
        fs::create_dir(&kept).expect("mkdir");
        FolderLock::exclusive(&kept, "run aaa111")
            .expect("lock")
            .abandon();
        assert_eq!(fs::read_dir(&kept).expect("ls").count(), 0);
    }

    #[test]
    fn hand_vms_share_a_folder_but_not_an_id_and_keep_a_run_out() {
        let t = temp();
        let dir = t.path();
        let pid = std::process::id();
        let one = hand_vm(dir, 1, "manual").expect("vm 1");
        let _two = hand_vm(dir, 2, "manual").expect("vm 2");
        let e = hand_vm(dir, 2, "manual").unwrap_err();
        assert_eq!(e.flag, "--id");
        assert!(
            e.why
                .starts_with(&format!("VM 2 of run manual (pid {pid}) already logs to ")),
            "{e}"
        );
        let e = FolderLock::exclusive(dir, "run aaa111").unwrap_err();
        assert_eq!(
            e.why,
            format!(
                "in use by VMs started by hand: VM 1 of run manual (pid {pid}), \
                 VM 2 of run manual (pid {pid}); wait for them or pick another folder"
            )
        );
        assert!(check_free(dir).is_err());
        drop(one);
        drop(_two);
        check_free(dir).expect("free");
    }

    #[test]
    fn a_run_waits_for_the_vms_of_a_killed_launcher() {
        let t = temp();
        let dir = t.path();
        // What a killed launcher leaves: its VMs, still stopping.
        let orphan = launched_vm(dir, 3, "aaa111").expect("vm 3");
        let e = FolderLock::exclusive(dir, "run bbb222").unwrap_err();
        let pid = std::process::id();
        assert_eq!(
            e.why,
            format!(
                "in use by VM 3 of run aaa111 (pid {pid}); wait for them or pick another folder"
            )
        );
        drop(orphan);
        FolderLock::exclusive(dir, "run bbb222").expect("free");
    }

    #[test]
    fn owner_notes_sit_beside_their_lock() {
        assert_eq!(
            owner_path(Path::new("logs/.lamport-sim.lock")),
            Path::new("logs/.lamport-sim.lock.owner")
        );
    }
}
