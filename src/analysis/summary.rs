//! Per-configuration summary: mean ± sample standard deviation of each
//! trial-level metric of the registry (`metrics::summarised`) across trials, and percentiles across all requests of
//! the configuration.

use super::trials::{percentiles, server_split, token_columns};
use polars::prelude::*;

/// `pooled` holds one row per configuration over all its requests
/// ([`pooled_by_config`], or the streamed analysis's).
pub fn config_summary(pooled: &DataFrame, trials: &DataFrame) -> PolarsResult<DataFrame> {
    let mut across = vec![len().cast(DataType::UInt32).alias("trials")];
    for m in crate::metrics::summarised().map(|m| m.column) {
        across.push(col(m).mean().alias(format!("{m}_mean")));
        // Sample standard deviation (ddof = 1).
        across.push(col(m).std(1).alias(format!("{m}_sd")));
    }
    across.push(col("peak_rss_mb").max().alias("peak_rss_mb"));
    across.push(col("peak_gpu_memory_mb").max().alias("peak_gpu_memory_mb"));
    across.push(col("peak_gpu_server_mb").max().alias("peak_gpu_server_mb"));
    let by_trial = trials
        .clone()
        .lazy()
        .group_by_stable([col("config"), col("factor"), col("level")])
        .agg(across);

    by_trial
        .join(
            pooled.clone().lazy(),
            [col("config")],
            [col("config")],
            JoinArgs::new(JoinType::Left),
        )
        .collect()
}

/// Per configuration, over every request of every trial: counts, latency
/// percentiles, token means, the server's split. The streamed analysis
/// computes the same columns without the records in memory.
pub fn pooled_by_config(requests: &DataFrame) -> PolarsResult<DataFrame> {
    let mut pooled = vec![
        len().cast(DataType::UInt32).alias("requests"),
        col("ok").cast(DataType::UInt32).sum().alias("ok_requests"),
        col("retried").cast(DataType::UInt32).sum().alias("retries"),
        super::trials::cancelled(),
    ];
    pooled.extend(percentiles("ttft", "ms"));
    pooled.extend(percentiles("e2e", "ms"));
    pooled.extend(percentiles("tpot", "ms"));
    pooled.extend(token_columns());
    pooled.extend(server_split());
    requests
        .clone()
        .lazy()
        .group_by_stable([col("config")])
        .agg(pooled)
        .join(
            super::itl::itl_by(requests, "config")?.lazy(),
            [col("config")],
            [col("config")],
            JoinArgs::new(JoinType::Left),
        )
        .collect()
}
