//! The comparisons against the baseline and the noise warnings, as text
//! lines shared by the terminal and Markdown reports.

use super::cells::format_num;
use super::ReportInput;
use crate::metrics::label as metric_label;

/// A relative change as `+12.3%`; `–` when missing.
pub fn pct(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{:+.1}%", v * 100.0),
        _ => "–".into(),
    }
}

/// A p-value: scientific below 1e-4.
pub fn p_value(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 1e-4 => format!("{p:.0e}"),
        Some(p) => format!("{p:.4}"),
        None => "–".into(),
    }
}

/// Header and one row per comparison: level, metric, change [95 % CI], p (Holm), verdict.
pub fn significance_lines(input: &ReportInput) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "vs baseline",
        "metric",
        "change",
        "95% CI",
        "p (Holm)",
        "g",
        "verdict",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = input
        .comparisons
        .iter()
        .filter(|c| crate::metrics::by_column(&c.metric).is_some_and(|m| m.shown))
        .map(|c| {
            vec![
                format!("{}={}", c.factor, c.level),
                metric_label(&c.metric),
                pct(c.rel_diff),
                format!("[{}, {}]", pct(c.rel_ci_low), pct(c.rel_ci_high)),
                p_value(c.p_holm),
                format_num(c.hedges_g),
                c.verdict.to_string(),
            ]
        })
        .collect();
    (header, rows)
}

/// Configurations whose estimates are too thin or too noisy to lean on.
pub fn warnings(input: &ReportInput) -> Vec<String> {
    let mut out = Vec::new();
    let mut few = Vec::new();
    for e in input
        .estimates
        .iter()
        .filter(|e| crate::metrics::by_column(&e.metric).is_some_and(|m| m.shown))
    {
        if e.estimate.n < 3 {
            if !few.contains(&e.config) {
                few.push(e.config.clone());
            }
        } else if e.estimate.cv.is_some_and(|cv| cv > 0.10) {
            out.push(format!(
                "{}: {} varies {:.0}% between trials (CV); more repetitions or a quieter machine would help",
                e.config,
                metric_label(&e.metric),
                e.estimate.cv.unwrap_or_default() * 100.0
            ));
        }
    }
    for f in &input.run.manifest.failed_trials {
        let first = f.reason.lines().next().unwrap_or_default();
        out.push(format!(
            "trial {} ({}) failed: {first}; the server was relaunched and the run went on (the trial's records, failures included, are kept)",
            f.trial, f.config
        ));
    }
    out.extend(record_warnings(&input.run.records, input.run.torn_tail));
    if !few.is_empty() {
        out.insert(
            0,
            format!(
                "fewer than 3 trials for {}: intervals are wide or missing",
                few.join(", ")
            ),
        );
    }
    out
}

/// What the records say about the server's conduct beyond the failures:
/// requests sent twice, numbers not believed, a log cut short.
fn record_warnings(records: &[crate::record::Record], torn_tail: bool) -> Vec<String> {
    let mut out = Vec::new();
    let retried = records.iter().filter(|r| r.retried).count();
    if retried > 0 {
        out.push(format!(
            "{retried} request(s) went out again on a new connection after the kept one they were written to was closed by the server before any response (`retried` in requests.parquet)"
        ));
    }
    let warned: Vec<&crate::record::Record> =
        records.iter().filter(|r| !r.warnings.is_empty()).collect();
    if let Some(first) = warned.first() {
        out.push(format!(
            "{} request(s) carried numbers not believed (kept as sent; `warnings` in requests.parquet), first: {}",
            warned.len(),
            first.warnings.join("; ")
        ));
    }
    if torn_tail {
        out.push(
            "the last line of requests.jsonl was cut off (a kill or a full disk) and is left out"
                .into(),
        );
    }
    out
}

/// One line per declared expectation: outcome, expectation, change, p.
pub fn expectation_lines(input: &ReportInput) -> Vec<String> {
    input
        .expectations
        .iter()
        .map(|c| {
            let mut line = format!(
                "{:<12} {} ({}, p {})",
                c.outcome,
                c.expectation,
                pct(c.rel_diff),
                p_value(c.p_holm)
            );
            if !c.note.is_empty() {
                line.push_str(&format!(": {}", c.note));
            }
            line
        })
        .collect()
}

/// Header and one row per comparison of two runs (B against A): configuration,
/// metric, both means, change [95 % CI], p (Holm), verdict with regressions marked.
pub fn between_runs_lines(
    rows: &[crate::analysis::compare::Comparison],
) -> (Vec<String>, Vec<Vec<String>>) {
    use crate::analysis::between_runs::is_regression;
    let header = [
        "configuration",
        "metric",
        "A",
        "B",
        "change",
        "95% CI",
        "p (Holm)",
        "verdict",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = rows
        .iter()
        .map(|c| {
            vec![
                c.baseline_level.clone(),
                metric_label(&c.metric),
                format_num(c.mean_baseline),
                format_num(c.mean),
                pct(c.rel_diff),
                format!("[{}, {}]", pct(c.rel_ci_low), pct(c.rel_ci_high)),
                p_value(c.p_holm),
                if is_regression(c) {
                    format!("{} (regression)", c.verdict)
                } else {
                    c.verdict.to_string()
                },
            ]
        })
        .collect();
    (header, rows)
}
