//! `summary.json`: the run's results for programs. Field names are stable;
//! a change that renames or removes one raises `schema_version` (the README
//! lists the fields).

use super::{Exporter, ReportInput};

/// Raised whenever a field is renamed or removed; additions keep it.
pub const SCHEMA_VERSION: u32 = 1;

pub struct Json;

/// summary.json, typed: its JSON Schema (`infer-bench schema --summary`,
/// committed as schemas/summary.schema.json) comes from this.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Summary<'a> {
    /// Raised whenever a field is renamed or removed; additions keep it.
    pub schema_version: u32,
    pub experiment: &'a str,
    pub run_id: &'a str,
    pub status: &'a crate::results::Status,
    pub started_at: &'a str,
    pub ended_at: Option<&'a str>,
    pub seed: u64,
    pub tool: &'a crate::results::Tool,
    pub target: Option<&'a str>,
    pub gpu: Option<&'a str>,
    pub trials_planned: usize,
    pub trials_done: usize,
    pub decision: crate::analysis::compare::Decision,
    /// One per configuration, as the tables show them.
    pub configurations: &'a [crate::analysis::ConfigSummary],
    /// Per configuration and metric: n, mean, sd, se, 95 % CI, CV.
    pub estimates: &'a [crate::analysis::compare::ConfigEstimate],
    /// Welch + Holm against the baseline.
    pub comparisons: &'a [crate::analysis::compare::Comparison],
    pub expectations: &'a [crate::analysis::expect::Checked],
    /// Per configuration: lengths asked and served, and conversations by turn.
    pub traffic: Vec<Traffic<'a>>,
    /// A capacity search's result, as `capacity.csv` has it: one row per
    /// configuration. Absent for any other design.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<CapacityRow>,
    /// A capacity search's probes, each configuration's by load, as the
    /// report's table has them. Absent for any other design.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_probes: Vec<ProbeRow>,
}

/// One probe of a capacity search: one load, tried as one or more trials.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ProbeRow {
    /// The configuration searched, as `capacity`'s rows name it.
    pub configuration: String,
    /// The probe's own label, as `configurations`' labels (`baseline, rate=12`).
    pub probe: String,
    /// The load offered: req/s (rate) or requests in flight (concurrency).
    pub load: f64,
    pub trials: u32,
    /// The trials that held every objective.
    pub met: u32,
    /// Each objective's mean margin over the probe's trials: ≥ 0 holds.
    pub margins: Vec<ProbeMargin>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ProbeMargin {
    /// As the experiment's `slo:` keys it (`ttft_ms`, `p95_latency_s`,
    /// `min_attainment`), or `stable_queue`.
    pub objective: String,
    /// What it asks, in words.
    pub says: String,
    pub mean: f64,
}

/// One configuration's capacity under the SLOs, with its interval, and
/// for a non-baseline configuration its difference from the baseline's.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct CapacityRow {
    /// As `configurations`' labels: `baseline`, `slots=2`, ...
    pub configuration: String,
    /// `rate` or `concurrency`.
    pub factor: String,
    pub capacity: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub confidence: Option<f64>,
    /// What the binding objective asks, in words.
    pub binding_slo: String,
    pub probes: Option<u32>,
    pub trials: Option<u32>,
    /// Why the search stopped: precision, budget, above_max, below_min, non_monotone.
    pub status: String,
    pub diff: Option<f64>,
    pub diff_ci_low: Option<f64>,
    pub diff_ci_high: Option<f64>,
}

/// Each finished search's row, as `capacity.csv` has it: from the searches
/// replayed from the run folder, the one place a capacity is computed.
fn capacity_rows(searches: &[super::searches::Replayed]) -> Vec<CapacityRow> {
    searches
        .iter()
        .filter_map(|r| r.outcome.as_ref())
        .map(|o| {
            let (x, i) = o.reported();
            let diff = |f: fn(&(f64, crate::capacity::Interval)) -> f64| o.diff.as_ref().map(f);
            CapacityRow {
                configuration: o.configuration.clone(),
                factor: o.factor.name().to_string(),
                capacity: Some(x),
                ci_low: Some(i.low),
                ci_high: Some(i.high),
                confidence: Some(o.confidence),
                binding_slo: o.binding.says.clone(),
                probes: Some(o.probes as u32),
                trials: Some(o.trials as u32),
                status: o.stop.as_str().to_string(),
                diff: diff(|d| d.0),
                diff_ci_low: diff(|d| d.1.low),
                diff_ci_high: diff(|d| d.1.high),
            }
        })
        .collect()
}

/// Every search's probes, each configuration's by load.
fn probe_rows(searches: &[super::searches::Replayed]) -> Vec<ProbeRow> {
    let mut out = Vec::new();
    for r in searches {
        let mut probes: Vec<_> = r.probes.iter().collect();
        probes.sort_by(|a, b| a.load.total_cmp(&b.load));
        for p in probes {
            let (met, means) = super::capacity::judged(p, r.objectives.len());
            out.push(ProbeRow {
                configuration: r.configuration.clone(),
                probe: p.label.clone(),
                load: p.load,
                trials: p.trials.len() as u32,
                met: met as u32,
                margins: r
                    .objectives
                    .iter()
                    .zip(means)
                    .map(|(o, mean)| ProbeMargin {
                        objective: o.key.clone(),
                        says: o.says.clone(),
                        mean,
                    })
                    .collect(),
            });
        }
    }
    out
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Traffic<'a> {
    pub config: &'a str,
    pub lengths: &'a crate::analysis::traffic::Lengths,
    /// Empty without sessions.
    pub turns: &'a [crate::analysis::traffic::TurnRow],
}

/// The JSON Schema of summary.json.
pub fn summary_schema() -> String {
    let schema = schemars::schema_for!(Summary<'static>);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

impl Exporter for Json {
    fn file_name(&self) -> Option<&'static str> {
        Some("summary.json")
    }

    fn render(
        &self,
        input: &ReportInput,
        _doc: &super::document::Document,
    ) -> anyhow::Result<String> {
        let m = &input.run.manifest;
        let doc = Summary {
            schema_version: SCHEMA_VERSION,
            experiment: input.experiment(),
            run_id: input.run_id(),
            status: &m.status,
            started_at: &m.started_at,
            ended_at: m.ended_at.as_deref(),
            seed: m.seed,
            tool: &m.tool,
            target: input.target(),
            gpu: m.gpu.as_deref(),
            trials_planned: m.trials_planned,
            trials_done: m.trials_done,
            decision: input.decision,
            configurations: input.rows,
            estimates: input.estimates,
            comparisons: input.comparisons,
            expectations: input.expectations,
            traffic: input
                .run
                .configurations
                .iter()
                .zip(&input.digest.configs)
                .map(|(c, d)| Traffic {
                    config: &c.label,
                    lengths: &d.lengths,
                    turns: &d.turns,
                })
                .collect(),
            capacity: capacity_rows(input.searches),
            capacity_probes: probe_rows(input.searches),
        };
        Ok(serde_json::to_string_pretty(&doc)? + "\n")
    }
}
