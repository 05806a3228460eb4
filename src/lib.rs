//! infer-bench: declarative benchmarks for OpenAI-compatible LLM inference
//! servers. See DESIGN.md for the data flow this crate follows:
//! experiment → plan → (client, load) → results → analysis → report.

pub mod analysis;
pub mod calibrate;
pub mod cli;
pub mod client;
pub mod clock;
pub mod commands;
pub mod error;
pub mod experiment;
pub mod load;
pub mod monitor;
pub mod plan;
pub mod prompts;
pub mod redact;
pub mod report;
pub mod results;
pub mod runner;
pub mod server;
pub mod sim;
pub mod tls;
pub mod yaml;
