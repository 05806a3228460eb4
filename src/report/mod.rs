//! Reports: the pipeline from a run folder's records to its tables and
//! reports ([`analyse_run`]), one document built from the analysis
//! ([`document`], [`build_document`]), and one trait with one file per format that
//! renders it. Reports only format what `analysis` computed.

pub mod capacity;
mod cells;
mod csv;
pub mod document;
pub mod html;
pub mod json;
mod markdown;
mod pipeline;
pub mod searches;
mod sections;
pub(crate) mod service;
pub(crate) mod significance;
mod table;
mod traffic;
mod warning;
mod width;

use crate::analysis::compare::{Comparison, ConfigEstimate, Decision};
use crate::analysis::expect::Checked;
use crate::analysis::ConfigSummary;
use crate::experiment::Experiment;
use crate::results::RunData;
use document::Document;
use polars::prelude::DataFrame;

pub use cells::{format_num, HEADERS};
pub use pipeline::{
    analyse_run, analyse_run_against, report_dir, report_dir_against, request_stop, trial_table,
    ReportOutput, Stopped,
};
pub use sections::build_document;
pub use service::{rate_summary, service_table, service_table_of, slo_words};
pub use significance::{
    between_runs_lines, effects_table, expectation_lines, p_value, pct, sensitivity_line,
    significance_table,
};
pub use table::aligned;
pub use traffic::{length_table, turn_table};
pub use warning::{warnings, Warning};
pub use width::{fit_terminal_to, terminal as terminal_width};

/// What every report format gets.
pub struct ReportInput<'a> {
    /// The run folder as read: manifest, plan, records, monitor samples.
    pub run: &'a RunData,
    /// The experiment as the run folder keeps it (absent if its copy is gone).
    pub spec: Option<&'a Experiment>,
    /// The SLOs the run is judged against: the experiment's, or those
    /// `report --slo` gave (then `slo_given` says so).
    pub slo: &'a crate::experiment::Slo,
    pub slo_given: bool,
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
    /// A capacity run's searches, one per configuration, rebuilt from the
    /// folder ([`searches::replay`]); empty for any other design.
    pub searches: &'a [searches::Replayed],
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

/// A report format on the command line (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// The terminal table, printed.
    Table,
    /// `report.md`.
    #[value(alias = "markdown")]
    Md,
    /// `summary.csv`.
    Csv,
    /// `summary.json`.
    Json,
    /// `report.html`.
    Html,
}

impl Format {
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Table => Box::new(table::Table),
            Format::Md => Box::new(markdown::Markdown),
            Format::Csv => Box::new(csv::Csv),
            Format::Json => Box::new(json::Json),
            Format::Html => Box::new(html::Html),
        }
    }
}

pub trait Exporter {
    /// File written into the run folder, or `None` for terminal-only formats.
    fn file_name(&self) -> Option<&'static str>;
    /// The report in this format: the document formats render `doc` (built
    /// once from `input`), the data formats (csv, json) read `input`.
    fn render(&self, input: &ReportInput, doc: &Document) -> anyhow::Result<String>;
}
