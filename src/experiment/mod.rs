//! Experiment files: typed spec, loading with located errors, validation.

mod capacity_spec;
pub(crate) mod configuration;
mod kept;
mod repetitions;

pub mod limits;
pub(crate) mod sim_spec;
mod slo;
mod slo_file;
mod spec;
mod stats_spec;
pub mod validate;

pub use crate::duration::HumanDuration;
pub use crate::level::Level;
pub use crate::yaml::locate_key;
pub use capacity_spec::{Arrangement, CapacityFactor, CapacitySpec, MAX_PROBES};
pub(crate) use configuration::{configurations, Configuration};
pub use kept::kept_copy;
pub use repetitions::{Adaptive, Repetitions, Until};
pub use slo::{
    apply_changes, parse_percentile_key, percentile_column, Latency, PercentileObjective, Slo,
    SloChange, PERCENTILES,
};
pub use slo_file::slo_change;
pub use spec::*;
pub use stats_spec::{Expectation, ExpectedChange, Family, StatsSpec};
pub use validate::{check_slo, check_slo_located};

use crate::error::InputError;
use crate::prompts::PromptSet;
use std::path::{Path, PathBuf};

/// An experiment file read, parsed, validated, with its prompt set.
#[derive(Debug, Clone)]
pub struct LoadedExperiment {
    pub path: PathBuf,
    /// The file's text, as committed: copied into the run folder and hashed.
    pub source: String,
    pub experiment: Experiment,
    pub prompts_path: PathBuf,
    pub prompts: PromptSet,
    /// The `workloads:` section read, data files included.
    pub workloads: indexmap::IndexMap<String, crate::workload::Workload>,
}

impl LoadedExperiment {
    /// The folder the experiment file is in, absolute: what its relative
    /// paths and `{{ experiment_dir }}` mean (the working folder for a file
    /// named without one, never an empty path).
    pub fn dir(&self) -> PathBuf {
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
    }

    /// The workload of a configuration: its `workload` level, or the only
    /// one declared; none where the experiment declares none.
    pub fn workload_of(&self, config: &Configuration) -> Option<&crate::workload::Workload> {
        match config.values.get(crate::workload::FACTOR) {
            Some(level) => self.workloads.get(&level.to_string()),
            None if self.workloads.len() == 1 => self.workloads.values().next(),
            None => None,
        }
    }
}

/// Read, parse and validate an experiment file and the prompt set it names.
pub fn load(path: &Path) -> Result<LoadedExperiment, InputError> {
    crate::limits::small_file("the experiment file", path)
        .map_err(|rule| InputError::in_file(path, rule.to_string()))?;
    let source = std::fs::read_to_string(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read experiment file: {e}")))?;
    load_str(path, source)
}

/// Parse and validate experiment text that claims to come from `path`
/// (the prompt set resolves against `path`'s folder).
pub fn load_str(path: &Path, source: String) -> Result<LoadedExperiment, InputError> {
    let experiment = parse(path, &source)?;
    let prompts_path = resolve_prompts(path, &experiment.prompts);
    let prompts = crate::prompts::load(&prompts_path).map_err(|e| {
        if e.file.is_some() {
            e
        } else {
            InputError::in_file(path, e.message).at(locate_key(&source, &["prompts"]))
        }
    })?;
    let workloads = validate::read_workloads(path, &source, &experiment.workloads)?;
    let loaded = LoadedExperiment {
        path: path.to_path_buf(),
        source,
        experiment,
        prompts_path,
        prompts,
        workloads,
    };
    validate::validate(&loaded)?;
    Ok(loaded)
}

/// Parse YAML into the typed spec, every fault located.
pub fn parse(path: &Path, source: &str) -> Result<Experiment, InputError> {
    crate::yaml::parse(path, source)
}

fn resolve_prompts(experiment_path: &Path, prompts: &str) -> PathBuf {
    let p = Path::new(prompts);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        experiment_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(p)
    }
}

/// The JSON Schema of experiment files (`infer-bench schema`, committed as
/// schemas/experiment.schema.json).
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Experiment);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
