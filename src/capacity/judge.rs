//! A trial's margin on each objective: how far inside (≥ 0) or outside
//! (< 0) the SLO it is, on a scale that crosses zero exactly where the
//! run's SLO verdict turns. The verdict itself comes from
//! `analysis::service::verdict` through [`verdict_of`], the one place a
//! capacity search asks whether a trial meets its SLOs.

use crate::analysis::service::SloVerdict;
use crate::experiment::Slo;

/// An objective of the search, as the result names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objective {
    /// Short key: `attainment`, `p50_latency`, `p95_latency`, `stable_queue`.
    pub key: &'static str,
    /// What it asks, in words ("TTFT ≤ 250 ms for 95 % of requests").
    pub says: String,
}

/// What one trial measured that the SLOs judge.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TrialMeasure {
    /// Share of requests meeting every per-request objective.
    pub attainment: Option<f64>,
    pub e2e_p50_ms: Option<f64>,
    pub e2e_p95_ms: Option<f64>,
    /// Open loop: how much the queue grew over the trial
    /// ([`super::queue_growth`]).
    pub queue_growth: Option<f64>,
}

/// The one adapter to the SLO verdict: where the SLOs' judging changes,
/// only this changes.
pub fn verdict_of(slo: &Slo, m: &TrialMeasure) -> SloVerdict {
    let check = |limit_s: Option<f64>, value_ms: Option<f64>| match (limit_s, value_ms) {
        (Some(l), Some(v)) => Some(v <= l * 1000.0),
        (Some(_), None) => Some(false),
        (None, _) => None,
    };
    let p50 = check(slo.p50_latency_s, m.e2e_p50_ms);
    let p95 = check(slo.p95_latency_s, m.e2e_p95_ms);
    let enough = m.attainment.map(|a| a >= slo.min_attainment);
    let all = [p50, p95, enough];
    let meets = match all.iter().all(Option::is_none) {
        true => None,
        false => Some(all.iter().all(|c| c != &Some(false))),
    };
    SloVerdict { p50, p95, meets }
}

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

/// The objectives a search fits, in the order of [`margins`].
pub fn objectives(slo: &Slo, open_loop: bool) -> Vec<Objective> {
    let show = crate::limits::show;
    let mut out = vec![Objective {
        key: "attainment",
        says: per_request(slo),
    }];
    if let Some(l) = slo.p50_latency_s {
        out.push(Objective {
            key: "p50_latency",
            says: format!("median latency ≤ {} s", show(l)),
        });
    }
    if let Some(l) = slo.p95_latency_s {
        out.push(Objective {
            key: "p95_latency",
            says: format!("p95 latency ≤ {} s", show(l)),
        });
    }
    if open_loop {
        out.push(Objective {
            key: "stable_queue",
            says: format!(
                "no growing queue (late sojourns < {}× early ones)",
                show(super::SATURATION_RATIO)
            ),
        });
    }
    out
}

/// A trial's margins, one per objective: attainment − min_attainment for
/// the per-request objectives, (threshold − value) / threshold for a
/// percentile one, 1 − growth / ratio for the queue. A value the trial
/// lacks fails its objective (−1), as the verdict fails it.
pub fn margins(slo: &Slo, m: &TrialMeasure, open_loop: bool) -> Vec<f64> {
    let v = verdict_of(slo, m);
    let relative = |limit_s: f64, value_ms: Option<f64>| {
        value_ms.map_or(-1.0, |x| (limit_s * 1000.0 - x) / (limit_s * 1000.0))
    };
    let mut out = vec![m.attainment.map_or(-1.0, |a| a - slo.min_attainment)];
    if let Some(l) = slo.p50_latency_s {
        out.push(agree(relative(l, m.e2e_p50_ms), v.p50));
    }
    if let Some(l) = slo.p95_latency_s {
        out.push(agree(relative(l, m.e2e_p95_ms), v.p95));
    }
    if open_loop {
        out.push(
            m.queue_growth
                .map_or(1.0, |g| 1.0 - g / super::SATURATION_RATIO),
        );
    }
    out
}

/// A margin whose sign the verdict decides where the two could part (a
/// value exactly at its limit, rounding).
fn agree(margin: f64, holds: Option<bool>) -> f64 {
    match holds {
        Some(true) => margin.max(0.0),
        Some(false) if margin >= 0.0 => -f64::EPSILON,
        _ => margin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_cross_zero_where_the_verdict_turns() {
        let slo = Slo::default(); // TTFT 500 ms, ≥ 10 tok/s, p50 3 s, p95 10 s, 95 %
        let m = TrialMeasure {
            attainment: Some(0.97),
            e2e_p50_ms: Some(1500.0),
            e2e_p95_ms: Some(12_000.0),
            queue_growth: Some(1.0),
        };
        let got = margins(&slo, &m, true);
        let want = [0.02, 0.5, -0.2, 0.5];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
        assert_eq!(verdict_of(&slo, &m).meets, Some(false));
        let keys: Vec<&str> = objectives(&slo, true).iter().map(|o| o.key).collect();
        assert_eq!(
            keys,
            ["attainment", "p50_latency", "p95_latency", "stable_queue"]
        );
        assert_eq!(
            objectives(&slo, false)[0].says,
            "TTFT ≤ 500 ms, ≥ 10 tok/s decoding for 95 % of requests"
        );
        // Missing measurements fail their objectives.
        let none = margins(&slo, &TrialMeasure::default(), false);
        assert!(none.iter().all(|&x| x < 0.0), "{none:?}");
    }
}
