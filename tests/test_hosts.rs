//! Many hosts: three network namespaces ("hosts") joined by veth links to a
//! bridge in a fourth, one `vm` per host listening on its own address, then
//! `verify`. Linux only; needs root and iproute2 (`.ci/run` installs it).
//! Without them it says why it skips, or fails under `LAMPORT_SIM_REQUIRE_ALL=1`.
//! All traffic stays inside the namespaces it made.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// The namespaces of one test run, deleted on drop (even on panic).
struct Hosts {
    names: Vec<String>,
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Makes `n` hosts at 10.231.<net>.1..n on a bridge in a hub namespace.
fn make_hosts(n: usize, net: u32) -> Result<(Hosts, Vec<String>), String> {
    let tag = std::process::id();
    let hub = format!("lsim{tag}hub");
    let mut hosts = Hosts {
        names: vec![hub.clone()],
    };
    ip(&["netns", "add", &hub])?;
    ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
    ip(&["-n", &hub, "link", "set", "br0", "up"])?;
    let mut addrs = Vec::new();
    for i in 1..=n {
        let ns = format!("lsim{tag}h{i}");
        hosts.names.push(ns.clone());
        ip(&["netns", "add", &ns])?;
        let (inner, outer) = (format!("lsv{tag}{i}"), format!("lse{tag}{i}"));
        ip(&[
            "link", "add", &inner, "type", "veth", "peer", "name", &outer,
        ])?;
        ip(&["link", "set", &inner, "netns", &ns])?;
        ip(&["link", "set", &outer, "netns", &hub])?;
        ip(&["-n", &hub, "link", "set", &outer, "master", "br0", "up"])?;
        let addr = format!("10.231.{net}.{i}");
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            &inner,
        ])?;
        ip(&["-n", &ns, "link", "set", &inner, "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        addrs.push(addr);
    }
    Ok((hosts, addrs))
}

fn can_run() -> Result<(), String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("not root".into());
    }
    Command::new("ip")
        .arg("-V")
        .output()
        .map(|_| ())
        .map_err(|_| "iproute2 (`ip`) is not installed".into())
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "makes Linux network namespaces with ip(8)"
)]
fn three_vms_on_three_hosts_make_one_verified_run() {
    if let Err(why) = can_run() {
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
