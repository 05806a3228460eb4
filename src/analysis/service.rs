//! Service levels and cost: which requests meet the per-request objectives
//! (goodput counts them), which configurations meet the percentile ones, and
//! what a million tokens cost at the serving machine's hourly price.

use super::judge::Judgement;
use crate::experiment::{Cost, Slo};
use crate::plan::Configuration;
use polars::prelude::*;

/// The SLOs and the price a run is judged by.
#[derive(Debug, Clone, Default)]
pub struct ServiceTerms {
    pub slo: Slo,
    pub cost: Option<Cost>,
}

/// Per request: it succeeded and met every per-request objective (each as
/// [`super::judge::request_checks`] defines it). A request with one output
/// token has no TPOT, and passes the objectives on it.
pub fn slo_ok(slo: &Slo) -> Expr {
    super::judge::request_checks(slo)
        .into_iter()
        .fold(col("ok"), |all, (_, _, check)| all.and(check))
}

/// `usd_per_hour`, `usd_per_1m_output_tokens` and `usd_per_1m_tokens` per
/// trial (nulls without a price).
pub fn with_cost(
    trials: DataFrame,
    configs: &[Configuration],
    cost: Option<&Cost>,
) -> PolarsResult<DataFrame> {
    let price = |c: &Configuration| cost.and_then(|p| p.usd_per_hour(&c.values));
    let prices = super::by_config(
        configs,
        Column::new(
            "usd_per_hour".into(),
            configs.iter().map(price).collect::<Vec<Option<f64>>>(),
        ),
    )?;
    let per_second = col("usd_per_hour") / lit(3600.0);
    let total_tokens = (col("input_tokens") + col("output_tokens")).cast(DataType::Float64);
    trials
        .lazy()
        .join(
            prices.lazy(),
            [col("config")],
            [col("config")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            (per_second.clone() / col("output_tok_s") * lit(1e6)).alias("usd_per_1m_output_tokens"),
            (per_second / (total_tokens / col("wall_s")) * lit(1e6)).alias("usd_per_1m_tokens"),
        ])
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct SloVerdict {
    /// E2E p50 (the mean of the trials' medians) within `p50_latency_s`.
    pub p50: Option<bool>,
    /// E2E p95 (the mean of the trials' p95s) within `p95_latency_s`.
    pub p95: Option<bool>,
    /// Both, and the mean attainment at least `min_attainment`.
    pub meets: Option<bool>,
}

impl SloVerdict {
    /// The older summary of a [`Judgement`]: its E2E p50 and p95 objectives
    /// and whether every objective holds.
    pub fn of(j: &Judgement) -> SloVerdict {
        let met = |key: &str| j.get(key).map(|o| o.met);
        SloVerdict {
            p50: met("p50_latency_s"),
            p95: met("p95_latency_s"),
            meets: j.meets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df![
            "ok" => [true, true, true, false, true],
            "ttft_ms" => [Some(100.0), Some(600.0), Some(100.0), None, Some(100.0)],
            "e2e_ms" => [1000.0, 1000.0, 1000.0, 5.0, 1000.0],
            "tpot_ms" => [Some(50.0), Some(50.0), Some(150.0), None, None],
        ]
        .unwrap()
    }

    #[test]
    fn a_request_meets_the_slo_only_when_it_meets_every_objective() {
        let out = frame()
            .lazy()
            .select([slo_ok(&Slo::default()).alias("slo_ok")])
            .collect()
            .unwrap();
        let ca = out.column("slo_ok").unwrap().bool().unwrap().clone();
        let got: Vec<Option<bool>> = (0..ca.len()).map(|i| ca.get(i)).collect();
        // Slow first token; too slow decoding (150 ms/token < 10 tok/s); failed; one token.
        assert_eq!(
            got,
            [
                Some(true),
                Some(false),
                Some(false),
                Some(false),
                Some(true)
            ]
        );
        let none = Slo {
            ttft_ms: None,
            min_output_tok_s: None,
            ..Slo::default()
        };
        let out = frame()
            .lazy()
            .select([slo_ok(&none).alias("x")])
            .collect()
            .unwrap();
        let ca = out.column("x").unwrap().bool().unwrap().clone();
        let got: Vec<Option<bool>> = (0..ca.len()).map(|i| ca.get(i)).collect();
        assert_eq!(
            got,
            [Some(true), Some(true), Some(true), Some(false), Some(true)]
        );
    }
}
