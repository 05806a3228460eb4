//! The summary's columns as text, shared by the terminal and Markdown tables.

use crate::analysis::{ConfigSummary, MeanSd};

pub const HEADERS: &[&str] = &[
    "configuration",
    "trials",
    "ok/requests",
    "TTFT p50 ms",
    "TTFT p95 ms",
    "TTFT p99 ms",
    "E2E p50 ms",
    "E2E p95 ms",
    "TPOT p50 ms",
    "ITL p50 ms",
    "output tok/s",
    "req/s",
    "in tok (asked→got)",
    "out tok (asked→got)",
    "peak memory MB",
];

/// A number with precision that suits its size; `–` when missing.
pub fn format_num(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if !x.is_finite() => "–".into(),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

fn mean_sd(m: MeanSd) -> String {
    match m.sd {
        Some(sd) => format!("{} ± {}", format_num(m.mean), format_num(Some(sd))),
        None => format_num(m.mean),
    }
}

fn asked_got(asked: Option<f64>, got: Option<f64>) -> String {
    match asked {
        // A constant length reads as asked: a whole number.
        Some(a) if a.fract() == 0.0 => format!("{a:.0}→{}", format_num(got)),
        Some(a) => format!("{}→{}", format_num(Some(a)), format_num(got)),
        None => format_num(got),
    }
}

/// `ok/requests`, with the requests sent twice or cut off, where any were.
fn ok_of(r: &ConfigSummary) -> String {
    let mut notes = Vec::new();
    if r.retries > 0 {
        notes.push(format!("{} retried", r.retries));
    }
    if r.cancelled > 0 {
        notes.push(format!("{} cancelled", r.cancelled));
    }
    let mut cell = format!("{}/{}", r.ok_requests, r.requests);
    if !notes.is_empty() {
        cell.push_str(&format!(" ({})", notes.join(", ")));
    }
    cell
}

pub fn cells(r: &ConfigSummary) -> Vec<String> {
    vec![
        r.config.clone(),
        r.trials.to_string(),
        ok_of(r),
        format_num(r.ttft_ms.p50),
        format_num(r.ttft_ms.p95),
        format_num(r.ttft_ms.p99),
        format_num(r.e2e_ms.p50),
        format_num(r.e2e_ms.p95),
        format_num(r.tpot_ms.p50),
        format_num(r.itl_ms.p50),
        mean_sd(r.output_tok_s),
        mean_sd(r.requests_per_s),
        asked_got(r.requested_input_tokens, r.prompt_tokens_mean),
        asked_got(r.requested_output_tokens, r.completion_tokens_mean),
        match (r.peak_memory_mb, r.memory_kind) {
            (Some(m), Some(kind)) => format!("{} {kind}", format_num(Some(m))),
            _ => "–".into(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_by_size() {
        assert_eq!(format_num(Some(1234.56)), "1235");
        assert_eq!(format_num(Some(12.345)), "12.3");
        assert_eq!(format_num(Some(1.2345)), "1.23");
        assert_eq!(format_num(None), "–");
        assert_eq!(format_num(Some(f64::NAN)), "–");
    }
}
