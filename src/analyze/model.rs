//! The model's predictions (`crate::theory`) set beside what one run's logs
//! show, VM by VM: arrival rate, share of ticks that receive, queue growth and
//! mean clock jump. Pure: an [`Analysis`] in, rows out.

use super::Analysis;
use crate::theory;

/// Predicted and measured figures of one VM.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    pub vm: u32,
    pub rate: u32,
    /// Messages arriving per second: predicted, measured ((receives + pending) / seconds).
    pub arrival: (f64, Option<f64>),
    /// Share of ticks that receive: predicted, measured.
    pub busy: (f64, Option<f64>),
    /// Queue growth, messages per second: predicted, measured (pending at stop / seconds).
    pub growth: (f64, Option<f64>),
    /// Mean clock jump per tick: predicted, measured.
    pub jump: (f64, Option<f64>),
}

/// One row per VM, or none when the logs do not say the die's size.
pub fn rows(a: &Analysis) -> Vec<ModelRow> {
    let Some(k) = a.event_range else {
        return Vec::new();
    };
    let rates: Vec<(u32, u32)> = a.vms.iter().map(|v| (v.vm, v.rate)).collect();
    let predicted = theory::predict(&rates, k);
    a.vms
        .iter()
        .zip(predicted)
        .map(|(v, p)| {
            let secs = (v.duration_s > 0.0).then_some(v.duration_s);
            let per_s = |n: u64| secs.map(|s| n as f64 / s);
            ModelRow {
                vm: v.vm,
                rate: v.rate,
                arrival: (p.arrival, per_s(v.receives + v.pending)),
                busy: (
                    p.busy,
                    (v.ticks > 0).then(|| v.receives as f64 / v.ticks as f64),
                ),
                growth: (p.queue_growth, per_s(v.pending)),
                jump: (p.mean_jump, v.jumps.as_ref().map(|d| d.mean)),
            }
        })
        .collect()
}

/// Predicted drift growth in clock units per minute: VMs that keep up run at
/// the common logical rate, a drowning VM falls behind at the difference.
pub fn drift_growth_per_min(a: &Analysis) -> Option<f64> {
    let k = a.event_range?;
    let rates: Vec<(u32, u32)> = a.vms.iter().map(|v| (v.vm, v.rate)).collect();
    let p = theory::predict(&rates, k);
    let fastest = p.iter().map(|v| v.clock_rate).fold(f64::NAN, f64::max);
    let slowest = p.iter().map(|v| v.clock_rate).fold(f64::NAN, f64::min);
    (!p.is_empty()).then_some((fastest - slowest) * 60.0)
}

/// The rows as a text table: predicted and measured side by side under
/// each figure's name.
pub fn table(rows: &[ModelRow]) -> String {
    use crate::text::{col, render, under};
    let cols = [
        col("vm"),
        col("rate"),
        under("arrivals/s", "pred"),
        under("arrivals/s", "meas"),
        under("busy %", "pred"),
        under("busy %", "meas"),
        under("queue growth/s", "pred"),
        under("queue growth/s", "meas"),
        under("mean jump", "pred"),
        under("mean jump", "meas"),
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut c = vec![r.vm.to_string(), r.rate.to_string()];
            c.extend(split(r.arrival, 2, 1.0));
            c.extend(split(r.busy, 1, 100.0));
            c.extend(split(r.growth, 2, 1.0));
            c.extend(split(r.jump, 2, 1.0));
            c
        })
        .collect();
    render(&cols, &cells)
}

/// `[predicted, measured]`, scaled and rounded; `-` for a missing measurement.
fn split((p, m): (f64, Option<f64>), digits: usize, scale: f64) -> [String; 2] {
    let m = m.map_or("-".to_string(), |m| format!("{:.digits$}", m * scale));
    [format!("{:.digits$}", p * scale), m]
}

/// `predicted / measured`, scaled and rounded; `-` for a missing measurement.
pub fn pair((p, m): (f64, Option<f64>), digits: usize, scale: f64) -> String {
    let m = m.map_or("-".to_string(), |m| format!("{:.digits$}", m * scale));
    format!("{:.digits$} / {m}", p * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::distributions::Dist;
    use crate::analyze::per_vm::VmStats;

    fn vm(id: u32, rate: u32, ticks: u64, receives: u64, pending: u64, jump: f64) -> VmStats {
        VmStats {
            vm: id,
            rate,
            ticks,
            receives,
            pending,
            duration_s: 60.0,
            jumps: Some(Dist {
                mean: jump,
                p95: jump,
                max: jump,
            }),
            ..VmStats::default()
        }
    }

    #[test]
    fn predictions_sit_beside_measurements() {
        let a = Analysis {
            event_range: Some(3),
            vms: vec![
                vm(1, 1, 60, 59, 228, 1.3),
                vm(2, 6, 360, 144, 0, 1.05),
                vm(3, 6, 360, 148, 0, 1.05),
            ],
            ..Analysis::default()
        };
        let r = rows(&a);
        assert_eq!(r.len(), 3);
        assert!((r[0].arrival.0 - 4.8).abs() < 1e-6, "{r:?}");
        assert_eq!(r[0].arrival.1, Some((59.0 + 228.0) / 60.0));
        assert!((r[0].growth.0 - 3.8).abs() < 1e-6);
        assert_eq!(r[0].growth.1, Some(3.8));
        assert_eq!(r[1].busy.1, Some(0.4));
        let t = table(&r);
        let first = t.lines().nth(2).unwrap();
        assert!(first.contains("4.80  4.78"), "{t}");
        assert!(crate::text::max_width(&t) <= 80, "{t}");
    }

    #[test]
    fn a_drowning_vm_makes_drift_grow() {
        let a = Analysis {
            event_range: Some(10),
            vms: vec![
                vm(1, 1, 60, 59, 60, 3.0),
                vm(2, 6, 360, 60, 0, 1.0),
                vm(3, 6, 360, 60, 0, 1.0),
            ],
            ..Analysis::default()
        };
        // Rates 1, 6, 6 with K = 10: VM 1 gets 2 messages/s, runs at 6 x 1/2 = 3/s, 3/s behind.
        let g = drift_growth_per_min(&a).unwrap();
        assert!((g - 180.0).abs() < 1e-6, "{g}");
        let keeping_up = Analysis {
            event_range: Some(10),
            vms: vec![vm(1, 5, 300, 60, 0, 1.2), vm(2, 6, 360, 60, 0, 1.0)],
            ..Analysis::default()
        };
        assert!(drift_growth_per_min(&keeping_up).unwrap().abs() < 1e-9);
    }

    #[test]
    fn no_die_size_no_rows() {
        assert!(rows(&Analysis::default()).is_empty());
    }

    #[test]
    fn pairs_show_missing_measurements() {
        assert_eq!(pair((0.25, None), 1, 100.0), "25.0 / -");
        assert_eq!(pair((1.0, Some(1.234)), 2, 1.0), "1.00 / 1.23");
    }
}
