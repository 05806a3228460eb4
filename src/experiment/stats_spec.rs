//! What the statistics decide and how: significance, the smallest change
//! worth a verdict, the equivalence margin, Holm's family, and the
//! expectations a run is checked against.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::level::Level;

/// "Going from one level to another changes this metric so."
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// A per-trial metric of the catalogue (`src/metrics.rs`).
    #[schemars(schema_with = "metric_schema")]
    pub metric: String,
    pub factor: String,
    pub from: Level,
    pub to: Level,
    pub change: ExpectedChange,
    /// Smallest relative change that confirms an increase or decrease (0.1 = 10 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
}

/// The catalogue's metric names as an enum, so editors complete them.
pub(super) fn metric_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names = crate::metrics::columns();
    schemars::json_schema!({
        "type": "string",
        "description": "a per-trial metric (a column of trials.parquet)",
        "enum": names,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedChange {
    Increase,
    Decrease,
    None,
}

/// A change is called only when its Holm-adjusted p is below `alpha` and
/// its relative size exceeds `threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StatsSpec {
    pub alpha: f64,
    /// Relative change below which no verdict is given (0.02 = 2 %).
    pub threshold: f64,
    /// Equivalence margin δ, relative to the baseline mean (0.05 = ±5 %):
    /// TOST calls two configurations equivalent when it shows the
    /// difference within it.
    pub equivalence: f64,
    /// Which p-values Holm adjusts together.
    pub family: Family,
    /// Share of the host's cores (0.25 = a quarter) that other processes
    /// may use during a trial before the progress line and the report warn
    /// that the host was busy.
    pub max_other_cpu_share: f64,
    /// `validate` warns when the smallest change a headline metric could
    /// show with the planned repetitions (from a previous run's trials)
    /// exceeds this relative size (0.2 = 20 %).
    pub max_detectable_change: f64,
}

impl Default for StatsSpec {
    fn default() -> Self {
        StatsSpec {
            alpha: 0.05,
            threshold: 0.02,
            equivalence: 0.05,
            family: Family::Run,
            max_other_cpu_share: 0.25,
            max_detectable_change: 0.20,
        }
    }
}

/// The family of Welch comparisons that Holm adjusts together.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Every comparison of every metric in the run: the chance of any false
    /// verdict in the whole run stays at most alpha.
    #[default]
    Run,
    /// Each metric's comparisons on their own: at most alpha per metric, so
    /// a run that tests eight metrics can hold more than one false verdict
    /// in twenty runs.
    Metric,
}

impl Family {
    /// How the family reads in a report's sentence ("Holm-adjusted …").
    pub fn describe(self) -> &'static str {
        match self {
            Family::Run => "across every comparison of every metric",
            Family::Metric => "within each metric",
        }
    }
}
