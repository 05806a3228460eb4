//! The analysis of a run of any size, fed a chunk of records at a time.
//!
//! Memory is bounded by the largest trial's per-request columns (a few
//! numbers a request, kept for its percentiles) and a chunk of records,
//! never by the run: each configuration's pooled latencies and inter-token
//! gaps go to spill files ([`super::spill`]) whose exact percentiles are
//! read back when the run is done, and a trial's own gaps are a range of its
//! configuration's file. The figures are the ones [`super::analyse`] takes
//! from records in memory, column for column (tested side by side).

use super::spill::Spill;
use super::traffic::{Lengths, Traffic, TurnRow};
use crate::experiment::Slo;
use crate::plan::Configuration;
use crate::record::{Record, RequestStatus};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Per-trial metrics (`trial_metrics`' columns) and per-configuration
/// pooled figures (`pooled_by_config`'s columns).
pub struct Parts {
    pub trials: DataFrame,
    pub pooled: DataFrame,
}

/// The request columns the analysis reads (a frame of these will do).
pub const COLUMNS: &[&str] = crate::record::ANALYSED;

/// Points of an empirical CDF a chart draws per configuration.
pub const ECDF_STEPS: usize = 400;
/// Distinct failure reasons kept per configuration; the rest are counted
/// together, so a server that fails every request its own way cannot grow
/// the report.
const REASONS_KEPT: usize = 50;
const OTHER_REASONS: &str = "other reasons";

/// What the reports show of the requests beyond the tables.
#[derive(Debug, Clone, Default)]
pub struct Digest {
    pub requests: usize,
    /// By configuration index.
    pub configs: Vec<ConfigDigest>,
    /// Requests sent again on a new connection.
    pub retried: usize,
    /// Requests carrying numbers not believed, and the first one's warnings.
    pub warned: usize,
    pub first_warning: Option<String>,
    /// The journal's last line was cut off and left out.
    pub torn_tail: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ConfigDigest {
    pub requests: usize,
    pub failed: usize,
    /// Failure reasons (`HTTP 503: …`, truncated at 200 characters) and counts.
    pub reasons: BTreeMap<String, usize>,
    /// Exact (value, share ≤ value) points at evenly spaced ranks over the
    /// successful requests, at most [`ECDF_STEPS`].
    pub ttft_ecdf: Vec<(f64, f64)>,
    pub e2e_ecdf: Vec<(f64, f64)>,
    /// Lengths asked and served.
    pub lengths: Lengths,
    /// A conversation workload's turns, in order (empty without sessions).
    pub turns: Vec<TurnRow>,
}

impl Digest {
    fn add(&mut self, r: &Record) {
        self.requests += 1;
        self.retried += usize::from(r.retried);
        if !r.warnings.is_empty() {
            self.warned += 1;
            if self.first_warning.is_none() {
                self.first_warning = Some(r.warnings.join("; "));
            }
        }
        let Some(c) = self.configs.get_mut(r.config) else {
            return;
        };
        c.requests += 1;
        if !r.ok() {
            c.failed += 1;
            let mut reason = r.error.clone().unwrap_or_else(|| "unknown".into());
            if let Some(status) = r.http_status {
                reason = format!("HTTP {status}: {reason}");
            }
            // Long messages are truncated on a character boundary.
            if let Some((at, _)) = reason.char_indices().nth(200) {
                reason.truncate(at);
                reason.push('…');
            }
            if c.reasons.len() >= REASONS_KEPT && !c.reasons.contains_key(&reason) {
                reason = OTHER_REASONS.into();
            }
            *c.reasons.entry(reason).or_default() += 1;
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Mean {
    sum: f64,
    n: u64,
}

impl Mean {
    fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.sum += v;
            self.n += 1;
        }
    }

    fn get(self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

/// One configuration's requests, pooled over its trials.
struct Pooled {
    requests: u32,
    ok: u32,
    retries: u32,
    cancelled: u32,
    ttft: Spill,
    e2e: Spill,
    tpot: Spill,
    server_prompt: Spill,
    outside_prefill: Spill,
    itl: Spill,
    /// prompt, completion, requested input, requested output, cached tokens.
    means: [Mean; 5],
    input_exact: Mean,
    output_exact: Mean,
    traffic: Traffic,
}

impl Pooled {
    fn new(dir: &Path, config: usize) -> Self {
        let spill = |name: &str| Spill::new(dir.join(format!("{config}-{name}")));
        Pooled {
            requests: 0,
            ok: 0,
            retries: 0,
            cancelled: 0,
            ttft: spill("ttft"),
            e2e: spill("e2e"),
            tpot: spill("tpot"),
            server_prompt: spill("server_prompt"),
            outside_prefill: spill("outside_prefill"),
            itl: spill("itl"),
            means: [Mean::default(); 5],
            input_exact: Mean::default(),
            output_exact: Mean::default(),
            traffic: Traffic::new(dir.to_path_buf(), config),
        }
    }

    fn add(&mut self, r: &Record) -> std::io::Result<()> {
        self.requests += 1;
        self.retries += u32::from(r.retried);
        self.cancelled += u32::from(r.status == RequestStatus::Cancelled);
        self.traffic.add(r)?;
        if !r.ok() {
            return Ok(());
        }
        self.ok += 1;
        let f = |v: Option<u64>| v.map(|v| v as f64);
        let push = |s: &mut Spill, v: Option<f64>| v.map_or(Ok(()), |v| s.push(v));
        push(&mut self.ttft, r.ttft_ms)?;
        self.e2e.push(r.e2e_ms)?;
        push(&mut self.tpot, r.tpot_ms)?;
        push(&mut self.server_prompt, r.server_prompt_ms)?;
        push(
            &mut self.outside_prefill,
            r.ttft_ms.zip(r.server_prompt_ms).map(|(t, p)| t - p),
        )?;
        for &gap in &r.itl_ms {
            self.itl.push(gap)?;
        }
        let values = [
            r.prompt_tokens,
            r.completion_tokens,
            r.requested_input_tokens,
            r.requested_output_tokens,
            r.cached_tokens,
        ];
        for (m, v) in self.means.iter_mut().zip(values) {
            m.add(f(v));
        }
        let same = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| f64::from(a == b));
        self.input_exact
            .add(same(r.prompt_tokens, r.requested_input_tokens));
        self.output_exact
            .add(same(r.completion_tokens, r.requested_output_tokens));
        Ok(())
    }
}

/// The trial being read: its requests' aggregated columns, chunk by chunk.
struct Current {
    trial: usize,
    config: usize,
    parts: Vec<DataFrame>,
    itl_from: u64,
}

pub struct Streaming {
    labels: Vec<String>,
    slo: Slo,
    _dir: tempfile::TempDir,
    pooled: Vec<Pooled>,
    current: Option<Current>,
    rows: Vec<DataFrame>,
    digest: Digest,
}

const QS: [f64; 3] = [0.5, 0.95, 0.99];

impl Streaming {
    /// Spill files go in a folder under `spill_in` (the run folder: the
    /// disk that holds the journal has room for a fraction of it), else in
    /// the system's temporary folder; removed when done.
    pub fn new(configs: &[Configuration], slo: Slo, spill_in: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(".analysis-")
            .tempdir_in(spill_in)
            .or_else(|_| tempfile::Builder::new().prefix("infer-bench-").tempdir())?;
        Ok(Streaming {
            labels: configs.iter().map(|c| c.label.clone()).collect(),
            slo,
            pooled: (0..configs.len())
                .map(|i| Pooled::new(dir.path(), i))
                .collect(),
            _dir: dir,
            current: None,
            rows: Vec::new(),
            digest: Digest {
                configs: vec![ConfigDigest::default(); configs.len()],
                ..Digest::default()
            },
        })
    }

    /// Records of one trial, with their `requests_frame` (a trial's chunks
    /// come together; a new trial ends the last one).
    pub fn add(&mut self, records: &[Record], frame: &DataFrame) -> anyhow::Result<()> {
        let Some(first) = records.first() else {
            return Ok(());
        };
        anyhow::ensure!(
            first.config < self.pooled.len(),
            "record of trial {} names configuration {}, which the plan does not have",
            first.trial,
            first.config
        );
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.trial != first.trial)
        {
            self.end_trial()?;
        }
        let current = self.current.get_or_insert_with(|| Current {
            trial: first.trial,
            config: first.config,
            parts: Vec::new(),
            itl_from: self.pooled[first.config].itl.len(),
        });
        for r in records {
            anyhow::ensure!(
                (r.trial, r.config) == (current.trial, current.config),
                "records of trial {} and trial {} given together",
                current.trial,
                r.trial
            );
            self.pooled[r.config].add(r)?;
            self.digest.add(r);
        }
        current.parts.push(frame.select(COLUMNS.iter().copied())?);
        Ok(())
    }

    fn end_trial(&mut self) -> anyhow::Result<()> {
        let Some(c) = self.current.take() else {
            return Ok(());
        };
        let mut parts = c.parts.into_iter();
        let mut frame = parts.next().expect("a trial has a chunk");
        for p in parts {
            frame.vstack_mut(&p)?;
        }
        let itl = &mut self.pooled[c.config].itl;
        let p = itl.percentiles(c.itl_from..itl.len(), &QS)?;
        let value = |v: Option<f64>| v.map_or_else(|| lit(NULL).cast(DataType::Float64), lit);
        let mut columns = vec![
            value(p[0]).alias("itl_p50_ms"),
            value(p[1]).alias("itl_p95_ms"),
            value(p[2]).alias("itl_p99_ms"),
        ];
        let extra = super::judge::itl_quantiles(&self.slo);
        let qs: Vec<f64> = extra.iter().map(|(q, _)| *q).collect();
        let more = itl.percentiles(c.itl_from..itl.len(), &qs)?;
        for ((_, name), v) in extra.iter().zip(more) {
            columns.push(value(v).alias(name.as_str()));
        }
        let row = super::trials::trial_aggregates(&frame, &self.slo)?
            .lazy()
            .with_columns(columns)
            .collect()?;
        self.rows.push(row);
        Ok(())
    }

    /// The tables and the digest, once every record has been added.
    pub fn finish(mut self) -> anyhow::Result<(Parts, Digest)> {
        self.end_trial()?;
        let mut rows = self.rows.into_iter();
        let mut trials = rows
            .next()
            .ok_or_else(|| anyhow::anyhow!("the run has no records"))?;
        for r in rows {
            trials.vstack_mut(&r)?;
        }
        let trials = trials.sort(["trial"], SortMultipleOptions::default())?;
        let mut digest = self.digest;
        let mut columns: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
        let mut counts: [Vec<u32>; 4] = Default::default();
        let mut labels = Vec::new();
        for (i, p) in self.pooled.iter_mut().enumerate() {
            if p.requests == 0 {
                continue;
            }
            labels.push(self.labels[i].clone());
            for (v, n) in counts
                .iter_mut()
                .zip([p.requests, p.ok, p.retries, p.cancelled])
            {
                v.push(n);
            }
            let mut put =
                |name: &str, v: Option<f64>| columns.entry(name.to_string()).or_default().push(v);
            for (name, spill) in [
                ("ttft", &mut p.ttft),
                ("e2e", &mut p.e2e),
                ("tpot", &mut p.tpot),
                ("itl", &mut p.itl),
            ] {
                let v = spill.percentiles(0..spill.len(), &QS)?;
                for (q, v) in ["p50", "p95", "p99"].into_iter().zip(v) {
                    put(&format!("{name}_{q}_ms"), v);
                }
            }
            let median = |s: &mut Spill| s.percentiles(0..s.len(), &[0.5]).map(|v| v[0]);
            put("server_prefill_p50_ms", median(&mut p.server_prompt)?);
            put(
                "ttft_outside_prefill_p50_ms",
                median(&mut p.outside_prefill)?,
            );
            let names = [
                "prompt_tokens_mean",
                "completion_tokens_mean",
                "requested_input_tokens",
                "requested_output_tokens",
                "cached_tokens_mean",
            ];
            for (n, m) in names.into_iter().zip(p.means) {
                put(n, m.get());
            }
            put("input_exact_share", p.input_exact.get());
            put("output_exact_share", p.output_exact.get());
            digest.configs[i].ttft_ecdf = p.ttft.ecdf(ECDF_STEPS)?;
            digest.configs[i].e2e_ecdf = p.e2e.ecdf(ECDF_STEPS)?;
            (digest.configs[i].lengths, digest.configs[i].turns) = p.traffic.finish()?;
        }
        let height = labels.len();
        let mut frame = vec![Column::new("config".into(), labels)];
        for (name, v) in ["requests", "ok_requests", "retries", "cancelled"]
            .into_iter()
            .zip(counts)
        {
            frame.push(Column::new(name.into(), v));
        }
        for (name, v) in columns {
            frame.push(Column::new(name.into(), v));
        }
        let pooled = DataFrame::new(height, frame)?;
        Ok((Parts { trials, pooled }, digest))
    }
}
