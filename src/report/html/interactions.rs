//! Interaction plots of a factorial run: one metric against the levels of
//! one factor, a line per level of another.

use super::charts::Figure;
use super::svg::{Chart, Point, Series, Shape, XAxis};
use crate::analysis::compare::ConfigEstimate;
use crate::level::Level;
use crate::metrics::label as metric_label;
use crate::plan::Configuration;

/// Interaction plots of a factorial run: for each pair of factors and each
/// headline metric (the ones every report shows), the mean at every combination of the pair's
/// levels (averaged over the other factors' levels), one line per level of
/// the second factor. Parallel lines are no interaction; the caption gives
/// the interaction's p from the type-II ANOVA.
pub fn interaction_figures(
    configs: &[Configuration],
    estimates: &[ConfigEstimate],
    factors: &indexmap::IndexMap<String, Vec<Level>>,
    effects: &[(String, crate::analysis::anova::Term)],
) -> Vec<Figure> {
    let names: Vec<&String> = factors.keys().collect();
    let mut out = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            for metric in crate::metrics::shown() {
                let mean_at = |x: &Level, l: &Level| -> Option<f64> {
                    let ys: Vec<f64> = configs
                        .iter()
                        .filter(|c| c.values.get(*a) == Some(x) && c.values.get(*b) == Some(l))
                        .filter_map(|c| {
                            estimates
                                .iter()
                                .find(|e| e.config == c.label && e.metric == metric)
                                .map(|e| e.estimate.mean)
                        })
                        .collect();
                    crate::analysis::stats::mean(&ys)
                };
                let series: Vec<Series> = factors[*b]
                    .iter()
                    .map(|l| Series {
                        name: format!("{b}={l}"),
                        points: factors[*a]
                            .iter()
                            .enumerate()
                            .filter_map(|(k, x)| Some(Point::new(k as f64, mean_at(x, l)?)))
                            .collect(),
                        shape: Shape::Line,
                        marked: None,
                    })
                    .filter(|s| !s.points.is_empty())
                    .collect();
                if series.is_empty() {
                    continue;
                }
                let term = format!("{a}:{b}");
                let p = effects
                    .iter()
                    .find(|(m, t)| m == metric && t.term == term)
                    .and_then(|(_, t)| t.p);
                out.push(Figure {
                    chart: Chart {
                        title: format!("{} by {a} and {b}", metric_label(metric)),
                        x_label: a.to_string(),
                        y_label: metric_label(metric),
                        x: XAxis::Categories(factors[*a].iter().map(ToString::to_string).collect()),
                        series,
                        y_from_zero: crate::metrics::from_zero(metric),
                    },
                    caption: format!(
                        "Mean of the per-trial values at each {a} and {b}, over the other factors' levels. Parallel lines: no interaction; the {term} interaction's p is {} (type-II ANOVA).",
                        crate::report::p_value(p)
                    ),
                });
            }
        }
    }
    out
}
