//! The host's own noise per trial (`crate::metrics::HOST`), from the one
//! summary per trial the monitor keeps (source `host`).

use polars::prelude::*;

/// `trial` and one column per host figure; nulls where it was not measured
/// (not Linux, or a run from before the figures were kept).
pub fn host_by_trial(monitor: &DataFrame) -> PolarsResult<DataFrame> {
    let aggs: Vec<Expr> = crate::metrics::HOST
        .iter()
        .map(|m| {
            col("value")
                .filter(col("name").eq(lit(m.column)))
                .mean()
                .alias(m.column)
        })
        .collect();
    monitor
        .clone()
        .lazy()
        .group_by([col("trial")])
        .agg(aggs)
        .collect()
}
