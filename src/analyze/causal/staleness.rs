//! Staleness: how far behind each VM's knowledge of every other VM is, in
//! events and in seconds, sampled on the drift grid ([`Staleness`]). Pure.

use super::vclock::VectorClocks;

/// How stale VM i's knowledge of VM j is at a time t: j's own event count at
/// t minus i's vector entry for j at t (from i's last event at or before t),
/// in events; and its age, t minus the time of j's event number `V_i[j]` (the
/// run's start when i knows none of j's events). Both are taken at 0 when
/// host clock skew would make them negative.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stale {
    pub mean_events: f64,
    pub max_events: u64,
    pub mean_age_s: f64,
    pub max_age_s: f64,
}

/// Staleness sampled on a wall-time grid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Staleness {
    /// Grid spacing, seconds (the drift grid's).
    pub step_s: f64,
    /// Grid points sampled.
    pub samples: usize,
    /// `matrix[i][j]`: VM index i's knowledge of VM index j (`None` when i = j).
    pub matrix: Vec<Vec<Option<Stale>>>,
    /// Per VM i, over the other VMs: mean of the means, max of the maxima.
    pub per_vm: Vec<Stale>,
    /// Per VM i: (seconds since start, mean staleness over the other VMs, events).
    pub series: Vec<Vec<(f64, f64)>>,
}

/// Running sums for one (i, j).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct StaleSum {
    events: u64,
    max_events: u64,
    age_us: i64,
    max_age_us: i64,
}

impl VectorClocks {
    /// Staleness every `step_s` seconds from `start_us` to `end_us`; `None`
    /// with fewer than two VMs or no grid point.
    pub fn staleness(&self, start_us: i64, end_us: i64, step_s: f64) -> Option<Staleness> {
        let step_us = (step_s * 1e6).round() as i64;
        if self.n() < 2 || end_us < start_us || step_us <= 0 {
            return None;
        }
        let n = self.n();
        let mut sums = vec![StaleSum::default(); n * n];
        let mut series = vec![Vec::new(); n];
        let mut seen = vec![0usize; n];
        let samples = ((end_us - start_us) / step_us + 1) as usize;
        for k in 0..samples {
            let t = start_us + k as i64 * step_us;
            self.seen_by(t, &mut seen);
            let means = self.sample(t, start_us, &seen, &mut sums);
            for (s, m) in series.iter_mut().zip(means) {
                s.push(((t - start_us) as f64 / 1e6, m));
            }
        }
        Some(summarize(&sums, n, samples, step_s, series))
    }

    /// For each VM, how many of its events happened at or before `t`.
    fn seen_by(&self, t: i64, seen: &mut [usize]) {
        for (i, s) in seen.iter_mut().enumerate() {
            while *s < self.count(i) && self.time_us[self.first[i] + *s] <= t {
                *s += 1;
            }
        }
    }

    /// Adds one grid point to `sums`; returns each VM's mean staleness there.
    fn sample(&self, t: i64, start_us: i64, seen: &[usize], sums: &mut [StaleSum]) -> Vec<f64> {
        let n = self.n();
        let mut means = vec![0.0; n];
        for (i, mean) in means.iter_mut().enumerate() {
            let known = |j: usize| match seen[i] {
                0 => 0,
                s => self.entry(self.first[i] + s - 1, j),
            };
            let mut total = 0;
            for j in (0..n).filter(|&j| j != i) {
                let (events, age_us) = self.stale(j, known(j), seen[j], t, start_us);
                sums[i * n + j].add(events, age_us);
                total += events;
            }
            *mean = total as f64 / (n - 1) as f64;
        }
        means
    }

    /// Staleness of a view of VM j that knows its first `known` events, at
    /// `t`, when j has made `seen` events.
    fn stale(&self, j: usize, known: usize, seen: usize, t: i64, start_us: i64) -> (u64, i64) {
        let since = match known {
            0 => start_us,
            k => self.time_us[self.first[j] + k - 1],
        };
        (seen.saturating_sub(known) as u64, (t - since).max(0))
    }
}

impl StaleSum {
    pub(super) fn add(&mut self, events: u64, age_us: i64) {
        self.events += events;
        self.max_events = self.max_events.max(events);
        self.age_us += age_us;
        self.max_age_us = self.max_age_us.max(age_us);
    }

    pub(super) fn mean(&self, samples: usize) -> Stale {
        let s = samples.max(1) as f64;
        Stale {
            mean_events: self.events as f64 / s,
            max_events: self.max_events,
            mean_age_s: self.age_us as f64 / 1e6 / s,
            max_age_s: self.max_age_us as f64 / 1e6,
        }
    }
}

fn summarize(
    sums: &[StaleSum],
    n: usize,
    samples: usize,
    step_s: f64,
    series: Vec<Vec<(f64, f64)>>,
) -> Staleness {
    let matrix: Vec<Vec<Option<Stale>>> = (0..n)
        .map(|i| {
            let row = (0..n).map(|j| (i != j).then(|| sums[i * n + j].mean(samples)));
            row.collect()
        })
        .collect();
    let per_vm = matrix.iter().map(|row| over_peers(row)).collect();
    Staleness {
        step_s,
        samples,
        matrix,
        per_vm,
        series,
    }
}

/// Means of the means and maxima of the maxima over a row of the matrix.
pub(super) fn over_peers(row: &[Option<Stale>]) -> Stale {
    let peers: Vec<&Stale> = row.iter().flatten().collect();
    let k = peers.len().max(1) as f64;
    Stale {
        mean_events: peers.iter().map(|s| s.mean_events).sum::<f64>() / k,
        max_events: peers.iter().map(|s| s.max_events).max().unwrap_or(0),
        mean_age_s: peers.iter().map(|s| s.mean_age_s).sum::<f64>() / k,
        max_age_s: peers.iter().map(|s| s.max_age_s).fold(0.0, f64::max),
    }
}
