//! Reports: one trait, one file per format. Reports only format what
//! `analysis` computed.

mod cells;
mod csv;
mod json;
mod markdown;
mod significance;
mod table;

use crate::analysis::compare::{Comparison, ConfigEstimate, Decision};
use crate::analysis::expect::Checked;
use crate::analysis::ConfigSummary;
use polars::prelude::DataFrame;

pub use cells::{format_num, HEADERS};
pub use significance::{expectation_lines, p_value, pct, significance_lines, warnings};
pub use table::aligned;

/// What every report format gets.
pub struct ReportInput<'a> {
    pub experiment: &'a str,
    pub run_id: &'a str,
    pub target: Option<&'a str>,
    pub rows: &'a [ConfigSummary],
    pub summary: &'a DataFrame,
    pub comparisons: &'a [Comparison],
    pub estimates: &'a [ConfigEstimate],
    pub decision: Decision,
    pub expectations: &'a [Checked],
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
        _ => None,
    }
}

pub const FORMATS: &[&str] = &["table", "md", "csv", "json"];
