//! Many hosts: three network namespaces ("hosts") joined by veth links to a
//! bridge in a fourth, one `vm` per host listening on its own address, then
//! `verify`. Linux only; needs root and iproute2 (`.ci/run` installs it).
//! Without them it says why it skips, or fails under `LAMPORT_SIM_REQUIRE_ALL=1`.
//! All traffic stays inside the namespaces it made.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "makes Linux network namespaces with ip(8)"
)]
fn three_vms_on_three_hosts_make_one_verified_run() {
    if let Some(why) = cannot_make_hosts() {
        skip("three_vms_on_three_hosts_make_one_verified_run", &why);
        return;
    }
    let (hosts, addrs) = match make_hosts(3, std::process::id() % 250) {
        Ok(h) => h,
        Err(why) => {
            skip(
                "three_vms_on_three_hosts_make_one_verified_run",
                &format!("cannot make namespaces: {why}"),
            );
            return;
        }
    };
    let dir = tempdir();
    let children: Vec<_> = (1..=3usize)
        .map(|i| {
            let mut c = Command::new("ip");
            c.args([
                "netns",
                "exec",
                &hosts.names[i],
                env!("CARGO_BIN_EXE_lamport-sim"),
                "vm",
            ])
            .args([
                "--id",
                &i.to_string(),
                "--listen",
                &format!("{}:7000", addrs[i - 1]),
            ])
            .args([
                "--rate",
                &(30 * i).to_string(),
                "--runtime",
                "2",
                "--run",
                "hosts",
                "--logs",
            ])
            .arg(dir.path());
            for j in (1..=3).filter(|&j| j != i) {
                c.args(["--peer", &format!("{j}={}:7000", addrs[j - 1])]);
            }
            c.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = wait_with_limit(c, Duration::from_secs(30));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (id, lines) in read_logs(dir.path()) {
        assert_eq!(
            stop_of(&lines),
            Some((60 * u64::from(id), "runtime")),
            "vm {id}"
        );
    }
    assert_verifies(dir.path());
}
