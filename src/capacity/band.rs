//! A pointwise band around one objective's fitted margin curve: at each
//! probed load, the percentiles of the refitted margin over the same
//! bootstrap replicates the capacity's interval comes from (same pools,
//! same seed, same order of draws), so the band and the interval tell one
//! story. Pointwise: each load's band holds its own share of replicates,
//! not the whole curve at once.

use super::interval::{percentiles, pools, resample, REPLICATES};
use super::{fit, Probe};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// The fitted margin at one load, and its band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    pub load: f64,
    pub fitted: f64,
    pub low: f64,
    pub high: f64,
}

/// The fitted curve of objective `objective` (of `objectives`) over
/// `probes`, with each load's `confidence` band from the bootstrap seeded
/// with `seed`; empty without a trial.
pub fn band(
    probes: &[Probe],
    objectives: usize,
    objective: usize,
    confidence: f64,
    seed: u64,
) -> Vec<BandPoint> {
    let Some(curve) = fit::fit(probes, objectives).and_then(|f| f.curves.get(objective).cloned())
    else {
        return Vec::new();
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let pools = pools(probes);
    let mut at_load: Vec<Vec<f64>> = vec![Vec::with_capacity(REPLICATES); curve.len()];
    for _ in 0..REPLICATES {
        let again = resample(probes, &pools, &mut rng);
        let Some(c) = fit::fit(&again, objectives).and_then(|f| f.curves.get(objective).cloned())
        else {
            continue;
        };
        // A replicate keeps every probe's load and trial count, so its
        // curve runs through the same loads.
        if c.len() == curve.len() {
            for (values, (_, m)) in at_load.iter_mut().zip(c) {
                values.push(m);
            }
        }
    }
    curve
        .iter()
        .zip(at_load)
        .map(|(&(load, fitted), values)| {
            let (low, high) = if values.is_empty() {
                (fitted, fitted)
            } else {
                let i = percentiles(values, confidence);
                (i.low, i.high)
            };
            BandPoint {
                load,
                fitted,
                low,
                high,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noiseless_curve_has_no_band_and_noise_widens_it_around_the_fit() {
        let exact = [
            Probe::new(4.0, vec![vec![0.1], vec![0.1]]),
            Probe::new(16.0, vec![vec![-0.1], vec![-0.1]]),
        ];
        let b = band(&exact, 1, 0, 0.95, 1);
        assert_eq!(b.len(), 2);
        for p in &b {
            assert_eq!((p.low, p.high), (p.fitted, p.fitted), "{b:?}");
        }
        let noisy = [
            Probe::new(4.0, vec![vec![0.3], vec![0.1]]),
            Probe::new(8.0, vec![vec![0.1], vec![-0.1]]),
            Probe::new(16.0, vec![vec![-0.1], vec![-0.3]]),
        ];
        let b = band(&noisy, 1, 0, 0.95, 1);
        assert_eq!(
            b.iter().map(|p| p.load).collect::<Vec<_>>(),
            [4.0, 8.0, 16.0]
        );
        for p in &b {
            assert!(p.low < p.fitted && p.fitted < p.high, "{b:?}");
        }
        // The fitted values are the fit's own.
        let f = fit::fit(&noisy, 1).unwrap();
        let fitted: Vec<f64> = b.iter().map(|p| p.fitted).collect();
        assert_eq!(fitted, f.curves[0].iter().map(|c| c.1).collect::<Vec<_>>());
        // The same seed, the same band; none without a trial.
        assert_eq!(band(&noisy, 1, 0, 0.95, 1), b);
        assert!(band(&[], 1, 0, 0.95, 1).is_empty());
    }
}
