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
        };
        Ok(serde_json::to_string_pretty(&doc)? + "\n")
    }
}
