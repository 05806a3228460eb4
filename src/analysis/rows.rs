//! The summary as typed rows, one per configuration, for the reports and
//! summary.json. The across-trial figures are the metric registry's
//! (`metrics::summarised`), read back by its column names, so a metric
//! added there reaches every row without a field of its own here.

use super::judge::{self, Judgement};
use super::service::SloVerdict;
use crate::experiment::Slo;
use polars::prelude::*;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::borrow::Cow;

/// Mean and sample standard deviation of a trial-level metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, JsonSchema)]
pub struct MeanSd {
    pub mean: Option<f64>,
    pub sd: Option<f64>,
}

/// p50 / p95 / p99 of a per-request metric.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, JsonSchema)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// Each summarised metric's mean ± sd across trials, in registry order;
/// in summary.json one key per metric column.
#[derive(Debug, Clone, PartialEq)]
pub struct Across(Vec<MeanSd>);

impl Across {
    /// The metric at `column`: a column the registry does not summarise is
    /// a bug of the caller, caught by the tests (and empty in a release).
    pub fn get(&self, column: &str) -> MeanSd {
        let at = crate::metrics::summarised().position(|m| m.column == column);
        debug_assert!(at.is_some(), "{column} is not a summarised metric");
        at.and_then(|i| self.0.get(i)).copied().unwrap_or_default()
    }
}

impl Serialize for Across {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (m, v) in crate::metrics::summarised().zip(&self.0) {
            map.serialize_entry(m.column, v)?;
        }
        map.end()
    }
}

impl JsonSchema for Across {
    fn schema_name() -> Cow<'static, str> {
        "Across".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut properties = serde_json::Map::new();
        for m in crate::metrics::summarised() {
            let mut one = generator.subschema_for::<MeanSd>().to_value();
            let text = format!("{} ({}), mean ± sd across trials", m.definition, m.unit);
            if let Some(o) = one.as_object_mut() {
                o.insert("description".into(), text.into());
            }
            properties.insert(m.column.into(), one);
        }
        let required: Vec<&str> = crate::metrics::summarised().map(|m| m.column).collect();
        schemars::json_schema!({
            "type": "object",
            "properties": properties,
            "required": required,
        })
    }
}

/// One configuration's summary, as the reports show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, JsonSchema)]
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
    /// The percentile SLOs and the attainment, judged.
    pub slo: SloVerdict,
    /// Every objective judged, with its margin and the binding one.
    pub judgement: Judgement,
    /// Every summarised metric (output tok/s, TTFT p50, error rate, SLO
    /// attainment, goodput, cost, an open loop's send rate and lag, …).
    #[serde(flatten)]
    pub across: Across,
}

impl ConfigSummary {
    /// Mean ± sd across trials of the metric at `column`.
    pub fn metric(&self, column: &str) -> MeanSd {
        self.across.get(column)
    }
}

/// The summary frame's columns by name, as the rows need them.
struct Columns<'a>(&'a DataFrame);

impl Columns<'_> {
    fn f(&self, name: &str) -> PolarsResult<Vec<Option<f64>>> {
        let c = self.0.column(name)?.cast(&DataType::Float64)?;
        let ca = c.f64()?;
        Ok((0..ca.len()).map(|i| ca.get(i)).collect())
    }

    fn s(&self, name: &str) -> PolarsResult<Vec<String>> {
        let c = self.0.column(name)?.cast(&DataType::String)?;
        let ca = c.str()?;
        Ok((0..ca.len())
            .map(|i| ca.get(i).unwrap_or_default().to_string())
            .collect())
    }

    fn count(&self, name: &str) -> PolarsResult<Vec<u32>> {
        Ok(self
            .f(name)?
            .into_iter()
            .map(|v| v.unwrap_or(0.0) as u32)
            .collect())
    }

    fn pct(&self, metric: &str) -> PolarsResult<Vec<Percentiles>> {
        let at = |q: &str| self.f(&format!("{metric}_{q}_ms"));
        let (a, b, c) = (at("p50")?, at("p95")?, at("p99")?);
        Ok((0..a.len())
            .map(|i| Percentiles {
                p50: a[i],
                p95: b[i],
                p99: c[i],
            })
            .collect())
    }

    /// Each row's mean ± sd of every summarised metric.
    fn across(&self) -> PolarsResult<Vec<Across>> {
        let mut rows = vec![Vec::new(); self.0.height()];
        for m in crate::metrics::summarised() {
            let mean = self.f(&format!("{}_mean", m.column))?;
            let sd = self.f(&format!("{}_sd", m.column))?;
            for (i, row) in rows.iter_mut().enumerate() {
                row.push(MeanSd {
                    mean: mean[i],
                    sd: sd[i],
                });
            }
        }
        Ok(rows.into_iter().map(Across).collect())
    }
}

/// One configuration's trials.
fn trials_of(trials: &DataFrame, config: &str) -> PolarsResult<DataFrame> {
    trials
        .clone()
        .lazy()
        .filter(col("config").eq(lit(config)))
        .collect()
}

pub(super) fn typed_rows(
    df: &DataFrame,
    trial_rows: &DataFrame,
    slo: &Slo,
) -> PolarsResult<Vec<ConfigSummary>> {
    let c = Columns(df);
    let (config, factor, level) = (c.s("config")?, c.s("factor")?, c.s("level")?);
    let (trials, requests, ok) = (
        c.count("trials")?,
        c.count("requests")?,
        c.count("ok_requests")?,
    );
    let (retries, cancelled) = (c.count("retries")?, c.count("cancelled")?);
    let (ttft, e2e, tpot, itl) = (c.pct("ttft")?, c.pct("e2e")?, c.pct("tpot")?, c.pct("itl")?);
    let (pin, pout) = (c.f("prompt_tokens_mean")?, c.f("completion_tokens_mean")?);
    let (rin, rout) = (
        c.f("requested_input_tokens")?,
        c.f("requested_output_tokens")?,
    );
    let (rss, gpu) = (c.f("peak_rss_mb")?, c.f("peak_gpu_memory_mb")?);
    let gpu_server = c.f("peak_gpu_server_mb")?;
    let across = c.across()?;
    let judged = config
        .iter()
        .map(|c| Ok(judge::judge(&trials_of(trial_rows, c)?, slo)))
        .collect::<PolarsResult<Vec<Judgement>>>()?;
    Ok((0..df.height())
        .map(|i| {
            let judgement = judged[i].clone();
            ConfigSummary {
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
                prompt_tokens_mean: pin[i],
                completion_tokens_mean: pout[i],
                requested_input_tokens: rin[i],
                requested_output_tokens: rout[i],
                peak_memory_mb: gpu_server[i].or(gpu[i]).or(rss[i]),
                memory_kind: memory_kind(gpu_server[i], gpu[i], rss[i]),
                slo: SloVerdict::of(&judgement),
                judgement,
                across: across[i].clone(),
            }
        })
        .collect())
}

/// The most specific figure: the server's own GPU memory, else the
/// devices' whole use, else host memory.
fn memory_kind(server: Option<f64>, gpu: Option<f64>, rss: Option<f64>) -> Option<&'static str> {
    match (server, gpu, rss) {
        (Some(_), _, _) => Some("GPU"),
        (None, Some(_), _) => Some("GPU (device)"),
        (None, None, Some(_)) => Some("RSS"),
        _ => None,
    }
}
