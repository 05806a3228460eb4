//! `report.md`.

use super::cells::{cells, HEADERS};
use super::{Exporter, ReportInput};

pub struct Markdown;

impl Exporter for Markdown {
    fn name(&self) -> &'static str {
        "md"
    }

    fn file_name(&self) -> Option<&'static str> {
        Some("report.md")
    }

    fn render(&self, input: &ReportInput) -> anyhow::Result<String> {
        let mut out = format!("# {}\n\nRun `{}`", input.experiment, input.run_id);
        if let Some(t) = input.target {
            out.push_str(&format!(" against `{t}`"));
        }
        out.push_str(".\n\n");
        let escape = |s: &str| s.replace('|', "\\|");
        out.push_str(&format!("| {} |\n", HEADERS.join(" | ")));
        let align: Vec<&str> = (0..HEADERS.len())
            .map(|i| if i == 0 { ":--" } else { "--:" })
            .collect();
        out.push_str(&format!("| {} |\n", align.join(" | ")));
        for row in input.rows {
            let c: Vec<String> = cells(row).iter().map(|s| escape(s)).collect();
            out.push_str(&format!("| {} |\n", c.join(" | ")));
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
