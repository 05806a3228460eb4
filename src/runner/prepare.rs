//! Turning one trial's configuration into the requests it will send: model
//! name and body fields rendered, the workload's shapes drawn, prompts
//! filled to their lengths before the clock starts (tokenize calls must not
//! overlap the measurement).

use super::compose::Composer;
use crate::client::{Client, GenRequest};
use crate::experiment::LoadedExperiment;
use crate::load::{Conversations, Work};
use crate::plan::{Configuration, Trial};
use crate::prompts::template;
use crate::workload::{Ask, Kind, Workload};
use serde_json::{Map, Value};
use std::time::Duration;

/// Requests for a trial's warm-up and for its measurement.
pub struct Prepared {
    pub warmup: Vec<GenRequest>,
    /// The measured requests, shaped as the trial's load model sends them.
    pub work: Work,
    /// The trial's own request count, where it has one (a count, a trace's
    /// rows); none where a duration ends it and the requests are a pool.
    pub planned: Option<usize>,
}

/// Prompts prepared for a trial that runs by duration only, cycled if the
/// trial outlasts them.
const DURATION_POOL: usize = 256;

/// Output length asked for when neither the experiment nor the workload sets one.
pub const DEFAULT_MAX_TOKENS: u64 = 256;

pub async fn prepare(
    l: &LoadedExperiment,
    client: &Client,
    config: &Configuration,
    trial: &Trial,
) -> anyhow::Result<Prepared> {
    let e = &l.experiment;
    let ctx = template::factor_context(&config.values);
    let model = template::render(&e.target.model, &ctx).map_err(anyhow::Error::msg)?;
    let params = render_params(&e.target.params, &ctx)?;
    // Without a `workloads:` section every request has the configuration's lengths.
    let implicit = Workload {
        name: String::new(),
        spec: Default::default(),
        kind: Kind::Lengths,
        dataset: None,
        trace: None,
    };
    let w = l.workload_of(config).unwrap_or(&implicit);
    // A batch sends `batch_size` prompts in one request.
    let batch = config.batch_size();
    let requests = e.trial.requests.map(|n| n as usize);
    let ask = Ask {
        seed: e.seed,
        trial: trial.draws_in(e.design),
        warmup: e.warmup.requests as usize * batch,
        requests: requests.unwrap_or(DURATION_POOL) * batch,
        counted: requests.is_some(),
        input_tokens: config.input_tokens(),
        output_tokens: config.output_tokens(),
    };
    let shapes = w.shapes(&ask);
    let template = GenRequest {
        model,
        system: l.prompts.system.clone(),
        params,
        ..GenRequest::default()
    };
    let mut composer = Composer::new(l, client, config, trial, &ctx, &shapes).await?;
    let warmup = composer
        .requests(&template, &shapes.warmup, 0, batch)
        .await?;
    let first = shapes.warmup.len();
    let measured = composer
        .requests(&template, &shapes.measured, first, batch)
        .await?;
    let arrivals = (w.kind == Kind::Trace).then(|| trace_arrivals(e, &shapes.measured));
    let planned = match (&arrivals, requests) {
        (Some(a), _) => Some(a.len()),
        (None, Some(_)) => Some(measured.len()),
        (None, None) => None,
    };
    let work = match (arrivals, &w.spec.sessions, w.kind) {
        (Some(at_s), _, _) => Work::Timed {
            requests: measured,
            at_s,
        },
        (None, Some(s), Kind::Sessions) => Work::Conversations(conversations(measured, &shapes, s)),
        _ => Work::Pool(measured),
    };
    Ok(Prepared {
        warmup,
        work,
        planned,
    })
}

/// A trace's arrivals that fall within the trial's duration.
fn trace_arrivals(
    e: &crate::experiment::Experiment,
    measured: &[crate::workload::Shape],
) -> Vec<f64> {
    let end = e
        .trial
        .duration
        .map_or(f64::INFINITY, |d| d.0.as_secs_f64());
    measured
        .iter()
        .filter_map(|s| s.at_s)
        .filter(|at| *at < end)
        .collect()
}

/// A session's turns go to its conversation; the loop sends nothing else.
fn conversations(
    measured: Vec<GenRequest>,
    shapes: &crate::workload::TrialShapes,
    spec: &crate::workload::Sessions,
) -> Conversations {
    let mut turns = measured.into_iter();
    let conversations = shapes
        .sessions
        .iter()
        .map(|c| turns.by_ref().take(c.turns.len()).collect())
        .collect();
    Conversations {
        turns: conversations,
        think_time: spec.think_time.map_or(Duration::ZERO, |d| d.0),
        header: spec.session_header.clone(),
    }
}

/// String fields are templates; a rendered number or boolean is sent as one.
fn render_params(
    params: &indexmap::IndexMap<String, Value>,
    ctx: &template::Context,
) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for (k, v) in params {
        let value = match v {
            Value::String(s) => {
                let text = template::render(s, ctx).map_err(anyhow::Error::msg)?;
                match serde_json::from_str::<Value>(&text) {
                    Ok(parsed @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => parsed,
                    _ => Value::String(text),
                }
            }
            other => other.clone(),
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

/// A fill that failed: a fault of the experiment (a template longer than
/// `input_tokens`, an empty filler) is located in the experiment file, so
/// the run ends with exit 2 and the place to fix; anything else (the
/// server's tokenizer) keeps its context.
pub(super) fn fill_error(
    l: &LoadedExperiment,
    config: &Configuration,
    n: u64,
    e: anyhow::Error,
) -> anyhow::Error {
    match e.downcast::<crate::error::InputError>() {
        Ok(input) => {
            let path: Vec<&str> = match l.workload_of(config) {
                Some(w) => vec!["workloads", w.name.as_str()],
                None if l.experiment.factors.contains_key("input_tokens") => {
                    vec!["factors", "input_tokens"]
                }
                None => vec!["baseline", "input_tokens"],
            };
            let place = crate::yaml::locate_key(&l.source, &path);
            crate::error::InputError::in_file(
                &l.path,
                format!("{}: {}", config.label, input.message),
            )
            .at(place)
            .into()
        }
        Err(e) => e.context(format!(
            "filling a prompt to input_tokens = {n} for {}",
            config.label
        )),
    }
}
