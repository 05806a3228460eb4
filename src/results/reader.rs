//! Reading a run folder back: manifest, plan and the durable request log.

use super::manifest::Manifest;
use super::run_dir::{PlanLine, DONE_LOG, MANIFEST, MONITOR_LOG, PLAN, REQUESTS_LOG};
use super::Record;
use crate::error::InputError;
use crate::plan::{Configuration, Trial};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct RunData {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub configurations: Vec<Configuration>,
    pub trials: Vec<Trial>,
    pub records: Vec<Record>,
    pub samples: Vec<crate::monitor::Sample>,
    /// A torn last line (the run was killed while writing it) was skipped.
    pub torn_tail: bool,
    /// The trials `done.jsonl` lists; none in folders from before it.
    pub done: Option<std::collections::BTreeSet<usize>>,
}

impl RunData {
    /// The request journal, indexed, with only the finished trials' records;
    /// none for a reference run kept without it (trials.parquet only).
    pub fn journal(&self) -> anyhow::Result<Option<super::journal::Journal>> {
        let log = self.dir.join(REQUESTS_LOG);
        if !log.exists() && self.dir.join(super::TRIALS).is_file() {
            return Ok(None);
        }
        let done = self.done.clone();
        super::journal::Journal::open(&log, move |t| done.as_ref().is_none_or(|d| d.contains(&t)))
            .map(Some)
    }
}

/// The run folder with every record in memory, sorted by trial and request:
/// for small runs and tests. The report streams instead ([`open_run`]).
pub fn read_run(dir: &Path) -> anyhow::Result<RunData> {
    let mut run = open_run(dir)?;
    if let Some(journal) = run.journal()? {
        run.records = journal.all()?;
        run.torn_tail = journal.torn_tail;
        run.records.sort_by_key(|r| (r.trial, r.request));
    }
    Ok(run)
}

/// The run folder without its records: manifest, plan, monitor samples.
pub fn open_run(dir: &Path) -> anyhow::Result<RunData> {
    let manifest_path = dir.join(MANIFEST);
    if !manifest_path.is_file() {
        return Err(InputError::in_file(dir, "not a run folder: no manifest.json").into());
    }
    let mut manifest: Manifest =
        serde_json::from_str(&super::lines::read_document(&manifest_path)?).map_err(|e| {
            InputError::in_file(&manifest_path, e.to_string()).at(Some((e.line(), e.column())))
        })?;
    // A folder written before URLs were redacted is shown redacted.
    manifest.target_url = manifest.target_url.map(|u| crate::redact::url(&u));

    let (plan_lines, _) = read_jsonl::<PlanLine>(&dir.join(PLAN))?;
    let mut configurations: Vec<Configuration> = Vec::new();
    let mut trials = Vec::with_capacity(plan_lines.len());
    for line in plan_lines {
        let i = line.configuration.index;
        if configurations.len() <= i {
            configurations.resize(i + 1, line.configuration.clone());
        }
        configurations[i] = line.configuration;
        trials.push(line.trial);
    }
    let monitor_log = dir.join(MONITOR_LOG);
    let mut samples = if monitor_log.is_file() {
        read_jsonl::<crate::monitor::Sample>(&monitor_log)?.0
    } else {
        Vec::new()
    };
    // A trial cut off while its records were written is not done: leave its
    // records out (folders from before done.jsonl keep everything).
    let done = if dir.join(DONE_LOG).is_file() {
        let done = super::run_dir::read_done(dir)?;
        samples.retain(|s| done.contains(&s.trial));
        Some(done)
    } else {
        None
    };
    // Adaptive repetitions that stopped early: the plan's later blocks were
    // never meant to run.
    if let Some(stop) = &manifest.repetitions_stop {
        trials.retain(|t| t.repetition < stop.blocks);
    }
    Ok(RunData {
        samples,
        dir: dir.to_path_buf(),
        manifest,
        configurations,
        trials,
        records: Vec::new(),
        torn_tail: false,
        done,
    })
}

fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<(Vec<T>, bool)> {
    let (out, torn) = super::lines::json_lines(path)?;
    if torn {
        super::journal::warn_torn(path);
    }
    Ok((out, torn))
}
