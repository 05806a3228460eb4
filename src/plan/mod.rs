//! The planner: experiment → trials in execution order. Pure: no I/O, no
//! clock; the same experiment and seed give the same plan.

// Configurations are the experiment's (validation needs them); the plan
// orders their trials.
pub use crate::experiment::configuration::{configurations, Configuration, BASELINE};

use crate::experiment::{Design, Experiment, Order};
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

impl Trial {
    /// What seeds the trial's draws (lengths, dataset rows and their order,
    /// arrival times): its block, not its position. Every configuration in
    /// a block gets the same draws (common random numbers), so they differ
    /// by their factor and a length draw is never confounded with it. The
    /// texts (rendered prompts, filler, cache-busting tags) stay the
    /// trial's own: one configuration's prompt must never be a cached prefix
    /// of the next one's.
    pub fn draws(&self) -> usize {
        self.repetition as usize
    }

    /// [`Trial::draws`] in a run of `design`. In a capacity search every
    /// trial draws its own (its execution index): the capacity is a level
    /// over the draws, not a difference between probes, and with repetition
    /// k shared by every probe a search saw only `trials_per_probe` arrival
    /// sequences, whose luck moved every probe alike where the interval
    /// takes trials as independent (the 95 % interval covered an M/D/8
    /// queue's capacity in 147 of 200 seeds so, 188 with each trial's own
    /// draws; the README's capacity section).
    pub fn draws_in(&self, design: Design) -> usize {
        match design {
            Design::Capacity => self.index,
            Design::Ofat | Design::Factorial => self.draws(),
        }
    }
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
    let blocks = e.repetitions.blocks();
    let mut trials = Vec::with_capacity(configurations.len() * blocks as usize);
    for repetition in 0..blocks {
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

/// One part of a plan split over several machines: `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `I/N`, as `run --shard` takes it (I from 0).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected I/N such as 0/4, got '{s}'"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("'{v}' is not a whole number (in '{s}')"))
        };
        let (index, count) = (parse(i)?, parse(n)?);
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: expected 0 ≤ I < N"));
        }
        Ok(Shard { index, count })
    }

    /// The trials of this shard: whole repetition blocks, block b going to
    /// shard b mod N, so every shard runs every configuration equally often
    /// and keeps the plan's randomized order within its blocks.
    pub fn trials(&self, plan: &Plan) -> Result<Vec<usize>, String> {
        let blocks = plan
            .trials
            .iter()
            .map(|t| t.repetition as usize + 1)
            .max()
            .unwrap_or(0);
        crate::experiment::validate::shards(self.count, blocks).map_err(|r| r.to_string())?;
        Ok(plan
            .trials
            .iter()
            .filter(|t| t.repetition as usize % self.count == self.index)
            .map(|t| t.index)
            .collect())
    }
}

impl Shard {
    /// A capacity search's configurations of this shard, of `count` (as
    /// [`configurations`] numbers them): configuration c goes to shard
    /// c mod N. A search decides its probes from the ones before, so a
    /// shard takes whole configurations and each node searches its own.
    pub fn searches(&self, count: usize) -> Result<Vec<usize>, String> {
        if self.count > count {
            return Err(format!(
                "{} shards of a capacity search of {count} configurations: each shard searches whole configurations, expected at most {count} shards",
                self.count
            ));
        }
        Ok((0..count)
            .filter(|c| c % self.count == self.index)
            .collect())
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests;
