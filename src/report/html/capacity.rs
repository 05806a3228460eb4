//! A capacity search's charts, per configuration: every trial's margin on
//! the binding objective against load with the fitted curve, its bootstrap
//! band, the zero line and the capacity with its interval; and the
//! throughput each probe achieved against its latency.

use super::charts::Figure;
use super::svg::{Chart, Point, Series, Shape, XAxis};
use crate::analysis::compare::ConfigEstimate;
use crate::capacity::{band, fit, Objective};
use crate::experiment::Slo;
use crate::metrics::label as metric_label;
use crate::report::capacity::{latency_column, load_words, short};
use crate::report::searches::Replayed;

/// Loads spanning more than this ratio are drawn on a logarithmic axis.
const LOG_SPAN: f64 = 10.0;

fn load_axis(loads: impl Iterator<Item = f64>) -> XAxis {
    let (lo, hi) = loads.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    XAxis::Numeric {
        log: lo > 0.0 && hi / lo > LOG_SPAN,
    }
}

/// The objective a search's chart follows: the binding one of its outcome,
/// or of its fit so far where it did not finish.
fn binding(r: &Replayed) -> Option<usize> {
    match &r.outcome {
        Some(o) => Some(o.estimate.fit.binding),
        None => fit(r.search.probes(), r.objectives.len()).map(|f| f.binding),
    }
}

/// The factor's name and unit, for an axis.
fn load_label(r: &Replayed) -> String {
    let f = r.search.spec().factor;
    format!("{}, {}", f.name(), f.unit())
}

/// Margin of the binding objective against load: the trials as dots, the
/// fitted curve, its pointwise band and the capacity with its interval.
pub fn margin_figure(r: &Replayed) -> Option<Figure> {
    let j = binding(r)?;
    let objective: &Objective = r.objectives.get(j)?;
    let spec = r.search.spec();
    let k = r.objectives.len();
    let curve = band::band(r.search.probes(), k, j, spec.confidence, r.search.seed());
    let share = crate::limits::show(spec.confidence * 100.0);
    let mut series = vec![
        Series {
            name: format!("{share} % band (bootstrap, pointwise)"),
            points: curve
                .iter()
                .map(|b| Point {
                    x: b.load,
                    y: b.fitted,
                    interval: Some((b.low, b.high)),
                })
                .collect(),
            shape: Shape::Band,
            marked: None,
        },
        Series {
            name: "fitted margin (monotone)".into(),
            points: curve.iter().map(|b| Point::new(b.load, b.fitted)).collect(),
            shape: Shape::Line,
            marked: None,
        },
        Series {
            name: "trials".into(),
            points: r
                .probes
                .iter()
                .flat_map(|p| p.trials.iter().map(|(_, m)| Point::new(p.load, m[j])))
                .collect(),
            shape: Shape::Points,
            marked: None,
        },
    ];
    if let Some(o) = &r.outcome {
        let (x, i) = o.reported();
        series.push(Series {
            name: format!(
                "capacity {} [{}, {}]",
                load_words(round(x)),
                load_words(round(i.low)),
                load_words(round(i.high))
            ),
            points: vec![Point {
                x,
                y: 0.0,
                interval: Some((i.low, i.high)),
            }],
            shape: Shape::Span,
            marked: None,
        });
    }
    Some(Figure {
        chart: Chart {
            title: format!("{}: margin on {}", r.configuration, short(objective)),
            x_label: load_label(r),
            y_label: "margin (≥ 0 holds)".into(),
            x: load_axis(r.probes.iter().map(|p| p.load)),
            series,
            y_from_zero: true,
        },
        caption: format!(
            "Each dot is a trial's margin on the binding objective ({}) at its probe's load; the line is the \
             monotone fit over every probe, the band its {share} % bootstrap band at each load, the dashed line \
             at zero where the objective stops holding. The vertical line is the capacity, shaded over its interval.",
            objective.says
        ),
    })
}

/// A value to a tenth, for a legend.
fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Each probe's achieved throughput against the latency the binding
/// objective judges, each point labelled with its load.
pub fn throughput_figure(r: &Replayed, estimates: &[ConfigEstimate], slo: &Slo) -> Figure {
    let key = binding(r)
        .and_then(|j| r.objectives.get(j))
        .map_or("", |o| o.key.as_str());
    let latency = latency_column(slo, key);
    let mean = |label: &str, metric: &str| {
        estimates
            .iter()
            .find(|e| e.config == label && e.metric == metric)
            .map(|e| e.estimate.mean)
    };
    let mut probes: Vec<_> = r.probes.iter().collect();
    probes.sort_by(|a, b| a.load.total_cmp(&b.load));
    let unit = r.search.spec().factor.unit();
    let series = probes
        .into_iter()
        .filter_map(|p| {
            let x = mean(&p.label, "requests_per_s")?;
            let y = mean(&p.label, &latency)?;
            let at = format!("{} {unit}", load_words(p.load));
            Some(Series {
                name: at.clone(),
                points: vec![Point::new(x, y)],
                shape: Shape::Points,
                marked: Some((0, at)),
            })
        })
        .collect();
    Figure {
        chart: Chart {
            title: format!("{}: throughput and latency by probe", r.configuration),
            x_label: "achieved req/s".into(),
            y_label: metric_label(&latency),
            x: XAxis::Numeric { log: false },
            series,
            y_from_zero: true,
        },
        caption: format!(
            "Each point is a probe: the requests per second it completed against its {} (means across its trials), \
             labelled with the load offered. Where throughput stops growing and latency climbs, the server is saturated.",
            metric_label(&latency)
        ),
    }
}

#[cfg(test)]
#[path = "capacity_tests.rs"]
mod tests;
