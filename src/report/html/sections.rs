//! The parts of the report document only the page shows: the run's facts,
//! the design, the charts, the errors, the servers and the definitions.

use super::charts;
use super::interactions::interaction_figures;
use crate::analysis::verdict::Tone;
use crate::report::document::{
    strings, Block, Media, Prose, Section, SectionId, Span, Table, Title,
};
use crate::report::ReportInput;
use std::collections::BTreeMap;

/// Key facts of the run, under the page's heading.
pub fn facts(input: &ReportInput) -> Vec<(&'static str, String)> {
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
    facts.push((
        "host",
        format!(
            "{} · {} {} · {} CPUs",
            m.host.hostname, m.host.os, m.host.arch, m.host.cpus
        ),
    ));
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

/// The protocol the run followed: the file's, with the command line's
/// overrides in place of what they replaced (and the file's value named).
fn protocol(
    e: &crate::experiment::Experiment,
    overrides: &crate::results::Overrides,
) -> Vec<(String, String)> {
    let mut trial = serde_json::to_value(&e.trial).unwrap_or_default();
    let mut repetitions = e.repetitions.to_string();
    if let Some(n) = overrides.repetitions {
        repetitions = format!("{n} (--repetitions; the file says {repetitions})");
    }
    let mut requests_note = String::new();
    if let (Some(n), Some(t)) = (overrides.requests, trial.as_object_mut()) {
        let file = e.trial.requests.map_or("none".into(), |r| r.to_string());
        requests_note = format!(" (--requests; the file says {file})");
        t.insert("requests".into(), n.into());
    }
    vec![
        ("repetitions".into(), repetitions),
        ("order".into(), format!("{:?}", e.order).to_lowercase()),
        ("trial".into(), format!("{trial}{requests_note}")),
        ("prompts".into(), e.prompts.clone()),
    ]
}

/// The baseline, the factors and the protocol, where the experiment is known.
pub fn design(input: &ReportInput) -> Option<Section> {
    let e = input.spec?;
    let baseline = e
        .baseline
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let factors = e
        .factors
        .iter()
        .map(|(k, levels)| {
            let levels: Vec<String> = levels.iter().map(ToString::to_string).collect();
            (k.clone(), levels.join(", "))
        })
        .collect();
    let factors_title = match e.design {
        crate::experiment::Design::Ofat => "Factors, one at a time",
        crate::experiment::Design::Factorial => "Factors, every combination (factorial)",
        crate::experiment::Design::Capacity => "Factors, each configuration's capacity searched",
    };
    let groups = vec![
        ("Baseline".into(), baseline),
        (factors_title.into(), factors),
        (
            "Protocol".into(),
            protocol(e, &input.run.manifest.overrides),
        ),
    ];
    Some(
        Section::new(SectionId::Design, Title::page("Design"))
            .with(Media::PAGE, Block::Groups(groups)),
    )
}

fn charts_section(id: SectionId, title: &str, figures: Vec<charts::Figure>) -> Section {
    Section::new(id, Title::page(title)).with(Media::PAGE, Block::Figures(figures))
}

/// Per factor, its effect on the headline metrics: a slice through the
/// baseline, so it says where the other factors are held.
pub fn factor_charts(input: &ReportInput) -> Vec<Section> {
    let configs = &input.run.configurations;
    charts::factor_figures(configs, input.estimates)
        .into_iter()
        .map(|(factor, figures)| {
            let title = format!("Effect of {factor}");
            let held = held_at_baseline(configs, &factor);
            let mut s = charts_section(SectionId::Factor(factor), &title, figures);
            if !held.is_empty() {
                let words = format!("Others at baseline: {}.", held.join(", "));
                let note = Prose::note(vec![Span::Text(words)]);
                s.blocks.insert(0, (Media::PAGE, Block::Prose(note)));
            }
            s
        })
        .collect()
}

/// The factors other than `factor` at their baseline levels (`slots=1`,
/// `ctx=2048`), in the baseline's order (`""`: every factor).
fn held_at_baseline(configs: &[crate::experiment::Configuration], factor: &str) -> Vec<String> {
    let Some(baseline) = configs.first() else {
        return Vec::new();
    };
    let varied = |name: &str| configs.iter().any(|c| c.factors.iter().any(|f| f == name));
    baseline
        .values
        .iter()
        .filter(|(name, _)| name.as_str() != factor && varied(name))
        .map(|(name, level)| format!("{name}={level}"))
        .collect()
}

/// A factorial run's interaction plots, at the head of its effects.
pub fn interaction_charts(input: &ReportInput, section: &mut Section) {
    if let Some(e) = input.spec.filter(|_| !input.effects.is_empty()) {
        let figures = interaction_figures(
            &input.run.configurations,
            input.estimates,
            &e.factors,
            input.effects,
        );
        section.push(Media::PAGE, Block::Figures(figures));
    }
}

/// A capacity run's charts, per configuration: the margins and their fit,
/// and throughput against latency across its probes.
pub fn capacity_charts(input: &ReportInput, section: &mut Section) {
    let mut figures = Vec::new();
    for r in input.searches {
        figures.extend(super::capacity::margin_figure(r));
        figures.push(super::capacity::throughput_figure(
            r,
            input.estimates,
            input.slo,
        ));
    }
    if !figures.is_empty() {
        section.push(Media::PAGE, Block::Figures(figures));
    }
}

/// Goodput and cost against the configurations, under the service levels.
pub fn service_charts(input: &ReportInput, section: &mut Section) {
    let figures = charts::service_figures(&input.run.configurations, input.estimates);
    if !figures.is_empty() {
        section.push(Media::PAGE, Block::Figures(figures));
    }
}

/// Throughput and latency under load, TTFT against input length, and the
/// latency distributions.
pub fn load_charts(input: &ReportInput) -> Vec<Section> {
    let configs = &input.run.configurations;
    let mut out = Vec::new();
    // These charts are slices through the baseline too, one factor each.
    let held = held_at_baseline(configs, "");
    let with_held = |mut s: Section| {
        if held.len() > 1 {
            let words = format!(
                "Each chart varies its own factor, the others at baseline: {}.",
                held.join(", ")
            );
            let note = Prose::note(vec![Span::Text(words)]);
            s.blocks.insert(0, (Media::PAGE, Block::Prose(note)));
        }
        s
    };
    let load = charts::load_figures(configs, input.estimates);
    if !load.is_empty() {
        out.push(with_held(charts_section(
            SectionId::Load,
            "Throughput and latency under load",
            load,
        )));
    }
    if let Some(f) = charts::input_length_figure(configs, input.estimates) {
        out.push(with_held(charts_section(
            SectionId::InputLength,
            "TTFT vs input length",
            vec![f],
        )));
    }
    let distributions = vec![
        charts::distribution_figure(configs, input.digest, "TTFT", |c| &c.ttft_ecdf),
        charts::distribution_figure(configs, input.digest, "E2E", |c| &c.e2e_ecdf),
    ];
    out.push(charts_section(
        SectionId::Distributions,
        "Latency distributions",
        distributions,
    ));
    out
}

/// Per configuration: failed requests and their reasons, most frequent first.
pub fn errors(input: &ReportInput) -> Section {
    let digest = input.digest;
    let section = Section::new(SectionId::Errors, Title::page("Errors"));
    let by_config: Vec<(String, usize, usize, &BTreeMap<String, usize>)> = input
        .run
        .configurations
        .iter()
        .zip(&digest.configs)
        .map(|(c, d)| (c.label.clone(), d.requests, d.failed, &d.reasons))
        .collect();
    let failed: usize = by_config.iter().map(|e| e.2).sum();
    if failed == 0 {
        let none = format!("None: all {} requests succeeded.", digest.requests);
        return section.with(Media::PAGE, Block::Prose(Prose::new(vec![Span::Own(none)])));
    }
    let header = strings(&["configuration", "failed/requests", "error rate", "reasons"]);
    let rows = by_config
        .into_iter()
        .filter(|e| e.2 > 0)
        .map(|(label, total, failed, reasons)| {
            let mut reasons: Vec<(&String, &usize)> = reasons.iter().collect();
            reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
            let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{n}× {r}")).collect();
            let rate = crate::report::pct(Some(failed as f64 / total.max(1) as f64));
            let cells = vec![
                label,
                format!("{failed}/{total}"),
                rate.trim_start_matches('+').to_string(),
                reasons.join("; "),
            ];
            (cells, Some(Tone::Worse))
        })
        .collect();
    let lead = format!(
        "{failed} of {} requests failed. Latency percentiles cover successful requests only; \
         the error rate is a metric of its own.",
        digest.requests
    );
    section
        .with(Media::PAGE, Block::Prose(Prose::new(vec![Span::Own(lead)])))
        .with(
            Media::PAGE,
            Block::Table(Table {
                header,
                rows,
                align: crate::report::document::Align::Unstated,
                optional: Vec::new(),
            }),
        )
}

/// The launched servers: command, readiness, configurations, model file, exit.
pub fn servers(input: &ReportInput) -> Option<Section> {
    let m = &input.run.manifest;
    if m.servers.is_empty() {
        return None;
    }
    let header = strings(&[
        "#",
        "command (secrets redacted)",
        "ready s",
        "served",
        "model file",
        "exit",
    ]);
    let rows = m
        .servers
        .iter()
        .map(|l| {
            let model = l
                .fingerprint
                .model_file
                .as_ref()
                .map(|f| format!("{} ({} B, sha256 {})", f.path, f.bytes, f.sha256_prefix(16)))
                .unwrap_or_else(|| "–".into());
            vec![
                l.index.to_string(),
                l.command.clone(),
                format!("{:.2}", l.ready_s),
                l.configurations.join(", "),
                model,
                l.exit.clone().unwrap_or_else(|| "stopped".into()),
            ]
        })
        .collect();
    let lead = vec![
        Span::Own(format!(
            "{} launch(es), {} restart(s) forced by the randomized order. Each server's ",
            m.servers.len(),
            m.server_restarts
        )),
        Span::Code("/props".into()),
        Span::Own(" and ".into()),
        Span::Code("/v1/models".into()),
        Span::Own(" answers are in ".into()),
        Span::Code("manifest.json".into()),
        Span::Own(".".into()),
    ];
    Some(
        Section::new(SectionId::Servers, Title::page("Servers"))
            .with(Media::PAGE, Block::Prose(Prose::new(lead)))
            .with(Media::PAGE, Block::Table(Table::new(header, rows))),
    )
}

/// How each number is made.
pub fn definitions() -> Vec<(&'static str, Vec<Span>)> {
    let own = |s: &str| vec![Span::Own(s.into())];
    vec![
        ("TTFT", own("Time to first token: from the request's send to the first streamed event that carries content, on a monotonic clock.")),
        ("E2E", own("End-to-end latency: from send to the end of the stream.")),
        ("TPOT", own("Time per output token after the first: (E2E − TTFT) / (output tokens − 1).")),
        ("ITL", own("Inter-token latency: the gaps between content events.")),
        ("output tok/s", own("A trial's output tokens (the server's own count) over the time from its first send to its last completion; mean across trials.")),
        ("95 % interval", own("Student's t interval of the mean of the per-trial values.")),
        (
            "Verdicts",
            vec![
                Span::Own("Welch's t-test against the baseline over per-trial values, Holm-adjusted (across every comparison of the run, or within each metric where ".into()),
                Span::Code("stats.family".into()),
                Span::Own(" says so); a verdict needs significance and a change larger than the threshold.".into()),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::held_at_baseline;
    use crate::experiment::Configuration;
    use crate::level::Level;

    fn config(factors: &[&str], values: &[(&str, Level)]) -> Configuration {
        Configuration {
            index: 0,
            label: String::new(),
            factors: factors.iter().map(|f| f.to_string()).collect(),
            level: None,
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn a_slice_names_the_other_factors_at_their_baseline_levels() {
        let base = [
            ("quant", Level::Str("q4_K_M".into())),
            ("concurrency", Level::Int(1)),
            ("slots", Level::Int(1)),
            ("ctx", Level::Int(2048)),
        ];
        let configs = vec![
            config(&[], &base),
            config(&["quant"], &base),
            config(&["slots"], &base),
            config(&["ctx"], &base),
        ];
        // concurrency is a constant, not a factor: not named.
        assert_eq!(
            held_at_baseline(&configs, "quant").join(", "),
            "slots=1, ctx=2048"
        );
        assert_eq!(
            held_at_baseline(&configs, "ctx").join(", "),
            "quant=q4_K_M, slots=1"
        );
        assert!(held_at_baseline(&configs[..2], "quant").is_empty());
        assert_eq!(held_at_baseline(&configs, "").len(), 3);
    }
}
