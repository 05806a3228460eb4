//! One function per subcommand: the glue between the CLI and the library.

mod capacity;
mod compare;
mod history;
mod merge;
pub mod output;
mod reach;
mod reproduce;
mod signals;
mod sim;
mod slurm;

use crate::cli::Command;
use infer_bench::experiment::{self, LoadedExperiment};
use infer_bench::load;
use infer_bench::plan;
use infer_bench::report::Format;
use infer_bench::runner::{self, RunOptions};
use output::{note, out, outln};
use std::path::Path;
use std::time::Duration;

/// A factorial plan with more configurations than this gets a warning.
const LARGE_FACTORIAL: usize = 24;

pub fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => run_command(args),
        Command::Validate { experiment } => validate(&experiment),
        Command::Plan {
            experiment,
            json,
            shards,
        } => {
            if shards == Some(0) {
                return Err(
                    infer_bench::error::InputError::new("--shards must be at least 1").into(),
                );
            }
            print_plan(&experiment, json, shards)
        }
        Command::Merge { runs, out } => merge::merge(&runs, out.as_deref()),
        Command::Slurm(crate::cli::SlurmCommand::Submit(args)) => slurm::submit(&args),
        Command::Report { run, format } => {
            let after = format!(
                "stopped before the report was written whole; files finished stay, no half-written one does; `infer-bench report {}` writes it",
                run.display()
            );
            let output =
                signals::until_signal(&after, || infer_bench::report::report_dir(&run, &format))?;
            out!("{}", output.terminal)?;
            Ok(())
        }
        Command::Sim(args) => sim::serve(&args),
        Command::Compare(args) => {
            let (a, b) = (args.run_a.clone(), args.run_b.clone());
            let o = compare_options(args);
            let after = "stopped before the comparison was written; nothing was written half-way";
            signals::until_signal(after, || compare::compare(&a, &b, &o)).map(|_| ())
        }
        Command::History {
            dir,
            metric,
            config,
            html,
        } => history::history(&dir, &metric, &config, html.as_deref()),
        Command::Reproduce(args) => reproduce::reproduce(
            &args.run,
            &reproduce::ReproduceOptions {
                out: args.out,
                quiet: args.quiet,
                published: args.published,
                equivalence: args.equivalence,
                fail_on_difference: args.fail_on_difference,
                allow_changed: args.allow_changed,
            },
        ),
        Command::Calibrate(args) => infer_bench::calibrate::calibrate(&args),
        Command::Schema { summary } => {
            if summary {
                outln!("{}", infer_bench::report::json::summary_schema())?;
            } else {
                outln!("{}", experiment::schema_json())?;
            }
            Ok(())
        }
    }
}

/// `run`: the command line's overrides of the experiment, checked, then the run.
fn run_command(args: crate::cli::RunArgs) -> anyhow::Result<()> {
    let shard = match args.shard {
        Some(s) => Some(
            plan::Shard::parse(&s)
                .map_err(|m| infer_bench::error::InputError::new(format!("--shard: {m}")))?,
        ),
        None => None,
    };
    let overrides = Overrides {
        repetitions: args.repetitions,
        requests: args.requests,
        check: args.check,
        json: args.json,
        resume: args.resume,
        shard,
    };
    run(
        &args.experiment,
        &args.out,
        &args.format,
        args.quiet,
        overrides,
    )
}

fn compare_options(args: crate::cli::CompareArgs) -> compare::CompareOptions {
    compare::CompareOptions {
        fail_on_regression: args.fail_on_regression,
        metrics: args.metric,
        decision: infer_bench::analysis::compare::Decision {
            alpha: args.alpha,
            threshold: args.threshold,
            equivalence: args.equivalence,
            family: args.family,
        },
        force: args.force,
        html: args.html,
        csv: args.csv,
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Command-line overrides of the experiment file, for a quick look.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub repetitions: Option<u32>,
    pub requests: Option<u32>,
    /// Fail (exit 3) on a refuted expectation.
    pub check: bool,
    /// summary.json on stdout instead of the table.
    pub json: bool,
    /// An interrupted run folder to finish.
    pub resume: Option<std::path::PathBuf>,
    /// Only this part of the plan.
    pub shard: Option<plan::Shard>,
}

/// Apply `--repetitions` / `--requests` to the loaded experiment.
pub fn apply_overrides(
    loaded: &mut experiment::LoadedExperiment,
    o: infer_bench::results::Overrides,
) -> anyhow::Result<()> {
    Ok(experiment::validate::overrides(
        loaded,
        o.repetitions,
        o.requests,
    )?)
}

fn run(
    path: &Path,
    out: &Path,
    formats: &[Format],
    quiet: bool,
    overrides: Overrides,
) -> anyhow::Result<()> {
    let mut loaded = experiment::load(path)?;
    let mut given = infer_bench::results::Overrides {
        repetitions: overrides.repetitions,
        requests: overrides.requests,
    };
    if let Some(dir) = &overrides.resume {
        // A resume runs the plan the run started with, overrides included.
        let m = infer_bench::results::open_run(dir)?.manifest;
        if !given.is_empty() && given != m.overrides {
            return Err(infer_bench::error::InputError::new(format!(
                "--repetitions/--requests differ from the run's ({:?}); a resume keeps the run's plan, expected none",
                m.overrides
            ))
            .into());
        }
        given = m.overrides;
    }
    apply_overrides(&mut loaded, given)?;
    reach::check_input_lengths(&loaded)?;
    let dir = runtime()?.block_on(runner::run(
        &loaded,
        &RunOptions {
            out: out.to_path_buf(),
            progress: !quiet,
            resume: overrides.resume.clone(),
            overrides: given,
            shard: overrides.shard,
        },
    ))?;
    let mut formats = formats.to_vec();
    if overrides.json {
        formats.retain(|f| *f != Format::Table);
        formats.push(Format::Json);
    }
    // Every trial is recorded by now (the manifest says complete): a signal
    // stops the report alone, and `report` writes it later.
    let after = format!(
        "the report phase was stopped; the run's trials are complete in {0} and `infer-bench report {0}` writes its report",
        dir.display()
    );
    let output = signals::until_signal(&after, || infer_bench::report::report_dir(&dir, &formats))?;
    // The run is recorded by now: a stdout that fails still lets --check
    // say whether an expectation was refuted.
    let printed = if overrides.json {
        out!("{}", std::fs::read_to_string(dir.join("summary.json"))?)
    } else {
        out!("{}", output.terminal)
    };
    note!("results: {}", dir.display());
    note!("report:  {}", dir.join("report.html").display());
    if overrides.check && output.refuted > 0 {
        return Err(infer_bench::error::RegressionError(format!(
            "{} expectation(s) refuted",
            output.refuted
        ))
        .into());
    }
    Ok(printed?)
}

fn validate(path: &Path) -> anyhow::Result<()> {
    let loaded = experiment::load(path)?;
    reach::check_input_lengths(&loaded)?;
    if let Some(c) = loaded.experiment.capacity.as_ref() {
        // A search decides its trials as it goes: say the search instead.
        outln!("{}: ok", path.display())?;
        return capacity::describe(&loaded, c);
    }
    let plan = plan::expand(&loaded.experiment);
    let e = &loaded.experiment;
    let per_trial = e.trial.requests.map(|n| n as usize);
    let requests = per_trial.map(|n| n * plan.trials.len());
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
    let (estimate, basis) = estimate_duration(&loaded, &plan);
    let key = e
        .target
        .api_key_env
        .iter()
        .map(|v| (v, "target.api_key_env"));
    let headers = e
        .target
        .headers_env
        .values()
        .map(|v| (v, "target.headers_env"));
    for (var, field) in key.chain(headers) {
        if std::env::var_os(var).is_none() {
            outln!("  warning:        {var} ({field}) is not set; `run` will refuse to start")?;
        }
    }
    outln!(
        "  estimate:       {} ({basis})",
        humantime::format_duration(round_secs(estimate))
    )?;
    Ok(())
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs_f64().ceil() as u64)
}

/// A rough duration: the sim's own latency model for `builtin: sim`, or an
/// assumed 50 tokens/s per stream and 1000 prompt tokens/s for real servers,
/// each trial's time taken from its load model (`load::trial_seconds`).
fn estimate_duration(l: &LoadedExperiment, plan: &plan::Plan) -> (Duration, &'static str) {
    let e = &l.experiment;
    let sim = e
        .target
        .builtin
        .map(|_| e.target.sim.clone().unwrap_or_default());
    let mut total = 0.0;
    for trial in &plan.trials {
        let c = plan.config_of(trial);
        let pace = pace_of(l, c, sim.as_ref());
        let model = load::LoadModel::of(l, c);
        let warm_up = load::LoadModel::Closed {
            concurrency: c.concurrency(),
            stagger: Duration::ZERO,
        };
        let warm = Some(e.warmup.requests as usize);
        total += load::trial_seconds(&warm_up, warm, None, pace, None);
        let (requests, span) = match l.workload_of(c).and_then(|w| w.trace.as_ref()) {
            Some(rows) => {
                // A count takes the trace's first rows, as the trial will.
                let limit = e.trial.requests.map(|n| n as usize * c.batch_size());
                let rows = &rows[..limit.map_or(rows.len(), |n| n.min(rows.len()))];
                trace_size(rows, e.trial.duration.map(|d| d.0))
            }
            None => (e.trial.requests.map(|n| n as usize), None),
        };
        total += load::trial_seconds(&model, requests, e.trial.duration.map(|d| d.0), pace, span);
    }
    let basis = if sim.is_some() {
        "from the sim's latency model"
    } else {
        "assuming ~50 output tok/s per stream; a guess until a first run"
    };
    // Saturating: a sum of estimates must not panic `validate` (each
    // quantity is limited, but their product over a plan is not).
    (
        Duration::try_from_secs_f64(total).unwrap_or(Duration::MAX),
        basis,
    )
}

/// A trace's requests within the trial's duration, and the last one's arrival.
fn trace_size(
    rows: &[infer_bench::workload::TraceRow],
    duration: Option<Duration>,
) -> (Option<usize>, Option<f64>) {
    let end = duration.map_or(f64::INFINITY, |d| d.as_secs_f64());
    let within: Vec<f64> = rows.iter().map(|r| r.at_s).filter(|at| *at < end).collect();
    (Some(within.len()), within.last().copied())
}

/// One request's time alone, from the lengths the configuration (or its
/// workload) asks for, and the server's slots where the sim says.
fn pace_of(
    l: &LoadedExperiment,
    c: &plan::Configuration,
    sim: Option<&infer_bench::sim::SimModel>,
) -> load::Pace {
    let typical = l
        .workload_of(c)
        .map(|w| w.spec.typical())
        .unwrap_or_default();
    let input = c
        .input_tokens()
        .map(|v| v as f64)
        .or(typical.input_tokens)
        .unwrap_or(100.0);
    let output = c
        .output_tokens()
        .map(|v| v as f64)
        .or(typical.output_tokens)
        .unwrap_or(runner::DEFAULT_MAX_TOKENS as f64);
    let request_s = match sim {
        Some(m) => {
            let active = (c.concurrency() as f64).min(m.slots as f64) as usize;
            (m.prefill_ms(input as usize, 1.0) + (output - 1.0).max(0.0) * m.gap_ms(active, 1.0))
                / 1000.0
        }
        None => input / 1000.0 + output / 50.0,
    } + typical.think_s;
    load::Pace {
        request_s,
        server_slots: sim.map(|m| m.slots as f64),
    }
}

fn print_plan(path: &Path, json: bool, shards: Option<usize>) -> anyhow::Result<()> {
    let loaded = experiment::load(path)?;
    if let Some(c) = loaded.experiment.capacity.as_ref() {
        // (No trial list, in JSON or text: none is fixed before the run.)
        outln!(
            "{}: the trials of a capacity search are decided as it goes",
            path.display()
        )?;
        return capacity::describe(&loaded, c);
    }
    let plan = plan::expand(&loaded.experiment);
    // Each trial's shard, where the plan is split.
    let mut shard_of = vec![None; plan.trials.len()];
    if let Some(n) = shards {
        for index in 0..n {
            let shard = plan::Shard { index, count: n };
            let trials = shard
                .trials(&plan)
                .map_err(|m| infer_bench::error::InputError::in_file(path, m))?;
            if !json {
                outln!("shard {shard}: {} trials", trials.len())?;
            }
            for t in trials {
                shard_of[t] = Some(index);
            }
        }
    }
    for t in &plan.trials {
        let c = plan.config_of(t);
        if json {
            let line = infer_bench::results::PlanLine {
                trial: t.clone(),
                configuration: c.clone(),
                shard: shard_of[t.index],
            };
            outln!("{}", serde_json::to_string(&line)?)?;
        } else {
            let shard = shard_of[t.index]
                .map(|s| format!("shard {s}  "))
                .unwrap_or_default();
            outln!(
                "{:>4}  {shard}rep {:<3} {}",
                t.index,
                t.repetition + 1,
                c.label
            )?;
        }
    }
    Ok(())
}
