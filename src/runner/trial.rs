//! One trial: its requests prepared, the warm-up, the load with every
//! record streamed to the log, and the accounting that marks it done.

use super::prepare;
use super::session::Connection;
use crate::experiment::LoadedExperiment;
use crate::load::{self, TrialLoad};
use crate::monitor::{self, Targets};
use crate::plan::{Configuration, Trial};
use crate::record::Record;
use crate::results::{RunWriter, Tally};
use anyhow::Context as _;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

/// A finished trial, as the progress line and the run's checks need it.
pub(super) struct TrialRun {
    pub(super) tally: Tally,
    /// The open loop's rate, where it is one.
    pub(super) rate: Option<f64>,
}

/// Run `trial` on `conn` and mark it done in `writer` once each request it
/// sent is one record on disk. `finished` counts records for the progress bar.
pub(super) async fn run_one_trial(
    l: &LoadedExperiment,
    trial: &Trial,
    config: &Configuration,
    conn: &Connection,
    targets: Targets,
    writer: &mut RunWriter,
    finished: Arc<AtomicUsize>,
) -> anyhow::Result<TrialRun> {
    let e = &l.experiment;
    let prepared = prepare::prepare(l, &conn.client, config, trial)
        .await
        .with_context(|| format!("trial {} ({})", trial.index, config.label))?;
    let concurrency = config.concurrency();
    let warm = load::warm_up(conn.client.clone(), Arc::new(prepared.warmup), concurrency).await;
    if !warm.is_empty() && warm.iter().all(|o| !o.ok) {
        let reason =
            crate::redact::for_terminal(warm[0].error.as_deref().unwrap_or_default()).into_owned();
        anyhow::bail!(
            "trial {} ({}): every warm-up request failed, first: {reason}",
            trial.index,
            config.label
        );
    }
    let trial_load = TrialLoad {
        trial: trial.index,
        config: config.index,
        repetition: trial.repetition,
        concurrency,
        requests: prepared.planned,
        duration: e.trial.duration.map(|d| d.0),
        batch: config.batch_size(),
        ramp: std::time::Duration::ZERO,
    };
    let measured = Arc::new(prepared.measured);
    let kind = e.load.kind();
    let rate = config
        .values
        .get("rate")
        .and_then(crate::level::Level::as_f64)
        .filter(|_| kind.is_open() && prepared.arrivals.is_none());
    let cap = e.load.max_in_flight().map(|n| n as usize);
    // The load sends each record down `tx` as its request ends; they go
    // to the log at once, and only a bounded tally stays in memory.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Record>(4096);
    let client = conn.client.clone();
    let work = async {
        // A trace brings its own arrival times; sessions their own turns.
        if let Some(offsets) = &prepared.arrivals {
            return load::open_loop(client, measured, trial_load, offsets, cap, tx).await;
        }
        if let Some(conversations) = prepared.sessions {
            return load::sessions(client, Arc::new(conversations), trial_load, tx).await;
        }
        match rate {
            Some(rate) => {
                let offsets = load::arrivals::offsets(
                    kind,
                    rate,
                    e.load.burstiness(),
                    trial_load.requests,
                    trial_load.duration,
                    load::arrivals::trial_seed(e.seed, trial.index),
                );
                load::open_loop(client, measured, trial_load, &offsets, cap, tx).await
            }
            None => load::closed_loop(client, measured, trial_load, tx).await,
        }
    };
    let log = async {
        let mut tally = Tally::default();
        let mut failed_write = None;
        while let Some(r) = rx.recv().await {
            tally.add(&r);
            finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if failed_write.is_none() {
                failed_write = writer.record(&r).err();
            }
        }
        (tally, failed_write)
    };
    let ((sent, samples), (tally, failed_write)) =
        tokio::join!(monitor::during(targets, trial.index, work), log);
    if let Some(e) = failed_write {
        return Err(e.context(format!(
            "trial {} ({}): writing requests.jsonl",
            trial.index, config.label
        )));
    }
    // Every request sent is one record, and a trial of N requests sends
    // N: otherwise the trial is not done (a resume runs it again).
    let planned = match (prepared.planned, e.trial.duration) {
        (Some(n), None) => n,
        _ => sent,
    };
    if tally.records != sent || sent != planned {
        anyhow::bail!(
            "trial {} ({}): {planned} requests planned, {sent} sent, {} recorded; the trial is not marked done (a bug in infer-bench: please report it)",
            trial.index,
            config.label,
            tally.records
        );
    }
    writer.trial_done(trial.index, tally.records, &samples)?;
    Ok(TrialRun { tally, rate })
}
