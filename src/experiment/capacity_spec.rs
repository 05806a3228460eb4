//! `design: capacity`: which load factor a search moves, between which
//! bounds, and how precise its answer must be before it stops.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The load factor a capacity search moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CapacityFactor {
    /// Requests per second, offered by an open loop (`load: poisson`, gamma, constant).
    Rate,
    /// Requests in flight, a closed loop.
    Concurrency,
}

impl CapacityFactor {
    pub fn name(self) -> &'static str {
        match self {
            CapacityFactor::Rate => "rate",
            CapacityFactor::Concurrency => "concurrency",
        }
    }

    /// The unit a capacity is said in.
    pub fn unit(self) -> &'static str {
        match self {
            CapacityFactor::Rate => "req/s",
            CapacityFactor::Concurrency => "in flight",
        }
    }
}

/// How the other factors form the configurations that each get a search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Arrangement {
    /// The baseline, then one factor changed at a time.
    #[default]
    Ofat,
    /// Every combination of the factors' levels.
    Factorial,
}

/// `capacity:` — the search each configuration gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacitySpec {
    /// `rate` (open loop) or `concurrency` (closed loop). The search sets it:
    /// it is neither in the baseline nor among the factors.
    pub factor: CapacityFactor,
    /// The lowest load offered.
    pub min: f64,
    /// The highest load ever offered.
    pub max: f64,
    /// Of the interval on the capacity.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Stop when the interval's half-width is at most this share of the estimate.
    #[serde(default = "default_precision")]
    pub precision: f64,
    /// Most probes per configuration (a probe is one load, tried as
    /// `trials_per_probe` trials); the result says when it stopped on it.
    #[serde(default = "default_max_probes")]
    pub max_probes: u32,
    /// Trials at each probe: the unit of replication stays the trial.
    #[serde(default = "default_trials_per_probe")]
    pub trials_per_probe: u32,
    /// How the other factors form the configurations.
    #[serde(default)]
    pub configurations: Arrangement,
}

fn default_confidence() -> f64 {
    0.95
}

fn default_precision() -> f64 {
    0.05
}

fn default_max_probes() -> u32 {
    20
}

fn default_trials_per_probe() -> u32 {
    2
}

/// Most probes a search may take: each is a trial or more of the plan.
pub const MAX_PROBES: u32 = 200;

impl CapacitySpec {
    /// What is wrong with the numbers, as (field, message); none when sound.
    pub fn check(&self) -> Option<(&'static str, String)> {
        let show = crate::limits::show;
        let whole = self.factor == CapacityFactor::Concurrency;
        for (field, v) in [("min", self.min), ("max", self.max)] {
            if !(v.is_finite() && v > 0.0) || (whole && v.fract() != 0.0) {
                let what = if whole {
                    "a whole number ≥ 1"
                } else {
                    "a number > 0"
                };
                return Some((
                    field,
                    format!("capacity {field} must be {what}, got {}", show(v)),
                ));
            }
        }
        if self.min >= self.max {
            return Some((
                "max",
                format!(
                    "capacity max {} must be above min {}, or there is nothing to search",
                    show(self.max),
                    show(self.min)
                ),
            ));
        }
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            let got = show(self.confidence);
            return Some((
                "confidence",
                format!("confidence must lie between 0.5 and 1 (e.g. 0.95), got {got}"),
            ));
        }
        if !(self.precision > 0.0 && self.precision < 1.0) {
            let got = show(self.precision);
            return Some((
                "precision",
                format!(
                    "precision is a share of the estimate between 0 and 1 (e.g. 0.05), got {got}"
                ),
            ));
        }
        if !(3..=MAX_PROBES).contains(&self.max_probes) {
            return Some((
                "max_probes",
                format!(
                    "max_probes must be 3 to {MAX_PROBES} (two to bracket, one to refine), got {}",
                    self.max_probes
                ),
            ));
        }
        if !(2..=100).contains(&self.trials_per_probe) {
            return Some((
                "trials_per_probe",
                format!(
                    "trials_per_probe must be 2 to 100 (the interval resamples trials within each probe), got {}",
                    self.trials_per_probe
                ),
            ));
        }
        None
    }

    /// Most trials one configuration's search may run.
    pub fn max_trials(&self) -> u64 {
        u64::from(self.max_probes) * u64::from(self.trials_per_probe)
    }
}

impl super::Experiment {
    /// How the factors form configurations: the design's own, or under
    /// `design: capacity` the capacity block's.
    pub fn arrangement(&self) -> Arrangement {
        match (self.design, &self.capacity) {
            (super::Design::Factorial, _) => Arrangement::Factorial,
            (super::Design::Capacity, Some(c)) => c.configurations,
            _ => Arrangement::Ofat,
        }
    }
}
