//! Upper bounds on what an experiment may ask for. Each is far beyond any
//! real benchmark and far below what would overflow a clock or exhaust
//! memory while planning: a number past one is a typo, refused by
//! `validate` (exit 2) rather than a panic or an allocation abort at run time.

pub use crate::duration::MAX_DURATION;
pub const MAX_REPETITIONS: u32 = 10_000;
/// Requests in one trial (or its warm-up).
pub const MAX_REQUESTS: u32 = 10_000_000;
/// Trials in a plan (configurations × repetitions).
pub const MAX_TRIALS: usize = 1_000_000;
/// Requests an open loop schedules in one trial (rate × duration).
pub const MAX_SCHEDULED: f64 = 10_000_000.0;
pub const MAX_CONCURRENCY: u64 = 100_000;
pub const MAX_RATE: f64 = 1_000_000.0;
pub const MAX_BATCH: u64 = 4096;
pub const MAX_TOKENS: u64 = 10_000_000;

use crate::error::Rule;

/// `what` is at most `max`, or the rule that says so.
pub fn at_most<T: PartialOrd + std::fmt::Display>(what: &str, n: T, max: T) -> Result<(), Rule> {
    if n > max {
        return Err(Rule::TooLarge {
            what: what.to_string(),
            value: n.to_string(),
            max: max.to_string(),
        });
    }
    Ok(())
}

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
