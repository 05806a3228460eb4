//! Each distribution against its declaration: 2000 draws, a
//! Kolmogorov–Smirnov statistic against the exact CDF of the rounded and
//! clamped lengths, and the same draws against a wrong declaration.

use super::*;
use statrs::distribution::{ContinuousCDF, LogNormal as SLogNormal, Normal as SNormal};

const N: usize = 2000;
/// Kolmogorov's critical value at α = 0.01 for n = 2000 (1.628 / √n);
/// conservative for a discrete distribution.
const CRITICAL: f64 = 1.628 / 44.721_359_549_995_79;

fn draws(l: &Length) -> Vec<u64> {
    (0..N).map(|i| l.draw(42, 3, i, 0)).collect()
}

/// P(length ≤ k) of `d` as drawn: rounded to the nearest whole token, then clamped.
fn cdf(d: &Dist, k: u64) -> f64 {
    let (lo, hi) = d.clamps();
    if k < lo {
        return 0.0;
    }
    if k >= hi {
        return 1.0;
    }
    let x = k as f64 + 0.5;
    match d {
        Dist::Uniform { min, max } => {
            ((k.saturating_sub(*min) + 1) as f64 / (max - min + 1) as f64).min(1.0)
        }
        Dist::Normal { mean, sd, .. } => SNormal::new(*mean, *sd).unwrap().cdf(x),
        Dist::Lognormal { mean, sd, .. } => {
            let (mu, sigma) = lognormal_params(*mean, *sd);
            SLogNormal::new(mu, sigma).unwrap().cdf(x)
        }
        Dist::Empirical {
            values, weights, ..
        } => {
            let w = weights.clone().unwrap_or_else(|| vec![1.0; values.len()]);
            let total: f64 = w.iter().sum();
            let below: f64 = values
                .iter()
                .zip(&w)
                .filter(|(v, _)| (**v).clamp(lo, hi) <= k)
                .map(|(_, w)| w)
                .sum();
            below / total
        }
    }
}

/// sup |F_n − F| over the integers where either can jump.
fn ks(sample: &[u64], d: &Dist) -> f64 {
    let mut sorted = sample.to_vec();
    sorted.sort_unstable();
    let (first, last) = (sorted[0], sorted[sorted.len() - 1]);
    let mut worst: f64 = 0.0;
    for k in first.saturating_sub(1)..=last {
        let at_or_below = sorted.partition_point(|&v| v <= k);
        let f_n = at_or_below as f64 / sorted.len() as f64;
        worst = worst.max((f_n - cdf(d, k)).abs());
    }
    worst
}

fn dist(yaml: &str) -> Dist {
    match serde_yaml::from_str::<Length>(yaml).unwrap() {
        Length::Dist(d) => d,
        Length::Fixed(_) => panic!("{yaml} is not a distribution"),
    }
}

#[test]
fn every_distribution_draws_what_it_declares() {
    let cases = [
        (
            "{dist: uniform, min: 20, max: 400}",
            "{dist: uniform, min: 30, max: 400}",
        ),
        (
            "{dist: normal, mean: 120, sd: 40, min: 1, max: 512}",
            "{dist: normal, mean: 126, sd: 40, min: 1, max: 512}",
        ),
        (
            "{dist: lognormal, mean: 300, sd: 150, min: 16, max: 2048}",
            "{dist: lognormal, mean: 320, sd: 150, min: 16, max: 2048}",
        ),
        // Clamps that bite: a quarter of the mass piles up on each end.
        (
            "{dist: normal, mean: 100, sd: 30, min: 80, max: 120}",
            "{dist: normal, mean: 100, sd: 30, min: 85, max: 120}",
        ),
        (
            "{dist: empirical, values: [64, 128, 512, 2048], weights: [4, 3, 2, 1], max: 1024}",
            "{dist: empirical, values: [64, 128, 512, 2048], weights: [3, 3, 2, 1], max: 1024}",
        ),
    ];
    for (declared, wrong) in cases {
        let d = dist(declared);
        let sample = draws(&Length::Dist(d.clone()));
        let (lo, hi) = d.clamps();
        assert!(
            sample.iter().all(|v| (lo..=hi).contains(v)),
            "{declared}: a draw outside its clamps"
        );
        let fit = ks(&sample, &d);
        assert!(fit < CRITICAL, "{declared}: D = {fit:.4} ≥ {CRITICAL:.4}");
        // The test can fail: the same draws refute a slightly different declaration.
        let misfit = ks(&sample, &dist(wrong));
        assert!(
            misfit > CRITICAL,
            "{declared} vs {wrong}: D = {misfit:.4} does not refute"
        );
    }
}

#[test]
fn lognormal_is_of_the_lengths_not_their_logarithm() {
    let l = Length::Dist(dist("{dist: lognormal, mean: 300, sd: 150}"));
    let s = draws(&l);
    let mean = s.iter().sum::<u64>() as f64 / N as f64;
    let sd = (s.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / (N - 1) as f64).sqrt();
    assert!((mean - 300.0).abs() < 15.0, "mean {mean}");
    assert!((sd - 150.0).abs() < 20.0, "sd {sd}");
}

#[test]
fn draws_are_seeded_per_request() {
    let l = Length::Dist(dist("{dist: normal, mean: 100, sd: 30}"));
    assert_eq!(l.draw(1, 2, 3, 0), l.draw(1, 2, 3, 0));
    let differ = (0..50)
        .filter(|i| l.draw(1, 2, *i, 0) != l.draw(2, 2, *i, 0))
        .count();
    assert!(differ > 40, "another seed draws other lengths");
    let streams = (0..50)
        .filter(|i| l.draw(1, 2, *i, 0) != l.draw(1, 2, *i, 1))
        .count();
    assert!(streams > 40, "input and output lengths are drawn apart");
    assert_eq!(Length::Fixed(7).draw(1, 2, 3, 0), 7);
}

#[test]
fn bad_lengths_say_what_is_wrong() {
    let err = |y: &str| {
        serde_yaml::from_str::<Length>(y)
            .map_or_else(|e| e.to_string(), |l| l.check().unwrap_err().to_string())
    };
    assert!(
        err("{dist: normal, mean: 100}").contains("sd"),
        "{}",
        err("{dist: normal, mean: 100}")
    );
    assert!(err("{dist: poisson, mean: 3}").contains("poisson"));
    assert!(err("{dist: uniform, min: 1, max: 9, sd: 2}").contains("sd"));
    assert!(err("{dist: uniform, min: 9, max: 1}").contains("above max"));
    assert!(err("{dist: normal, mean: 100, sd: 0}").contains("sd is 0"));
    assert!(
        err("{dist: empirical, values: [1, 2], weights: [1]}").contains("1 weights for 2 values")
    );
    assert!(err("{dist: lognormal, mean: 100, sd: 5, min: 50, max: 10}").contains("above max"));
    assert!(err("0").contains("0 tokens"));
    assert!(err("-3").contains("-3"));
}
