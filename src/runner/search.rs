//! `design: capacity`: each configuration's search driven probe by probe.
//! A probe's trials are decided only once the probes before it are
//! measured, so the plan grows as the run goes: each probe's trials go to
//! `plan.jsonl` (and the manifest's count) before they run, and run through
//! the same trial loop as any other plan's.

use super::progress::Progress;
use super::session::Session;
use super::trials::{State, Trials};
use super::{InFlight, RunOptions};
use crate::capacity::{self, Next, Outcome, Search};
use crate::experiment::{CapacityFactor, CapacitySpec, LoadedExperiment};
use crate::level::Level;
use crate::plan::{Configuration, Plan, Trial, BASELINE};
use crate::results::{PlanLine, RunWriter};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

/// Significant digits a probed rate is rounded to: the load run, its
/// label and what the search is fed are then the same number.
const RATE_DIGITS: i32 = 4;

/// What every configuration's search shares.
pub(super) struct Searches<'a> {
    pub(super) l: &'a LoadedExperiment,
    pub(super) session: &'a mut Session,
    pub(super) writer: &'a mut RunWriter,
    pub(super) in_flight: &'a InFlight,
}

impl Searches<'_> {
    /// Each configuration's search to its end, then `capacity.csv` and one
    /// line per configuration on stdout.
    /// `recorded`: the trials of a resumed run, re-fed to the searches in
    /// the order they ran (those in `done` are not run again).
    pub(super) async fn run(
        mut self,
        spec: &CapacitySpec,
        recorded: &Plan,
        done: &BTreeSet<usize>,
        opts: &RunOptions,
    ) -> anyhow::Result<()> {
        let e = &self.l.experiment;
        let base = shard_searches(crate::plan::configurations(e), self.writer.shard())?;
        let per_trial = e.trial.requests.map(|n| n as usize);
        let most = base.len() * spec.max_trials() as usize;
        let mut progress = Progress::new(opts.progress, most, per_trial);
        let mut plan = Plan {
            seed: e.seed,
            configurations: Vec::new(),
            trials: Vec::new(),
        };
        self.writer.set_trials_planned(recorded.trials.len())?;
        let mut state = State::default();
        let mut outcomes = Vec::new();
        for config in &base {
            let outcome = self
                .search(
                    spec,
                    config,
                    &mut plan,
                    (recorded, done),
                    &mut progress,
                    &mut state,
                )
                .await?;
            progress.note(&format!("          {}", outcome.line()));
            outcomes.push(outcome);
        }
        if recorded.trials.len() > plan.trials.len() {
            anyhow::bail!(
                "the run folder holds {} planned trials, but its searches asked for {}: the run is not this experiment's search, expected a run folder of it",
                recorded.trials.len(),
                plan.trials.len()
            );
        }
        capacity::against_baseline(&mut outcomes, BASELINE);
        crate::report::searches::write_capacities(&self.writer.dir, &outcomes)?;
        // The run's answer, said before the report: a closed stdout must
        // not fail a run whose trials are all recorded.
        let mut out = std::io::stdout().lock();
        for o in &outcomes {
            let _ = writeln!(out, "{}", o.line());
        }
        Ok(())
    }

    /// One configuration's search: probe after probe until it stops.
    async fn search(
        &mut self,
        spec: &CapacitySpec,
        config: &Configuration,
        plan: &mut Plan,
        (recorded, done): (&Plan, &BTreeSet<usize>),
        progress: &mut Progress,
        state: &mut State,
    ) -> anyhow::Result<Outcome> {
        let e = &self.l.experiment;
        let open = e.load.kind().is_open();
        let objectives = capacity::objectives(&e.slo, open);
        // Seeded per configuration, so each search's bootstrap repeats.
        let seed = e.seed.wrapping_add(config.index as u64);
        let mut search = Search::new(spec.clone(), objectives, seed);
        while let Next::Probe(x) = search.next() {
            let (load, trials) = plan_probe(plan, spec, config, x);
            let lines: Vec<PlanLine> = trials
                .iter()
                .map(|t| PlanLine {
                    trial: t.clone(),
                    configuration: plan.config_of(t).clone(),
                    shard: None,
                })
                .collect();
            let new = unrecorded(recorded, lines)?;
            if !new.is_empty() {
                self.writer.extend_plan(&new)?;
            }
            for trial in trials.iter().filter(|t| !done.contains(&t.index)) {
                let mut run = Trials {
                    l: self.l,
                    plan: &*plan,
                    session: &mut *self.session,
                    writer: &mut *self.writer,
                    in_flight: self.in_flight,
                };
                run.one(trial, progress, state).await?;
            }
            let margins = margins(self.l, &self.writer.dir, &trials)?;
            search.add(load, margins);
        }
        search.outcome(&config.label).ok_or_else(|| {
            anyhow::anyhow!(
                "the capacity search of {} ended without a probe (a bug in infer-bench: please report it)",
                config.label
            )
        })
    }
}

/// The configurations this run searches: all of them, or a shard's
/// (configuration c on shard c mod N, each searched whole by one node).
fn shard_searches(
    all: Vec<Configuration>,
    shard: Option<crate::plan::Shard>,
) -> anyhow::Result<Vec<Configuration>> {
    let Some(shard) = shard else {
        return Ok(all);
    };
    let mine = shard.searches(all.len()).map_err(anyhow::Error::msg)?;
    Ok(all
        .into_iter()
        .filter(|c| mine.contains(&c.index))
        .collect())
}

/// The trials a resumed run recorded: its plan as `plan.jsonl` holds it.
pub(super) fn recorded_plan(l: &LoadedExperiment, dir: &Path) -> anyhow::Result<Plan> {
    let run = crate::results::open_run(dir)?;
    Ok(Plan {
        seed: l.experiment.seed,
        configurations: run.configurations,
        trials: run.trials,
    })
}

/// The probe's trials a resumed run has not recorded yet (all of them in
/// a run not resumed): what `plan.jsonl` still needs. A recorded trial
/// other than the one the re-fed search asks for is a different search.
fn unrecorded(recorded: &Plan, lines: Vec<PlanLine>) -> anyhow::Result<Vec<PlanLine>> {
    let (known, new): (Vec<PlanLine>, Vec<PlanLine>) = lines
        .into_iter()
        .partition(|l| l.trial.index < recorded.trials.len());
    for line in &known {
        let t = &line.trial;
        let same = recorded.trials.get(t.index) == Some(t)
            && recorded.configurations.get(t.config) == Some(&line.configuration);
        if !same {
            anyhow::bail!(
                "trial {} of the run folder is not the one its search asks for again ({}): the run is not this experiment's search, expected a run folder of it",
                t.index,
                line.configuration.label
            );
        }
    }
    Ok(new)
}

/// A probe at `x` as a configuration of its own (the searched factor set
/// to the load) and `trials_per_probe` trials of it, added to `plan`.
/// Each trial draws its own arrivals and lengths (`Trial::draws_in`): the
/// interval takes a probe's trials, and different probes' trials, as
/// independent.
fn plan_probe(
    plan: &mut Plan,
    spec: &CapacitySpec,
    config: &Configuration,
    x: f64,
) -> (f64, Vec<Trial>) {
    let (load, level) = load_level(spec, x);
    let name = spec.factor.name();
    let mut values = config.values.clone();
    values.insert(name.to_string(), level.clone());
    let mut factors = config.factors.clone();
    factors.push(name.to_string());
    let level = match &config.level {
        Some(l) => Level::Str(format!("{l},{level}")),
        None => level,
    };
    let probe = Configuration {
        index: plan.configurations.len(),
        label: format!("{}, {name}={}", config.label, values[name]),
        factors,
        level: Some(level),
        values,
    };
    let trials: Vec<Trial> = (0..spec.trials_per_probe)
        .map(|repetition| Trial {
            index: plan.trials.len() + repetition as usize,
            config: probe.index,
            repetition,
        })
        .collect();
    plan.configurations.push(probe);
    plan.trials.extend(trials.iter().cloned());
    (load, trials)
}

/// The load a probe runs, as a number and as the factor's level: a rate
/// to [`RATE_DIGITS`] significant digits, a concurrency whole.
fn load_level(spec: &CapacitySpec, x: f64) -> (f64, Level) {
    match spec.factor {
        CapacityFactor::Concurrency => {
            let n = x.round().clamp(spec.min, spec.max);
            (n, Level::Int(n as i64))
        }
        CapacityFactor::Rate => {
            let scale = 10f64.powi(RATE_DIGITS - 1 - x.log10().floor() as i32);
            let r = ((x * scale).round() / scale).clamp(spec.min, spec.max);
            (r, Level::Float(r))
        }
    }
}

/// Each trial's margin on every objective, judged as a report judges it.
fn margins(l: &LoadedExperiment, dir: &Path, trials: &[Trial]) -> anyhow::Result<Vec<Vec<f64>>> {
    let run = crate::results::open_run(dir)?;
    let indices: Vec<usize> = trials.iter().map(|t| t.index).collect();
    let margins = crate::report::searches::trial_margins(&run, &l.experiment, &indices)?;
    Ok(margins.into_iter().map(|(_, m)| m).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_is_a_configuration_of_its_own_with_the_load_in_its_label() {
        let spec: CapacitySpec =
            serde_json::from_str(r#"{"factor":"rate","min":1,"max":64}"#).unwrap();
        let base = Configuration {
            index: 1,
            label: "output_tokens=32".into(),
            factors: vec!["output_tokens".into()],
            level: Some(Level::Int(32)),
            values: [("output_tokens".to_string(), Level::Int(32))]
                .into_iter()
                .collect(),
        };
        let mut plan = Plan {
            seed: 1,
            configurations: Vec::new(),
            trials: Vec::new(),
        };
        let (load, trials) = plan_probe(&mut plan, &spec, &base, 14.285714);
        assert_eq!(load, 14.29);
        assert_eq!(trials.len(), 2);
        let c = &plan.configurations[0];
        assert_eq!(c.label, "output_tokens=32, rate=14.29");
        assert_eq!(c.factors, ["output_tokens", "rate"]);
        let (_, more) = plan_probe(&mut plan, &spec, &base, 70.0);
        assert_eq!(
            (more[0].index, more[0].config, more[1].repetition),
            (2, 1, 1)
        );
        assert_eq!(plan.configurations[1].values["rate"], Level::Float(64.0));
    }
}
