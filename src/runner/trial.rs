//! One trial: its requests prepared, the warm-up, the load with every
//! record streamed to the log, and the accounting that marks it done.

use super::prepare;
use super::session::Connection;
use crate::experiment::LoadedExperiment;
use crate::load::{self, LoadModel, TrialLoad};
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
    /// The host's own noise during the trial, where /proc tells it.
    pub(super) host: Option<monitor::HostNoise>,
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
    warm_up(conn, prepared.warmup, config, trial).await?;
    let trial_load = TrialLoad {
        trial: trial.index,
        config: config.index,
        repetition: trial.repetition,
        requests: prepared.planned,
        duration: e.trial.duration.map(|d| d.0),
        batch: config.batch_size(),
    };
    let model = LoadModel::of(l, config);
    let seed = load::arrivals::trial_seed(e.seed, trial.draws_in(e.design));
    // The load sends each record down `tx` as its request ends; they go
    // to the log at once, and only a bounded tally stays in memory.
    let (tx, rx) = tokio::sync::mpsc::channel::<Record>(4096);
    // `max_error_rate` stops the trial as it runs (a dead endpoint fails
    // thousands of requests a second); the run's check after the trial
    // then ends the run as it always did.
    let work = load::run_watching(
        &model,
        conn.client.clone(),
        prepared.work,
        trial_load,
        seed,
        tx,
        e.trial.max_error_rate,
    );
    let log = log_records(rx, writer, finished);
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
    let host = monitor::HostNoise::from_named(|name| {
        samples
            .iter()
            .find(|s| s.source == "host" && s.name == name)
            .map(|s| s.value)
    });
    Ok(TrialRun {
        tally,
        rate: model.rate(),
        host,
    })
}

/// The warm-up (not recorded) at the configuration's concurrency; a server
/// that fails every warm-up request ends the trial before it is measured.
async fn warm_up(
    conn: &Connection,
    warmup: Vec<crate::client::GenRequest>,
    config: &Configuration,
    trial: &Trial,
) -> anyhow::Result<()> {
    let concurrency = config.concurrency();
    let warm = load::warm_up(conn.client.clone(), Arc::new(warmup), concurrency).await;
    if !warm.is_empty() && warm.iter().all(|o| !o.ok()) {
        let reason =
            crate::redact::for_terminal(warm[0].error.as_deref().unwrap_or_default()).into_owned();
        anyhow::bail!(
            "trial {} ({}): every warm-up request failed, first: {reason}",
            trial.index,
            config.label
        );
    }
    Ok(())
}

/// Each record to the log as it comes, a bounded tally kept; the first
/// failed write is kept to report once the load is over.
async fn log_records(
    mut rx: tokio::sync::mpsc::Receiver<Record>,
    writer: &mut RunWriter,
    finished: Arc<AtomicUsize>,
) -> (Tally, Option<anyhow::Error>) {
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
}
