//! The experiment as a run folder keeps it: its copy, read back by the
//! commands that analyse a finished run.

use super::{Experiment, Slo, StatsSpec};
use std::path::Path;

/// The experiment parsed from a run folder's copy at `copy`; `None` where
/// the copy is gone (a run kept without it) or does not parse. A copy that
/// does not parse is said on stderr with the defaults used in its stead:
/// tables from default SLOs and alpha must not pass for the experiment's.
pub fn kept_copy(copy: &Path) -> Option<Experiment> {
    let text = match std::fs::read_to_string(copy) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            warn(&format!("{}: cannot read: {e}", copy.display()));
            return None;
        }
    };
    match super::parse(copy, &text) {
        Ok(e) => Some(e),
        Err(e) => {
            warn(&e.to_string());
            None
        }
    }
}

fn warn(why: &str) {
    crate::error::warn(format_args!("warning: {why}"));
    crate::error::warn(format_args!(
        "warning: the run's experiment copy is unusable, so its analysis takes the defaults instead: {}",
        defaults()
    ));
}

/// What an experiment that says nothing gets: the defaults a run folder
/// without a usable copy is analysed with.
pub fn defaults() -> String {
    let slo = Slo::default();
    let objectives: Vec<String> = [
        ("ttft_ms", slo.ttft_ms),
        ("tpot_ms", slo.tpot_ms),
        ("e2e_ms", slo.e2e_ms),
        ("min_output_tok_s", slo.min_output_tok_s),
        ("p50_latency_s", slo.p50_latency_s),
        ("p95_latency_s", slo.p95_latency_s),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| format!("{name} {v}")))
    .chain([format!("min_attainment {}", slo.min_attainment)])
    .collect();
    let s = StatsSpec::default();
    format!(
        "SLOs {}; alpha {}, threshold {}, equivalence {}, Holm family {}; no price, no expectations, no interactions (design ofat)",
        objectives.join(", "),
        s.alpha,
        s.threshold,
        s.equivalence,
        match s.family {
            super::Family::Run => "run",
            super::Family::Metric => "metric",
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_name_the_values_used() {
        let d = defaults();
        assert!(
            d.contains("ttft_ms 500") && d.contains("p95_latency_s 10"),
            "{d}"
        );
        assert!(
            d.contains("alpha 0.05") && d.contains("equivalence 0.05"),
            "{d}"
        );
        assert!(!d.contains("tpot_ms"), "{d}");
    }
}
