//! One request's record: a line of `requests.jsonl`, a row of
//! `requests.parquet`. A leaf: the load generator makes records, results
//! keep them, the analysis reads them, and none of them owns the type.

use serde::{Deserialize, Serialize};

/// Where the output token count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokensSource {
    /// The server's `usage.completion_tokens`.
    Usage,
    /// No usage in the stream: the number of content events.
    Events,
}

/// Column names of the request table (`requests.parquet`), which factors may
/// not take.
pub const RECORD_COLUMNS: &[&str] = &[
    "trial",
    "config",
    "factor",
    "level",
    "repetition",
    "request",
    "sent_s",
    "scheduled_s",
    "queue_ms",
    "wait_ms",
    "ttft_ms",
    "e2e_ms",
    "tpot_ms",
    "itl_ms",
    "prompt_tokens",
    "completion_tokens",
    "requested_input_tokens",
    "requested_output_tokens",
    "tokens_source",
    "ok",
    "http_status",
    "error",
    "finish_reason",
    "server_prompt_ms",
    "server_decode_ms",
    "cached_tokens",
    "connect_ms",
    "reused",
    "retried",
    "warnings",
    "first_reasoning_ms",
    "first_answer_ms",
    "reasoning_tokens",
    "session",
    "turn",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Execution index of the trial.
    pub trial: usize,
    /// Index of the configuration in the plan.
    pub config: usize,
    pub repetition: u32,
    /// Request index within the trial.
    pub request: usize,
    /// Send time, seconds since the trial's measurement began.
    pub sent_s: f64,
    /// Open loop: when the schedule said to send, seconds since the trial's
    /// measurement began; none in a closed loop.
    #[serde(default)]
    pub scheduled_s: Option<f64>,
    /// Open loop: sent minus scheduled, the client's whole lateness (its own
    /// send lag plus any wait for a `max_in_flight` slot).
    pub queue_ms: Option<f64>,
    /// Open loop with `max_in_flight`: time spent waiting for a slot.
    #[serde(default)]
    pub wait_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub e2e_ms: f64,
    /// (E2E − TTFT) / (completion_tokens − 1); none with fewer than 2 tokens.
    pub tpot_ms: Option<f64>,
    pub itl_ms: Vec<f64>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub requested_input_tokens: Option<u64>,
    pub requested_output_tokens: Option<u64>,
    pub tokens_source: TokensSource,
    pub ok: bool,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub finish_reason: Option<String>,
    /// The server's own timings where it reports them (llama.cpp), which
    /// split TTFT into queueing + prefill + network.
    #[serde(default)]
    pub server_prompt_ms: Option<f64>,
    #[serde(default)]
    pub server_decode_ms: Option<f64>,
    #[serde(default)]
    pub cached_tokens: Option<u64>,
    /// Prompts in the request (`batch_size`); absent for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// A batch's output per choice, counted in content events (the server's
    /// usage gives only the total).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choice_tokens: Vec<u64>,
    /// The response's `id`: the request's name in the server's own logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// Time to open the connection (inside TTFT); none on a kept-alive one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<f64>,
    /// Sent on a kept-alive connection; none where the transport does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused: Option<bool>,
    /// Sent again on a new connection after a kept one was found closed
    /// before any byte of a response (see the README's reliability section).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retried: bool,
    /// What the server sent that is kept but not believed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Reasoning models: to the first reasoning event and to the first
    /// answer event (TTFT is the earlier), and the reasoning's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_reasoning_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_answer_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Multi-turn sessions: the conversation (from 0 in its trial) and the
    /// turn within it (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
}

/// Where a request sits in the plan, and what it asked for.
#[derive(Debug, Clone, Copy)]
pub struct RequestSlot {
    pub trial: usize,
    pub config: usize,
    pub repetition: u32,
    pub request: usize,
    /// For the whole request: a batch asks for its prompts' tokens together.
    pub requested_input_tokens: Option<u64>,
    pub requested_output_tokens: Option<u64>,
    /// Prompts in the request.
    pub batch: usize,
    pub session: Option<u64>,
    pub turn: Option<u32>,
}
