//! A capacity run's section, first in its report: each configuration's
//! capacity as `capacity.csv` says it (from [`super::searches::replay`],
//! the one place a capacity is computed from a folder), then every probe
//! under its configuration, by load, with its margin on each objective.

use super::cells::format_num;
use super::document::{strings, Align, Block, Media, Prose, Section, SectionId, Span, Table};
use super::searches::{ProbeTrials, Replayed};
use super::ReportInput;
use crate::analysis::verdict::Tone;
use crate::capacity::{judge::STABLE_QUEUE, Interval, Objective, Outcome, Stop};
use crate::experiment::{CapacityFactor, Slo};
use crate::metrics::label as metric_label;

/// The capacity section, where the run is a capacity search.
pub fn section(input: &ReportInput) -> Option<Section> {
    let first = input.searches.first()?;
    let spec = input.spec.and_then(|e| e.capacity.as_ref())?;
    let title = super::document::Title::same("Capacity under the SLOs");
    let mut s = Section::new(SectionId::Capacity, title);
    for r in input.searches {
        let line = match &r.outcome {
            Some(o) => o.line(),
            None => format!(
                "{}: the search did not finish ({} probes ran); run --resume continues it",
                r.configuration,
                r.probes.len()
            ),
        };
        s.push(Media::ALL, Block::Prose(Prose::new(vec![Span::Text(line)])));
    }
    s.push(
        Media::MARKDOWN | Media::PAGE,
        Block::Prose(Prose::note(vec![
            Span::Own(format!(
                "The capacity is the highest {} at which every objective's fitted margin holds \
                 (a monotone fit over every probe's trials); its interval is a bootstrap over trials, \
                 moved out to the nearest probed loads, and the difference from the baseline has its own. \
                 The same numbers are in ",
                spec.factor.name()
            )),
            Span::Code("capacity.csv".into()),
            Span::Own(".".into()),
        ])),
    );
    if input.slo_given {
        // The search placed its probes by the experiment's SLOs: judged by
        // others, its capacity would be another search's.
        s.push(
            Media::ALL,
            Block::Prose(Prose::note(vec![Span::Own(
                "The searches are judged against the experiment's own SLOs, as they ran; report --slo judges the tables below."
                    .into(),
            )])),
        );
    }
    s.push(
        Media::ALL,
        Block::Table(capacity_table(input.searches, spec.confidence)),
    );
    s.push(
        Media::MARKDOWN | Media::PAGE,
        Block::Prose(Prose::note(vec![Span::Own(PROBES_NOTE.into())])),
    );
    s.push(
        Media::ALL,
        Block::Table(probe_table(input, &first.objectives)),
    );
    super::html::sections::capacity_charts(input, &mut s);
    s.push(
        Media::ALL,
        Block::Prose(Prose::note(vec![
            Span::Own(
                "The probes differ in load by design, so Welch tests between them are left out of this report \
                 (they are kept in "
                    .into(),
            ),
            Span::Code("stats.csv".into()),
            Span::Own("); the comparison that means something is capacity against capacity, above.".into()),
        ])),
    );
    Some(s)
}

/// The sentence above the probes' table.
const PROBES_NOTE: &str = "Each probe is one load, run as one or more trials. \
    Met: the trials that held every objective. Each objective's column is the mean of the trials' margins: \
    ≥ 0 holds, < 0 fails (a share's margin is (share − required) / (1 − required), a percentile's \
    (limit − value) / limit). Throughput and latency are means across the probe's trials.";

/// A number as the capacity is said: a rate to a tenth, a concurrency whole.
fn amount(factor: CapacityFactor, x: f64) -> String {
    match factor {
        CapacityFactor::Rate => format!("{x:.1}"),
        CapacityFactor::Concurrency => format!("{x:.0}"),
    }
}

fn interval(factor: CapacityFactor, i: Interval) -> String {
    format!("[{}, {}]", amount(factor, i.low), amount(factor, i.high))
}

/// One configuration's row: capacity, interval, binding objective, stop,
/// probes, trials, and the difference from the baseline's.
fn capacity_row(r: &Replayed, o: Option<&Outcome>) -> (Vec<String>, Option<Tone>) {
    let Some(o) = o else {
        let mut cells = vec![r.configuration.clone()];
        cells.extend(strings(&["–", "–", "–", "not finished"]));
        cells.push(r.probes.len().to_string());
        cells.push(
            r.probes
                .iter()
                .map(|p| p.trials.len())
                .sum::<usize>()
                .to_string(),
        );
        cells.extend(strings(&["–", "–"]));
        return (cells, None);
    };
    let (x, i) = o.reported();
    let f = o.factor;
    let capacity = match o.stop {
        Stop::AboveMax => format!("≥ {}", amount(f, x)),
        Stop::BelowMin => format!("< {}", amount(f, x)),
        _ => amount(f, x),
    };
    let (diff, diff_ci, tone) = match o.diff {
        Some((d, di)) => {
            let tone = (di.low > 0.0)
                .then_some(Tone::Better)
                .or((di.high < 0.0).then_some(Tone::Worse));
            let signed = |v: f64| format!("{v:+.1}");
            let ci = format!("[{}, {}]", signed(di.low), signed(di.high));
            (signed(d), ci, tone)
        }
        None => ("–".into(), "–".into(), None),
    };
    let cells = vec![
        o.configuration.clone(),
        capacity,
        interval(f, i),
        o.binding.says.clone(),
        o.stop.as_str().to_string(),
        o.probes.to_string(),
        o.trials.to_string(),
        diff,
        diff_ci,
    ];
    (cells, tone)
}

/// Per configuration, its capacity as `capacity.csv` has it.
pub fn capacity_table(searches: &[Replayed], confidence: f64) -> Table {
    let unit = searches
        .iter()
        .find_map(|r| r.outcome.as_ref())
        .map_or("", |o| o.factor.unit());
    let ci = format!("{}% CI", crate::limits::show(confidence * 100.0));
    let header = vec![
        "configuration".into(),
        format!("capacity {unit}").trim_end().to_string(),
        ci.clone(),
        "binding objective".into(),
        "stopped".into(),
        "probes".into(),
        "trials".into(),
        "vs baseline".into(),
        ci,
    ];
    Table {
        header,
        rows: searches
            .iter()
            .map(|r| capacity_row(r, r.outcome.as_ref()))
            .collect(),
        align: Align::LabelThenNumbers,
        // The difference's interval first, then the counts.
        optional: vec![8, 6, 5],
    }
}

/// An objective's column heading: its words without the share of requests
/// (the joint attainment and the queue named as such).
pub fn short(o: &Objective) -> String {
    match o.key.as_str() {
        "min_attainment" => "every per-request".into(),
        STABLE_QUEUE => "stable queue".into(),
        _ => match o.says.find(" for ") {
            Some(at) if o.says.ends_with(" of requests") => o.says[..at].to_string(),
            _ => o.says.clone(),
        },
    }
}

/// The trials-table column a latency objective judges, for the probes'
/// latency: its own percentile, or TTFT p95 for the per-request shares and
/// the queue.
pub fn latency_column(slo: &Slo, key: &str) -> String {
    if let Some(o) = slo
        .percentile_objectives()
        .into_iter()
        .find(|o| o.key == key)
    {
        return o.column();
    }
    match key {
        "e2e_ms" => "e2e_p95_ms".into(),
        "tpot_ms" => "tpot_mean_ms".into(),
        _ => "ttft_p95_ms".into(),
    }
}

/// The latencies the probes' table shows: TTFT p95 and each binding
/// objective's own, once each.
fn latency_columns(input: &ReportInput) -> Vec<String> {
    let mut out = vec!["ttft_p95_ms".to_string()];
    for o in input.searches.iter().filter_map(|r| r.outcome.as_ref()) {
        let c = latency_column(input.slo, &o.binding.key);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// A probe's mean of `metric` across its trials, as the estimates have it.
fn mean_of(input: &ReportInput, p: &ProbeTrials, metric: &str) -> String {
    let mean = input
        .estimates
        .iter()
        .find(|e| e.config == p.label && e.metric == metric)
        .map(|e| e.estimate.mean);
    format_num(mean)
}

/// A load as the plan labels it: whole numbers without decimals.
pub fn load_words(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// A probe's trials that held every objective, and each objective's mean
/// margin over its trials (of `k`).
pub fn judged(p: &ProbeTrials, k: usize) -> (usize, Vec<f64>) {
    let n = p.trials.len().max(1) as f64;
    let met = p
        .trials
        .iter()
        .filter(|(_, m)| m.iter().all(|&x| x >= 0.0))
        .count();
    let means = (0..k)
        .map(|j| p.trials.iter().map(|(_, m)| m[j]).sum::<f64>() / n)
        .collect();
    (met, means)
}

/// Every probe, under its configuration and by load: its trials, how many
/// met every objective, each objective's mean margin, the throughput it
/// achieved and its latency.
pub fn probe_table(input: &ReportInput, objectives: &[Objective]) -> Table {
    let factor = input
        .spec
        .and_then(|e| e.capacity.as_ref())
        .map_or(CapacityFactor::Rate, |c| c.factor);
    let latencies = latency_columns(input);
    let mut header = vec![
        "configuration".to_string(),
        format!("{} {}", factor.name(), factor.unit()),
        "trials".into(),
        "met".into(),
    ];
    header.extend(objectives.iter().map(short));
    header.push("achieved req/s".into());
    header.extend(latencies.iter().map(|c| metric_label(c)));
    let mut rows = Vec::new();
    for r in input.searches {
        let mut probes: Vec<&ProbeTrials> = r.probes.iter().collect();
        probes.sort_by(|a, b| a.load.total_cmp(&b.load));
        for p in probes {
            let n = p.trials.len();
            let (met, means) = judged(p, objectives.len());
            let mut cells = vec![
                r.configuration.clone(),
                load_words(p.load),
                n.to_string(),
                format!("{met}/{n}"),
            ];
            cells.extend(means.iter().map(|m| format!("{m:+.2}")));
            cells.push(mean_of(input, p, "requests_per_s"));
            cells.extend(latencies.iter().map(|c| mean_of(input, p, c)));
            let tone = means.iter().any(|&m| m < 0.0).then_some(Tone::Worse);
            rows.push((cells, tone));
        }
    }
    // Narrow terminals lose the margins first (the met count stays), then
    // the latencies beyond TTFT p95.
    let margins = 4..4 + objectives.len();
    let extra = header.len() - latencies.len() + 1..header.len();
    Table {
        header,
        rows,
        align: Align::LabelThenNumbers,
        optional: extra.rev().chain(margins.rev()).collect(),
    }
}
