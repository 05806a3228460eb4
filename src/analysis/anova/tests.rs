// The reference values are quoted as statsmodels printed them (17 digits).
#![allow(clippy::excessive_precision)]

use super::*;

/// 2 (quant) × 3 (concurrency) × 2 (batch) in 3 blocks: main effects, a
/// quant × concurrency interaction, a block drift and fixed noise. The same
/// data as `y ~ (C(quant)+C(concurrency)+C(batch))**2 + C(repetition)`
/// given to statsmodels 0.15.0 `anova_lm(ols(...).fit(), typ=2)`.
fn data() -> Vec<Observation> {
    let noise = [
        0.31, -0.12, 0.45, -0.27, 0.08, -0.39, 0.22, 0.05, -0.18, 0.36, -0.41, 0.13, -0.07, 0.29,
        -0.33, 0.17, 0.02, -0.24, 0.40, -0.15, 0.26, -0.05, 0.11, -0.30, 0.19, -0.22, 0.06, 0.34,
        -0.09, 0.28, -0.36, 0.14, -0.01, 0.23, -0.28, 0.09,
    ];
    let mut out = Vec::new();
    for rep in 0..3 {
        for q in ["q8", "q4"] {
            for c in [1, 2, 4] {
                for b in [64, 256] {
                    let q4 = if q == "q4" { 1.0 } else { 0.0 };
                    let c = f64::from(c);
                    let y = 10.0
                        + 2.0 * q4
                        + 0.8 * c
                        + if b == 256 { 0.5 } else { 0.0 }
                        + 1.5 * c * q4
                        + 0.3 * f64::from(rep)
                        + noise[out.len()];
                    out.push(Observation {
                        levels: vec![q.into(), c.to_string(), b.to_string()],
                        block: rep.to_string(),
                        y,
                    });
                }
            }
        }
    }
    out
}

const FACTORS: [&str; 3] = ["quant", "concurrency", "batch"];

/// (term, df, sum_sq, F, p) as statsmodels printed them.
fn check(got: &[Term], want: &[(&str, f64, f64, f64, f64)], residual: (f64, f64)) {
    for (term, df, ss, f, p) in want {
        let t = got
            .iter()
            .find(|t| t.term == *term)
            .unwrap_or_else(|| panic!("no {term} in {got:?}"));
        assert_eq!(t.df, *df, "{term}");
        assert!(
            (t.sum_sq - ss).abs() < 1e-9 * ss.max(1.0),
            "{term} SS {} vs {ss}",
            t.sum_sq
        );
        let tf = t.f.unwrap();
        assert!((tf - f).abs() < 1e-8 * f.max(1.0), "{term} F {tf} vs {f}");
        let tp = t.p.unwrap();
        assert!(
            (tp - p).abs() < 1e-9 * p.max(1e-20) + 1e-30,
            "{term} p {tp} vs {p}"
        );
    }
    let r = got.last().unwrap();
    assert_eq!((r.term.as_str(), r.df), ("Residual", residual.0));
    assert!((r.sum_sq - residual.1).abs() < 1e-9, "{}", r.sum_sq);
    assert_eq!(got.len(), want.len() + 1);
}

#[test]
fn balanced_factorial_matches_statsmodels_type_2() {
    let t = type2(&FACTORS, &data()).unwrap();
    check(
        &t,
        &[
            (
                "quant",
                1.0,
                271.09622500000029,
                3605.3470306280474,
                1.1304057872416929e-27,
            ),
            (
                "concurrency",
                2.0,
                125.69460555555538,
                835.81516656250903,
                6.4648845826473192e-23,
            ),
            (
                "batch",
                1.0,
                2.2350249999999914,
                29.723913518638675,
                1.3296259869374662e-05,
            ),
            (
                "repetition",
                2.0,
                2.2468222222222693,
                14.94040322257929,
                6.0999440732467079e-05,
            ),
            (
                "quant:concurrency",
                2.0,
                30.77584999999991,
                204.64619050404289,
                8.3399274115715992e-16,
            ),
            (
                "quant:batch",
                1.0,
                0.065024999999998487,
                0.86477666985802959,
                0.36166536130611154,
            ),
            (
                "concurrency:batch",
                2.0,
                0.065849999999998174,
                0.43787423075856202,
                0.65046063763959217,
            ),
        ],
        (24.0, 1.8046277777777788),
    );
    // Partial η² = SS / (SS + SS_residual).
    let q = &t[0];
    let want = 271.09622500000029 / (271.09622500000029 + 1.8046277777777788);
    assert!((q.partial_eta_sq.unwrap() - want).abs() < 1e-12);
}

#[test]
fn unbalanced_after_two_lost_trials_matches_statsmodels_type_2() {
    // The same data without observations 7 and 20 (pandas' drop(index=[7, 20])).
    let mut d = data();
    d.remove(20);
    d.remove(7);
    let t = type2(&FACTORS, &d).unwrap();
    check(
        &t,
        &[
            (
                "quant",
                1.0,
                258.96371520150382,
                3338.2789169662838,
                1.5981712599892972e-25,
            ),
            (
                "concurrency",
                2.0,
                115.61154533677846,
                745.16922970337828,
                6.1732025448293709e-21,
            ),
            (
                "batch",
                1.0,
                2.1816898148147654,
                28.123975231391469,
                2.5362953933960129e-05,
            ),
            (
                "repetition",
                2.0,
                2.1421863765863698,
                13.807369908186169,
                0.00013029615157691119,
            ),
            (
                "quant:concurrency",
                2.0,
                29.526101751071948,
                190.30921551907127,
                1.2966397039083065e-14,
            ),
            (
                "quant:batch",
                1.0,
                0.09400004734849067,
                1.2117465028377712,
                0.28288544465495497,
            ),
            (
                "concurrency:batch",
                2.0,
                0.096461067018947674,
                0.6217356475729825,
                0.54618355301205501,
            ),
        ],
        (22.0, 1.706628438228436),
    );
}

#[test]
fn nothing_to_fit_is_none_and_a_constant_factor_is_left_out() {
    assert!(type2(&FACTORS, &data()[..1]).is_none());
    let d: Vec<Observation> = data().into_iter().filter(|o| o.levels[2] == "64").collect();
    let t = type2(&FACTORS, &d).unwrap();
    assert!(t.iter().all(|t| !t.term.contains("batch")), "{t:?}");
}
