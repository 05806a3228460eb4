//! Where a factor's levels sit on a chart's x axis: in order, numeric
//! (logarithmic where they span far) or as categories, and an open loop's
//! at the rates its trials achieved.

use super::svg::XAxis;
use crate::analysis::compare::ConfigEstimate;
use crate::level::Level;
use crate::plan::Configuration;

/// The factor's levels in ascending order, the baseline's among them, with
/// the configuration measured at each.
pub(super) fn levels<'a>(
    configs: &'a [Configuration],
    factor: &str,
) -> Vec<(&'a Level, &'a Configuration)> {
    let Some(baseline) = configs.first() else {
        return Vec::new();
    };
    let mut out: Vec<(&Level, &Configuration)> = baseline
        .values
        .get(factor)
        .map(|l| (l, baseline))
        .into_iter()
        .chain(
            configs
                .iter()
                .filter(|c| c.single_factor() == Some(factor))
                .filter_map(|c| c.level.as_ref().map(|l| (l, c))),
        )
        .collect();
    if out.iter().all(|(l, _)| l.as_f64().is_some()) {
        out.sort_by(|a, b| {
            a.0.as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b.0.as_f64().unwrap_or(0.0))
        });
    }
    out
}

/// Numeric levels on a numeric axis (logarithmic when they span 16× or more
/// and are all positive), anything else as categories in plan order.
pub(super) fn axis_for(levels: &[(&Level, &Configuration)]) -> (XAxis, Vec<f64>) {
    let numbers: Option<Vec<f64>> = levels.iter().map(|(l, _)| l.as_f64()).collect();
    match numbers {
        Some(xs) if !xs.is_empty() => (numeric_axis(&xs), xs),
        _ => (
            XAxis::Categories(levels.iter().map(|(l, _)| l.to_string()).collect()),
            (0..levels.len()).map(|i| i as f64).collect(),
        ),
    }
}

/// Where a factor's levels sit on the x axis, and the axis's words.
pub(super) struct Positions {
    pub axis: XAxis,
    pub xs: Vec<f64>,
    pub label: String,
}

/// An open loop's levels at the rates the trials achieved (a Poisson
/// trial of few requests lands far from its nominal rate; the table keeps
/// the nominal one), every other factor's at its levels.
pub(super) fn positions(
    factor: &str,
    levels: &[(&Level, &Configuration)],
    estimates: &[ConfigEstimate],
) -> Positions {
    let achieved: Option<Vec<f64>> = (factor == "rate")
        .then(|| {
            levels
                .iter()
                .map(|(_, c)| {
                    estimates
                        .iter()
                        .find(|e| e.config == c.label && e.metric == "achieved_rate_rps")
                        .map(|e| e.estimate.mean)
                        .filter(|r| *r > 0.0)
                })
                .collect()
        })
        .flatten();
    match achieved {
        Some(xs) => Positions {
            axis: numeric_axis(&xs),
            xs,
            label: "achieved rate, req/s".into(),
        },
        None => {
            let (axis, xs) = axis_for(levels);
            Positions {
                axis,
                xs,
                label: factor.to_string(),
            }
        }
    }
}

/// A numeric axis, logarithmic when the values span 16× or more and are all positive.
pub(super) fn numeric_axis(xs: &[f64]) -> XAxis {
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(*x), b.max(*x))
        });
    XAxis::Numeric {
        log: lo > 0.0 && hi / lo >= 16.0,
    }
}
