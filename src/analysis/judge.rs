//! The one judgement of a configuration against an [`Slo`]: each objective's
//! value, its margin to the threshold, whether it holds, and the binding
//! objective. The reports, `report --slo` and a capacity search all call
//! [`judge`]; the per-request checks it reads are made here too, so an
//! objective means the same wherever it is counted.
//!
//! The trial is the unit: a percentile objective holds when the mean of the
//! trials' percentiles is within it (each trial's percentile over its
//! successful requests), a per-request objective when the mean share of
//! requests meeting it is at least `min_attainment`.

use crate::experiment::{Latency, PercentileObjective, Slo};
use polars::prelude::*;

/// What an objective bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveKind {
    /// A per-request objective: its value is the share of requests meeting
    /// it, its threshold `min_attainment`.
    PerRequest,
    /// Every per-request objective at once (`min_attainment`): the share of
    /// requests that succeeded and met them all.
    Attainment,
    /// A percentile of a latency, in ms, at most the threshold.
    Percentile,
}

/// One objective, judged.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct ObjectiveJudgement {
    /// As the experiment writes it: `ttft_ms`, `ttft_p95_ms`, `p50_latency_s`,
    /// `min_attainment` (every per-request objective at once).
    pub key: String,
    pub kind: ObjectiveKind,
    /// In words: `TTFT p95 ≤ 500 ms`, `TTFT ≤ 500 ms` (per request: its kind says).
    pub label: String,
    /// The configuration's figure: a share of requests (0–1), or ms.
    pub value: Option<f64>,
    /// The limit in ms (percentile), or the share to reach (the others).
    pub threshold: f64,
    /// How far inside the threshold, 0 at it and negative when missed:
    /// `(threshold − value) / threshold` for a percentile (1: no latency at
    /// all), `(value − threshold) / (1 − threshold)` for a share (1: every
    /// request within); absent without a value.
    pub margin: Option<f64>,
    pub met: bool,
}

/// A configuration (or one trial) against an [`Slo`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Judgement {
    /// The per-request objectives, their joint attainment, then the
    /// percentile ones (the older E2E ones first, then by key).
    pub objectives: Vec<ObjectiveJudgement>,
    /// Every objective met; absent where there was nothing to judge.
    pub meets: Option<bool>,
    /// The key of the objective that decides: the missed one with the least
    /// margin, or where all hold, the one closest to its threshold. The
    /// joint attainment binds only where no single objective explains it.
    pub binding: Option<String>,
}

impl Judgement {
    /// The objective at `key`.
    pub fn get(&self, key: &str) -> Option<&ObjectiveJudgement> {
        self.objectives.iter().find(|o| o.key == key)
    }

    /// The binding objective, judged.
    pub fn binding(&self) -> Option<&ObjectiveJudgement> {
        self.binding.as_deref().and_then(|k| self.get(k))
    }
}

/// The per-request objectives: key, words, and whether a request met it
/// (a failed request meets none; a request with one output token has no
/// TPOT and passes the objectives on it).
pub fn request_checks(slo: &Slo) -> Vec<(&'static str, String, Expr)> {
    let within = |c: &str, t: f64, missing: bool| {
        col("ok").and(col(c).lt_eq(lit(t)).fill_null(lit(missing)))
    };
    let mut checks = Vec::new();
    if let Some(t) = slo.ttft_ms {
        checks.push((
            "ttft_ms",
            format!("TTFT ≤ {t} ms"),
            within("ttft_ms", t, false),
        ));
    }
    if let Some(t) = slo.tpot_ms {
        checks.push((
            "tpot_ms",
            format!("TPOT ≤ {t} ms"),
            within("tpot_ms", t, true),
        ));
    }
    if let Some(t) = slo.e2e_ms {
        checks.push((
            "e2e_ms",
            format!("E2E ≤ {t} ms"),
            within("e2e_ms", t, false),
        ));
    }
    // A minimum decoding speed is a maximum TPOT: 1000 / tok/s ms per token.
    if let Some(r) = slo.min_output_tok_s {
        let words = format!("≥ {r} tok/s");
        checks.push((
            "min_output_tok_s",
            words,
            within("tpot_ms", 1000.0 / r, true),
        ));
    }
    checks
}

/// The `trials.parquet` column of a per-request objective's attainment.
pub fn attainment_column(key: &str) -> String {
    format!("slo_{key}_attainment")
}

/// The per-trial aggregations an [`Slo`] needs beyond the standard ones:
/// each per-request objective's attainment and each percentile objective's
/// percentile (other than p50/p95/p99, always there; ITL's are computed
/// from the gap lists, see [`itl_quantiles`]).
pub fn trial_aggregations(slo: &Slo) -> Vec<Expr> {
    let mut aggs: Vec<Expr> = request_checks(slo)
        .into_iter()
        .map(|(key, _, check)| {
            let n = len().cast(DataType::Float64);
            (check.cast(DataType::Float64).sum() / n).alias(attainment_column(key))
        })
        .collect();
    for o in extra_percentiles(slo) {
        if o.metric != Latency::Itl {
            let c = format!("{}_ms", o.metric.stem());
            aggs.push(super::trials::pct(&c, o.q()).alias(o.column()));
        }
    }
    aggs
}

/// The percentile objectives whose column the standard tables lack.
fn extra_percentiles(slo: &Slo) -> Vec<PercentileObjective> {
    let mut out: Vec<PercentileObjective> = Vec::new();
    for o in slo.percentile_objectives() {
        let standard = [50.0, 95.0, 99.0].contains(&o.percent);
        if !standard && !out.iter().any(|x| x.column() == o.column()) {
            out.push(o);
        }
    }
    out
}

/// The ITL quantiles an [`Slo`] needs beyond p50/p95/p99, with their columns.
pub fn itl_quantiles(slo: &Slo) -> Vec<(f64, String)> {
    extra_percentiles(slo)
        .into_iter()
        .filter(|o| o.metric == Latency::Itl)
        .map(|o| (o.q(), o.column()))
        .collect()
}

/// The mean of a trials column, none where it is absent or all null.
fn mean_of(trials: &DataFrame, column: &str) -> Option<f64> {
    let c = trials.column(column).ok()?.cast(&DataType::Float64).ok()?;
    c.f64().ok()?.mean()
}

/// A share's margin on the same scale as a latency's: 0 at the threshold,
/// 1 with every request within, negative below (where every request must
/// be within, the shortfall itself).
fn share_margin(value: f64, min: f64) -> f64 {
    if min < 1.0 {
        (value - min) / (1.0 - min)
    } else {
        value - min
    }
}

fn share_objective(
    key: &str,
    kind: ObjectiveKind,
    label: String,
    value: Option<f64>,
    min: f64,
) -> ObjectiveJudgement {
    ObjectiveJudgement {
        key: key.to_string(),
        kind,
        label,
        value,
        threshold: min,
        margin: value.map(|v| share_margin(v, min)),
        met: value.is_some_and(|v| v >= min),
    }
}

/// Judge one configuration's trials (rows of `trials.parquet`, at one load)
/// against `slo`: every objective's value (the mean across the trials),
/// margin and verdict, whether all hold, and the binding objective. A
/// percentile objective without a value (no successful request) is missed.
pub fn judge(trials: &DataFrame, slo: &Slo) -> Judgement {
    let mut objectives: Vec<ObjectiveJudgement> = request_checks(slo)
        .into_iter()
        .map(|(key, words, _)| {
            let value = mean_of(trials, &attainment_column(key));
            share_objective(
                key,
                ObjectiveKind::PerRequest,
                words,
                value,
                slo.min_attainment,
            )
        })
        .collect();
    if let Some(value) = mean_of(trials, "slo_attainment") {
        let label = format!(
            "≥ {}% within every per-request objective",
            slo.min_attainment * 100.0
        );
        let kind = ObjectiveKind::Attainment;
        objectives.push(share_objective(
            "min_attainment",
            kind,
            label,
            Some(value),
            slo.min_attainment,
        ));
    }
    for o in slo.percentile_objectives() {
        let value = mean_of(trials, &o.column());
        objectives.push(ObjectiveJudgement {
            label: percentile_words(&o),
            key: o.key,
            kind: ObjectiveKind::Percentile,
            value,
            threshold: o.limit_ms,
            margin: value.map(|v| (o.limit_ms - v) / o.limit_ms),
            met: value.is_some_and(|v| v <= o.limit_ms),
        });
    }
    let meets = (!objectives.is_empty()).then(|| objectives.iter().all(|o| o.met));
    let binding = binding(&objectives).map(|o| o.key.clone());
    Judgement {
        objectives,
        meets,
        binding,
    }
}

/// `TTFT p95 ≤ 500 ms`; the older objectives in the seconds they are written in.
fn percentile_words(o: &PercentileObjective) -> String {
    let (metric, p) = (o.metric.label(), o.percent);
    match o.key.ends_with("_latency_s") {
        true => format!("{metric} p{p} ≤ {} s", o.limit_ms / 1000.0),
        false => format!("{metric} p{p} ≤ {} ms", o.limit_ms),
    }
}

/// The missed objective furthest outside (one with a value before one
/// without), else the
/// one with the least margin; the joint attainment only where no single
/// objective is missed or it is the only one.
fn binding(objectives: &[ObjectiveJudgement]) -> Option<&ObjectiveJudgement> {
    let single = || {
        objectives
            .iter()
            .filter(|o| o.kind != ObjectiveKind::Attainment)
    };
    let missed = least_margin(single().filter(|o| !o.met));
    let joint_missed = objectives
        .iter()
        .find(|o| o.kind == ObjectiveKind::Attainment && !o.met);
    missed
        .or(joint_missed)
        .or_else(|| least_margin(single()))
        .or_else(|| objectives.first())
}

fn least_margin<'a>(
    it: impl Iterator<Item = &'a ObjectiveJudgement>,
) -> Option<&'a ObjectiveJudgement> {
    // Without a value (no successful request) an objective says least: it
    // binds only where nothing measured does.
    let key = |o: &ObjectiveJudgement| o.margin.unwrap_or(f64::INFINITY);
    it.min_by(|a, b| key(a).total_cmp(&key(b)))
}

/// Each trial judged alone: `slo_meets` and `slo_binding` beside its row.
pub fn with_trial_judgements(trials: DataFrame, slo: &Slo) -> PolarsResult<DataFrame> {
    let mut meets = Vec::with_capacity(trials.height());
    let mut binding = Vec::with_capacity(trials.height());
    for i in 0..trials.height() {
        let j = judge(&trials.slice(i as i64, 1), slo);
        meets.push(j.meets);
        binding.push(j.binding);
    }
    let mut trials = trials;
    trials.with_column(Column::new("slo_meets".into(), meets))?;
    trials.with_column(Column::new("slo_binding".into(), binding))?;
    Ok(trials)
}

/// The `trials.parquet` columns an [`Slo`] is judged on that the metric
/// registry does not already estimate: each per-request objective's
/// attainment and each percentile objective's column.
pub fn objective_columns(slo: &Slo) -> Vec<String> {
    let mut out: Vec<String> = request_checks(slo)
        .into_iter()
        .map(|(key, _, _)| attainment_column(key))
        .collect();
    for o in slo.percentile_objectives() {
        let c = o.column();
        if crate::metrics::by_column(&c).is_none() && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Per configuration, the mean and interval across trials of each column
/// the SLO is judged on ([`objective_columns`]), for `estimates.csv` beside
/// the registry's metrics (untested against the baseline, so without a
/// detectable change).
pub fn objective_estimates(
    trials: &DataFrame,
    configs: &[crate::plan::Configuration],
    slo: &Slo,
) -> PolarsResult<Vec<super::compare::ConfigEstimate>> {
    let mut out = Vec::new();
    for column in objective_columns(slo) {
        if trials.column(&column).is_err() {
            continue;
        }
        let values = super::compare::values_by_config(trials, &column)?;
        for c in configs {
            let estimate = values.get(&c.label).and_then(|v| super::welch::estimate(v));
            if let Some(estimate) = estimate {
                out.push(super::compare::ConfigEstimate {
                    config: c.label.clone(),
                    metric: column.clone(),
                    estimate,
                    mde_rel_80: None,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
