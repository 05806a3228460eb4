//! The decisions on known values: Holm's family, the detectable change,
//! TOST's verdicts and `change: none` expectations.

use super::tests::config;
use super::*;
use crate::level::Level;

#[test]
fn does_not_change_is_decided_by_equivalence_not_by_a_missing_verdict() {
    use crate::experiment::{Expectation, ExpectedChange};
    use expect::check;
    use verdict::ExpectOutcome;
    let configs = [config(0, "baseline", 1), config(1, "concurrency=2", 2)];
    // Per-trial output tok/s of the baseline and of concurrency=2.
    let trials = |b: [f64; 4]| {
        DataFrame::new(
            8,
            vec![
                Column::new(
                    "config".into(),
                    [["baseline"; 4], ["concurrency=2"; 4]].concat(),
                ),
                Column::new(
                    "output_tok_s".into(),
                    [[100.0, 101.0, 99.0, 100.5], b].concat(),
                ),
            ],
        )
        .unwrap()
    };
    let expect = |min: Option<f64>| Expectation {
        metric: "output_tok_s".into(),
        factor: "concurrency".into(),
        from: Level::Int(1),
        to: Level::Int(2),
        change: ExpectedChange::None,
        min,
    };
    let d = compare::Decision::default();
    let outcome = |b, min| check(&trials(b), &configs, &[expect(min)], d).unwrap()[0].outcome;
    // Within ±5 %, precisely: shown the same.
    assert_eq!(
        outcome([100.2, 100.8, 99.4, 100.1], None),
        ExpectOutcome::Confirmed
    );
    // 20 % more: shown different.
    assert_eq!(
        outcome([120.0, 121.0, 119.5, 120.4], None),
        ExpectOutcome::Refuted
    );
    // Noisy and no significant change, but nothing shown: inconclusive
    // (the old rule called this confirmed).
    assert_eq!(
        outcome([80.0, 120.0, 95.0, 110.0], None),
        ExpectOutcome::Inconclusive
    );
    // `min` is the margin: 3 % more is the same within ±5 %, not within ±1 %.
    assert_eq!(
        outcome([103.0, 103.2, 102.8, 103.1], None),
        ExpectOutcome::Confirmed
    );
    assert_eq!(
        outcome([103.0, 103.2, 102.8, 103.1], Some(0.01)),
        ExpectOutcome::Refuted
    );
}

#[test]
fn tost_verdicts_in_stats_csv_follow_statsmodels() {
    use verdict::Equivalence;
    // The samples of welch::tests::tost_matches_statsmodels (statsmodels
    // 0.15.0 ttost_ind(b, a, -Δ, Δ, usevar='unequal'); scipy 1.17.1's 90 %
    // and 95 % intervals of the difference).
    let a = [100.0, 102.0, 98.5, 101.2, 99.7];
    let b = [101.0, 100.5, 99.9, 102.3, 100.8, 101.6];
    let m = crate::metrics::by_column("output_tok_s").unwrap();
    let at = |b: &[f64], delta: f64| {
        let d = compare::Decision {
            equivalence: delta,
            ..compare::Decision::default()
        };
        compare::compare_values(&m, b, &a, d)
    };
    // δ 5 %: p_tost 0.00033 < 0.05, the 90 % interval [−0.604, 2.077] inside ±5.014.
    let c = at(&b, 0.05);
    assert!((c.p_tost.unwrap() - 0.0003302607968006759).abs() < 1e-10);
    assert!((c.ci90_low.unwrap() * 100.28 - -0.6037993465075369).abs() < 1e-8);
    assert!((c.ci90_high.unwrap() * 100.28 - 2.077132679840865).abs() < 1e-8);
    assert_eq!(c.equivalence, Equivalence::Equivalent);
    // δ 1 %: p_tost 0.358; the 95 % interval [−0.944, 2.417] straddles ±1.003.
    let c = at(&b, 0.01);
    assert!((c.p_tost.unwrap() - 0.35769256627491575).abs() < 1e-9);
    assert_eq!(c.equivalence, Equivalence::Inconclusive);
    // B 10 higher: the 95 % interval moves to [9.056, 12.417], wholly
    // outside ±5.014.
    let shifted: Vec<f64> = b.iter().map(|x| x + 10.0).collect();
    assert_eq!(at(&shifted, 0.05).equivalence, Equivalence::Different);
    // ...and inside ±15 % it is the same again.
    assert_eq!(at(&shifted, 0.15).equivalence, Equivalence::Equivalent);
}

#[test]
fn holm_adjusts_the_family_the_decision_names_and_the_detectable_change_pays_for_it() {
    use crate::experiment::Family;
    let configs = [
        config(0, "baseline", 1),
        config(1, "concurrency=2", 2),
        config(2, "concurrency=4", 4),
    ];
    let labels = [["baseline"; 4], ["concurrency=2"; 4], ["concurrency=4"; 4]].concat();
    // The catalogue's other metrics, unmeasured: no family of their own.
    let unmeasured = crate::metrics::METRICS
        .iter()
        .filter(|m| !["output_tok_s", "ttft_p50_ms"].contains(&m.column))
        .map(|m| Column::new(m.column.into(), [None::<f64>; 12]));
    let trials = DataFrame::new(
        12,
        unmeasured
            .chain([
                Column::new("config".into(), labels),
                Column::new(
                    "output_tok_s".into(),
                    [
                        [100.0, 101.0, 99.0, 100.5],
                        [103.0, 104.5, 101.0, 103.9],
                        [100.2, 99.1, 101.3, 100.0],
                    ]
                    .concat(),
                ),
                Column::new(
                    "ttft_p50_ms".into(),
                    [
                        [20.0, 21.0, 19.5, 20.2],
                        [19.0, 18.1, 19.6, 18.4],
                        [20.5, 19.9, 20.8, 20.1],
                    ]
                    .concat(),
                ),
            ])
            .collect(),
    )
    .unwrap();
    for family in [Family::Run, Family::Metric] {
        let d = compare::Decision {
            family,
            ..compare::Decision::default()
        };
        let rows = compare::against_baseline(&trials, &configs, d).unwrap();
        assert_eq!(rows.len(), 4, "two metrics × two levels: {rows:?}");
        for metric in ["output_tok_s", "ttft_p50_ms"] {
            let family_rows: Vec<&compare::Comparison> = rows
                .iter()
                .filter(|c| family == Family::Run || c.metric == metric)
                .collect();
            let raw: Vec<f64> = family_rows.iter().map(|c| c.p.unwrap()).collect();
            let adjusted: Vec<f64> = family_rows.iter().map(|c| c.p_holm.unwrap()).collect();
            assert_eq!(adjusted, welch::holm(&raw), "{family:?} {metric}");
            let m = compare::family_size(&rows, family, metric);
            assert_eq!(m, family_rows.len());
            // The detectable change is Welch's at alpha / m.
            let est = compare::estimates(&trials, &configs, d, &rows).unwrap();
            let four = est
                .iter()
                .find(|e| e.config == "concurrency=4" && e.metric == metric)
                .unwrap();
            let values = |label: &str| -> Vec<f64> {
                let i = configs.iter().position(|c| c.label == label).unwrap();
                let col = trials.column(metric).unwrap().f64().unwrap();
                (i * 4..i * 4 + 4).map(|k| col.get(k).unwrap()).collect()
            };
            let (a, b) = (values("concurrency=4"), values("baseline"));
            let w = welch::welch(&a, &b).unwrap();
            let expected = welch::detectable_difference(w.se, w.df, 0.05 / m as f64, 0.8).unwrap()
                / stats::mean(&b).unwrap();
            assert!(
                (four.mde_rel_80.unwrap() - expected).abs() < 1e-12,
                "{family:?} {metric}"
            );
        }
    }
    // The same data decided both ways: the run's family of four holds the
    // 3 % rise in throughput to a stricter bar than its metric's pair does.
    let p_holm = |family| {
        let d = compare::Decision {
            family,
            ..compare::Decision::default()
        };
        compare::against_baseline(&trials, &configs, d).unwrap()[0]
            .p_holm
            .unwrap()
    };
    assert!(p_holm(Family::Run) > p_holm(Family::Metric));
}
