//! `report.md`: the report's document as Markdown.

use super::document::{Align, Block, Document, Medium, Span, Table};
use super::{Exporter, ReportInput};

pub struct Markdown;

/// Markdown passes inline HTML through, `|` ends a table cell, a line
/// break can start a heading and brackets make links and images: text from
/// the experiment or a server is escaped wherever it lands.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('`', "\\`")
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

impl Exporter for Markdown {
    fn file_name(&self) -> Option<&'static str> {
        Some("report.md")
    }

    fn render(&self, _input: &ReportInput, doc: &Document) -> anyhow::Result<String> {
        Ok(render(doc))
    }
}

/// The document as Markdown.
pub fn render(doc: &Document) -> String {
    let mut out = format!("# {}\n\nRun `{}`", doc.experiment, doc.run_id);
    if let Some(t) = &doc.target {
        out.push_str(&format!(" against `{t}`"));
    }
    out.push_str(".\n");
    // Every block after a blank line.
    for s in &doc.sections {
        if let Some(title) = s.title.get(Medium::Markdown) {
            out.push_str(&format!("\n## {title}\n"));
        }
        for b in s.shown(Medium::Markdown) {
            if let Some(text) = block(b) {
                out.push('\n');
                out.push_str(&text);
            }
        }
    }
    out
}

/// A block as Markdown, ending in a line break; `None` for charts.
fn block(b: &Block) -> Option<String> {
    let text = match b {
        Block::Prose(p) => format!("{}\n", spans(&p.spans)),
        Block::Table(t) => table(t),
        Block::Checks(items) => items
            .iter()
            .map(|(line, _)| format!("- {}\n", escape(line)))
            .collect(),
        Block::Warnings(lines) => lines
            .iter()
            .map(|w| format!("- ⚠ {}\n", escape(w)))
            .collect(),
        Block::Groups(groups) => groups
            .iter()
            .map(|(heading, pairs)| {
                let pairs: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}: {}", escape(k), escape(v)))
                    .collect();
                format!("- {}: {}\n", escape(heading), pairs.join(", "))
            })
            .collect(),
        Block::Definitions(terms) => terms
            .iter()
            .map(|(term, definition)| format!("- **{}**: {}\n", escape(term), spans(definition)))
            .collect(),
        Block::Figures(_) => return None,
    };
    Some(text)
}

fn table(t: &Table) -> String {
    let divider: Vec<&str> = match t.align {
        Align::Unstated => vec!["--"; t.header.len()],
        Align::LabelThenNumbers => (0..t.header.len())
            .map(|i| if i == 0 { ":--" } else { "--:" })
            .collect(),
    };
    let mut out = format!(
        "| {} |\n| {} |\n",
        t.header.join(" | "),
        divider.join(" | ")
    );
    for (row, _) in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

fn spans(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| match s {
            Span::Own(t) => t.clone(),
            Span::Text(t) | Span::Toned(_, t) => escape(t),
            Span::Code(t) => format!("`{t}`"),
            Span::Strong(t) => format!("**{}**", escape(t)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn text_cannot_start_a_heading_an_image_or_a_cell() {
        let level = "q4\n# Owned\n![x](http://evil/x.png) | <b>`code`</b>\r\nend";
        let e = escape(level);
        assert!(!e.contains('\n') && !e.contains('\r'), "{e}");
        assert_eq!(
            e,
            "q4 # Owned !\\[x\\](http://evil/x.png) \\| &lt;b&gt;\\`code\\`&lt;/b&gt; end"
        );
    }
}
