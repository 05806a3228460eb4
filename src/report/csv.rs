//! `summary.csv`: every column of the per-configuration summary.

use super::{Exporter, ReportInput};
use polars::prelude::*;

pub struct Csv;

impl Exporter for Csv {
    fn file_name(&self) -> Option<&'static str> {
        Some("summary.csv")
    }

    fn render(
        &self,
        input: &ReportInput,
        _doc: &super::document::Document,
    ) -> anyhow::Result<String> {
        let mut df = input.summary.clone();
        let mut buf = Vec::new();
        CsvWriter::new(&mut buf)
            .include_header(true)
            .finish(&mut df)?;
        Ok(String::from_utf8(buf)?)
    }
}
