//! The terminal table.

use super::cells::{cells, HEADERS};
use super::{
    effects_lines, expectation_lines, length_lines, rate_summary, sensitivity_line, service_lines,
    significance_lines, slo_words, turn_lines, warnings, Exporter, ReportInput,
};

pub struct Table;

/// Columns aligned with two spaces between them: text left, numbers right.
pub fn aligned(header: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cols: &[String]| -> String {
        let parts: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i].saturating_sub(c.chars().count()));
                let numeric = c.starts_with(|ch: char| ch.is_ascii_digit() || "+-–[".contains(ch));
                if i == 0 || !numeric {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let mut out = line(header);
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    out.push_str(&rule.join("  "));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

impl Exporter for Table {
    fn name(&self) -> &'static str {
        "table"
    }

    fn file_name(&self) -> Option<&'static str> {
        None
    }

    fn render(&self, input: &ReportInput) -> anyhow::Result<String> {
        let mut out = format!("{} · run {}\n", input.experiment(), input.run_id());
        let header: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
        let rows: Vec<Vec<String>> = input.rows.iter().map(cells).collect();
        out.push_str(&aligned(&header, &rows));
        let slo = input.spec.map(|e| e.slo).unwrap_or_default();
        out.push_str(&format!("\nService levels ({}):\n", slo_words(&slo)));
        let (header, rows) = service_lines(input);
        out.push_str(&aligned(&header, &rows));
        if let Some(line) = rate_summary(input) {
            out.push_str(&format!("{line}\n"));
        }
        let (header, rows) = significance_lines(input);
        if !rows.is_empty() {
            out.push_str(&format!(
                "\nAgainst the baseline (Welch's t-test over trials, Holm-adjusted {}; a verdict needs p < {} and a change over {}%; TOST, each on its own: the same within ±{}%?):\n",
                input.decision.family.describe(),
                input.decision.alpha,
                input.decision.threshold * 100.0,
                input.decision.equivalence * 100.0
            ));
            out.push_str(&aligned(&header, &rows));
        }
        if let Some(line) = sensitivity_line(input) {
            out.push_str(&format!("{line}.\n"));
        }
        if let Some(stop) = &input.run.manifest.repetitions_stop {
            out.push_str(&format!(
                "Repetitions: {} blocks; {}.\n",
                stop.blocks, stop.reason
            ));
        }
        let (header, rows) = effects_lines(input);
        if !rows.is_empty() {
            out.push_str("\nEffects (type-II ANOVA over trials, repetition as a block; every metric in effects.csv):\n");
            out.push_str(&aligned(&header, &rows));
        }
        for (title, (header, rows)) in [
            (
                "Lengths asked and served (p10 / p50 / p90)",
                length_lines(input),
            ),
            ("Conversations by turn", turn_lines(input)),
        ] {
            if !rows.is_empty() {
                out.push_str(&format!("\n{title}:\n"));
                out.push_str(&aligned(&header, &rows));
            }
        }
        let expected = expectation_lines(input);
        if !expected.is_empty() {
            out.push_str("\nExpectations (Holm across them):\n");
            for line in expected {
                out.push_str(&format!("  {line}\n"));
            }
        }
        // Warnings quote servers (a dead server's last words): shown, not obeyed.
        for w in warnings(input) {
            let w = w.to_string();
            let w = crate::redact::for_terminal(&w);
            out.push_str(&format!("warning: {w}\n"));
        }
        Ok(out)
    }
}
