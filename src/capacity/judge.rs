//! A trial's margin on each objective: how far inside (≥ 0) or outside
//! (< 0) the SLO it is. Every SLO objective is judged by
//! `analysis::judge::judge` on the trial's row of the trial table, the one
//! judgement the reports use too; the search adds its own for an open
//! loop, a queue that does not grow.

use crate::analysis::judge::{judge, Judgement, ObjectiveKind};
use crate::experiment::Slo;
use polars::prelude::*;

/// The key of the search's own objective for an open loop.
pub const STABLE_QUEUE: &str = "stable_queue";

/// An objective of the search, as the result names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objective {
    /// As [`Judgement`]'s objectives key it (`ttft_ms`, `min_attainment`,
    /// `ttft_p95_ms`, ...), or [`STABLE_QUEUE`].
    pub key: String,
    /// What it asks, in words ("TTFT ≤ 250 ms for 95 % of requests").
    pub says: String,
}

/// What one trial measured that the SLOs judge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrialMeasure {
    /// The trial's row of the trial table, judged alone.
    pub judgement: Judgement,
    /// Open loop: how much the queue grew over the trial
    /// ([`super::queue_growth`]).
    pub queue_growth: Option<f64>,
}

impl TrialMeasure {
    /// A trial's row (a one-row trial table) judged against `slo`.
    pub fn of_row(row: &DataFrame, slo: &Slo) -> Self {
        TrialMeasure {
            judgement: judge(row, slo),
            queue_growth: None,
        }
    }
}

/// The objectives a search fits, in the order of [`margins`]: each
/// objective `judge` judges, then for an open loop the stable queue.
pub fn objectives(slo: &Slo, open_loop: bool) -> Vec<Objective> {
    // A row with the joint attainment holds every objective `judge` knows
    // of (those without a value among them): their keys and words.
    let template = df!["slo_attainment" => [1.0f64]].unwrap_or_default();
    let judged = judge(&template, slo);
    let show = crate::limits::show;
    let share = show(slo.min_attainment * 100.0);
    // With one per-request objective the joint attainment is that
    // objective again: one curve, not two that tie for binding.
    let per_request_objectives = judged
        .objectives
        .iter()
        .filter(|o| o.kind == ObjectiveKind::PerRequest)
        .count();
    let mut out: Vec<Objective> = judged
        .objectives
        .iter()
        .filter(|o| !(per_request_objectives == 1 && o.kind == ObjectiveKind::Attainment))
        .map(|o| Objective {
            key: o.key.clone(),
            says: match o.kind {
                ObjectiveKind::PerRequest => format!("{} for {share} % of requests", o.label),
                ObjectiveKind::Attainment => per_request(slo),
                ObjectiveKind::Percentile => o.label.clone(),
            },
        })
        .collect();
    if open_loop {
        out.push(Objective {
            key: STABLE_QUEUE.into(),
            says: format!(
                "no growing queue (late sojourns < {}× early ones)",
                show(super::SATURATION_RATIO)
            ),
        });
    }
    out
}

/// Every per-request objective at once, in words.
fn per_request(slo: &Slo) -> String {
    let show = crate::limits::show;
    let mut parts = Vec::new();
    if let Some(t) = slo.ttft_ms {
        parts.push(format!("TTFT ≤ {} ms", show(t)));
    }
    if let Some(t) = slo.tpot_ms {
        parts.push(format!("TPOT ≤ {} ms", show(t)));
    }
    if let Some(t) = slo.e2e_ms {
        parts.push(format!("latency ≤ {} ms", show(t)));
    }
    if let Some(r) = slo.min_output_tok_s {
        parts.push(format!("≥ {} tok/s decoding", show(r)));
    }
    // Without a per-request objective, attainment is the success rate.
    let what = if parts.is_empty() {
        "success".to_string()
    } else {
        parts.join(", ")
    };
    format!(
        "{what} for {} % of requests",
        show(slo.min_attainment * 100.0)
    )
}

/// A trial's margins, one per objective in `objectives`' order: the
/// judgement's margin on each SLO objective, 1 − growth / ratio for the
/// queue. An objective the trial has no value for fails (−1), as the
/// judgement fails it.
pub fn margins(m: &TrialMeasure, objectives: &[Objective]) -> Vec<f64> {
    objectives
        .iter()
        .map(|o| match o.key.as_str() {
            STABLE_QUEUE => m
                .queue_growth
                .map_or(1.0, |g| 1.0 - g / super::SATURATION_RATIO),
            key => m
                .judgement
                .get(key)
                .map_or(-1.0, |j| agree(j.margin.unwrap_or(-1.0), j.met)),
        })
        .collect()
}

/// A margin whose sign the verdict decides where the two could part (a
/// value exactly at its limit, rounding).
fn agree(margin: f64, met: bool) -> f64 {
    match met {
        true => margin.max(0.0),
        false if margin >= 0.0 => -f64::EPSILON,
        false => margin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_come_from_the_judgement_of_the_trials_row() {
        let slo = Slo::default(); // TTFT 500 ms, ≥ 10 tok/s, p50 3 s, p95 10 s, 95 %
        let row = df![
            "slo_attainment" => [0.97],
            "slo_ttft_ms_attainment" => [0.99],
            "slo_min_output_tok_s_attainment" => [0.97],
            "e2e_p50_ms" => [1500.0],
            "e2e_p95_ms" => [12_000.0],
        ]
        .unwrap();
        let all = objectives(&slo, true);
        let keys: Vec<&str> = all.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys.last(), Some(&STABLE_QUEUE));
        assert!(keys.contains(&"min_attainment"), "{keys:?}");
        let mut m = TrialMeasure::of_row(&row, &slo);
        m.queue_growth = Some(1.0);
        let got = margins(&m, &all);
        let at = |k: &str| got[keys.iter().position(|x| *x == k).unwrap()];
        assert!(
            (at("min_attainment") - 0.4).abs() < 1e-9,
            "{keys:?} {got:?}"
        );
        assert!((at("p50_latency_s") - 0.5).abs() < 1e-9, "{keys:?} {got:?}");
        assert!((at("p95_latency_s") + 0.2).abs() < 1e-9, "{keys:?} {got:?}");
        assert!((at(STABLE_QUEUE) - 0.5).abs() < 1e-9, "{got:?}");
        let joint = &all[keys.iter().position(|x| *x == "min_attainment").unwrap()];
        assert_eq!(
            joint.says,
            "TTFT ≤ 500 ms, ≥ 10 tok/s decoding for 95 % of requests"
        );
        // One per-request objective: the joint attainment is not fitted twice.
        let one = Slo {
            ttft_ms: Some(100.0),
            min_output_tok_s: None,
            p50_latency_s: None,
            p95_latency_s: None,
            min_attainment: 0.8,
            ..Slo::default()
        };
        let says: Vec<String> = objectives(&one, false)
            .into_iter()
            .map(|o| o.says)
            .collect();
        assert_eq!(says, ["TTFT ≤ 100 ms for 80 % of requests"]);
        // Whatever the objective: a rate, a latency.
        for (rate, e2e) in [(Some(10.0), None), (None, Some(2000.0))] {
            let one = Slo {
                ttft_ms: None,
                min_output_tok_s: rate,
                e2e_ms: e2e,
                ..one.clone()
            };
            assert_eq!(objectives(&one, false).len(), 1, "{one:?}");
        }
        // Missing measurements fail their objectives.
        let none = margins(&TrialMeasure::default(), &objectives(&slo, false));
        assert!(none.iter().all(|&x| x < 0.0), "{none:?}");
    }
}
