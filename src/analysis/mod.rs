//! Analysis (polars): per-trial metrics and per-configuration summaries,
//! returned as data frames for files and as typed rows for reports.

pub mod anova;
pub mod between_runs;
pub mod compare;
pub mod expect;
mod itl;
mod memory;
pub mod published;
pub mod service;
pub mod spill;
pub mod stats;
pub mod stream;
mod summary;
pub mod traffic;
mod trials;
pub mod verdict;
pub mod welch;

pub use itl::itl_by;
pub use memory::{memory_by_trial, monitor_frame};
pub use summary::{config_summary, pooled_by_config, ACROSS_TRIALS};
pub use trials::trial_metrics;

use crate::experiment::Slo;
use crate::plan::Configuration;
use polars::prelude::*;
use serde::Serialize;
pub use service::{ServiceTerms, SloVerdict};

/// Mean and sample standard deviation of a trial-level metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MeanSd {
    pub mean: Option<f64>,
    pub sd: Option<f64>,
}

/// p50 / p95 / p99 of a per-request metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// One configuration's summary, as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ConfigSummary {
    pub config: String,
    pub factor: String,
    pub level: String,
    pub trials: u32,
    pub requests: u32,
    pub ok_requests: u32,
    /// Requests sent again after a kept connection was found closed.
    pub retries: u32,
    /// Requests cut off by the end of a trial's duration (not failures).
    pub cancelled: u32,
    pub ttft_ms: Percentiles,
    pub e2e_ms: Percentiles,
    pub tpot_ms: Percentiles,
    pub itl_ms: Percentiles,
    pub output_tok_s: MeanSd,
    pub requests_per_s: MeanSd,
    pub ttft_p50_ms: MeanSd,
    pub error_rate: MeanSd,
    pub prompt_tokens_mean: Option<f64>,
    pub completion_tokens_mean: Option<f64>,
    /// Mean asked lengths (a workload draws them per request).
    pub requested_input_tokens: Option<f64>,
    pub requested_output_tokens: Option<f64>,
    /// The most specific peak memory figure: the launched server's own GPU
    /// memory, else the GPUs' whole use, else the server's peak RSS.
    pub peak_memory_mb: Option<f64>,
    /// `GPU` (the server's share), `GPU (device)` or `RSS`.
    pub memory_kind: Option<&'static str>,
    /// Share of requests meeting every per-request SLO, across trials.
    pub slo_attainment: MeanSd,
    /// Requests per second that met every per-request SLO.
    pub goodput_rps: MeanSd,
    /// The percentile SLOs and the attainment, judged.
    pub slo: SloVerdict,
    pub usd_per_1m_output_tokens: MeanSd,
    pub usd_per_1m_tokens: MeanSd,
    /// Open loop: sends per second achieved, and the client's send lag p99.
    pub achieved_rate_rps: MeanSd,
    pub send_lag_p99_ms: MeanSd,
}

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
        .collect()?;
    let trials = service::with_cost(trials, configs, terms.cost.as_ref())?;
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
    let mut rows = typed_rows(&summary, &terms.slo)?;
    let order = |label: &str| {
        configs
            .iter()
            .position(|c| c.label == label)
            .unwrap_or(usize::MAX)
    };
    rows.sort_by_key(|r| order(&r.config));
    let comparisons = compare::against_baseline(&trials, configs, decision)?;
    Ok(Analysis {
        estimates: compare::estimates(&trials, configs, decision, &comparisons)?,
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

fn typed_rows(df: &DataFrame, slo: &Slo) -> PolarsResult<Vec<ConfigSummary>> {
    let f = |name: &str| -> PolarsResult<Vec<Option<f64>>> {
        let c = df.column(name)?.cast(&DataType::Float64)?;
        let ca = c.f64()?;
        Ok((0..ca.len()).map(|i| ca.get(i)).collect())
    };
    let s = |name: &str| -> PolarsResult<Vec<String>> {
        let c = df.column(name)?.cast(&DataType::String)?;
        let ca = c.str()?;
        Ok((0..ca.len())
            .map(|i| ca.get(i).unwrap_or_default().to_string())
            .collect())
    };
    let pct = |metric: &str| -> PolarsResult<Vec<Percentiles>> {
        let (a, b, c) = (
            f(&format!("{metric}_p50_ms"))?,
            f(&format!("{metric}_p95_ms"))?,
            f(&format!("{metric}_p99_ms"))?,
        );
        Ok((0..a.len())
            .map(|i| Percentiles {
                p50: a[i],
                p95: b[i],
                p99: c[i],
            })
            .collect())
    };
    let msd = |metric: &str| -> PolarsResult<Vec<MeanSd>> {
        let (m, sd) = (f(&format!("{metric}_mean"))?, f(&format!("{metric}_sd"))?);
        Ok((0..m.len())
            .map(|i| MeanSd {
                mean: m[i],
                sd: sd[i],
            })
            .collect())
    };
    let count = |name: &str| -> PolarsResult<Vec<u32>> {
        Ok(f(name)?
            .into_iter()
            .map(|v| v.unwrap_or(0.0) as u32)
            .collect())
    };
    let (config, factor, level) = (s("config")?, s("factor")?, s("level")?);
    let (trials, requests, ok) = (count("trials")?, count("requests")?, count("ok_requests")?);
    let (retries, cancelled) = (count("retries")?, count("cancelled")?);
    let (ttft, e2e, tpot, itl) = (pct("ttft")?, pct("e2e")?, pct("tpot")?, pct("itl")?);
    let (tok_s, rps, ttft50, err) = (
        msd("output_tok_s")?,
        msd("requests_per_s")?,
        msd("ttft_p50_ms")?,
        msd("error_rate")?,
    );
    let (pin, pout) = (f("prompt_tokens_mean")?, f("completion_tokens_mean")?);
    let (rin, rout) = (f("requested_input_tokens")?, f("requested_output_tokens")?);
    let (rss, gpu) = (f("peak_rss_mb")?, f("peak_gpu_memory_mb")?);
    let gpu_server = f("peak_gpu_server_mb")?;
    let (attain, goodput) = (msd("slo_attainment")?, msd("goodput_rps")?);
    let (cost_out, cost_all) = (msd("usd_per_1m_output_tokens")?, msd("usd_per_1m_tokens")?);
    let (achieved, lag) = (msd("achieved_rate_rps")?, msd("send_lag_p99_ms")?);
    Ok((0..df.height())
        .map(|i| ConfigSummary {
            config: config[i].clone(),
            factor: factor[i].clone(),
            level: level[i].clone(),
            trials: trials[i],
            requests: requests[i],
            ok_requests: ok[i],
            retries: retries[i],
            cancelled: cancelled[i],
            ttft_ms: ttft[i],
            e2e_ms: e2e[i],
            tpot_ms: tpot[i],
            itl_ms: itl[i],
            output_tok_s: tok_s[i],
            requests_per_s: rps[i],
            ttft_p50_ms: ttft50[i],
            error_rate: err[i],
            prompt_tokens_mean: pin[i],
            completion_tokens_mean: pout[i],
            requested_input_tokens: rin[i],
            requested_output_tokens: rout[i],
            // The most specific figure: the server's own GPU memory, else the
            // devices' whole use, else host memory.
            peak_memory_mb: gpu_server[i].or(gpu[i]).or(rss[i]),
            memory_kind: match (gpu_server[i], gpu[i], rss[i]) {
                (Some(_), _, _) => Some("GPU"),
                (None, Some(_), _) => Some("GPU (device)"),
                (None, None, Some(_)) => Some("RSS"),
                _ => None,
            },
            slo_attainment: attain[i],
            goodput_rps: goodput[i],
            slo: service::verdict(slo, e2e[i].p50, e2e[i].p95, attain[i].mean),
            usd_per_1m_output_tokens: cost_out[i],
            usd_per_1m_tokens: cost_all[i],
            achieved_rate_rps: achieved[i],
            send_lag_p99_ms: lag[i],
        })
        .collect())
}

#[cfg(test)]
mod decision_tests;
#[cfg(test)]
mod tests;
