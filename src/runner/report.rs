//! From a run folder's records to its tables and reports.

use crate::analysis;
use crate::report::{self, ReportInput};
use crate::results::{self, RunData, MONITOR, REQUESTS, TRIALS};

pub struct ReportOutput {
    /// What the terminal formats rendered (the table, ...).
    pub terminal: String,
    /// Expectations the run refuted.
    pub refuted: usize,
    pub written: Vec<std::path::PathBuf>,
}

/// Build `requests.parquet`, `trials.parquet`, `summary.csv` and the
/// requested report files from the durable request log.
/// The per-trial table of a run, computed from its records.
pub fn trial_table(run: &RunData) -> anyhow::Result<polars::prelude::DataFrame> {
    let stored = run.dir.join(results::TRIALS);
    if run.records.is_empty() && stored.is_file() {
        // A reference run kept without its request log.
        return results::read_parquet(&stored);
    }
    anyhow::ensure!(
        !run.records.is_empty(),
        "{}: the run has no records",
        run.dir.display()
    );
    let requests = results::requests_frame(&run.records, &run.configurations)?;
    let monitor = analysis::monitor_frame(&run.samples)?;
    let terms = experiment_of(run).map(|e| terms(&e)).unwrap_or_default();
    Ok(analysis::trials_with_memory(
        &requests,
        &monitor,
        &run.configurations,
        &terms,
    )?)
}

/// The SLOs and price the experiment declared (the defaults where its copy is gone).
fn terms(e: &crate::experiment::Experiment) -> analysis::ServiceTerms {
    analysis::ServiceTerms {
        slo: e.slo,
        cost: e.cost.clone(),
    }
}

/// The experiment as the run folder keeps it.
fn experiment_of(run: &RunData) -> Option<crate::experiment::Experiment> {
    let copy = run.dir.join(&run.manifest.experiment.copy);
    let text = std::fs::read_to_string(&copy).ok()?;
    crate::experiment::parse(&copy, &text).ok()
}

pub fn analyse_run(run: &RunData, formats: &[String]) -> anyhow::Result<ReportOutput> {
    anyhow::ensure!(
        !run.records.is_empty(),
        "{}: the run has no records yet",
        run.dir.display()
    );
    let mut requests = results::requests_frame(&run.records, &run.configurations)?;
    let mut monitor = analysis::monitor_frame(&run.samples)?;
    // alpha, threshold and expectations come from the experiment copy.
    let spec = experiment_of(run);
    let (stats, expect) = spec
        .as_ref()
        .map(|e| (e.stats, e.expect.clone()))
        .unwrap_or_default();
    let decision = analysis::compare::Decision::from(stats);
    let terms = spec.as_ref().map(terms).unwrap_or_default();
    let mut a = analysis::analyse(&requests, &monitor, &run.configurations, decision, &terms)?;
    let mut written = Vec::new();
    let mut out = |name: &str| {
        let p = run.dir.join(name);
        written.push(p.clone());
        p
    };
    results::write_parquet(&mut requests, &out(REQUESTS))?;
    results::write_parquet(&mut a.trials, &out(TRIALS))?;
    if monitor.height() > 0 {
        results::write_parquet(&mut monitor, &out(MONITOR))?;
    }
    let checked = analysis::expect::check(&a.trials, &run.configurations, &expect, decision)?;
    let mut estimates = analysis::compare::estimates_frame(&a.estimates)?;
    results::write_csv(&mut estimates, &out("estimates.csv"))?;
    let mut stats = analysis::compare::comparisons_frame(&a.comparisons)?;
    results::write_csv(&mut stats, &out("stats.csv"))?;
    // Interactions need every combination: only a factorial run has them.
    let effects = match spec.as_ref() {
        Some(e) if e.design == crate::experiment::Design::Factorial => {
            let factors: Vec<String> = e.factors.keys().cloned().collect();
            let rows = analysis::anova::effects(&a.trials, &run.configurations, &factors)?;
            let mut frame = analysis::anova::effects_frame(&rows)?;
            results::write_csv(&mut frame, &out("effects.csv"))?;
            rows
        }
        _ => Vec::new(),
    };

    let input = ReportInput {
        run,
        spec: spec.as_ref(),
        rows: &a.rows,
        summary: &a.summary,
        comparisons: &a.comparisons,
        estimates: &a.estimates,
        decision,
        expectations: &checked,
        effects: &effects,
    };
    let mut terminal = String::new();
    // summary.csv, report.md and report.html are always written; --format
    // adds the others.
    let mut names: Vec<&str> = vec!["csv", "md", "html"];
    names.extend(formats.iter().map(String::as_str));
    names.dedup();
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name) {
            continue;
        }
        let Some(exporter) = report::exporter(name) else {
            return Err(crate::error::InputError::new(format!(
                "unknown report format '{name}', expected one of {}",
                report::FORMATS.join(", ")
            ))
            .into());
        };
        let text = exporter.render(&input)?;
        match exporter.file_name() {
            Some(file) => std::fs::write(out(file), text)?,
            None => terminal.push_str(&text),
        }
    }
    let refuted = checked
        .iter()
        .filter(|c| c.outcome == crate::analysis::verdict::ExpectOutcome::Refuted)
        .count();
    Ok(ReportOutput {
        terminal,
        refuted,
        written,
    })
}
