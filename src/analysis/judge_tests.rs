use super::*;
use crate::analysis::tests::{config, record};
use crate::results::requests_frame;

fn slo(pairs: &[(&str, Option<f64>)]) -> Slo {
    let mut slo = Slo {
        ttft_ms: None,
        min_output_tok_s: None,
        p50_latency_s: None,
        p95_latency_s: None,
        min_attainment: 0.9,
        ..Slo::default()
    };
    for (k, v) in pairs {
        slo.set(k, *v).unwrap();
    }
    slo
}

/// One trial of 20 requests whose TTFTs are 10, 20, …, 200 ms: by linear
/// interpolation (numpy's default) p95 = 190 + 0.05 × 10 = 190.5 ms and
/// p90 = 181 ms; 15 of 20 have TTFT ≤ 150 ms.
fn trial() -> DataFrame {
    let configs = [config(0, "baseline", 1)];
    let records: Vec<_> = (1..=20)
        .map(|i| record(0, 0, i, i as f64, 10.0 * i as f64, 1000.0, 4))
        .collect();
    let requests = requests_frame(&records, &configs).unwrap();
    let s = slo(&[("ttft_p90_ms", Some(1.0))]);
    crate::analysis::trial_metrics(&requests, &s).unwrap()
}

#[test]
fn a_percentile_objective_reads_the_known_percentile() {
    let trials = trial();
    let j = judge(&trials, &slo(&[("ttft_p95_ms", Some(200.0))]));
    let o = j.get("ttft_p95_ms").unwrap();
    assert_eq!(o.value, Some(190.5));
    assert!(o.met);
    assert!((o.margin.unwrap() - 9.5 / 200.0).abs() < 1e-12);
    assert_eq!(o.label, "TTFT p95 ≤ 200 ms");
    let j = judge(&trials, &slo(&[("ttft_p95_ms", Some(190.0))]));
    assert_eq!(j.meets, Some(false));
    // p90 is not a standard column: computed because the SLO asks for it.
    let j = judge(&trials, &slo(&[("ttft_p90_ms", Some(180.0))]));
    assert_eq!(j.get("ttft_p90_ms").unwrap().value, Some(181.0));
}

#[test]
fn per_request_objectives_have_their_own_attainment() {
    let configs = [config(0, "baseline", 1)];
    let records: Vec<_> = (1..=20)
        .map(|i| record(0, 0, i, i as f64, 10.0 * i as f64, 1000.0, 4))
        .collect();
    let requests = requests_frame(&records, &configs).unwrap();
    let s = slo(&[("ttft_ms", Some(150.0)), ("e2e_ms", Some(2000.0))]);
    let trials = crate::analysis::trial_metrics(&requests, &s).unwrap();
    let j = judge(&trials, &s);
    let ttft = j.get("ttft_ms").unwrap();
    assert_eq!(ttft.value, Some(0.75));
    assert!(!ttft.met, "75 % < 90 %");
    // 15 points short of 90 %, on a scale where the last 10 points are 1.
    assert!((ttft.margin.unwrap() + 1.5).abs() < 1e-12);
    assert_eq!(j.get("e2e_ms").unwrap().margin, Some(1.0));
    assert_eq!(j.get("e2e_ms").unwrap().value, Some(1.0));
    assert_eq!(j.get("min_attainment").unwrap().value, Some(0.75));
    // The single objective that fails binds, not the joint attainment.
    assert_eq!(j.binding.as_deref(), Some("ttft_ms"));
    assert_eq!(j.meets, Some(false));
}

#[test]
fn the_binding_objective_is_the_one_missed_or_the_closest() {
    let trials = trial();
    // TTFT p95 190.5 of 1000 (margin 0.81); E2E p50 1000 of 1100 (0.09).
    let s = slo(&[("ttft_p95_ms", Some(1000.0)), ("e2e_p50_ms", Some(1100.0))]);
    let j = judge(&trials, &s);
    assert_eq!(j.meets, Some(true));
    assert_eq!(j.binding.as_deref(), Some("e2e_p50_ms"));
    // Two missed: the one furthest outside binds.
    let s = slo(&[("ttft_p95_ms", Some(100.0)), ("e2e_p50_ms", Some(900.0))]);
    let j = judge(&trials, &s);
    assert_eq!(j.meets, Some(false));
    assert_eq!(j.binding.as_deref(), Some("ttft_p95_ms"));
    assert_eq!(j.binding().map(|o| o.met), Some(false));
}

/// The older verdict, now a view of the judgement: E2E p50 and p95 in
/// seconds and the attainment, each needed.
#[test]
fn verdicts_need_every_objective() {
    let trials = trial(); // E2E 1000 ms every request; all succeed
    let on = |p50: f64, p95: f64, min: f64| Slo {
        ttft_ms: None,
        min_output_tok_s: None,
        p50_latency_s: Some(p50),
        p95_latency_s: Some(p95),
        min_attainment: min,
        ..Slo::default()
    };
    let v = |s: &Slo| crate::analysis::SloVerdict::of(&judge(&trials, s));
    assert_eq!(v(&on(3.0, 10.0, 0.95)).meets, Some(true));
    assert_eq!(v(&on(0.9, 10.0, 0.95)).p50, Some(false));
    assert_eq!(v(&on(3.0, 0.9, 0.95)).p95, Some(false));
    let off = Slo {
        p50_latency_s: None,
        p95_latency_s: None,
        min_attainment: 0.0,
        ..on(1.0, 1.0, 0.0)
    };
    assert_eq!(judge(&DataFrame::empty(), &off).meets, None);
}

#[test]
fn each_trial_is_judged_in_trials_parquet() {
    let s = slo(&[("ttft_p95_ms", Some(100.0))]);
    let trials = with_trial_judgements(trial(), &s).unwrap();
    let meets = trials.column("slo_meets").unwrap().bool().unwrap().get(0);
    assert_eq!(meets, Some(false));
    let binding = trials.column("slo_binding").unwrap().str().unwrap().get(0);
    assert_eq!(binding, Some("ttft_p95_ms"));
}

#[test]
fn the_objectives_are_estimated_beside_the_metrics() {
    let s = slo(&[
        ("ttft_ms", Some(150.0)),
        ("ttft_p90_ms", Some(1.0)),
        ("e2e_p95_ms", Some(1.0)),
    ]);
    // e2e_p95_ms is a registry metric, estimated already.
    assert_eq!(
        objective_columns(&s),
        ["slo_ttft_ms_attainment", "ttft_p90_ms"]
    );
    let configs = [config(0, "baseline", 1)];
    let records: Vec<_> = (1..=20)
        .map(|i| record(0, 0, i, i as f64, 10.0 * i as f64, 1000.0, 4))
        .collect();
    let requests = requests_frame(&records, &configs).unwrap();
    let trials = crate::analysis::trial_metrics(&requests, &s).unwrap();
    let e = objective_estimates(&trials, &configs, &s).unwrap();
    let got: Vec<(&str, f64)> = e
        .iter()
        .map(|e| (e.metric.as_str(), e.estimate.mean))
        .collect();
    assert_eq!(
        got,
        [("slo_ttft_ms_attainment", 0.75), ("ttft_p90_ms", 181.0)]
    );
}
