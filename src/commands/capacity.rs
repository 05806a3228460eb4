//! What `validate` and `plan` say of a capacity design: the search each
//! configuration gets, and its worst case (every probe at the lowest load,
//! the longest trials, until the budget runs out).

use super::output::outln;
use infer_bench::experiment::{self, CapacitySpec, Level, LoadedExperiment};
use infer_bench::plan;

/// The experiment as a fixed plan of its worst case: each configuration's
/// every probe at `min`, `max_probes × trials_per_probe` trials.
fn worst_case(l: &LoadedExperiment, c: &CapacitySpec) -> LoadedExperiment {
    let mut worst = l.clone();
    let e = &mut worst.experiment;
    let level = match c.factor {
        experiment::CapacityFactor::Rate => Level::Float(c.min),
        experiment::CapacityFactor::Concurrency => Level::Int(c.min as i64),
    };
    e.baseline.insert(c.factor.name().to_string(), level);
    e.repetitions = experiment::Repetitions::Fixed(c.max_probes * c.trials_per_probe);
    e.design = match c.configurations {
        experiment::Arrangement::Ofat => experiment::Design::Ofat,
        experiment::Arrangement::Factorial => experiment::Design::Factorial,
    };
    worst
}

/// The lines `validate` prints for a capacity design.
pub(super) fn describe(l: &LoadedExperiment, c: &CapacitySpec) -> anyhow::Result<()> {
    let show = |x: f64| format!("{}", (x * 1000.0).round() / 1000.0);
    let configurations = plan::configurations(&l.experiment);
    let open = l.experiment.load.kind().is_open();
    let objectives = infer_bench::capacity::objectives(&l.experiment.slo, open);
    outln!(
        "  design:         capacity: each of {} configurations searches {} from {} to {} {}",
        configurations.len(),
        c.factor.name(),
        show(c.min),
        show(c.max),
        c.factor.unit()
    )?;
    outln!(
        "  search:         from {} tripling until an objective fails, then probes where the {} % interval is least informed; stops at ±{} %, or after {} probes of {} trials",
        show(c.min),
        show(c.confidence * 100.0),
        show(c.precision * 100.0),
        c.max_probes,
        c.trials_per_probe
    )?;
    for o in &objectives {
        outln!("  objective:      {}", o.says)?;
    }
    outln!(
        "  shards:         `run --shard I/N` searches the configurations numbered I, I + N, ... (whole searches, one node each; N at most {}); `merge` joins them",
        configurations.len()
    )?;
    let worst = worst_case(l, c);
    let worst_plan = plan::expand(&worst.experiment);
    outln!(
        "  trials:         at most {} ({} per configuration)",
        worst_plan.trials.len(),
        c.max_trials()
    )?;
    let (estimate, basis) = super::estimate::estimate_duration(&worst, &worst_plan, None);
    outln!(
        "  estimate:       at most {} (every probe at {} {}; {basis})",
        humantime::format_duration(super::validate::round_secs(estimate)),
        show(c.min),
        c.factor.unit()
    )?;
    Ok(())
}

/// `plan --shards N` of a capacity design: the configurations each shard
/// searches (configuration c on shard c mod N).
pub(super) fn shards(l: &LoadedExperiment, count: usize) -> anyhow::Result<()> {
    let configurations = plan::configurations(&l.experiment);
    for index in 0..count {
        let mine = plan::Shard { index, count }
            .searches(configurations.len())
            .map_err(|m| infer_bench::error::InputError::in_file(&l.path, m))?;
        let labels: Vec<&str> = mine
            .iter()
            .map(|&c| configurations[c].label.as_str())
            .collect();
        outln!("  shard {index}/{count}:      {}", labels.join(", "))?;
    }
    Ok(())
}
