//! Inference over trials: confidence intervals, Welch's t-test, Hedges' g
//! and Holm–Bonferroni adjustment. Pure functions; the distributions come
//! from statrs.

use super::stats::{mean, sample_sd};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Two-sided Student t quantile: the t with P(T ≤ t) = p.
pub fn t_quantile(p: f64, df: f64) -> Option<f64> {
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(t.inverse_cdf(p))
}

/// Summary of one metric's per-trial values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Estimate {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1); none below 2 values.
    pub sd: Option<f64>,
    /// Standard error of the mean.
    pub se: Option<f64>,
    /// 95 % Student t confidence interval of the mean.
    pub ci: Option<(f64, f64)>,
    /// Coefficient of variation, sd / |mean|.
    pub cv: Option<f64>,
}

pub fn estimate(values: &[f64]) -> Option<Estimate> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let m = mean(&v)?;
    let sd = sample_sd(&v);
    let n = v.len();
    let se = sd.map(|s| s / (n as f64).sqrt());
    let ci = se.and_then(|se| {
        let q = t_quantile(0.975, (n - 1) as f64)?;
        Some((m - q * se, m + q * se))
    });
    let cv = sd.filter(|_| m != 0.0).map(|s| s / m.abs());
    Some(Estimate {
        n,
        mean: m,
        sd,
        se,
        ci,
        cv,
    })
}

/// One side of a comparison as a published table gives it: n, mean, sd.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub sd: f64,
}

impl Sample {
    /// None below 2 values: there is no sd to test with.
    pub fn of(values: &[f64]) -> Option<Sample> {
        Some(Sample {
            n: values.len(),
            mean: mean(values)?,
            sd: sample_sd(values)?,
        })
    }
}

/// Welch's unequal-variance t-test of `a` against `b` (a − b).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Welch {
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    pub diff: f64,
    /// Standard error of the difference, √(s²ₐ/nₐ + s²ᵦ/nᵦ).
    pub se: f64,
    /// 95 % CI of the difference of means.
    pub diff_ci: (f64, f64),
    /// Hedges' g: the difference in pooled standard deviations, small-sample corrected.
    pub hedges_g: f64,
}

/// Why a comparison has no test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum NotTestable {
    /// Fewer than 2 trials on a side.
    TooFewTrials,
    /// Neither side varies.
    NoVariance,
}

impl std::fmt::Display for NotTestable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotTestable::TooFewTrials => "not testable: fewer than 2 trials",
            NotTestable::NoVariance => "not testable: no variance",
        })
    }
}

pub fn welch(a: &[f64], b: &[f64]) -> Result<Welch, NotTestable> {
    match (Sample::of(a), Sample::of(b)) {
        (Some(a), Some(b)) => welch_summary(a, b),
        _ => Err(NotTestable::TooFewTrials),
    }
}

/// Welch from summary statistics alone (a published mean, sd and n).
pub fn welch_summary(a: Sample, b: Sample) -> Result<Welch, NotTestable> {
    if a.n < 2 || b.n < 2 {
        return Err(NotTestable::TooFewTrials);
    }
    let (na, nb) = (a.n as f64, b.n as f64);
    let (sa, sb) = (a.sd, b.sd);
    let (va, vb) = (sa * sa / na, sb * sb / nb);
    let se = (va + vb).sqrt();
    if se == 0.0 || !se.is_finite() {
        return Err(NotTestable::NoVariance);
    }
    let diff = a.mean - b.mean;
    let t = diff / se;
    let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).map_err(|_| NotTestable::NoVariance)?;
    // 2·sf(|t|), not 2·(1 − cdf): the latter rounds small p-values to 0.
    let p = (2.0 * dist.sf(t.abs())).min(1.0);
    let q = dist.inverse_cdf(0.975);
    let pooled = (((na - 1.0) * sa * sa + (nb - 1.0) * sb * sb) / (na + nb - 2.0)).sqrt();
    let correction = 1.0 - 3.0 / (4.0 * (na + nb) - 9.0);
    let hedges_g = if pooled > 0.0 {
        correction * diff / pooled
    } else {
        0.0
    };
    Ok(Welch {
        t,
        df,
        p,
        diff,
        se,
        diff_ci: (diff - q * se, diff + q * se),
        hedges_g,
    })
}

/// Two one-sided tests (Schuirmann 1987) of `a − b` within ±`margin`, with
/// Welch's standard error and degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tost {
    /// max(p₁, p₂): equivalence is shown when it is below alpha.
    pub p: f64,
    /// H₀: a − b ≤ −margin.
    pub p_lower: f64,
    /// H₀: a − b ≥ +margin.
    pub p_upper: f64,
    /// The (1 − 2α) CI of the difference: TOST at α is "this lies inside ±margin".
    pub ci: (f64, f64),
    /// The two-sided (1 − α) CI of the difference: "different" when it lies
    /// wholly outside ±margin.
    pub ci_outer: (f64, f64),
}

pub fn tost(w: &Welch, margin: f64, alpha: f64) -> Tost {
    // `welch` built this distribution already, so df is valid here.
    let dist = StudentsT::new(0.0, 1.0, w.df).expect("Welch's df is positive");
    let p_lower = dist.sf((w.diff + margin) / w.se);
    let p_upper = dist.cdf((w.diff - margin) / w.se);
    let inner = dist.inverse_cdf(1.0 - alpha);
    let outer = dist.inverse_cdf(1.0 - alpha / 2.0);
    Tost {
        p: p_lower.max(p_upper),
        p_lower,
        p_upper,
        ci: (w.diff - inner * w.se, w.diff + inner * w.se),
        ci_outer: (w.diff - outer * w.se, w.diff + outer * w.se),
    }
}

/// Smallest true difference Welch at `alpha` (two-sided) finds with
/// probability `power`, by the normal-shift approximation with t quantiles:
/// (t₁₋α/₂ + t_power) · se.
pub fn detectable_difference(se: f64, df: f64, alpha: f64, power: f64) -> Option<f64> {
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some((dist.inverse_cdf(1.0 - alpha / 2.0) + dist.inverse_cdf(power)) * se)
}

/// Holm–Bonferroni step-down adjusted p-values, in the input's order:
/// sort ascending, multiply the i-th smallest (from 0) by m − i, keep the
/// running maximum, cap at 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantiles_match_scipy() {
        // Reference: scipy 1.17.1, scipy.stats.t.ppf(0.975, df).
        assert!(close(
            t_quantile(0.975, 1.0).unwrap(),
            12.706204736174694,
            1e-6
        ));
        assert!(close(
            t_quantile(0.975, 2.0).unwrap(),
            4.302652729749462,
            1e-8
        ));
        assert!(close(
            t_quantile(0.975, 10.0).unwrap(),
            2.228138851986274,
            1e-8
        ));
        assert!(close(
            t_quantile(0.975, 30.0).unwrap(),
            2.0422724563012378,
            1e-8
        ));
    }

    #[test]
    fn welch_matches_scipy_on_unequal_variances_and_sizes() {
        // Reference: scipy 1.17.1, scipy.stats.ttest_ind(a, b, equal_var=False)
        // → statistic -2.455356398286006, pvalue 0.021378001462866992, df 24.988529290231416.
        let a = [
            27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
            21.4,
        ];
        let b = [
            27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
            24.4,
        ];
        let w = welch(&a, &b).unwrap();
        assert!(close(w.t, -2.455356398286006, 1e-9), "t {}", w.t);
        assert!(close(w.df, 24.988529290231416, 1e-9), "df {}", w.df);
        assert!(close(w.p, 0.021378001462866992, 1e-9), "p {}", w.p);

        // Unequal n and variances. scipy 1.17.1: statistic -2.713602101199873,
        // pvalue 0.03182444378084147, df 6.59467097295115,
        // confidence_interval(0.95) = (-8.470676788343704, -0.5293232116562954).
        let w = welch(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0]).unwrap();
        assert!(close(w.t, -2.713602101199873, 1e-9), "t {}", w.t);
        assert!(close(w.df, 6.59467097295115, 1e-9), "df {}", w.df);
        assert!(close(w.p, 0.03182444378084147, 1e-9), "p {}", w.p);
        assert!(
            close(w.diff_ci.0, -8.470676788343704, 1e-8),
            "{:?}",
            w.diff_ci
        );
        assert!(
            close(w.diff_ci.1, -0.5293232116562954, 1e-8),
            "{:?}",
            w.diff_ci
        );
    }

    #[test]
    fn tost_matches_statsmodels() {
        // Reference: statsmodels 0.15.0,
        // ttost_ind(b, a, -d, d, usevar='unequal') with d = δ·|mean(a)|, and
        // scipy 1.17.1 ttest_ind(b, a, equal_var=False).confidence_interval(0.90 / 0.95).
        let a = [100.0, 102.0, 98.5, 101.2, 99.7];
        let b = [101.0, 100.5, 99.9, 102.3, 100.8, 101.6];
        let w = welch(&b, &a).unwrap();
        assert!(close(w.df, 6.4431487957278994, 1e-9), "df {}", w.df);
        let t = tost(&w, 0.05 * 100.28, 0.05);
        assert!(close(t.p, 0.0003302607968006759, 1e-10), "p {}", t.p);
        assert!(close(t.p_lower, 5.948331116665804e-05, 1e-11));
        let t = tost(&w, 0.01 * 100.28, 0.05);
        assert!(close(t.p, 0.35769256627491575, 1e-9), "p {}", t.p);
        assert!(close(t.p_lower, 0.022205705082395607, 1e-9));
        assert!(close(t.ci.0, -0.6037993465075369, 1e-8), "{:?}", t.ci);
        assert!(close(t.ci.1, 2.077132679840865, 1e-8), "{:?}", t.ci);
        assert!(close(t.ci_outer.0, -0.944019571856531, 1e-8));
        assert!(close(t.ci_outer.1, 2.41735290518986, 1e-8));
        // The same test from summary statistics alone.
        let s = welch_summary(Sample::of(&b).unwrap(), Sample::of(&a).unwrap()).unwrap();
        assert_eq!(s, w);
    }

    #[test]
    fn detectable_difference_matches_scipy_and_has_the_power_it_claims() {
        // scipy 1.17.1: (t.ppf(0.975, df) + t.ppf(0.8, df)) · se with the
        // Welch se and df of the TOST example = 2.3099066773538546; the exact
        // power of Welch's test at that true difference (noncentral t,
        // scipy.stats.nct) is 0.7973, so "80 % power" holds to 0.3 points.
        let a = [100.0, 102.0, 98.5, 101.2, 99.7];
        let b = [101.0, 100.5, 99.9, 102.3, 100.8, 101.6];
        let w = welch(&b, &a).unwrap();
        assert!(close(w.se, 0.6983392998949558, 1e-12), "se {}", w.se);
        let d = detectable_difference(w.se, w.df, 0.05, 0.8).unwrap();
        assert!(close(d, 2.3099066773538546, 1e-9), "d {d}");
    }

    #[test]
    fn degenerate_cases_are_not_testable() {
        assert_eq!(welch(&[1.0], &[1.0, 2.0]), Err(NotTestable::TooFewTrials));
        assert_eq!(
            welch(&[3.0, 3.0], &[5.0, 5.0, 5.0]),
            Err(NotTestable::NoVariance)
        );
        assert!(estimate(&[]).is_none());
        let one = estimate(&[4.0]).unwrap();
        assert_eq!((one.sd, one.ci), (None, None));
    }

    #[test]
    fn holm_step_down_by_hand() {
        // Holm (1979) by hand: sorted 0.005·4, 0.01·3, 0.03·2, 0.04·1 → 0.02, 0.03,
        // 0.06, max(0.04, 0.06); the same as R's p.adjust(p, "holm").
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, w) in adj.iter().zip(want) {
            assert!(close(*a, w, 1e-12), "{adj:?}");
        }
        // Capped at 1 and monotone: 0.5·2 = 1, max(0.6, 1) = 1.
        assert_eq!(holm(&[0.5, 0.6]), vec![1.0, 1.0]);
    }

    #[test]
    fn estimate_has_t_interval() {
        // Mean 5, sd 2.138090 (numpy, ddof=1), n 8 → se 0.755929,
        // t(0.975, 7) = 2.364624251592784 (scipy 1.17.1) → half-width 1.7874879182362098 (scipy).
        let e = estimate(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        let (lo, hi) = e.ci.unwrap();
        assert!(
            close(lo, 5.0 - 1.7874879182362098, 1e-9) && close(hi, 5.0 + 1.7874879182362098, 1e-9),
            "{lo} {hi}"
        );
        assert!(close(e.cv.unwrap(), 2.138_089_935 / 5.0, 1e-9));
    }
}
