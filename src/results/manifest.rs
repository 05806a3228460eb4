//! `manifest.json`: what ran, with what, where, when, and how it ended.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    Complete,
    Failed,
    Interrupted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub run_id: String,
    pub experiment_name: String,
    pub status: Status,
    pub tool: Tool,
    pub experiment: FileRef,
    pub prompts: FileRef,
    pub seed: u64,
    pub host: Host,
    /// The URL requests went to (the sim's port is chosen at start).
    pub target_url: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub trials_planned: usize,
    pub trials_done: usize,
    pub requests_recorded: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Servers launched for the run, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<crate::server::Launch>,
    /// Launches after the first: the randomized order decides how many.
    #[serde(default)]
    pub server_restarts: usize,
    /// The GPUs NVML saw, or why there were none to see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
    /// Command-line changes to the experiment (`--repetitions`, `--requests`),
    /// which a resume or a reproduction must apply again.
    #[serde(default, skip_serializing_if = "Overrides::is_empty")]
    pub overrides: Overrides,
    /// When the run was resumed after an interruption.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed_at: Vec<String>,
    /// Trials during which the launched server died: their records are kept
    /// (and counted), the server was relaunched and the run went on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_trials: Vec<FailedTrial>,
    /// The part of the plan this run holds (`run --shard I/N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::plan::Shard>,
    /// The Slurm job that ran it (`SLURM_ARRAY_JOB_ID`, or `SLURM_JOB_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_job: Option<String>,
    /// A merged run: the shard runs it was made of, by run id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// Adaptive repetitions: how many blocks ran and why it stopped there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetitions_stop: Option<RepetitionsStop>,
    /// The data files the workloads read (datasets, traces), hashed: a
    /// resume refuses a changed one. Referenced, not copied (a trace can be
    /// gigabytes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_files: Vec<DataFile>,
}

/// A data file a workload read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    pub workload: String,
    /// `dataset` or `trace`: the key that names it.
    pub key: String,
    pub path: String,
    pub sha256: String,
}

/// Where adaptive repetitions stopped, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepetitionsStop {
    pub blocks: u32,
    /// The precision asked for was reached (else `max` was).
    pub precise: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetitions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u32>,
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        self.repetitions.is_none() && self.requests.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedTrial {
    pub trial: usize,
    pub config: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
    pub git_commit: Option<String>,
}

impl std::fmt::Display for Tool {
    /// `infer-bench 0.1.0 (abc123…)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name, self.version)?;
        if let Some(c) = &self.git_commit {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

impl Tool {
    pub fn this() -> Self {
        Tool {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_commit: option_env!("INFER_BENCH_GIT_COMMIT")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        }
    }
}

/// A file the run read, by path and content hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRef {
    pub path: String,
    pub sha256: String,
    /// Name of its copy inside the run folder.
    pub copy: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Host {
    pub hostname: String,
    pub os: String,
    pub arch: String,
    pub cpus: usize,
    /// `/proc/cpuinfo`'s model name (runs from before it was kept have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// The kernel release, `/proc/sys/kernel/osrelease`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
}

impl Host {
    pub fn this() -> Self {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string());
        Host {
            hostname,
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel,
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub use crate::clock::now_rfc3339;

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_of_known_input() {
        // FIPS 180-2 example "abc".
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
