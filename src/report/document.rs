//! The report as one ordered document: sections of headings, prose, tables
//! with tones, figures and notes, built once from the analysis
//! ([`super::build_document`]). The terminal table, `report.md` and
//! `report.html` only render it, so a column or a sentence cannot differ
//! between them by accident (the way hyperfine's `markup.rs` serves its
//! formats).
//!
//! The formats are not equally rich: the page draws charts and says more,
//! the terminal is terse. Each block says which formats show it ([`Media`]),
//! each heading how each format words it ([`Title`]).

use crate::analysis::verdict::Tone;

/// The formats that render the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    Terminal,
    Markdown,
    Page,
}

/// The formats that show a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Media(u8);

impl Media {
    pub const TERMINAL: Media = Media(1);
    pub const MARKDOWN: Media = Media(2);
    pub const PAGE: Media = Media(4);
    /// The terminal and Markdown: the text reports.
    pub const TEXT: Media = Media(1 | 2);
    pub const ALL: Media = Media(1 | 2 | 4);
    pub const NONE: Media = Media(0);

    /// These formats where `shown`, else none.
    #[must_use]
    pub fn when(self, shown: bool) -> Media {
        if shown {
            self
        } else {
            Media::NONE
        }
    }

    pub fn has(self, m: Medium) -> bool {
        let bit = match m {
            Medium::Terminal => Self::TERMINAL.0,
            Medium::Markdown => Self::MARKDOWN.0,
            Medium::Page => Self::PAGE.0,
        };
        self.0 & bit != 0
    }
}

impl std::ops::BitOr for Media {
    type Output = Media;
    fn bitor(self, other: Media) -> Media {
        Media(self.0 | other.0)
    }
}

/// The whole report: who and what it is about, then its sections in the
/// text formats' order (the page lays them out in its own, charts first).
pub struct Document {
    pub experiment: String,
    pub run_id: String,
    pub target: Option<String>,
    /// The experiment's own description, under the page's heading.
    pub description: Option<String>,
    /// Key facts of the run, under the page's heading.
    pub facts: Vec<(&'static str, String)>,
    pub sections: Vec<Section>,
}

/// What a section is about; the page orders its sections by it and links to
/// them by [`SectionId::anchor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionId {
    Design,
    /// A capacity run's searches: capacities, probes and their charts.
    Capacity,
    Summary,
    /// The charts of one factor's levels.
    Factor(String),
    Service,
    Significance,
    Effects,
    Load,
    InputLength,
    Distributions,
    Lengths,
    Turns,
    Expectations,
    Errors,
    Servers,
    Warnings,
    Definitions,
}

impl SectionId {
    pub fn anchor(&self) -> String {
        match self {
            SectionId::Design => "design".into(),
            SectionId::Capacity => "capacity".into(),
            SectionId::Summary => "summary".into(),
            SectionId::Factor(f) => format!("factor-{f}"),
            SectionId::Service => "slo".into(),
            SectionId::Significance => "significance".into(),
            SectionId::Effects => "interactions".into(),
            SectionId::Load => "load".into(),
            SectionId::InputLength => "input-length".into(),
            SectionId::Distributions => "distributions".into(),
            SectionId::Lengths => "lengths".into(),
            SectionId::Turns => "turns".into(),
            SectionId::Expectations => "expectations".into(),
            SectionId::Errors => "errors".into(),
            SectionId::Servers => "servers".into(),
            SectionId::Warnings => "warnings".into(),
            SectionId::Definitions => "definitions".into(),
        }
    }
}

/// A section's heading as each format words it; `None` where a format shows
/// the section without one (the page: not at all).
#[derive(Debug, Clone, Default)]
pub struct Title {
    pub terminal: Option<String>,
    pub markdown: Option<String>,
    pub page: Option<String>,
}

impl Title {
    /// The same words everywhere.
    pub fn same(title: &str) -> Title {
        Title {
            terminal: Some(title.into()),
            markdown: Some(title.into()),
            page: Some(title.into()),
        }
    }

    /// Only the page has the section.
    pub fn page(title: &str) -> Title {
        Title {
            page: Some(title.into()),
            ..Title::default()
        }
    }

    pub fn get(&self, m: Medium) -> Option<&str> {
        match m {
            Medium::Terminal => self.terminal.as_deref(),
            Medium::Markdown => self.markdown.as_deref(),
            Medium::Page => self.page.as_deref(),
        }
    }
}

pub struct Section {
    pub id: SectionId,
    pub title: Title,
    pub blocks: Vec<(Media, Block)>,
}

impl Section {
    pub fn new(id: SectionId, title: Title) -> Section {
        Section {
            id,
            title,
            blocks: Vec::new(),
        }
    }

    #[must_use]
    pub fn with(mut self, media: Media, block: Block) -> Section {
        self.blocks.push((media, block));
        self
    }

    pub fn push(&mut self, media: Media, block: Block) {
        self.blocks.push((media, block));
    }

    /// The blocks a format shows, in order.
    pub fn shown(&self, m: Medium) -> impl Iterator<Item = &Block> {
        self.blocks
            .iter()
            .filter(move |(media, _)| media.has(m))
            .map(|(_, b)| b)
    }
}

pub enum Block {
    Prose(Prose),
    Table(Table),
    /// Charts (the page's), side by side.
    Figures(Vec<crate::report::html::charts::Figure>),
    /// Checks and their outcomes, one line each with the name of its
    /// outcome (the page colours it).
    Checks(Vec<(String, &'static str)>),
    /// What the report warns of, one line each.
    Warnings(Vec<String>),
    /// Groups of key–value pairs side by side, each under its heading.
    Groups(Vec<(String, Vec<(String, String)>)>),
    /// Terms and their definitions.
    Definitions(Vec<(&'static str, Vec<Span>)>),
}

/// A paragraph.
pub struct Prose {
    pub spans: Vec<Span>,
    /// A note reads smaller on the page.
    pub note: bool,
}

impl Prose {
    pub fn new(spans: Vec<Span>) -> Prose {
        Prose { spans, note: false }
    }

    pub fn note(spans: Vec<Span>) -> Prose {
        Prose { spans, note: true }
    }
}

/// A piece of a paragraph.
pub enum Span {
    /// Text that may hold anything (it quotes the experiment, a server, the
    /// run folder): escaped by every markup format.
    Text(String),
    /// Our own words, with nothing a format would need to escape: written
    /// as they are.
    Own(String),
    /// A file, a field or a setting.
    Code(String),
    /// Text that stands out (escaped as [`Span::Text`]).
    Strong(String),
    /// A word coloured as a tone colours rows.
    Toned(Tone, String),
}

impl Span {
    /// The words without their markup.
    pub fn words(&self) -> &str {
        match self {
            Span::Text(t) | Span::Own(t) | Span::Code(t) | Span::Strong(t) => t,
            Span::Toned(_, t) => t,
        }
    }
}

/// A paragraph's words without their markup.
pub fn plain(spans: &[Span]) -> String {
    spans.iter().map(Span::words).collect()
}

/// How a table's columns align where a format states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Left to the format (the terminal aligns numbers right).
    Unstated,
    /// The first column left, the others (numbers) right.
    LabelThenNumbers,
}

pub struct Table {
    pub header: Vec<String>,
    /// Each row's cells, and its tone where the row is better or worse.
    pub rows: Vec<(Vec<String>, Option<Tone>)>,
    pub align: Align,
    /// Columns a narrow terminal may leave out, the first to go first;
    /// files keep every column.
    pub optional: Vec<usize>,
}

impl Table {
    pub fn new(header: Vec<String>, rows: Vec<Vec<String>>) -> Table {
        Table {
            header,
            rows: rows.into_iter().map(|r| (r, None)).collect(),
            align: Align::Unstated,
            optional: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Columns by rank, highest first and the rightmost of a rank first; rank
/// 0 is never left out.
pub fn by_rank(ranks: impl Iterator<Item = u8>) -> Vec<usize> {
    let mut ranked: Vec<(u8, usize)> = ranks
        .enumerate()
        .map(|(i, r)| (r, i))
        .filter(|(r, _)| *r > 0)
        .collect();
    ranked.sort_by(|a, b| b.cmp(a));
    ranked.into_iter().map(|(_, i)| i).collect()
}

/// Owned strings from a list of names.
pub fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{html, markdown, table};

    /// A summary table, then a section each format words its own way, with
    /// a block for Markdown alone, one for the page alone and warnings for
    /// the text formats.
    fn doc() -> Document {
        let summary = Table {
            header: strings(&["configuration", "req/s"]),
            rows: vec![
                (strings(&["baseline", "1.00"]), None),
                (strings(&["c=<2>|", "12.5"]), Some(Tone::Worse)),
            ],
            align: Align::LabelThenNumbers,
            optional: Vec::new(),
        };
        let verdicts = Section::new(
            SectionId::Significance,
            Title {
                terminal: Some("Verdicts (terse)".into()),
                ..Title::same("Verdicts")
            },
        )
        .with(
            Media::ALL,
            Block::Prose(Prose::note(vec![
                Span::Text("a <b>|[x]".into()),
                Span::Own(" in ".into()),
                Span::Code("stats.csv".into()),
                Span::Own(".".into()),
            ])),
        )
        .with(
            Media::MARKDOWN,
            Block::Prose(Prose::new(vec![Span::Own("markdown only".into())])),
        )
        .with(Media::PAGE, Block::Figures(Vec::new()));
        let warnings = Section::new(SectionId::Warnings, Title::default())
            .with(Media::TEXT, Block::Warnings(vec!["odd\u{1b}[31m".into()]));
        Document {
            experiment: "exp".into(),
            run_id: "RUN".into(),
            target: Some("http://t".into()),
            description: None,
            facts: vec![("run", "RUN".into())],
            // The page puts the summary first whatever the document's order.
            sections: vec![
                verdicts,
                Section::new(SectionId::Summary, Title::page("Summary"))
                    .with(Media::ALL, Block::Table(summary)),
                warnings,
            ],
        }
    }

    #[test]
    fn the_terminal_renders_the_documents_text_blocks() {
        assert_eq!(
            table::render(&doc()),
            "exp · run RUN\n\
             \nVerdicts (terse):\n\
             a <b>|[x] in stats.csv.\n\
             configuration  req/s\n\
             ─────────────  ─────\n\
             baseline        1.00\n\
             c=<2>|          12.5\n\
             warning: odd\\u{1b}[31m\n"
        );
    }

    #[test]
    fn markdown_renders_the_same_blocks_escaped() {
        assert_eq!(
            markdown::render(&doc()),
            "# exp\n\nRun `RUN` against `http://t`.\n\
             \n## Verdicts\n\
             \na &lt;b&gt;\\|\\[x\\] in `stats.csv`.\n\
             \nmarkdown only\n\
             \n| configuration | req/s |\n| :-- | --: |\n| baseline | 1.00 |\n| c=&lt;2&gt;\\| | 12.5 |\n\
             \n- ⚠ odd\u{1b}\\[31m\n"
        );
    }

    #[test]
    fn the_page_orders_its_sections_and_keeps_the_tones() {
        let page = html::render(&doc());
        let (summary, verdicts) = (
            page.find("<section id=\"summary\">").unwrap(),
            page.find("<section id=\"significance\">").unwrap(),
        );
        assert!(summary < verdicts, "{page}");
        assert!(page.contains(
            "<p class=\"note\">a &lt;b&gt;|[x] in <code>stats.csv</code>.</p><div class=\"grid\"></div>"
        ));
        assert!(page.contains("<tr class=\"worse\"><td>c=&lt;2&gt;|</td><td>12.5</td></tr>"));
        assert!(
            !page.contains("markdown only") && !page.contains("odd"),
            "{page}"
        );
        assert!(!page.contains("warnings"), "untitled: not on the page");
    }
}
