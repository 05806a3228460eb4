//! The interval on a capacity: a bootstrap over trials. Each replicate
//! resamples, within every probe, as many trials as it has (with
//! replacement), refits the monotone curves over all probes and takes
//! their crossing; the interval is the replicates' percentiles at
//! (1 − confidence)/2 and (1 + confidence)/2.
//!
//! A probe holds few trials (2 by default), and resampling n values
//! shrinks their variance by (n − 1)/n; each resampled trial's deviation
//! from its probe's mean is scaled by √(n/(n − 1)) to undo it (the
//! small-sample correction of Davison & Hinkley, *Bootstrap Methods and
//! their Application*, 1997, §3.2.1, eq. 3.13).

use super::{fit, Probe};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Replicates per interval: 1000 is Efron & Tibshirani's advice for
/// percentile intervals (*An Introduction to the Bootstrap*, §19.3).
pub const REPLICATES: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// A capacity, its interval and the replicates it came from (for the
/// difference of two capacities).
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub fit: fit::Fit,
    pub interval: Interval,
    pub replicates: Vec<f64>,
}

/// `p`-quantile of sorted values, linear between closest ranks.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - h.floor()) * (sorted[hi] - sorted[lo])
}

fn percentiles(mut values: Vec<f64>, confidence: f64) -> Interval {
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Interval {
        low: quantile(&values, tail),
        high: quantile(&values, 1.0 - tail),
    }
}

/// One probe's trials resampled with the small-sample correction.
fn resample(p: &Probe, rng: &mut StdRng) -> Probe {
    let n = p.trials.len();
    if n < 2 {
        return p.clone();
    }
    let k = p.trials[0].len();
    let mean: Vec<f64> = (0..k)
        .map(|j| p.trials.iter().map(|t| t[j]).sum::<f64>() / n as f64)
        .collect();
    let scale = (n as f64 / (n as f64 - 1.0)).sqrt();
    let trials = (0..n)
        .map(|_| {
            let t = &p.trials[rng.random_range(0..n)];
            (0..k).map(|j| mean[j] + scale * (t[j] - mean[j])).collect()
        })
        .collect();
    Probe::new(p.load, trials)
}

/// The capacity over `probes` with its `confidence` interval, from
/// `seed`; `None` without a trial.
pub fn bootstrap(
    probes: &[Probe],
    objectives: usize,
    confidence: f64,
    seed: u64,
) -> Option<Estimate> {
    let point = fit::fit(probes, objectives)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let replicates: Vec<f64> = (0..REPLICATES)
        .map(|_| {
            let again: Vec<Probe> = probes.iter().map(|p| resample(p, &mut rng)).collect();
            fit::fit(&again, objectives).map_or(point.capacity, |f| f.capacity)
        })
        .collect();
    let interval = percentiles(replicates.clone(), confidence);
    Some(Estimate {
        fit: point,
        interval,
        replicates,
    })
}

/// `b − a` and its interval: the two searches ran apart, so their
/// replicates pair up independently, replicate by replicate.
pub fn difference(a: &Estimate, b: &Estimate, confidence: f64) -> (f64, Interval) {
    let diffs: Vec<f64> = a
        .replicates
        .iter()
        .zip(&b.replicates)
        .map(|(x, y)| y - x)
        .collect();
    (
        b.fit.capacity - a.fit.capacity,
        percentiles(diffs, confidence),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_as_numpy_does() {
        // numpy.quantile([1, 2, 3, 4], 0.25) = 1.75 (linear, the default).
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
        assert_eq!(quantile(&[5.0], 0.9), 5.0);
    }

    #[test]
    fn a_noiseless_search_has_a_point_interval_and_noise_widens_it() {
        let exact = [
            Probe::new(4.0, vec![vec![0.1], vec![0.1]]),
            Probe::new(16.0, vec![vec![-0.1], vec![-0.1]]),
        ];
        let e = bootstrap(&exact, 1, 0.95, 1).unwrap();
        assert!((e.interval.low - 8.0).abs() < 1e-9 && (e.interval.high - 8.0).abs() < 1e-9);
        let noisy = [
            Probe::new(4.0, vec![vec![0.2], vec![0.0]]),
            Probe::new(16.0, vec![vec![-0.2], vec![0.0]]),
        ];
        let e = bootstrap(&noisy, 1, 0.95, 1).unwrap();
        assert!(
            e.interval.low < 8.0 && e.interval.high > 8.0,
            "{:?}",
            e.interval
        );
        let (d, i) = difference(&e, &e, 0.95);
        assert_eq!(d, 0.0);
        assert!(i.low <= 0.0 && i.high >= 0.0);
    }
}
