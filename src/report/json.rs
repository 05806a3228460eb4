//! `summary.json`: the typed summary rows.

use super::{Exporter, ReportInput};

pub struct Json;

impl Exporter for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn file_name(&self) -> Option<&'static str> {
        Some("summary.json")
    }

    fn render(&self, input: &ReportInput) -> anyhow::Result<String> {
        let doc = serde_json::json!({
            "experiment": input.experiment(),
            "run_id": input.run_id(),
            "target": input.target(),
            "configurations": input.rows,
        });
        Ok(serde_json::to_string_pretty(&doc)? + "\n")
    }
}
