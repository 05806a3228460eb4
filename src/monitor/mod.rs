//! Samplers that run beside a trial: the launched server's memory and CPU
//! (/proc), GPU memory and utilisation (NVML, where a driver exists),
//! Prometheus series from the server's `/metrics`, and the host's own noise
//! (other processes' CPU, load average, steal).

mod gpu;
pub mod host;
mod metrics;
mod process;

pub use gpu::{Gpu, GpuReader, GpuReading};
pub use host::{HostNoise, HostScope};
pub use metrics::{parse as parse_metrics, MAX_SERIES_PER_SAMPLE};
pub use process::{
    cpu_s_of, group_usage, own_cpu_s, own_peak_rss_bytes, reset_own_peak_rss, GroupUsage,
};

use crate::side_request::{self, Bounds, SideError};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
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
    pub gpu: Option<Arc<dyn GpuReader>>,
    /// What `/metrics` is read with: the target's headers and credentials.
    pub http: Option<reqwest::Client>,
    /// `http://host:port/metrics` and the series prefixes to keep.
    pub metrics: Option<(String, Vec<String>)>,
    pub interval: Duration,
    /// What series names are scrubbed of before they are kept.
    pub secrets: Arc<crate::redact::Secrets>,
    /// The host's noise, apart from the server's and our own CPU.
    pub host: Option<HostScope>,
}

/// One `/metrics` read: within the sampling interval's order, and
/// [`metrics::PAGE_CAP`] bytes.
const SCRAPE: Bounds = Bounds {
    timeout: Duration::from_secs(1),
    cap: metrics::PAGE_CAP,
};

/// Whether the run was told of series dropped, or of a page too long: once
/// each, not at every reading.
static WARNED_SERIES: AtomicBool = AtomicBool::new(false);
static WARNED_PAGE: AtomicBool = AtomicBool::new(false);
/// Whether the run was told that the host's noise cannot be read.
static WARNED_HOST: AtomicBool = AtomicBool::new(false);

fn warn_once(flag: &AtomicBool, message: impl FnOnce() -> String) {
    if !flag.swap(true, Ordering::Relaxed) {
        crate::error::warn(message());
    }
}

impl Targets {
    /// Nothing to sample as the trial runs (the host, if asked, is read at
    /// both ends).
    fn only_host(&self) -> bool {
        self.pgid.is_none() && self.gpu.is_none() && self.metrics.is_none()
    }
}

/// Run `work` while sampling every `interval`; returns its output and the samples.
pub async fn during<F: Future>(
    targets: Targets,
    trial: usize,
    work: F,
) -> (F::Output, Vec<Sample>) {
    // The host's first reading is taken before the work starts.
    let host = targets.host.and_then(host::HostWatch::start);
    if targets.only_host() {
        // Nothing to read as the trial runs: no sampler task, no timer
        // beside the work; the host's counters are read at both ends.
        let start = Instant::now();
        let out = work.await;
        let mut rec = Recorder::new(trial);
        rec.host(start.elapsed().as_secs_f64(), host);
        return (out, rec.samples);
    }
    let (stop, stopped) = watch::channel(false);
    crate::tls::install_provider();
    let sampler = tokio::spawn(sample(targets, trial, host, stopped));
    let out = work.await;
    let _ = stop.send(true);
    let samples = sampler.await.unwrap_or_default();
    (out, samples)
}

/// Read every target each `interval` until `stopped` changes.
async fn sample(
    targets: Targets,
    trial: usize,
    mut host: Option<host::HostWatch>,
    mut stopped: watch::Receiver<bool>,
) -> Vec<Sample> {
    let http = targets.http.clone().unwrap_or_default();
    let start = Instant::now();
    let mut rec = Recorder::new(trial);
    loop {
        let t_s = start.elapsed().as_secs_f64();
        let usage = targets.pgid.and_then(group_usage);
        if let Some(u) = &usage {
            rec.process(t_s, u);
        }
        if let Some(gpu) = &targets.gpu {
            let pids = usage.as_ref().map(|u| u.pids.as_slice()).unwrap_or(&[]);
            rec.gpu(t_s, gpu.read(pids));
        }
        if let Some((url, prefixes)) = &targets.metrics {
            if let Some(text) = scrape(&http, url).await {
                rec.metrics(t_s, &text, prefixes, &targets.secrets);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(targets.interval) => {}
            _ = stopped.changed() => break,
        }
        if let Some(h) = &mut host {
            h.tick();
        }
    }
    rec.host(start.elapsed().as_secs_f64(), host);
    rec.samples
}

/// The `/metrics` page; none when the server answers with an error, too
/// late, or too much (that last said once).
async fn scrape(http: &reqwest::Client, url: &str) -> Option<String> {
    match side_request::get(http, url, SCRAPE).await {
        Ok(a) if a.ok() => Some(String::from_utf8_lossy(&a.body).into_owned()),
        Err(e @ SideError::TooLarge { .. }) => {
            warn_once(&WARNED_PAGE, || {
                format!("warning: {e}; /metrics is not sampled while it is that long")
            });
            None
        }
        _ => None,
    }
}

/// One trial's samples, as they are read.
struct Recorder {
    trial: usize,
    samples: Vec<Sample>,
    /// The previous reading's time and the group's CPU seconds, for a rate.
    last_cpu: Option<(f64, f64)>,
}

impl Recorder {
    fn new(trial: usize) -> Recorder {
        Recorder {
            trial,
            samples: Vec::new(),
            last_cpu: None,
        }
    }

    /// One summary per trial, not a reading per interval: other processes'
    /// CPU comes from the counters' difference over the whole trial.
    fn host(&mut self, t_s: f64, watch: Option<host::HostWatch>) {
        if let Some(noise) = watch.and_then(host::HostWatch::finish) {
            for (name, value) in noise.named() {
                self.push(t_s, "host", name.into(), value);
            }
        }
    }

    fn push(&mut self, t_s: f64, source: &str, name: String, value: f64) {
        self.samples.push(Sample {
            trial: self.trial,
            t_s,
            source: source.into(),
            name,
            value,
        });
    }

    /// One `/metrics` page's series under `prefixes`, at most
    /// [`MAX_SERIES_PER_SAMPLE`], their names scrubbed of `secrets`.
    fn metrics(
        &mut self,
        t_s: f64,
        text: &str,
        prefixes: &[String],
        secrets: &crate::redact::Secrets,
    ) {
        let page = parse_metrics(text, prefixes);
        if page.dropped > 0 {
            warn_once(&WARNED_SERIES, || {
                format!(
                    "warning: /metrics lists {} series under {}; each reading keeps the first {MAX_SERIES_PER_SAMPLE} (and names of at most {} characters)",
                    page.series.len() + page.dropped,
                    prefixes.join(", "),
                    metrics::MAX_SERIES_CHARS
                )
            });
        }
        for (mut series, value) in page.series {
            secrets.scrub(&mut series);
            self.push(t_s, "metrics", series, value);
        }
    }

    /// The server group's memory, and its CPU use since the last reading.
    fn process(&mut self, t_s: f64, u: &GroupUsage) {
        self.push(t_s, "process", "rss_mb".into(), u.rss_bytes as f64 / 1e6);
        if let Some((t0, c0)) = self.last_cpu {
            if t_s > t0 {
                self.push(
                    t_s,
                    "process",
                    "cpu_percent".into(),
                    (u.cpu_s - c0) / (t_s - t0) * 100.0,
                );
            }
        }
        self.last_cpu = Some((t_s, u.cpu_s));
    }

    /// GPU memory in all and the server's share of it, then each device's
    /// memory and utilisation.
    fn gpu(&mut self, t_s: f64, readings: Vec<GpuReading>) {
        let total: u64 = readings.iter().map(|r| r.memory_used_bytes).sum();
        if !readings.is_empty() {
            self.push(t_s, "gpu", "gpu_memory_used_mb".into(), total as f64 / 1e6);
        }
        let server: Vec<u64> = readings
            .iter()
            .filter_map(|r| r.server_memory_bytes)
            .collect();
        if !server.is_empty() {
            let mb = server.iter().sum::<u64>() as f64 / 1e6;
            self.push(t_s, "gpu", "gpu_server_memory_mb".into(), mb);
        }
        for r in readings {
            self.push(
                t_s,
                "gpu",
                format!("gpu{}_memory_used_mb", r.index),
                r.memory_used_bytes as f64 / 1e6,
            );
            if let Some(u) = r.utilization_percent {
                self.push(
                    t_s,
                    "gpu",
                    format!("gpu{}_utilization_percent", r.index),
                    f64::from(u),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Two devices; device 0's memory grows by 100 MB a reading.
    struct FakeGpu(AtomicU64);

    impl GpuReader for FakeGpu {
        fn read(&self, server_pids: &[u32]) -> Vec<GpuReading> {
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            vec![
                GpuReading {
                    index: 0,
                    memory_used_bytes: (1000 + 100 * n) * 1_000_000,
                    // The server holds 200 MB, when there is one.
                    server_memory_bytes: (!server_pids.is_empty()).then_some(200_000_000),
                    utilization_percent: Some(90),
                },
                GpuReading {
                    index: 1,
                    memory_used_bytes: 500_000_000,
                    server_memory_bytes: None,
                    utilization_percent: None,
                },
            ]
        }
    }

    #[tokio::test]
    async fn samples_gpu_totals_per_device_and_stops_with_the_work() {
        let gpu = Arc::new(FakeGpu(AtomicU64::new(0)));
        let targets = Targets {
            gpu: Some(gpu.clone()),
            interval: Duration::from_millis(10),
            ..Targets::default()
        };
        // The work lasts until the sampler has read the GPU three times.
        let (out, samples) = during(targets, 7, async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while gpu.0.load(Ordering::Relaxed) < 3 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            42
        })
        .await;
        assert_eq!(out, 42);
        let totals: Vec<f64> = samples
            .iter()
            .filter(|s| s.name == "gpu_memory_used_mb")
            .map(|s| s.value)
            .collect();
        assert!(totals.len() >= 3, "{samples:?}");
        assert_eq!(totals[0], 1500.0);
        assert_eq!(totals[1], 1600.0);
        assert!(samples.iter().all(|s| s.trial == 7 && s.source == "gpu"));
        assert!(samples
            .iter()
            .any(|s| s.name == "gpu0_utilization_percent" && s.value == 90.0));
        assert!(!samples.iter().any(|s| s.name == "gpu1_utilization_percent"));
        // No server, nothing attributed to one.
        assert!(!samples.iter().any(|s| s.name == "gpu_server_memory_mb"));
    }

    #[tokio::test]
    async fn attributes_gpu_memory_to_the_server_group() {
        // SAFETY: getpgrp has no preconditions.
        let pgid = unsafe { libc::getpgrp() } as u32;
        let targets = Targets {
            pgid: Some(pgid),
            gpu: Some(Arc::new(FakeGpu(AtomicU64::new(0)))),
            interval: Duration::from_millis(10),
            ..Targets::default()
        };
        let (_, samples) = during(targets, 0, tokio::time::sleep(Duration::from_millis(50))).await;
        let server: Vec<f64> = samples
            .iter()
            .filter(|s| s.name == "gpu_server_memory_mb")
            .map(|s| s.value)
            .collect();
        assert!(!server.is_empty(), "{samples:?}");
        assert!(server.iter().all(|&mb| mb == 200.0), "{server:?}");
    }

    #[test]
    fn a_reading_keeps_at_most_the_capped_series_scrubbed() {
        let mut rec = Recorder::new(3);
        let mut page = String::from("vllm:echo{key=\"sk-metrics-secret\"} 1\n");
        for i in 0..1000 {
            page.push_str(&format!("vllm:s{{i=\"{i}\"}} 2\n"));
        }
        let mut secrets = crate::redact::Secrets::default();
        secrets.add("sk-metrics-secret");
        for t_s in [0.0, 0.25] {
            rec.metrics(t_s, &page, &["vllm:".into()], &secrets);
        }
        assert_eq!(rec.samples.len(), 2 * MAX_SERIES_PER_SAMPLE);
        assert_eq!(rec.samples[0].name, "vllm:echo{key=\"***\"}");
        assert_eq!(rec.samples[199].name, "vllm:s{i=\"198\"}");
        assert!(WARNED_SERIES.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn the_host_alone_is_one_summary_per_trial_and_none_for_a_short_one() {
        let targets = Targets {
            host: Some(HostScope::default()),
            ..Targets::default()
        };
        let (_, short) = during(targets.clone(), 1, async {}).await;
        assert!(short.is_empty(), "{short:?}");
        let long = Duration::from_secs_f64(host::MIN_WINDOW_S + 0.1);
        let (_, samples) = during(targets, 2, tokio::time::sleep(long)).await;
        if std::path::Path::new("/proc/stat").exists() {
            let names: Vec<&str> = samples.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(names.len(), 5, "{samples:?}");
            assert!(names.contains(&host::OTHER_CPU_SHARE), "{names:?}");
            assert!(samples.iter().all(|s| s.trial == 2 && s.source == "host"));
        }
    }

    #[tokio::test]
    async fn nothing_to_sample_is_no_samples() {
        let (_, samples) = during(Targets::default(), 0, async {}).await;
        assert!(samples.is_empty());
    }

    #[test]
    fn without_a_driver_nvml_is_unavailable_not_an_error() {
        // On machines with a GPU this finds it; on the others it must say why not.
        match Gpu::init() {
            Ok(gpu) => assert!(gpu.describe().contains('×')),
            Err(why) => assert!(
                ["none found", "not readable", "NVML"]
                    .iter()
                    .any(|w| why.starts_with(w)),
                "{why}"
            ),
        }
    }
}
