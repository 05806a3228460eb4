//! `report.html`: one self-contained page (inline CSS and SVG, no script, no
//! network) with the experiment, the summary, the charts, the tests against
//! the baseline, expectations, errors and the servers. Every piece of text
//! that came from the experiment or a server goes through [`escape`].

pub mod charts;
pub mod compare;
pub mod history;
mod interactions;
mod page;
pub mod svg;

use super::cells::{cells, HEADERS};
use super::{
    expectation_lines, rate_summary, service_lines, significance_lines, slo_words, warnings,
    Exporter, ReportInput,
};
use crate::analysis::compare::tone;
use charts::Figure;
pub use page::{figure_grid, Page};
use std::collections::BTreeMap;
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
    fn name(&self) -> &'static str {
        "html"
    }

    fn file_name(&self) -> Option<&'static str> {
        Some("report.html")
    }

    fn render(&self, input: &ReportInput) -> anyhow::Result<String> {
        let run = input.run;
        let m = &run.manifest;
        let mut page = Page::new(&format!("{} · infer-bench", input.experiment()));
        page.header(
            input.experiment(),
            input.spec.and_then(|e| e.description.as_deref()),
        );
        page.facts(&run_facts(input));
        if let Some(design) = design(input) {
            page.section("design", "Design", &design);
        }

        let mut summary = table(
            &HEADERS.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &input
                .rows
                .iter()
                .map(|r| (cells(r), None))
                .collect::<Vec<_>>(),
        );
        for w in warnings(input) {
            let _ = write!(
                summary,
                "<p class=\"warn\">⚠ {}</p>",
                escape(&w.to_string())
            );
        }
        summary.push_str(
            "<p class=\"note\">Percentiles pool every successful request of a configuration. \
             Throughput is mean ± sample standard deviation across trials.</p>",
        );
        page.section("summary", "Summary", &summary);

        for (factor, figures) in charts::factor_figures(&run.configurations, input.estimates) {
            page.section(
                &format!("factor-{factor}"),
                &format!("Effect of {factor}"),
                &figure_grid(&figures),
            );
        }
        if let Some(e) = input.spec.filter(|_| !input.effects.is_empty()) {
            let figures = interactions::interaction_figures(
                &run.configurations,
                input.estimates,
                &e.factors,
                input.effects,
            );
            let (header, rows) = crate::report::effects_lines(input);
            let rows: Vec<(Vec<String>, Option<&str>)> =
                rows.into_iter().map(|r| (r, None)).collect();
            let body = format!(
                "{}<p>Type-II ANOVA over per-trial values: main effects, two-factor interactions,                  the repetition as a block. Every metric is in <code>effects.csv</code>.</p>{}",
                figure_grid(&figures),
                table(&header, &rows)
            );
            page.section("interactions", "Effects and interactions", &body);
        }
        let load = charts::load_figures(&run.configurations, input.estimates);
        if !load.is_empty() {
            page.section(
                "load",
                "Throughput and latency under load",
                &figure_grid(&load),
            );
        }
        if let Some(f) = charts::input_length_figure(&run.configurations, input.estimates) {
            page.section("input-length", "TTFT vs input length", &figure_grid(&[f]));
        }
        let distributions: Vec<Figure> = vec![
            charts::distribution_figure(&run.configurations, input.digest, "TTFT", |c| {
                &c.ttft_ecdf
            }),
            charts::distribution_figure(&run.configurations, input.digest, "E2E", |c| &c.e2e_ecdf),
        ];
        page.section(
            "distributions",
            "Latency distributions",
            &figure_grid(&distributions),
        );
        for (id, title, note, (header, rows)) in [
            (
                "lengths",
                "Lengths asked and served",
                crate::report::LENGTHS_NOTE,
                crate::report::length_lines(input),
            ),
            (
                "turns",
                "Conversations by turn",
                crate::report::TURNS_NOTE,
                crate::report::turn_lines(input),
            ),
        ] {
            if rows.is_empty() {
                continue;
            }
            let rows: Vec<(Vec<String>, Option<&str>)> =
                rows.into_iter().map(|r| (r, None)).collect();
            page.section(
                id,
                title,
                &format!("<p>{}.</p>{}", escape(note), table(&header, &rows)),
            );
        }

        page.section("slo", "Service levels and cost", &service(input));

        let (header, rows) = significance_lines(input);
        if !rows.is_empty() {
            let shown: Vec<&crate::analysis::compare::Comparison> = input
                .comparisons
                .iter()
                .filter(|c| crate::metrics::by_column(&c.metric).is_some_and(|m| m.shown))
                .collect();
            let rows: Vec<(Vec<String>, Option<&str>)> = rows
                .into_iter()
                .zip(&shown)
                .map(|(r, c)| (r, Some(tone(c).class())))
                .collect();
            let body = format!(
                "<p>Welch's t-test over per-trial values, Holm–Bonferroni {}; \
                 a verdict needs an adjusted p below {} and a change larger than {} %; \
                 TOST says whether the two are the same within ±{} % (each comparison on its own, not adjusted). \
                 <span class=\"better\">Better</span>, <span class=\"worse\">worse</span> and unchanged are coloured. \
                 Every metric is in <code>stats.csv</code>.</p>{}",
                input.decision.family.describe(),
                input.decision.alpha,
                input.decision.threshold * 100.0,
                input.decision.equivalence * 100.0,
                table(&header, &rows)
            );
            let body = match crate::report::sensitivity_line(input) {
                Some(line) => format!("{body}<p class=\"note\">{}.</p>", escape(&line)),
                None => body,
            };
            page.section("significance", "Against the baseline", &body);
        }

        let expected = expectation_lines(input);
        if !expected.is_empty() {
            let mut body = String::from("<ul class=\"expect\">");
            for (line, c) in expected.iter().zip(input.expectations) {
                let _ = write!(body, "<li class=\"{}\">{}</li>", c.outcome, escape(line));
            }
            body.push_str("</ul>");
            page.section("expectations", "Expectations", &body);
        }

        page.section("errors", "Errors", &errors(input));
        if !m.servers.is_empty() {
            page.section("servers", "Servers", &servers(input));
        }
        page.section("definitions", "How the numbers are made", DEFINITIONS);
        Ok(page.finish())
    }
}

fn service(input: &ReportInput) -> String {
    let slo = input.spec.map(|e| e.slo).unwrap_or_default();
    let (header, rows) = service_lines(input);
    let meets = header.iter().position(|h| h == "meets SLOs");
    let rows: Vec<(Vec<String>, Option<&str>)> = rows
        .into_iter()
        .map(|r| {
            let class = match meets.map(|i| r[i].as_str()) {
                Some("yes") => Some("better"),
                Some("NO") => Some("worse"),
                _ => None,
            };
            (r, class)
        })
        .collect();
    let mut body = format!(
        "<p>Objectives: {}. Goodput counts the requests per second that met every per-request objective;          a failed request meets none.</p>{}",
        escape(&slo_words(&slo)),
        table(&header, &rows)
    );
    if let Some(line) = rate_summary(input) {
        let _ = write!(body, "<p><strong>{}</strong></p>", escape(&line));
    }
    let figures = charts::service_figures(&input.run.configurations, input.estimates);
    if !figures.is_empty() {
        body.push_str(&figure_grid(&figures));
    }
    if input
        .rows
        .iter()
        .all(|r| r.metric("usd_per_1m_output_tokens").mean.is_none())
    {
        body.push_str(
            "<p class=\"note\">No price declared: add <code>cost: {usd_per_hour: 2.5}</code> to the experiment              for the cost per million tokens.</p>",
        );
    }
    body
}

fn run_facts(input: &ReportInput) -> Vec<(&'static str, String)> {
    let m = &input.run.manifest;
    let mut facts = vec![
        ("run", m.run_id.clone()),
        ("status", format!("{:?}", m.status).to_lowercase()),
        (
            "when",
            format!(
                "{} → {}",
                m.started_at,
                m.ended_at.as_deref().unwrap_or("(not ended)")
            ),
        ),
        (
            "trials",
            format!(
                "{} of {} planned, {} requests",
                m.trials_done, m.trials_planned, m.requests_recorded
            ),
        ),
        ("seed", m.seed.to_string()),
        ("tool", m.tool.to_string()),
    ];
    if let Some(stop) = &m.repetitions_stop {
        facts.push((
            "repetitions",
            format!("{} blocks: {}", stop.blocks, stop.reason),
        ));
    }
    facts.extend([(
        "host",
        format!(
            "{} · {} {} · {} CPUs",
            m.host.hostname, m.host.os, m.host.arch, m.host.cpus
        ),
    )]);
    if let Some(t) = &m.target_url {
        facts.push(("target", t.clone()));
    }
    if let Some(g) = &m.gpu {
        facts.push(("GPU", g.clone()));
    }
    if let Some(model) = input.spec.map(|e| e.target.model.clone()) {
        facts.push(("model", model));
    }
    if let Some(e) = &m.error {
        facts.push(("error", e.clone()));
    }
    facts
}

fn design(input: &ReportInput) -> Option<String> {
    let e = input.spec?;
    let mut s = String::from("<div class=\"design\"><div><h3>Baseline</h3><table class=\"kv\">");
    for (k, v) in &e.baseline {
        let _ = write!(
            s,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(k),
            escape(&v.to_string())
        );
    }
    s.push_str("</table></div><div><h3>Factors, one at a time</h3><table class=\"kv\">");
    for (k, levels) in &e.factors {
        let levels: Vec<String> = levels.iter().map(ToString::to_string).collect();
        let _ = write!(
            s,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(k),
            escape(&levels.join(", "))
        );
    }
    let trial = serde_json::to_value(&e.trial)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let _ = write!(
        s,
        "</table></div><div><h3>Protocol</h3><table class=\"kv\"><tr><th>repetitions</th><td>{}</td></tr>\
         <tr><th>order</th><td>{}</td></tr><tr><th>trial</th><td>{}</td></tr><tr><th>prompts</th><td>{}</td></tr></table></div></div>",
        escape(&e.repetitions.to_string()),
        escape(&format!("{:?}", e.order).to_lowercase()),
        escape(&trial),
        escape(&e.prompts)
    );
    Some(s)
}

fn errors(input: &ReportInput) -> String {
    let run = input.run;
    let digest = input.digest;
    // Per configuration: failed count and the reasons, most frequent first.
    let by_config: Vec<(String, usize, usize, &BTreeMap<String, usize>)> = run
        .configurations
        .iter()
        .zip(&digest.configs)
        .map(|(c, d)| (c.label.clone(), d.requests, d.failed, &d.reasons))
        .collect();
    let failed: usize = by_config.iter().map(|e| e.2).sum();
    if failed == 0 {
        return format!("<p>None: all {} requests succeeded.</p>", digest.requests);
    }
    let header: Vec<String> = ["configuration", "failed/requests", "error rate", "reasons"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows: Vec<(Vec<String>, Option<&str>)> = by_config
        .into_iter()
        .filter(|e| e.2 > 0)
        .map(|(label, total, failed, reasons)| {
            let mut reasons: Vec<(&String, &usize)> = reasons.iter().collect();
            reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
            let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{n}× {r}")).collect();
            (
                vec![
                    label,
                    format!("{failed}/{total}"),
                    super::pct(Some(failed as f64 / total.max(1) as f64))
                        .trim_start_matches('+')
                        .to_string(),
                    reasons.join("; "),
                ],
                Some("worse"),
            )
        })
        .collect();
    format!(
        "<p>{failed} of {} requests failed. Latency percentiles cover successful requests only; \
         the error rate is a metric of its own.</p>{}",
        digest.requests,
        table(&header, &rows)
    )
}

fn servers(input: &ReportInput) -> String {
    let m = &input.run.manifest;
    let header: Vec<String> = [
        "#",
        "command (secrets redacted)",
        "ready s",
        "served",
        "model file",
        "exit",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows: Vec<(Vec<String>, Option<&str>)> = m
        .servers
        .iter()
        .map(|l| {
            let model = l
                .fingerprint
                .model_file
                .as_ref()
                .map(|f| {
                    format!(
                        "{} ({} B, sha256 {})",
                        f.path,
                        f.bytes,
                        &f.sha256[..f.sha256.len().min(16)]
                    )
                })
                .unwrap_or_else(|| "–".into());
            (
                vec![
                    l.index.to_string(),
                    l.command.clone(),
                    format!("{:.2}", l.ready_s),
                    l.configurations.join(", "),
                    model,
                    l.exit.clone().unwrap_or_else(|| "stopped".into()),
                ],
                None,
            )
        })
        .collect();
    format!(
        "<p>{} launch(es), {} restart(s) forced by the randomized order. Each server's <code>/props</code> and \
         <code>/v1/models</code> answers are in <code>manifest.json</code>.</p>{}",
        m.servers.len(),
        m.server_restarts,
        table(&header, &rows)
    )
}

const DEFINITIONS: &str = "<dl class=\"defs\">\
<dt>TTFT</dt><dd>Time to first token: from the request's send to the first streamed event that carries content, on a monotonic clock.</dd>\
<dt>E2E</dt><dd>End-to-end latency: from send to the end of the stream.</dd>\
<dt>TPOT</dt><dd>Time per output token after the first: (E2E − TTFT) / (output tokens − 1).</dd>\
<dt>ITL</dt><dd>Inter-token latency: the gaps between content events.</dd>\
<dt>output tok/s</dt><dd>A trial's output tokens (the server's own count) over the time from its first send to its last completion; mean across trials.</dd>\
<dt>95 % interval</dt><dd>Student's t interval of the mean of the per-trial values.</dd>\
<dt>Verdicts</dt><dd>Welch's t-test against the baseline over per-trial values, Holm-adjusted (across every comparison of the run, or within each metric where <code>stats.family</code> says so); a verdict needs significance and a change larger than the threshold.</dd>\
</dl>";

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
