//! Samplers that run beside a trial: the launched server's memory and CPU
//! (/proc), GPU memory and utilisation (NVML, where a driver exists), and
//! Prometheus series from the server's `/metrics`.

mod gpu;
mod metrics;
mod process;

pub use gpu::{Gpu, GpuReading};
pub use metrics::parse as parse_metrics;
pub use process::{group_usage, GroupUsage};

use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// One reading: a row of `monitor.parquet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub trial: usize,
    /// Seconds since the trial's measurement began.
    pub t_s: f64,
    /// `process`, `gpu` or `metrics`.
    pub source: String,
    pub name: String,
    pub value: f64,
}

/// What to sample.
#[derive(Clone, Default)]
pub struct Targets {
    /// Process group of the launched server.
    pub pgid: Option<u32>,
    pub gpu: Option<Arc<Gpu>>,
    /// `http://host:port/metrics` and the series prefixes to keep.
    pub metrics: Option<(String, Vec<String>)>,
    pub interval: Duration,
}

impl Targets {
    pub fn is_empty(&self) -> bool {
        self.pgid.is_none() && self.gpu.is_none() && self.metrics.is_none()
    }
}

/// Run `work` while sampling every `interval`; returns its output and the samples.
pub async fn during<F: Future>(
    targets: Targets,
    trial: usize,
    work: F,
) -> (F::Output, Vec<Sample>) {
    if targets.is_empty() {
        return (work.await, Vec::new());
    }
    let (stop, mut stopped) = watch::channel(false);
    let sampler = tokio::spawn(async move {
        let http = reqwest::Client::new();
        let start = Instant::now();
        let mut samples = Vec::new();
        let mut last_cpu: Option<(f64, f64)> = None;
        loop {
            let t_s = start.elapsed().as_secs_f64();
            let mut push = |source: &str, name: String, value: f64| {
                samples.push(Sample {
                    trial,
                    t_s,
                    source: source.into(),
                    name,
                    value,
                });
            };
            if let Some(u) = targets.pgid.and_then(group_usage) {
                push("process", "rss_mb".into(), u.rss_bytes as f64 / 1e6);
                if let Some((t0, c0)) = last_cpu {
                    if t_s > t0 {
                        push(
                            "process",
                            "cpu_percent".into(),
                            (u.cpu_s - c0) / (t_s - t0) * 100.0,
                        );
                    }
                }
                last_cpu = Some((t_s, u.cpu_s));
            }
            if let Some(gpu) = &targets.gpu {
                let readings = gpu.read();
                let total: u64 = readings.iter().map(|r| r.memory_used_bytes).sum();
                if !readings.is_empty() {
                    push("gpu", "gpu_memory_used_mb".into(), total as f64 / 1e6);
                }
                for r in readings {
                    push(
                        "gpu",
                        format!("gpu{}_memory_used_mb", r.index),
                        r.memory_used_bytes as f64 / 1e6,
                    );
                    if let Some(u) = r.utilization_percent {
                        push(
                            "gpu",
                            format!("gpu{}_utilization_percent", r.index),
                            f64::from(u),
                        );
                    }
                }
            }
            if let Some((url, prefixes)) = &targets.metrics {
                let answer = http.get(url).timeout(Duration::from_secs(1)).send().await;
                if let Ok(text) = match answer {
                    Ok(r) if r.status().is_success() => r.text().await,
                    _ => Ok(String::new()),
                } {
                    for (series, value) in parse_metrics(&text, prefixes) {
                        push("metrics", series, value);
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(targets.interval) => {}
                _ = stopped.changed() => break,
            }
        }
        samples
    });
    let out = work.await;
    let _ = stop.send(true);
    let samples = sampler.await.unwrap_or_default();
    (out, samples)
}
