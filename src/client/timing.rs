//! Per-request timing: a monotonic clock read as each streamed event is
//! parsed, and the token counts from the server's usage (or the events).

use super::outcome::Outcome;
use super::wire::{self, Chunk};
use crate::record::{RequestStatus, TokensSource};
use tokio::time::Instant;

/// Prompt and completion tokens from a `usage` object.
type Counts = (Option<u64>, Option<u64>);

/// A token count above this is not believed: it is kept, with a warning.
/// (The longest contexts served today are a few million tokens.)
pub const MAX_PLAUSIBLE_TOKENS: u64 = 100_000_000;

/// Content events of one response kept at most (each adds a gap to
/// `itl_ms`): more is a stream that does not end, cut off as a failure.
pub const MAX_CONTENT_EVENTS: u64 = 1 << 22;

/// Generated text kept for a session's history, at most (longer replies
/// are kept cut, with a warning).
pub const MAX_KEPT_TEXT: usize = 8 << 20;

/// Accumulates timings as events arrive.
pub(super) struct Timing {
    pub(super) outcome: Outcome,
    /// Choices the request asked for (its prompts): an index beyond them is
    /// the server's error, not a reason to allocate.
    choices: usize,
    last_content: Option<Instant>,
    content_events: u64,
    /// Usage for the whole request (a final chunk without choices: OpenAI, vLLM).
    usage_total: Option<Counts>,
    /// Usage per choice (in a choice's last chunk: llama.cpp, which for a
    /// batch reports each prompt's counts apart).
    usage_by_choice: std::collections::BTreeMap<usize, Counts>,
    /// Events that carried reasoning, and the server's own count of it.
    reasoning_events: u64,
    reasoning_usage: Option<u64>,
    /// Choices of a batch that got content or a finish reason: a batch is
    /// ok only when every prompt did.
    answered: std::collections::BTreeSet<usize>,
}

impl Timing {
    pub(super) fn new(sent: Instant, choices: usize) -> Self {
        Self {
            choices: choices.max(1),
            outcome: Outcome {
                sent,
                status: RequestStatus::Failed,
                http_status: None,
                error: None,
                ttft_ms: None,
                e2e_ms: 0.0,
                itl_ms: Vec::new(),
                prompt_tokens: None,
                completion_tokens: None,
                tokens_source: TokensSource::Events,
                finish_reason: None,
                server_prompt_ms: None,
                server_decode_ms: None,
                cached_tokens: None,
                choice_events: Vec::new(),
                response_id: None,
                connect_ms: None,
                reused: None,
                retried: false,
                warnings: Vec::new(),
                first_reasoning_ms: None,
                first_answer_ms: None,
                reasoning_tokens: None,
                text: None,
            },
            last_content: None,
            content_events: 0,
            usage_total: None,
            usage_by_choice: Default::default(),
            reasoning_events: 0,
            reasoning_usage: None,
            answered: Default::default(),
        }
    }

    /// A batch of known size (`replay` does not know it: `usize::MAX`).
    fn batch(&self) -> bool {
        self.choices > 1 && self.choices != usize::MAX
    }

    /// Why a batch is not a success: the prompts (choice indexes) that got
    /// neither content nor a finish reason.
    fn unanswered(&self) -> Option<String> {
        if !self.batch() {
            return None;
        }
        let missing: Vec<usize> = (0..self.choices)
            .filter(|i| !self.answered.contains(i))
            .collect();
        if missing.is_empty() {
            return None;
        }
        // The record's reason is cut to length anyway: name the first ones.
        let mut listed: Vec<String> = missing.iter().take(20).map(usize::to_string).collect();
        if missing.len() > 20 {
            listed.push(format!("and {} more", missing.len() - 20));
        }
        Some(format!(
            "batch incomplete: no answer for prompt {} (choice index from 0) of {}",
            listed.join(", "),
            self.choices
        ))
    }

    /// Keep the answer's text (choice 0) as it streams.
    pub(super) fn keep_text(&mut self) {
        self.outcome.text = Some(String::new());
    }

    pub(super) fn ms_since(&self, at: Instant) -> f64 {
        at.duration_since(self.outcome.sent).as_secs_f64() * 1000.0
    }

    /// One parsed chunk read at `now`; an error for one that cannot be
    /// right (a choice the request did not ask for).
    pub(super) fn chunk(&mut self, now: Instant, chunk: &Chunk) -> Result<(), String> {
        if let Some(c) = chunk.choices.iter().find(|c| c.index >= self.choices) {
            return Err(format!(
                "malformed event: choice index {} for a request of {} prompt{}",
                c.index,
                self.choices,
                if self.choices == 1 { "" } else { "s" }
            ));
        }
        if chunk.choices.iter().any(wire::Choice::has_content) {
            if self.content_events >= MAX_CONTENT_EVENTS {
                return Err(format!(
                    "stream broken: over {MAX_CONTENT_EVENTS} content events, cut off"
                ));
            }
            match self.last_content {
                None => self.outcome.ttft_ms = Some(self.ms_since(now)),
                Some(prev) => self
                    .outcome
                    .itl_ms
                    .push(now.duration_since(prev).as_secs_f64() * 1000.0),
            }
            self.last_content = Some(now);
            self.content_events += 1;
        }
        self.reasoning_and_answer(now, chunk);
        for c in chunk.choices.iter().filter(|c| c.has_content()) {
            let counts = &mut self.outcome.choice_events;
            if counts.len() <= c.index {
                // Bounded by `choices`, checked above.
                counts.resize(c.index + 1, 0);
            }
            counts[c.index] += 1;
        }
        if self.batch() {
            let answered = chunk
                .choices
                .iter()
                .filter(|c| c.has_content() || c.finish_reason.is_some());
            self.answered.extend(answered.map(|c| c.index));
        }
        if let Some(reason) = chunk.choices.iter().find_map(|c| c.finish_reason.clone()) {
            self.outcome.finish_reason = Some(reason);
        }
        if let Some(u) = &chunk.usage {
            let counts = (u.prompt_tokens, u.completion_tokens);
            match chunk.choices.first() {
                Some(c) => {
                    self.usage_by_choice.insert(c.index, counts);
                }
                None => self.usage_total = Some(counts),
            }
            if let Some(r) = u
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
            {
                self.reasoning_usage = Some(r);
            }
            if let Some(c) = u
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
            {
                self.outcome.cached_tokens = Some(c);
            }
        }
        if let Some(t) = chunk.timings {
            self.outcome.server_prompt_ms = t.prompt_ms.or(self.outcome.server_prompt_ms);
            self.outcome.server_decode_ms = t.predicted_ms.or(self.outcome.server_decode_ms);
            if self.outcome.cached_tokens.is_none() {
                self.outcome.cached_tokens = t.cache_n;
            }
        }
        Ok(())
    }

    /// Reasoning models think before they answer: when each began, and the
    /// answer's text where it is kept.
    fn reasoning_and_answer(&mut self, now: Instant, chunk: &Chunk) {
        let mut reasoning = false;
        for c in &chunk.choices {
            let (answer, thought) = match &c.delta {
                Some(d) => (d.content.as_deref(), d.has_reasoning()),
                None => (c.text.as_deref(), false),
            };
            reasoning |= thought;
            let answer = answer.filter(|t| !t.is_empty());
            if answer.is_some() && self.outcome.first_answer_ms.is_none() {
                self.outcome.first_answer_ms = Some(self.ms_since(now));
            }
            if let (Some(kept), Some(a), 0) = (self.outcome.text.as_mut(), answer, c.index) {
                if kept.len() + a.len() <= MAX_KEPT_TEXT {
                    kept.push_str(a);
                } else if !self
                    .outcome
                    .warnings
                    .iter()
                    .any(|w| w.starts_with("reply text"))
                {
                    self.outcome.warnings.push(format!(
                        "reply text over {MAX_KEPT_TEXT} bytes: the session's history keeps it cut"
                    ));
                }
            }
        }
        if reasoning {
            self.reasoning_events += 1;
            if self.outcome.first_reasoning_ms.is_none() {
                self.outcome.first_reasoning_ms = Some(self.ms_since(now));
            }
        }
    }

    fn settle_tokens(&mut self) {
        if self.reasoning_events > 0 || self.reasoning_usage.is_some() {
            self.outcome.reasoning_tokens = self.reasoning_usage.or(Some(self.reasoning_events));
        }
        // A request-wide usage wins; else the choices' own, summed.
        let (prompt, completion) = self.usage_total.unwrap_or_else(|| {
            // A sum that overflows is no count at all (and said so below).
            let sum = |f: fn(&Counts) -> Option<u64>| {
                self.usage_by_choice
                    .values()
                    .map(f)
                    .try_fold(0u64, |acc, v| acc.checked_add(v?))
                    .filter(|_| !self.usage_by_choice.is_empty())
            };
            (sum(|u| u.0), sum(|u| u.1))
        });
        let reported = !self.usage_by_choice.is_empty()
            && self.usage_by_choice.values().all(|u| u.1.is_some());
        if self.usage_total.is_none() && reported && completion.is_none() {
            let warning = "usage.completion_tokens of the choices overflow their sum".to_string();
            if !self.outcome.warnings.contains(&warning) {
                self.outcome.warnings.push(warning);
            }
        }
        for (name, n) in [("prompt_tokens", prompt), ("completion_tokens", completion)] {
            if let Some(n) = n.filter(|n| *n > MAX_PLAUSIBLE_TOKENS) {
                let warning = format!("implausible usage.{name} {n}");
                if !self.outcome.warnings.contains(&warning) {
                    self.outcome.warnings.push(warning);
                }
            }
        }
        if prompt.is_some() {
            self.outcome.prompt_tokens = prompt;
        }
        match completion {
            Some(n) => {
                self.outcome.completion_tokens = Some(n);
                self.outcome.tokens_source = TokensSource::Usage;
            }
            None => {
                self.outcome.completion_tokens = Some(self.content_events);
                self.outcome.tokens_source = TokensSource::Events;
            }
        }
    }

    pub(super) fn end(&mut self, now: Instant) {
        self.outcome.e2e_ms = self.ms_since(now);
        self.settle_tokens();
        if self.outcome.finish_reason.is_none()
            && self.outcome.tokens_source == TokensSource::Events
            && self.content_events == 0
        {
            self.outcome.error =
                Some("stream ended without content, finish reason or usage".into());
            return;
        }
        if let Some(why) = self.unanswered() {
            self.outcome.error = Some(why);
            return;
        }
        // An answer says why it ended, or at least how many tokens it gave
        // (the usage comes last). With neither, the stream was cut short
        // (llama-cpp-python ends a stream a newer request interrupts with
        // `[DONE]` alone): fewer tokens than asked, never an ok record.
        if self.outcome.finish_reason.is_none()
            && self.outcome.tokens_source == TokensSource::Events
        {
            self.outcome.error = Some(format!(
                "the answer ended without a finish_reason or usage after {} content events: cut short",
                self.content_events
            ));
            return;
        }
        self.outcome.status = RequestStatus::Ok;
    }

    pub(super) fn error_at(&mut self, now: Instant, message: String) {
        self.outcome.e2e_ms = self.ms_since(now);
        self.settle_tokens();
        self.outcome.status = RequestStatus::Failed;
        self.outcome.error = Some(message);
    }

    pub(super) fn fail(mut self, status: Option<u16>, message: String) -> Outcome {
        self.error_at(Instant::now(), message);
        self.outcome.http_status = status.or(self.outcome.http_status);
        self.outcome
    }
}
