//! The traffic as asked and as served: a workload's length distributions
//! (p10 / p50 / p90 of the lengths asked for and of the server's counts) and
//! a conversation's turns, as the report's tables.

use super::document::{strings, Table};
use super::{format_num, ReportInput};
use crate::analysis::traffic::Spread;

fn spread(s: &Option<Spread>) -> String {
    match s {
        Some(s) if s.distinct == 1 => format_num(Some(s.p50)),
        Some(s) => format!(
            "{} / {} / {}",
            format_num(Some(s.p10)),
            format_num(Some(s.p50)),
            format_num(Some(s.p90))
        ),
        None => "–".into(),
    }
}

/// Per configuration: input and output lengths asked and served, when some
/// configuration's lengths were drawn (or are a conversation's); else empty.
pub fn length_table(input: &ReportInput) -> Table {
    let configs = &input.run.configurations;
    let digests = &input.digest.configs;
    if !digests.iter().any(|d| d.lengths.varies()) {
        return Table::new(Vec::new(), Vec::new());
    }
    let header = strings(&[
        "configuration",
        "input asked",
        "input served",
        "output asked",
        "output served",
    ]);
    let rows = configs
        .iter()
        .zip(digests)
        .filter(|(_, d)| d.lengths.served_input.is_some())
        .map(|(c, d)| {
            let l = &d.lengths;
            vec![
                c.label.clone(),
                spread(&l.asked_input),
                spread(&l.served_input),
                spread(&l.asked_output),
                spread(&l.served_output),
            ]
        })
        .collect();
    Table::new(header, rows)
}

/// Per configuration with conversations, per turn: requests, successes,
/// mean prompt and cached tokens, TTFT p50 and p95 (empty without any).
pub fn turn_table(input: &ReportInput) -> Table {
    let header = strings(&[
        "configuration",
        "turn",
        "ok/requests",
        "prompt tokens",
        "cached tokens",
        "TTFT p50 ms",
        "TTFT p95 ms",
    ]);
    let rows: Vec<Vec<String>> = input
        .run
        .configurations
        .iter()
        .zip(&input.digest.configs)
        .flat_map(|(c, d)| {
            d.turns.iter().map(move |t| {
                vec![
                    c.label.clone(),
                    t.turn.to_string(),
                    format!("{}/{}", t.ok, t.requests),
                    format_num(t.prompt_tokens_mean),
                    format_num(t.cached_tokens_mean),
                    format_num(t.ttft_p50_ms),
                    format_num(t.ttft_p95_ms),
                ]
            })
        })
        .collect();
    Table::new(header, rows)
}
