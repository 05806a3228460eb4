//! The traffic as asked and as served: a workload's length distributions
//! (p10 / p50 / p90 of the lengths asked for and of the server's counts) and
//! a conversation's turns, for every format.

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
/// configuration's lengths were drawn (or are a conversation's); else none.
pub fn length_lines(input: &ReportInput) -> (Vec<String>, Vec<Vec<String>>) {
    let configs = &input.run.configurations;
    let digests = &input.digest.configs;
    if !digests.iter().any(|d| d.lengths.varies()) {
        return (Vec::new(), Vec::new());
    }
    let header = [
        "configuration",
        "input asked",
        "input served",
        "output asked",
        "output served",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
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
    (header, rows)
}

/// Per configuration with conversations, per turn: requests, successes,
/// mean prompt and cached tokens, TTFT p50 and p95.
pub fn turn_lines(input: &ReportInput) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "configuration",
        "turn",
        "ok/requests",
        "prompt tokens",
        "cached tokens",
        "TTFT p50 ms",
        "TTFT p95 ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
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
    if rows.is_empty() {
        return (Vec::new(), Vec::new());
    }
    (header, rows)
}

/// The sentence above the lengths table.
pub const LENGTHS_NOTE: &str = "Lengths of the successful requests, p10 / p50 / p90 (one number where every request had it): asked is what the workload drew, served is the server's own count (usage)";

/// The sentence above the turns table.
pub const TURNS_NOTE: &str = "Each turn sends the conversation so far: prompt tokens grow turn by turn, and a prefix cache shows as cached tokens. Prompt and cached tokens are means over the turn's successful requests; TTFT percentiles are exact";
