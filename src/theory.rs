//! What the model predicts from the rates and the die alone
//! (docs/log-format.md, section 1), to set beside what the logs show: each
//! VM's message arrival rate, the share of its ticks spent receiving, how
//! fast its queue grows, its logical clock rate and its mean clock jump per
//! tick. Pure arithmetic.
//!
//! The reasoning (NOTEBOOK.md "Predict, then measure"):
//! - A VM rolls only on ticks whose queue is empty. One roll of a `K`-sided die
//!   sends to a given peer with probability `p`: `3/K` with 2 VMs (every send
//!   goes to the only peer), `2/K` with 3 (roll 1 or 2 names it, roll 3 is
//!   everyone), `1/K + 2/(K (N-1))` with N > 3 (roll 3, or roll 1 or 2 picking
//!   it among N-1).
//! - VM i's arrival rate is `lambda_i = sum over j != i of r_j (1 - rho_j) p`,
//!   where `rho_j = min(1, lambda_j / r_j)` is the share of j's ticks that
//!   receive (in a stable queue, throughput equals arrivals). A fixed point.
//! - If `lambda_i > r_i` the queue grows by `lambda_i - r_i` messages a second,
//!   without bound.
//! - Logical time advances at the fastest rate `c = max r`: the fastest VM
//!   adds one per tick and rarely jumps. A VM that keeps up is pulled along
//!   at `c`, so its mean jump is `c / r_i`. A VM whose queue grows handles at
//!   time t the message that arrived at `t r_i / lambda_i`, so its clock
//!   runs at `c r_i / lambda_i`, but never slower than one per tick.

/// One VM's predicted behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub vm: u32,
    /// Ticks per second.
    pub rate: f64,
    /// Messages arriving per second.
    pub arrival: f64,
    /// Share of ticks that receive a message (0..=1).
    pub busy: f64,
    /// Queue growth in messages per second (0 when the VM keeps up).
    pub queue_growth: f64,
    /// Logical clock units per second.
    pub clock_rate: f64,
    /// Mean clock increase per tick.
    pub mean_jump: f64,
}

/// The probability that one roll of a VM sends to one given peer.
pub fn p_to_peer(vms: usize, event_range: u32) -> f64 {
    let k = f64::from(event_range.max(1));
    match vms {
        0..=2 => 3.0 / k,
        3 => 2.0 / k,
        n => 1.0 / k + 2.0 / (k * (n - 1) as f64),
    }
}

/// Predictions for a run of VMs `(id, rate)` with a die of `event_range` sides.
pub fn predict(vms: &[(u32, u32)], event_range: u32) -> Vec<Prediction> {
    let rates: Vec<f64> = vms.iter().map(|&(_, r)| f64::from(r.max(1))).collect();
    let p = p_to_peer(vms.len(), event_range);
    let busy = solve_busy(&rates, p);
    let c = rates.iter().copied().fold(0.0, f64::max);
    vms.iter()
        .zip(rates.iter().zip(&busy))
        .enumerate()
        .map(|(i, (&(vm, _), (&r, &rho)))| {
            let arrival = arrival_at(i, &rates, &busy, p);
            let clock_rate = if arrival > r {
                (c * r / arrival).max(r)
            } else {
                c
            };
            Prediction {
                vm,
                rate: r,
                arrival,
                busy: rho,
                queue_growth: (arrival - r).max(0.0),
                clock_rate,
                mean_jump: clock_rate / r,
            }
        })
        .collect()
}

fn arrival_at(i: usize, rates: &[f64], busy: &[f64], p: f64) -> f64 {
    (0..rates.len())
        .filter(|&j| j != i)
        .map(|j| rates[j] * (1.0 - busy[j]) * p)
        .sum()
}

/// The fixed point `rho_i = min(1, lambda_i(rho) / r_i)`, by damped iteration.
fn solve_busy(rates: &[f64], p: f64) -> Vec<f64> {
    let mut busy = vec![0.0; rates.len()];
    for _ in 0..2000 {
        let next: Vec<f64> = (0..rates.len())
            .map(|i| (arrival_at(i, rates, &busy, p) / rates[i]).min(1.0))
            .collect();
        let change = busy
            .iter()
            .zip(&next)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        for (b, n) in busy.iter_mut().zip(next) {
            *b = 0.5 * *b + 0.5 * n;
        }
        if change < 1e-12 {
            break;
        }
    }
    busy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn probabilities_follow_the_roll_rules() {
        assert!(close(p_to_peer(2, 10), 0.3));
        assert!(close(p_to_peer(3, 10), 0.2));
        // 5 VMs: roll 3 (1/10) plus roll 1 or 2 choosing this peer of 4 (2/10 x 1/4).
        assert!(close(p_to_peer(5, 10), 0.15));
    }

    #[test]
    fn equal_rates_share_the_load_evenly() {
        // Symmetric: rho = 2 x 0.2 x (1 - rho), so rho = 0.4 / 1.4.
        let p = predict(&[(1, 5), (2, 5), (3, 5)], 10);
        let rho = 0.4 / 1.4;
        for v in &p {
            assert!(close(v.busy, rho), "{v:?}");
            assert!(close(v.arrival, 5.0 * rho), "{v:?}");
            assert_eq!(v.queue_growth, 0.0);
            assert!(close(v.mean_jump, 1.0));
        }
    }

    #[test]
    fn a_slow_vm_among_fast_ones_drowns() {
        // Rates 1, 6, 6, all rolls send: the fast VMs are busy 0.4 of their
        // ticks, each sends 6 x 0.6 x 2/3 = 2.4 messages/s to VM 1.
        let p = predict(&[(1, 1), (2, 6), (3, 6)], 3);
        assert!(close(p[1].busy, 0.4) && close(p[2].busy, 0.4), "{p:?}");
        assert!(close(p[0].arrival, 4.8), "{p:?}");
        assert!(close(p[0].queue_growth, 3.8), "{p:?}");
        assert!(close(p[0].busy, 1.0), "{p:?}");
        // It handles at t what arrived at t/4.8: clock rate 6/4.8 = 1.25.
        assert!(close(p[0].clock_rate, 1.25), "{p:?}");
        assert!(close(p[1].mean_jump, 1.0));
    }

    #[test]
    fn a_vm_that_keeps_up_jumps_by_the_rate_ratio() {
        let p = predict(&[(1, 2), (2, 6), (3, 6)], 10);
        assert_eq!(p[0].queue_growth, 0.0, "{p:?}");
        assert!(close(p[0].mean_jump, 3.0), "{p:?}");
        assert!(p.iter().all(|v| v.busy < 1.0));
    }
}
