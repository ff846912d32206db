//! The open-files limit (`RLIMIT_NOFILE`) for runs of many VMs.
//!
//! A VM of an N-VM run holds about N + [`SPARE`] descriptors (a socket per
//! peer, its listener, its log, its pipes); the launcher about 3 per VM +
//! [`SPARE`] (two pipes per child and what spawning one takes for a moment).
//! Shells commonly start with a soft limit of 1024, too low for 1024 VMs, and
//! a much higher hard limit: the launcher and every VM raise their soft limit
//! to the hard one, and `run` refuses, before anything is written, an N the
//! hard limit cannot hold. Nothing of this exists off Unix.
//!
//! Also here, the one other thing a VM asks of the OS for large runs:
//! [`step_aside`], the lowest priority for a VM that has finished.

use crate::config::ConfigError;

/// Descriptors beyond the per-VM ones: std streams, lock files, the poller,
/// threads' and the allocator's odds and ends, with room to spare.
pub const SPARE: u64 = 32;

/// About how many descriptors a VM of an `vms`-VM run holds.
pub fn vm_needs(vms: u32) -> u64 {
    u64::from(vms) + SPARE
}

/// About how many descriptors the launcher of `vms` VMs holds.
pub fn launcher_needs(vms: u32) -> u64 {
    3 * u64::from(vms) + SPARE
}

/// An open-files limit; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// Raises this process's soft open-files limit as far as the hard limit
/// allows; returns the limit now in force (`None` off Unix). Children
/// inherit it.
pub fn raise_open_files() -> Option<Limit> {
    imp::raise()
}

/// Fails with a `--vms` error if a run of `vms` VMs needs more descriptors
/// than `limit` (the one in force after [`raise_open_files`]) allows.
pub fn check_run(vms: u32, limit: Option<Limit>) -> Result<(), ConfigError> {
    let Some(Limit {
        soft: Some(soft), ..
    }) = limit
    else {
        return Ok(());
    };
    let need = launcher_needs(vms).max(vm_needs(vms));
    if soft >= need {
        return Ok(());
    }
    let fits = soft.saturating_sub(SPARE) / 3;
    let limit = match limit.and_then(|l| l.hard) {
        Some(hard) if hard == soft => format!("the hard limit of {hard}"),
        Some(hard) => format!("the limit of {soft} (hard limit {hard})"),
        None => format!("the limit of {soft}"),
    };
    let instead = if fits >= 2 {
        format!("run --vms {fits} or fewer")
    } else {
        "run fewer VMs".into()
    };
    Err(ConfigError {
        flag: "--vms",
        value: vms.to_string(),
        why: format!(
            "needs about {need} open files, above {limit}; \
             raise it (ulimit -Hn {need}, as root) or {instead}"
        ),
        hint: None,
    })
}

/// Gives every thread of this process the lowest CPU priority (nice 19;
/// Linux only, where nice is per thread; elsewhere nothing). For a VM that
/// has written its whole log and is about to exit: closing its sockets (at
/// 1024 VMs, 1023 each, half a million in all) is kernel work that need not
/// hurry, while the launcher and the VMs still stopping must not wait for it.
/// Measured at 1024 VMs: without it the launcher took 5.7 s to pass one round
/// of goodbyes to every VM, starved by the VMs that had already exited.
pub fn step_aside() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Pid, setpriority_process};
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return;
        };
        for task in tasks.flatten() {
            let tid = task
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<i32>().ok());
            if let Some(pid) = tid.and_then(Pid::from_raw) {
                // Best effort: a thread that just ended is no matter.
                let _ = setpriority_process(Some(pid), 19);
            }
        }
    }
}

#[cfg(unix)]
mod imp {
    use super::Limit;
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

    pub fn raise() -> Option<Limit> {
        let now = getrlimit(Resource::Nofile);
        if now.current != now.maximum {
            // An unlimited hard limit may still refuse an unlimited soft one
            // (Linux caps it at fs.nr_open, macOS at OPEN_MAX): then the
            // largest that is taken.
            let tries = [now.maximum, Some(1 << 20), Some(1 << 16), Some(10_240)];
            for want in tries {
                if below(now.current, want) && !below(now.maximum, want) {
                    let new = Rlimit {
                        current: want,
                        maximum: now.maximum,
                    };
                    if setrlimit(Resource::Nofile, new).is_ok() {
                        break;
                    }
                }
            }
        }
        let after = getrlimit(Resource::Nofile);
        Some(Limit {
            soft: after.current,
            hard: after.maximum,
        })
    }

    /// `a < b`, where `None` is unlimited.
    fn below(a: Option<u64>, b: Option<u64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => a < b,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub fn raise() -> Option<super::Limit> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(soft: u64, hard: u64) -> Option<Limit> {
        Some(Limit {
            soft: Some(soft),
            hard: Some(hard),
        })
    }

    #[test]
    fn a_run_fits_its_limit_or_says_what_it_needs() {
        assert_eq!(launcher_needs(1024), 3104);
        assert_eq!(vm_needs(1024), 1056);
        assert!(check_run(1024, limit(4096, 4096)).is_ok());
        assert!(check_run(1024, None).is_ok());
        let unlimited = Some(Limit {
            soft: None,
            hard: None,
        });
        assert!(check_run(1024, unlimited).is_ok());
        let e = check_run(400, limit(256, 256)).unwrap_err();
        assert_eq!(e.flag, "--vms");
        assert_eq!(
            e.to_string(),
            "--vms 400: needs about 1232 open files, above the hard limit of 256; \
             raise it (ulimit -Hn 1232, as root) or run --vms 74 or fewer"
        );
        let e = check_run(400, limit(256, 512)).unwrap_err();
        assert!(e.why.contains("the limit of 256 (hard limit 512)"), "{e}");
        let e = check_run(10, limit(20, 20)).unwrap_err();
        assert!(e.why.ends_with("or run fewer VMs"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn raising_leaves_the_soft_limit_at_most_the_hard_one() {
        let Some(l) = raise_open_files() else {
            panic!("no limit on Unix")
        };
        match (l.soft, l.hard) {
            (Some(soft), Some(hard)) => assert!(soft <= hard),
            (Some(_), None) | (None, None) => {}
            (None, Some(hard)) => panic!("soft unlimited above hard {hard}"),
        }
    }
}
