//! The service-level and cost table of the report, and the line that names
//! the highest rate meeting the SLOs.

use super::cells::format_num;
use super::document::Table;
use super::ReportInput;
use crate::analysis::compare::ConfigEstimate;
use crate::analysis::judge::{ObjectiveJudgement, ObjectiveKind};
use crate::analysis::verdict::Tone;
use crate::analysis::{ConfigSummary, MeanSd};
use crate::experiment::Slo;

fn yes_no(b: Option<bool>) -> String {
    match b {
        Some(true) => "yes".into(),
        Some(false) => "NO".into(),
        None => "–".into(),
    }
}

fn share(m: MeanSd) -> String {
    m.mean.map_or("–".into(), |v| format!("{:.1}%", v * 100.0))
}

fn mean_sd(m: MeanSd) -> String {
    match (m.mean, m.sd) {
        (Some(v), Some(sd)) => format!("{} ± {}", format_num(Some(v)), format_num(Some(sd))),
        (v, _) => format_num(v),
    }
}

/// The objectives in words, e.g. `TTFT ≤ 500 ms, ≥ 10 tok/s, p50 ≤ 3 s, p95 ≤ 10 s`.
pub fn slo_words(slo: &Slo) -> String {
    let mut parts = Vec::new();
    if let Some(v) = slo.ttft_ms {
        parts.push(format!("TTFT ≤ {v} ms"));
    }
    if let Some(v) = slo.tpot_ms {
        parts.push(format!("TPOT ≤ {v} ms"));
    }
    if let Some(v) = slo.e2e_ms {
        parts.push(format!("E2E ≤ {v} ms"));
    }
    if let Some(v) = slo.min_output_tok_s {
        parts.push(format!("≥ {v} tok/s per request"));
    }
    let mut s = if parts.is_empty() {
        "no per-request objective".to_string()
    } else {
        format!("per request {}", parts.join(", "))
    };
    let mut pct = Vec::new();
    if let Some(v) = slo.p50_latency_s {
        pct.push(format!("E2E p50 ≤ {v} s"));
    }
    if let Some(v) = slo.p95_latency_s {
        pct.push(format!("E2E p95 ≤ {v} s"));
    }
    for o in slo.percentile_objectives() {
        if !o.key.ends_with("_latency_s") {
            pct.push(format!(
                "{} p{} ≤ {} ms",
                o.metric.label(),
                o.percent,
                o.limit_ms
            ));
        }
    }
    if !pct.is_empty() {
        s.push_str(&format!("; per configuration {}", pct.join(", ")));
    }
    s.push_str(&format!(
        "; a configuration meets them with ≥ {}% of its requests within",
        slo.min_attainment * 100.0
    ));
    s
}

fn cost_cell(estimates: &[ConfigEstimate], config: &str, metric: &str) -> String {
    let Some(e) = estimates
        .iter()
        .find(|e| e.config == config && e.metric == metric)
    else {
        return "–".into();
    };
    match e.estimate.ci {
        Some((lo, hi)) => format!(
            "{} [{}, {}]",
            format_num(Some(e.estimate.mean)),
            format_num(Some(lo)),
            format_num(Some(hi))
        ),
        None => format_num(Some(e.estimate.mean)),
    }
}

/// A column of the service table: its header, its rank (0: always shown; a
/// narrow terminal leaves out the highest first) and its cell for a row.
type Column<'a> = (String, u8, Box<dyn Fn(&ConfigSummary) -> String + 'a>);

fn column<'a>(
    header: impl Into<String>,
    rank: u8,
    cell: impl Fn(&ConfigSummary) -> String + 'a,
) -> Column<'a> {
    (header.into(), rank, Box::new(cell))
}

/// An objective's figure: a share of requests, or a latency in ms.
fn objective_cell(o: Option<&ObjectiveJudgement>) -> String {
    match o {
        Some(o) if o.kind == ObjectiveKind::Percentile => format_num(o.value),
        Some(o) => share(MeanSd {
            mean: o.value,
            sd: None,
        }),
        None => "–".into(),
    }
}

/// One column per objective the rows were judged on (the joint attainment
/// is `SLO met`), headed by its words: `TTFT p95 ≤ 500 ms` holds the
/// configuration's TTFT p95, `TTFT ≤ 500 ms met` the share of requests within.
fn objective_columns<'a>(rows: &[ConfigSummary]) -> Vec<Column<'a>> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    first
        .judgement
        .objectives
        .iter()
        .filter(|o| o.kind != ObjectiveKind::Attainment)
        .map(|o| {
            let key = o.key.clone();
            let header = match o.kind {
                ObjectiveKind::Percentile => o.label.clone(),
                _ => format!("{} met", o.label),
            };
            column(header, 2, move |r: &ConfigSummary| {
                objective_cell(r.judgement.get(&key))
            })
        })
        .collect()
}

/// TTFT beside its split, where the server reports its prompt time.
fn split_columns<'a>(rows: &[ConfigSummary]) -> Vec<Column<'a>> {
    let reported = rows
        .iter()
        .any(|r| r.metric("server_prefill_p50_ms").mean.is_some());
    if !reported {
        return Vec::new();
    }
    vec![
        column("TTFT p50 ms", 2, |r: &ConfigSummary| {
            mean_sd(r.metric("ttft_p50_ms"))
        }),
        column("prefill p50 ms", 2, |r: &ConfigSummary| {
            mean_sd(r.metric("server_prefill_p50_ms"))
        }),
        column("queueing p50 ms", 2, |r: &ConfigSummary| {
            mean_sd(r.metric("queueing_p50_ms"))
        }),
    ]
}

/// The binding objective in words, and whether it holds.
fn binding_cell(r: &ConfigSummary) -> String {
    match r.judgement.binding() {
        Some(o) if o.met => o.label.clone(),
        Some(o) => format!("{} (missed)", o.label),
        None => "–".into(),
    }
}

/// One row per configuration, toned by whether it meets the SLOs; open-loop
/// and cost columns only where a row has them, the verdict last. Each column
/// is declared with its header, so a cell cannot land under another's.
pub fn service_table(input: &ReportInput) -> Table {
    service_table_of(input.rows, input.estimates)
}

/// [`service_table`] from its parts: the rows (judged) and the estimates
/// (for the cost intervals).
pub fn service_table_of(rows: &[ConfigSummary], estimates: &[ConfigEstimate]) -> Table {
    let any = |m: &str| rows.iter().any(|r| r.metric(m).mean.is_some());
    let mut columns: Vec<Column> = vec![
        column("configuration", 0, |r: &ConfigSummary| r.config.clone()),
        column("SLO met", 0, |r: &ConfigSummary| {
            share(r.metric("slo_attainment"))
        }),
    ];
    columns.extend(objective_columns(rows));
    columns.push(column("goodput req/s", 1, |r: &ConfigSummary| {
        mean_sd(r.metric("goodput_rps"))
    }));
    columns.extend(split_columns(rows));
    if any("achieved_rate_rps") {
        columns.push(column("sent req/s", 1, |r: &ConfigSummary| {
            mean_sd(r.metric("achieved_rate_rps"))
        }));
        columns.push(column("send lag p99 ms", 3, |r: &ConfigSummary| {
            mean_sd(r.metric("send_lag_p99_ms"))
        }));
    }
    if any("usd_per_1m_output_tokens") {
        columns.push(column("$/1M output tok [95% CI]", 1, move |r| {
            cost_cell(estimates, &r.config, "usd_per_1m_output_tokens")
        }));
        columns.push(column("$/1M tokens [95% CI]", 2, move |r| {
            cost_cell(estimates, &r.config, "usd_per_1m_tokens")
        }));
    }
    columns.push(column("binding objective", 1, binding_cell));
    columns.push(column("meets SLOs", 0, |r: &ConfigSummary| {
        yes_no(r.slo.meets)
    }));
    let header = columns.iter().map(|(h, _, _)| h.clone()).collect();
    let optional = super::document::by_rank(columns.iter().map(|c| c.1));
    let rows = rows
        .iter()
        .map(|r| {
            let tone = match r.slo.meets {
                Some(true) => Some(Tone::Better),
                Some(false) => Some(Tone::Worse),
                None => None,
            };
            (columns.iter().map(|(_, _, cell)| cell(r)).collect(), tone)
        })
        .collect();
    Table {
        header,
        rows,
        align: super::document::Align::Unstated,
        optional,
    }
}

/// Where `rate` varies: the highest rate whose configuration meets the SLOs,
/// and where goodput peaks.
pub fn rate_summary(input: &ReportInput) -> Option<String> {
    let configs = &input.run.configurations;
    if !configs.iter().any(|c| c.single_factor() == Some("rate")) {
        return None;
    }
    let rate_of = |label: &str| {
        configs
            .iter()
            .find(|c| c.label == label)
            .and_then(|c| c.values.get("rate"))
            .and_then(crate::level::Level::as_f64)
    };
    let swept: Vec<(f64, &ConfigSummary)> = input
        .rows
        .iter()
        .filter(|r| r.factor == "rate" || r.factor == crate::plan::BASELINE)
        .filter_map(|r| Some((rate_of(&r.config)?, r)))
        .collect();
    let best = swept
        .iter()
        .filter(|(_, r)| r.slo.meets == Some(true))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let peak = swept
        .iter()
        .filter(|(_, r)| r.metric("goodput_rps").mean.is_some())
        .max_by(|a, b| {
            let g = |r: &ConfigSummary| r.metric("goodput_rps").mean.unwrap_or(0.0);
            g(a.1).total_cmp(&g(b.1))
        });
    let mut line = match best {
        Some((rate, r)) => format!(
            "highest rate meeting the SLOs: {rate} req/s ({}, {} of requests within)",
            r.config,
            share(r.metric("slo_attainment"))
        ),
        None => "no rate meets the SLOs".to_string(),
    };
    if let Some((rate, r)) = peak {
        line.push_str(&format!(
            "; goodput peaks at {rate} req/s offered ({} req/s)",
            format_num(r.metric("goodput_rps").mean)
        ));
    }
    Some(line)
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
