//! infer-bench: declarative benchmarks for OpenAI-compatible LLM inference
//! servers. The data flow, one folder an arrow:
//! experiment → plan → (client, load) → results → analysis → report,
//! with the runner driving it and the commands in front.
//!
//! Layers, bottom to top (a module uses only those below it; the table is
//! `tests/layers.rs`, which checks every `crate::` path):
//! leaves (`error`, `clock`, `level`, `metrics`, `record`, `redact`, `yaml`,
//! `tls`) → `prompts` → `experiment` → `plan` → `client`, `sim`, `monitor`,
//! `server` → `load` → `results` → `analysis` → `report` → `runner` → `cli`
//! → `calibrate` → `commands`.

pub mod analysis;
pub mod calibrate;
pub mod client;
pub mod clock;
pub mod duration;
pub mod error;
pub mod experiment;
pub mod level;
pub mod load;
pub mod metrics;
pub mod monitor;
pub mod plan;
pub mod prompts;
pub mod record;
pub mod redact;
pub mod report;
pub mod results;
pub mod runner;
pub mod server;
pub mod sim;
pub mod tls;
pub mod workload;
pub mod yaml;
