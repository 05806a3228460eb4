//! Reports: one trait, one file per format. Reports only format what
//! `analysis` computed.

mod cells;
mod csv;
pub mod html;
pub mod json;
mod markdown;
pub(crate) mod service;
pub(crate) mod significance;
mod table;
mod traffic;
mod warning;

use crate::analysis::compare::{Comparison, ConfigEstimate, Decision};
use crate::analysis::expect::Checked;
use crate::analysis::ConfigSummary;
use crate::experiment::Experiment;
use crate::results::RunData;
use polars::prelude::DataFrame;

pub use cells::{format_num, HEADERS};
pub use service::{rate_summary, service_lines, slo_words};
pub use significance::{
    between_runs_lines, effects_lines, expectation_lines, p_value, pct, sensitivity_line,
    significance_lines,
};
pub use table::aligned;
pub use traffic::{length_lines, turn_lines, LENGTHS_NOTE, TURNS_NOTE};
pub use warning::{warnings, Warning};

/// What every report format gets.
pub struct ReportInput<'a> {
    /// The run folder as read: manifest, plan, records, monitor samples.
    pub run: &'a RunData,
    /// The experiment as the run folder keeps it (absent if its copy is gone).
    pub spec: Option<&'a Experiment>,
    pub rows: &'a [ConfigSummary],
    pub summary: &'a DataFrame,
    pub comparisons: &'a [Comparison],
    pub estimates: &'a [ConfigEstimate],
    pub decision: Decision,
    pub expectations: &'a [Checked],
    /// A factorial run's type-II ANOVA per metric (`effects.csv`).
    pub effects: &'a [(String, crate::analysis::anova::Term)],
    /// Failures, warnings and distributions, gathered as the records streamed by.
    pub digest: &'a crate::analysis::stream::Digest,
}

impl ReportInput<'_> {
    pub fn experiment(&self) -> &str {
        &self.run.manifest.experiment_name
    }

    pub fn run_id(&self) -> &str {
        &self.run.manifest.run_id
    }

    pub fn target(&self) -> Option<&str> {
        self.run.manifest.target_url.as_deref()
    }
}

pub trait Exporter {
    /// Format name on the command line (`--format`).
    fn name(&self) -> &'static str;
    /// File written into the run folder, or `None` for terminal-only formats.
    fn file_name(&self) -> Option<&'static str>;
    fn render(&self, input: &ReportInput) -> anyhow::Result<String>;
}

pub fn exporter(name: &str) -> Option<Box<dyn Exporter>> {
    match name {
        "table" => Some(Box::new(table::Table)),
        "md" | "markdown" => Some(Box::new(markdown::Markdown)),
        "csv" => Some(Box::new(csv::Csv)),
        "json" => Some(Box::new(json::Json)),
        "html" => Some(Box::new(html::Html)),
        _ => None,
    }
}

pub const FORMATS: &[&str] = &["table", "md", "csv", "json", "html"];
