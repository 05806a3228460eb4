//! The report's document, built once from the analysis: every section's
//! words live here (the page's own sections, charts and facts in
//! [`super::html::sections`]), the formats only render them.

use super::cells::{cells, HEADERS};
use super::document::{
    Align, Block, Document, Media, Prose, Section, SectionId, Span, Table, Title,
};
use super::html::sections as page;
use super::{
    effects_table, expectation_lines, length_table, rate_summary, sensitivity_line, service_table,
    significance_table, slo_words, turn_table, warnings, ReportInput,
};
use crate::analysis::verdict::Tone;

/// The report of a run, in the text formats' order.
pub fn build_document(input: &ReportInput) -> Document {
    let warned: Vec<String> = warnings(input).iter().map(ToString::to_string).collect();
    let mut sections = Vec::new();
    sections.extend(page::design(input));
    sections.extend(super::capacity::section(input));
    sections.push(summary(input, &warned));
    // A capacity run's probes are no factor's levels: its own charts
    // replace the factor and load charts.
    let searched = !input.searches.is_empty();
    if !searched {
        sections.extend(page::factor_charts(input));
    }
    sections.push(service(input));
    sections.push(significance(input));
    sections.push(effects(input));
    let load = page::load_charts(input).into_iter();
    sections.extend(load.filter(|s| !searched || s.id != SectionId::Load));
    sections.extend(traffic(input));
    sections.push(expectations(input));
    sections.push(page::errors(input));
    sections.extend(page::servers(input));
    // The page shows the warnings under the summary, the text formats last.
    let mut last = Section::new(SectionId::Warnings, Title::default());
    if !warned.is_empty() {
        last.push(Media::TEXT, Block::Warnings(warned));
    }
    sections.push(last);
    sections.push(definitions());
    Document {
        experiment: input.experiment().to_string(),
        run_id: input.run_id().to_string(),
        target: input.target().map(str::to_string),
        description: input.spec.and_then(|e| e.description.clone()),
        facts: page::facts(input),
        sections,
    }
}

fn own(s: &str) -> Span {
    Span::Own(s.to_string())
}

fn text(s: &str) -> Span {
    Span::Text(s.to_string())
}

fn code(s: &str) -> Span {
    Span::Code(s.to_string())
}

/// One row per configuration; the page shows the warnings under it.
fn summary(input: &ReportInput, warned: &[String]) -> Section {
    let table = Table {
        header: HEADERS.iter().map(|h| h.to_string()).collect(),
        rows: input.rows.iter().map(|r| (cells(r), None)).collect(),
        align: Align::LabelThenNumbers,
        optional: super::cells::optional(),
    };
    // Under a capacity run's section the table needs a heading of its own.
    let title = match input.searches.is_empty() {
        true => Title::page("Summary"),
        false => Title {
            terminal: Some("Summary, a row per probe".into()),
            ..Title::same("Summary")
        },
    };
    let mut s = Section::new(SectionId::Summary, title).with(Media::ALL, Block::Table(table));
    if !warned.is_empty() {
        s.push(Media::PAGE, Block::Warnings(warned.to_vec()));
    }
    s.with(
        Media::PAGE,
        Block::Prose(Prose::note(vec![own(
            "Percentiles pool every successful request of a configuration. \
             Throughput is mean ± sample standard deviation across trials.",
        )])),
    )
}

fn service(input: &ReportInput) -> Section {
    let mut slo = slo_words(input.slo);
    if input.slo_given {
        slo = format!("as given to report --slo, not the experiment's: {slo}");
    }
    let title = Title {
        terminal: Some(format!("Service levels ({slo})")),
        markdown: Some("Service levels".into()),
        page: Some("Service levels and cost".into()),
    };
    let mut s = Section::new(SectionId::Service, title)
        .with(
            Media::MARKDOWN,
            Block::Prose(Prose::new(vec![text(&slo), own(".")])),
        )
        .with(
            Media::PAGE,
            Block::Prose(Prose::new(vec![
                own("Objectives: "),
                text(&slo),
                own(". Goodput counts the requests per second that met every per-request objective; a failed request meets none."),
            ])),
        )
        .with(Media::ALL, Block::Table(service_table(input)));
    // A capacity run says its highest rate in its own section, with an
    // interval, rather than the best of the probes.
    if let Some(line) = rate_summary(input).filter(|_| input.searches.is_empty()) {
        s.push(
            Media::MARKDOWN,
            Block::Prose(Prose::new(vec![text(&line), own(".")])),
        );
        s.push(
            Media::TERMINAL | Media::PAGE,
            Block::Prose(Prose::new(vec![Span::Strong(line)])),
        );
    }
    if input.searches.is_empty() {
        page::service_charts(input, &mut s);
    }
    if input
        .rows
        .iter()
        .all(|r| r.metric("usd_per_1m_output_tokens").mean.is_none())
    {
        s.push(
            Media::PAGE,
            Block::Prose(Prose::note(vec![
                own("No price declared: add "),
                code("cost: {usd_per_hour: 2.5}"),
                own(" to the experiment for the cost per million tokens."),
            ])),
        );
    }
    s
}

/// Welch + Holm against the baseline with TOST beside it, then how small a
/// change the run could have seen and why its repetitions stopped.
fn significance(input: &ReportInput) -> Section {
    // Between a capacity run's probes, which differ in load by design, a
    // test says nothing: its section says so and compares capacities.
    if !input.searches.is_empty() {
        return Section::new(SectionId::Significance, Title::default());
    }
    let table = significance_table(input);
    let d = input.decision;
    let mut s = if table.is_empty() {
        Section::new(SectionId::Significance, Title::default())
    } else {
        let terminal = format!(
            "Against the baseline (Welch's t-test over trials, Holm-adjusted {}; a verdict needs p < {} and a change over {}%; TOST, each on its own: the same within ±{}%?)",
            d.family.describe(),
            d.alpha,
            d.threshold * 100.0,
            d.equivalence * 100.0
        );
        let welch = format!(
            "Welch's t-test over per-trial values, Holm–Bonferroni {}; \
             a verdict needs an adjusted p below {} and a change larger than {} %",
            d.family.describe(),
            d.alpha,
            d.threshold * 100.0,
        );
        let title = Title {
            terminal: Some(terminal),
            ..Title::same("Against the baseline")
        };
        let markdown = vec![
            Span::Own(format!(
                "{welch}. TOST says whether the two are the same within ±{} % (equivalent), not (different), \
                 or cannot tell (inconclusive), each comparison on its own, not adjusted. Every metric is in ",
                d.equivalence * 100.0
            )),
            code("stats.csv"),
            own("."),
        ];
        let page = vec![
            Span::Own(format!(
                "{welch}; TOST says whether the two are the same within ±{} % (each comparison on its own, not adjusted). ",
                d.equivalence * 100.0
            )),
            Span::Toned(Tone::Better, "Better".into()),
            own(", "),
            Span::Toned(Tone::Worse, "worse".into()),
            own(" are coloured; no significant change is not evidence of none (equivalence says that). Every metric is in "),
            code("stats.csv"),
            own("."),
        ];
        Section::new(SectionId::Significance, title)
            .with(Media::MARKDOWN, Block::Prose(Prose::new(markdown)))
            .with(Media::PAGE, Block::Prose(Prose::new(page)))
            .with(Media::ALL, Block::Table(table))
    };
    if let Some(line) = sensitivity_line(input) {
        s.push(
            Media::ALL,
            Block::Prose(Prose::note(vec![Span::Text(line), own(".")])),
        );
    }
    if let Some(stop) = &input.run.manifest.repetitions_stop {
        // The page has it among the run's facts.
        s.push(
            Media::TEXT,
            Block::Prose(Prose::new(vec![Span::Text(format!(
                "Repetitions: {} blocks; {}.",
                stop.blocks, stop.reason
            ))])),
        );
    }
    s
}

/// A factorial run's ANOVA: the text formats where a shown metric has a
/// term, the page (with its interaction charts) wherever there is one.
fn effects(input: &ReportInput) -> Section {
    let table = effects_table(input);
    let text_shown = !table.is_empty();
    let page_shown = input.spec.is_some() && !input.effects.is_empty();
    let title = Title {
        terminal: text_shown.then(|| {
            "Effects (type-II ANOVA over trials, repetition as a block; every metric in effects.csv)".into()
        }),
        markdown: text_shown.then(|| "Effects and interactions".into()),
        page: page_shown.then(|| "Effects and interactions".into()),
    };
    let mut s = Section::new(SectionId::Effects, title);
    page::interaction_charts(input, &mut s);
    if !text_shown && !page_shown {
        return s;
    }
    let prose = vec![
        own(
            "Type-II ANOVA over per-trial values: main effects, two-factor interactions, \
             the repetition as a block. Every metric is in ",
        ),
        code("effects.csv"),
        own("."),
    ];
    s.with(
        Media::MARKDOWN.when(text_shown) | Media::PAGE.when(page_shown),
        Block::Prose(Prose::new(prose)),
    )
    .with(
        Media::TEXT.when(text_shown) | Media::PAGE.when(page_shown),
        Block::Table(table),
    )
}

/// The sentence above the lengths table.
const LENGTHS_NOTE: &str = "Lengths of the successful requests, p10 / p50 / p90 (one number where every request had it): asked is what the workload drew, served is the server's own count (usage)";

/// The sentence above the turns table.
const TURNS_NOTE: &str = "Each turn sends the conversation so far: prompt tokens grow turn by turn, and a prefix cache shows as cached tokens. Prompt and cached tokens are means over the turn's successful requests; TTFT percentiles are exact";

/// The lengths asked and served, and the conversations by turn, where the
/// run has them.
fn traffic(input: &ReportInput) -> Vec<Section> {
    let lengths = Title {
        terminal: Some("Lengths asked and served (p10 / p50 / p90)".into()),
        ..Title::same("Lengths asked and served")
    };
    [
        (
            SectionId::Lengths,
            lengths,
            LENGTHS_NOTE,
            length_table(input),
        ),
        (
            SectionId::Turns,
            Title::same("Conversations by turn"),
            TURNS_NOTE,
            turn_table(input),
        ),
    ]
    .into_iter()
    .filter(|(.., table)| !table.is_empty())
    .map(|(id, title, note, table)| {
        Section::new(id, title)
            .with(
                Media::MARKDOWN | Media::PAGE,
                Block::Prose(Prose::new(vec![text(note), own(".")])),
            )
            .with(Media::ALL, Block::Table(table))
    })
    .collect()
}

fn expectations(input: &ReportInput) -> Section {
    let lines = expectation_lines(input);
    if lines.is_empty() {
        return Section::new(SectionId::Expectations, Title::default());
    }
    let title = Title {
        terminal: Some("Expectations (Holm across them)".into()),
        ..Title::same("Expectations")
    };
    Section::new(SectionId::Expectations, title).with(Media::ALL, Block::Checks(lines))
}

/// How the numbers are made: the page's definitions, Markdown's closing
/// paragraph.
fn definitions() -> Section {
    let closing = vec![
        own(
            "Percentiles pool every successful request of a configuration (linear interpolation). \
             Throughput is mean ± sample standard deviation across trials; a trial's throughput is its \
             output tokens over first send → last completion. TTFT: send → first content event. \
             TPOT: (E2E − TTFT) / (output tokens − 1). ITL: gaps between content events. \
             Token counts are the server's own (",
        ),
        code("usage"),
        own(")."),
    ];
    Section::new(
        SectionId::Definitions,
        Title::page("How the numbers are made"),
    )
    .with(Media::PAGE, Block::Definitions(page::definitions()))
    .with(Media::MARKDOWN, Block::Prose(Prose::new(closing)))
}
