//! The run folder and its crash-safe writer.
//!
//! Records are appended to `requests.jsonl` and synced to disk after every
//! trial, so a killed run keeps every finished trial; the Parquet tables are
//! written from that log when the run ends (or by `infer-bench report`).

use super::manifest::{now_rfc3339, sha256_hex, FileRef, Host, Manifest, Status, Tool};
use super::Record;
use crate::experiment::LoadedExperiment;
use crate::plan::Plan;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";
pub const PLAN: &str = "plan.jsonl";
pub const REQUESTS_LOG: &str = "requests.jsonl";
pub const MONITOR_LOG: &str = "monitor.jsonl";
pub const MONITOR: &str = "monitor.parquet";
pub const REQUESTS: &str = "requests.parquet";
pub const TRIALS: &str = "trials.parquet";
pub const EXPERIMENT_COPY: &str = "experiment.yaml";
pub const PROMPTS_COPY: &str = "prompts.yaml";

/// One line of `plan.jsonl`: a trial with its configuration spelled out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanLine {
    pub trial: crate::plan::Trial,
    pub configuration: crate::plan::Configuration,
}

pub struct RunWriter {
    pub dir: PathBuf,
    manifest: Manifest,
    log: BufWriter<File>,
    monitor: BufWriter<File>,
}

impl RunWriter {
    /// Create `out/<experiment>/<run-id>/` with the manifest, copies of the
    /// experiment and prompt set, and the plan.
    pub fn create(out: &Path, loaded: &LoadedExperiment, plan: &Plan) -> anyhow::Result<Self> {
        let e = &loaded.experiment;
        let run_id = new_run_id();
        let dir = out.join(&e.name).join(&run_id);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

        std::fs::write(dir.join(EXPERIMENT_COPY), &loaded.source)?;
        let prompts_text = std::fs::read(&loaded.prompts_path)
            .with_context(|| format!("reading {}", loaded.prompts_path.display()))?;
        std::fs::write(dir.join(PROMPTS_COPY), &prompts_text)?;

        let mut plan_file = BufWriter::new(File::create(dir.join(PLAN))?);
        for trial in &plan.trials {
            let line = PlanLine {
                trial: trial.clone(),
                configuration: plan.config_of(trial).clone(),
            };
            serde_json::to_writer(&mut plan_file, &line)?;
            plan_file.write_all(b"\n")?;
        }
        plan_file.flush()?;

        let manifest = Manifest {
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
                sha256: sha256_hex(&prompts_text),
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
        };
        let log = BufWriter::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(REQUESTS_LOG))?,
        );
        let monitor = BufWriter::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(MONITOR_LOG))?,
        );
        let w = RunWriter {
            dir,
            manifest,
            log,
            monitor,
        };
        w.write_manifest()?;
        Ok(w)
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
        self.manifest.servers = servers.to_vec();
        self.manifest.server_restarts = servers.len().saturating_sub(1);
        self.write_manifest()
    }

    /// Append one trial's records and monitor samples and make them durable
    /// before returning.
    pub fn append_trial(
        &mut self,
        records: &[Record],
        samples: &[crate::monitor::Sample],
    ) -> anyhow::Result<()> {
        for s in samples {
            serde_json::to_writer(&mut self.monitor, s)?;
            self.monitor.write_all(b"\n")?;
        }
        self.monitor.flush()?;
        for r in records {
            serde_json::to_writer(&mut self.log, r)?;
            self.log.write_all(b"\n")?;
        }
        self.log.flush()?;
        self.log
            .get_ref()
            .sync_data()
            .context("syncing requests.jsonl")?;
        self.manifest.trials_done += 1;
        self.manifest.requests_recorded += records.len();
        self.write_manifest()
    }

    pub fn finish(&mut self, status: Status, error: Option<String>) -> anyhow::Result<()> {
        self.manifest.status = status;
        self.manifest.error = error;
        self.manifest.ended_at = Some(now_rfc3339());
        self.write_manifest()
    }

    /// Replace the manifest atomically (write a temporary file, rename).
    fn write_manifest(&self) -> anyhow::Result<()> {
        let tmp = self.dir.join(".manifest.json.tmp");
        let mut text = serde_json::to_string_pretty(&self.manifest)?;
        text.push('\n');
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, self.dir.join(MANIFEST))?;
        Ok(())
    }
}

/// `20261127T231117Z-3fa2`: sortable by start time, unique on one machine.
fn new_run_id() -> String {
    let stamp = now_rfc3339().replace(['-', ':'], "");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tag = (nanos ^ std::process::id().rotate_left(16)) & 0xffff;
    format!("{stamp}-{tag:04x}")
}
