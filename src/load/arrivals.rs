//! Open-loop arrival times, drawn up front from the seed so that two runs of
//! one experiment send at the same offsets: exponential gaps (Poisson
//! arrivals), gamma gaps (shape = burstiness, the same mean), a constant
//! gap, or a linear ramp of the rate. The first request goes at 0.

use super::Arrivals;
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
    arrivals: &Arrivals,
    count: Option<usize>,
    duration: Option<Duration>,
    seed: u64,
) -> Vec<f64> {
    let limit = count.unwrap_or(MAX_ARRIVALS).min(MAX_ARRIVALS);
    let end = duration.map_or(f64::INFINITY, |d| d.as_secs_f64());
    let mut next = schedule(arrivals, seed);
    let mut out = Vec::new();
    let mut t = 0.0;
    while out.len() < limit && t < end {
        out.push(t);
        t = next(out.len());
    }
    out
}

/// The time of arrival `k` (k ≥ 1), given that k − 1 went before.
fn schedule(arrivals: &Arrivals, seed: u64) -> Box<dyn FnMut(usize) -> f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut t = 0.0;
    // Each distribution falls back to the mean gap where its parameters
    // are out of range (validation refuses them first).
    let mut gaps = move |draw: &mut dyn FnMut(&mut StdRng) -> f64| {
        t += draw(&mut rng);
        t
    };
    match *arrivals {
        Arrivals::Poisson { rate } => {
            let exp = Exp::new(rate).ok();
            Box::new(move |_| gaps(&mut |rng| exp.map_or(1.0 / rate, |d| d.sample(rng))))
        }
        Arrivals::Gamma { rate, burstiness } => {
            // Shape k and scale 1/(k·rate) keep the mean gap at 1/rate.
            let gamma = Gamma::new(burstiness, 1.0 / (burstiness * rate)).ok();
            Box::new(move |_| gaps(&mut |rng| gamma.map_or(1.0 / rate, |d| d.sample(rng))))
        }
        Arrivals::Constant { rate } => Box::new(move |_| gaps(&mut |_| 1.0 / rate)),
        Arrivals::Ramp { from, to, over } => {
            let over = over.as_secs_f64();
            Box::new(move |k| ramp_time(from, to, over, k as f64))
        }
    }
}

/// When a rate λ(t) = from + (to − from)·t / over (t < over; `to` after)
/// has made `k` requests due: the t with Λ(t) = ∫₀ᵗ λ = k, where
/// Λ(t) = from·t + (to − from)·t² / (2·over) up to `over`, then
/// Λ(over) + to·(t − over). The root of the quadratic is written
/// 2k / (b + √(b² + 4ak)) so a flat or falling ramp stays exact.
pub fn ramp_time(from: f64, to: f64, over: f64, k: f64) -> f64 {
    let due_by_over = (from + to) * over / 2.0;
    if k <= 0.0 {
        return 0.0;
    }
    if over <= 0.0 || k > due_by_over {
        return over.max(0.0) + (k - due_by_over.max(0.0)) / to;
    }
    let a = (to - from) / (2.0 * over);
    2.0 * k / (from + (from * from + 4.0 * a * k).max(0.0).sqrt())
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
        let a = offsets(&Arrivals::Poisson { rate: 50.0 }, Some(100), None, 7);
        let b = offsets(&Arrivals::Poisson { rate: 50.0 }, Some(100), None, 7);
        let c = offsets(&Arrivals::Poisson { rate: 50.0 }, Some(100), None, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a[0], 0.0);
        assert!(a.windows(2).all(|w| w[1] > w[0]));
        assert_ne!(trial_seed(7, 0), trial_seed(7, 1));
    }

    #[test]
    fn gaps_have_the_distributions_mean_and_spread() {
        // Exponential: mean 1/rate, CV 1. Gamma shape k: CV 1/√k. Constant: CV 0.
        let poisson = Arrivals::Poisson { rate: 100.0 };
        let (m, cv) = mean_and_cv(&offsets(&poisson, Some(20_000), None, 1));
        assert!(
            (m - 0.01).abs() < 0.0005 && (cv - 1.0).abs() < 0.05,
            "{m} {cv}"
        );
        let gamma = Arrivals::Gamma {
            rate: 100.0,
            burstiness: 0.25,
        };
        let (m, cv) = mean_and_cv(&offsets(&gamma, Some(20_000), None, 1));
        assert!(
            (m - 0.01).abs() < 0.0005 && (cv - 2.0).abs() < 0.1,
            "{m} {cv}"
        );
        let constant = Arrivals::Constant { rate: 100.0 };
        let (m, cv) = mean_and_cv(&offsets(&constant, Some(100), None, 1));
        assert!((m - 0.01).abs() < 1e-12 && cv < 1e-9, "{m} {cv}");
    }

    #[test]
    fn a_duration_ends_the_schedule() {
        let constant = Arrivals::Constant { rate: 10.0 };
        let o = offsets(&constant, None, Some(Duration::from_secs(2)), 1);
        assert_eq!(o.len(), 20);
        assert!(*o.last().unwrap() < 2.0);
        let o = offsets(&constant, Some(5), Some(Duration::from_secs(2)), 1);
        assert_eq!(o.len(), 5);
    }

    /// The ramp's schedule against its formula: arrival k sits where the
    /// integral of the rate reaches k, during the ramp and after it, for
    /// rising, falling and flat ramps, and from a standing start.
    #[test]
    fn a_ramp_sends_arrival_k_when_k_requests_are_due() {
        let due = |from: f64, to: f64, over: f64, t: f64| {
            let r = t.min(over);
            from * r + (to - from) * r * r / (2.0 * over) + to * (t - over).max(0.0)
        };
        for (from, to) in [(1.0, 9.0), (8.0, 2.0), (5.0, 5.0), (0.0, 4.0)] {
            let ramp = Arrivals::Ramp {
                from,
                to,
                over: Duration::from_secs(10),
            };
            let o = offsets(&ramp, Some(80), None, 3);
            assert_eq!(o.len(), 80);
            for (k, t) in o.iter().enumerate() {
                let got = due(from, to, 10.0, *t);
                assert!(
                    (got - k as f64).abs() < 1e-9,
                    "{from}→{to}: k {k} at {t}: {got}"
                );
            }
        }
        // Hand-worked: 1 → 9 req/s over 10 s makes Λ(t) = t + 0.4 t²;
        // arrival 5 at (−1 + √(1 + 8)) / 0.8 = 2.5 s; 50 due by 10 s.
        let ramp = Arrivals::Ramp {
            from: 1.0,
            to: 9.0,
            over: Duration::from_secs(10),
        };
        let o = offsets(&ramp, None, Some(Duration::from_secs(12)), 0);
        assert!((o[5] - 2.5).abs() < 1e-12, "{}", o[5]);
        assert!((o[50] - 10.0).abs() < 1e-9, "{}", o[50]);
        // 18 more at 9/s in the last 2 s: 0..=67 fall before 12 s.
        assert_eq!(o.len(), 68);
        // Gaps shrink as the rate rises, then hold at 1/9 s.
        assert!(o[1] - o[0] > o[40] - o[39]);
        assert!((o[60] - o[59] - 1.0 / 9.0).abs() < 1e-9);
    }
}
