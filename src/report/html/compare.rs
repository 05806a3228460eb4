//! The comparison page of `infer-bench compare`: two runs side by side, each
//! configuration's change with its confidence interval, and the verdicts.

use super::charts::Figure;
use super::svg::{Chart, Point, Series, Shape, XAxis};
use super::{escape, figure_grid, table, Page};
use crate::analysis::between_runs::{config_key, tally};
use crate::analysis::compare::{tone, values_by_config, Comparison, Decision};
use crate::analysis::welch::estimate;
use crate::capacity::between::{Change, Verdict};
use crate::metrics::label as metric_label;
use crate::results::RunData;
use polars::prelude::DataFrame;
use std::collections::HashMap;
use std::fmt::Write;

/// One run and its per-trial table.
pub struct Side<'a> {
    pub run: &'a RunData,
    pub trials: &'a DataFrame,
}

fn run_column(run: &RunData) -> Vec<String> {
    let m = &run.manifest;
    vec![
        run.dir.display().to_string(),
        m.run_id.clone(),
        m.experiment_name.clone(),
        m.started_at.clone(),
        m.tool.to_string(),
        m.target_url
            .as_deref()
            .map_or_else(|| "–".into(), crate::redact::url),
        crate::report::html::history::fingerprint(m),
        m.gpu.clone().unwrap_or_else(|| "–".into()),
        format!("{} · {} CPUs", m.host.hostname, m.host.cpus),
        format!("{} trials, {} requests", m.trials_done, m.requests_recorded),
    ]
}

/// Per shown metric: A's and B's means with their 95 % intervals, and B's
/// change against A with its interval.
fn figures(a: &Side, b: &Side, rows: &[Comparison]) -> anyhow::Result<Vec<Figure>> {
    let mut out = Vec::new();
    for metric in crate::metrics::shown() {
        let family: Vec<&Comparison> = rows.iter().filter(|c| c.metric == metric).collect();
        if family.is_empty() {
            continue;
        }
        out.push(means_figure(a, b, metric, &family)?);
        out.push(change_figure(metric, &family));
    }
    Ok(out)
}

/// One side's means at the configurations named by `labels`, shifted by `dx`
/// so A's and B's intervals stand apart.
fn side_series(
    (values, metric): (&HashMap<String, Vec<f64>>, &str),
    labels: &[&str],
    dx: f64,
    name: &str,
) -> Series {
    let points = labels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let e = estimate(values.get(*l)?)?;
            Some(Point::estimate(i as f64 + dx, e.mean, e.ci, metric))
        })
        .collect();
    Series {
        name: name.to_string(),
        points,
        shape: Shape::Points,
        marked: None,
    }
}

/// A's and B's means of `metric` per configuration, with their 95 % intervals.
fn means_figure(
    a: &Side,
    b: &Side,
    metric: &str,
    family: &[&Comparison],
) -> anyhow::Result<Figure> {
    let names: Vec<String> = family.iter().map(|c| c.baseline_level.clone()).collect();
    let (va, vb) = (
        values_by_config(a.trials, metric)?,
        values_by_config(b.trials, metric)?,
    );
    let a_labels: Vec<&str> = family.iter().map(|c| c.baseline_level.as_str()).collect();
    let b_labels: Vec<&str> = family.iter().map(|c| c.level.as_str()).collect();
    Ok(Figure {
        chart: Chart {
            title: format!("{} in A and B", metric_label(metric)),
            x_label: "configuration".into(),
            y_label: metric_label(metric),
            x: XAxis::Categories(names),
            series: vec![
                side_series((&va, metric), &a_labels, -0.12, "A"),
                side_series((&vb, metric), &b_labels, 0.12, "B"),
            ],
            y_from_zero: crate::metrics::from_zero(metric),
        },
        caption: "Mean of the per-trial values with its 95 % t interval, A left, B right.".into(),
    })
}

/// B's relative change in `metric` per configuration, with its Welch interval.
fn change_figure(metric: &str, family: &[&Comparison]) -> Figure {
    let names: Vec<String> = family.iter().map(|c| c.baseline_level.clone()).collect();
    let change = Series {
        name: "B against A".into(),
        points: family
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                Some(Point {
                    x: i as f64,
                    y: c.rel_diff? * 100.0,
                    interval: c
                        .rel_ci_low
                        .zip(c.rel_ci_high)
                        .map(|(l, h)| (l * 100.0, h * 100.0)),
                })
            })
            .collect(),
        shape: Shape::Points,
        marked: None,
    };
    Figure {
        chart: Chart {
            title: format!("Change in {}", metric_label(metric)),
            x_label: "configuration".into(),
            y_label: "B vs A, %".into(),
            x: XAxis::Categories(names),
            series: vec![change],
            y_from_zero: true,
        },
        caption: "B's change relative to A with the 95 % Welch interval; an interval that crosses the dashed zero line is no evidence of change.".into(),
    }
}

/// Each configuration's capacity in A and B, and B − A with its interval
/// and verdict: a section of its own where both runs are capacity searches.
fn capacities_section(page: &mut Page, changes: &[Change]) {
    let Some(first) = changes.first() else {
        return;
    };
    let (header, lines) = crate::capacity::between::lines(changes);
    let body: Vec<(Vec<String>, Option<&str>)> = lines
        .into_iter()
        .zip(changes)
        .map(|(line, c)| {
            let class = match c.verdict {
                Verdict::Higher => Some("better"),
                Verdict::Lower => Some("worse"),
                Verdict::NoDifference => None,
            };
            (line, class)
        })
        .collect();
    let html = format!(
        "<p>Each run's capacity within the SLOs with its {0} % interval, and B − A with its {0} % \
         bootstrap interval (the two runs' replicates paired at random: the runs are independent). \
         Higher or lower where that interval excludes 0.</p>{1}",
        (first.confidence * 1e4).round() / 1e2,
        table(&header, &body)
    );
    page.section("capacity", "Capacity", &html);
}

pub fn compare_page(
    a: &Side,
    b: &Side,
    rows: &[Comparison],
    capacities: &[Change],
    d: Decision,
) -> anyhow::Result<String> {
    let mut page = Page::new(&format!(
        "{} vs {} · infer-bench",
        a.run.manifest.run_id, b.run.manifest.run_id
    ));
    page.header(
        &format!("{}: B against A", a.run.manifest.experiment_name),
        Some(&tally(rows)),
    );
    let keys = [
        "folder",
        "run",
        "experiment",
        "started",
        "tool",
        "target",
        "server",
        "GPU",
        "host",
        "size",
    ];
    let (ca, cb) = (run_column(a.run), run_column(b.run));
    let runs: Vec<(Vec<String>, Option<&str>)> = keys
        .iter()
        .zip(ca.into_iter().zip(cb))
        .map(|(k, (x, y))| (vec![k.to_string(), x, y], None))
        .collect();
    let mut runs_html = table(&["".into(), "A".into(), "B".into()], &runs);
    runs_html = runs_html.replacen("<table>", "<table class=\"runs\">", 1);
    let _ = write!(
        runs_html,
        "<p class=\"note\">Configurations are matched by their factor levels ({}).</p>",
        escape(
            &a.run
                .configurations
                .first()
                .map(config_key)
                .unwrap_or_default()
        )
    );
    page.section("runs", "The two runs", &runs_html);
    capacities_section(&mut page, capacities);
    page.section("charts", "Changes", &figure_grid(&figures(a, b, rows)?));

    let (header, lines) = crate::report::between_runs_lines(rows);
    let body: Vec<(Vec<String>, Option<&str>)> = lines
        .into_iter()
        .zip(rows)
        .map(|(line, c)| (line, Some(tone(c).class())))
        .collect();
    let verdicts = format!(
        "<p>Welch's t-test of B against A over per-trial values, Holm-adjusted {}; a verdict needs an \
         adjusted p below {} and a change larger than {} %. TOST says whether B is the same as A within ±{} % \
         (equivalent), is not (different), or cannot tell (inconclusive), each comparison on its own.</p>{}",
        d.family.describe(),
        d.alpha,
        d.threshold * 100.0,
        d.equivalence * 100.0,
        table(&header, &body)
    );
    page.section("verdicts", "Verdicts", &verdicts);
    Ok(page.finish())
}
