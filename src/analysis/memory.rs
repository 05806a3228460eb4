//! Memory per trial from the monitor's samples: the server's resident memory
//! (process group, /proc) and GPU memory in use (NVML, all devices summed,
//! and the part of it the server's processes hold).

use crate::monitor::Sample;
use polars::prelude::*;

pub fn monitor_frame(samples: &[Sample]) -> PolarsResult<DataFrame> {
    DataFrame::new(
        samples.len(),
        vec![
            Column::new(
                "trial".into(),
                samples.iter().map(|s| s.trial as u64).collect::<Vec<_>>(),
            ),
            Column::new(
                "t_s".into(),
                samples.iter().map(|s| s.t_s).collect::<Vec<_>>(),
            ),
            Column::new(
                "source".into(),
                samples.iter().map(|s| s.source.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "name".into(),
                samples.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "value".into(),
                samples.iter().map(|s| s.value).collect::<Vec<_>>(),
            ),
        ],
    )
}

/// `trial`, `peak_rss_mb`, `mean_rss_mb`, `peak_gpu_memory_mb` (the devices'
/// whole use) and `peak_gpu_server_mb` (the launched server's own share);
/// nulls where nothing was sampled.
pub fn memory_by_trial(monitor: &DataFrame) -> PolarsResult<DataFrame> {
    let of = |name: &str| col("value").filter(col("name").eq(lit(name)));
    monitor
        .clone()
        .lazy()
        .group_by([col("trial")])
        .agg([
            of("rss_mb").max().alias("peak_rss_mb"),
            of("rss_mb").mean().alias("mean_rss_mb"),
            of("gpu_memory_used_mb").max().alias("peak_gpu_memory_mb"),
            of("gpu_server_memory_mb").max().alias("peak_gpu_server_mb"),
        ])
        .collect()
}
