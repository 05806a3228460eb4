//! infer-bench: declarative benchmarks for OpenAI-compatible LLM inference
//! servers. The data flow, one folder an arrow:
//! experiment → plan → (client, load) → results → analysis → report,
//! with the runner driving it. The command line (`cli`, `commands`) is the
//! binary's own (`src/main.rs`), built on this library.
//!
//! What a library user reaches: [`experiment::load`] (an experiment file,
//! checked by [`experiment::validate`]), [`plan::expand`], [`runner::run`],
//! the load models ([`load::LoadModel`]), the client ([`client::Client`]),
//! the record and its field registry ([`record`]), the metric registry
//! ([`metrics`]), run folders ([`results`]), [`analysis`], [`report`]
//! (one document, several formats), the built-in server ([`sim`]), and
//! [`calibrate`]. Each type has one path; the helpers below them (clock,
//! durations, levels, prompts, the monitor, servers, redaction, YAML
//! positions) are the crate's own and reached through the types that use
//! them.
//!
//! Layers, bottom to top (a module uses only those below it; the table is
//! `tests/layers.rs`, which checks every `crate::` path):
//! leaves (`error`, `clock`, `level`, `limits`, `metrics`, `record`, `redact`,
//! `side_request`, `yaml`, `tls`, `endpoint`) → `prompts`, `workload` →
//! `experiment` → `plan` → `client`, `sim`, `monitor`, `server` → `load` →
//! `results` → `analysis` → `report` → `runner` → `calibrate`; then the
//! binary's `cli` and `commands`.

pub mod analysis;
pub mod calibrate;
pub mod capacity;
pub mod client;
mod clock;
mod duration;
mod endpoint;
pub mod error;
pub mod experiment;
mod level;
mod limits;
pub mod load;
pub mod metrics;
mod monitor;
pub mod plan;
mod prompts;
pub mod record;
mod redact;
pub mod report;
pub mod results;
pub mod runner;
mod server;
mod side_request;
pub mod sim;
pub mod tls;
pub mod workload;
mod yaml;
