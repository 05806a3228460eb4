//! Reopening an interrupted run folder to finish it: only with the inputs
//! and plan it started with, and only the finished trials' records kept.

use super::{append, read_done, RunWriter, DONE_LOG, LOG_BUFFER, MONITOR_LOG, PLAN, REQUESTS_LOG};
use crate::error::InputError;
use crate::experiment::LoadedExperiment;
use crate::plan::Plan;
use crate::results::manifest::{now_rfc3339, sha256_hex, Manifest, Status};
use anyhow::Context as _;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::io::BufWriter;
use std::path::Path;

impl RunWriter {
    /// Reopen an interrupted run folder to finish it: the experiment and
    /// prompt set must be byte for byte the ones it started with, and the
    /// plan the same. Records of a trial that did not finish are dropped.
    /// Returns the writer and the trials already done.
    pub fn resume(
        dir: &Path,
        loaded: &LoadedExperiment,
        plan: &Plan,
    ) -> anyhow::Result<(Self, BTreeSet<usize>)> {
        for log in [REQUESTS_LOG, MONITOR_LOG, DONE_LOG, PLAN] {
            refuse_link(&dir.join(log))?;
        }
        let data = crate::results::open_run(dir)?;
        let mut manifest = data.manifest;
        same_inputs(loaded, &manifest)?;
        let same_plan = data.trials.len() == plan.trials.len()
            && data.trials.iter().zip(&plan.trials).all(|(a, b)| {
                (a.index, a.config, a.repetition) == (b.index, b.config, b.repetition)
            });
        if !same_plan {
            return Err(InputError::in_file(
                dir,
                "the plan differs from the run's (other --repetitions or --requests?), expected the same plan",
            )
            .into());
        }
        let done = read_done(dir)?;
        // The logs a resume appends to without rewriting them.
        for log in [DONE_LOG, PLAN] {
            crate::results::lines::end_at_last_line(&dir.join(log))?;
        }
        let records = keep_done(dir, REQUESTS_LOG, &done)?;
        keep_done(dir, MONITOR_LOG, &done)?;
        manifest.status = Status::Running;
        manifest.ended_at = None;
        manifest.error = None;
        manifest.trials_done = done.len();
        manifest.requests_recorded = records;
        manifest.resumed_at.push(now_rfc3339());
        let mut w = RunWriter {
            log: BufWriter::with_capacity(LOG_BUFFER, append(&dir.join(REQUESTS_LOG))?),
            monitor: BufWriter::new(append(&dir.join(MONITOR_LOG))?),
            done: append(&dir.join(DONE_LOG))?,
            dir: dir.to_path_buf(),
            earlier_servers: manifest.servers.clone(),
            manifest,
            durable_len: 0,
        };
        w.durable_len = w.log.get_ref().metadata()?.len();
        w.write_manifest()?;
        Ok((w, done))
    }
}

/// A log a resume rewrites and appends to must be the folder's own file: a
/// link would send the records (or read them) elsewhere.
fn refuse_link(path: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_symlink() => Err(InputError::in_file(
            path,
            "is a symbolic link, expected the run's own log (a resume never follows a link in a run folder)",
        )
        .into()),
        _ => Ok(()),
    }
}

/// The experiment file and prompt set are byte for byte the run's.
fn same_inputs(loaded: &LoadedExperiment, manifest: &Manifest) -> anyhow::Result<()> {
    let refuse = |what: &str, path: &str| -> anyhow::Error {
        InputError::in_file(
            &loaded.path,
            format!(
                "{what} changed since run {} started ({path}); resuming would mix two experiments, \
                 expected the same file (start a new run instead)",
                manifest.run_id
            ),
        )
        .into()
    };
    if sha256_hex(loaded.source.as_bytes()) != manifest.experiment.sha256 {
        return Err(refuse("the experiment file", &manifest.experiment.path));
    }
    let prompts = std::fs::read(&loaded.prompts_path)
        .with_context(|| format!("reading {}", loaded.prompts_path.display()))?;
    if sha256_hex(&prompts) != manifest.prompts.sha256 {
        return Err(refuse("the prompt set", &manifest.prompts.path));
    }
    // A run folder from before data files were hashed has none to check.
    if manifest.data_files.is_empty() {
        return Ok(());
    }
    let now = super::data_files(loaded)?;
    for (i, was) in manifest.data_files.iter().enumerate() {
        if now.get(i).is_none_or(|f| f.sha256 != was.sha256) {
            let what = format!("the {} of workload '{}'", was.key, was.workload);
            return Err(refuse(&what, &was.path));
        }
    }
    if now.len() != manifest.data_files.len() {
        return Err(refuse(
            "the workloads' data files",
            &loaded.path.display().to_string(),
        ));
    }
    Ok(())
}

/// Keep only the lines of log `name` that belong to finished trials,
/// atomically; returns how many were kept.
fn keep_done(dir: &Path, name: &str, done: &BTreeSet<usize>) -> anyhow::Result<usize> {
    #[derive(Deserialize)]
    struct TrialOf {
        trial: usize,
    }
    let path = dir.join(name);
    // Synced before the rename: the log a resume trusts must not come back
    // empty after a crash. Line by line, as bytes: a line torn inside a
    // UTF-8 character is dropped, and a log of millions is never held whole.
    let (staged, file) = crate::results::Staged::new(&path)?;
    let mut out = std::io::BufWriter::new(file);
    let mut n = 0;
    let kept = |_, line: &[u8], _| {
        if let Ok(t) = serde_json::from_slice::<TrialOf>(line) {
            if done.contains(&t.trial) {
                std::io::Write::write_all(&mut out, line)?;
                std::io::Write::write_all(&mut out, b"\n")?;
                n += 1;
            }
        }
        Ok(())
    };
    if path.is_file() {
        crate::results::lines::for_each_line(&path, kept)?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    staged.commit()?;
    Ok(n)
}
