//! Two runs side by side: configurations matched by their factor levels,
//! each metric tested with Welch (run B against run A), Holm across the
//! family (every comparison, or each metric's), and a verdict of regression or improvement.

use super::compare::{compare_values, decide_families, values_by_config, Comparison, Decision};
use crate::metrics::METRICS;
use crate::plan::Configuration;
use polars::prelude::DataFrame;
use polars::prelude::PolarsResult;
use std::collections::BTreeMap;

/// One run's trial table and configurations.
pub struct RunTrials<'a> {
    pub trials: &'a DataFrame,
    pub configs: &'a [Configuration],
}

/// A configuration's identity across runs: its factor values, in name order.
pub fn config_key(c: &Configuration) -> String {
    let sorted: BTreeMap<&String, String> =
        c.values.iter().map(|(k, v)| (k, v.to_string())).collect();
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why two runs share no configuration: per factor whose levels do not
/// meet, the levels each run has ("quant: A q4_K_M · B q8_0"), a factor
/// only one run has saying "(not in B)".
pub fn differing_levels(a: &[Configuration], b: &[Configuration]) -> Vec<String> {
    let levels = |configs: &[Configuration], f: &str| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in configs.iter().filter_map(|c| c.values.get(f)) {
            let v = v.to_string();
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    };
    let mut names: Vec<&String> = a.iter().chain(b).flat_map(|c| c.values.keys()).collect();
    names.sort();
    names.dedup();
    let side = |v: &[String]| match v.is_empty() {
        true => "(none)".to_string(),
        false => v.join(", "),
    };
    let apart: Vec<String> = names
        .into_iter()
        .filter_map(|f| {
            let (la, lb) = (levels(a, f), levels(b, f));
            let meet = la.iter().any(|l| lb.contains(l));
            (!meet).then(|| format!("{f}: A {} · B {}", side(&la), side(&lb)))
        })
        .collect();
    match apart.is_empty() {
        true => vec!["every factor's levels meet, but in no one configuration of both runs".into()],
        false => apart,
    }
}

/// A regression is a significant change for the worse: slower, less
/// throughput, more errors.
pub fn is_regression(c: &Comparison) -> bool {
    super::compare::tone(c) == super::verdict::Tone::Worse
}

pub fn is_improvement(c: &Comparison) -> bool {
    super::compare::tone(c) == super::verdict::Tone::Better
}

/// Comparisons of B against A for `metrics` (all headline metrics when empty).
/// `level` holds B's configuration label, `baseline_level` A's.
pub fn compare_runs(
    a: &RunTrials,
    b: &RunTrials,
    metrics: &[String],
    d: Decision,
) -> PolarsResult<Vec<Comparison>> {
    let pairs: Vec<(&Configuration, &Configuration)> = a
        .configs
        .iter()
        .filter_map(|ca| {
            let key = config_key(ca);
            b.configs
                .iter()
                .find(|cb| config_key(cb) == key)
                .map(|cb| (ca, cb))
        })
        .collect();
    let mut out = Vec::new();
    for m in METRICS
        .iter()
        .filter(|m| metrics.is_empty() || metrics.iter().any(|x| x == m.column))
    {
        let (va, vb) = (
            values_by_config(a.trials, m.column)?,
            values_by_config(b.trials, m.column)?,
        );
        if va.values().chain(vb.values()).all(Vec::is_empty) {
            continue;
        }
        let empty = Vec::new();
        out.extend(pairs.iter().map(|(ca, cb)| {
            let mut c = compare_values(
                m,
                vb.get(&cb.label).unwrap_or(&empty),
                va.get(&ca.label).unwrap_or(&empty),
                d,
            );
            c.factor = config_key(ca);
            c.level = cb.label.clone();
            c.baseline_level = ca.label.clone();
            c
        }));
    }
    decide_families(&mut out, d);
    Ok(out)
}

/// `compare --csv`: one row per configuration (A's label, as in its
/// trials.parquet) and metric, A and B side by side, Welch's and TOST's columns.
pub fn frame(rows: &[Comparison]) -> PolarsResult<DataFrame> {
    let renamed = [
        ("baseline_level", "configuration"),
        ("level", "configuration_b"),
        ("factor", "levels"),
        ("n_baseline", "n_a"),
        ("n", "n_b"),
        ("mean_baseline", "mean_a"),
        ("mean", "mean_b"),
    ];
    let mut df = super::compare::comparisons_frame(rows)?;
    for (from, to) in renamed {
        df.rename(from, to.into())?;
    }
    let first = [
        "configuration",
        "metric",
        "n_a",
        "n_b",
        "mean_a",
        "mean_b",
        "rel_diff",
        "ci90_low",
        "ci90_high",
        "p_tost",
        "equivalence",
    ];
    let rest: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| !first.contains(&c.as_str()))
        .collect();
    df.select(first.iter().map(|s| s.to_string()).chain(rest))
}

/// "2 regressions, 1 improvement, 12 with no significant change, 1 not
/// testable": a change not shown is not shown absent, so never "unchanged".
pub fn tally(rows: &[Comparison]) -> String {
    let regressions = rows.iter().filter(|c| is_regression(c)).count();
    let improvements = rows.iter().filter(|c| is_improvement(c)).count();
    let untestable = rows
        .iter()
        .filter(|c| matches!(c.verdict, super::verdict::Verdict::NotTestable(_)))
        .count();
    let unchanged = rows.len() - regressions - improvements - untestable;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![
        plural(regressions, "regression", "regressions"),
        plural(improvements, "improvement", "improvements"),
        format!("{unchanged} with no significant change"),
    ];
    if untestable > 0 {
        parts.push(format!("{untestable} not testable"));
    }
    let equivalent = rows
        .iter()
        .filter(|c| c.equivalence == super::verdict::Equivalence::Equivalent)
        .count();
    format!(
        "{}; {equivalent} of {} equivalent",
        parts.join(", "),
        rows.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    fn config(values: &[(&str, Level)]) -> Configuration {
        Configuration {
            index: 0,
            label: String::new(),
            factors: Vec::new(),
            level: None,
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn runs_apart_are_told_by_the_levels_that_do_not_meet() {
        let q = |s: &str| Level::Str(s.into());
        let a = [
            config(&[("quant", q("q4")), ("concurrency", Level::Int(1))]),
            config(&[("quant", q("q4")), ("concurrency", Level::Int(2))]),
        ];
        let b = [config(&[
            ("quant", q("q8")),
            ("concurrency", Level::Int(2)),
            ("np", Level::Int(4)),
        ])];
        assert_eq!(
            differing_levels(&a, &b),
            ["np: A (none) · B 4", "quant: A q4 · B q8"]
        );
        // Each factor meets, no configuration does.
        let c = [
            config(&[("quant", q("q4")), ("concurrency", Level::Int(2))]),
            config(&[("quant", q("q8")), ("concurrency", Level::Int(1))]),
        ];
        let d = [config(&[
            ("quant", q("q4")),
            ("concurrency", Level::Int(1)),
        ])];
        assert_eq!(differing_levels(&c, &d).len(), 1);
        assert!(differing_levels(&c, &d)[0].starts_with("every factor's levels meet"));
    }
}
