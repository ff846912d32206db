//! Distributions of figures: the one nearest-rank percentile, and [`Dist`]
//! (mean, p95, max) built on it. Used by the per-VM figures (`per_vm`) and by the
//! benchmark figures (`bench`). Pure functions, no IO.

/// The 1-based nearest rank of the `percent`-th percentile of `n` values:
/// ceil(percent / 100 x n), at least 1 and at most `n` (so 0 is the smallest
/// value and 100 the largest). Integer arithmetic: no rounding at the edges.
pub fn nearest_rank(n: usize, percent: u32) -> usize {
    (percent as usize * n).div_ceil(100).clamp(1, n.max(1))
}

/// The nearest-rank percentile of `sorted` (ascending): the smallest value
/// with at least `percent` percent of the values at or below it; `None` if
/// there are none.
pub fn percentile<T: Copy>(sorted: &[T], percent: u32) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[nearest_rank(sorted.len(), percent) - 1])
}

/// Mean, 95th percentile (nearest rank) and maximum of some values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dist {
    pub mean: f64,
    pub p95: f64,
    pub max: f64,
}

impl Dist {
    /// The distribution of `values` (sorted in place); `None` if there are none.
    pub fn of(values: &mut [f64]) -> Option<Dist> {
        values.sort_unstable_by(f64::total_cmp);
        let n = values.len();
        let max = *values.last()?;
        Some(Dist {
            mean: values.iter().sum::<f64>() / n as f64,
            p95: percentile(values, 95)?,
            max,
        })
    }

    /// The distribution of integer values given as (value, count) pairs.
    pub fn of_counts(counts: &[(u64, u64)]) -> Option<Dist> {
        let mut sorted = counts.to_vec();
        sorted.sort_unstable();
        let n: u64 = sorted.iter().map(|&(_, c)| c).sum();
        let max = sorted.iter().rev().find(|&&(_, c)| c > 0)?.0;
        let sum: f64 = sorted.iter().map(|&(v, c)| v as f64 * c as f64).sum();
        let rank = nearest_rank(n as usize, 95) as u64;
        let mut seen = 0;
        let p95 = sorted
            .iter()
            .find(|&&(_, c)| {
                seen += c;
                seen >= rank
            })
            .map_or(max, |&(v, _)| v);
        Some(Dist {
            mean: sum / n as f64,
            p95: p95 as f64,
            max: max as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p95_is_the_nearest_rank() {
        let mut v: Vec<f64> = (1..=20).map(f64::from).collect();
        v.reverse();
        let d = Dist::of(&mut v).unwrap();
        assert_eq!((d.mean, d.p95, d.max), (10.5, 19.0, 20.0));
        assert_eq!(Dist::of(&mut [5.0]).unwrap().p95, 5.0);
        assert_eq!(Dist::of(&mut []), None);
        let d = Dist::of_counts(&[(7, 1), (1, 18), (2, 1)]).unwrap();
        assert_eq!((d.mean, d.p95, d.max), (1.35, 2.0, 7.0));
        let d = Dist::of_counts(&[(1, 1), (3, 1)]).unwrap();
        assert_eq!((d.p95, d.max), (3.0, 3.0));
        assert_eq!(Dist::of_counts(&[]), None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 99), Some(99));
        assert_eq!(percentile(&v, 100), Some(100));
        assert_eq!(percentile(&[7], 99), Some(7));
        assert_eq!(percentile(&[1, 2], 50), Some(1));
        assert_eq!(percentile(&[1, 2], 51), Some(2));
        assert_eq!(percentile(&[1, 2, 3], 0), Some(1));
        assert_eq!(percentile::<i64>(&[], 50), None);
        // Where float arithmetic would round up a rank: 7% of 100 is rank 7.
        assert_eq!(percentile(&v, 7), Some(7));
        assert_eq!(nearest_rank(20, 95), 19);
        assert_eq!(nearest_rank(0, 95), 1);
    }
}
