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
    /// Trials during which other processes held more than `max` of the
    /// host's cores: (trial, configuration, share).
    BusyHost {
        trials: Vec<(usize, String, f64)>,
        max: f64,
        /// The server's own CPU was told apart (launched or built in).
        server_apart: bool,
    },
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
            Warning::BusyHost {
                trials,
                max,
                server_apart,
            } => {
                let listed: Vec<String> = trials
                    .iter()
                    .map(|(t, c, share)| format!("{t} ({c}, {:.0}%)", share * 100.0))
                    .collect();
                let who = if *server_apart {
                    "processes other than the server and infer-bench"
                } else {
                    "processes other than infer-bench (the server is not ours to tell apart and counts in)"
                };
                write!(
                    f,
                    "the host was busy: {who} used more than {:.0}% of its cores (stats.max_other_cpu_share) during trial(s) {}; those trials' figures may be slowed by the other work (`host_other_cpu_share` in trials.parquet)",
                    max * 100.0,
                    listed.join(", ")
                )
            }
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
    // A search's probes are few trials each by design: its fit pools them
    // over every probe, and its interval says how wide that leaves it.
    if !few.is_empty() && input.searches.is_empty() {
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
    out.extend(busy_host(input));
    out
}

/// Trials whose host noise passed the experiment's `max_other_cpu_share`.
fn busy_host(input: &ReportInput) -> Option<Warning> {
    let max = input
        .spec
        .map_or_else(crate::experiment::StatsSpec::default, |e| e.stats)
        .max_other_cpu_share;
    // One summary per trial: a handful of samples, gathered once.
    let mut host: std::collections::HashMap<(usize, &str), f64> = Default::default();
    for s in input.run.samples.iter().filter(|s| s.source == "host") {
        host.insert((s.trial, s.name.as_str()), s.value);
    }
    let mut trials = Vec::new();
    let mut server_apart = true;
    for t in &input.run.trials {
        let of = |name: &str| host.get(&(t.index, name)).copied();
        let Some(noise) = crate::monitor::HostNoise::from_named(of) else {
            continue;
        };
        if noise.other_cpu_share > max {
            let config = input
                .run
                .configurations
                .get(t.config)
                .map_or_else(String::new, |c| c.label.clone());
            trials.push((t.index, config, noise.other_cpu_share));
            server_apart &= noise.server_apart;
        }
    }
    (!trials.is_empty()).then_some(Warning::BusyHost {
        trials,
        max,
        server_apart,
    })
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
