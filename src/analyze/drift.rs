//! Drift: the spread of the VMs' logical clocks over wall time, sampled on a
//! grid ([`Drift`]), with each VM's lag behind the fastest. A VM's clock at
//! time t is the clock of its last tick event at or before t, and 0 before
//! its first. Pure functions, no IO.

/// Spacing of the drift grid, seconds.
pub const GRID_STEP_S: f64 = 0.1;

/// The spread of the VMs' logical clocks over the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// The grid: every [`GRID_STEP_S`] from 0 to the earliest end of a VM.
    pub step_s: f64,
    /// (time, max - min clock) at each grid point.
    pub series: Vec<(f64, u64)>,
    pub mean: f64,
    pub max: u64,
    /// Least-squares slope of drift over time, per minute.
    pub growth_per_min: f64,
    /// Per VM (in the order given), mean of (fastest clock - its clock).
    pub lag_mean: Vec<f64>,
}

impl Drift {
    /// Drift of `clocks` (one tick series per VM, each in time order) on a
    /// grid from 0 to `end_s`; `None` without a VM or a grid point.
    pub fn on_grid(clocks: &[&[(f64, u64)]], end_s: f64, step_s: f64) -> Option<Drift> {
        if clocks.is_empty() || end_s.is_nan() || end_s < 0.0 || step_s.is_nan() || step_s <= 0.0 {
            return None;
        }
        let points = (end_s / step_s + 1e-9).floor() as usize + 1;
        let grid: Vec<f64> = (0..points).map(|k| k as f64 * step_s).collect();
        let sampled: Vec<Vec<u64>> = clocks.iter().map(|c| sample(c, &grid)).collect();
        let mut series = Vec::with_capacity(points);
        let mut lag_sum = vec![0u64; clocks.len()];
        for (k, &t) in grid.iter().enumerate() {
            let (lo, hi) = min_max(sampled.iter().map(|v| v[k]));
            series.push((t, hi - lo));
            for (sum, v) in lag_sum.iter_mut().zip(&sampled) {
                *sum += hi - v[k];
            }
        }
        let values: Vec<f64> = series.iter().map(|&(_, d)| d as f64).collect();
        Some(Drift {
            step_s,
            mean: values.iter().sum::<f64>() / points as f64,
            max: series.iter().map(|&(_, d)| d).max().unwrap_or(0),
            growth_per_min: slope(&grid, &values) * 60.0,
            lag_mean: lag_sum.iter().map(|&s| s as f64 / points as f64).collect(),
            series,
        })
    }
}

/// The clock of a tick series at each grid time (grid ascending).
fn sample(clock: &[(f64, u64)], grid: &[f64]) -> Vec<u64> {
    let mut i = 0;
    let mut current = 0;
    grid.iter()
        .map(|&t| {
            while i < clock.len() && clock[i].0 <= t {
                current = clock[i].1;
                i += 1;
            }
            current
        })
        .collect()
}

fn min_max(values: impl Iterator<Item = u64>) -> (u64, u64) {
    values.fold((u64::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// Least-squares slope of `ys` over `xs`; 0 with fewer than two distinct xs.
pub fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len().min(ys.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
    }
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_and_lag_on_a_grid() {
        let a = [(0.0, 1), (0.15, 2), (0.35, 3)];
        let b = [(0.05, 1), (0.25, 5)];
        let d = Drift::on_grid(&[&a, &b], 0.4, 0.1).unwrap();
        // At 0, .1, .2, .3, .4: a = 1 1 2 2 3, b = 0 1 1 5 5.
        let drift: Vec<u64> = d.series.iter().map(|p| p.1).collect();
        assert_eq!(drift, vec![1, 0, 1, 3, 2]);
        assert!((d.mean - 1.4).abs() < 1e-9 && d.max == 3);
        assert!(
            (d.growth_per_min - 300.0).abs() < 1e-6,
            "{}",
            d.growth_per_min
        );
        assert!((d.lag_mean[0] - 1.0).abs() < 1e-9 && (d.lag_mean[1] - 0.4).abs() < 1e-9);
        assert_eq!(Drift::on_grid(&[], 1.0, 0.1), None);
        assert_eq!(Drift::on_grid(&[&a], -1.0, 0.1), None);
    }

    #[test]
    fn slope_is_least_squares() {
        assert!((slope(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]) - 2.0).abs() < 1e-12);
        assert_eq!(slope(&[1.0], &[4.0]), 0.0);
        assert_eq!(slope(&[2.0, 2.0], &[1.0, 3.0]), 0.0);
    }
}
