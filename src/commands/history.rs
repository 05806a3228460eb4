//! `infer-bench history`: the runs of one experiment over time.

use super::output::{note, out};
use anyhow::Context as _;
use infer_bench::analysis::compare::values_by_config;
use infer_bench::analysis::welch::estimate;
use infer_bench::error::InputError;
use infer_bench::metrics::{by_column as metric_by_column, METRICS};
use infer_bench::report::html::history::{history_page, history_rows, HistoryRun};
use infer_bench::results::{read_parquet, Manifest, MANIFEST, TRIALS};
use std::path::Path;

/// Every run folder under `dir` with a manifest, oldest first; runs not yet
/// analysed (no trials.parquet) are named on stderr and left out.
fn load_runs(dir: &Path) -> anyhow::Result<Vec<HistoryRun>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| InputError::new(format!("{}: {e}", dir.display())))?;
    let mut runs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let manifest_path = path.join(MANIFEST);
        if !manifest_path.is_file() {
            continue;
        }
        let text = infer_bench::results::read_document(&manifest_path)?;
        let manifest: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a run manifest", manifest_path.display()))?;
        let trials_path = path.join(TRIALS);
        if !trials_path.is_file() {
            note!(
                "{}: no {TRIALS} yet, left out (`infer-bench report {}` writes it)",
                path.display(),
                path.display()
            );
            continue;
        }
        let trials = read_parquet(&trials_path)?;
        let mut estimates = Vec::new();
        for m in METRICS {
            if trials.column(m.column).is_err() {
                continue;
            }
            for (config, values) in values_by_config(&trials, m.column)? {
                if let Some(e) = estimate(&values) {
                    estimates.push((config, m.column.to_string(), e));
                }
            }
        }
        // The baseline first, then the others by name.
        let base = infer_bench::plan::BASELINE;
        estimates.sort_by(|a, b| (a.0 != base, &a.0).cmp(&(b.0 != base, &b.0)));
        runs.push(HistoryRun {
            dir: path,
            manifest,
            estimates,
        });
    }
    runs.sort_by(|a, b| a.manifest.started_at.cmp(&b.manifest.started_at));
    Ok(runs)
}

pub fn history(dir: &Path, metric: &str, config: &str, html: Option<&Path>) -> anyhow::Result<()> {
    if metric_by_column(metric).is_none() {
        let names: Vec<&str> = METRICS.iter().map(|m| m.column).collect();
        return Err(InputError::new(format!(
            "unknown metric '{metric}', expected one of {}",
            names.join(", ")
        ))
        .into());
    }
    let runs = load_runs(dir)?;
    if runs.is_empty() {
        return Err(InputError::new(format!(
            "{}: no analysed run folders (expected <dir>/<run-id>/manifest.json and trials.parquet)",
            dir.display()
        ))
        .into());
    }
    let mut names: Vec<&str> = runs
        .iter()
        .map(|r| r.manifest.experiment_name.as_str())
        .collect();
    names.dedup();
    if names.len() > 1 {
        note!(
            "note: the folder holds runs of several experiments: {}",
            names.join(", ")
        );
    }
    let (header, rows) = history_rows(&runs, config);
    // The page is still written after a stdout that failed.
    let printed = out!("{}", infer_bench::report::aligned(&header, &rows));
    let page = history_page(names[0], &runs, metric, config);
    let out = html
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join("history.html"));
    infer_bench::results::write_file(&out, page)?;
    note!("report: {}", out.display());
    Ok(printed?)
}
