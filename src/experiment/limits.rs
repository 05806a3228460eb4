//! The limits an experiment is held to: the table and its checks live in
//! the leaf `crate::limits` (the data-file readers below `experiment` check
//! with them too); the plan's size is checked here, where plans are known.

pub use crate::limits::*;

use crate::error::Rule;

/// The plan's size (configurations × repetitions), checked before anything
/// is planned: `--repetitions` comes through here too.
pub fn size_of_plan(e: &super::Experiment) -> Result<(), Rule> {
    let configurations = match e.arrangement() {
        super::Arrangement::Ofat => 1 + e.factors.values().map(Vec::len).sum::<usize>(),
        super::Arrangement::Factorial => e
            .factors
            .values()
            .fold(1usize, |n, levels| n.saturating_mul(levels.len().max(1))),
    };
    // A search's trials are its probes' at most, in place of the blocks.
    let per_config = match &e.capacity {
        Some(c) if e.design == super::Design::Capacity => c.max_trials() as usize,
        _ => e.repetitions.blocks() as usize,
    };
    let trials = configurations.saturating_mul(per_config);
    at_most("trials in the plan", trials, MAX_TRIALS)
}
