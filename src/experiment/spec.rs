//! The experiment file, as typed data. `schemas/experiment.schema.json` is
//! generated from these types (`infer-bench schema`).

use super::sim_spec::SimModel;
use super::slo::Slo;
use super::stats_spec::{Expectation, StatsSpec};
use crate::duration::HumanDuration;
use crate::level::Level;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Factors with meaning to the load generator. Any other factor name is a
/// free variable for templates (server command, model name, request fields, prompts).
pub const BUILTIN_FACTORS: &[&str] = &[
    "concurrency",
    "rate",
    "batch_size",
    "input_tokens",
    "output_tokens",
    crate::workload::FACTOR,
];

/// One benchmark experiment: what to vary, what to hold, how to load the server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Names the results folder: `results/<name>/<run-id>/`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seeds the trial order, prompt choice and cache-busting prefixes.
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub target: Target,
    /// Prompt set file; a relative path resolves against the experiment file.
    pub prompts: String,
    /// `defeat` (default) gives every request a unique prefix so no prefix cache
    /// flatters later requests; `allow` sends the rendered prompts as they are.
    #[serde(default)]
    pub cache: CachePolicy,
    /// Named workloads: what the requests look like (length distributions,
    /// a dataset, a replayed trace, multi-turn sessions, shared prefixes).
    /// The built-in factor `workload` takes their names as levels.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub workloads: IndexMap<String, crate::workload::WorkloadSpec>,
    /// The level of every factor held constant while another one varies.
    #[serde(default)]
    pub baseline: IndexMap<String, Level>,
    /// Factor name → levels. Each factor is varied one at a time around the
    /// baseline (`design: ofat`), or every combination is run (`design: factorial`).
    #[serde(default)]
    pub factors: IndexMap<String, Vec<Level>>,
    /// `ofat` (default): the baseline, then one factor changed at a time.
    /// `factorial`: every combination of the factors' levels, so that
    /// interactions can be estimated (`effects.csv`).
    #[serde(default)]
    pub design: Design,
    /// With `design: capacity`: the load factor searched, its bounds, and
    /// the precision and budget of each configuration's search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<super::capacity_spec::CapacitySpec>,
    /// Blocks of the plan, each holding every configuration once: a number,
    /// or `{min, max, until: {rel_ci, metrics}}` to add blocks until every
    /// configuration's 95 % CI is that narrow.
    #[serde(default)]
    pub repetitions: super::Repetitions,
    #[serde(default)]
    pub order: Order,
    #[serde(default)]
    pub warmup: Warmup,
    pub trial: TrialSpec,
    /// How requests arrive: `closed` (default: `concurrency` in flight) or an
    /// open loop at the `rate` factor's requests per second: `poisson`,
    /// `gamma` or `constant`; `{kind: gamma, burstiness: 0.5, max_in_flight: 64}`
    /// for the details.
    #[serde(default)]
    pub load: LoadSpec,
    /// Service-level objectives: each request is checked against the
    /// per-request ones (goodput counts those that meet them all), each
    /// configuration against the percentile ones. The seed's targets by
    /// default; `null` turns one off.
    #[serde(default)]
    pub slo: Slo,
    /// What the serving machine costs, for cost per million tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// How comparisons against the baseline decide.
    #[serde(default)]
    pub stats: StatsSpec,
    /// Hypotheses checked after the run with the same test (`run --check`
    /// exits 3 when one is refuted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Expectation>,
}

fn default_seed() -> u64 {
    42
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Design {
    #[default]
    Ofat,
    Factorial,
    /// Each configuration (formed by the other factors) gets a search for
    /// the highest load at which every SLO holds; see `capacity:`.
    Capacity,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// OpenAI-compatible base URL, e.g. `http://127.0.0.1:8080/v1`; a template
    /// over `port` with a launched server, where it defaults to
    /// `http://127.0.0.1:{{ port }}/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// `sim`: start the built-in reference server in-process on a free port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<Builtin>,
    /// A server launched per configuration: started when a configuration needs
    /// one that is not running, stopped when the levels it uses change and at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerSpec>,
    /// Latency model of the built-in server (only with `builtin: sim`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim: Option<SimModel>,
    #[serde(default)]
    pub api: Api,
    /// Model name sent with each request; a template over the factor values.
    #[serde(default)]
    pub model: String,
    /// Environment variable that holds the API key (sent as a bearer token).
    /// The key itself is never written to results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Extra HTTP headers sent with each request.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// Extra HTTP headers whose values are secrets, read from the environment:
    /// header name → variable name (`{X-Api-Token: MY_TOKEN}`). Their values are
    /// never written to results, and hidden wherever a server echoes them.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers_env: IndexMap<String, String>,
    /// Extra fields of the request body (e.g. `temperature`). String values are
    /// templates over the factor values; a rendered number or boolean is sent as one.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub params: IndexMap<String, serde_json::Value>,
    /// Per-request timeout.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Path (from the server root) of the tokenize endpoint used to fill prompts
    /// to an exact `input_tokens` (llama.cpp and vLLM: `/tokenize`;
    /// llama-cpp-python: `/extras/tokenize/count`); a template over the factors.
    #[serde(default = "default_tokenize")]
    pub tokenize: String,
    /// With `output_tokens` set, send `ignore_eos: true` and `min_tokens` so the
    /// server generates exactly that many tokens. Turn off for servers that
    /// reject unknown fields.
    #[serde(default = "default_true")]
    pub exact_output: bool,
}

impl Target {
    /// The credentials the run reads from its environment (`api_key_env`,
    /// `headers_env`), as set now: hidden wherever the run writes or
    /// prints. A variable not set has nothing to hide.
    pub fn env_secrets(&self) -> Vec<String> {
        self.api_key_env
            .iter()
            .chain(self.headers_env.values())
            .filter_map(|var| std::env::var(var).ok())
            .collect()
    }
}

fn default_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(600))
}

fn default_tokenize() -> String {
    "/tokenize".into()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Builtin {
    Sim,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// `POST /completions` with a `prompt`.
    #[default]
    Completions,
    /// `POST /chat/completions` with `messages`.
    Chat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CachePolicy {
    #[default]
    Defeat,
    Allow,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Each repetition block runs every configuration once, in a seeded shuffled order.
    #[default]
    Randomized,
    /// File order: baseline, then each factor's levels as written.
    Sequential,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadKind {
    /// `concurrency` requests in flight; a new one starts when one ends.
    #[default]
    Closed,
    /// Open loop: exponential gaps between arrivals at `rate` per second.
    Poisson,
    /// Open loop: gamma-distributed gaps with shape `burstiness` (1 is
    /// Poisson, below 1 burstier, above 1 more regular), mean 1 / `rate`.
    Gamma,
    /// Open loop: one arrival every 1 / `rate` seconds.
    Constant,
    /// Open loop: the rate moves linearly from `from` to `rate` over
    /// `over`, then holds at `rate`; arrivals evenly spaced in the ramp's
    /// own time (arrival k when k requests are due).
    Ramp,
}

impl LoadKind {
    pub fn is_open(self) -> bool {
        self != LoadKind::Closed
    }
}

/// `load: poisson`, or the same with its details.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LoadSpec {
    Kind(LoadKind),
    Detailed(OpenLoad),
}

impl Default for LoadSpec {
    fn default() -> Self {
        LoadSpec::Kind(LoadKind::Closed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenLoad {
    pub kind: LoadKind,
    /// Gamma shape of the gaps (`gamma` only): CV of the gaps = 1 / √burstiness.
    #[serde(default = "default_burstiness")]
    pub burstiness: f64,
    /// Most requests in flight at once; arrivals beyond it wait (and their
    /// wait is recorded as queueing). Unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// `ramp` only: requests per second at the trial's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<f64>,
    /// `ramp` only: how long the rate takes to reach `rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over: Option<HumanDuration>,
}

fn default_burstiness() -> f64 {
    1.0
}

impl LoadSpec {
    pub fn kind(&self) -> LoadKind {
        match self {
            LoadSpec::Kind(k) => *k,
            LoadSpec::Detailed(d) => d.kind,
        }
    }

    pub fn burstiness(&self) -> f64 {
        match self {
            LoadSpec::Kind(_) => default_burstiness(),
            LoadSpec::Detailed(d) => d.burstiness,
        }
    }

    pub fn max_in_flight(&self) -> Option<u32> {
        self.details().and_then(|d| d.max_in_flight)
    }

    /// The details written beside the kind, if any.
    pub fn details(&self) -> Option<&OpenLoad> {
        match self {
            LoadSpec::Kind(_) => None,
            LoadSpec::Detailed(d) => Some(d),
        }
    }
}

/// Price of the serving machine per hour, one for all configurations or one
/// per level of a factor (a GPU type, say).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    pub usd_per_hour: Price,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Price {
    Fixed(f64),
    /// `{by: gpu, levels: {a100: 1.8, h100: 3.2}}`.
    ByLevel {
        by: String,
        levels: IndexMap<String, f64>,
    },
}

impl Cost {
    /// The hourly price for a configuration's values; `None` where a
    /// per-level price does not name its level.
    pub fn usd_per_hour(&self, values: &IndexMap<String, Level>) -> Option<f64> {
        match &self.usd_per_hour {
            Price::Fixed(p) => Some(*p),
            Price::ByLevel { by, levels } => {
                let level = values.get(by)?.to_string();
                levels.get(&level).copied()
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Warmup {
    /// Requests sent before each trial's measurement, not recorded.
    #[serde(default = "default_warmup")]
    pub requests: u32,
}

fn default_warmup() -> u32 {
    2
}

impl Default for Warmup {
    fn default() -> Self {
        Self {
            requests: default_warmup(),
        }
    }
}

/// How long one trial measures: a number of requests, a duration, or both
/// (whichever ends first).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<HumanDuration>,
    /// Stop the run (status failed, finished trials kept) when a trial's
    /// share of failed requests exceeds this: a broken server makes no
    /// numbers worth the wait. Never, when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_error_rate: Option<f64>,
}

/// How to launch, reach and stop a server (llama.cpp's `llama-server`, vLLM, ...).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Command line, a template over the factor values, `port` and
    /// `experiment_dir`. Split into words as a shell would (quotes work) and
    /// run without a shell, in the current directory.
    pub command: String,
    /// Path polled until it answers 200.
    #[serde(default = "default_ready")]
    pub ready: String,
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout: HumanDuration,
    /// Time between SIGTERM and SIGKILL when stopping.
    #[serde(default = "default_stop_grace")]
    pub stop_grace: HumanDuration,
    /// Fixed port; a free one is chosen when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Extra environment variables for the server.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, String>,
    /// Model file (a template): its size and sha256 go into the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_path: Option<String>,
    /// Prometheus series sampled from `/metrics` during trials, by name prefix.
    #[serde(default = "default_metric_prefixes")]
    pub metrics: Vec<String>,
    /// A command (a template, like `command`) that prints the engine's
    /// version, run once per launch and kept in the manifest: for what the
    /// server does not say itself (the llama.cpp that llama-cpp-python
    /// bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_command: Option<String>,
}

fn default_ready() -> String {
    "/health".into()
}

fn default_ready_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(300))
}

fn default_stop_grace() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(10))
}

fn default_metric_prefixes() -> Vec<String> {
    vec!["llamacpp:".into(), "vllm:".into()]
}
