//! The interval on a capacity: a residual bootstrap over trials. Each
//! replicate gives every probe as many trials as it has, each its probe's
//! mean plus a residual drawn with replacement from the probe's
//! neighbourhood (its own and its nearest probes' residuals, never less
//! spread than its own), refits the
//! monotone curves over all probes and takes their crossing; the interval
//! is the replicates' percentiles at (1 − confidence)/2 and
//! (1 + confidence)/2.
//!
//! Why the neighbourhood: a probe holds few trials (2 by default), and an
//! attainment's spread is lopsided (most trials meet the SLO, a few miss it
//! badly), so a probe's own trials often agree by chance and would lend it
//! no spread at all. Residuals are scaled by √(m/(m − g)) (m trials about
//! g means) so that their variance is unbiased (Davison & Hinkley,
//! *Bootstrap Methods and their Application*, 1997, §3.3, eq. 3.13's
//! leverage correction in its one-way form).

use super::search::GROWTH;
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
    /// The interval reported: the percentiles moved out to probed loads.
    pub interval: Interval,
    /// The replicates' percentiles themselves: where the next probes help.
    pub percentile: Interval,
    pub replicates: Vec<f64>,
}

/// `p`-quantile of sorted values, linear between closest ranks.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - h.floor()) * (sorted[hi] - sorted[lo])
}

pub(super) fn percentiles(mut values: Vec<f64>, confidence: f64) -> Interval {
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Interval {
        low: quantile(&values, tail),
        high: quantile(&values, 1.0 - tail),
    }
}

/// Probes whose residuals a probe borrows: itself and its nearest in
/// log-load, so that a probe whose few trials agree by chance still varies
/// as its neighbourhood does.
const NEIGHBOURS: usize = 4;

fn means(p: &Probe) -> Vec<f64> {
    let n = p.trials.len() as f64;
    let k = p.trials.first().map_or(0, Vec::len);
    (0..k)
        .map(|j| p.trials.iter().map(|t| t[j]).sum::<f64>() / n)
        .collect()
}

/// Each probe's pool: the residuals (trial − its probe's mean) of the
/// `NEIGHBOURS` probes nearest in log-load, scaled by √(m / (m − g)) for
/// the g means estimated from their m trials, so the pool's variance is
/// unbiased.
pub(super) fn pools(probes: &[Probe]) -> Vec<Vec<Vec<f64>>> {
    let centred: Vec<Vec<Vec<f64>>> = probes
        .iter()
        .map(|p| {
            let mean = means(p);
            let residual = |t: &Vec<f64>| t.iter().zip(&mean).map(|(x, m)| x - m).collect();
            p.trials.iter().map(residual).collect()
        })
        .collect();
    probes
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let mut near: Vec<usize> = (0..probes.len()).collect();
            near.sort_by(|&a, &b| {
                let d = |i: usize| (probes[i].load.ln() - p.load.ln()).abs();
                d(a).total_cmp(&d(b))
            });
            near.truncate(NEIGHBOURS);
            let m: usize = near.iter().map(|&i| centred[i].len()).sum();
            let g = near.iter().filter(|&&i| !centred[i].is_empty()).count();
            let scale = if m > g {
                (m as f64 / (m - g) as f64).sqrt()
            } else {
                0.0
            };
            let pool: Vec<Vec<f64>> = near
                .iter()
                .flat_map(|&i| centred[i].iter())
                .map(|r| r.iter().map(|x| x * scale).collect())
                .collect();
            floored(pool, &centred[k])
        })
        .collect()
}

/// The pool lends a probe spread, never takes away its own: per objective,
/// where the probe's own trials vary more than the pool does (its
/// neighbours all held at the objective's ceiling, say, with no spread
/// at all), the pool is widened to the probe's own unbiased variance.
fn floored(mut pool: Vec<Vec<f64>>, own: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let objectives = pool.first().map_or(0, Vec::len);
    if own.len() < 2 {
        return pool;
    }
    // Residuals are centred: their mean square over the degrees of
    // freedom is the variance (the pool's is already unbiased by scale).
    let mean_square = |rs: &[Vec<f64>], j: usize, dof: usize| {
        rs.iter().map(|r| r[j] * r[j]).sum::<f64>() / dof as f64
    };
    for j in 0..objectives {
        let own_var = mean_square(own, j, own.len() - 1);
        let pool_var = mean_square(&pool, j, pool.len());
        if own_var > pool_var && pool_var > 0.0 {
            let widen = (own_var / pool_var).sqrt();
            pool.iter_mut().for_each(|r| r[j] *= widen);
        }
    }
    pool
}

/// One replicate: each probe's trials are its mean plus residuals drawn
/// from its pool.
pub(super) fn resample(probes: &[Probe], pools: &[Vec<Vec<f64>>], rng: &mut StdRng) -> Vec<Probe> {
    probes
        .iter()
        .zip(pools)
        .map(|(p, pool)| {
            if pool.is_empty() {
                return p.clone();
            }
            let mean = means(p);
            let trials = (0..p.trials.len())
                .map(|_| {
                    let r = &pool[rng.random_range(0..pool.len())];
                    mean.iter().zip(r).map(|(m, x)| m + x).collect()
                })
                .collect();
            Probe::new(p.load, trials)
        })
        .collect()
}

/// The interval's ends moved out to the nearest probed loads: between
/// two probes the fit is a straight line whose error no resampling of
/// the trials shows, so an end is only as fine as the probes there.
fn outward(probes: &[Probe], i: Interval) -> Interval {
    let loads = || probes.iter().map(|p| p.load);
    // A crossing at a probe comes back from log-load a hair off it.
    let near = 1e-9;
    let low = loads()
        .filter(|&l| l <= i.low * (1.0 + near))
        .fold(f64::NAN, f64::max);
    let high = loads()
        .filter(|&l| l >= i.high * (1.0 - near))
        .fold(f64::NAN, f64::min);
    Interval {
        low: if low.is_nan() { i.low } else { low },
        high: if high.is_nan() { i.high } else { high },
    }
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
    let pools = pools(probes);
    let loads = || probes.iter().map(|p| p.load);
    let (lowest, highest) = (
        loads().fold(f64::MAX, f64::min),
        loads().fold(f64::MIN, f64::max),
    );
    // A replicate in which every objective holds at every probed load puts
    // the capacity somewhere above the highest, not at it: at the load the
    // bracket would try next. Taken as the highest load itself, a failing
    // top probe that failed by chance capped every replicate there, and
    // the interval claimed a precision the data do not have (its upper
    // end at that probe, the truth above it; tests/capacity_sim.rs).
    // Where the point itself lies beyond the probes, the search says so.
    let bracketed = !point.above && !point.below;
    let replicates: Vec<f64> = (0..REPLICATES)
        .map(|_| {
            let again = resample(probes, &pools, &mut rng);
            match fit::fit(&again, objectives) {
                Some(f) if f.above && bracketed => highest * GROWTH,
                Some(f) if f.below && bracketed => lowest / GROWTH,
                Some(f) => f.capacity,
                None => point.capacity,
            }
        })
        .collect();
    let percentile = percentiles(replicates.clone(), confidence);
    Some(Estimate {
        fit: point,
        interval: outward(probes, percentile),
        percentile,
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
    fn a_top_probe_that_failed_by_chance_leaves_the_interval_open_above_it() {
        // 16 fails on its mean (−0.005) with trials either side of zero:
        // replicates in which it holds put the capacity beyond it (48,
        // the bracket's next step), not at 16.
        let probes = [
            Probe::new(4.0, vec![vec![0.1], vec![0.1]]),
            Probe::new(16.0, vec![vec![-0.05], vec![0.04]]),
        ];
        let e = bootstrap(&probes, 1, 0.95, 1).unwrap();
        assert!(e.fit.capacity < 16.0 && !e.fit.above, "{:?}", e.fit);
        assert_eq!(e.interval.high, 48.0, "{:?}", e.interval);
    }

    #[test]
    fn a_pool_lends_a_probe_spread_but_never_takes_its_own() {
        // Own residuals ±0.5 (unbiased variance 0.5); the neighbours held
        // at the ceiling lend little (pool variance 0.005): widened ×10.
        let own = [vec![0.5], vec![-0.5]];
        let pool = vec![vec![0.0], vec![0.0], vec![0.1], vec![-0.1]];
        let widened = floored(pool.clone(), &own);
        let var = widened.iter().map(|r| r[0] * r[0]).sum::<f64>() / 4.0;
        assert!((var - 0.5).abs() < 1e-12, "{widened:?}");
        // A pool that varies more than the probe is left as it is.
        let calm = [vec![0.01], vec![-0.01]];
        assert_eq!(floored(pool.clone(), &calm), pool);
    }

    #[test]
    fn a_noiseless_search_has_a_point_interval_and_noise_widens_it() {
        let exact = [
            Probe::new(4.0, vec![vec![0.1], vec![0.1]]),
            Probe::new(16.0, vec![vec![-0.1], vec![-0.1]]),
        ];
        let e = bootstrap(&exact, 1, 0.95, 1).unwrap();
        assert!((e.fit.capacity - 8.0).abs() < 1e-9);
        // Every replicate says 8, but between two probes the interval is
        // only as fine as the probes.
        assert_eq!((e.interval.low, e.interval.high), (4.0, 16.0));
        let close = [
            exact[0].clone(),
            Probe::new(8.0, vec![vec![0.0], vec![0.0]]),
            exact[1].clone(),
        ];
        let e = bootstrap(&close, 1, 0.95, 1).unwrap();
        assert_eq!((e.interval.low, e.interval.high), (8.0, 8.0));
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
