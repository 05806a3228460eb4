//! The summary table's columns, each a header and its cell together so the
//! two cannot drift: the pooled request figures, then every metric the
//! registry marks `tabled` (mean ± sd across trials), then lengths and
//! memory. Shared by the terminal, Markdown and HTML tables.

use crate::analysis::{ConfigSummary, MeanSd};
use crate::metrics::{Metric, REGISTRY};

/// A column of the table: its header, its rank (0: always shown; a narrow
/// terminal leaves out the highest first) and how a row fills it.
type Column = (&'static str, u8, fn(&ConfigSummary) -> String);

const LEADING: &[Column] = &[
    ("configuration", 0, |r| r.config.clone()),
    ("trials", 4, |r| r.trials.to_string()),
    ("ok/requests", 0, ok_of),
    ("TTFT p50 ms", 0, |r| format_num(r.ttft_ms.p50)),
    ("TTFT p95 ms", 2, |r| format_num(r.ttft_ms.p95)),
    ("TTFT p99 ms", 3, |r| format_num(r.ttft_ms.p99)),
    ("E2E p50 ms", 0, |r| format_num(r.e2e_ms.p50)),
    ("E2E p95 ms", 2, |r| format_num(r.e2e_ms.p95)),
    ("TPOT p50 ms", 1, |r| format_num(r.tpot_ms.p50)),
    ("ITL p50 ms", 3, |r| format_num(r.itl_ms.p50)),
];

const TRAILING: &[Column] = &[
    ("in tok (asked→got)", 2, |r| {
        asked_got(r.requested_input_tokens, r.prompt_tokens_mean)
    }),
    ("out tok (asked→got)", 2, |r| {
        asked_got(r.requested_output_tokens, r.completion_tokens_mean)
    }),
    ("peak memory MB", 1, |r| {
        match (r.peak_memory_mb, r.memory_kind) {
            (Some(m), Some(kind)) => format!("{} {kind}", format_num(Some(m))),
            _ => "–".into(),
        }
    }),
];

/// How many registry metrics the table shows (a const, so the headers are one).
const fn tabled_count() -> usize {
    let mut n = 0;
    let mut list = 0;
    while list < REGISTRY.len() {
        let mut i = 0;
        while i < REGISTRY[list].len() {
            n += REGISTRY[list][i].tabled as usize;
            i += 1;
        }
        list += 1;
    }
    n
}

const WIDTH: usize = LEADING.len() + tabled_count() + TRAILING.len();

const HEADER_ARRAY: [&str; WIDTH] = {
    let mut out = [""; WIDTH];
    let mut at = 0;
    let mut i = 0;
    while i < LEADING.len() {
        out[at] = LEADING[i].0;
        (at, i) = (at + 1, i + 1);
    }
    let mut list = 0;
    while list < REGISTRY.len() {
        i = 0;
        while i < REGISTRY[list].len() {
            if REGISTRY[list][i].tabled {
                out[at] = REGISTRY[list][i].label;
                at += 1;
            }
            i += 1;
        }
        list += 1;
    }
    i = 0;
    while i < TRAILING.len() {
        out[at] = TRAILING[i].0;
        (at, i) = (at + 1, i + 1);
    }
    out
};

/// The summary table's headers, in column order.
pub const HEADERS: &[&str] = &HEADER_ARRAY;

/// A number with precision that suits its size; `–` when missing.
pub fn format_num(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if !x.is_finite() => "–".into(),
        // An F of 10^60 (a residual of zero) is not sixty digits wide.
        Some(x) if x.abs() >= 1e7 => format!("{x:.2e}"),
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

/// A row of the summary table, one cell per header.
pub fn cells(r: &ConfigSummary) -> Vec<String> {
    let tabled = crate::metrics::summarised().filter(|m| m.tabled);
    LEADING
        .iter()
        .map(|(_, _, cell)| cell(r))
        .chain(tabled.map(|m: &Metric| mean_sd(r.metric(m.column))))
        .chain(TRAILING.iter().map(|(_, _, cell)| cell(r)))
        .collect()
}

/// The columns a narrow terminal may leave out, the first to go first
/// (the tabled metrics are always shown).
pub fn optional() -> Vec<usize> {
    let tabled = crate::metrics::summarised().filter(|m| m.tabled).count();
    let ranks = LEADING
        .iter()
        .map(|c| c.1)
        .chain(std::iter::repeat_n(0, tabled))
        .chain(TRAILING.iter().map(|c| c.1));
    super::document::by_rank(ranks)
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
        assert_eq!(format_num(Some(9_999_999.0)), "9999999");
        assert_eq!(format_num(Some(3.1e60)), "3.10e60");
    }

    #[test]
    fn the_headers_are_the_columns_and_the_tabled_metrics() {
        assert_eq!(HEADERS.len(), WIDTH);
        assert!(HEADERS.iter().all(|h| !h.is_empty()));
        assert_eq!(HEADERS[LEADING.len()], "output tok/s");
        assert_eq!(HEADERS[LEADING.len() + 1], "req/s");
        assert_eq!(HEADERS.last(), Some(&"peak memory MB"));
    }
}
