//! The terminal table: the report's document as aligned plain text.

use super::document::{plain, Block, Document, Medium};
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

/// The document as the terminal shows it.
pub fn render(doc: &Document) -> String {
    let mut out = format!("{} · run {}\n", doc.experiment, doc.run_id);
    for s in &doc.sections {
        if let Some(title) = s.title.get(Medium::Terminal) {
            out.push_str(&format!("\n{title}:\n"));
        }
        for b in s.shown(Medium::Terminal) {
            block(&mut out, b);
        }
    }
    out
}

fn block(out: &mut String, b: &Block) {
    match b {
        Block::Prose(p) => {
            out.push_str(&plain(&p.spans));
            out.push('\n');
        }
        Block::Table(t) => {
            let rows: Vec<Vec<String>> = t.rows.iter().map(|(r, _)| r.clone()).collect();
            out.push_str(&aligned(&t.header, &rows));
        }
        Block::Checks(items) => {
            for (line, _) in items {
                out.push_str(&format!("  {line}\n"));
            }
        }
        // Warnings quote servers (a dead server's last words): shown, not obeyed.
        Block::Warnings(lines) => {
            for w in lines {
                out.push_str(&format!("warning: {}\n", crate::redact::for_terminal(w)));
            }
        }
        Block::Groups(groups) => {
            for (heading, pairs) in groups {
                let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} {v}")).collect();
                out.push_str(&format!("{heading}: {}\n", pairs.join(", ")));
            }
        }
        Block::Definitions(terms) => {
            for (term, definition) in terms {
                out.push_str(&format!("{term}: {}\n", plain(definition)));
            }
        }
        // A terminal draws no charts.
        Block::Figures(_) => {}
    }
}
