//! What a report warns of, typed: thin or noisy estimates, failed trials,
//! requests sent twice, numbers not believed, a torn log. Each prints as
//! the line the reports show.

use super::ReportInput;
use crate::metrics::label as metric_label;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// Configurations with fewer than 3 trials.
    FewTrials(Vec<String>),
    /// A shown metric whose trials vary more than 10 %.
    Noisy {
        config: String,
        metric: String,
        cv: f64,
    },
    /// A trial during which the launched server died.
    FailedTrial {
        trial: usize,
        config: String,
        reason: String,
    },
    /// Requests sent again after a kept connection was found closed.
    Retried(usize),
    /// Requests whose response carried numbers not believed, and the first.
    NotBelieved { requests: usize, first: String },
    /// The last line of requests.jsonl was cut off and left out.
    TornLog,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::FewTrials(configs) => write!(
                f,
                "fewer than 3 trials for {}: intervals are wide or missing",
                configs.join(", ")
            ),
            Warning::Noisy { config, metric, cv } => write!(
                f,
                "{config}: {} varies {:.0}% between trials (CV); more repetitions or a quieter machine would help",
                metric_label(metric),
                cv * 100.0
            ),
            Warning::FailedTrial {
                trial,
                config,
                reason,
            } => write!(
                f,
                "trial {trial} ({config}) failed: {reason}; the server was relaunched and the run went on (the trial's records, failures included, are kept)"
            ),
            Warning::Retried(n) => write!(
                f,
                "{n} request(s) went out again on a new connection after the kept one they were written to was closed by the server before any response (`retried` in requests.parquet)"
            ),
            Warning::NotBelieved { requests, first } => write!(
                f,
                "{requests} request(s) carried numbers not believed (kept as sent; `warnings` in requests.parquet), first: {first}"
            ),
            Warning::TornLog => f.write_str(
                "the last line of requests.jsonl was cut off (a kill or a full disk) and is left out",
            ),
        }
    }
}

/// Everything the run's report should warn of, in the order shown.
pub fn warnings(input: &ReportInput) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut few = Vec::new();
    let shown = input
        .estimates
        .iter()
        .filter(|e| crate::metrics::by_column(&e.metric).is_some_and(|m| m.shown));
    for e in shown {
        if e.estimate.n < 3 {
            if !few.contains(&e.config) {
                few.push(e.config.clone());
            }
        } else if let Some(cv) = e.estimate.cv.filter(|cv| *cv > 0.10) {
            out.push(Warning::Noisy {
                config: e.config.clone(),
                metric: e.metric.clone(),
                cv,
            });
        }
    }
    if !few.is_empty() {
        out.insert(0, Warning::FewTrials(few));
    }
    for f in &input.run.manifest.failed_trials {
        out.push(Warning::FailedTrial {
            trial: f.trial,
            config: f.config.clone(),
            reason: f.reason.lines().next().unwrap_or_default().to_string(),
        });
    }
    out.extend(of_records(input.digest));
    out
}

/// What the records say about the server's conduct beyond the failures.
fn of_records(digest: &crate::analysis::stream::Digest) -> Vec<Warning> {
    let mut out = Vec::new();
    if digest.retried > 0 {
        out.push(Warning::Retried(digest.retried));
    }
    if let Some(first) = &digest.first_warning {
        out.push(Warning::NotBelieved {
            requests: digest.warned,
            first: first.clone(),
        });
    }
    if digest.torn_tail {
        out.push(Warning::TornLog);
    }
    out
}
