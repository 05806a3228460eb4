//! One request's record: the row of `requests.parquet`.

use crate::client::{Outcome, TokensSource};
use serde::{Deserialize, Serialize};

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
}

impl Record {
    /// `sent_s` is measured by the caller against the trial's start.
    pub fn new(slot: RequestSlot, sent_s: f64, o: Outcome) -> Self {
        // A batch decodes its choices side by side: TPOT is per choice.
        let batch = slot.batch.max(1) as u64;
        let tpot_ms = match (o.ttft_ms, o.completion_tokens.map(|n| n / batch)) {
            (Some(ttft), Some(n)) if n > 1 && o.ok => Some((o.e2e_ms - ttft) / (n - 1) as f64),
            _ => None,
        };
        let (batch_size, choice_tokens) = if batch > 1 {
            (Some(batch as u32), o.choice_events.clone())
        } else {
            (None, Vec::new())
        };
        Record {
            trial: slot.trial,
            config: slot.config,
            repetition: slot.repetition,
            request: slot.request,
            sent_s,
            scheduled_s: None,
            queue_ms: None,
            wait_ms: None,
            ttft_ms: o.ttft_ms,
            e2e_ms: o.e2e_ms,
            tpot_ms,
            itl_ms: o.itl_ms,
            prompt_tokens: o.prompt_tokens,
            completion_tokens: o.completion_tokens,
            requested_input_tokens: slot.requested_input_tokens,
            requested_output_tokens: slot.requested_output_tokens,
            tokens_source: o.tokens_source,
            ok: o.ok,
            http_status: o.http_status,
            error: o.error,
            finish_reason: o.finish_reason,
            server_prompt_ms: o.server_prompt_ms,
            server_decode_ms: o.server_decode_ms,
            cached_tokens: o.cached_tokens,
            batch_size,
            choice_tokens,
            response_id: o.response_id,
            connect_ms: o.connect_ms,
            reused: o.reused,
            retried: o.retried,
            warnings: o.warnings,
        }
    }
}
