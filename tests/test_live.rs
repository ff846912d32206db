//! The launcher's live view: drawn on a terminal (here a pseudo-terminal made
//! by `script`), never when stderr is a pipe.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "makes a terminal with util-linux script(1)"
)]
fn a_terminal_gets_one_live_line_per_vm_and_a_pipe_gets_none() {
    let dir = tempdir();
    let typescript = dir.path().join("typescript");
    let logs = dir.path().join("logs");
    let cmd = format!(
        "'{}' --vms 3 --runtime 1.5 --min-rate 20 --max-rate 40 --base-port 0 --logs '{}'",
        env!("CARGO_BIN_EXE_lamport-sim"),
        logs.display()
    );
    // util-linux's script(1): `-q -e -c CMD FILE` (BSD and busybox differ).
    let util_linux = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("util-linux"));
    if !util_linux {
        skip(
            "a_terminal_gets_one_live_line_per_vm_and_a_pipe_gets_none",
            "no util-linux `script` to make a terminal",
        );
        return;
    }
    let out = Command::new("script")
        .args(["-qec", &cmd])
        .arg(&typescript)
        .output()
        .expect("script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = std::fs::read_to_string(&typescript).expect("typescript");
    assert!(
        screen.contains("  vm  rate     tick    clock  queue"),
        "{screen}"
    );
    assert!(screen.contains("clock spread"), "{screen}");
    assert!(screen.contains("\x1b[2K"), "lines are redrawn in place");
    let logs_read = read_logs(&logs);
    for (id, lines) in &logs_read {
        let rate = start_of(lines).rate;
        let shown = screen.lines().any(|l| {
            // Each drawn line is `\r ESC[2K` then the text.
            let text = l.rsplit("\x1b[2K").next().unwrap_or(l);
            let w: Vec<&str> = text.split_whitespace().collect();
            w.len() >= 8 && w[0] == id.to_string() && w[1] == rate.to_string()
        });
        assert!(shown, "no live row for VM {id} at rate {rate}:\n{screen}");
    }
    assert_verifies(&logs);

    let piped = run_with_limit(
        &mut fast_run(dir.path(), &["--vms", "3", "--runtime", "1"]),
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(piped.status.success(), "{stderr}");
    assert!(
        !stderr.contains('\x1b') && !stderr.contains("clock spread"),
        "{stderr}"
    );
}
