//! `summary.json`: the run's results for programs. Field names are stable;
//! a change that renames or removes one raises `schema_version` (the README
//! lists the fields).

use super::{Exporter, ReportInput};

/// Raised whenever a field is renamed or removed; additions keep it.
pub const SCHEMA_VERSION: u32 = 1;

pub struct Json;

impl Exporter for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn file_name(&self) -> Option<&'static str> {
        Some("summary.json")
    }

    fn render(&self, input: &ReportInput) -> anyhow::Result<String> {
        let m = &input.run.manifest;
        let doc = serde_json::json!({
            "schema_version": SCHEMA_VERSION,
            "experiment": input.experiment(),
            "run_id": input.run_id(),
            "status": m.status,
            "started_at": m.started_at,
            "ended_at": m.ended_at,
            "seed": m.seed,
            "tool": m.tool,
            "target": input.target(),
            "gpu": m.gpu,
            "trials_planned": m.trials_planned,
            "trials_done": m.trials_done,
            "decision": input.decision,
            "configurations": input.rows,
            "estimates": input.estimates,
            "comparisons": input.comparisons,
            "expectations": input.expectations,
        });
        Ok(serde_json::to_string_pretty(&doc)? + "\n")
    }
}
