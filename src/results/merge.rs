//! Joining the run folders of one experiment's shards into one run folder
//! that `report`, `compare` and `reproduce` treat like any other.

mod searches;
mod shards;

use super::journal::Journal;
use super::manifest::{now_rfc3339, Manifest, Status};
use super::run_dir::{
    new_run_id, DoneLine, DONE_LOG, EXPERIMENT_COPY, MANIFEST, MONITOR_LOG, PLAN, PROMPTS_COPY,
    REQUESTS_LOG,
};
use super::{open_run, RunData};
use crate::error::InputError;
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

fn refuse(dir: &Path, message: String) -> anyhow::Error {
    InputError::in_file(dir, message).into()
}

/// Merge the shards into `out` (or a new run folder beside them); returns it.
pub fn merge_runs(dirs: &[PathBuf], out: Option<&Path>) -> anyhow::Result<PathBuf> {
    let mut runs: Vec<RunData> = dirs
        .iter()
        .map(|d| open_run(d))
        .collect::<anyhow::Result<_>>()?;
    let searched = runs.first().is_some_and(searches::is_search);
    shards::check(&runs, searched)?;
    // A capacity search's shards each planned their own searches: their
    // plans are joined in shard order, trials renumbered on.
    if searched {
        runs.sort_by_key(|r| r.manifest.shard.map_or(0, |s| s.index));
    }
    let first = &runs[0];
    let (run_id, dir) = output_dir(first, out)?;
    for f in [EXPERIMENT_COPY, PROMPTS_COPY] {
        let bytes = std::fs::read(first.dir.join(f)).with_context(|| format!("copying {f}"))?;
        super::write_file(&dir.join(f), bytes)?;
    }
    let (trials, offsets) = if searched {
        let (lines, offsets) = searches::joined_plan(&runs);
        let text = lines
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        write_lines(&dir.join(PLAN), text)?;
        (lines.len(), offsets)
    } else {
        let bytes =
            std::fs::read(first.dir.join(PLAN)).with_context(|| format!("copying {PLAN}"))?;
        super::write_file(&dir.join(PLAN), bytes)?;
        (first.trials.len(), vec![0; runs.len()])
    };
    let per_trial = merge_requests(&runs, &offsets, &dir)?;
    merge_monitor(&runs, &offsets, &dir)?;
    write_done(&dir, trials, &per_trial)?;
    let recorded: usize = per_trial.values().sum();
    let m = merged_manifest(&runs, run_id, trials, recorded);
    let text = serde_json::to_string_pretty(&m)? + "\n";
    super::write_file(&dir.join(MANIFEST), text)?;
    Ok(dir)
}

/// The merged run's id and folder: `out`, which must not hold a run yet, or
/// a new run folder beside the first shard.
fn output_dir(first: &RunData, out: Option<&Path>) -> anyhow::Result<(String, PathBuf)> {
    match out {
        Some(d) => {
            if d.join(MANIFEST).exists() {
                return Err(refuse(
                    d,
                    "already holds a run, expected a new folder".into(),
                ));
            }
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            Ok((new_run_id(), d.to_path_buf()))
        }
        None => super::run_dir::new_run_dir(first.dir.parent().unwrap_or(Path::new("."))),
    }
}

fn write_lines(path: &Path, lines: Vec<String>) -> anyhow::Result<()> {
    super::write_with(path, |f| {
        for l in lines {
            f.write_all(l.as_bytes())?;
            f.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// Write every shard's records to the merged requests log in trial order,
/// each shard's trials moved on by its offset; returns how many records
/// each trial has.
fn merge_requests(
    runs: &[RunData],
    offsets: &[usize],
    dir: &Path,
) -> anyhow::Result<BTreeMap<usize, usize>> {
    // Records a trial at a time, in trial order: a merge of millions of
    // records holds a chunk of them, not the run.
    let journals: Vec<Journal> = runs
        .iter()
        .map(|r| {
            r.journal()?.ok_or_else(|| {
                refuse(
                    &r.dir,
                    "no requests.jsonl, expected a shard's run folder".into(),
                )
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut per_trial: BTreeMap<usize, usize> = Default::default();
    let mut order: Vec<(usize, usize, &Journal)> = journals
        .iter()
        .zip(offsets)
        .flat_map(|(j, &off)| j.trials().map(move |t| (t + off, t, j)))
        .collect();
    order.sort_by_key(|(t, _, _)| *t);
    super::write_with(&dir.join(REQUESTS_LOG), |log| {
        for (trial, own, journal) in order {
            journal.for_each_chunk(own, 1 << 14, |chunk| {
                *per_trial.entry(trial).or_default() += chunk.len();
                for r in chunk {
                    let r = crate::record::Record { trial, ..r };
                    super::write_record(&mut *log, &r)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(per_trial)
}

/// Every shard's monitor samples, ordered by trial and time, each shard's
/// trials moved on by its offset.
fn merge_monitor(runs: &[RunData], offsets: &[usize], dir: &Path) -> anyhow::Result<()> {
    let mut samples: Vec<crate::monitor::Sample> = runs
        .iter()
        .zip(offsets)
        .flat_map(|(r, &off)| {
            r.samples.iter().map(move |s| crate::monitor::Sample {
                trial: s.trial + off,
                ..s.clone()
            })
        })
        .collect();
    samples.sort_by(|a, b| {
        (a.trial, a.t_s)
            .partial_cmp(&(b.trial, b.t_s))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    write_lines(
        &dir.join(MONITOR_LOG),
        samples
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?,
    )
}

/// Every trial done, with the records the shards hold for it.
fn write_done(dir: &Path, trials: usize, per_trial: &BTreeMap<usize, usize>) -> anyhow::Result<()> {
    let done: Vec<String> = (0..trials)
        .map(|t| {
            serde_json::to_string(&DoneLine {
                trial: t,
                records: per_trial.get(&t).copied().unwrap_or(0),
            })
        })
        .collect::<Result<_, _>>()?;
    write_lines(&dir.join(DONE_LOG), done)
}

/// The first shard's manifest, complete, spanning every shard's time,
/// servers, restarts, failures and resumptions.
fn merged_manifest(runs: &[RunData], run_id: String, trials: usize, recorded: usize) -> Manifest {
    let mut m: Manifest = runs[0].manifest.clone();
    m.run_id = run_id;
    m.status = Status::Complete;
    m.error = None;
    m.shard = None;
    m.started_at = runs
        .iter()
        .map(|r| r.manifest.started_at.clone())
        .min()
        .unwrap_or_default();
    m.ended_at = Some(
        runs.iter()
            .filter_map(|r| r.manifest.ended_at.clone())
            .max()
            .unwrap_or_else(now_rfc3339),
    );
    m.trials_planned = trials;
    m.trials_done = trials;
    m.requests_recorded = recorded;
    m.servers = runs
        .iter()
        .flat_map(|r| r.manifest.servers.clone())
        .collect();
    m.server_restarts = runs.iter().map(|r| r.manifest.server_restarts).sum();
    m.failed_trials = runs
        .iter()
        .flat_map(|r| r.manifest.failed_trials.clone())
        .collect();
    m.resumed_at = runs
        .iter()
        .flat_map(|r| r.manifest.resumed_at.clone())
        .collect();
    m.merged_from = shard_run_ids(runs);
    m
}

/// The shards' run ids, in shard order.
fn shard_run_ids(runs: &[RunData]) -> Vec<String> {
    let mut shards: Vec<(usize, String)> = runs
        .iter()
        .map(|r| {
            (
                r.manifest.shard.map_or(0, |s| s.index),
                r.manifest.run_id.clone(),
            )
        })
        .collect();
    shards.sort();
    shards.into_iter().map(|(_, id)| id).collect()
}
