//! Per-trial metrics: the trial is the unit of replication, so every
//! statistic across trials starts from this table.

use super::service::slo_ok;
use crate::experiment::Slo;
use crate::record::RequestStatus;
use polars::prelude::*;

pub(crate) fn pct(c: &str, q: f64) -> Expr {
    col(c)
        .filter(col("ok"))
        .quantile(lit(q), QuantileMethod::Linear)
}

/// Percentile columns `<metric>_p50`, `_p95`, `_p99` of a per-request metric
/// over successful requests.
pub(crate) fn percentiles(metric: &str, unit: &str) -> Vec<Expr> {
    [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")]
        .iter()
        .map(|(q, name)| {
            pct(&format!("{metric}_{unit}"), *q).alias(format!("{metric}_{name}_{unit}"))
        })
        .collect()
}

/// Requests cut off by a trial's end: recorded, but not the server's failures.
pub(crate) fn cancelled() -> Expr {
    col("status")
        .eq(lit(RequestStatus::Cancelled.as_str()))
        .fill_null(lit(false))
        .cast(DataType::UInt32)
        .sum()
        .alias("cancelled")
}

/// Token accounting shared by the trial and configuration tables.
pub(crate) fn token_columns() -> Vec<Expr> {
    let ok = || col("ok");
    vec![
        col("prompt_tokens")
            .filter(ok())
            .cast(DataType::Float64)
            .mean()
            .alias("prompt_tokens_mean"),
        col("completion_tokens")
            .filter(ok())
            .cast(DataType::Float64)
            .mean()
            .alias("completion_tokens_mean"),
        // What was asked, averaged over the same requests as what came:
        // a workload draws each request's lengths.
        col("requested_input_tokens")
            .filter(ok())
            .cast(DataType::Float64)
            .mean()
            .alias("requested_input_tokens"),
        col("requested_output_tokens")
            .filter(ok())
            .cast(DataType::Float64)
            .mean()
            .alias("requested_output_tokens"),
        // Share of successful requests whose counts equal what was asked.
        col("prompt_tokens")
            .eq(col("requested_input_tokens"))
            .filter(ok())
            .cast(DataType::Float64)
            .mean()
            .alias("input_exact_share"),
        col("completion_tokens")
            .eq(col("requested_output_tokens"))
            .filter(ok())
            .cast(DataType::Float64)
            .mean()
            .alias("output_exact_share"),
    ]
}

/// Where the server reports its own prefill time (llama.cpp), TTFT splits
/// into the server's prefill and the rest: queueing, network, first decode step.
pub(crate) fn server_split() -> Vec<Expr> {
    vec![
        pct("server_prompt_ms", 0.5).alias("server_prefill_p50_ms"),
        (col("ttft_ms") - col("server_prompt_ms"))
            .filter(col("ok"))
            .quantile(lit(0.5), QuantileMethod::Linear)
            .alias("ttft_outside_prefill_p50_ms"),
        col("cached_tokens")
            .filter(col("ok"))
            .cast(DataType::Float64)
            .mean()
            .alias("cached_tokens_mean"),
    ]
}

/// The part of TTFT outside the server's own prompt time, at least 0, where
/// the server reports that time (llama.cpp): waiting for a slot, the network
/// both ways, and the first decode step (the server's prompt time ends
/// before the first token is sampled). Its median over successful requests.
fn queueing_p50() -> Expr {
    let outside = col("ttft_ms") - col("server_prompt_ms");
    when(outside.clone().lt(lit(0.0)))
        .then(lit(0.0))
        .otherwise(outside)
        .filter(col("ok"))
        .quantile(lit(0.5), QuantileMethod::Linear)
        .alias("queueing_p50_ms")
}

/// One row per trial: latency percentiles over its successful requests,
/// throughput over its wall time (first send → last completion), error rate,
/// the share of requests that met the SLOs and goodput (those per second),
/// and in an open loop the achieved send rate and the client's send lag.
pub fn trial_metrics(requests: &DataFrame, slo: &Slo) -> PolarsResult<DataFrame> {
    let mut itl = super::itl::itl_by(requests, "trial")?;
    let extra = super::judge::itl_quantiles(slo);
    if !extra.is_empty() {
        let more = super::itl::itl_quantiles_by(requests, "trial", &extra)?;
        itl = itl
            .lazy()
            .join(
                more.lazy(),
                [col("trial")],
                [col("trial")],
                JoinArgs::new(JoinType::Left),
            )
            .collect()?;
    }
    trial_aggregates(requests, slo)?
        .lazy()
        .join(
            itl.lazy(),
            [col("trial")],
            [col("trial")],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["trial"], SortMultipleOptions::default())
        .collect()
}

/// Every per-trial metric but the inter-token percentiles, which need the
/// gap lists (see [`trial_metrics`] and the streamed analysis). It reads the
/// request columns the registry marks analysed ([`crate::record::ANALYSED`]).
pub(crate) fn trial_aggregates(requests: &DataFrame, slo: &Slo) -> PolarsResult<DataFrame> {
    requests
        .clone()
        .lazy()
        .with_column(slo_ok(slo).alias("slo_ok"))
        .group_by_stable([
            col("trial"),
            col("config"),
            col("factor"),
            col("level"),
            col("repetition"),
        ])
        .agg(aggregations(slo))
        .with_column((col("last_end_s") - col("first_send_s")).alias("wall_s"))
        .with_columns(rates())
        .sort(["trial"], SortMultipleOptions::default())
        .collect()
}

/// What each trial's requests sum up to, before the rates over its wall time.
fn aggregations(slo: &Slo) -> Vec<Expr> {
    let lag = || col("queue_ms") - col("wait_ms").fill_null(lit(0.0));
    let mut aggs = vec![
        len().cast(DataType::UInt32).alias("requests"),
        col("ok").cast(DataType::UInt32).sum().alias("ok_requests"),
        cancelled(),
        col("retried").cast(DataType::UInt32).sum().alias("retries"),
        col("slo_ok").cast(DataType::UInt32).sum().alias("slo_met"),
        col("sent_s").min().alias("first_send_s"),
        col("sent_s").max().alias("last_send_s"),
        col("scheduled_s").count().alias("scheduled"),
        lag()
            .quantile(lit(0.5), QuantileMethod::Linear)
            .alias("send_lag_p50_ms"),
        lag()
            .quantile(lit(0.99), QuantileMethod::Linear)
            .alias("send_lag_p99_ms"),
        col("wait_ms")
            .gt(lit(0.5))
            .cast(DataType::UInt32)
            .sum()
            .alias("waited_for_slot"),
        col("prompt_tokens")
            .filter(col("ok"))
            .sum()
            .alias("input_tokens"),
        (col("sent_s") + col("e2e_ms") / lit(1000.0))
            .max()
            .alias("last_end_s"),
        col("completion_tokens")
            .filter(col("ok"))
            .sum()
            .alias("output_tokens"),
        col("tpot_ms")
            .filter(col("ok"))
            .mean()
            .alias("tpot_mean_ms"),
    ];
    aggs.extend(percentiles("ttft", "ms"));
    aggs.extend(percentiles("e2e", "ms"));
    aggs.extend(percentiles("tpot", "ms"));
    aggs.extend(token_columns());
    aggs.extend(server_split());
    aggs.push(queueing_p50());
    aggs.extend(super::judge::trial_aggregations(slo));
    aggs
}

/// A trial's rates over its wall time, and its shares.
fn rates() -> [Expr; 6] {
    [
        (col("output_tokens").cast(DataType::Float64) / col("wall_s")).alias("output_tok_s"),
        (col("ok_requests").cast(DataType::Float64) / col("wall_s")).alias("requests_per_s"),
        (lit(1.0)
            - col("ok_requests").cast(DataType::Float64)
                / (col("requests") - col("cancelled")).cast(DataType::Float64))
        .alias("error_rate"),
        (col("slo_met").cast(DataType::Float64) / col("requests").cast(DataType::Float64))
            .alias("slo_attainment"),
        (col("slo_met").cast(DataType::Float64) / col("wall_s")).alias("goodput_rps"),
        // Sends per second between the first and the last send (open loop only).
        when(col("scheduled").gt(lit(1)))
            .then(
                (col("requests").cast(DataType::Float64) - lit(1.0))
                    / (col("last_send_s") - col("first_send_s")),
            )
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias("achieved_rate_rps"),
    ]
}
