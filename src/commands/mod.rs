//! One function per subcommand: the glue between the CLI and the library.

mod capacities;
mod capacity;
mod compare;
mod estimate;
mod history;
mod init;
mod merge;
pub mod output;
mod reach;
mod reproduce;
mod signals;
mod sim;
mod slurm;
mod validate;

use crate::cli::Command;
use infer_bench::experiment;
use infer_bench::plan;
use infer_bench::report::Format;
use infer_bench::runner::{self, RunOptions};
use output::{note, out, outln};
use std::path::Path;

pub fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => run_command(args),
        Command::Validate {
            experiment,
            from,
            out,
        } => validate::validate(&experiment, from.as_deref(), &out),
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
        Command::Report { run, format, slo } => {
            let changes = slo
                .iter()
                .map(|a| infer_bench::experiment::slo_change(a))
                .collect::<Result<Vec<_>, _>>()?;
            let after = format!(
                "stopped before the report was written whole; files finished stay, no half-written one does; `infer-bench report {}` writes it",
                run.display()
            );
            let output = signals::until_signal(&after, || {
                infer_bench::report::report_dir_against(&run, &format, &changes)
            })?;
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
        Command::Init { dir } => init::init(&dir),
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

fn print_plan(path: &Path, json: bool, shards: Option<usize>) -> anyhow::Result<()> {
    let loaded = experiment::load(path)?;
    if let Some(c) = loaded.experiment.capacity.as_ref() {
        // (No trial list, in JSON or text: none is fixed before the run.)
        outln!(
            "{}: the trials of a capacity search are decided as it goes",
            path.display()
        )?;
        capacity::describe(&loaded, c)?;
        return match shards {
            Some(n) => capacity::shards(&loaded, n),
            None => Ok(()),
        };
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
