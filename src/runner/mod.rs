//! The runner: plan → (target, prompts, load) trial by trial → run folder →
//! analysis and reports.

mod prepare;
mod report;

pub use prepare::DEFAULT_MAX_TOKENS;
pub use report::{analyse_run, ReportOutput};

use crate::client::{Client, ClientConfig};
use crate::error::InputError;
use crate::experiment::LoadedExperiment;
use crate::load::{self, TrialLoad};
use crate::plan::{self, Plan};
use crate::results::{RunWriter, Status};
use crate::sim::SimHandle;
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct RunOptions {
    /// Results root: the run goes to `<out>/<experiment>/<run-id>/`.
    pub out: PathBuf,
    /// Progress lines on stderr.
    pub progress: bool,
}

/// Where the target lives for this run; a built-in sim is stopped on drop.
struct Target {
    base_url: String,
    _sim: Option<SimHandle>,
}

fn start_target(l: &LoadedExperiment) -> anyhow::Result<Target> {
    let t = &l.experiment.target;
    match (&t.base_url, &t.builtin) {
        (Some(url), _) => Ok(Target {
            base_url: url.clone(),
            _sim: None,
        }),
        (None, Some(_)) => {
            let sim = SimHandle::start(t.sim.clone().unwrap_or_default())
                .context("starting the built-in sim")?;
            Ok(Target {
                base_url: sim.base_url(),
                _sim: Some(sim),
            })
        }
        (None, None) => {
            Err(InputError::in_file(&l.path, "target has neither base_url nor builtin").into())
        }
    }
}

fn client_for(l: &LoadedExperiment, base_url: &str) -> anyhow::Result<Client> {
    let t = &l.experiment.target;
    let api_key = match &t.api_key_env {
        Some(var) => Some(std::env::var(var).map_err(|_| {
            InputError::in_file(
                &l.path,
                format!("target.api_key_env names '{var}', which is not set in the environment"),
            )
            .at(crate::experiment::locate_key(
                &l.source,
                &["target", "api_key_env"],
            ))
        })?),
        None => None,
    };
    Client::new(ClientConfig {
        base_url: base_url.to_string(),
        api: t.api,
        headers: t
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        api_key,
        timeout: t.timeout.0,
        tokenize_path: t.tokenize.clone(),
        model: t.model.clone(),
    })
}

/// Run the experiment; returns the run folder. Records of finished trials
/// are on disk whatever happens after.
pub async fn run(l: &LoadedExperiment, opts: &RunOptions) -> anyhow::Result<PathBuf> {
    let plan = plan::expand(&l.experiment);
    let target = start_target(l)?;
    let client = Arc::new(client_for(l, &target.base_url)?);
    let mut writer = RunWriter::create(&opts.out, l, &plan)?;
    writer.set_target_url(&target.base_url)?;
    let dir = writer.dir.clone();

    let outcome = tokio::select! {
        r = run_trials(l, &plan, &client, &mut writer, opts) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    match &outcome {
        Ok(()) => writer.finish(Status::Complete, None)?,
        Err(e) if e.to_string() == "interrupted" => {
            writer.finish(Status::Interrupted, Some(e.to_string()))?
        }
        Err(e) => writer.finish(Status::Failed, Some(format!("{e:#}")))?,
    }
    outcome.with_context(|| format!("run folder {} keeps the finished trials", dir.display()))?;
    Ok(dir)
}

async fn run_trials(
    l: &LoadedExperiment,
    plan: &Plan,
    client: &Arc<Client>,
    writer: &mut RunWriter,
    opts: &RunOptions,
) -> anyhow::Result<()> {
    let e = &l.experiment;
    for trial in &plan.trials {
        let config = plan.config_of(trial);
        let prepared = prepare::prepare(l, client, config, trial)
            .await
            .with_context(|| format!("trial {} ({})", trial.index, config.label))?;
        let concurrency = config.concurrency();
        let warm = load::warm_up(client.clone(), Arc::new(prepared.warmup), concurrency).await;
        if !warm.is_empty() && warm.iter().all(|o| !o.ok) {
            let reason = warm[0].error.clone().unwrap_or_default();
            anyhow::bail!(
                "trial {} ({}): every warm-up request failed, first: {reason}",
                trial.index,
                config.label
            );
        }
        let records = load::closed_loop(
            client.clone(),
            Arc::new(prepared.measured),
            TrialLoad {
                trial: trial.index,
                config: config.index,
                repetition: trial.repetition,
                concurrency,
                requests: e.trial.requests.map(|n| n as usize),
                duration: e.trial.duration.map(|d| d.0),
                requested_input_tokens: config.input_tokens(),
                requested_output_tokens: config.output_tokens(),
            },
        )
        .await;
        writer.append_trial(&records)?;
        if opts.progress {
            progress_line(plan, trial, &config.label, &records);
        }
    }
    Ok(())
}

fn progress_line(
    plan: &Plan,
    trial: &plan::Trial,
    label: &str,
    records: &[crate::results::Record],
) {
    let ok: Vec<&crate::results::Record> = records.iter().filter(|r| r.ok).collect();
    let ttft: Vec<f64> = ok.iter().filter_map(|r| r.ttft_ms).collect();
    let p50 = crate::analysis::stats::percentile(&ttft, 0.5);
    let failed = records.len() - ok.len();
    let first_error = records
        .iter()
        .find_map(|r| r.error.as_deref())
        .unwrap_or("");
    eprintln!(
        "[{:>3}/{}] {label} rep {}: {}/{} ok, TTFT p50 {} ms{}",
        trial.index + 1,
        plan.trials.len(),
        trial.repetition + 1,
        ok.len(),
        records.len(),
        crate::report::format_num(p50),
        if failed > 0 {
            format!(" — {failed} failed: {first_error}")
        } else {
            String::new()
        },
    );
}

/// Re-analyse `dir` and write its tables and reports.
pub fn report_dir(dir: &Path, formats: &[String]) -> anyhow::Result<ReportOutput> {
    let run = crate::results::read_run(dir)?;
    analyse_run(&run, formats)
}
