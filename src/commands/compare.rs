//! `infer-bench compare`: two run folders, configuration by configuration.

use super::output::{note, out};
use infer_bench::analysis::between_runs::{compare_runs, is_regression, tally, RunTrials};
use infer_bench::analysis::compare::{Comparison, Decision};
use infer_bench::capacity::between::{Change, Verdict};
use infer_bench::error::{InputError, RegressionError};
use infer_bench::report::html::compare::Side;
use infer_bench::report::trial_table;
use infer_bench::results::{open_run, RunData};
use polars::prelude::DataFrame;
use std::path::Path;

pub struct CompareOptions {
    pub fail_on_regression: bool,
    pub metrics: Vec<String>,
    pub decision: Decision,
    pub force: bool,
    /// The HTML comparison's path; next to run B when absent.
    pub html: Option<std::path::PathBuf>,
    /// Every comparison as CSV, when asked.
    pub csv: Option<std::path::PathBuf>,
}

/// Compare two run folders; prints the table and returns the comparisons.
pub fn compare(a: &Path, b: &Path, o: &CompareOptions) -> anyhow::Result<Vec<Comparison>> {
    for m in &o.metrics {
        infer_bench::experiment::validate::metric(m).map_err(InputError::from)?;
    }
    check_decision(o.decision)?;
    let (ra, rb) = (open_run(a)?, open_run(b)?);
    if ra.manifest.experiment_name != rb.manifest.experiment_name && !o.force {
        return Err(InputError::new(format!(
            "the runs are of different experiments ('{}' and '{}'); --force compares them anyway, matching configurations by their factor levels",
            ra.manifest.experiment_name, rb.manifest.experiment_name
        ))
        .into());
    }
    let (ta, tb) = (trial_table(&ra)?, trial_table(&rb)?);
    let capacities = super::capacities::changes(&ra, &rb)?;
    // Two capacity searches rarely probe the same loads: their capacities
    // are the comparison, and probes in common only add to it.
    let rows = compare_tables(
        (&ra, &ta),
        (&rb, &tb),
        &o.metrics,
        o.decision,
        !capacities.is_empty(),
    )?;
    // The page and the verdict still follow a stdout that failed.
    let printed = out!(
        "{}{}",
        render(&ra, &rb, &rows, o.decision),
        super::capacities::render(&capacities)
    );
    if let Some(path) = &o.csv {
        write_csvs(path, &rows, &capacities)?;
    }
    let page = infer_bench::report::html::compare::compare_page(
        &Side {
            run: &ra,
            trials: &ta,
        },
        &Side {
            run: &rb,
            trials: &tb,
        },
        &rows,
        &capacities,
        o.decision,
    )?;
    let html = o
        .html
        .clone()
        .unwrap_or_else(|| b.join(format!("compare-{}.html", ra.manifest.run_id)));
    infer_bench::results::write_file(&html, page)?;
    note!("report: {}", html.display());
    if o.fail_on_regression {
        regressions(&rows, &capacities, (a, b))?;
    }
    printed?;
    Ok(rows)
}

/// `--csv PATH`: the Welch rows there, the capacities beside it.
fn write_csvs(path: &Path, rows: &[Comparison], capacities: &[Change]) -> anyhow::Result<()> {
    let mut frame = infer_bench::analysis::between_runs::frame(rows)?;
    infer_bench::results::write_csv(&mut frame, path)?;
    note!("comparisons: {}", path.display());
    if !capacities.is_empty() {
        let path = capacity_csv(path);
        let mut frame = super::capacities::frame(capacities)?;
        infer_bench::results::write_csv(&mut frame, &path)?;
        note!("capacities: {}", path.display());
    }
    Ok(())
}

/// A regression (exit 3): a Welch row slower or less, or a capacity
/// whose interval of B − A lies wholly below 0.
fn regressions(
    rows: &[Comparison],
    capacities: &[Change],
    (a, b): (&Path, &Path),
) -> anyhow::Result<()> {
    let lower = capacities
        .iter()
        .filter(|c| c.verdict == Verdict::Lower)
        .count();
    if !rows.iter().any(is_regression) && lower == 0 {
        return Ok(());
    }
    Err(RegressionError(format!(
        "{}{} in {} against {}",
        tally(rows),
        match lower {
            0 => String::new(),
            1 => "; 1 capacity lower".to_string(),
            n => format!("; {n} capacities lower"),
        },
        b.display(),
        a.display()
    ))
    .into())
}

/// The flags' statistics, held to the rule of an experiment's `stats:`.
pub(super) fn check_decision(d: Decision) -> anyhow::Result<()> {
    let spec = infer_bench::experiment::StatsSpec {
        alpha: d.alpha,
        threshold: d.threshold,
        equivalence: d.equivalence,
        family: d.family,
        ..Default::default()
    };
    infer_bench::experiment::validate::stats(&spec).map_err(|_| {
        InputError::new(
            "--alpha must lie in (0, 0.5), --threshold be ≥ 0 and --equivalence above 0",
        )
    })?;
    Ok(())
}

pub(super) fn compare_loaded(
    a: &RunData,
    b: &RunData,
    metrics: &[String],
    d: Decision,
) -> anyhow::Result<Vec<Comparison>> {
    let (ta, tb) = (trial_table(a)?, trial_table(b)?);
    let capacities = !super::capacities::outcomes(a)?.is_empty();
    compare_tables((a, &ta), (b, &tb), metrics, d, capacities)
}

/// `compare --csv PATH`'s capacities: beside PATH, `-capacity` added to its stem.
fn capacity_csv(path: &Path) -> std::path::PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}-capacity.csv"))
}

/// The Welch rows of the configurations both runs hold; none is an error
/// unless `capacities` (the runs are capacity searches, compared by their
/// capacities).
fn compare_tables(
    (a, ta): (&RunData, &DataFrame),
    (b, tb): (&RunData, &DataFrame),
    metrics: &[String],
    d: Decision,
    capacities: bool,
) -> anyhow::Result<Vec<Comparison>> {
    let rows = compare_runs(
        &RunTrials {
            trials: ta,
            configs: &a.configurations,
        },
        &RunTrials {
            trials: tb,
            configs: &b.configurations,
        },
        metrics,
        d,
    )?;
    if rows.is_empty() && !capacities {
        let why = infer_bench::analysis::between_runs::differing_levels(
            &a.configurations,
            &b.configurations,
        );
        anyhow::bail!(
            "the two runs share no configuration (by factor levels); the levels that do not meet:\n  {}",
            why.join("\n  ")
        );
    }
    Ok(rows)
}

fn render(a: &RunData, b: &RunData, rows: &[Comparison], d: Decision) -> String {
    use infer_bench::report::aligned;
    let mut out = format!(
        "A: {} ({})\nB: {} ({})\nB against A: Welch's t-test over trials, Holm-adjusted {}; a verdict needs p < {} and a change over {}%.\nEquivalence: TOST within ±{}% of A's mean, p < {} (the 90% CI inside the margin).\n\n",
        a.dir.display(),
        a.manifest.run_id,
        b.dir.display(),
        b.manifest.run_id,
        d.family.describe(),
        d.alpha,
        d.threshold * 100.0,
        d.equivalence * 100.0,
        d.alpha,
    );
    if rows.is_empty() {
        out.push_str("(no configuration was run at the same load in both)\n");
        return out;
    }
    let (header, table) = infer_bench::report::between_runs_lines(rows);
    out.push_str(&aligned(&header, &table));
    out.push_str(&format!("\n{}\n", tally(rows)));
    out
}
