//! Shards of a capacity search: each searched whole configurations and
//! wrote a plan of its own as its probes were decided. Their plans are
//! joined one after another in shard order, each shard's configurations
//! and trials numbered on from the last shard's, and its records and
//! monitor samples renumbered alike.

use crate::experiment::Design;
use crate::plan::Configuration;
use crate::results::{PlanLine, RunData};

/// Whether the run is a capacity search (its kept experiment says so).
pub(super) fn is_search(run: &RunData) -> bool {
    let copy = run.dir.join(&run.manifest.experiment.copy);
    crate::experiment::kept_copy(&copy).is_some_and(|e| e.design == Design::Capacity)
}

/// The joined plan's lines, and each shard's trial offset (what its
/// trial numbers move by), `runs` in shard order.
pub(super) fn joined_plan(runs: &[RunData]) -> (Vec<PlanLine>, Vec<usize>) {
    let (mut lines, mut offsets) = (Vec::new(), Vec::new());
    let (mut configs, mut trials) = (0, 0);
    for r in runs {
        offsets.push(trials);
        for t in &r.trials {
            let Some(c) = r.configurations.get(t.config) else {
                continue;
            };
            let mut trial = t.clone();
            trial.index += trials;
            trial.config += configs;
            lines.push(PlanLine {
                trial,
                configuration: Configuration {
                    index: c.index + configs,
                    ..c.clone()
                },
                shard: None,
            });
        }
        configs += r.configurations.len();
        trials += r.trials.len();
    }
    (lines, offsets)
}
