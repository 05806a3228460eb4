//! Joining the run folders of one experiment's shards into one run folder
//! that `report`, `compare` and `reproduce` treat like any other.

use super::manifest::{now_rfc3339, Manifest, Status};
use super::run_dir::{
    new_run_id, DoneLine, DONE_LOG, EXPERIMENT_COPY, MANIFEST, MONITOR_LOG, PLAN, PROMPTS_COPY,
    REQUESTS_LOG,
};
use super::{open_run, RunData};
use crate::error::InputError;
use anyhow::Context as _;
use std::io::Write;
use std::path::{Path, PathBuf};

fn refuse(dir: &Path, message: String) -> anyhow::Error {
    InputError::in_file(dir, message).into()
}

/// Check that `runs` are every shard of one plan, once, each complete.
fn check(runs: &[RunData]) -> anyhow::Result<usize> {
    let first = &runs[0];
    let m0 = &first.manifest;
    let Some(s0) = m0.shard else {
        return Err(refuse(
            &first.dir,
            "not a shard (no 'shard' in its manifest), expected run folders of `run --shard I/N`"
                .into(),
        ));
    };
    let plan0 = serde_json::to_value((&first.trials, &first.configurations))?;
    let mut seen: Vec<Option<&Path>> = vec![None; s0.count];
    for r in runs {
        let m = &r.manifest;
        let same = |what: &str, a: &str, b: &str| -> anyhow::Result<()> {
            if a != b {
                return Err(refuse(
                    &r.dir,
                    format!(
                        "{what} differs from {}'s, expected shards of one run",
                        first.dir.display()
                    ),
                ));
            }
            Ok(())
        };
        same(
            "the experiment file",
            &m.experiment.sha256,
            &m0.experiment.sha256,
        )?;
        same("the prompt set", &m.prompts.sha256, &m0.prompts.sha256)?;
        same("the seed", &m.seed.to_string(), &m0.seed.to_string())?;
        same(
            "the plan",
            &serde_json::to_value((&r.trials, &r.configurations))?.to_string(),
            &plan0.to_string(),
        )?;
        let Some(s) = m.shard else {
            return Err(refuse(
                &r.dir,
                "not a shard (no 'shard' in its manifest)".into(),
            ));
        };
        if s.count != s0.count {
            return Err(refuse(
                &r.dir,
                format!(
                    "shard {s} of a {}-way split, expected {} shards",
                    s.count, s0.count
                ),
            ));
        }
        if let Some(other) = seen[s.index] {
            return Err(refuse(
                &r.dir,
                format!(
                    "shard {s} twice: also {}, expected each shard once",
                    other.display()
                ),
            ));
        }
        seen[s.index] = Some(&r.dir);
        let plan = crate::plan::Plan {
            seed: m.seed,
            configurations: r.configurations.clone(),
            trials: r.trials.clone(),
        };
        let mine = s.trials(&plan).map_err(|e| refuse(&r.dir, e))?;
        let done = super::run_dir::read_done(&r.dir)?;
        let missing = mine.iter().filter(|t| !done.contains(t)).count();
        if missing > 0 {
            return Err(refuse(
                &r.dir,
                format!(
                    "shard {s} is incomplete: {missing} of its {} trials not done (status {:?}); `infer-bench run EXP --resume {}` finishes it",
                    mine.len(),
                    m.status,
                    r.dir.display()
                ),
            ));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("{i}/{}", s0.count))
        .collect();
    if !missing.is_empty() {
        return Err(InputError::new(format!(
            "shard {} missing, expected all {} shards of the run",
            missing.join(", "),
            s0.count
        ))
        .into());
    }
    Ok(s0.count)
}

/// Merge the shards into `out` (or a new run folder beside them); returns it.
pub fn merge_runs(dirs: &[PathBuf], out: Option<&Path>) -> anyhow::Result<PathBuf> {
    let runs: Vec<RunData> = dirs
        .iter()
        .map(|d| open_run(d))
        .collect::<anyhow::Result<_>>()?;
    check(&runs)?;
    let first = &runs[0];
    let (run_id, dir) = match out {
        Some(d) => {
            if d.join(MANIFEST).exists() {
                return Err(refuse(
                    d,
                    "already holds a run, expected a new folder".into(),
                ));
            }
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            (new_run_id(), d.to_path_buf())
        }
        None => super::run_dir::new_run_dir(first.dir.parent().unwrap_or(Path::new(".")))?,
    };
    for f in [EXPERIMENT_COPY, PROMPTS_COPY, PLAN] {
        std::fs::copy(first.dir.join(f), dir.join(f)).with_context(|| format!("copying {f}"))?;
    }
    let write_lines = |name: &str, lines: Vec<String>| -> anyhow::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join(name))?);
        for l in lines {
            f.write_all(l.as_bytes())?;
            f.write_all(b"\n")?;
        }
        f.flush()?;
        Ok(())
    };
    // Records a trial at a time, in trial order: a merge of millions of
    // records holds a chunk of them, not the run.
    let journals: Vec<super::journal::Journal> = runs
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
    let mut log = std::io::BufWriter::new(std::fs::File::create(dir.join(REQUESTS_LOG))?);
    let mut per_trial: std::collections::BTreeMap<usize, usize> = Default::default();
    let mut order: Vec<(usize, &super::journal::Journal)> = journals
        .iter()
        .flat_map(|j| j.trials().map(move |t| (t, j)))
        .collect();
    order.sort_by_key(|(t, _)| *t);
    for (trial, journal) in order {
        journal.for_each_chunk(trial, 1 << 14, |chunk| {
            *per_trial.entry(trial).or_default() += chunk.len();
            for r in &chunk {
                super::write_record(&mut log, r)?;
            }
            Ok(())
        })?;
    }
    log.flush()?;
    let recorded: usize = per_trial.values().sum();
    let mut samples: Vec<&crate::monitor::Sample> = runs.iter().flat_map(|r| &r.samples).collect();
    samples.sort_by(|a, b| {
        (a.trial, a.t_s)
            .partial_cmp(&(b.trial, b.t_s))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    write_lines(
        MONITOR_LOG,
        samples
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?,
    )?;
    let trials = first.trials.len();
    let done: Vec<String> = (0..trials)
        .map(|t| {
            serde_json::to_string(&DoneLine {
                trial: t,
                records: per_trial.get(&t).copied().unwrap_or(0),
            })
        })
        .collect::<Result<_, _>>()?;
    write_lines(DONE_LOG, done)?;

    let mut m: Manifest = first.manifest.clone();
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
    m.merged_from = shards.into_iter().map(|(_, id)| id).collect();
    let text = serde_json::to_string_pretty(&m)? + "\n";
    std::fs::write(dir.join(MANIFEST), text)?;
    Ok(dir)
}
