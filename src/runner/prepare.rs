//! Turning one trial's configuration into the requests it will send: model
//! name and body fields rendered, prompts drawn and filled before the clock
//! starts (tokenize calls must not overlap the measurement).

use crate::client::{ChatCounter, Client, GenRequest};
use crate::experiment::{Api, CachePolicy, LoadedExperiment};
use crate::plan::{Configuration, Trial};
use crate::prompts::{cache_buster, fill_to, template};
use serde_json::{Map, Value};

/// Requests for a trial's warm-up and for its measurement.
pub struct Prepared {
    pub warmup: Vec<GenRequest>,
    pub measured: Vec<GenRequest>,
}

/// Prompts prepared for a trial that runs by duration only, cycled if the
/// trial outlasts them.
const DURATION_POOL: usize = 256;

/// Output length asked for when the experiment does not set `output_tokens`.
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
    let n_warm = e.warmup.requests as usize;
    let n_measured = e.trial.requests.map_or(DURATION_POOL, |n| n as usize);
    // A batch sends `batch_size` prompts in one request.
    let batch = config.batch_size();
    let seed = e.seed ^ (trial.index as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F);
    let bodies = l
        .prompts
        .render_many(&ctx, (n_warm + n_measured) * batch, seed)
        .map_err(|m| anyhow::anyhow!("{}: {m}", l.prompts_path.display()))?;
    let filler = l.prompts.filler_words();
    let chat_counter = ChatCounter {
        client,
        system: l.prompts.system.as_deref(),
        templated: std::sync::OnceLock::new(),
    };

    let mut requests = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.into_iter().enumerate() {
        let head = match e.cache {
            CachePolicy::Defeat => cache_buster(e.seed, trial.index, i),
            CachePolicy::Allow => String::new(),
        };
        let prompt = match config.input_tokens() {
            Some(n) => {
                let filled = match e.target.api {
                    Api::Completions => fill_to(client, &head, &body, &filler, n as usize).await,
                    Api::Chat => fill_to(&chat_counter, &head, &body, &filler, n as usize).await,
                };
                filled.map_err(|e| fill_error(l, config, n, e))?.text
            }
            None => format!("{head}{body}"),
        };
        requests.push(GenRequest {
            model: model.clone(),
            prompt,
            batch: Vec::new(),
            system: l.prompts.system.clone(),
            max_tokens: Some(config.output_tokens().unwrap_or(DEFAULT_MAX_TOKENS)),
            exact_output: e.target.exact_output && config.output_tokens().is_some(),
            params: params.clone(),
        });
    }
    if batch > 1 {
        requests = requests
            .chunks(batch)
            .map(|group| {
                let mut first = group[0].clone();
                first.batch = group[1..].iter().map(|r| r.prompt.clone()).collect();
                first
            })
            .collect();
    }
    let measured = requests.split_off(n_warm.min(requests.len()));
    Ok(Prepared {
        warmup: requests,
        measured,
    })
}

/// A fill that failed: a fault of the experiment (a template longer than
/// `input_tokens`, an empty filler) is located in the experiment file, so
/// the run ends with exit 2 and the place to fix; anything else (the
/// server's tokenizer) keeps its context.
fn fill_error(
    l: &LoadedExperiment,
    config: &Configuration,
    n: u64,
    e: anyhow::Error,
) -> anyhow::Error {
    match e.downcast::<crate::error::InputError>() {
        Ok(input) => {
            let section = if l.experiment.factors.contains_key("input_tokens") {
                "factors"
            } else {
                "baseline"
            };
            let place = crate::yaml::locate_key(&l.source, &[section, "input_tokens"]);
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
