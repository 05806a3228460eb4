//! `infer-bench compare` and `infer-bench reproduce`.

use crate::analysis::between_runs::{compare_runs, is_regression, tally, RunTrials};
use crate::analysis::compare::{Comparison, Decision};
use crate::error::{InputError, RegressionError};
use crate::metrics::METRICS;
use crate::report::html::compare::Side;
use crate::results::{read_run, RunData};
use crate::runner;
use anyhow::Context as _;
use polars::prelude::DataFrame;
use std::path::Path;

pub struct CompareOptions {
    pub fail_on_regression: bool,
    pub metrics: Vec<String>,
    pub decision: Decision,
    pub force: bool,
    /// The HTML comparison's path; next to run B when absent.
    pub html: Option<std::path::PathBuf>,
}

/// Compare two run folders; prints the table and returns the comparisons.
pub fn compare(a: &Path, b: &Path, o: &CompareOptions) -> anyhow::Result<Vec<Comparison>> {
    for m in &o.metrics {
        if !METRICS.iter().any(|x| x.column == m) {
            let names: Vec<&str> = METRICS.iter().map(|x| x.column).collect();
            return Err(InputError::new(format!(
                "unknown metric '{m}', expected one of {}",
                names.join(", ")
            ))
            .into());
        }
    }
    if !(o.decision.alpha > 0.0 && o.decision.alpha < 1.0) || o.decision.threshold < 0.0 {
        return Err(InputError::new("--alpha must lie in (0, 1) and --threshold be ≥ 0").into());
    }
    let (ra, rb) = (read_run(a)?, read_run(b)?);
    if ra.manifest.experiment_name != rb.manifest.experiment_name && !o.force {
        return Err(InputError::new(format!(
            "the runs are of different experiments ('{}' and '{}'); --force compares them anyway, matching configurations by their factor levels",
            ra.manifest.experiment_name, rb.manifest.experiment_name
        ))
        .into());
    }
    let (ta, tb) = (runner::trial_table(&ra)?, runner::trial_table(&rb)?);
    let rows = compare_tables(&ra, &ta, &rb, &tb, &o.metrics, o.decision)?;
    print!("{}", render(&ra, &rb, &rows, o.decision));
    let page = crate::report::html::compare::compare_page(
        &Side {
            run: &ra,
            trials: &ta,
        },
        &Side {
            run: &rb,
            trials: &tb,
        },
        &rows,
        o.decision,
    )?;
    let html = o
        .html
        .clone()
        .unwrap_or_else(|| b.join(format!("compare-{}.html", ra.manifest.run_id)));
    std::fs::write(&html, page).with_context(|| format!("writing {}", html.display()))?;
    eprintln!("report: {}", html.display());
    if o.fail_on_regression && rows.iter().any(is_regression) {
        return Err(RegressionError(format!(
            "{} in {} against {}",
            tally(&rows),
            b.display(),
            a.display()
        ))
        .into());
    }
    Ok(rows)
}

fn compare_loaded(
    a: &RunData,
    b: &RunData,
    metrics: &[String],
    d: Decision,
) -> anyhow::Result<Vec<Comparison>> {
    let (ta, tb) = (runner::trial_table(a)?, runner::trial_table(b)?);
    compare_tables(a, &ta, b, &tb, metrics, d)
}

fn compare_tables(
    a: &RunData,
    ta: &DataFrame,
    b: &RunData,
    tb: &DataFrame,
    metrics: &[String],
    d: Decision,
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
    anyhow::ensure!(
        !rows.is_empty(),
        "the two runs share no configuration (by factor levels)"
    );
    Ok(rows)
}

fn render(a: &RunData, b: &RunData, rows: &[Comparison], d: Decision) -> String {
    use crate::report::aligned;
    let mut out = format!(
        "A: {} ({})\nB: {} ({})\nB against A: Welch's t-test over trials, Holm-adjusted per metric; a verdict needs p < {} and a change over {}%\n\n",
        a.dir.display(),
        a.manifest.run_id,
        b.dir.display(),
        b.manifest.run_id,
        d.alpha,
        d.threshold * 100.0
    );
    let (header, table) = crate::report::between_runs_lines(rows);
    out.push_str(&aligned(&header, &table));
    out.push_str(&format!("\n{}\n", tally(rows)));
    out
}

/// Run the experiment of `run` again into `out` and compare the new run with it.
pub fn reproduce(run: &Path, out: &Path, quiet: bool) -> anyhow::Result<()> {
    let original = read_run(run)?;
    let m = &original.manifest;
    // The experiment file as it was: the original path when it still holds
    // the same text (its relative paths then resolve as before), else the copy.
    let original_path = Path::new(&m.experiment.path);
    let same = std::fs::read(original_path)
        .is_ok_and(|b| crate::results::sha256_hex(&b) == m.experiment.sha256);
    let mut loaded = if same {
        crate::experiment::load(original_path)?
    } else {
        let copy = run.join(&m.experiment.copy);
        eprintln!(
            "{} changed or is gone; using the copy in the run folder ({}); its relative paths resolve against the run folder",
            original_path.display(),
            copy.display()
        );
        let text = std::fs::read_to_string(&copy)?;
        let mut e = crate::experiment::parse(&copy, &text)?;
        e.prompts = m.prompts.copy.clone();
        let text = serde_yaml::to_string(&e)?;
        crate::experiment::load_str(&copy, text)?
    };
    anyhow::ensure!(
        loaded.experiment.seed == m.seed,
        "the experiment's seed differs from the run's"
    );
    // The run's own --repetitions/--requests, so the plan is the same.
    super::apply_overrides(&mut loaded, m.overrides)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = rt.block_on(runner::run(
        &loaded,
        &runner::RunOptions {
            out: out.to_path_buf(),
            progress: !quiet,
            resume: None,
            overrides: m.overrides,
            shard: m.shard,
        },
    ))?;
    runner::report_dir(&dir, &[])?;
    let again = read_run(&dir)?;
    let stats = loaded.experiment.stats;
    let d = Decision {
        alpha: stats.alpha,
        threshold: stats.threshold,
    };
    let rows = compare_loaded(&original, &again, &[], d)?;
    print!("{}", render(&original, &again, &rows, d));
    let reproduced = rows
        .iter()
        .filter(|c| c.verdict == crate::analysis::verdict::Verdict::NoSignificantChange)
        .count();
    println!(
        "reproduced within noise: {reproduced} of {} comparisons (the rest changed significantly or could not be tested)\nnew run: {}",
        rows.len(),
        dir.display()
    );
    Ok(())
}
