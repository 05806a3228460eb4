//! The limits an experiment is held to: the table and its checks live in
//! the leaf `crate::limits` (the data-file readers below `experiment` check
//! with them too); the plan's size is checked here, where plans are known.

pub use crate::limits::*;

use crate::error::Rule;

/// The plan's size (configurations × repetitions), checked before anything
/// is planned: `--repetitions` comes through here too.
pub fn size_of_plan(e: &super::Experiment) -> Result<(), Rule> {
    let configurations = match e.design {
        super::Design::Ofat => 1 + e.factors.values().map(Vec::len).sum::<usize>(),
        super::Design::Factorial => e
            .factors
            .values()
            .fold(1usize, |n, levels| n.saturating_mul(levels.len().max(1))),
    };
    let trials = configurations.saturating_mul(e.repetitions.blocks() as usize);
    at_most("trials in the plan", trials, MAX_TRIALS)
}
