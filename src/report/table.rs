//! The terminal table: the report's document as aligned plain text.

use super::document::{plain, Block, Document, Medium};
use super::width::wrap;
use super::{Exporter, ReportInput};

pub struct Table;

/// Columns aligned with two spaces between them: text left, numbers right.
pub fn aligned(header: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cols: &[String]| -> String {
        let parts: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i].saturating_sub(c.chars().count()));
                let numeric = c.starts_with(|ch: char| ch.is_ascii_digit() || "+-–[".contains(ch));
                if i == 0 || !numeric {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let mut out = line(header);
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    out.push_str(&rule.join("  "));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

impl Exporter for Table {
    fn file_name(&self) -> Option<&'static str> {
        None
    }

    fn render(&self, _input: &ReportInput, doc: &Document) -> anyhow::Result<String> {
        Ok(render(doc))
    }
}

/// The document as the terminal shows it, fitted to the width the binary
/// set for its terminal (none: every column).
pub fn render(doc: &Document) -> String {
    render_within(doc, super::width::fitted_width())
}

/// The document in at most `width` columns where one is given: prose
/// wrapped, a table's optional columns left out (and named) until it fits.
pub fn render_within(doc: &Document, width: Option<usize>) -> String {
    let mut out = format!("{} · run {}\n", doc.experiment, doc.run_id);
    for s in &doc.sections {
        if let Some(title) = s.title.get(Medium::Terminal) {
            out.push('\n');
            out.push_str(&wrap(&format!("{title}:"), width));
        }
        let mut body = String::new();
        for b in s.shown(Medium::Terminal) {
            block(&mut body, b, width);
        }
        out.push_str(&body);
    }
    out
}

fn block(out: &mut String, b: &Block, width: Option<usize>) {
    match b {
        Block::Prose(p) => out.push_str(&wrap(&plain(&p.spans), width)),
        Block::Table(t) => out.push_str(&super::width::fitted(t, width)),
        Block::Checks(items) => {
            for (line, _) in items {
                out.push_str(&wrap(&format!("  {line}"), width));
            }
        }
        // Warnings quote servers (a dead server's last words): shown, not obeyed.
        Block::Warnings(lines) => {
            for w in lines {
                let line = format!("warning: {}", crate::redact::for_terminal(w));
                out.push_str(&wrap(&line, width));
            }
        }
        Block::Groups(groups) => {
            for (heading, pairs) in groups {
                let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} {v}")).collect();
                out.push_str(&wrap(&format!("{heading}: {}", pairs.join(", ")), width));
            }
        }
        Block::Definitions(terms) => {
            for (term, definition) in terms {
                out.push_str(&wrap(&format!("{term}: {}", plain(definition)), width));
            }
        }
        // A terminal draws no charts.
        Block::Figures(_) => {}
    }
}
