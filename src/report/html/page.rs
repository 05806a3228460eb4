//! The page around the content: inline stylesheet, header, table of
//! contents, sections. Shared by the run, comparison and history reports.

use super::charts::Figure;
use super::escape;
use super::svg::PALETTE;
use std::fmt::Write;

const STYLE: &str = include_str!("style.css");

pub struct Page {
    title: String,
    head: String,
    toc: Vec<(String, String)>,
    body: String,
}

impl Page {
    pub fn new(title: &str) -> Self {
        Page {
            title: title.to_string(),
            head: String::new(),
            toc: Vec::new(),
            body: String::new(),
        }
    }

    /// The page's heading and a description under it.
    pub fn header(&mut self, heading: &str, description: Option<&str>) {
        let _ = write!(self.head, "<h1>{}</h1>", escape(heading));
        if let Some(d) = description {
            let _ = write!(self.head, "<p class=\"desc\">{}</p>", escape(d));
        }
    }

    /// Key facts as a definition list under the heading.
    pub fn facts(&mut self, facts: &[(&str, String)]) {
        self.head.push_str("<dl class=\"facts\">");
        for (k, v) in facts {
            let _ = write!(self.head, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
        }
        self.head.push_str("</dl>");
    }

    /// A section; `html` must already be escaped.
    pub fn section(&mut self, id: &str, heading: &str, html: &str) {
        let id: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let _ = write!(
            self.body,
            "<section id=\"{id}\"><h2>{}</h2>{html}</section>",
            escape(heading)
        );
        self.toc.push((id, heading.to_string()));
    }

    pub fn finish(self) -> String {
        let mut toc = String::from("<nav><ol>");
        for (id, heading) in &self.toc {
            let _ = write!(toc, "<li><a href=\"#{id}\">{}</a></li>", escape(heading));
        }
        toc.push_str("</ol></nav>");
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
             <title>{}</title><style>{STYLE}</style></head>\
             <body><header>{}</header>{toc}<main>{}</main>\
             <footer>Made by infer-bench {} · a self-contained page: no scripts, no network.</footer></body></html>\n",
            escape(&self.title),
            self.head,
            self.body,
            env!("CARGO_PKG_VERSION")
        )
    }
}

/// Figures side by side, each with its legend (when it has several series)
/// and caption.
pub fn figure_grid(figures: &[Figure]) -> String {
    let mut s = String::from("<div class=\"grid\">");
    for f in figures {
        s.push_str("<figure>");
        let _ = write!(s, "<h3>{}</h3>", escape(&f.chart.title));
        s.push_str(&f.chart.to_svg());
        if f.chart.series.len() > 1 {
            s.push_str("<ul class=\"legend\">");
            for (i, series) in f.chart.series.iter().enumerate() {
                let _ = write!(
                    s,
                    "<li><span class=\"swatch s{}\"></span>{}</li>",
                    i % PALETTE,
                    escape(&series.name)
                );
            }
            s.push_str("</ul>");
        }
        let _ = write!(
            s,
            "<figcaption>{}</figcaption></figure>",
            escape(&f.caption)
        );
    }
    s.push_str("</div>");
    s
}
