//! Declared hypotheses (`expect:`), checked with the same Welch test as the
//! comparisons, Holm-adjusted across the experiment's expectations; "does
//! not change" with an equivalence test (TOST), since no significant change
//! is not evidence of none.

use super::compare::{compare_values, values_by_config, Comparison, Decision};
use super::verdict::Equivalence;
use super::verdict::ExpectOutcome::{self, Confirmed, Inconclusive, Refuted};
use super::welch::holm;
use crate::experiment::{Expectation, ExpectedChange};
use crate::metrics::by_column as metric_by_column;
use crate::plan::Configuration;
use polars::prelude::{DataFrame, PolarsResult};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Checked {
    pub expectation: String,
    pub outcome: ExpectOutcome,
    pub rel_diff: Option<f64>,
    pub p_holm: Option<f64>,
    pub note: String,
}

fn label_of(
    configs: &[Configuration],
    factor: &str,
    level: &crate::level::Level,
) -> Option<String> {
    configs
        .iter()
        .find(|c| {
            c.values.get(factor) == Some(level)
                && (c.is_baseline() || c.single_factor() == Some(factor))
        })
        .map(|c| c.label.clone())
}

/// "Does not change" is shown by TOST within the expectation's `min`, else
/// within the experiment's equivalence margin.
fn margin_of(x: &Expectation, d: Decision) -> Decision {
    match (x.change, x.min) {
        (ExpectedChange::None, Some(min)) => Decision {
            equivalence: min,
            ..d
        },
        _ => d,
    }
}

pub fn check(
    trials: &DataFrame,
    configs: &[Configuration],
    expect: &[Expectation],
    d: Decision,
) -> PolarsResult<Vec<Checked>> {
    let mut tests = compare_each(trials, configs, expect, d)?;
    adjust_across(&mut tests);
    Ok(expect
        .iter()
        .zip(&tests)
        .map(|(x, c)| {
            let (outcome, note) = outcome(x, c, d);
            Checked {
                expectation: describe(x),
                outcome,
                rel_diff: c.rel_diff,
                p_holm: c.p_holm,
                note,
            }
        })
        .collect())
}

/// Each expectation's `to` level against its `from` level, unadjusted.
fn compare_each(
    trials: &DataFrame,
    configs: &[Configuration],
    expect: &[Expectation],
    d: Decision,
) -> PolarsResult<Vec<Comparison>> {
    let mut tests = Vec::new();
    for x in expect {
        let Some(m) = metric_by_column(&x.metric) else {
            continue;
        };
        let values = values_by_config(trials, m.column)?;
        let empty = Vec::new();
        let get = |level| {
            label_of(configs, &x.factor, level)
                .and_then(|l| values.get(&l))
                .unwrap_or(&empty)
        };
        tests.push(compare_values(
            &m,
            get(&x.to),
            get(&x.from),
            margin_of(x, d),
        ));
    }
    Ok(tests)
}

/// Holm's adjustment across the expectations that could be tested.
fn adjust_across(tests: &mut [Comparison]) {
    let tested: Vec<usize> = (0..tests.len()).filter(|&i| tests[i].p.is_some()).collect();
    let adjusted = holm(
        &tested
            .iter()
            .map(|&i| tests[i].p.unwrap_or(1.0))
            .collect::<Vec<_>>(),
    );
    for (k, &i) in tested.iter().enumerate() {
        tests[i].p_holm = Some(adjusted[k]);
    }
}

/// The expectation's outcome from its adjusted test, and why.
fn outcome(x: &Expectation, c: &Comparison, d: Decision) -> (ExpectOutcome, String) {
    let significant = c.p_holm.is_some_and(|p| p < d.alpha);
    let rel = c.rel_diff.unwrap_or(0.0);
    let size = x.min.unwrap_or(d.threshold);
    match (c.p_holm, x.change) {
        (None, _) => (Inconclusive, c.verdict.to_string()),
        (Some(_), ExpectedChange::Increase) if significant && rel >= size => {
            (Confirmed, String::new())
        }
        (Some(_), ExpectedChange::Decrease) if significant && -rel >= size => {
            (Confirmed, String::new())
        }
        (Some(_), ExpectedChange::Increase) if significant && rel < 0.0 => {
            (Refuted, "it decreased".into())
        }
        (Some(_), ExpectedChange::Decrease) if significant && rel > 0.0 => {
            (Refuted, "it increased".into())
        }
        // Significant in the right direction but smaller than asked:
        // refuted only when the whole interval lies below the size.
        (Some(_), ExpectedChange::Increase)
            if significant && c.rel_ci_high.is_some_and(|h| h < size) =>
        {
            (
                Refuted,
                format!("increased by less than {:.0}%", size * 100.0),
            )
        }
        (Some(_), ExpectedChange::Decrease)
            if significant && c.rel_ci_low.is_some_and(|l| -l < size) =>
        {
            (
                Refuted,
                format!("decreased by less than {:.0}%", size * 100.0),
            )
        }
        (Some(_), ExpectedChange::None) => unchanged(x, c, d),
        (Some(_), _) => (Inconclusive, "not significant".into()),
    }
}

/// "Does not change", judged by the equivalence test.
fn unchanged(x: &Expectation, c: &Comparison, d: Decision) -> (ExpectOutcome, String) {
    let margin = format!("±{}%", margin_of(x, d).equivalence * 100.0);
    let p = c.p_tost.map(|p| format!("{p:.3}")).unwrap_or_default();
    match &c.equivalence {
        Equivalence::Equivalent => (
            Confirmed,
            format!("equivalent within {margin} (TOST p {p})"),
        ),
        Equivalence::Different => (Refuted, format!("it changed by more than {margin}")),
        Equivalence::Inconclusive => (
            Inconclusive,
            format!("not shown within {margin} (TOST p {p}), nor outside it"),
        ),
        Equivalence::NotTestable(why) => (Inconclusive, why.clone()),
    }
}

/// The expectation as a sentence.
fn describe(x: &Expectation) -> String {
    let change = match x.change {
        ExpectedChange::Increase => "increases",
        ExpectedChange::Decrease => "decreases",
        ExpectedChange::None => "does not change",
    };
    format!(
        "{} {change} from {}={} to {}",
        x.metric, x.factor, x.from, x.to
    )
}
