//! The runner: plan → (target, prompts, load, monitor) trial by trial → run
//! folder → analysis and reports.

mod adaptive;
mod compose;
mod limits;
mod prepare;
mod progress;
mod search;
mod session;
mod trial;
mod trials;

pub use limits::raise_open_files;
pub use prepare::DEFAULT_MAX_TOKENS;

use crate::experiment::{validate, LoadedExperiment};
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

/// What a signal handler needs to say what it interrupted.
type InFlight = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// Ctrl-C or SIGTERM (what `kill`, systemd and Slurm send first), as the
/// words an interruption is reported with. The handlers are installed when
/// this is called, not when the future is first polled: from then on a
/// signal is a stop, never the default death.
pub fn stop_signal() -> impl std::future::Future<Output = &'static str> + Send + 'static {
    #[cfg(unix)]
    let streams = {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::interrupt()).and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
    };
    async move {
        #[cfg(unix)]
        if let Ok((mut int, mut term)) = streams {
            return tokio::select! {
                _ = int.recv() => "interrupted (Ctrl-C)",
                _ = term.recv() => "interrupted (SIGTERM)",
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        "interrupted (Ctrl-C)"
    }
}

/// The stop signal, awaited by a task of its own on a runtime worker. The
/// thread running the trials may be busy for minutes without awaiting
/// anything (a trial of millions of prompts to render); the worker still
/// hears the signal, and the preparation's yields let [`run`]'s select act
/// on it.
fn watch_for_stop() -> (
    tokio::task::JoinHandle<()>,
    impl std::future::Future<Output = &'static str>,
) {
    let (tx, mut rx) = tokio::sync::watch::channel(None);
    let signal = stop_signal();
    let task = tokio::spawn(async move {
        let _ = tx.send(Some(signal.await));
    });
    let stopped = async move {
        match rx.wait_for(Option::is_some).await.map(|w| *w) {
            Ok(Some(why)) => why,
            // The watcher is gone only when the run is over.
            _ => std::future::pending().await,
        }
    };
    (task, stopped)
}

/// Run the experiment; returns the run folder. Records of finished trials
/// are on disk whatever happens after; launched servers are stopped on every
/// way out (end, error, Ctrl-C, SIGTERM). A trial in flight when a signal
/// comes is abandoned: its records are not written, and a resume runs it again.
pub async fn run(l: &LoadedExperiment, opts: &RunOptions) -> anyhow::Result<PathBuf> {
    let capacity = l.experiment.capacity.as_ref();
    let capacity = capacity.filter(|_| l.experiment.design == crate::experiment::Design::Capacity);
    if let (Some(_), Some(shard)) = (capacity, opts.shard) {
        let count = plan::configurations(&l.experiment).len();
        shard
            .searches(count)
            .map_err(|m| crate::error::InputError::in_file(&l.path, m))?;
    }
    // Before any work: a signal from here on is a stop, never the default death.
    let (watcher, stopped) = watch_for_stop();
    let plan = starting_plan(l, capacity.is_some(), opts)?;
    // Sockets for the most requests in flight at once, checked before any
    // run folder exists.
    if let Some((soft, hard)) = limits::raise_open_files() {
        validate::open_files(l, soft, hard)?;
    }
    let (mut writer, done) = open_folder(l, opts, &plan)?;
    let dir = writer.dir.clone();
    let gpu = gpu(&mut writer)?;
    let mut session = Session::start(l, &dir, gpu)?;
    let in_flight: InFlight = Default::default();
    let mut interrupted = None;
    let work = async {
        match capacity {
            Some(spec) => {
                let searches = search::Searches {
                    l,
                    session: &mut session,
                    writer: &mut writer,
                    in_flight: &in_flight,
                };
                searches.run(spec, &plan, &done, opts).await
            }
            None => {
                let trials = trials::Trials {
                    l,
                    plan: &plan,
                    session: &mut session,
                    writer: &mut writer,
                    in_flight: &in_flight,
                };
                trials.run(&done, opts).await
            }
        }
    };
    // The stop branch first, so a preparation that yields after a signal
    // is stopped at its next yield.
    let outcome = tokio::select! {
        biased;
        why = stopped => {
            let trial = in_flight.lock().ok().and_then(|t| t.clone());
            let what = match trial {
                Some(t) => format!("{why}: trial {t} was abandoned (its records are not kept; a resume runs it again)"),
                None => format!("{why} between trials"),
            };
            interrupted = Some(what.clone());
            Err(anyhow::anyhow!(what))
        }
        r = work => r,
    };
    watcher.abort();
    session.stop();
    finish(l, &mut writer, &session, outcome, interrupted)?;
    Ok(dir)
}

/// The plan a run starts from. A capacity search's trials join it as the
/// search decides them; a resumed one starts from the trials it recorded,
/// which the search asks for again as it is re-fed their probes.
fn starting_plan(l: &LoadedExperiment, search: bool, opts: &RunOptions) -> anyhow::Result<Plan> {
    Ok(match (search, &opts.resume) {
        (true, Some(dir)) => search::recorded_plan(l, dir)?,
        (true, None) => Plan {
            seed: l.experiment.seed,
            configurations: Vec::new(),
            trials: Vec::new(),
        },
        (false, _) => plan::expand(&l.experiment),
    })
}

/// The GPUs NVML sees, described in the manifest, or why there are none.
fn gpu(writer: &mut RunWriter) -> anyhow::Result<Option<Arc<Gpu>>> {
    Ok(match Gpu::init() {
        Ok(g) => {
            writer.set_gpu(g.describe())?;
            Some(Arc::new(g))
        }
        Err(why) => {
            writer.set_gpu(why)?;
            None
        }
    })
}

/// A new run folder, or the one resumed, and the trials it need not run:
/// those done, and a shard's the other shards'.
fn open_folder(
    l: &LoadedExperiment,
    opts: &RunOptions,
    plan: &Plan,
) -> anyhow::Result<(RunWriter, std::collections::BTreeSet<usize>)> {
    // A capacity shard's plan holds its own searches' trials alone.
    let searched = l.experiment.design == crate::experiment::Design::Capacity;
    let shard_of = |shard: plan::Shard| -> anyhow::Result<Vec<usize>> {
        if searched {
            return Ok(plan.trials.iter().map(|t| t.index).collect());
        }
        Ok(shard
            .trials(plan)
            .map_err(|m| crate::error::InputError::in_file(&l.path, m))?)
    };
    // Checked before the run folder exists.
    if opts.shard.is_some() {
        validate::sharded_run(l)?;
    }
    let asked = match opts.shard {
        Some(s) => Some((s, shard_of(s)?)),
        None => None,
    };
    let (mut writer, mut done) = match &opts.resume {
        Some(dir) => RunWriter::resume(dir, l, plan)
            .with_context(|| format!("resuming run folder {}", dir.display()))?,
        None => (
            RunWriter::create(&opts.out, l, plan, opts.overrides)?,
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
        let others = plan.trials.iter().map(|t| t.index);
        done.extend(others.filter(|i| !mine.contains(i)));
    }
    Ok((writer, done))
}

/// The manifest's last word on the run: complete, interrupted or failed,
/// and for the last two the way to resume.
fn finish(
    l: &LoadedExperiment,
    writer: &mut RunWriter,
    session: &Session,
    outcome: anyhow::Result<()>,
    interrupted: Option<String>,
) -> anyhow::Result<()> {
    let dir = writer.dir.clone();
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
        let next = format!(
            "`infer-bench run {} --resume {}` finishes it",
            l.path.display(),
            dir.display()
        );
        return Err(e.context(format!(
            "run folder {} keeps the finished trials{note}; {next}",
            dir.display()
        )));
    }
    manifest.with_context(|| format!("run folder {}", dir.display()))?;
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
