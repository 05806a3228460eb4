//! The planner: experiment → trials in execution order. Pure: no I/O, no
//! clock; the same experiment and seed give the same plan.

mod config;

pub use config::{configurations, Configuration};

use crate::experiment::{Experiment, Order};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// One configuration at one repetition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// Execution position, from 0.
    pub index: usize,
    /// Index into [`Plan::configurations`].
    pub config: usize,
    /// Repetition block, from 0.
    pub repetition: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub seed: u64,
    pub configurations: Vec<Configuration>,
    pub trials: Vec<Trial>,
}

impl Plan {
    pub fn config_of(&self, trial: &Trial) -> &Configuration {
        &self.configurations[trial.config]
    }
}

/// Expand the experiment. With `order: randomized` each repetition is a block
/// holding every configuration once, shuffled with a generator seeded from
/// the experiment seed: blocking keeps slow drift (thermal, background load)
/// from landing on one configuration, shuffling keeps order effects from
/// lining up with a factor.
pub fn expand(e: &Experiment) -> Plan {
    let configurations = configurations(e);
    let mut rng = StdRng::seed_from_u64(e.seed);
    let mut trials = Vec::with_capacity(configurations.len() * e.repetitions as usize);
    for repetition in 0..e.repetitions {
        let mut block: Vec<usize> = (0..configurations.len()).collect();
        if e.order == Order::Randomized {
            block.shuffle(&mut rng);
        }
        for config in block {
            trials.push(Trial {
                index: trials.len(),
                config,
                repetition,
            });
        }
    }
    Plan {
        seed: e.seed,
        configurations,
        trials,
    }
}

#[cfg(test)]
mod tests;
