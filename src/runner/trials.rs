//! The plan's trials one after another: the server connected (launched or
//! relaunched where it must be), the trial run, its progress line, and the
//! run's own rules between trials (adaptive repetitions, `max_error_rate`,
//! a server that keeps dying).

use super::session::Session;
use super::{adaptive, progress, progress_line, schedule_note, trial, InFlight, RunOptions};
use crate::experiment::LoadedExperiment;
use crate::plan::{Configuration, Plan, Trial};
use crate::results::{RunWriter, Tally};
use anyhow::Context as _;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A server that dies this many trials running is not coming back.
const MAX_DEATHS_IN_A_ROW: usize = 3;

/// What the trials of one run share.
pub(super) struct Trials<'a> {
    pub(super) l: &'a LoadedExperiment,
    pub(super) plan: &'a Plan,
    pub(super) session: &'a mut Session,
    pub(super) writer: &'a mut RunWriter,
    pub(super) in_flight: &'a InFlight,
}

impl Trials<'_> {
    /// Every trial not in `done`, in plan order, then the adaptive
    /// repetitions' last word.
    pub(super) async fn run(
        mut self,
        done: &BTreeSet<usize>,
        opts: &RunOptions,
    ) -> anyhow::Result<()> {
        let per_trial = self.l.experiment.trial.requests.map(|n| n as usize);
        let mut progress =
            progress::Progress::new(opts.progress, self.plan.trials.len(), per_trial);
        let mut state = State::default();
        for trial in self.plan.trials.iter().filter(|t| !done.contains(&t.index)) {
            if self.adaptive_stop(trial, &mut progress)? {
                return Ok(());
            }
            self.one(trial, &mut progress, &mut state).await?;
        }
        // Every block ran: say whether the last one reached the precision.
        if let Some(a) = self.l.experiment.repetitions.adaptive() {
            let blocks = self.l.experiment.repetitions.blocks();
            if let Some(stop) = adaptive::check(&self.writer.dir, a, blocks)? {
                progress.note(&format!("          {}", stop.reason));
                self.writer
                    .stop_repetitions(stop, self.plan.configurations.len())?;
            }
        }
        Ok(())
    }

    /// Adaptive repetitions: before each new block, are the blocks so far enough?
    fn adaptive_stop(
        &mut self,
        trial: &Trial,
        progress: &mut progress::Progress,
    ) -> anyhow::Result<bool> {
        let per_block = self.plan.configurations.len();
        let Some(a) = self.l.experiment.repetitions.adaptive() else {
            return Ok(false);
        };
        if trial.index % per_block != 0 {
            return Ok(false);
        }
        let Some(stop) = adaptive::check(&self.writer.dir, a, trial.repetition)? else {
            return Ok(false);
        };
        progress.note(&format!("          stopping: {}", stop.reason));
        self.writer.stop_repetitions(stop, per_block)?;
        Ok(true)
    }

    pub(super) async fn one(
        &mut self,
        trial: &Trial,
        progress: &mut progress::Progress,
        state: &mut State,
    ) -> anyhow::Result<()> {
        let config = self.plan.config_of(trial);
        let label = format!("{} rep {}", config.label, trial.repetition + 1);
        self.mark_in_flight(Some(format!("{} ({label})", trial.index)));
        let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        progress.trial_started(label, finished.clone());
        let conn = self
            .session
            .connect(self.l, config)
            .await
            .with_context(|| format!("trial {} ({})", trial.index, config.label))?;
        if conn.base_url != state.target_url {
            state.target_url.clone_from(&conn.base_url);
            self.writer
                .set_target_url(&crate::redact::url(&state.target_url))?;
        }
        if conn.restarted {
            self.writer.set_servers(&self.session.launches())?;
            // Sockets kept from the server before are dead.
            conn.client.reset_connections();
        }
        let targets = self.session.monitor_targets(&conn.base_url);
        let ran =
            trial::run_one_trial(self.l, trial, config, &conn, targets, self.writer, finished)
                .await?;
        self.mark_in_flight(None);
        let mut line = progress_line(self.plan, trial, &config.label, &ran.tally, conn.restarted);
        if let Some(rate) = ran.rate {
            line.push_str(&schedule_note(&ran.tally, rate));
        }
        let max_other = self.l.experiment.stats.max_other_cpu_share;
        line.push_str(&progress::host_note(ran.host.as_ref(), max_other));
        progress.trial_done(&line);
        self.check_error_rate(trial, config, &ran.tally)?;
        self.check_alive(trial, config, progress, state)
    }

    /// What a signal handler says it interrupted.
    fn mark_in_flight(&self, what: Option<String>) {
        if let Ok(mut f) = self.in_flight.lock() {
            *f = what;
        }
    }

    /// `trial.max_error_rate`: a trial over it ends the run.
    fn check_error_rate(
        &self,
        trial: &Trial,
        config: &Configuration,
        tally: &Tally,
    ) -> anyhow::Result<()> {
        let Some(max) = self.l.experiment.trial.max_error_rate else {
            return Ok(());
        };
        let failed = tally.failed();
        let ended = tally.records - tally.cancelled;
        let rate = failed as f64 / ended.max(1) as f64;
        if rate > max {
            let first = tally.first_error.clone().unwrap_or_default();
            // Cut-off and unsent requests are out of the rate: say so where
            // there are any (a trial the rate stopped early has its rest so).
            let cancelled = match tally.cancelled {
                0 => String::new(),
                n => format!(" ({n} more cancelled, not sent or cut off)"),
            };
            anyhow::bail!(
                "trial {} ({}): {failed} of {ended} requests failed{cancelled} ({:.0}% > max_error_rate {:.0}%), first: {first}",
                trial.index,
                config.label,
                rate * 100.0,
                max * 100.0
            );
        }
        Ok(())
    }

    /// A launched server that died during the trial: the trial is marked
    /// failed (its records, failures included, stay), the next trial
    /// relaunches the server. Three deaths in a row end the run.
    fn check_alive(
        &mut self,
        trial: &Trial,
        config: &Configuration,
        progress: &mut progress::Progress,
        state: &mut State,
    ) -> anyhow::Result<()> {
        let Err(why) = self.session.check_alive() else {
            state.deaths = 0;
            return Ok(());
        };
        state.deaths += 1;
        let reason = format!("{why:#}");
        self.writer.trial_failed(crate::results::FailedTrial {
            trial: trial.index,
            config: config.label.clone(),
            reason: reason.clone(),
        })?;
        self.writer.set_servers(&self.session.launches())?;
        let first = reason.lines().next().unwrap_or_default();
        progress.note(&format!(
            "          trial {} ({}) failed: {first}; the server is relaunched for the next trial",
            trial.index, config.label
        ));
        if state.deaths >= MAX_DEATHS_IN_A_ROW {
            anyhow::bail!(
                "the server died in {} trials in a row, last in trial {} ({}): {reason}",
                state.deaths,
                trial.index,
                config.label
            );
        }
        Ok(())
    }
}

/// What carries from one trial to the next.
#[derive(Default)]
pub(super) struct State {
    /// The target the manifest names, rewritten when it changes.
    target_url: String,
    /// Trials in a row whose launched server died.
    deaths: usize,
}
