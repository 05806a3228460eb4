//! Capacities held between two runs, for `compare` and `reproduce`: each
//! run's searches rebuilt from its folder (`report::searches::replay`, the
//! one place a capacity is computed from a folder), then B − A per
//! configuration with its interval.

use infer_bench::capacity::between::{self, Change};
use infer_bench::capacity::Outcome;
use infer_bench::experiment::Design;
use infer_bench::results::RunData;
use polars::prelude::*;

/// The run's finished searches; none for a run that is not a capacity
/// design, or whose experiment copy is gone.
pub(super) fn outcomes(run: &RunData) -> anyhow::Result<Vec<Outcome>> {
    let copy = run.dir.join(&run.manifest.experiment.copy);
    let Some(e) = infer_bench::experiment::kept_copy(&copy) else {
        return Ok(Vec::new());
    };
    if e.design != Design::Capacity {
        return Ok(Vec::new());
    }
    let replayed = infer_bench::report::searches::replay(run, &e)?;
    Ok(replayed.into_iter().filter_map(|r| r.outcome).collect())
}

/// A merged capacity search's `capacity.csv`, from its searches replayed
/// over every shard's probes (the difference from the baseline needs the
/// baseline's search, which another shard ran); returns each
/// configuration's line, none for a run that is not a capacity search.
pub(super) fn rewrite_csv(dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let run = infer_bench::results::open_run(dir)?;
    let outcomes = outcomes(&run)?;
    if outcomes.is_empty() {
        return Ok(Vec::new());
    }
    infer_bench::report::searches::write_capacities(dir, &outcomes)?;
    Ok(outcomes.iter().map(Outcome::line).collect())
}

/// Each configuration searched in both runs, B against A; empty where
/// either run is not a capacity search.
pub(super) fn changes(a: &RunData, b: &RunData) -> anyhow::Result<Vec<Change>> {
    let (oa, ob) = (outcomes(a)?, outcomes(b)?);
    Ok(between::changes(&oa, &ob))
}

/// The terminal's table of capacities, with the rule it follows.
pub(super) fn render(changes: &[Change]) -> String {
    let Some(first) = changes.first() else {
        return String::new();
    };
    let (header, rows) = between::lines(changes);
    format!(
        "\nCapacity within the SLOs, B against A: each run's capacity with its {0} % interval, and B − A with its {0} % bootstrap interval (each run's replicates paired at random: the runs are independent); higher or lower where that interval excludes 0.\n\n{1}",
        (first.confidence * 1e4).round() / 1e2,
        infer_bench::report::aligned(&header, &rows)
    )
}

/// `compare --csv`'s capacities, one row per configuration.
pub(super) fn frame(changes: &[Change]) -> PolarsResult<DataFrame> {
    let num = |f: &dyn Fn(&Change) -> f64| changes.iter().map(f).collect::<Vec<f64>>();
    df![
        "configuration" => changes.iter().map(|c| c.configuration.clone()).collect::<Vec<_>>(),
        "factor" => changes.iter().map(|c| c.factor.name().to_string()).collect::<Vec<_>>(),
        "capacity_a" => num(&|c| c.a.0),
        "ci_low_a" => num(&|c| c.a.1.low),
        "ci_high_a" => num(&|c| c.a.1.high),
        "capacity_b" => num(&|c| c.b.0),
        "ci_low_b" => num(&|c| c.b.1.low),
        "ci_high_b" => num(&|c| c.b.1.high),
        "diff" => num(&|c| c.diff),
        "diff_ci_low" => num(&|c| c.interval.low),
        "diff_ci_high" => num(&|c| c.interval.high),
        "confidence" => num(&|c| c.confidence),
        "verdict" => changes.iter().map(|c| c.verdict.as_str().to_string()).collect::<Vec<_>>(),
    ]
}
