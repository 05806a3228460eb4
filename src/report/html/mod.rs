//! `report.html`: one self-contained page (inline CSS and SVG, no script, no
//! network) rendered from the report's document: the experiment, the
//! summary, the charts, the tests against the baseline, expectations, errors
//! and the servers. Every piece of text that came from the experiment or a
//! server goes through [`escape`].

mod axis;
mod capacity;
pub mod charts;
pub mod compare;
pub mod history;
mod interactions;
mod page;
pub(crate) mod sections;
pub mod svg;

use super::document::{Block, Document, Medium, Section, SectionId, Span};
use super::{Exporter, ReportInput};
use crate::analysis::verdict::Tone;
pub use page::{figure_grid, Page};
use std::fmt::Write;

pub struct Html;

/// Text made safe for HTML element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table: escaped header and cells, with an optional class per row.
pub fn table(header: &[String], rows: &[(Vec<String>, Option<&str>)]) -> String {
    let mut s = String::from("<div class=\"scroll\"><table><thead><tr>");
    for h in header {
        let _ = write!(s, "<th>{}</th>", escape(h));
    }
    s.push_str("</tr></thead><tbody>");
    for (cells, class) in rows {
        match class {
            Some(c) => {
                let _ = write!(s, "<tr class=\"{c}\">");
            }
            None => s.push_str("<tr>"),
        }
        for c in cells {
            let _ = write!(s, "<td>{}</td>", escape(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
    s
}

impl Exporter for Html {
    fn file_name(&self) -> Option<&'static str> {
        Some("report.html")
    }

    fn render(&self, _input: &ReportInput, doc: &Document) -> anyhow::Result<String> {
        Ok(render(doc))
    }
}

/// The document as a page: its sections in the page's order, each with the
/// blocks the page shows.
pub fn render(doc: &Document) -> String {
    let mut page = Page::new(&format!("{} · infer-bench", doc.experiment));
    page.header(&doc.experiment, doc.description.as_deref());
    page.facts(&doc.facts);
    let mut sections: Vec<&Section> = doc.sections.iter().collect();
    sections.sort_by_key(|s| place(&s.id));
    for s in sections {
        let Some(title) = s.title.get(Medium::Page) else {
            continue;
        };
        let body: String = s.shown(Medium::Page).map(block).collect();
        page.section(&s.id.anchor(), title, &body);
    }
    page.finish()
}

/// Where the page puts a section: the design and the summary, then the
/// charts and the tables they draw from, then the verdicts, then what went
/// wrong and how the numbers are made.
fn place(id: &SectionId) -> u8 {
    match id {
        SectionId::Design => 0,
        // A capacity run's answer, before its probes' tables.
        SectionId::Capacity => 1,
        SectionId::Summary => 2,
        SectionId::Factor(_) => 3,
        SectionId::Effects => 4,
        SectionId::Load => 5,
        SectionId::InputLength => 6,
        SectionId::Distributions => 7,
        SectionId::Lengths => 8,
        SectionId::Turns => 9,
        SectionId::Service => 10,
        SectionId::Significance => 11,
        SectionId::Expectations => 12,
        SectionId::Errors => 13,
        SectionId::Servers => 14,
        SectionId::Warnings => 15,
        SectionId::Definitions => 16,
    }
}

fn block(b: &Block) -> String {
    match b {
        Block::Prose(p) if p.note => format!("<p class=\"note\">{}</p>", spans(&p.spans)),
        Block::Prose(p) => format!("<p>{}</p>", spans(&p.spans)),
        Block::Table(t) => {
            let rows: Vec<(Vec<String>, Option<&str>)> = t
                .rows
                .iter()
                .map(|(cells, tone)| (cells.clone(), tone.map(Tone::class)))
                .collect();
            table(&t.header, &rows)
        }
        Block::Figures(figures) => figure_grid(figures),
        Block::Checks(items) => {
            let mut s = String::from("<ul class=\"expect\">");
            for (line, outcome) in items {
                let _ = write!(s, "<li class=\"{outcome}\">{}</li>", escape(line));
            }
            s.push_str("</ul>");
            s
        }
        Block::Warnings(lines) => lines
            .iter()
            .map(|w| format!("<p class=\"warn\">⚠ {}</p>", escape(w)))
            .collect(),
        Block::Groups(groups) => {
            let mut s = String::from("<div class=\"design\">");
            for (heading, pairs) in groups {
                let _ = write!(s, "<div><h3>{}</h3><table class=\"kv\">", escape(heading));
                for (k, v) in pairs {
                    let _ = write!(s, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
                }
                s.push_str("</table></div>");
            }
            s.push_str("</div>");
            s
        }
        Block::Definitions(terms) => {
            let mut s = String::from("<dl class=\"defs\">");
            for (term, definition) in terms {
                let _ = write!(s, "<dt>{}</dt><dd>{}</dd>", escape(term), spans(definition));
            }
            s.push_str("</dl>");
            s
        }
    }
}

fn spans(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| match s {
            Span::Own(t) => t.clone(),
            Span::Text(t) => escape(t),
            Span::Code(t) => format!("<code>{}</code>", escape(t)),
            Span::Strong(t) => format!("<strong>{}</strong>", escape(t)),
            Span::Toned(tone, t) => {
                format!("<span class=\"{}\">{}</span>", tone.class(), escape(t))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_open_markup() {
        assert_eq!(
            escape(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
        let t = table(&["<h>".into()], &[(vec!["<td>".into()], Some("worse"))]);
        assert!(
            t.contains("&lt;h&gt;") && t.contains("&lt;td&gt;") && t.contains("class=\"worse\"")
        );
    }
}
