//! A capacity run's searches rebuilt from its folder: each configuration's
//! probes (the trials of the probe configurations the runner planned, in the
//! order they ran), every trial judged as the runner judged it, and the
//! search stepped through them again. The runner feeds its live searches
//! from [`trial_margins`]; `report`, `merge`, `compare` and `reproduce`
//! rebuild finished ones with [`replay`], so a capacity is computed in one
//! place however it is read.

use crate::capacity::{self, measure, Next, Objective, Outcome, Search};
use crate::experiment::{CapacitySpec, Design, Experiment};
use crate::plan::{configurations, Configuration, BASELINE};
use crate::results::RunData;

/// One configuration's search as the run recorded it.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The configuration searched, as trials.parquet's `config` names it
    /// without the load (`baseline`, `slots=2`, ...).
    pub configuration: String,
    pub objectives: Vec<Objective>,
    /// Its probes in the order they ran: the load, and each trial's
    /// execution index with its margin on every objective.
    pub probes: Vec<ProbeTrials>,
    pub search: Search,
    /// The finished search; `None` where the run stopped before it ended,
    /// or before its first probe.
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeTrials {
    pub load: f64,
    /// The probe configuration's label (`baseline, rate=12`).
    pub label: String,
    pub trials: Vec<(usize, Vec<f64>)>,
}

/// The run's searches, one per configuration of its experiment, with each
/// non-baseline outcome's difference from the baseline's; empty for a run
/// whose experiment is not `design: capacity`.
pub fn replay(run: &RunData, e: &Experiment) -> anyhow::Result<Vec<Replayed>> {
    if !is_search(e) {
        return Ok(Vec::new());
    }
    replay_on(run, e, &super::trial_table(run)?)
}

fn is_search(e: &Experiment) -> bool {
    e.design == Design::Capacity && e.capacity.is_some()
}

/// [`replay`] from the run's trial table already computed (the report
/// has it: the journal is not read through twice), judged against `e`'s
/// SLOs.
pub fn replay_on(
    run: &RunData,
    e: &Experiment,
    table: &polars::prelude::DataFrame,
) -> anyhow::Result<Vec<Replayed>> {
    let (Design::Capacity, Some(spec)) = (&e.design, &e.capacity) else {
        return Ok(Vec::new());
    };
    let open = e.load.kind().is_open();
    let objectives = capacity::objectives(&e.slo, open);
    // Trials planned but not run (a run stopped mid-probe) are left out,
    // not failed.
    let measured: Vec<usize> = run
        .trials
        .iter()
        .map(|t| t.index)
        .filter(|i| run.done.as_ref().is_none_or(|d| d.contains(i)))
        .collect();
    let margins = margins_on(run, e, table, &measured)?;
    let mut out: Vec<Replayed> = configurations(e)
        .iter()
        .map(|base| replay_one(run, e, spec, base, &objectives, &margins))
        .collect();
    let mut finished: Vec<Outcome> = out.iter().filter_map(|r| r.outcome.clone()).collect();
    capacity::against_baseline(&mut finished, BASELINE);
    for r in &mut out {
        r.outcome = finished
            .iter()
            .find(|o| o.configuration == r.configuration)
            .cloned();
    }
    Ok(out)
}

/// One configuration's probes and its search fed them in the order they ran.
fn replay_one(
    run: &RunData,
    e: &Experiment,
    spec: &CapacitySpec,
    base: &Configuration,
    objectives: &[Objective],
    margins: &[(usize, Vec<f64>)],
) -> Replayed {
    let name = spec.factor.name();
    // Keyed by the probe's own configuration, not its label: a search may
    // probe one load twice, as two probes.
    let mut probes: Vec<(usize, ProbeTrials, bool)> = Vec::new();
    for t in &run.trials {
        let Some(c) = run.configurations.get(t.config) else {
            continue;
        };
        let mut values = c.values.clone();
        let Some(load) = values.shift_remove(name).and_then(|l| l.as_f64()) else {
            continue;
        };
        if values != base.values {
            continue;
        }
        let m = margins.iter().find(|(i, _)| *i == t.index);
        let at = match probes.iter().position(|p| p.0 == t.config) {
            Some(at) => at,
            None => {
                let trials = Vec::new();
                let label = c.label.clone();
                probes.push((
                    t.config,
                    ProbeTrials {
                        load,
                        label,
                        trials,
                    },
                    true,
                ));
                probes.len() - 1
            }
        };
        match m {
            Some((_, m)) => probes[at].1.trials.push((t.index, m.clone())),
            None => probes[at].2 = false,
        }
    }
    // The search goes as far as its last whole probe: one cut short by a
    // stop is measured again on resume, and is not an answer yet.
    let whole = probes.iter().position(|p| !p.2).unwrap_or(probes.len());
    let probes: Vec<ProbeTrials> = probes.into_iter().take(whole).map(|p| p.1).collect();
    // Seeded per configuration as the runner seeds it, so the replayed
    // bootstrap is the one the run reported.
    let seed = e.seed.wrapping_add(base.index as u64);
    let mut search = Search::new(spec.clone(), objectives.to_vec(), seed);
    for p in &probes {
        search.add(p.load, p.trials.iter().map(|(_, m)| m.clone()).collect());
    }
    let outcome = match search.next() {
        Next::Stop(_) => search.outcome(&base.label),
        Next::Probe(_) => None,
    };
    Replayed {
        configuration: base.label.clone(),
        objectives: objectives.to_vec(),
        probes,
        search,
        outcome,
    }
}

/// Each of `trials` (execution indices) with its margin on every objective
/// of `e`'s SLOs: its row of the trial table judged alone and, for an open
/// loop, the queue's growth in its records. A trial missing from the table
/// measured nothing, and every objective fails it, as the verdict does.
pub fn trial_margins(
    run: &RunData,
    e: &Experiment,
    trials: &[usize],
) -> anyhow::Result<Vec<(usize, Vec<f64>)>> {
    margins_on(run, e, &super::trial_table(run)?, trials)
}

/// [`trial_margins`] from the run's trial table.
fn margins_on(
    run: &RunData,
    e: &Experiment,
    table: &polars::prelude::DataFrame,
    trials: &[usize],
) -> anyhow::Result<Vec<(usize, Vec<f64>)>> {
    let open = e.load.kind().is_open();
    let objectives = capacity::objectives(&e.slo, open);
    let measured = measure::measures(table, &e.slo)?;
    let journal = run.journal()?;
    trials
        .iter()
        .map(|&t| {
            let mut m = measured
                .iter()
                .find(|(i, _)| *i == t as u64)
                .map(|(_, m)| m.clone())
                .unwrap_or_default();
            if let (true, Some(j)) = (open, &journal) {
                let mut records = Vec::new();
                j.for_each_chunk(t, 1 << 12, |mut chunk| {
                    records.append(&mut chunk);
                    Ok(())
                })?;
                m.queue_growth = measure::growth_of(&records);
            }
            Ok((t, capacity::margins(&m, &objectives)))
        })
        .collect()
}

/// Write `capacity.csv` into run folder `dir`: one row per finished search
/// (the runner's, and a merged run's replayed over every shard).
pub fn write_capacities(dir: &std::path::Path, outcomes: &[Outcome]) -> anyhow::Result<()> {
    let mut frame = capacity::outcome::frame(outcomes)?;
    crate::results::write_csv(&mut frame, &dir.join(crate::results::CAPACITY))
}
