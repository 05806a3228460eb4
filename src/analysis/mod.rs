//! Analysis (polars): per-trial metrics and per-configuration summaries,
//! returned as data frames for files and as typed rows for reports.

pub mod anova;
pub mod between_runs;
pub mod compare;
pub mod expect;
mod host;
mod itl;
pub mod judge;
mod memory;
pub mod planning;
pub mod published;
mod rows;
pub mod service;
pub mod spill;
pub mod stats;
pub mod stream;
mod summary;
pub mod traffic;
mod trials;
pub mod verdict;
pub mod welch;

pub use host::host_by_trial;
pub use itl::{itl_by, itl_quantiles_by};
pub use memory::{memory_by_trial, monitor_frame};
pub use rows::{Across, ConfigSummary, MeanSd, Percentiles};
pub use summary::{config_summary, pooled_by_config};
pub use trials::trial_metrics;

use crate::plan::Configuration;
use polars::prelude::*;

pub use service::{ServiceTerms, SloVerdict};

pub struct Analysis {
    /// Each level against its baseline, per metric (`stats.csv`).
    pub comparisons: Vec<compare::Comparison>,
    /// Per configuration and metric: mean, CI, CV.
    pub estimates: Vec<compare::ConfigEstimate>,
    pub trials: DataFrame,
    pub summary: DataFrame,
    /// In plan order: baseline first, then each factor's levels.
    pub rows: Vec<ConfigSummary>,
}

/// `trials.parquet`: per-trial metrics with each trial's memory and cost.
pub fn trials_with_memory(
    requests: &DataFrame,
    monitor: &DataFrame,
    configs: &[Configuration],
    terms: &ServiceTerms,
) -> PolarsResult<DataFrame> {
    with_memory(
        trial_metrics(requests, &terms.slo)?,
        monitor,
        configs,
        terms,
    )
}

/// Per-trial metrics (from [`trial_metrics`] or the streamed analysis)
/// joined with each trial's memory, cost and factor levels.
pub fn with_memory(
    trials: DataFrame,
    monitor: &DataFrame,
    configs: &[Configuration],
    terms: &ServiceTerms,
) -> PolarsResult<DataFrame> {
    let trials = trials
        .lazy()
        .join(
            memory_by_trial(monitor)?.lazy(),
            [col("trial")],
            [col("trial")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            host_by_trial(monitor)?.lazy(),
            [col("trial")],
            [col("trial")],
            JoinArgs::new(JoinType::Left),
        )
        .collect()?;
    let trials = service::with_cost(trials, configs, terms.cost.as_ref())?;
    let trials = judge::with_trial_judgements(trials, &terms.slo)?;
    with_levels(trials, configs)
}

/// One column per factor with each trial's level, for models over trials
/// (effects.csv). A factor whose name is already a trial column (the
/// built-in `output_tokens`, say) gets the column `<name>_level`.
fn with_levels(trials: DataFrame, configs: &[Configuration]) -> PolarsResult<DataFrame> {
    let taken: Vec<String> = trials
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let rows: Vec<usize> = (0..configs.len()).collect();
    let mut columns = vec![Column::new(
        "config".into(),
        configs.iter().map(|c| c.label.clone()).collect::<Vec<_>>(),
    )];
    columns.extend(crate::results::level_columns(&rows, configs, |name| {
        level_column(name, &taken)
    }));
    let levels = DataFrame::new(configs.len(), columns)?;
    trials
        .lazy()
        .join(
            levels.lazy(),
            [col("config")],
            [col("config")],
            JoinArgs::new(JoinType::Left),
        )
        .collect()
}

/// The trials.parquet column of a factor's levels.
fn level_column(factor: &str, taken: &[String]) -> String {
    if taken.iter().any(|t| t == factor) {
        format!("{factor}_level")
    } else {
        factor.to_string()
    }
}

/// The analysis of records in memory (tests, benchmarks, small runs).
pub fn analyse(
    requests: &DataFrame,
    monitor: &DataFrame,
    configs: &[Configuration],
    decision: compare::Decision,
    terms: &ServiceTerms,
) -> PolarsResult<Analysis> {
    let parts = stream::Parts {
        trials: trial_metrics(requests, &terms.slo)?,
        pooled: pooled_by_config(requests)?,
    };
    analyse_parts(parts, monitor, configs, decision, terms)
}

/// The analysis from per-trial metrics and per-configuration pooled
/// figures, however they were computed.
pub fn analyse_parts(
    parts: stream::Parts,
    monitor: &DataFrame,
    configs: &[Configuration],
    decision: compare::Decision,
    terms: &ServiceTerms,
) -> PolarsResult<Analysis> {
    let trials = with_memory(parts.trials, monitor, configs, terms)?;
    let summary = in_plan_order(config_summary(&parts.pooled, &trials)?, configs)?;
    let mut rows = rows::typed_rows(&summary, &trials, &terms.slo)?;
    let order = |label: &str| {
        configs
            .iter()
            .position(|c| c.label == label)
            .unwrap_or(usize::MAX)
    };
    rows.sort_by_key(|r| order(&r.config));
    let comparisons = compare::against_baseline(&trials, configs, decision)?;
    let mut estimates = compare::estimates(&trials, configs, decision, &comparisons)?;
    estimates.extend(judge::objective_estimates(&trials, configs, &terms.slo)?);
    Ok(Analysis {
        estimates,
        comparisons,
        trials,
        summary,
        rows,
    })
}

/// A two-column table, `config` (each configuration's label) and `column`
/// (a value per configuration, in plan order), to join onto per-config rows.
pub(crate) fn by_config(configs: &[Configuration], column: Column) -> PolarsResult<DataFrame> {
    let labels = configs.iter().map(|c| c.label.clone()).collect::<Vec<_>>();
    DataFrame::new(
        configs.len(),
        vec![Column::new("config".into(), labels), column],
    )
}

/// Sort the summary into plan order and say each row's configuration index.
fn in_plan_order(summary: DataFrame, configs: &[Configuration]) -> PolarsResult<DataFrame> {
    let index = configs.iter().map(|c| c.index as u32).collect::<Vec<_>>();
    let order = by_config(configs, Column::new("config_index".into(), index))?;
    summary
        .lazy()
        .join(
            order.lazy(),
            [col("config")],
            [col("config")],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["config_index"], SortMultipleOptions::default())
        .collect()
}

#[cfg(test)]
mod decision_tests;
#[cfg(test)]
pub(crate) mod tests;
