//! Slurm's view of a job step, from its environment: this task's rank
//! (`SLURM_PROCID`), the number of tasks (`SLURM_NTASKS`) and each task's
//! node, from the step's node list (`node[01-03,07],gpu5`) and tasks per
//! node (`2(x3),1`) under block distribution. Pure functions over text;
//! the caller reads the environment.

use std::fmt;

/// Most hosts a node list may expand to (a typo like `n[1-99999999]` is
/// refused instead of filling memory).
pub const MAX_HOSTS: usize = 65_536;

/// What is wrong with the step's variables: the variable, its value, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmError {
    pub var: &'static str,
    pub value: String,
    pub why: String,
}

impl fmt::Display for SlurmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}: {}", self.var, self.value, self.why)
    }
}

impl std::error::Error for SlurmError {}

fn fail<T>(var: &'static str, value: &str, why: impl Into<String>) -> Result<T, SlurmError> {
    Err(SlurmError {
        var,
        value: value.to_string(),
        why: why.into(),
    })
}

/// One task of a step: who it is and where every task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// This task's rank, from 0 (`SLURM_PROCID`).
    pub rank: u32,
    /// Task r runs on `hosts[r]`; its length is `SLURM_NTASKS`.
    pub hosts: Vec<String>,
}

/// Reads a step from `var` (the environment, or a fake one in tests).
pub fn step(var: impl Fn(&str) -> Option<String>) -> Result<Step, SlurmError> {
    let need = |name: &'static str| {
        var(name).ok_or_else(|| SlurmError {
            var: name,
            value: String::new(),
            why: "is not set (is this a task of a Slurm job step, under srun?)".into(),
        })
    };
    let rank_text = need("SLURM_PROCID")?;
    let Ok(rank) = rank_text.trim().parse::<u32>() else {
        return fail("SLURM_PROCID", &rank_text, "is not a number");
    };
    let n_text = need("SLURM_NTASKS")?;
    let n = match n_text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => n,
        _ => return fail("SLURM_NTASKS", &n_text, "is not a number of tasks"),
    };
    if rank >= n {
        return fail(
            "SLURM_PROCID",
            &rank_text,
            format!("is not below SLURM_NTASKS={n}"),
        );
    }
    if let Some(d) = var("SLURM_DISTRIBUTION") {
        check_distribution(&d)?;
    }
    let (nodes_var, nodes) = first_set(&var, "SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST")?;
    let (tasks_var, tasks) = first_set(&var, "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE")?;
    let nodes_list = hostlist(&nodes).or_else(|why| fail(nodes_var, &nodes, why))?;
    let per_node = tasks_per_node(&tasks).or_else(|why| fail(tasks_var, &tasks, why))?;
    if per_node.len() != nodes_list.len() {
        return fail(
            tasks_var,
            &tasks,
            format!(
                "counts {} nodes, {nodes_var} lists {}",
                per_node.len(),
                nodes_list.len()
            ),
        );
    }
    let total: u64 = per_node.iter().map(|&t| u64::from(t)).sum();
    if total != u64::from(n) {
        return fail(
            tasks_var,
            &tasks,
            format!("places {total} tasks, SLURM_NTASKS is {n}"),
        );
    }
    let hosts = block(&nodes_list, &per_node);
    // Where the node says this task is must be where block placement put
    // it: a check that holds whatever form SLURM_DISTRIBUTION takes.
    if let Some(node) = var("SLURMD_NODENAME") {
        let placed = &hosts[rank as usize];
        if node.trim() != placed {
            return fail(
                "SLURMD_NODENAME",
                &node,
                format!(
                    "task {rank} runs here, but block distribution over {nodes_var} puts it on {placed} (srun --distribution=block?)"
                ),
            );
        }
    }
    Ok(Step { rank, hosts })
}

/// The first of two variables that is set, with its name.
fn first_set(
    var: &impl Fn(&str) -> Option<String>,
    a: &'static str,
    b: &'static str,
) -> Result<(&'static str, String), SlurmError> {
    match (var(a), var(b)) {
        (Some(v), _) => Ok((a, v)),
        (None, Some(v)) => Ok((b, v)),
        (None, None) => fail(a, "", format!("is not set (nor {b})")),
    }
}

/// Refuses a task distribution other than block across nodes: `block`,
/// `block:cyclic` (the part after `:` places tasks within a node) and
/// `,Pack`-like options are fine.
pub fn check_distribution(d: &str) -> Result<(), SlurmError> {
    let across = d.split([',', ':']).next().unwrap_or("").trim();
    if across.eq_ignore_ascii_case("block") || across == "*" {
        return Ok(());
    }
    fail(
        "SLURM_DISTRIBUTION",
        d,
        "is not block: a VM finds its peers' nodes only under srun --distribution=block",
    )
}

/// Block distribution: the first node's tasks, then the second's, ...
pub fn block(nodes: &[String], per_node: &[u32]) -> Vec<String> {
    nodes
        .iter()
        .zip(per_node)
        .flat_map(|(node, &k)| std::iter::repeat_n(node.clone(), k as usize))
        .collect()
}

/// Expands a Slurm host list: `node[01-03,07],gpu5` -> node01 node02 node03
/// node07 gpu5. Zero padding is kept (the width of a range's first bound);
/// several bracket groups in one name multiply (`r[1-2]n[1-2]`).
pub fn hostlist(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in split_top(text)? {
        if item.is_empty() {
            return Err("has an empty host name".into());
        }
        expand(item, &mut out)?;
    }
    if out.is_empty() {
        return Err("lists no host".into());
    }
    Ok(out)
}

/// Splits at the commas outside brackets.
fn split_top(text: &str) -> Result<Vec<&str>, String> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0u32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' if depth == 0 => depth = 1,
            '[' => return Err("has a bracket inside a bracket".into()),
            ']' if depth == 1 => depth = 0,
            ']' => return Err("has a `]` without its `[`".into()),
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("has a `[` without its `]`".into());
    }
    parts.push(text[start..].trim());
    Ok(parts)
}

/// Appends the names of one item (`pre[a-b,c]post[...]`) to `out`.
fn expand(item: &str, out: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = item.find('[') else {
        return push(out, item.to_string());
    };
    let close = open + item[open..].find(']').ok_or("has a `[` without its `]`")?;
    let (pre, inner, rest) = (&item[..open], &item[open + 1..close], &item[close + 1..]);
    for part in inner.split(',') {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let (lo, hi) = (lo.trim(), hi.trim());
        let num = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        let (Some(a), Some(b)) = (num(lo), num(hi)) else {
            return Err(format!("has `[{inner}]`: a range is N or N-M, digits only"));
        };
        if a > b {
            return Err(format!("has the range {part}, which runs backwards"));
        }
        if b - a >= MAX_HOSTS as u64 {
            return Err(format!("expands to more than {MAX_HOSTS} hosts"));
        }
        let width = lo.len();
        for k in a..=b {
            let mut names = Vec::new();
            expand(&format!("{pre}{k:0width$}{rest}"), &mut names)?;
            for name in names {
                push(out, name)?;
            }
        }
    }
    Ok(())
}

fn push(out: &mut Vec<String>, name: String) -> Result<(), String> {
    if out.len() >= MAX_HOSTS {
        return Err(format!("expands to more than {MAX_HOSTS} hosts"));
    }
    out.push(name);
    Ok(())
}

/// Expands Slurm's tasks per node: `2(x3),1` -> 2 2 2 1.
pub fn tasks_per_node(text: &str) -> Result<Vec<u32>, String> {
    let usage = "must be counts like 2(x3),1";
    let mut out = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        let (count, times) = match item.split_once('(') {
            Some((count, rep)) => {
                let times = rep
                    .strip_suffix(')')
                    .and_then(|r| r.strip_prefix('x'))
                    .and_then(|t| t.parse::<usize>().ok())
                    .filter(|&t| t >= 1)
                    .ok_or(usage)?;
                (count, times)
            }
            None => (item, 1),
        };
        let count = count.parse::<u32>().map_err(|_| usage)?;
        if out.len() + times > MAX_HOSTS {
            return Err(format!("counts more than {MAX_HOSTS} nodes"));
        }
        out.extend(std::iter::repeat_n(count, times));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn host_lists_expand_with_their_padding() {
        assert_eq!(
            hostlist("node[01-03,07],gpu5"),
            Ok(names(&["node01", "node02", "node03", "node07", "gpu5"]))
        );
        assert_eq!(hostlist("localhost"), Ok(names(&["localhost"])));
        assert_eq!(
            hostlist("n[8-10]"),
            Ok(names(&["n8", "n9", "n10"])),
            "no padding when the first bound has none"
        );
        assert_eq!(
            hostlist("n[098-101]"),
            Ok(names(&["n098", "n099", "n100", "n101"]))
        );
        assert_eq!(
            hostlist("r[1-2]n[1-2].lab,x"),
            Ok(names(&[
                "r1n1.lab", "r1n2.lab", "r2n1.lab", "r2n2.lab", "x"
            ]))
        );
        assert_eq!(hostlist("a, b"), Ok(names(&["a", "b"])));
    }

    #[test]
    fn bad_host_lists_say_why() {
        for bad in [
            "",
            "a,,b",
            "n[1-3",
            "n1-3]",
            "n[[1]]",
            "n[3-1]",
            "n[a-b]",
            "n[]",
            "n[1-]",
            "n[-2]",
            "n[0-99999999]",
        ] {
            assert!(hostlist(bad).is_err(), "{bad:?} passed");
        }
    }

    #[test]
    fn tasks_per_node_expand() {
        assert_eq!(tasks_per_node("2(x3),1"), Ok(vec![2, 2, 2, 1]));
        assert_eq!(tasks_per_node("4"), Ok(vec![4]));
        assert_eq!(tasks_per_node("1,3(x2)"), Ok(vec![1, 3, 3]));
        for bad in ["", "x", "2(3)", "2(x0)", "2(x3", "-1", "2(x3),"] {
            assert!(tasks_per_node(bad).is_err(), "{bad:?} passed");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_step_places_its_tasks_in_blocks() {
        let s = step(env(&[
            ("SLURM_PROCID", "3"),
            ("SLURM_NTASKS", "5"),
            ("SLURM_STEP_NODELIST", "n[1-2],gpu5"),
            ("SLURM_STEP_TASKS_PER_NODE", "2(x2),1"),
            ("SLURM_JOB_NODELIST", "ignored[1-9]"),
            ("SLURM_DISTRIBUTION", "block:cyclic"),
        ]))
        .unwrap();
        assert_eq!(s.rank, 3);
        assert_eq!(s.hosts, names(&["n1", "n1", "n2", "n2", "gpu5"]));
        let job = step(env(&[
            ("SLURM_PROCID", "0"),
            ("SLURM_NTASKS", "3"),
            ("SLURM_JOB_NODELIST", "localhost"),
            ("SLURM_TASKS_PER_NODE", "3"),
        ]))
        .unwrap();
        assert_eq!(job.hosts, names(&["localhost"; 3]));
    }

    #[test]
    fn a_step_that_does_not_add_up_names_the_variable() {
        let base = [
            ("SLURM_PROCID", "0"),
            ("SLURM_NTASKS", "4"),
            ("SLURM_STEP_NODELIST", "n[1-2]"),
            ("SLURM_STEP_TASKS_PER_NODE", "2(x2)"),
        ];
        assert!(step(env(&base)).is_ok());
        let with = |k: &'static str, v: &'static str| {
            let mut e: Vec<(&str, &str)> = base.iter().filter(|p| p.0 != k).copied().collect();
            if !v.is_empty() {
                e.push((k, v));
            }
            step(env(&e)).unwrap_err().var
        };
        assert_eq!(with("SLURM_PROCID", ""), "SLURM_PROCID");
        assert_eq!(with("SLURM_PROCID", "4"), "SLURM_PROCID");
        assert_eq!(with("SLURM_PROCID", "x"), "SLURM_PROCID");
        assert_eq!(with("SLURM_NTASKS", "0"), "SLURM_NTASKS");
        assert_eq!(with("SLURM_NTASKS", "5"), "SLURM_STEP_TASKS_PER_NODE");
        assert_eq!(
            with("SLURM_STEP_TASKS_PER_NODE", "4"),
            "SLURM_STEP_TASKS_PER_NODE"
        );
        assert_eq!(with("SLURM_STEP_NODELIST", "n[1-"), "SLURM_STEP_NODELIST");
        assert_eq!(with("SLURM_STEP_NODELIST", ""), "SLURM_STEP_NODELIST");
        assert_eq!(with("SLURM_DISTRIBUTION", "cyclic"), "SLURM_DISTRIBUTION");
        assert_eq!(with("SLURM_DISTRIBUTION", "plane=2"), "SLURM_DISTRIBUTION");
        assert_eq!(with("SLURMD_NODENAME", "n2"), "SLURMD_NODENAME");
        let mut on_n1 = base.to_vec();
        on_n1.push(("SLURMD_NODENAME", "n1"));
        assert!(step(env(&on_n1)).is_ok(), "task 0 of a block step is on n1");
        let e = step(env(&[("SLURM_DISTRIBUTION", "arbitrary")])).unwrap_err();
        assert_eq!(e.var, "SLURM_PROCID", "the rank is looked at first");
        for ok in ["block", "block:block", "block:cyclic,Pack", "Block"] {
            assert_eq!(check_distribution(ok), Ok(()), "{ok}");
        }
        let e = check_distribution("cyclic").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("SLURM_DISTRIBUTION=cyclic: is not block")
        );
    }
}
