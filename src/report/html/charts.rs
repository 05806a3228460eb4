//! The report's charts, built from the analysis: each factor's effect on the
//! headline metrics (mean with its 95 % CI, baseline marked), throughput and
//! latency against load, TTFT against input length, and latency ECDFs.

use super::axis::{axis_for, levels, positions, Positions};
use super::svg::{Chart, Point, Series, Shape, XAxis};
use crate::analysis::compare::ConfigEstimate;
use crate::analysis::stream::{ConfigDigest, Digest};
use crate::level::Level;
use crate::metrics::label as metric_label;
use crate::plan::Configuration;

/// A chart with the legend and caption the page shows under it.
pub struct Figure {
    pub chart: Chart,
    pub caption: String,
}

/// Factors that set the offered load, charted as curves.
const LOAD_FACTORS: &[&str] = &["concurrency", "rate"];

fn estimate_point(
    estimates: &[ConfigEstimate],
    config: &str,
    metric: &str,
    x: f64,
) -> Option<Point> {
    let e = estimates
        .iter()
        .find(|e| e.config == config && e.metric == metric)?;
    Some(Point::estimate(x, e.estimate.mean, e.estimate.ci, metric))
}

/// One series of `metric` over a factor's levels, the baseline ringed.
fn factor_series(
    name: &str,
    metric: &str,
    levels: &[(&Level, &Configuration)],
    xs: &[f64],
    estimates: &[ConfigEstimate],
) -> Series {
    let mut marked = None;
    let mut points = Vec::new();
    for ((_, config), x) in levels.iter().zip(xs) {
        if let Some(p) = estimate_point(estimates, &config.label, metric, *x) {
            if config.index == 0 {
                marked = Some((points.len(), crate::plan::BASELINE.to_string()));
            }
            points.push(p);
        }
    }
    Series {
        name: name.to_string(),
        points,
        shape: Shape::Line,
        marked,
    }
}

/// Several metrics over the same levels; only the first series labels the
/// baseline, so the labels do not pile up.
fn series_of(
    metrics: &[&str],
    levels: &[(&Level, &Configuration)],
    xs: &[f64],
    estimates: &[ConfigEstimate],
) -> Vec<Series> {
    let mut out: Vec<Series> = metrics
        .iter()
        .map(|m| factor_series(&metric_label(m), m, levels, xs, estimates))
        .filter(|s| !s.points.is_empty())
        .collect();
    for s in out.iter_mut().skip(1) {
        if let Some(mark) = &mut s.marked {
            mark.1.clear();
        }
    }
    out
}

/// Per factor, each headline metric against its levels.
pub fn factor_figures(
    configs: &[Configuration],
    estimates: &[ConfigEstimate],
) -> Vec<(String, Vec<Figure>)> {
    let mut factors: Vec<&str> = Vec::new();
    for c in configs.iter().skip(1) {
        // (A factorial cell that differs in several factors has them all,
        // comma-separated: its factors' charts come from the cells one away.)
        if let Some(f) = c.single_factor() {
            if !factors.contains(&f) {
                factors.push(f);
            }
        }
    }
    factors
        .into_iter()
        .map(|factor| {
            let levels = levels(configs, factor);
            let at = positions(factor, &levels, estimates);
            let figures = crate::metrics::charted()
                .filter_map(|metric| {
                    let series = factor_series(&metric_label(metric), metric, &levels, &at.xs, estimates);
                    // All zeros where zero is ideal (no errors) says nothing.
                    let ideal = crate::metrics::by_column(metric)
                        .is_some_and(|m| m.from_zero && !m.higher_is_better());
                    if series.points.is_empty() || (ideal && series.points.iter().all(|p| p.y == 0.0)) {
                        return None;
                    }
                    Some(Figure {
                        chart: Chart {
                            title: format!("{} by {factor}", metric_label(metric)),
                            x_label: at.label.clone(),
                            y_label: metric_label(metric),
                            x: at.axis.clone(),
                            series: vec![series],
                            y_from_zero: crate::metrics::from_zero(metric),
                        },
                        caption: format!(
                            "{}: mean of the per-trial values with its 95 % t interval; the ringed point is the baseline.",
                            metric_label(metric)
                        ),
                    })
                })
                .collect();
            (factor.to_string(), figures)
        })
        .collect()
}

/// The load factors the plan varies, each with its levels and where they sit.
type LoadAxis<'a> = (&'static str, Vec<(&'a Level, &'a Configuration)>, Positions);

fn load_axes<'a>(configs: &'a [Configuration], estimates: &[ConfigEstimate]) -> Vec<LoadAxis<'a>> {
    LOAD_FACTORS
        .iter()
        .filter(|f| configs.iter().any(|c| c.single_factor() == Some(**f)))
        .map(|factor| {
            let levels = levels(configs, factor);
            let at = positions(factor, &levels, estimates);
            (*factor, levels, at)
        })
        .collect()
}

/// Throughput and latency against the offered load, where a load factor varies.
pub fn load_figures(configs: &[Configuration], estimates: &[ConfigEstimate]) -> Vec<Figure> {
    let mut out = Vec::new();
    for (factor, levels, at) in load_axes(configs, estimates) {
        let (axis, xs) = (&at.axis, &at.xs);
        let series = |metrics: &[&str]| series_of(metrics, &levels, xs, estimates);
        out.push(Figure {
            chart: Chart {
                title: format!("Throughput vs {factor}"),
                x_label: at.label.clone(),
                y_label: "output tokens/s".into(),
                x: axis.clone(),
                series: series(&["output_tok_s"]),
                y_from_zero: true,
            },
            caption: format!(
                "Output tokens per second of wall time against {factor}; where the curve flattens the server is saturated."
            ),
        });
        for (name, metrics) in [
            ("TTFT", ["ttft_p50_ms", "ttft_p95_ms"]),
            ("E2E", ["e2e_p50_ms", "e2e_p95_ms"]),
        ] {
            out.push(Figure {
                chart: Chart {
                    title: format!("{name} vs {factor}"),
                    x_label: at.label.clone(),
                    y_label: format!("{name} ms"),
                    x: axis.clone(),
                    series: series(&metrics),
                    y_from_zero: true,
                },
                caption: format!(
                    "{name} p50 and p95 against {factor}, each the mean of the per-trial values with its 95 % interval."
                ),
            });
        }
    }
    out
}

/// Goodput beside all completed requests per second against the offered
/// rate (or concurrency), and cost per million output tokens per
/// configuration where a price is known.
pub fn service_figures(configs: &[Configuration], estimates: &[ConfigEstimate]) -> Vec<Figure> {
    let mut out = Vec::new();
    for (factor, levels, at) in load_axes(configs, estimates) {
        let (axis, xs) = (&at.axis, &at.xs);
        out.push(Figure {
            chart: Chart {
                title: format!("Goodput vs {factor}"),
                x_label: at.label.clone(),
                y_label: "req/s".into(),
                x: axis.clone(),
                series: series_of(&["goodput_rps", "requests_per_s"], &levels, xs, estimates),
                y_from_zero: true,
            },
            caption: format!(
                "Requests per second that met every per-request SLO (goodput) beside all completed requests per second, against {factor}: where they part, the server is past what it can serve within the SLOs."
            ),
        });
    }
    let has_cost = estimates
        .iter()
        .any(|e| e.metric == "usd_per_1m_output_tokens");
    if has_cost {
        let names: Vec<String> = configs.iter().map(|c| c.label.clone()).collect();
        let points = configs
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                estimate_point(estimates, &c.label, "usd_per_1m_output_tokens", i as f64)
            })
            .collect();
        out.push(Figure {
            chart: Chart {
                title: "Cost per 1M output tokens".into(),
                x_label: "configuration".into(),
                y_label: "USD".into(),
                x: XAxis::Categories(names),
                series: vec![Series {
                    name: "$/1M output tokens".into(),
                    points,
                    shape: Shape::Points,
                    marked: None,
                }],
                y_from_zero: true,
            },
            caption: "The hourly price over the output tokens a trial produced per hour, with its 95 % interval across trials.".into(),
        });
    }
    out
}

/// TTFT against prompt length, where `input_tokens` varies.
pub fn input_length_figure(
    configs: &[Configuration],
    estimates: &[ConfigEstimate],
) -> Option<Figure> {
    let factor = "input_tokens";
    if !configs.iter().any(|c| c.single_factor() == Some(factor)) {
        return None;
    }
    let levels = levels(configs, factor);
    let (axis, xs) = axis_for(&levels);
    let series = series_of(&["ttft_p50_ms", "ttft_p95_ms"], &levels, &xs, estimates);
    Some(Figure {
        chart: Chart {
            title: "TTFT vs input length".into(),
            x_label: "input tokens".into(),
            y_label: "TTFT ms".into(),
            x: axis,
            series,
            y_from_zero: true,
        },
        caption:
            "Time to first token against prompt length: the slope is the prefill cost per token."
                .into(),
    })
}

/// ECDFs of a per-request latency, one curve per configuration, successful
/// requests only.
pub fn distribution_figure(
    configs: &[Configuration],
    digest: &Digest,
    title: &str,
    points: fn(&ConfigDigest) -> &Vec<(f64, f64)>,
) -> Figure {
    let series = configs
        .iter()
        .zip(&digest.configs)
        .map(|(c, d)| Series {
            name: c.label.clone(),
            points: points(d).iter().map(|&(x, y)| Point::new(x, y)).collect(),
            shape: Shape::Step,
            marked: None,
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    Figure {
        chart: Chart {
            title: format!("{title} distribution"),
            x_label: format!("{title} ms"),
            y_label: "fraction of requests ≤ x".into(),
            x: XAxis::Numeric { log: false },
            series,
            y_from_zero: true,
        },
        caption: format!(
            "Empirical CDF of {title} per configuration over every successful request of every trial; \
             read the p50 at 0.5 and the p95 at 0.95."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::welch::estimate;
    use indexmap::IndexMap;

    fn config(
        index: usize,
        factor: Option<&str>,
        level: Option<Level>,
        values: &[(&str, Level)],
    ) -> Configuration {
        let values: IndexMap<String, Level> = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        Configuration {
            index,
            label: match (&factor, &level) {
                (Some(f), Some(l)) => format!("{f}={l}"),
                _ => "baseline".into(),
            },
            factors: factor.map(str::to_string).into_iter().collect(),
            level,
            values,
        }
    }

    fn plan() -> Vec<Configuration> {
        let base = [
            ("concurrency", Level::Int(4)),
            ("quant", Level::Str("q4".into())),
        ];
        vec![
            config(0, None, None, &base),
            config(1, Some("concurrency"), Some(Level::Int(1)), &base),
            config(2, Some("concurrency"), Some(Level::Int(64)), &base),
            config(3, Some("quant"), Some(Level::Str("q8".into())), &base),
        ]
    }

    fn est(config: &str, metric: &str, values: &[f64]) -> ConfigEstimate {
        ConfigEstimate {
            config: config.into(),
            metric: metric.into(),
            estimate: estimate(values).unwrap(),
            mde_rel_80: None,
        }
    }

    #[test]
    fn factor_charts_sort_levels_and_ring_the_baseline() {
        let configs = plan();
        let estimates = vec![
            est("baseline", "output_tok_s", &[40.0, 42.0, 44.0]),
            est("concurrency=1", "output_tok_s", &[10.0, 11.0, 12.0]),
            est("concurrency=64", "output_tok_s", &[80.0, 81.0, 82.0]),
            est("quant=q8", "output_tok_s", &[30.0, 31.0, 32.0]),
        ];
        let figures = factor_figures(&configs, &estimates);
        assert_eq!(
            figures.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
            ["concurrency", "quant"]
        );
        let chart = &figures[0].1[0].chart;
        // 1, 4 (baseline), 64: sorted, spanning 64× so logarithmic.
        assert_eq!(chart.x, XAxis::Numeric { log: true });
        let s = &chart.series[0];
        assert_eq!(
            s.points.iter().map(|p| p.x).collect::<Vec<_>>(),
            [1.0, 4.0, 64.0]
        );
        assert_eq!(
            s.points.iter().map(|p| p.y).collect::<Vec<_>>(),
            [11.0, 42.0, 81.0]
        );
        assert_eq!(s.marked.as_ref().map(|m| m.0), Some(1));
        let (lo, hi) = s.points[1].interval.unwrap();
        assert!(lo < 42.0 && hi > 42.0);
        // Text levels keep plan order as categories, the baseline first.
        let quant = &figures[1].1[0].chart;
        assert_eq!(quant.x, XAxis::Categories(vec!["q4".into(), "q8".into()]));
        // Metrics with no estimates get no chart.
        assert_eq!(figures[0].1.len(), 1);
    }

    #[test]
    fn open_loop_charts_sit_at_the_achieved_rate() {
        let base = [("rate", Level::Float(0.3))];
        let configs = vec![
            config(0, None, None, &base),
            config(1, Some("rate"), Some(Level::Float(1.0)), &base),
        ];
        let mut estimates = vec![
            est("baseline", "output_tok_s", &[5.0, 6.0]),
            est("rate=1", "output_tok_s", &[15.0, 16.0]),
        ];
        // Without the achieved rate, the nominal levels.
        let load = load_figures(&configs, &estimates);
        let xs = |c: &Chart| c.series[0].points.iter().map(|p| p.x).collect::<Vec<_>>();
        assert_eq!(xs(&load[0].chart), [0.3, 1.0]);
        assert_eq!(load[0].chart.x_label, "rate");
        estimates.push(est("baseline", "achieved_rate_rps", &[0.15, 0.25]));
        estimates.push(est("rate=1", "achieved_rate_rps", &[0.9, 0.8]));
        let load = load_figures(&configs, &estimates);
        let factor = factor_figures(&configs, &estimates);
        for chart in [&load[0].chart, &factor[0].1[0].chart] {
            let at = xs(chart);
            assert!(
                (at[0] - 0.2).abs() < 1e-12 && (at[1] - 0.85).abs() < 1e-12,
                "{at:?}"
            );
            assert_eq!(chart.x_label, "achieved rate, req/s");
        }
    }

    #[test]
    fn load_and_input_length_charts_appear_only_for_their_factors() {
        let configs = plan();
        assert_eq!(load_figures(&configs, &[]).len(), 3);
        assert!(input_length_figure(&configs, &[]).is_none());
        assert!(load_figures(&configs[..1], &[]).is_empty());
    }
}
