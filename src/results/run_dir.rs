//! The run folder and its crash-safe writer.
//!
//! Records are appended to `requests.jsonl` and synced to disk after every
//! trial, so a killed run keeps every finished trial; the Parquet tables are
//! written from that log when the run ends (or by `infer-bench report`).

mod resume;

use super::manifest::{
    now_rfc3339, sha256_hex, FileRef, Host, Manifest, RepetitionsStop, Status, Tool,
};
use super::Record;
use crate::experiment::LoadedExperiment;
use crate::plan::Plan;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";
pub const PLAN: &str = "plan.jsonl";
pub const REQUESTS_LOG: &str = "requests.jsonl";
pub const MONITOR_LOG: &str = "monitor.jsonl";
/// One line per finished trial, written after its records are on disk: what
/// a resume trusts (records of a trial not listed here were cut off).
pub const DONE_LOG: &str = "done.jsonl";
pub const MONITOR: &str = "monitor.parquet";
pub const REQUESTS: &str = "requests.parquet";
pub const TRIALS: &str = "trials.parquet";
/// A capacity search's result, one row per configuration.
pub const CAPACITY: &str = "capacity.csv";
pub const EXPERIMENT_COPY: &str = "experiment.yaml";
pub const PROMPTS_COPY: &str = "prompts.yaml";

/// One line of `plan.jsonl`, and of `plan --json`: a trial with its
/// configuration spelled out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanLine {
    pub trial: crate::plan::Trial,
    pub configuration: crate::plan::Configuration,
    /// The shard that runs it, where `plan --shards` split the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<usize>,
}

/// One line of `done.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoneLine {
    pub trial: usize,
    pub records: usize,
}

pub struct RunWriter {
    pub dir: PathBuf,
    manifest: Manifest,
    log: BufWriter<File>,
    monitor: BufWriter<File>,
    done: File,
    /// Servers launched before a resume: kept in the manifest ahead of this session's.
    earlier_servers: Vec<crate::server::Launch>,
    /// Bytes of `requests.jsonl` holding finished trials only: what the log
    /// is cut back to when a run ends with a trial unfinished.
    durable_len: u64,
}

/// Records are buffered this much between writes: a write is a system call
/// on the runtime thread that also reads the streams.
const LOG_BUFFER: usize = 64 << 10;

fn append(path: &Path) -> anyhow::Result<File> {
    super::append_log(path)
}

impl RunWriter {
    /// Create `out/<experiment>/<run-id>/` with the manifest, copies of the
    /// experiment and prompt set, and the plan.
    pub fn create(
        out: &Path,
        loaded: &LoadedExperiment,
        plan: &Plan,
        overrides: super::manifest::Overrides,
    ) -> anyhow::Result<Self> {
        let e = &loaded.experiment;
        let (run_id, dir) = new_run_dir(&out.join(&e.name))?;
        // The credentials a run reads from its environment are hidden in
        // the copy too, should the file spell one out anywhere.
        let from_env = e.target.env_secrets();

        super::write_file(
            &dir.join(EXPERIMENT_COPY),
            crate::redact::source(
                &loaded.source,
                e.target.base_url.as_deref(),
                e.target.headers.iter().chain(server_env(e)),
                &from_env,
                server_commands(e),
            ),
        )?;
        let prompts_text = std::fs::read(&loaded.prompts_path)
            .with_context(|| format!("reading {}", loaded.prompts_path.display()))?;
        super::write_file(&dir.join(PROMPTS_COPY), &prompts_text)?;

        write_plan(&dir, plan)?;
        let mut manifest = new_manifest(run_id, loaded, plan, &prompts_text, overrides);
        manifest.data_files = data_files(loaded)?;
        let w = RunWriter {
            log: BufWriter::with_capacity(LOG_BUFFER, append(&dir.join(REQUESTS_LOG))?),
            monitor: BufWriter::new(append(&dir.join(MONITOR_LOG))?),
            done: append(&dir.join(DONE_LOG))?,
            dir,
            manifest,
            earlier_servers: Vec::new(),
            durable_len: 0,
        };
        w.write_manifest()?;
        Ok(w)
    }

    /// This run holds one shard of the plan: `trials` of it.
    pub fn set_shard(&mut self, shard: crate::plan::Shard, trials: usize) -> anyhow::Result<()> {
        self.manifest.shard = Some(shard);
        self.manifest.trials_planned = trials;
        self.write_manifest()
    }

    pub fn shard(&self) -> Option<crate::plan::Shard> {
        self.manifest.shard
    }

    pub fn overrides(&self) -> super::manifest::Overrides {
        self.manifest.overrides
    }

    /// A trial during which the server died.
    pub fn trial_failed(&mut self, failed: super::manifest::FailedTrial) -> anyhow::Result<()> {
        self.manifest.failed_trials.push(failed);
        self.write_manifest()
    }

    pub fn set_target_url(&mut self, url: &str) -> anyhow::Result<()> {
        self.manifest.target_url = Some(url.to_string());
        self.write_manifest()
    }

    pub fn set_gpu(&mut self, gpu: String) -> anyhow::Result<()> {
        self.manifest.gpu = Some(gpu);
        self.write_manifest()
    }

    pub fn set_servers(&mut self, servers: &[crate::server::Launch]) -> anyhow::Result<()> {
        let mut all = self.earlier_servers.clone();
        let offset = all.len();
        all.extend(servers.iter().cloned().map(|mut l| {
            l.index += offset;
            l
        }));
        self.manifest.servers = all;
        let servers = &self.manifest.servers;
        self.manifest.server_restarts = servers.len().saturating_sub(1);
        self.write_manifest()
    }

    /// Adaptive repetitions stopped after `stop.blocks` blocks: the plan's
    /// later blocks are not run, and readers leave them out.
    pub fn stop_repetitions(
        &mut self,
        stop: RepetitionsStop,
        per_block: usize,
    ) -> anyhow::Result<()> {
        self.manifest.trials_planned = stop.blocks as usize * per_block;
        self.manifest.repetitions_stop = Some(stop);
        self.write_manifest()
    }

    /// The trials planned so far, as `plan.jsonl` holds them (a resumed
    /// search's, whose manifest a kill may have left behind its plan).
    pub fn set_trials_planned(&mut self, trials: usize) -> anyhow::Result<()> {
        self.manifest.trials_planned = trials;
        self.write_manifest()
    }

    /// Trials decided as the run goes (a capacity search's probes): each
    /// appended to `plan.jsonl`, and counted as planned, before it runs.
    pub fn extend_plan(&mut self, lines: &[PlanLine]) -> anyhow::Result<()> {
        let mut file = append(&self.dir.join(PLAN))?;
        for line in lines {
            let mut text = serde_json::to_vec(line)?;
            text.push(b'\n');
            file.write_all(&text)?;
        }
        file.sync_data().context("syncing plan.jsonl")?;
        self.manifest.trials_planned += lines.len();
        self.write_manifest()
    }

    /// Append one record to the log as it comes (buffered: a trial's records
    /// become durable together, in [`RunWriter::trial_done`]).
    pub fn record(&mut self, r: &Record) -> anyhow::Result<()> {
        super::write_record(&mut self.log, r)
    }

    /// A trial's `records` are all logged: append its monitor samples, make
    /// both durable, then mark the trial done.
    pub fn trial_done(
        &mut self,
        trial: usize,
        records: usize,
        samples: &[crate::monitor::Sample],
    ) -> anyhow::Result<()> {
        for s in samples {
            serde_json::to_writer(&mut self.monitor, s)?;
            self.monitor.write_all(b"\n")?;
        }
        self.monitor.flush()?;
        self.log.flush()?;
        self.log
            .get_ref()
            .sync_data()
            .context("syncing requests.jsonl")?;
        // Only now is the trial done: its records are on disk.
        let line = serde_json::to_string(&DoneLine { trial, records })?;
        self.done.write_all(format!("{line}\n").as_bytes())?;
        self.done.sync_data().context("syncing done.jsonl")?;
        self.durable_len = self.log.get_ref().metadata()?.len();
        self.manifest.trials_done += 1;
        self.manifest.requests_recorded += records;
        self.write_manifest()
    }

    pub fn finish(&mut self, status: Status, error: Option<String>) -> anyhow::Result<()> {
        if status != Status::Complete {
            // The unfinished trial's records would be ignored anyway; on a
            // full disk, dropping them makes room for the manifest to say
            // what happened.
            let _ = self.discard_unfinished();
        }
        self.manifest.status = status;
        self.manifest.error = error;
        self.manifest.ended_at = Some(now_rfc3339());
        self.write_manifest()
    }

    /// Cut `requests.jsonl` back to its finished trials, unwritten buffer included.
    fn discard_unfinished(&mut self) -> std::io::Result<()> {
        let file = self.log.get_ref().try_clone()?;
        let spare = BufWriter::with_capacity(LOG_BUFFER, file);
        let (log, _unwritten) = std::mem::replace(&mut self.log, spare).into_parts();
        log.set_len(self.durable_len)
    }

    /// Replace the manifest atomically (write a temporary file, rename).
    fn write_manifest(&self) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(&self.manifest)?;
        text.push('\n');
        super::write_file(&self.dir.join(MANIFEST), text)
    }
}

/// `plan.jsonl`: each trial with its configuration spelled out.
fn write_plan(dir: &Path, plan: &Plan) -> anyhow::Result<()> {
    super::write_with(&dir.join(PLAN), |plan_file| {
        for trial in &plan.trials {
            let line = PlanLine {
                trial: trial.clone(),
                configuration: plan.config_of(trial).clone(),
                shard: None,
            };
            serde_json::to_writer(&mut *plan_file, &line)?;
            plan_file.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// A new run's manifest: running, nothing done yet.
fn new_manifest(
    run_id: String,
    loaded: &LoadedExperiment,
    plan: &Plan,
    prompts_text: &[u8],
    overrides: super::manifest::Overrides,
) -> Manifest {
    let e = &loaded.experiment;
    Manifest {
        run_id,
        experiment_name: e.name.clone(),
        status: Status::Running,
        tool: Tool::this(),
        experiment: FileRef {
            path: loaded.path.display().to_string(),
            sha256: sha256_hex(loaded.source.as_bytes()),
            copy: EXPERIMENT_COPY.into(),
        },
        prompts: FileRef {
            path: loaded.prompts_path.display().to_string(),
            sha256: sha256_hex(prompts_text),
            copy: PROMPTS_COPY.into(),
        },
        seed: e.seed,
        host: Host::this(),
        target_url: None,
        started_at: now_rfc3339(),
        ended_at: None,
        trials_planned: plan.trials.len(),
        trials_done: 0,
        requests_recorded: 0,
        error: None,
        servers: Vec::new(),
        server_restarts: 0,
        gpu: None,
        overrides,
        resumed_at: Vec::new(),
        failed_trials: Vec::new(),
        shard: None,
        slurm_job: std::env::var("SLURM_ARRAY_JOB_ID")
            .or_else(|_| std::env::var("SLURM_JOB_ID"))
            .ok(),
        merged_from: Vec::new(),
        repetitions_stop: None,
        data_files: Vec::new(),
    }
}

/// Each data file the workloads read, hashed as it is now.
pub fn data_files(loaded: &LoadedExperiment) -> anyhow::Result<Vec<super::manifest::DataFile>> {
    let dir = loaded.path.parent().unwrap_or_else(|| Path::new("."));
    let mut files = Vec::new();
    for (name, w) in &loaded.workloads {
        for (key, file) in [("dataset", &w.spec.dataset), ("trace", &w.spec.trace)] {
            let Some(file) = file else { continue };
            let path = dir.join(file);
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            files.push(super::manifest::DataFile {
                workload: name.clone(),
                key: key.into(),
                path: path.display().to_string(),
                sha256: sha256_hex(&bytes),
            });
        }
    }
    Ok(files)
}

/// The trials `done.jsonl` lists (a torn last line is a trial not done).
pub fn read_done(dir: &Path) -> anyhow::Result<std::collections::BTreeSet<usize>> {
    let path = dir.join(DONE_LOG);
    let mut done = std::collections::BTreeSet::new();
    if !path.is_file() {
        return Ok(done);
    }
    // A line that does not parse (cut by a kill) marks no trial done.
    super::lines::for_each_line(&path, |_, line, _| {
        if let Ok(d) = serde_json::from_slice::<DoneLine>(line) {
            done.insert(d.trial);
        }
        Ok(())
    })?;
    Ok(done)
}

/// `20261127T231117Z-3fa2`: sortable by start time; the tag is random.
pub fn new_run_id() -> String {
    use rand::RngExt as _;
    let stamp = now_rfc3339().replace(['-', ':'], "");
    let tag: u16 = rand::rng().random();
    format!("{stamp}-{tag:04x}")
}

/// A new, empty run folder under `parent`: created with `create_dir`, which
/// fails on a folder that exists, so two runs started in the same second
/// (shards of one Slurm job, say) never share one; a taken id draws again.
pub(super) fn new_run_dir(parent: &Path) -> anyhow::Result<(String, PathBuf)> {
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    for _ in 0..64 {
        let id = new_run_id();
        let dir = parent.join(&id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    anyhow::bail!("no free run id under {} after 64 tries", parent.display())
}

/// The launched server's environment, where the experiment has one.
fn server_env(e: &crate::experiment::Experiment) -> impl Iterator<Item = (&String, &String)> {
    e.target.server.iter().flat_map(|s| s.env.iter())
}

/// Every command the run launches: the server's and its version command.
fn server_commands(e: &crate::experiment::Experiment) -> impl Iterator<Item = &str> {
    e.target
        .server
        .iter()
        .flat_map(|s| std::iter::once(&s.command).chain(&s.version_command))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_folders_started_together_never_share() {
        let parent = tempfile::tempdir().unwrap();
        let dirs: std::collections::BTreeSet<PathBuf> = (0..300)
            .map(|_| new_run_dir(parent.path()).unwrap().1)
            .collect();
        assert_eq!(dirs.len(), 300);
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 300);
    }
}
