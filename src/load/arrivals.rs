//! Open-loop arrival times, drawn up front from the seed so that two runs of
//! one experiment send at the same offsets: exponential gaps (Poisson
//! arrivals), gamma gaps (shape = burstiness, the same mean), or a constant
//! gap. The first request goes at 0.

use crate::experiment::LoadKind;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp, Gamma};
use std::time::Duration;

/// At most this many arrivals per trial, whatever rate × duration says.
pub const MAX_ARRIVALS: usize = 10_000_000;

/// A trial's own stream: the experiment's seed mixed with the trial index,
/// so trials differ from each other but not between runs.
pub fn trial_seed(seed: u64, trial: usize) -> u64 {
    seed ^ (trial as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Offsets from the trial's start, in seconds, ascending: `count` of them,
/// or as many as fall before `duration`, whichever is fewer.
pub fn offsets(
    kind: LoadKind,
    rate: f64,
    burstiness: f64,
    count: Option<usize>,
    duration: Option<Duration>,
    seed: u64,
) -> Vec<f64> {
    let limit = count.unwrap_or(MAX_ARRIVALS).min(MAX_ARRIVALS);
    let end = duration.map_or(f64::INFINITY, |d| d.as_secs_f64());
    let mut rng = StdRng::seed_from_u64(seed);
    let exp = Exp::new(rate).ok();
    // Shape k and scale 1/(k·rate) keep the mean gap at 1/rate.
    let gamma = Gamma::new(burstiness, 1.0 / (burstiness * rate)).ok();
    let mut gap = || match kind {
        LoadKind::Poisson => exp.map_or(1.0 / rate, |d| d.sample(&mut rng)),
        LoadKind::Gamma => gamma.map_or(1.0 / rate, |d| d.sample(&mut rng)),
        LoadKind::Constant | LoadKind::Closed => 1.0 / rate,
    };
    let mut out = Vec::new();
    let mut t = 0.0;
    while out.len() < limit && t < end {
        out.push(t);
        t += gap();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_and_cv(offsets: &[f64]) -> (f64, f64) {
        let gaps: Vec<f64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
        let n = gaps.len() as f64;
        let mean = gaps.iter().sum::<f64>() / n;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var.sqrt() / mean)
    }

    #[test]
    fn the_same_seed_gives_the_same_offsets() {
        let a = offsets(LoadKind::Poisson, 50.0, 1.0, Some(100), None, 7);
        let b = offsets(LoadKind::Poisson, 50.0, 1.0, Some(100), None, 7);
        let c = offsets(LoadKind::Poisson, 50.0, 1.0, Some(100), None, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a[0], 0.0);
        assert!(a.windows(2).all(|w| w[1] > w[0]));
        assert_ne!(trial_seed(7, 0), trial_seed(7, 1));
    }

    #[test]
    fn gaps_have_the_distributions_mean_and_spread() {
        // Exponential: mean 1/rate, CV 1. Gamma shape k: CV 1/√k. Constant: CV 0.
        let (m, cv) = mean_and_cv(&offsets(
            LoadKind::Poisson,
            100.0,
            1.0,
            Some(20_000),
            None,
            1,
        ));
        assert!(
            (m - 0.01).abs() < 0.0005 && (cv - 1.0).abs() < 0.05,
            "{m} {cv}"
        );
        let (m, cv) = mean_and_cv(&offsets(
            LoadKind::Gamma,
            100.0,
            0.25,
            Some(20_000),
            None,
            1,
        ));
        assert!(
            (m - 0.01).abs() < 0.0005 && (cv - 2.0).abs() < 0.1,
            "{m} {cv}"
        );
        let (m, cv) = mean_and_cv(&offsets(LoadKind::Constant, 100.0, 1.0, Some(100), None, 1));
        assert!((m - 0.01).abs() < 1e-12 && cv < 1e-9, "{m} {cv}");
    }

    #[test]
    fn a_duration_ends_the_schedule() {
        let o = offsets(
            LoadKind::Constant,
            10.0,
            1.0,
            None,
            Some(Duration::from_secs(2)),
            1,
        );
        assert_eq!(o.len(), 20);
        assert!(*o.last().unwrap() < 2.0);
        let o = offsets(
            LoadKind::Constant,
            10.0,
            1.0,
            Some(5),
            Some(Duration::from_secs(2)),
            1,
        );
        assert_eq!(o.len(), 5);
    }
}
