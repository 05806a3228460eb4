//! `infer-bench reproduce`: run a recorded experiment again, or an
//! experiment against a table of published numbers, and say per
//! configuration and metric whether the result reproduced: equivalent
//! within the margin (TOST), different, or inconclusive.

use super::compare::{check_decision, compare_loaded};
use super::output::{note, out};
use infer_bench::analysis::compare::{Comparison, Decision};
use infer_bench::analysis::verdict::Equivalence;
use infer_bench::capacity::between::{Change, Reproduction};
use infer_bench::error::InputError;
use infer_bench::experiment::LoadedExperiment;
use infer_bench::report::{aligned, format_num, p_value, pct};
use infer_bench::results::{environment, open_run, RunData};
use infer_bench::runner;
use std::path::{Path, PathBuf};

pub struct ReproduceOptions {
    pub out: PathBuf,
    pub quiet: bool,
    /// A published table to hold the new run against, instead of a run.
    pub published: Option<PathBuf>,
    /// The margin, when the command line sets it.
    pub equivalence: Option<f64>,
    /// A result shown different is an error (exit 3).
    pub fail_on_difference: bool,
    /// Run again even where a dataset or trace changed since the run.
    pub allow_changed: bool,
}

/// What a comparison's equivalence verdict means for a reproduction.
pub fn reproduction(c: &Comparison) -> &'static str {
    match c.equivalence {
        Equivalence::Equivalent => "reproduced",
        Equivalence::Different => "not reproduced",
        _ => "inconclusive",
    }
}

pub fn reproduce(target: &Path, o: &ReproduceOptions) -> anyhow::Result<()> {
    match &o.published {
        Some(table) => published(target, table, o),
        None => again(target, o),
    }
}

fn decision_of(l: &LoadedExperiment, o: &ReproduceOptions) -> anyhow::Result<Decision> {
    let mut d = Decision::from(l.experiment.stats);
    if let Some(e) = o.equivalence {
        d.equivalence = e;
    }
    check_decision(d)?;
    Ok(d)
}

/// Run `loaded` into `out`, report it, and read it back.
fn run_and_read(
    loaded: &LoadedExperiment,
    o: &ReproduceOptions,
    overrides: infer_bench::results::Overrides,
    shard: Option<infer_bench::plan::Shard>,
) -> anyhow::Result<RunData> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = rt.block_on(runner::run(
        loaded,
        &runner::RunOptions {
            out: o.out.clone(),
            progress: !o.quiet,
            resume: None,
            overrides,
            shard,
        },
    ))?;
    let after = format!(
        "the new run {0} is complete; `infer-bench report {0}` writes its report, `infer-bench compare` holds it against the recorded one",
        dir.display()
    );
    super::signals::until_signal(&after, || infer_bench::report::report_dir(&dir, &[]))?;
    open_run(&dir)
}

/// The recorded run again: same experiment text, seed and plan.
fn again(run: &Path, o: &ReproduceOptions) -> anyhow::Result<()> {
    let original = open_run(run)?;
    let m = &original.manifest;
    // The experiment file as it was: the original path when it still holds
    // the same text (its relative paths then resolve as before), else the copy.
    let original_path = Path::new(&m.experiment.path);
    let same = std::fs::read(original_path)
        .is_ok_and(|b| infer_bench::results::sha256_hex(&b) == m.experiment.sha256);
    let mut loaded = if same {
        infer_bench::experiment::load(original_path)?
    } else {
        let copy = run.join(&m.experiment.copy);
        note!(
            "{} changed or is gone; using the copy in the run folder ({}); its relative paths resolve against the run folder",
            original_path.display(),
            copy.display()
        );
        infer_bench::experiment::limits::small_file("the experiment copy", &copy)
            .map_err(|r| InputError::in_file(&copy, r.to_string()))?;
        let text = std::fs::read_to_string(&copy)?;
        let mut e = infer_bench::experiment::parse(&copy, &text)?;
        e.prompts = m.prompts.copy.clone();
        let text = serde_yaml::to_string(&e)?;
        infer_bench::experiment::load_str(&copy, text)?
    };
    anyhow::ensure!(
        loaded.experiment.seed == m.seed,
        "the experiment's seed differs from the run's"
    );
    // The run's own --repetitions/--requests, so the plan is the same.
    super::apply_overrides(&mut loaded, m.overrides)?;
    check_data_files(m, &loaded, o.allow_changed)?;
    let d = decision_of(&loaded, o)?;
    let now = run_and_read(&loaded, o, m.overrides, m.shard)?;
    let rows = compare_loaded(&original, &now, &[], d)?;
    let capacities = super::capacities::changes(&original, &now)?;
    let mut out = format!(
        "recorded: {} ({})\nnow:      {} ({})\n",
        original.dir.display(),
        m.run_id,
        now.dir.display(),
        now.manifest.run_id
    );
    out.push_str(&environment_lines(&original, &now));
    if !rows.is_empty() || capacities.is_empty() {
        out.push_str(&verdict_table(&rows, d, "recorded", "now"));
    }
    out.push_str(&capacity_table(&capacities, d));
    let printed = out!("{out}");
    let missed = capacities
        .iter()
        .filter(|c| c.reproduction(d.equivalence, d.alpha) == Reproduction::NotReproduced)
        .count();
    gate(&rows, (missed, capacities.len()), o, &original.dir)?;
    Ok(printed?)
}

/// Each configuration's capacity now against the recorded one: B − A with
/// its bootstrap interval, reproduced where the 1 − 2α interval lies
/// within ±margin of the recorded capacity (TOST's rule, on the
/// bootstrap's percentile interval), not reproduced where the 1 − α
/// interval lies wholly outside it.
fn capacity_table(changes: &[Change], d: Decision) -> String {
    let Some(first) = changes.first() else {
        return String::new();
    };
    // As percentages, without the float's last-digit noise.
    let pc = |x: f64| (x * 1e4).round() / 1e2;
    let ci = format!("{}% CI", pc(1.0 - 2.0 * d.alpha));
    let header = [
        "configuration",
        "unit",
        "recorded",
        "now",
        "now − recorded",
        &ci,
        "margin",
        "verdict",
    ]
    .map(String::from)
    .to_vec();
    let n = |x: f64| format!("{x:.1}");
    let table: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            let i = c.interval_at(1.0 - 2.0 * d.alpha);
            let m = d.equivalence * c.a.0.abs();
            vec![
                c.configuration.clone(),
                c.factor.unit().to_string(),
                format!("{} [{}, {}]", n(c.a.0), n(c.a.1.low), n(c.a.1.high)),
                format!("{} [{}, {}]", n(c.b.0), n(c.b.1.low), n(c.b.1.high)),
                format!("{:+.1}", c.diff),
                format!("[{:+.1}, {:+.1}]", i.low, i.high),
                format!("±{}", n(m)),
                c.reproduction(d.equivalence, d.alpha).as_str().to_string(),
            ]
        })
        .collect();
    let count = |r: Reproduction| {
        changes
            .iter()
            .filter(|c| c.reproduction(d.equivalence, d.alpha) == r)
            .count()
    };
    format!(
        "\nCapacity per configuration ({}% intervals on each run's): reproduced when the {}% bootstrap interval of now − recorded lies within ±{}% of the recorded capacity, not reproduced when the {}% interval lies wholly outside it.\n\n{}\ncapacities reproduced: {} · not reproduced: {} · inconclusive: {} (of {})\n",
        pc(first.confidence),
        pc(1.0 - 2.0 * d.alpha),
        pc(d.equivalence),
        pc(1.0 - d.alpha),
        aligned(&header, &table),
        count(Reproduction::Reproduced),
        count(Reproduction::NotReproduced),
        count(Reproduction::Inconclusive),
        changes.len()
    )
}

/// The datasets and traces the run read, held against the files the
/// reproduction would read: a changed one makes it another experiment, so
/// it is refused (exit 2) naming each file with its old and new hash, unless
/// `--allow-changed`, where the same lines are a warning.
fn check_data_files(
    m: &infer_bench::results::Manifest,
    loaded: &LoadedExperiment,
    allow_changed: bool,
) -> anyhow::Result<()> {
    let now = infer_bench::results::data_files(loaded)?;
    let mut changed = Vec::new();
    for was in &m.data_files {
        let same_place =
            |f: &&infer_bench::results::DataFile| f.workload == was.workload && f.key == was.key;
        let what = format!("the {} of workload '{}'", was.key, was.workload);
        match now.iter().find(same_place) {
            Some(f) if f.sha256 == was.sha256 => {}
            Some(f) => changed.push(format!(
                "{what} changed since run {}: {} (sha256 {} then, {} now)",
                m.run_id, f.path, was.sha256, f.sha256
            )),
            None => changed.push(format!(
                "{what} ({}, sha256 {}) is no longer read by the experiment",
                was.path, was.sha256
            )),
        }
    }
    for f in &now {
        if !m
            .data_files
            .iter()
            .any(|w| w.workload == f.workload && w.key == f.key)
        {
            // A run folder from before data files were hashed records none.
            if !m.data_files.is_empty() {
                changed.push(format!(
                    "the {} of workload '{}' ({}) was not read by run {}",
                    f.key, f.workload, f.path, m.run_id
                ));
            }
        }
    }
    if changed.is_empty() {
        return Ok(());
    }
    if allow_changed {
        for line in &changed {
            note!("warning: {line}; reproducing anyway (--allow-changed)");
        }
        return Ok(());
    }
    Err(InputError::new(format!(
        "{}; a reproduction would run another experiment, expected the same data files \
         (restore them, or pass --allow-changed to run with the files as they are now)",
        changed.join("; ")
    ))
    .into())
}

/// With --fail-on-difference, rows (and capacities: how many not
/// reproduced, of how many) shown different end the command with exit 3.
fn gate(
    rows: &[Comparison],
    (missed, capacities): (usize, usize),
    o: &ReproduceOptions,
    against: &Path,
) -> anyhow::Result<()> {
    let different = rows
        .iter()
        .filter(|c| reproduction(c) == "not reproduced")
        .count()
        + missed;
    if o.fail_on_difference && different > 0 {
        return Err(infer_bench::error::RegressionError(format!(
            "{different} of {} results did not reproduce {}",
            rows.len() + capacities,
            against.display()
        ))
        .into());
    }
    Ok(())
}

/// What differs between the two runs' environments, or that nothing does.
fn environment_lines(a: &RunData, b: &RunData) -> String {
    let diff = environment::differences(&a.manifest, &b.manifest);
    if diff.is_empty() {
        return "environment: the same as recorded (CPU, cores, GPU, OS, server, model, infer-bench)\n\n".into();
    }
    let table: Vec<Vec<String>> = diff
        .into_iter()
        .map(|(what, x, y)| vec![what.to_string(), x, y])
        .collect();
    let header = ["differs", "recorded", "now"].map(String::from).to_vec();
    format!(
        "environment: {} item(s) differ, so a difference below may be the machine's\n{}\n",
        table.len(),
        aligned(&header, &table)
    )
}

/// One line per configuration and metric, then the count of each verdict.
fn verdict_table(rows: &[Comparison], d: Decision, a: &str, b: &str) -> String {
    let header = [
        "configuration",
        "metric",
        a,
        b,
        "change",
        "90% CI",
        "TOST p",
        "verdict",
    ]
    .map(String::from)
    .to_vec();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|c| {
            let verdict = match &c.equivalence {
                Equivalence::NotTestable(why) if why.starts_with("point estimate") => why.clone(),
                Equivalence::NotTestable(why) => format!("inconclusive ({why})"),
                _ => reproduction(c).to_string(),
            };
            vec![
                c.baseline_level.clone(),
                infer_bench::metrics::label(&c.metric),
                format_num(c.mean_baseline),
                format_num(c.mean),
                pct(c.rel_diff),
                format!("[{}, {}]", pct(c.ci90_low), pct(c.ci90_high)),
                p_value(c.p_tost),
                verdict,
            ]
        })
        .collect();
    let count = |word: &str| rows.iter().filter(|c| reproduction(c) == word).count();
    format!(
        "TOST per configuration and metric: reproduced when the {}% CI of the change lies within ±{}% (p < {}), not reproduced when the {}% CI lies wholly outside it.\n\n{}\nreproduced: {} · not reproduced: {} · inconclusive: {} (of {})\n",
        100.0 - 200.0 * d.alpha,
        d.equivalence * 100.0,
        d.alpha,
        100.0 - 100.0 * d.alpha,
        aligned(&header, &table),
        count("reproduced"),
        count("not reproduced"),
        count("inconclusive"),
        rows.len()
    )
}

/// The experiment at `path`, held against a published table.
fn published(path: &Path, table: &Path, o: &ReproduceOptions) -> anyhow::Result<()> {
    let loaded = infer_bench::experiment::load(path)?;
    let d = decision_of(&loaded, o)?;
    infer_bench::experiment::limits::small_file("a published table", table)
        .map_err(|r| InputError::in_file(table, r.to_string()))?;
    let text = std::fs::read_to_string(table)
        .map_err(|e| InputError::in_file(table, format!("cannot read: {e}")))?;
    let rows = infer_bench::analysis::published::parse(&text)
        .map_err(|(line, col, m)| InputError::in_file(table, m).at(Some((line, col))))?;
    // Every configuration must be one the experiment runs: checked before
    // the run, not after an hour of it.
    let configs = infer_bench::plan::configurations(&loaded.experiment);
    for r in &rows {
        if !configs.iter().any(|c| c.label == r.configuration) {
            let labels: Vec<&str> = configs.iter().map(|c| c.label.as_str()).collect();
            return Err(InputError::in_file(
                table,
                format!(
                    "configuration '{}' is not one of the experiment's: {}",
                    r.configuration,
                    labels.join(", ")
                ),
            )
            .at(Some((r.line, 1)))
            .into());
        }
    }
    let without = rows
        .iter()
        .filter(|r| r.sd.is_none() || r.n.is_none())
        .count();
    let now = run_and_read(&loaded, o, Default::default(), None)?;
    let trials = infer_bench::report::trial_table(&now)?;
    let compared = infer_bench::analysis::published::against_run(&rows, &trials, d)?;
    let mut out = format!(
        "published: {}\nnow:       {} ({})\n\n",
        table.display(),
        now.dir.display(),
        now.manifest.run_id
    );
    if without > 0 {
        out.push_str(&format!(
            "{without} row(s) have no sd and n: only their point estimate can be compared, not tested.\n\n"
        ));
    }
    out.push_str(&verdict_table(&compared, d, "published", "now"));
    let printed = out!("{out}");
    gate(&compared, (0, 0), o, table)?;
    Ok(printed?)
}
