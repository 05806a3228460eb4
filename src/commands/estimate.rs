//! `validate`'s duration estimate: each trial's time from its load model,
//! one request's time from a previous run's speeds where there is one.

use super::validate::Pilot;
use infer_bench::analysis::planning::Speeds;
use infer_bench::experiment::LoadedExperiment;
use infer_bench::{load, plan, runner};
use std::time::Duration;

/// A rough duration, each trial's time taken from its load model
/// (`load::trial_seconds`) and one request's time from, in this order: a
/// previous run's measured speeds (`pilot`), the sim's own latency model for
/// `builtin: sim`, or an assumed 50 tokens/s per stream and 1000 prompt
/// tokens/s for real servers. Returns the duration and its basis in words.
pub(super) fn estimate_duration(
    l: &LoadedExperiment,
    plan: &plan::Plan,
    pilot: Option<&Pilot>,
) -> (Duration, String) {
    let e = &l.experiment;
    let sim = e
        .target
        .builtin
        .map(|_| e.target.sim.clone().unwrap_or_default());
    let mut total = 0.0;
    for trial in &plan.trials {
        let c = plan.config_of(trial);
        let pace = pace_of(l, c, sim.as_ref(), pilot.map(|p| &p.speeds));
        let model = load::LoadModel::of(l, c);
        let warm_up = load::LoadModel::Closed {
            concurrency: c.concurrency(),
            stagger: Duration::ZERO,
        };
        let warm = Some(e.warmup.requests as usize);
        total += load::trial_seconds(&warm_up, warm, None, pace, None);
        let (requests, span) = match l.workload_of(c).and_then(|w| w.trace.as_ref()) {
            Some(rows) => {
                // A count takes the trace's first rows, as the trial will.
                let limit = e.trial.requests.map(|n| n as usize * c.batch_size());
                let rows = &rows[..limit.map_or(rows.len(), |n| n.min(rows.len()))];
                trace_size(rows, e.trial.duration.map(|d| d.0))
            }
            None => (e.trial.requests.map(|n| n as usize), None),
        };
        total += load::trial_seconds(&model, requests, e.trial.duration.map(|d| d.0), pace, span);
    }
    let basis = match pilot {
        Some(p) => measured_basis(p, plan),
        None if sim.is_some() => "from the sim's latency model".to_string(),
        None => "assuming ~50 output tok/s per stream and ~1000 prompt tok/s; a guess until a first run (none found)".to_string(),
    };
    // Saturating: a sum of estimates must not panic `validate` (each
    // quantity is limited, but their product over a plan is not).
    (
        Duration::try_from_secs_f64(total).unwrap_or(Duration::MAX),
        basis,
    )
}

/// A trace's requests within the trial's duration, and the last one's arrival.
fn trace_size(
    rows: &[infer_bench::workload::TraceRow],
    duration: Option<Duration>,
) -> (Option<usize>, Option<f64>) {
    let end = duration.map_or(f64::INFINITY, |d| d.as_secs_f64());
    let within: Vec<f64> = rows.iter().map(|r| r.at_s).filter(|at| *at < end).collect();
    (Some(within.len()), within.last().copied())
}

/// One request's time alone: as a previous run measured it for this
/// configuration, else from the lengths the configuration (or its workload)
/// asks for at that run's speeds, the sim's model or the assumed speeds; the
/// server's slots where the sim says.
fn pace_of(
    l: &LoadedExperiment,
    c: &plan::Configuration,
    sim: Option<&infer_bench::sim::SimModel>,
    speeds: Option<&Speeds>,
) -> load::Pace {
    let typical = l
        .workload_of(c)
        .map(|w| w.spec.typical())
        .unwrap_or_default();
    let input = c
        .input_tokens()
        .map(|v| v as f64)
        .or(typical.input_tokens)
        .unwrap_or(100.0);
    let output = c
        .output_tokens()
        .map(|v| v as f64)
        .or(typical.output_tokens)
        .unwrap_or(runner::DEFAULT_MAX_TOKENS as f64);
    // A measured request time already holds the wait for a slot, so the
    // load's own bound alone sets how many run side by side.
    let seen = speeds.and_then(|s| s.request_s.get(&c.label).copied());
    let measured = seen.or_else(|| {
        let s = speeds?;
        Some(input / s.prefill_tok_s? + (output - 1.0).max(0.0) / s.decode_tok_s?)
    });
    let request_s = match (measured, sim) {
        (Some(s), _) => s,
        (None, Some(m)) => {
            let active = (c.concurrency() as f64).min(m.slots as f64) as usize;
            (m.prefill_ms(input as usize, 1.0) + (output - 1.0).max(0.0) * m.gap_ms(active, 1.0))
                / 1000.0
        }
        (None, None) => input / 1000.0 + output / 50.0,
    } + typical.think_s;
    load::Pace {
        request_s,
        server_slots: sim.filter(|_| seen.is_none()).map(|m| m.slots as f64),
    }
}

/// Which of the previous run's figures the estimate rests on.
fn measured_basis(p: &Pilot, plan: &plan::Plan) -> String {
    let s = &p.speeds;
    let known = plan
        .configurations
        .iter()
        .filter(|c| s.request_s.contains_key(&c.label))
        .count();
    let all = plan.configurations.len();
    let mut basis = format!(
        "from run {}'s measured speeds: the request time (E2E p50) of {known} of {all} configurations",
        p.run_id
    );
    if known < all {
        match (s.prefill_tok_s, s.decode_tok_s) {
            (Some(pre), Some(dec)) => basis.push_str(&format!(
                ", the others' lengths at its prefill {pre:.0} tok/s (prompt tokens / TTFT) and decode {dec:.1} tok/s (1 / TPOT)"
            )),
            _ => basis.push_str(", the others from the assumed speeds"),
        }
    }
    basis
}
