//! `report.md`.

use super::cells::{cells, HEADERS};
use super::{
    effects_lines, expectation_lines, length_lines, rate_summary, sensitivity_line, service_lines,
    significance_lines, slo_words, turn_lines, warnings, Exporter, ReportInput, LENGTHS_NOTE,
    TURNS_NOTE,
};

pub struct Markdown;

/// Markdown passes inline HTML through, `|` ends a table cell, a line
/// break can start a heading and brackets make links and images: text from
/// the experiment or a server is escaped wherever it lands.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('`', "\\`")
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

impl Exporter for Markdown {
    fn name(&self) -> &'static str {
        "md"
    }

    fn file_name(&self) -> Option<&'static str> {
        Some("report.md")
    }

    fn render(&self, input: &ReportInput) -> anyhow::Result<String> {
        let mut out = format!("# {}\n\nRun `{}`", input.experiment(), input.run_id());
        if let Some(t) = input.target() {
            out.push_str(&format!(" against `{t}`"));
        }
        out.push_str(".\n\n");
        out.push_str(&format!("| {} |\n", HEADERS.join(" | ")));
        let align: Vec<&str> = (0..HEADERS.len())
            .map(|i| if i == 0 { ":--" } else { "--:" })
            .collect();
        out.push_str(&format!("| {} |\n", align.join(" | ")));
        for row in input.rows {
            let c: Vec<String> = cells(row).iter().map(|s| escape(s)).collect();
            out.push_str(&format!("| {} |\n", c.join(" | ")));
        }
        let slo = input.spec.map(|e| e.slo).unwrap_or_default();
        out.push_str(&format!("\n## Service levels\n\n{}.\n\n", slo_words(&slo)));
        let (header, rows) = service_lines(input);
        out.push_str(&format!("| {} |\n", header.join(" | ")));
        out.push_str(&format!("| {} |\n", vec!["--"; header.len()].join(" | ")));
        for r in rows {
            let r: Vec<String> = r.iter().map(|s| escape(s)).collect();
            out.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        if let Some(line) = rate_summary(input) {
            out.push_str(&format!("\n{line}.\n"));
        }
        let (header, rows) = significance_lines(input);
        if !rows.is_empty() {
            out.push_str(&format!(
                "\n## Against the baseline\n\nWelch's t-test over per-trial values, Holm–Bonferroni {}; \
                 a verdict needs an adjusted p below {} and a change larger than {} %. \
                 TOST says whether the two are the same within ±{} % (equivalent), not (different), or cannot tell (inconclusive), each comparison on its own, not adjusted. Every metric is in `stats.csv`.\n\n",
                input.decision.family.describe(),
                input.decision.alpha,
                input.decision.threshold * 100.0,
                input.decision.equivalence * 100.0
            ));
            out.push_str(&format!("| {} |\n", header.join(" | ")));
            out.push_str(&format!("| {} |\n", vec!["--"; header.len()].join(" | ")));
            for r in rows {
                let r: Vec<String> = r.iter().map(|c| escape(c)).collect();
                out.push_str(&format!("| {} |\n", r.join(" | ")));
            }
        }
        if let Some(line) = sensitivity_line(input) {
            out.push_str(&format!("\n{}.\n", escape(&line)));
        }
        if let Some(stop) = &input.run.manifest.repetitions_stop {
            out.push_str(&format!(
                "\nRepetitions: {} blocks; {}.\n",
                stop.blocks,
                escape(&stop.reason)
            ));
        }
        let (header, rows) = effects_lines(input);
        if !rows.is_empty() {
            out.push_str("\n## Effects and interactions\n\nType-II ANOVA over per-trial values: main effects, two-factor interactions, the repetition as a block. Every metric is in `effects.csv`.\n\n");
            out.push_str(&format!("| {} |\n", header.join(" | ")));
            out.push_str(&format!("| {} |\n", vec!["--"; header.len()].join(" | ")));
            for r in rows {
                let r: Vec<String> = r.iter().map(|c| escape(c)).collect();
                out.push_str(&format!("| {} |\n", r.join(" | ")));
            }
        }
        for (title, note, (header, rows)) in [
            (
                "Lengths asked and served",
                LENGTHS_NOTE,
                length_lines(input),
            ),
            ("Conversations by turn", TURNS_NOTE, turn_lines(input)),
        ] {
            if rows.is_empty() {
                continue;
            }
            out.push_str(&format!("\n## {title}\n\n{note}.\n\n"));
            out.push_str(&format!("| {} |\n", header.join(" | ")));
            out.push_str(&format!("| {} |\n", vec!["--"; header.len()].join(" | ")));
            for r in rows {
                let r: Vec<String> = r.iter().map(|c| escape(c)).collect();
                out.push_str(&format!("| {} |\n", r.join(" | ")));
            }
        }
        let expected = expectation_lines(input);
        if !expected.is_empty() {
            out.push_str("\n## Expectations\n\n");
            for line in expected {
                out.push_str(&format!("- {}\n", escape(&line)));
            }
        }
        let warns = warnings(input);
        if !warns.is_empty() {
            out.push('\n');
            for w in warns {
                out.push_str(&format!("- ⚠ {}\n", escape(&w.to_string())));
            }
        }
        out.push_str(
            "\nPercentiles pool every successful request of a configuration (linear interpolation). \
             Throughput is mean ± sample standard deviation across trials; a trial's throughput is its \
             output tokens over first send → last completion. TTFT: send → first content event. \
             TPOT: (E2E − TTFT) / (output tokens − 1). ITL: gaps between content events. \
             Token counts are the server's own (`usage`).\n",
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn text_cannot_start_a_heading_an_image_or_a_cell() {
        let level = "q4\n# Owned\n![x](http://evil/x.png) | <b>`code`</b>\r\nend";
        let e = escape(level);
        assert!(!e.contains('\n') && !e.contains('\r'), "{e}");
        assert_eq!(
            e,
            "q4 # Owned !\\[x\\](http://evil/x.png) \\| &lt;b&gt;\\`code\\`&lt;/b&gt; end"
        );
    }
}
