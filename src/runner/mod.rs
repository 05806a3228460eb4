//! The runner: plan → (target, prompts, load, monitor) trial by trial → run
//! folder → analysis and reports.

mod adaptive;
mod compose;
mod limits;
mod prepare;
mod progress;
mod session;
mod trial;

pub use limits::{check_open_files, raise_open_files};
pub use prepare::DEFAULT_MAX_TOKENS;

use crate::experiment::LoadedExperiment;
use crate::monitor::Gpu;
use crate::plan::{self, Plan};
// The adaptive repetitions read the trials done so far as the report does.
use crate::report::trial_table;
use crate::results::{RunWriter, Status, Tally};
use anyhow::Context as _;
use session::Session;
use std::path::PathBuf;
use std::sync::Arc;

pub struct RunOptions {
    /// Results root: the run goes to `<out>/<experiment>/<run-id>/`.
    pub out: PathBuf,
    /// Progress lines on stderr.
    pub progress: bool,
    /// Finish this interrupted run folder instead of starting a new one.
    pub resume: Option<PathBuf>,
    /// The command line's changes to the experiment, kept in the manifest.
    pub overrides: crate::results::Overrides,
    /// Run only this part of the plan (a Slurm array task, say).
    pub shard: Option<plan::Shard>,
}

/// A server that dies this many trials running is not coming back.
const MAX_DEATHS_IN_A_ROW: usize = 3;

/// What a signal handler needs to say what it interrupted.
type InFlight = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// Ctrl-C or SIGTERM (what `kill`, systemd and Slurm send first).
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupted (Ctrl-C)",
                _ = term.recv() => "interrupted (SIGTERM)",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "interrupted (Ctrl-C)"
}

/// Run the experiment; returns the run folder. Records of finished trials
/// are on disk whatever happens after; launched servers are stopped on every
/// way out (end, error, Ctrl-C, SIGTERM). A trial in flight when a signal
/// comes is abandoned: its records are not written, and a resume runs it again.
pub async fn run(l: &LoadedExperiment, opts: &RunOptions) -> anyhow::Result<PathBuf> {
    let plan = plan::expand(&l.experiment);
    // Sockets for the most requests in flight at once (a closed loop's
    // concurrency, or an open loop's cap), checked before any run folder exists.
    if let Some((soft, hard)) = limits::raise_open_files() {
        let in_flight = match l.experiment.load.max_in_flight() {
            Some(cap) => u64::from(cap),
            None => plan
                .configurations
                .iter()
                .map(|c| c.concurrency() as u64)
                .max()
                .unwrap_or(1),
        };
        limits::check_open_files(in_flight, soft, hard)
            .map_err(|m| crate::error::InputError::in_file(&l.path, m))?;
    }
    let shard_of = |shard: plan::Shard| -> anyhow::Result<Vec<usize>> {
        Ok(shard
            .trials(&plan)
            .map_err(|m| crate::error::InputError::in_file(&l.path, m))?)
    };
    // Checked before the run folder exists.
    if opts.shard.is_some() && l.experiment.repetitions.adaptive().is_some() {
        return Err(crate::error::InputError::in_file(
            &l.path,
            "adaptive repetitions decide block by block on the whole run's trials, so they cannot be sharded; give repetitions a number to shard",
        )
        .into());
    }
    let asked = match opts.shard {
        Some(s) => Some((s, shard_of(s)?)),
        None => None,
    };
    let (mut writer, mut done) = match &opts.resume {
        Some(dir) => RunWriter::resume(dir, l, &plan)
            .with_context(|| format!("resuming run folder {}", dir.display()))?,
        None => (
            RunWriter::create(&opts.out, l, &plan, opts.overrides)?,
            Default::default(),
        ),
    };
    // A shard skips the other shards' trials as a resume skips done ones.
    let shard = match (asked, writer.shard()) {
        (Some(a), _) => Some(a),
        (None, Some(s)) => Some((s, shard_of(s)?)),
        (None, None) => None,
    };
    if let Some((shard, mine)) = shard {
        writer.set_shard(shard, mine.len())?;
        done.extend(
            plan.trials
                .iter()
                .map(|t| t.index)
                .filter(|i| !mine.contains(i)),
        );
    }
    let dir = writer.dir.clone();
    let gpu = match Gpu::init() {
        Ok(g) => {
            writer.set_gpu(g.describe())?;
            Some(Arc::new(g))
        }
        Err(why) => {
            writer.set_gpu(why)?;
            None
        }
    };
    let mut session = Session::start(l, &dir, gpu)?;

    let in_flight: InFlight = Default::default();
    let mut interrupted = None;
    let outcome = tokio::select! {
        r = run_trials(l, &plan, &done, &mut session, &mut writer, opts, &in_flight) => r,
        why = stop_signal() => {
            let trial = in_flight.lock().ok().and_then(|t| t.clone());
            let what = match trial {
                Some(t) => format!("{why}: trial {t} was abandoned (its records are not kept; a resume runs it again)"),
                None => format!("{why} between trials"),
            };
            interrupted = Some(what.clone());
            Err(anyhow::anyhow!(what))
        }
    };
    session.stop();
    // On a full disk the manifest may not be writable either: the run's own
    // error, with the way to resume, is what must reach the user. (Setting
    // the servers can fail there, but `finish` writes them after making room.)
    let _ = writer.set_servers(&session.launches());
    let manifest = match (&outcome, &interrupted) {
        (Ok(()), _) => writer.finish(Status::Complete, None),
        (Err(_), Some(what)) => writer.finish(Status::Interrupted, Some(what.clone())),
        (Err(e), None) => writer.finish(Status::Failed, Some(format!("{e:#}"))),
    };
    let unsaved = |e: &anyhow::Error| format!(" (manifest.json could not be updated: {e:#})");
    if let Err(e) = outcome {
        let note = manifest.as_ref().err().map(unsaved).unwrap_or_default();
        // (A fault of the experiment is printed as itself, located, without
        // this: a resume would fail the same way.)
        return Err(e.context(format!(
            "run folder {} keeps the finished trials{note}; `infer-bench run {} --resume {}` finishes it",
            dir.display(),
            l.path.display(),
            dir.display()
        )));
    }
    manifest.with_context(|| format!("run folder {}", dir.display()))?;
    Ok(dir)
}

async fn run_trials(
    l: &LoadedExperiment,
    plan: &Plan,
    done: &std::collections::BTreeSet<usize>,
    session: &mut Session,
    writer: &mut RunWriter,
    opts: &RunOptions,
    in_flight: &InFlight,
) -> anyhow::Result<()> {
    let e = &l.experiment;
    let mut target_url = String::new();
    let per_trial = e.trial.requests.map(|n| n as usize);
    let mut progress = progress::Progress::new(opts.progress, plan.trials.len(), per_trial);
    let mut deaths = 0;
    let per_block = plan.configurations.len();
    for trial in plan.trials.iter().filter(|t| !done.contains(&t.index)) {
        // Adaptive repetitions: before each new block, are the blocks so far enough?
        if let Some(a) = e.repetitions.adaptive() {
            if trial.index % per_block == 0 {
                if let Some(stop) = adaptive::check(&writer.dir, a, trial.repetition)? {
                    progress.note(&format!("          stopping: {}", stop.reason));
                    writer.stop_repetitions(stop, per_block)?;
                    return Ok(());
                }
            }
        }
        let config = plan.config_of(trial);
        if let Ok(mut f) = in_flight.lock() {
            *f = Some(format!(
                "{} ({} rep {})",
                trial.index,
                config.label,
                trial.repetition + 1
            ));
        }
        let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        progress.trial_started(
            format!("{} rep {}", config.label, trial.repetition + 1),
            finished.clone(),
        );
        let conn = session
            .connect(l, config)
            .await
            .with_context(|| format!("trial {} ({})", trial.index, config.label))?;
        if conn.base_url != target_url {
            target_url.clone_from(&conn.base_url);
            writer.set_target_url(&target_url)?;
        }
        if conn.restarted {
            writer.set_servers(&session.launches())?;
            // Sockets kept from the server before are dead.
            conn.client.reset_connections();
        }
        let targets = session.monitor_targets(&conn.base_url);
        let ran = trial::run_one_trial(l, trial, config, &conn, targets, writer, finished).await?;
        let (tally, rate) = (ran.tally, ran.rate);
        if let Ok(mut f) = in_flight.lock() {
            *f = None;
        }
        let mut line = progress_line(plan, trial, &config.label, &tally, conn.restarted);
        if let Some(rate) = rate {
            line.push_str(&schedule_note(&tally, rate));
        }
        progress.trial_done(&line);
        if let Some(max) = e.trial.max_error_rate {
            let failed = tally.failed();
            let rate = failed as f64 / (tally.records - tally.cancelled).max(1) as f64;
            if rate > max {
                let first = tally.first_error.clone().unwrap_or_default();
                anyhow::bail!(
                    "trial {} ({}): {failed} of {} requests failed ({:.0}% > max_error_rate {:.0}%), first: {first}",
                    trial.index,
                    config.label,
                    tally.records,
                    rate * 100.0,
                    max * 100.0
                );
            }
        }
        // A launched server that died during the trial: the trial is marked
        // failed (its records, failures included, stay), the next trial
        // relaunches the server. Three deaths in a row end the run.
        match session.check_alive() {
            Ok(()) => deaths = 0,
            Err(why) => {
                deaths += 1;
                let reason = format!("{why:#}");
                writer.trial_failed(crate::results::FailedTrial {
                    trial: trial.index,
                    config: config.label.clone(),
                    reason: reason.clone(),
                })?;
                writer.set_servers(&session.launches())?;
                let first = reason.lines().next().unwrap_or_default();
                progress.note(&format!(
                    "          trial {} ({}) failed: {first}; the server is relaunched for the next trial",
                    trial.index, config.label
                ));
                if deaths >= MAX_DEATHS_IN_A_ROW {
                    anyhow::bail!(
                        "the server died in {deaths} trials in a row, last in trial {} ({}): {reason}",
                        trial.index,
                        config.label
                    );
                }
            }
        }
    }
    // Every block ran: say whether the last one reached the precision.
    if let Some(a) = e.repetitions.adaptive() {
        let blocks = e.repetitions.blocks();
        if let Some(stop) = adaptive::check(&writer.dir, a, blocks)? {
            progress.note(&format!("          {}", stop.reason));
            writer.stop_repetitions(stop, per_block)?;
        }
    }
    Ok(())
}

fn progress_line(
    plan: &Plan,
    trial: &plan::Trial,
    label: &str,
    tally: &Tally,
    restarted: bool,
) -> String {
    let failed = tally.failed();
    let mut notes = String::new();
    for (n, what) in [
        (tally.retried, "retried on a new connection"),
        (tally.cancelled, "cancelled at the trial's end"),
        (tally.warned, "with implausible counts"),
    ] {
        if n > 0 {
            notes.push_str(&format!(", {n} {what}"));
        }
    }
    format!(
        "[{:>3}/{}] {label} rep {}{}: {}/{} ok{notes}, TTFT p50 {} ms{}",
        trial.index + 1,
        plan.trials.len(),
        trial.repetition + 1,
        if restarted { " (server started)" } else { "" },
        tally.ok,
        tally.records,
        crate::report::format_num(tally.ttft_ms.quantile(0.5)),
        if failed > 0 {
            format!(
                " — {failed} failed: {}",
                tally.first_error.as_deref().unwrap_or("")
            )
        } else {
            String::new()
        },
    )
}

/// How well the client kept an open loop's schedule: the rate it achieved
/// against the rate of the drawn schedule itself (a short Poisson schedule
/// strays from the nominal rate), and its own send lag, with a warning where
/// it fell behind.
fn schedule_note(tally: &Tally, rate: f64) -> String {
    let achieved = tally.sent_rate();
    let drawn = tally.scheduled_rate();
    let p99 = tally.send_lag_ms.quantile(0.99);
    let mut note = format!(
        ", sent {}/s (schedule {}/s, rate {rate}), send lag p99 {} ms",
        crate::report::format_num(achieved),
        crate::report::format_num(drawn),
        crate::report::format_num(p99)
    );
    if tally.waited > 0 {
        note.push_str(&format!(", {} waited for max_in_flight", tally.waited));
    }
    let behind = matches!((achieved, drawn), (Some(a), Some(d)) if a < 0.9 * d);
    if p99.is_some_and(|p| p > 5.0) || behind {
        note.push_str(" — warning: the client could not keep the schedule");
    }
    note
}
