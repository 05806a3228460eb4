//! What happened to one request, as the client saw it, and the record it
//! becomes.

use super::timing::Timing;
use crate::record::{Record, RequestSlot, RequestStatus, TokensSource};
use tokio::time::Instant;

/// The reason of a request still streaming when its trial's duration ended
/// (its status says `Cancelled`; this is only its words).
pub const CANCELLED: &str = "cancelled: the trial's duration ended";

/// What happened to one request, with monotonic timings.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Taken right before the request is handed to the HTTP stack.
    pub sent: Instant,
    /// How it ended; its reason, unless `Ok`, in `error`.
    pub status: RequestStatus,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// To the first event with non-empty content.
    pub ttft_ms: Option<f64>,
    /// To the end of the response (or of the failure).
    pub e2e_ms: f64,
    /// Gaps between consecutive content events.
    pub itl_ms: Vec<f64>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub tokens_source: TokensSource,
    pub finish_reason: Option<String>,
    /// The server's own prompt-evaluation time (llama.cpp `timings.prompt_ms`).
    pub server_prompt_ms: Option<f64>,
    /// The server's own decoding time (llama.cpp `timings.predicted_ms`).
    pub server_decode_ms: Option<f64>,
    /// Prompt tokens served from the server's cache.
    pub cached_tokens: Option<u64>,
    /// Content events per choice, for batches (one choice per prompt); empty
    /// for a single prompt.
    pub choice_events: Vec<u64>,
    /// The response's `id`, which names the request in the server's own logs.
    pub response_id: Option<String>,
    /// Time to open the TCP connection, inside TTFT; none on a reused one
    /// (and on the reqwest path, which does not say).
    pub connect_ms: Option<f64>,
    /// Whether the request went out on a kept-alive connection (none where
    /// the transport does not say: reqwest).
    pub reused: Option<bool>,
    /// Sent a second time on a new connection because the kept one it was
    /// written to had been closed by the server before any byte of a
    /// response, within 250 ms of the write (the race of an idle close with
    /// our write). Its timings run from the first write. Counted in the
    /// trial and the report; never done once a response has begun, nor
    /// after the server's first such drop has ended connection reuse.
    pub retried: bool,
    /// What the server sent that is kept but not believed (absurd counts).
    pub warnings: Vec<String>,
    /// Reasoning models: to the first reasoning event, and to the first
    /// answer (content) event; TTFT is the earlier of the two.
    pub first_reasoning_ms: Option<f64>,
    pub first_answer_ms: Option<f64>,
    /// The server's `completion_tokens_details.reasoning_tokens`, else the
    /// count of reasoning events; none without reasoning.
    pub reasoning_tokens: Option<u64>,
    /// The answer's text, where the request asked to keep it.
    pub text: Option<String>,
}

impl Outcome {
    /// A request that ended before it reached the wire, or was cut off from
    /// outside (`reason` says which).
    pub fn failed(sent: Instant, reason: String) -> Outcome {
        Timing::new(sent, 1).fail(None, reason)
    }

    /// Whether the request was answered in full.
    pub fn ok(&self) -> bool {
        self.status.is_ok()
    }
}

impl Outcome {
    /// The record of this outcome at `slot`, sent `sent_s` after its trial
    /// began.
    pub fn into_record(self, slot: RequestSlot, sent_s: f64) -> Record {
        // A batch decodes its choices side by side: TPOT is per choice.
        let batch = slot.batch.max(1) as u64;
        let tpot_ms = match (self.ttft_ms, self.completion_tokens.map(|n| n / batch)) {
            (Some(ttft), Some(n)) if n > 1 && self.ok() => {
                Some((self.e2e_ms - ttft) / (n - 1) as f64)
            }
            _ => None,
        };
        let (batch_size, choice_tokens) = if batch > 1 {
            (Some(batch as u32), self.choice_events)
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
            ttft_ms: self.ttft_ms,
            e2e_ms: self.e2e_ms,
            tpot_ms,
            itl_ms: self.itl_ms,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            requested_input_tokens: slot.requested_input_tokens,
            requested_output_tokens: slot.requested_output_tokens,
            tokens_source: self.tokens_source,
            status: self.status,
            http_status: self.http_status,
            error: self.error,
            finish_reason: self.finish_reason,
            server_prompt_ms: self.server_prompt_ms,
            server_decode_ms: self.server_decode_ms,
            cached_tokens: self.cached_tokens,
            batch_size,
            choice_tokens,
            response_id: self.response_id,
            connect_ms: self.connect_ms,
            reused: self.reused,
            retried: self.retried,
            warnings: self.warnings,
            first_reasoning_ms: self.first_reasoning_ms,
            first_answer_ms: self.first_answer_ms,
            reasoning_tokens: self.reasoning_tokens,
            session: slot.session,
            turn: slot.turn,
        }
    }
}
