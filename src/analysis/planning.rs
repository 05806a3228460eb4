//! Planning from a run already made (a previous run of the experiment, or a
//! pilot): the speeds its requests went at, for `validate`'s duration
//! estimate, and the smallest change the planned repetitions could detect,
//! from its trial-to-trial spread.

use super::compare::values_by_config;
use super::stats::{mean, sample_sd};
use polars::prelude::*;
use std::collections::HashMap;

/// Smallest true change, relative to `mean_b`, that Welch's two-sided test
/// at `alpha` finds with probability `power` between two configurations of
/// `n` trials each, whose trials spread by the sample sds `sd_a` and `sd_b`:
/// (t₁₋α/₂,ν + t_power,ν) · se / |mean_b|, se = √(sd_a²/n + sd_b²/n), ν the
/// Welch–Satterthwaite degrees of freedom. None with fewer than 2 trials, a
/// zero mean or no spread at all (nothing to say from such a pilot).
pub fn detectable_change(
    mean_b: f64,
    sd_a: f64,
    sd_b: f64,
    n: usize,
    alpha: f64,
    power: f64,
) -> Option<f64> {
    if n < 2 || mean_b == 0.0 || !mean_b.is_finite() {
        return None;
    }
    let n = n as f64;
    let (va, vb) = (sd_a * sd_a / n, sd_b * sd_b / n);
    let se = (va + vb).sqrt();
    if !(se > 0.0 && se.is_finite()) {
        return None;
    }
    let df = (va + vb).powi(2) / ((va * va + vb * vb) / (n - 1.0));
    super::welch::detectable_difference(se, df, alpha, power).map(|d| d / mean_b.abs())
}

/// One metric's planned sensitivity: the least sensitive comparison's.
#[derive(Debug, Clone, PartialEq)]
pub struct Detectable {
    pub metric: &'static str,
    /// Relative change, and the configuration it is for.
    pub change: f64,
    pub config: String,
    /// The run did not measure `config`: taken as noisy as the baseline.
    pub assumed: bool,
}

/// The planned comparisons' sensitivity per metric, from `trials` (a
/// trials.parquet) of a run with the same configurations: each configuration
/// in `others` against `baseline`, `n` trials each, at `alpha(metric)`.
/// With no other configuration, the baseline against one as noisy as
/// itself; a configuration the run did not measure (a pilot of the baseline
/// alone) is taken as noisy as the baseline, and marked so.
pub fn detectable_changes(
    trials: &DataFrame,
    metrics: &[&'static str],
    baseline: &str,
    others: &[String],
    n: usize,
    alpha: impl Fn(&str) -> f64,
) -> PolarsResult<Vec<Detectable>> {
    let mut out = Vec::new();
    for &metric in metrics {
        if trials.column(metric).is_err() {
            continue;
        }
        let values = values_by_config(trials, metric)?;
        let Some(b) = values.get(baseline) else {
            continue;
        };
        let (Some(mean_b), Some(sd_b)) = (mean(b), sample_sd(b)) else {
            continue;
        };
        let alone = [baseline.to_string()];
        let against = if others.is_empty() {
            &alone[..]
        } else {
            others
        };
        let worst = against
            .iter()
            .filter_map(|c| {
                let measured = values.get(c).and_then(|v| sample_sd(v));
                let sd_a = measured.unwrap_or(sd_b);
                let d =
                    detectable_change(mean_b, sd_a, sd_b, n, alpha(metric), super::compare::POWER)?;
                Some((d, c, measured.is_none()))
            })
            .max_by(|x, y| x.0.total_cmp(&y.0));
        if let Some((change, config, assumed)) = worst {
            out.push(Detectable {
                metric,
                change,
                config: config.clone(),
                assumed,
            });
        }
    }
    Ok(out)
}

/// The speeds a run's requests went at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Speeds {
    /// Prompt tokens over TTFT (queueing included), mean over trials.
    pub prefill_tok_s: Option<f64>,
    /// 1 / TPOT, mean over trials.
    pub decode_tok_s: Option<f64>,
    /// Per configuration: one request's time (E2E p50), mean over its trials, in seconds.
    pub request_s: HashMap<String, f64>,
}

/// What `trials` (a trials.parquet) says of the server's speeds.
pub fn speeds(trials: &DataFrame) -> PolarsResult<Speeds> {
    let column = |name: &str| -> PolarsResult<Vec<Option<f64>>> {
        Ok(match trials.column(name) {
            Ok(c) => {
                let c = c.cast(&DataType::Float64)?;
                let values = c.f64()?;
                (0..values.len()).map(|i| values.get(i)).collect()
            }
            Err(_) => vec![None; trials.height()],
        })
    };
    let (prompt, ttft, tpot) = (
        column("prompt_tokens_mean")?,
        column("ttft_p50_ms")?,
        column("tpot_mean_ms")?,
    );
    let prefill: Vec<f64> = prompt
        .iter()
        .zip(&ttft)
        .filter_map(|(p, t)| Some(p.as_ref()? / (t.as_ref()? / 1000.0)))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let decode: Vec<f64> = tpot
        .iter()
        .filter_map(|t| Some(1000.0 / t.as_ref()?))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let request_s = if trials.column("e2e_p50_ms").is_ok() {
        values_by_config(trials, "e2e_p50_ms")?
            .into_iter()
            .filter_map(|(c, v)| Some((c, mean(&v)? / 1000.0)))
            .collect()
    } else {
        HashMap::new()
    };
    Ok(Speeds {
        prefill_tok_s: mean(&prefill),
        decode_tok_s: mean(&decode),
        request_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest n per group at which a change of `d` standard
    /// deviations is detectable (equal spreads, α = 0.05, power 0.8).
    fn n_for(d: f64) -> usize {
        (2..1000)
            .find(|&n| detectable_change(1.0, 1.0, 1.0, n, 0.05, 0.8).unwrap() <= d)
            .unwrap()
    }

    #[test]
    fn matches_cohens_table_of_sample_sizes() {
        // Cohen (1988), Statistical Power Analysis for the Behavioral
        // Sciences, table 2.4.1 (two-sided t test, a₂ = .05, power .80):
        // d = 0.5 needs n = 64 per group, d = 0.8 needs 26, d = 1.0 needs 17.
        assert_eq!(n_for(0.5), 64);
        assert_eq!(n_for(0.8), 26);
        assert_eq!(n_for(1.0), 17);
    }

    #[test]
    fn scales_with_spread_and_mean_and_says_nothing_without_them() {
        // Relative to the baseline mean: the same spread on a mean of 200 is half.
        let a = detectable_change(100.0, 10.0, 10.0, 5, 0.05, 0.8).unwrap();
        let b = detectable_change(200.0, 10.0, 10.0, 5, 0.05, 0.8).unwrap();
        assert!((a - 2.0 * b).abs() < 1e-12);
        // Two repetitions of a noisy metric: a change of several times the mean.
        let two = detectable_change(100.0, 60.0, 60.0, 2, 0.05, 0.8).unwrap();
        assert!(two > 3.0, "{two}");
        assert_eq!(detectable_change(100.0, 1.0, 1.0, 1, 0.05, 0.8), None);
        assert_eq!(detectable_change(0.0, 1.0, 1.0, 5, 0.05, 0.8), None);
        assert_eq!(detectable_change(10.0, 0.0, 0.0, 5, 0.05, 0.8), None);
    }

    fn trials() -> DataFrame {
        df!(
            "config" => ["baseline", "baseline", "baseline", "c=2", "c=2", "c=2"],
            "ttft_p50_ms" => [100.0, 110.0, 90.0, 200.0, 260.0, 140.0],
            "e2e_p50_ms" => [1000.0, 1100.0, 900.0, 2000.0, 2000.0, 2000.0],
            "tpot_mean_ms" => [20.0, 20.0, 20.0, 25.0, 25.0, 25.0],
            "prompt_tokens_mean" => [100.0, 110.0, 90.0, 100.0, 130.0, 70.0],
        )
        .unwrap()
    }

    #[test]
    fn the_least_sensitive_comparison_per_metric() {
        let d = detectable_changes(
            &trials(),
            &["ttft_p50_ms", "no_such_metric"],
            "baseline",
            &["c=2".into(), "unmeasured".into()],
            4,
            |_| 0.05,
        )
        .unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].config.as_str(), d[0].assumed), ("c=2", false));
        let want = detectable_change(100.0, 60.0, 10.0, 4, 0.05, 0.8).unwrap();
        assert_eq!(d[0].change, want);
        // Unmeasured alone: as noisy as the baseline.
        let pilot = detectable_changes(
            &trials(),
            &["ttft_p50_ms"],
            "baseline",
            &["c=9".into()],
            4,
            |_| 0.05,
        )
        .unwrap();
        assert_eq!((pilot[0].config.as_str(), pilot[0].assumed), ("c=9", true));
        // Alone, the baseline against one as noisy as itself.
        let alone =
            detectable_changes(&trials(), &["ttft_p50_ms"], "baseline", &[], 4, |_| 0.05).unwrap();
        let want = detectable_change(100.0, 10.0, 10.0, 4, 0.05, 0.8).unwrap();
        assert_eq!(alone[0].change, want);
    }

    #[test]
    fn speeds_from_the_trials() {
        let s = speeds(&trials()).unwrap();
        // 100/0.1, 110/0.11, 90/0.09, 100/0.2, 130/0.26, 70/0.14 tok/s.
        assert!((s.prefill_tok_s.unwrap() - 750.0).abs() < 1e-9, "{s:?}");
        assert!((s.decode_tok_s.unwrap() - 45.0).abs() < 1e-9, "{s:?}");
        assert_eq!(s.request_s["baseline"], 1.0);
        assert_eq!(s.request_s["c=2"], 2.0);
    }
}
