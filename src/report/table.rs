//! The terminal table.

use super::cells::{cells, HEADERS};
use super::{Exporter, ReportInput};

pub struct Table;

impl Exporter for Table {
    fn name(&self) -> &'static str {
        "table"
    }

    fn file_name(&self) -> Option<&'static str> {
        None
    }

    fn render(&self, input: &ReportInput) -> anyhow::Result<String> {
        let rows: Vec<Vec<String>> = input.rows.iter().map(cells).collect();
        let widths: Vec<usize> = (0..HEADERS.len())
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([HEADERS[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cols: &[String]| -> String {
            let parts: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let pad = widths[i].saturating_sub(c.chars().count());
                    // Text left, numbers right.
                    if i == 0 {
                        format!("{c}{}", " ".repeat(pad))
                    } else {
                        format!("{}{c}", " ".repeat(pad))
                    }
                })
                .collect();
            parts.join("  ").trim_end().to_string()
        };
        let mut out = format!("{} · run {}\n", input.experiment, input.run_id);
        let header: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
        out.push_str(&line(&header));
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
        out.push_str(&rule.join("  "));
        out.push('\n');
        for r in &rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        Ok(out)
    }
}
