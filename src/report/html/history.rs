//! The history page of `infer-bench history`: the runs of one experiment over
//! time, and a chosen metric across them per configuration.

use super::charts::Figure;
use super::svg::{Chart, Point, Series, Shape, XAxis};
use super::{figure_grid, table, Page};
use crate::analysis::welch::Estimate;
use crate::metrics::label as metric_label;
use crate::results::Manifest;

/// One run in the history, with per-configuration estimates of the metrics.
pub struct HistoryRun {
    pub dir: std::path::PathBuf,
    pub manifest: Manifest,
    /// (configuration label, metric column) → estimate over its trials.
    pub estimates: Vec<(String, String, Estimate)>,
}

impl HistoryRun {
    pub fn estimate(&self, config: &str, metric: &str) -> Option<&Estimate> {
        self.estimates
            .iter()
            .find(|(c, m, _)| c == config && m == metric)
            .map(|(_, _, e)| e)
    }
}

/// What served the run, in short: the model file's name and hash, the
/// server's build, the model it named; the target URL when nothing was launched.
pub fn fingerprint(m: &Manifest) -> String {
    let Some(launch) = m.servers.first() else {
        return m
            .target_url
            .as_deref()
            .map_or_else(|| "–".into(), crate::redact::url);
    };
    let f = &launch.fingerprint;
    let mut parts = Vec::new();
    if let Some(file) = &f.model_file {
        let name = std::path::Path::new(&file.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        parts.push(format!("{name} {}", file.sha256_prefix(12)));
    }
    if let Some(build) = f.build() {
        parts.push(build);
    }
    if parts.is_empty() {
        if let Some(id) = f
            .models
            .as_ref()
            .and_then(|m| m.pointer("/data/0/id"))
            .and_then(|i| i.as_str())
        {
            parts.push(id.to_string());
        }
    }
    if m.servers.len() > 1 {
        parts.push(format!("+{} launches", m.servers.len() - 1));
    }
    parts.join(" · ")
}

/// Header and rows of the history table: one row per run, the headline
/// metrics of `config`.
pub fn history_rows(runs: &[HistoryRun], config: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "started",
        "run",
        "status",
        "tool",
        "commit",
        "server",
        "output tok/s",
        "TTFT p50 ms",
        "E2E p50 ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let cell = |r: &HistoryRun, metric: &str| {
        crate::report::format_num(r.estimate(config, metric).map(|e| e.mean))
    };
    let rows = runs
        .iter()
        .map(|r| {
            let m = &r.manifest;
            vec![
                m.started_at.clone(),
                m.run_id.clone(),
                format!("{:?}", m.status).to_lowercase(),
                m.tool.version.clone(),
                m.tool
                    .git_commit
                    .as_deref()
                    .map(|c| c.chars().take(10).collect())
                    .unwrap_or_else(|| "–".into()),
                fingerprint(m),
                cell(r, "output_tok_s"),
                cell(r, "ttft_p50_ms"),
                cell(r, "e2e_p50_ms"),
            ]
        })
        .collect();
    (header, rows)
}

/// `metric` across the runs, one series per configuration that appears in any.
pub fn history_figure(runs: &[HistoryRun], metric: &str) -> Figure {
    let label = metric_label(metric);
    let mut configs: Vec<&str> = Vec::new();
    for r in runs {
        for (c, m, _) in &r.estimates {
            if m == metric && !configs.contains(&c.as_str()) {
                configs.push(c);
            }
        }
    }
    let series = configs
        .iter()
        .map(|c| Series {
            name: c.to_string(),
            points: runs
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    let e = r.estimate(c, metric)?;
                    Some(Point::estimate(i as f64, e.mean, e.ci, metric))
                })
                .collect(),
            shape: Shape::Line,
            marked: None,
        })
        .collect();
    Figure {
        chart: Chart {
            title: format!("{label} across runs"),
            x_label: "run (oldest first)".into(),
            y_label: label.clone(),
            x: XAxis::Categories(
                // Month, day and time: runs of one day stay apart.
                runs.iter()
                    .map(|r| r.manifest.started_at.chars().skip(5).take(11).collect())
                    .collect(),
            ),
            series,
            y_from_zero: crate::metrics::from_zero(metric),
        },
        caption: format!(
            "{label} per configuration in each run: mean of the per-trial values with its 95 % t interval."
        ),
    }
}

pub fn history_page(experiment: &str, runs: &[HistoryRun], metric: &str, config: &str) -> String {
    let mut page = Page::new(&format!("{experiment} history · infer-bench"));
    page.header(
        &format!("{experiment}: history"),
        Some(&format!("{} runs, oldest first.", runs.len())),
    );
    page.section(
        "chart",
        "Across runs",
        &figure_grid(&[history_figure(runs, metric)]),
    );
    let (header, rows) = history_rows(runs, config);
    let rows: Vec<(Vec<String>, Option<&str>)> = rows.into_iter().map(|r| (r, None)).collect();
    page.section(
        "runs",
        &format!("Runs (metrics of {config})"),
        &table(&header, &rows),
    );
    page.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::welch::estimate;

    fn run(id: &str, started: &str, tok_s: &[f64]) -> HistoryRun {
        let manifest: Manifest = serde_json::from_value(serde_json::json!({
            "run_id": id, "experiment_name": "e", "status": "complete",
            "tool": {"name": "infer-bench", "version": "0.1.0", "git_commit": "0123456789abcdef"},
            "experiment": {"path": "e.yaml", "sha256": "00", "copy": "experiment.yaml"},
            "prompts": {"path": "p.yaml", "sha256": "00", "copy": "prompts.yaml"},
            "seed": 1, "host": {"hostname": "h", "os": "linux", "arch": "x86_64", "cpus": 2},
            "target_url": "http://127.0.0.1:1/v1", "started_at": started, "ended_at": null,
            "trials_planned": 3, "trials_done": 3, "requests_recorded": 9
        }))
        .unwrap();
        HistoryRun {
            dir: id.into(),
            manifest,
            estimates: vec![(
                "baseline".into(),
                "output_tok_s".into(),
                estimate(tok_s).unwrap(),
            )],
        }
    }

    #[test]
    fn rows_and_chart_follow_the_runs() {
        let runs = vec![
            run("r1", "2026-11-01T10:00:00Z", &[10.0, 11.0, 12.0]),
            run("r2", "2026-11-02T10:00:00Z", &[20.0, 21.0, 22.0]),
        ];
        let (header, rows) = history_rows(&runs, "baseline");
        assert_eq!(header.len(), rows[0].len());
        assert_eq!(rows[1][1], "r2");
        assert_eq!(rows[0][4], "0123456789");
        assert_eq!(rows[1][6], "21.0");
        assert_eq!(rows[0][7], "–");
        let f = history_figure(&runs, "output_tok_s");
        assert_eq!(f.chart.series.len(), 1);
        let ys: Vec<f64> = f.chart.series[0].points.iter().map(|p| p.y).collect();
        assert_eq!(ys, [11.0, 21.0]);
        assert_eq!(fingerprint(&runs[0].manifest), "http://127.0.0.1:1/v1");
    }
}
