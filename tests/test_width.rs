//! Every line `run` and `analyze` print fits in 80 columns, once the test's
//! own temp folder is taken out (the user's paths do not count).

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;

/// Lines of stdout and stderr wider than 80 columns once `dir` is removed.
fn wide_lines(out: &Output, dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    [&out.stdout, &out.stderr]
        .iter()
        .flat_map(|b| {
            String::from_utf8_lossy(b)
                .lines()
                .map(|l| l.replace(&dir, ""))
                .collect::<Vec<_>>()
        })
        .filter(|l| l.chars().count() > 80)
        .collect()
}

#[test]
fn a_twelve_vm_run_and_its_analysis_fit_in_80_columns() {
    let dir = tempdir();
    let run = run_with_limit(
        &mut fast_run(dir.path(), &["--vms", "12", "--runtime", "1.5"]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The table is there: a row for each of the 12 VMs.
    assert!(
        (1..=12).all(|id| stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(&id.to_string()))),
        "{stdout}"
    );
    assert_eq!(stdout.matches("--seed ").count(), 1, "{stdout}");
    // Under the launcher the VMs leave the talking to it.
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !stderr.contains("connected to") && !stderr.contains("stopped ("),
        "{stderr}"
    );
    assert_eq!(wide_lines(&run, dir.path()), Vec::<String>::new());

    let mut c = bin();
    c.arg("analyze").arg(dir.path());
    let analyze = run_with_limit(&mut c, Duration::from_secs(60));
    let text = String::from_utf8_lossy(&analyze.stdout);
    assert!(analyze.status.success(), "{text}");
    for part in ["drift (max - min", "happens-before", "staleness", "model"] {
        assert!(text.contains(part), "no {part}:\n{text}");
    }
    assert!(text.lines().count() > 4 * 12, "{text}");
    assert_eq!(wide_lines(&analyze, dir.path()), Vec::<String>::new());
}
