//! The experiment's `summary.md`: every VM of every run, the model's
//! predictions beside the logs, per-run drift and queues with their means
//! over the runs without problems, the cross-run plots and the problems.

use std::fmt::Write as _;

use super::text::stop_word;
use crate::analyze::Analysis;
use crate::analyze::model;

/// One run of an experiment as the summary shows it.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The k of `run_k`.
    pub run: u32,
    /// `None` when the logs could not be analyzed.
    pub analysis: Option<&'a Analysis>,
    /// Why the run is left out of the means, if it is.
    pub problem: Option<&'a str>,
}

/// The `summary.md` text.
pub fn summary(name: &str, command: &str, results: &[Run], plots: &[&str]) -> String {
    let mut out = format!("# Experiment `{name}`\n\n");
    if !command.is_empty() {
        let _ = write!(out, "Made with:\n\n```\n{command}\n```\n\n");
    }
    out.push_str("Regenerate this page and every report from the logs: `lamport-sim analyze ");
    let _ = writeln!(out, "logs/{name}`.\n");
    out.push_str(&vm_table(results));
    out.push_str(&model_table(results));
    out.push_str(&run_table(results));
    for p in plots {
        let _ = writeln!(out, "\n![{p}]({p})");
    }
    let problems: Vec<String> = results
        .iter()
        .filter_map(|r| Some(format!("- run {}: {}", r.run, r.problem?)))
        .collect();
    if !problems.is_empty() {
        let _ = write!(
            out,
            "\n## Problems (runs left out of the means)\n\n{}\n",
            problems.join("\n")
        );
    }
    out
}

fn fmt(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// Every VM of every run.
fn vm_table(results: &[Run]) -> String {
    let mut out = String::from(
        "## Every VM of every run\n\n| run | seed | vm | rate | ticks | sends | receives | internal | final clock | clock/s | jump mean | jump max | jumps > 1 | queue mean | queue max | lag mean | stop |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let Some(a) = r.analysis else { continue };
        let seed = a.seed.map_or("?".into(), |s| s.to_string());
        for v in &a.vms {
            let jumps = v.jumps.as_ref();
            let _ = writeln!(
                out,
                "| {} | {seed} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.run,
                v.vm,
                v.rate,
                v.ticks,
                v.sends,
                v.receives,
                v.internals,
                v.final_clock,
                fmt(v.clock_rate, 2),
                fmt(jumps.map(|d| d.mean), 2),
                v.max_jump,
                fmt(v.jump_over_1_share.map(|s| s * 100.0), 1) + " %",
                fmt(v.queue_mean, 2),
                v.max_queue,
                fmt(v.lag_mean, 1),
                stop_word(v)
            );
        }
    }
    out
}

/// The model's predictions beside the logs, every VM of every run.
fn model_table(results: &[Run]) -> String {
    let mut out = String::from(
        "\n## The model's prediction beside the logs (predicted / measured)\n\n| run | vm | rate | arrivals/s | busy % | queue growth/s | mean jump |\n|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let Some(a) = r.analysis else { continue };
        for m in model::rows(a) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.run,
                m.vm,
                m.rate,
                model::pair(m.arrival, 2, 1.0),
                model::pair(m.busy, 1, 100.0),
                model::pair(m.growth, 2, 1.0),
                model::pair(m.jump, 2, 1.0)
            );
        }
    }
    out
}

/// Run-level figures and their means over the runs without problems.
fn run_table(results: &[Run]) -> String {
    let mut out = String::from(
        "\n## Per run\n\n| run | rates | drift mean | drift max | drift growth/min | predicted growth/min | largest jump | largest queue | concurrent pairs | Lamport orders concurrent pairs | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut good: Vec<[f64; FIGURES]> = Vec::new();
    for r in results {
        let Some(a) = r.analysis else { continue };
        let Some(fig) = run_figures(a) else { continue };
        let rates: Vec<String> = a.vms.iter().map(|v| v.rate.to_string()).collect();
        let verdict = if r.problem.is_some() {
            "see problems"
        } else {
            "verified"
        };
        let predicted = fmt(model::drift_growth_per_min(a), 1);
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.0} | {:+.1} | {predicted} | {:.0} | {:.0} | {:.1} % | {:.1} % | {verdict} |",
            r.run,
            rates.join(", "),
            fig[0],
            fig[1],
            fig[2],
            fig[3],
            fig[4],
            fig[5],
            fig[6]
        );
        if r.problem.is_none() {
            good.push(fig);
        }
    }
    if !good.is_empty() {
        let n = good.len() as f64;
        let m: Vec<f64> = (0..FIGURES)
            .map(|i| good.iter().map(|f| f[i]).sum::<f64>() / n)
            .collect();
        let _ = writeln!(
            out,
            "| **mean of {} runs** | | {:.1} | {:.1} | {:+.1} | | {:.1} | {:.1} | {:.1} % | {:.1} % | |",
            good.len(),
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            m[6]
        );
    }
    out
}

/// How many figures [`run_figures`] gives.
const FIGURES: usize = 7;

/// [drift mean, drift max, drift growth per minute, largest jump, largest
/// queue, % of cross-VM pairs concurrent, % of those Lamport orders anyway].
fn run_figures(a: &Analysis) -> Option<[f64; FIGURES]> {
    let d = a.drift.as_ref()?;
    let jump = a.vms.iter().map(|v| v.max_jump).max()?;
    let queue = a.vms.iter().map(|v| v.max_queue).max()?;
    let c = a.causal.as_ref()?;
    Some([
        d.mean,
        d.max as f64,
        d.growth_per_min,
        jump as f64,
        queue as f64,
        // No pairs (one VM) or no concurrent pairs: nothing to report, 0.
        100.0 * c.concurrent_share().unwrap_or(0.0),
        100.0 * c.lamport_ordered_concurrent_share().unwrap_or(0.0),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::causal_analysis;

    #[test]
    fn the_summary_lists_every_vm_and_leaves_problem_runs_out_of_the_means() {
        let (one, two) = (causal_analysis(3), causal_analysis(3));
        let runs = [
            Run {
                run: 1,
                analysis: Some(&one),
                problem: None,
            },
            Run {
                run: 2,
                analysis: Some(&two),
                problem: Some("VM 3 died"),
            },
            Run {
                run: 3,
                analysis: None,
                problem: Some("cannot analyze: no logs"),
            },
        ];
        let md = summary(
            "base",
            "lamport-sim experiment --name base",
            &runs,
            &["drift_runs.svg"],
        );
        assert!(md.starts_with(
            "# Experiment `base`\n\nMade with:\n\n```\nlamport-sim experiment --name base\n```\n\n"
        ));
        assert!(md.contains("`lamport-sim analyze logs/base`"));
        // Three VMs in each of the two analyzed runs.
        let vm_rows = md
            .lines()
            .filter(|l| l.starts_with("| 1 | ") || l.starts_with("| 2 | "));
        assert!(vm_rows.count() >= 6, "{md}");
        assert!(md.contains("| verified |") && md.contains("| see problems |"));
        assert!(md.contains("| **mean of 1 runs** |"), "{md}");
        assert!(md.contains("\n![drift_runs.svg](drift_runs.svg)\n"));
        assert!(
            md.ends_with("- run 2: VM 3 died\n- run 3: cannot analyze: no logs\n"),
            "{md}"
        );
        assert!(!summary("x", "", &[], &[]).contains("Made with"));
    }
}
