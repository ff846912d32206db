//! Figures across runs and experiments, set against the model
//! (`crate::theory`, through [`super::model`]): one point per run for drift
//! growth, one per VM for queue growth against its load, each run's queues
//! with the predicted slope, and two experiments side by side on one scale
//! (jump sizes, drift). Pure: analyses in, points and SVG text out; the
//! command (`cmd::analyze`) reads the folders and writes the files.

use super::Analysis;
use super::model;
use super::per_vm::as_f64;
use super::plots::{self, Axes, GREY, Guide, Mark, Points, Series};

/// One analyzed run and where it comes from.
#[derive(Debug, Clone, Copy)]
pub struct RunOf<'a> {
    /// The experiment folder's name.
    pub experiment: &'a str,
    /// The k of `run_k`.
    pub run: u32,
    pub analysis: &'a Analysis,
}

/// A run drowns when the model predicts drift growth above this, per
/// minute (so above 0, up to rounding).
const DROWNS_ABOVE: f64 = 1e-6;

/// One run: drift growth per minute, predicted by the model and measured
/// (the least-squares slope of its drift).
#[derive(Debug, Clone, PartialEq)]
pub struct DriftPoint {
    pub experiment: String,
    pub run: u32,
    pub predicted: f64,
    pub measured: f64,
    /// The model predicts a drowning VM in the run.
    pub drowns: bool,
}

/// One point per run that has both figures (a run whose logs do not give
/// the die's size, or without tick events, has none).
pub fn drift_points(runs: &[RunOf]) -> Vec<DriftPoint> {
    runs.iter()
        .filter_map(|r| {
            let predicted = model::drift_growth_per_min(r.analysis)?;
            let measured = r.analysis.drift.as_ref()?.growth_per_min;
            Some(DriftPoint {
                experiment: r.experiment.to_string(),
                run: r.run,
                predicted,
                measured,
                drowns: predicted > DROWNS_ABOVE,
            })
        })
        .collect()
}

/// One VM of one run: its predicted load (arrivals over tick rate,
/// `lambda / r`) and its measured queue growth per tick (messages a second
/// over ticks a second), so that the model's line is `max(0, load - 1)`
/// whatever the rate.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPoint {
    pub experiment: String,
    pub run: u32,
    pub vm: u32,
    pub load: f64,
    pub growth_per_tick: f64,
}

impl LoadPoint {
    /// The model says this VM drowns: more arrivals than ticks.
    pub fn drowns(&self) -> bool {
        self.load > 1.0
    }
}

/// One point per VM with a rate and a measured queue growth.
pub fn load_points(runs: &[RunOf]) -> Vec<LoadPoint> {
    let mut out = Vec::new();
    for r in runs {
        for row in model::rows(r.analysis) {
            let (Some(growth), true) = (row.growth.1, row.rate > 0) else {
                continue;
            };
            let rate = f64::from(row.rate);
            out.push(LoadPoint {
                experiment: r.experiment.to_string(),
                run: r.run,
                vm: row.vm,
                load: row.arrival.0 / rate,
                growth_per_tick: growth / rate,
            });
        }
    }
    out
}

/// One range for both axes covering every value, from 0 or below, with a
/// little room at the top, so that y = x is the diagonal of equal units.
pub fn shared_range(values: impl IntoIterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0.0), |(lo, hi): (f64, f64), v| (lo.min(v), hi.max(v)));
    let room = ((hi - lo) * 0.05).max(0.5);
    let lo = if lo < 0.0 { lo - room } else { 0.0 };
    lo..hi + room
}

/// Measured against predicted drift growth, one mark per run (drowning runs
/// as filled triangles, the others as open circles), with the line y = x.
pub fn drift_chart(points: &[DriftPoint]) -> String {
    let range = shared_range(points.iter().flat_map(|p| [p.predicted, p.measured]));
    let set = |drowns: bool, name: &str, mark: Mark, color: usize| Points {
        name: format!(
            "{name} ({})",
            points.iter().filter(|p| p.drowns == drowns).count()
        ),
        points: points
            .iter()
            .filter(|p| p.drowns == drowns)
            .map(|p| (p.predicted, p.measured))
            .collect(),
        mark,
        color: plots::color(color),
    };
    let sets = [
        set(false, "no VM drowns", Mark::Ring, 0),
        set(true, "a VM drowns", Mark::Triangle, 3),
    ];
    let diagonal = Guide {
        name: "y = x".into(),
        points: vec![(range.start, range.start), (range.end, range.end)],
        color: GREY,
    };
    let title = format!(
        "Drift growth, measured against predicted: {} runs",
        points.len()
    );
    let axes = Axes {
        title: &title,
        x: "predicted drift growth (clock units per minute)",
        y: "measured drift growth (units per minute)",
    };
    plots::scatter(&axes, &sets, &[diagonal], (range.clone(), range))
}

/// The model's queue growth per tick at load `x`: `max(0, x - 1)`, as the
/// two segments of a guide from 0 to `x_max`.
pub fn hinge(x_max: f64) -> Vec<(f64, f64)> {
    let end = x_max.max(1.0);
    vec![(0.0, 0.0), (1.0, 0.0), (end, end - 1.0)]
}

/// Measured queue growth per tick against predicted load, one mark per VM
/// (drowning VMs as filled triangles), the model's hinge and the threshold
/// at 1.
pub fn load_chart(points: &[LoadPoint]) -> String {
    let x_max = points.iter().map(|p| p.load).fold(1.0, f64::max) * 1.05;
    let y_lo = points.iter().map(|p| p.growth_per_tick).fold(0.0, f64::min);
    let y_hi = points
        .iter()
        .map(|p| p.growth_per_tick)
        .fold(x_max - 1.0, f64::max);
    let set = |drowns: bool, name: &str, mark: Mark, color: usize| Points {
        name: format!(
            "{name} ({})",
            points.iter().filter(|p| p.drowns() == drowns).count()
        ),
        points: points
            .iter()
            .filter(|p| p.drowns() == drowns)
            .map(|p| (p.load, p.growth_per_tick))
            .collect(),
        mark,
        color: plots::color(color),
    };
    let sets = [
        set(false, "keeps up", Mark::Ring, 0),
        set(true, "drowns", Mark::Triangle, 3),
    ];
    let guides = [
        Guide {
            name: "model".into(),
            points: hinge(x_max),
            color: GREY,
        },
        Guide {
            name: "lambda = r".into(),
            points: vec![(1.0, y_lo), (1.0, y_hi * 1.05)],
            color: plots::color(2),
        },
    ];
    let title = format!(
        "Queue growth against load, predicted: {} VMs in {} runs",
        points.len(),
        count_runs(points.iter().map(|p| (p.experiment.as_str(), p.run)))
    );
    let axes = Axes {
        title: &title,
        x: "predicted arrivals per tick: lambda / r",
        y: "measured queue growth per tick",
    };
    let pad = (y_hi - y_lo) * 0.05;
    plots::scatter(&axes, &sets, &guides, (0.0..x_max, y_lo - pad..y_hi + pad))
}

fn count_runs<'a>(runs: impl Iterator<Item = (&'a str, u32)>) -> usize {
    let mut seen: Vec<(&str, u32)> = runs.collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// The predicted queue of every VM the model says drowns: a line from 0 at
/// the start to `(lambda - r) T` at its end, in the VM's colour.
pub fn queue_guides(a: &Analysis) -> Vec<Guide> {
    model::rows(a)
        .iter()
        .zip(&a.vms)
        .enumerate()
        .filter(|(_, (row, _))| row.growth.0 > 0.0)
        .map(|(i, (row, v))| Guide {
            name: format!("VM {}: {:+.2}/s", row.vm, row.growth.0),
            points: vec![(0.0, 0.0), (v.duration_s, row.growth.0 * v.duration_s)],
            color: plots::color(i),
        })
        .collect()
}

/// One run's queues, one line per VM, with each drowning VM's predicted
/// slope (`lambda - r`) drawn dashed from the start.
pub fn queue_chart(title: &str, a: &Analysis) -> String {
    let series: Vec<Series> = a
        .series
        .iter()
        .zip(&a.vms)
        .map(|(s, v)| (format!("VM {} ({}/s)", v.vm, v.rate), s.queue_points()))
        .collect();
    let axes = Axes {
        title,
        x: "wall time since start (s)",
        y: "messages waiting in the queue",
    };
    plots::line_chart_with(&axes, &series, &queue_guides(a), true, None)
}

/// Jump counts (jump, how many) of every VM of every run, added up.
pub fn pooled_jumps(analyses: &[&Analysis]) -> Vec<(u64, u64)> {
    let mut counts: Vec<(u64, u64)> = Vec::new();
    for (jump, n) in analyses
        .iter()
        .flat_map(|a| &a.vms)
        .flat_map(|v| &v.jump_counts)
    {
        match counts.iter_mut().find(|c| c.0 == *jump) {
            Some(c) => c.1 += n,
            None => counts.push((*jump, *n)),
        }
    }
    counts.sort_unstable();
    counts
}

/// The mean jump of pooled counts (0 for none).
pub fn mean_jump(counts: &[(u64, u64)]) -> f64 {
    let n: u64 = counts.iter().map(|c| c.1).sum();
    let sum: u64 = counts.iter().map(|c| c.0 * c.1).sum();
    if n == 0 { 0.0 } else { sum as f64 / n as f64 }
}

/// An experiment's name and its analyzed runs (k of `run_k`, analysis).
pub type Experiment<'a> = (&'a str, Vec<(u32, &'a Analysis)>);

/// The jump-size distributions of two (or more) experiments on one chart:
/// the share of all their VMs' tick events in each jump-size bin.
pub fn jumps_chart(experiments: &[Experiment]) -> String {
    let per: Vec<(String, Vec<(u64, u64)>)> = experiments
        .iter()
        .map(|(name, runs)| {
            let runs: Vec<&Analysis> = runs.iter().map(|r| r.1).collect();
            let counts = pooled_jumps(&runs);
            let label = format!("{name}: mean {:.2}", mean_jump(&counts));
            (label, counts)
        })
        .collect();
    let names: Vec<&str> = experiments.iter().map(|e| e.0).collect();
    let title = format!(
        "Clock jump sizes, every VM of every run: {}",
        names.join(" vs ")
    );
    plots::jump_histogram_of(&title, &per, "share of the experiment's tick events (%)")
}

/// Each experiment's drift (one line per run), side by side on one y scale.
pub fn drift_side_by_side(experiments: &[Experiment]) -> String {
    let of = |runs: &[(u32, &Analysis)]| -> Vec<Series> {
        runs.iter()
            .filter_map(|(k, a)| Some((format!("run {k}"), as_f64(&a.drift.as_ref()?.series))))
            .collect()
    };
    let all: Vec<(&str, Vec<Series>)> = experiments
        .iter()
        .map(|(name, runs)| (*name, of(runs)))
        .collect();
    let top = shared_top(all.iter().map(|(_, s)| s.as_slice()));
    let charts: Vec<String> = all
        .iter()
        .map(|(name, series)| {
            let title = format!("Drift in every run of {name}");
            let axes = Axes {
                title: &title,
                x: "wall time since start (s)",
                y: "drift: max - min logical clock",
            };
            plots::line_chart_with(&axes, series, &[], false, Some(top))
        })
        .collect();
    plots::grid(&charts, charts.len())
}

/// One y top for charts read side by side: the highest point of any, with
/// the same head room [`plots::ranges`] gives one chart.
pub fn shared_top<'a>(charts: impl Iterator<Item = &'a [Series]>) -> f64 {
    charts.map(|s| plots::ranges(s).1.end).fold(1.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::drift::Drift;
    use crate::analyze::per_vm::{VmSeries, VmStats};

    fn vm(id: u32, rate: u32, receives: u64, pending: u64) -> VmStats {
        VmStats {
            vm: id,
            rate,
            ticks: u64::from(rate) * 60,
            receives,
            pending,
            duration_s: 60.0,
            jump_counts: vec![(1, 10), (3, u64::from(id))],
            ..VmStats::default()
        }
    }

    fn drift(growth: f64) -> Drift {
        Drift {
            step_s: 0.1,
            series: vec![(0.0, 0), (60.0, 10)],
            mean: 1.0,
            max: 10,
            growth_per_min: growth,
            lag_mean: vec![],
        }
    }

    /// Rates 1, 6, 6 with K = 10: VM 1 gets 2 messages a second and drowns
    /// (predicted growth +180/min, queue +1/s).
    fn drowning() -> Analysis {
        Analysis {
            run: Some("drowning".into()),
            event_range: Some(10),
            vms: vec![vm(1, 1, 59, 60), vm(2, 6, 60, 0), vm(3, 6, 60, 0)],
            series: vec![VmSeries {
                vm: 1,
                clock: vec![(0.0, 1)],
                queue: vec![(0.0, 0), (60.0, 60)],
            }],
            drift: Some(drift(170.0)),
            ..Analysis::default()
        }
    }

    fn calm() -> Analysis {
        Analysis {
            event_range: Some(10),
            vms: vec![vm(1, 5, 60, 0), vm(2, 6, 60, 0), vm(3, 6, 60, 0)],
            drift: Some(drift(-0.5)),
            ..Analysis::default()
        }
    }

    fn runs<'a>(a: &'a Analysis, b: &'a Analysis) -> [RunOf<'a>; 3] {
        let no_die = RunOf {
            experiment: "y",
            run: 1,
            analysis: a,
        };
        let mut none = no_die;
        none.analysis = b;
        [
            RunOf {
                experiment: "x",
                run: 1,
                analysis: a,
            },
            RunOf {
                experiment: "x",
                run: 2,
                analysis: b,
            },
            none,
        ]
    }

    #[test]
    fn one_drift_point_per_run_marked_by_the_prediction() {
        let (d, c) = (drowning(), calm());
        let mut without_die = calm();
        without_die.event_range = None;
        let mut r = runs(&d, &c).to_vec();
        r[2].analysis = &without_die;
        let p = drift_points(&r);
        assert_eq!(p.len(), 2, "a run without the die's size has no point");
        assert!((p[0].predicted - 180.0).abs() < 1e-6 && p[0].measured == 170.0);
        assert!(p[0].drowns && !p[1].drowns);
        assert_eq!(p[1].predicted, 0.0);
    }

    #[test]
    fn load_is_arrivals_per_tick_and_growth_is_per_tick_too() {
        let d = drowning();
        let p = load_points(&[RunOf {
            experiment: "x",
            run: 1,
            analysis: &d,
        }]);
        assert_eq!(p.len(), 3);
        assert!((p[0].load - 2.0).abs() < 1e-6, "{p:?}");
        assert!(
            (p[0].growth_per_tick - 1.0).abs() < 1e-9,
            "60 pending in 60 s at 1/s"
        );
        assert!(p[0].drowns() && !p[1].drowns());
        assert!((p[1].load - 1.0 / 6.0).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn the_shared_range_holds_every_value_and_zero() {
        let r = shared_range([3.0, 200.0, -8.7]);
        assert!(r.start < -8.7 && r.end > 200.0, "{r:?}");
        let r = shared_range([0.1, 2.0]);
        assert_eq!(r.start, 0.0);
        assert!(shared_range([]).end > 0.0);
        assert!(shared_range([f64::NAN, 1.0]).end.is_finite());
    }

    #[test]
    fn the_hinge_is_zero_up_to_one_then_the_excess() {
        assert_eq!(hinge(4.8), vec![(0.0, 0.0), (1.0, 0.0), (4.8, 3.8)]);
        assert_eq!(hinge(0.5).last(), Some(&(1.0, 0.0)));
    }

    #[test]
    fn only_drowning_vms_get_a_predicted_slope() {
        let g = queue_guides(&drowning());
        assert_eq!(g.len(), 1, "{g:?}");
        assert_eq!(g[0].name, "VM 1: +1.00/s");
        let end = g[0].points[1];
        assert!(
            (end.0 - 60.0).abs() < 1e-9 && (end.1 - 60.0).abs() < 1e-6,
            "{end:?}"
        );
        assert!(queue_guides(&calm()).is_empty());
    }

    #[test]
    fn jumps_pool_over_vms_and_runs() {
        let (d, c) = (drowning(), calm());
        let pooled = pooled_jumps(&[&d, &c]);
        assert_eq!(pooled, vec![(1, 60), (3, 12)]);
        assert!((mean_jump(&pooled) - (60.0 + 36.0) / 72.0).abs() < 1e-12);
        assert_eq!(mean_jump(&[]), 0.0);
    }

    #[test]
    fn side_by_side_charts_share_the_highest_top() {
        let low: Vec<Series> = vec![("a".into(), vec![(0.0, 1.0), (1.0, 5.0)])];
        let high: Vec<Series> = vec![("b".into(), vec![(0.0, 100.0)])];
        let top = shared_top([low.as_slice(), high.as_slice()].into_iter());
        assert!((top - 105.0).abs() < 1e-9, "{top}");
    }

    #[test]
    fn the_drift_chart_has_a_mark_per_run_and_the_diagonal() {
        let (d, c) = (drowning(), calm());
        let svg = drift_chart(&drift_points(&runs(&d, &c)));
        // One ring per calm run and one per legend entry; likewise triangles.
        assert_eq!(svg.matches("<circle").count(), 2 + 1, "{svg}");
        assert_eq!(svg.matches("<polygon").count(), 1 + 1);
        assert!(svg.contains(">\ny = x\n</text>") && svg.contains("stroke-dasharray"));
        assert!(svg.contains("a VM drowns (1)") && svg.contains("no VM drowns (2)"));
    }
}
