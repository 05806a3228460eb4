//! `validate`: the experiment checked, the plan's size, its duration
//! estimated, and the smallest change each metric could show with the
//! planned repetitions, both from a previous run where there is one.

use super::estimate::estimate_duration;
use super::output::{note, outln};
use super::reach;
use infer_bench::analysis::planning::{self, Detectable, Speeds};
use infer_bench::error::InputError;
use infer_bench::experiment::{self, LoadedExperiment};
use infer_bench::plan;
use infer_bench::results::{self, Manifest};
use polars::prelude::DataFrame;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A factorial plan with more configurations than this gets a warning.
const LARGE_FACTORIAL: usize = 24;

/// Repetitions past which `validate` stops looking for enough of them.
const MAX_SUGGESTED_REPETITIONS: usize = 1000;

/// A run already made whose trials inform the plan: the newest of this
/// experiment, or a pilot given with `--from`.
pub(super) struct Pilot {
    pub(super) run_id: String,
    dir: PathBuf,
    /// How it was chosen, in words.
    found: String,
    trials: DataFrame,
    pub(super) speeds: Speeds,
}

pub(super) fn validate(path: &Path, from: Option<&Path>, out: &Path) -> anyhow::Result<()> {
    let loaded = experiment::load(path)?;
    reach::check_input_lengths(&loaded)?;
    if let Some(c) = loaded.experiment.capacity.as_ref() {
        // A search decides its trials as it goes: say the search instead.
        outln!("{}: ok", path.display())?;
        return super::capacity::describe(&loaded, c);
    }
    let plan = plan::expand(&loaded.experiment);
    print_counts(path, &loaded, &plan)?;
    let pilot = match from {
        Some(dir) => Some(pilot_at(dir, "given with --from".into())?),
        None => previous_run(&loaded, out),
    };
    print_env_warnings(&loaded)?;
    if let Some(p) = &pilot {
        outln!("  previous run:   {} ({})", p.dir.display(), p.found)?;
    }
    let (estimate, basis) = estimate_duration(&loaded, &plan, pilot.as_ref());
    outln!(
        "  estimate:       {} ({basis})",
        humantime::format_duration(round_secs(estimate))
    )?;
    match &pilot {
        Some(p) => print_detectable(&loaded, &plan, p),
        None => Ok(outln!(
            "  detectable:     cannot be stated yet: no previous run of this experiment under {} gives the trials' spread (run it once, or give --from RUN for a pilot)",
            out.join(&loaded.experiment.name).display()
        )?),
    }
}

fn print_counts(path: &Path, loaded: &LoadedExperiment, plan: &plan::Plan) -> anyhow::Result<()> {
    let e = &loaded.experiment;
    let requests = e.trial.requests.map(|n| n as usize * plan.trials.len());
    outln!("{}: ok", path.display())?;
    outln!("  configurations: {}", plan.configurations.len())?;
    outln!(
        "  trials:         {} ({} repetitions)",
        plan.trials.len(),
        e.repetitions
    )?;
    if e.design == experiment::Design::Factorial {
        let mut ofat = e.clone();
        ofat.design = experiment::Design::Ofat;
        let n_ofat = plan::configurations(&ofat).len();
        let blocks = e.repetitions.blocks() as usize;
        outln!(
            "  design:         factorial, every combination: {} configurations, {} trials (one factor at a time: {n_ofat} configurations, {} trials)",
            plan.configurations.len(),
            plan.trials.len(),
            n_ofat * blocks
        )?;
        if plan.configurations.len() > LARGE_FACTORIAL {
            note!(
                "warning: the factorial plan has {} configurations ({} trials), {:.1}× the one-factor-at-a-time plan's {n_ofat}; fewer levels per factor, or `design: ofat` where interactions do not matter, would shorten it",
                plan.configurations.len(),
                plan.trials.len(),
                plan.configurations.len() as f64 / n_ofat as f64
            );
        }
    }
    match requests {
        Some(n) => outln!(
            "  requests:       {n} measured + {} warm-up",
            e.warmup.requests as usize * plan.trials.len()
        ),
        None => outln!("  requests:       as many as fit each trial's duration"),
    }?;
    Ok(())
}

fn print_env_warnings(loaded: &LoadedExperiment) -> anyhow::Result<()> {
    let t = &loaded.experiment.target;
    let key = t.api_key_env.iter().map(|v| (v, "target.api_key_env"));
    let headers = t.headers_env.values().map(|v| (v, "target.headers_env"));
    for (var, field) in key.chain(headers) {
        if std::env::var_os(var).is_none() {
            outln!("  warning:        {var} ({field}) is not set; `run` will refuse to start")?;
        }
    }
    Ok(())
}

pub(super) fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs_f64().ceil() as u64)
}

/// The newest run of this experiment under `out/<name>/` with a
/// trials.parquet, a run of this very file before one of an earlier version.
fn previous_run(loaded: &LoadedExperiment, out: &Path) -> Option<Pilot> {
    let name = &loaded.experiment.name;
    let hash = results::sha256_hex(loaded.source.as_bytes());
    let mut best: Option<(bool, String, PathBuf)> = None;
    for entry in std::fs::read_dir(out.join(name)).ok()?.flatten() {
        let dir = entry.path();
        let Some(m) = manifest_of(&dir) else {
            continue;
        };
        if m.experiment_name != *name || !dir.join(results::TRIALS).is_file() {
            continue;
        }
        let key = (m.experiment.sha256 == hash, m.started_at.clone(), dir);
        if best.as_ref().is_none_or(|b| (b.0, &b.1) < (key.0, &key.1)) {
            best = Some(key);
        }
    }
    let (same, _, dir) = best?;
    let found = if same {
        "the newest run of this experiment file"
    } else {
        "the newest run of this experiment, made from an earlier version of the file"
    };
    match pilot_at(&dir, found.into()) {
        Ok(p) => Some(p),
        Err(e) => {
            note!(
                "warning: the previous run {} is not read: {e:#}",
                dir.display()
            );
            None
        }
    }
}

fn manifest_of(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(dir.join(results::MANIFEST)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The run folder `dir` as a pilot: its manifest and trials.parquet.
fn pilot_at(dir: &Path, found: String) -> anyhow::Result<Pilot> {
    let Some(m) = manifest_of(dir) else {
        return Err(InputError::in_file(dir, "not a run folder: no readable manifest.json").into());
    };
    let path = dir.join(results::TRIALS);
    if !path.is_file() {
        return Err(InputError::in_file(
            dir,
            "no trials.parquet: expected a run whose report was written (`infer-bench report RUN` writes it)",
        )
        .into());
    }
    let trials = results::read_parquet(&path)?;
    let speeds = planning::speeds(&trials)?;
    Ok(Pilot {
        run_id: m.run_id,
        dir: dir.to_path_buf(),
        found,
        trials,
        speeds,
    })
}

/// The repetitions the plan holds: an adaptive run's fewest, where it may
/// stop.
fn planned_repetitions(e: &experiment::Experiment) -> usize {
    match e.repetitions.adaptive() {
        Some(a) => a.min as usize,
        None => e.repetitions.blocks() as usize,
    }
}

/// Per headline metric, the smallest change the planned repetitions could
/// detect (from the pilot's spread), and a warning past
/// `stats.max_detectable_change`.
fn print_detectable(
    loaded: &LoadedExperiment,
    plan: &plan::Plan,
    pilot: &Pilot,
) -> anyhow::Result<()> {
    let e = &loaded.experiment;
    let n = planned_repetitions(e);
    let Some((baseline, others)) = plan.configurations.split_first() else {
        return Ok(());
    };
    let others: Vec<String> = others.iter().map(|c| c.label.clone()).collect();
    let metrics: Vec<&'static str> = infer_bench::metrics::METRICS
        .iter()
        .map(|m| m.column)
        .collect();
    let at = |n: usize, alpha: f64, metrics: &[&'static str]| {
        planning::detectable_changes(&pilot.trials, metrics, &baseline.label, &others, n, |_| {
            alpha
        })
    };
    // Holm holds a change that is the only real one to alpha / m, m the
    // planned comparisons (of the metrics the pilot measured with a spread).
    let measured = at(n, e.stats.alpha, &metrics)?.len();
    let m = match e.stats.family {
        experiment::Family::Run => others.len() * measured,
        experiment::Family::Metric => others.len(),
    }
    .max(1);
    let alpha = e.stats.alpha / m as f64;
    let found = at(n, alpha, &metrics)?;
    if found.is_empty() {
        outln!(
            "  detectable:     cannot be stated: run {} has fewer than 2 trials of `{}`, or no spread between them",
            pilot.run_id,
            baseline.label
        )?;
        return Ok(());
    }
    outln!(
        "  detectable:     smallest change each metric could show with {n} repetitions, from run {}'s trial-to-trial spread (80 % power, Welch at α / m = {} / {m}; the least sensitive configuration against the baseline):",
        pilot.run_id,
        e.stats.alpha
    )?;
    for d in &found {
        let assumed = if d.assumed {
            ", not in that run: taken as noisy as the baseline"
        } else {
            ""
        };
        outln!(
            "                    {:<18} {:>9}  ({}{assumed})",
            infer_bench::metrics::label(d.metric),
            percent(d.change),
            d.config
        )?;
    }
    let bound = e.stats.max_detectable_change;
    for d in found.iter().filter(|d| d.change > bound) {
        let enough = fewest(n + 1, MAX_SUGGESTED_REPETITIONS, |k| {
            at(k, alpha, &[d.metric]).is_ok_and(|v| v.first().is_some_and(|x| x.change <= bound))
        });
        outln!("  warning:        {}", too_coarse(d, bound, enough))?;
    }
    Ok(())
}

/// The fewest repetitions in `from..=to` that pass `enough` (which more
/// repetitions only help: the detectable change falls as they grow).
fn fewest(from: usize, to: usize, enough: impl Fn(usize) -> bool) -> Option<usize> {
    if from > to || !enough(to) {
        return None;
    }
    let (mut lo, mut hi) = (from, to);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if enough(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

fn too_coarse(d: &Detectable, bound: f64, enough: Option<usize>) -> String {
    let more = match enough {
        Some(k) => format!("about {k} repetitions would bring it to {}", percent(bound)),
        None => format!(
            "not even {MAX_SUGGESTED_REPETITIONS} repetitions would bring it to {}",
            percent(bound)
        ),
    };
    format!(
        "{}: only a change of {} or more could be detected, over stats.max_detectable_change {}; {more}",
        infer_bench::metrics::label(d.metric),
        percent(d.change),
        percent(bound)
    )
}

fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}
