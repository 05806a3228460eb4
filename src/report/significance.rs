//! The comparisons against the baseline, the effects and the expectations,
//! as the report's tables and lines.

use super::cells::format_num;
use super::document::{strings, Table};
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

/// `factor=level`; a factorial cell's factors each with its level.
fn vs_label(c: &crate::analysis::compare::Comparison) -> String {
    let (factors, levels) = (c.factor.split(','), c.level.split(','));
    if c.factor.contains(',') && factors.clone().count() == levels.clone().count() {
        factors
            .zip(levels)
            .map(|(f, l)| format!("{f}={l}"))
            .collect::<Vec<_>>()
            .join(",")
    } else {
        format!("{}={}", c.factor, c.level)
    }
}

/// One row per shown comparison, toned as its verdict reads: level,
/// metric, change [95 % CI], p (Holm), g, verdict, TOST.
pub fn significance_table(input: &ReportInput) -> Table {
    let mut header = strings(&[
        "vs baseline",
        "metric",
        "change",
        "95% CI",
        "p (Holm)",
        "g",
        "verdict",
    ]);
    header.push(format!("TOST ±{}%", input.decision.equivalence * 100.0));
    let rows = input
        .comparisons
        .iter()
        .filter(|c| crate::metrics::by_column(&c.metric).is_some_and(|m| m.shown))
        .map(|c| {
            let cells = vec![
                vs_label(c),
                metric_label(&c.metric),
                pct(c.rel_diff),
                format!("[{}, {}]", pct(c.rel_ci_low), pct(c.rel_ci_high)),
                p_value(c.p_holm),
                format_num(c.hedges_g),
                c.verdict.to_string(),
                c.equivalence.to_string(),
            ];
            (cells, Some(crate::analysis::compare::tone(c)))
        })
        .collect();
    Table {
        header,
        rows,
        align: super::document::Align::Unstated,
        // The 95% CI first, then g, TOST and p: the change and its verdict stay.
        optional: vec![3, 5, 7, 4],
    }
}

/// The metrics the sensitivity sentence names, where measured.
const SENSITIVITY: &[&str] = &["output_tok_s", "ttft_p50_ms", "e2e_p50_ms"];

/// "This run could detect changes of 3.1 % or more in output tok/s, …": the
/// least sensitive configuration's minimal detectable change at 80 % power.
pub fn sensitivity_line(input: &ReportInput) -> Option<String> {
    let parts: Vec<String> = SENSITIVITY
        .iter()
        .filter_map(|m| {
            let mde = crate::analysis::compare::sensitivity(input.estimates, m)?;
            Some(format!(
                "{:.1} % or more in {}",
                mde * 100.0,
                metric_label(m)
            ))
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    let d = input.decision;
    let m = crate::analysis::compare::family_size(input.comparisons, d.family, SENSITIVITY[0]);
    Some(format!(
        "Sensitivity: this run could detect changes of {} (80 % power, Welch at α / m = {} / {m}: Holm's bar for a change alone among {m} comparisons; against the baseline, for the least precise configuration; per configuration in estimates.csv)",
        parts.join(", "),
        d.alpha
    ))
}

/// A factorial run's type-II ANOVA for the shown metrics: metric, term,
/// df, F, p, partial η². Every metric is in effects.csv.
pub fn effects_table(input: &ReportInput) -> Table {
    let header = strings(&["metric", "term", "df", "F", "p", "partial η²"]);
    let rows = input
        .effects
        .iter()
        .filter(|(m, t)| {
            t.term != "Residual"
                && SENSITIVITY.contains(&m.as_str())
                && crate::metrics::by_column(m).is_some_and(|m| m.shown)
        })
        .map(|(m, t)| {
            vec![
                metric_label(m),
                t.term.clone(),
                format!("{}", t.df),
                format_num(t.f),
                p_value(t.p),
                t.partial_eta_sq
                    .map(|e| format!("{e:.2}"))
                    .unwrap_or_else(|| "–".into()),
            ]
        })
        .collect();
    Table::new(header, rows)
}

/// One line per declared expectation (outcome, expectation, change, p),
/// with the name of its outcome.
pub fn expectation_lines(input: &ReportInput) -> Vec<(String, &'static str)> {
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
            (line, c.outcome.as_str())
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
        "TOST p",
        "equivalence",
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
                p_value(c.p_tost),
                c.equivalence.to_string(),
            ]
        })
        .collect();
    (header, rows)
}
