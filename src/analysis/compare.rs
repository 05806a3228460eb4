//! Each non-baseline level against the baseline of its factor, per metric:
//! Welch's t-test on per-trial values, Holm–Bonferroni across the family
//! (every comparison of the run, or of one metric), and a verdict that
//! needs both significance and a change larger than the noise threshold.

use super::verdict::{Equivalence, Tone, Verdict};
use super::welch::{estimate, holm, tost, welch, Estimate, Welch};
use crate::experiment::Family;
use crate::metrics::{by_column as metric_by_column, Metric, METRICS};
use crate::plan::Configuration;
use polars::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// Significance level, the smallest relative change worth a verdict, and
/// the relative margin δ within which two means count as the same.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Decision {
    pub alpha: f64,
    pub threshold: f64,
    pub equivalence: f64,
    pub family: Family,
}

impl Default for Decision {
    fn default() -> Self {
        crate::experiment::StatsSpec::default().into()
    }
}

impl From<crate::experiment::StatsSpec> for Decision {
    fn from(s: crate::experiment::StatsSpec) -> Self {
        Decision {
            alpha: s.alpha,
            threshold: s.threshold,
            equivalence: s.equivalence,
            family: s.family,
        }
    }
}

/// One row of `stats.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Comparison {
    pub metric: String,
    pub factor: String,
    pub level: String,
    pub baseline_level: String,
    pub n: usize,
    pub n_baseline: usize,
    pub mean: Option<f64>,
    pub mean_baseline: Option<f64>,
    pub diff: Option<f64>,
    pub rel_diff: Option<f64>,
    pub rel_ci_low: Option<f64>,
    pub rel_ci_high: Option<f64>,
    pub t: Option<f64>,
    pub df: Option<f64>,
    pub p: Option<f64>,
    pub p_holm: Option<f64>,
    pub hedges_g: Option<f64>,
    pub verdict: Verdict,
    /// The (1 − 2α) CI of the relative difference (90 % at α = 0.05), TOST's interval.
    pub ci90_low: Option<f64>,
    pub ci90_high: Option<f64>,
    /// TOST's p against the margin ±δ·|baseline mean|, unadjusted.
    pub p_tost: Option<f64>,
    pub equivalence: Equivalence,
}

/// Per-trial values of `column` by configuration label, nulls dropped.
pub fn values_by_config(
    trials: &DataFrame,
    column: &str,
) -> PolarsResult<HashMap<String, Vec<f64>>> {
    let configs = trials.column("config")?.cast(&DataType::String)?;
    let configs = configs.str()?;
    let values = trials.column(column)?.cast(&DataType::Float64)?;
    let values = values.f64()?;
    let mut out: HashMap<String, Vec<f64>> = HashMap::new();
    for i in 0..trials.height() {
        if let (Some(c), Some(v)) = (configs.get(i), values.get(i)) {
            if v.is_finite() {
                out.entry(c.to_string()).or_default().push(v);
            }
        }
    }
    Ok(out)
}

/// Test `a` (a level) against `b` (its baseline) on metric `m`; the Holm
/// adjustment is filled in by the caller, across the family.
pub fn compare_values(m: &Metric, a: &[f64], b: &[f64], d: Decision) -> Comparison {
    let (ea, eb) = (estimate(a), estimate(b));
    let test = welch(a, b);
    compare_tested(
        m,
        (a.len(), ea.map(|e| e.mean)),
        (b.len(), eb.map(|e| e.mean)),
        test,
        d,
    )
}

/// A comparison from Welch's result and each side's n and mean, as
/// `compare_values` gives it from trials and a published table from its
/// summary statistics.
pub fn compare_tested(
    m: &Metric,
    (n, mean): (usize, Option<f64>),
    (n_baseline, mean_baseline): (usize, Option<f64>),
    test: Result<Welch, super::welch::NotTestable>,
    d: Decision,
) -> Comparison {
    let mut c = Comparison {
        metric: m.column.into(),
        factor: String::new(),
        level: String::new(),
        baseline_level: String::new(),
        n,
        n_baseline,
        mean,
        mean_baseline,
        diff: None,
        rel_diff: None,
        rel_ci_low: None,
        rel_ci_high: None,
        t: None,
        df: None,
        p: None,
        p_holm: None,
        hedges_g: None,
        verdict: Verdict::Pending,
        ci90_low: None,
        ci90_high: None,
        p_tost: None,
        equivalence: Equivalence::Inconclusive,
    };
    match test {
        Ok(w) => {
            c.diff = Some(w.diff);
            c.t = Some(w.t);
            c.df = Some(w.df);
            c.p = Some(w.p);
            c.hedges_g = Some(w.hedges_g);
            // Relative to the baseline mean, taken as fixed.
            match c.mean_baseline.filter(|m| *m != 0.0) {
                Some(mb) => {
                    let scale = mb.abs();
                    c.rel_diff = Some(w.diff / scale);
                    c.rel_ci_low = Some(w.diff_ci.0 / scale);
                    c.rel_ci_high = Some(w.diff_ci.1 / scale);
                    let e = tost(&w, d.equivalence * scale, d.alpha);
                    c.ci90_low = Some(e.ci.0 / scale);
                    c.ci90_high = Some(e.ci.1 / scale);
                    c.p_tost = Some(e.p);
                    let outside = |x: f64| x.abs() > d.equivalence * scale;
                    let (lo, hi) = e.ci_outer;
                    c.equivalence = if e.p < d.alpha {
                        Equivalence::Equivalent
                    } else if outside(lo) && outside(hi) && lo.signum() == hi.signum() {
                        Equivalence::Different
                    } else {
                        Equivalence::Inconclusive
                    };
                }
                None => {
                    c.equivalence =
                        Equivalence::NotTestable("not testable: the baseline mean is 0".into())
                }
            }
        }
        Err(why) => {
            c.verdict = Verdict::NotTestable(why.to_string());
            c.equivalence = Equivalence::NotTestable(why.to_string());
        }
    }
    c
}

/// Holm over the families `d` names (the whole run, or each metric's
/// comparisons, which lie together in `rows`), then the verdicts.
pub fn decide_families(rows: &mut [Comparison], d: Decision) {
    match d.family {
        Family::Run => decide(rows, d),
        Family::Metric => {
            for family in rows.chunk_by_mut(|a, b| a.metric == b.metric) {
                decide(family, d);
            }
        }
    }
}

/// Holm across `family` (the testable ones), then the verdicts.
fn decide(family: &mut [Comparison], d: Decision) {
    let tested: Vec<usize> = (0..family.len())
        .filter(|&i| family[i].p.is_some())
        .collect();
    let adjusted = holm(
        &tested
            .iter()
            .map(|&i| family[i].p.unwrap_or(1.0))
            .collect::<Vec<_>>(),
    );
    for (k, &i) in tested.iter().enumerate() {
        let c = &mut family[i];
        c.p_holm = Some(adjusted[k]);
        let m = metric_by_column(&c.metric);
        let big = c.rel_diff.is_some_and(|r| r.abs() > d.threshold);
        c.verdict = match (adjusted[k] < d.alpha && big, c.diff, m) {
            (true, Some(diff), m) => {
                let increase = diff > 0.0;
                let word = match (m, increase) {
                    (Some(m), true) => m.up,
                    (Some(m), false) => m.down,
                    (None, true) => "increase",
                    (None, false) => "decrease",
                };
                Verdict::Changed { increase, word }
            }
            _ => Verdict::NoSignificantChange,
        };
    }
}

/// How a comparison's verdict reads for the metric (a significant rise in
/// latency is worse, in throughput better).
pub fn tone(c: &Comparison) -> Tone {
    match (&c.verdict, metric_by_column(&c.metric)) {
        (Verdict::Changed { increase, .. }, Some(m)) if *increase == m.higher_is_better() => {
            Tone::Better
        }
        (Verdict::Changed { .. }, Some(_)) => Tone::Worse,
        _ => Tone::Same,
    }
}

/// Every non-baseline configuration against the baseline, for every metric.
pub fn against_baseline(
    trials: &DataFrame,
    configs: &[Configuration],
    d: Decision,
) -> PolarsResult<Vec<Comparison>> {
    let Some(baseline) = configs.first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for m in METRICS {
        let values = values_by_config(trials, m.column)?;
        if values.values().all(Vec::is_empty) {
            // Nothing measured (no price declared, say): no family to test.
            continue;
        }
        let empty = Vec::new();
        let b = values.get(&baseline.label).unwrap_or(&empty);
        out.extend(configs[1..].iter().map(|c| {
            let a = values.get(&c.label).unwrap_or(&empty);
            let mut cmp = compare_values(m, a, b, d);
            let factor = c.factors.join(",");
            cmp.baseline_level = baseline
                .values
                .get(&factor)
                .map(ToString::to_string)
                .unwrap_or_default();
            cmp.factor = factor;
            cmp.level = c
                .level
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            cmp
        }));
    }
    decide_families(&mut out, d);
    Ok(out)
}

/// Per configuration and metric: n, mean, sd, se, 95 % CI, CV, and the
/// smallest change against the baseline this run could detect.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ConfigEstimate {
    pub config: String,
    pub metric: String,
    pub estimate: Estimate,
    /// Minimal detectable relative change at 80 % power against the
    /// baseline (Welch, two-sided, at alpha / m: the bar Holm sets for a
    /// change that is the only one among its family's m comparisons); for
    /// the baseline itself, against a configuration as noisy as it.
    pub mde_rel_80: Option<f64>,
}

/// How many tested comparisons share Holm's family with `metric`'s: the
/// run's, or the metric's own (at least 1).
pub fn family_size(comparisons: &[Comparison], family: Family, metric: &str) -> usize {
    comparisons
        .iter()
        .filter(|c| c.p.is_some() && (family == Family::Run || c.metric == metric))
        .count()
        .max(1)
}

/// Power the minimal detectable change is stated at.
pub const POWER: f64 = 0.8;

pub fn estimates(
    trials: &DataFrame,
    configs: &[Configuration],
    d: Decision,
    comparisons: &[Comparison],
) -> PolarsResult<Vec<ConfigEstimate>> {
    let mut out = Vec::new();
    for m in METRICS {
        // A change alone among m comparisons is held to alpha / m by Holm.
        let alpha = d.alpha / family_size(comparisons, d.family, m.column) as f64;
        let values = values_by_config(trials, m.column)?;
        let baseline = configs.first().and_then(|b| values.get(&b.label));
        for c in configs {
            let Some(v) = values.get(&c.label) else {
                continue;
            };
            if let Some(e) = estimate(v) {
                out.push(ConfigEstimate {
                    config: c.label.clone(),
                    metric: m.column.into(),
                    estimate: e,
                    mde_rel_80: baseline.and_then(|b| detectable(v, b, alpha)),
                });
            }
        }
    }
    Ok(out)
}

/// The minimal detectable change of `a` against `b`, relative to b's mean.
fn detectable(a: &[f64], b: &[f64], alpha: f64) -> Option<f64> {
    let w = welch(a, b).ok()?;
    let mb = super::stats::mean(b).filter(|m| *m != 0.0)?;
    super::welch::detectable_difference(w.se, w.df, alpha, POWER).map(|d| d / mb.abs())
}

/// The least sensitive configuration's minimal detectable change, per
/// metric: "this run could detect changes of X % or more".
pub fn sensitivity(estimates: &[ConfigEstimate], metric: &str) -> Option<f64> {
    estimates
        .iter()
        .filter(|e| e.metric == metric)
        .filter_map(|e| e.mde_rel_80)
        .max_by(f64::total_cmp)
}

pub fn comparisons_frame(rows: &[Comparison]) -> PolarsResult<DataFrame> {
    let s = |f: fn(&Comparison) -> String| {
        Column::new("".into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let o = |f: fn(&Comparison) -> Option<f64>| {
        Column::new("".into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let u =
        |f: fn(&Comparison) -> u64| Column::new("".into(), rows.iter().map(f).collect::<Vec<_>>());
    let named = |c: Column, n: &str| c.with_name(n.into());
    DataFrame::new(
        rows.len(),
        vec![
            named(s(|c| c.metric.clone()), "metric"),
            named(s(|c| c.factor.clone()), "factor"),
            named(s(|c| c.level.clone()), "level"),
            named(s(|c| c.baseline_level.clone()), "baseline_level"),
            named(u(|c| c.n as u64), "n"),
            named(u(|c| c.n_baseline as u64), "n_baseline"),
            named(o(|c| c.mean), "mean"),
            named(o(|c| c.mean_baseline), "mean_baseline"),
            named(o(|c| c.diff), "diff"),
            named(o(|c| c.rel_diff), "rel_diff"),
            named(o(|c| c.rel_ci_low), "rel_ci_low"),
            named(o(|c| c.rel_ci_high), "rel_ci_high"),
            named(o(|c| c.t), "t"),
            named(o(|c| c.df), "df"),
            named(o(|c| c.p), "p"),
            named(o(|c| c.p_holm), "p_holm"),
            named(o(|c| c.hedges_g), "hedges_g"),
            named(s(|c| c.verdict.to_string()), "verdict"),
            named(o(|c| c.ci90_low), "ci90_low"),
            named(o(|c| c.ci90_high), "ci90_high"),
            named(o(|c| c.p_tost), "p_tost"),
            named(s(|c| c.equivalence.to_string()), "equivalence"),
        ],
    )
}

/// `estimates.csv`: one row per configuration and metric.
pub fn estimates_frame(rows: &[ConfigEstimate]) -> PolarsResult<DataFrame> {
    let s = |f: fn(&ConfigEstimate) -> String| rows.iter().map(f).collect::<Vec<_>>();
    let o = |f: fn(&ConfigEstimate) -> Option<f64>| rows.iter().map(f).collect::<Vec<_>>();
    DataFrame::new(
        rows.len(),
        vec![
            Column::new("config".into(), s(|r| r.config.clone())),
            Column::new("metric".into(), s(|r| r.metric.clone())),
            Column::new(
                "n".into(),
                rows.iter().map(|r| r.estimate.n as u64).collect::<Vec<_>>(),
            ),
            Column::new("mean".into(), o(|r| Some(r.estimate.mean))),
            Column::new("sd".into(), o(|r| r.estimate.sd)),
            Column::new("se".into(), o(|r| r.estimate.se)),
            Column::new("ci_low".into(), o(|r| r.estimate.ci.map(|c| c.0))),
            Column::new("ci_high".into(), o(|r| r.estimate.ci.map(|c| c.1))),
            Column::new("cv".into(), o(|r| r.estimate.cv)),
            Column::new("mde_rel_80".into(), o(|r| r.mde_rel_80)),
        ],
    )
}
