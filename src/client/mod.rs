//! OpenAI-compatible client: streams one request and timestamps every event.

mod http1;
pub mod sse;
mod timing;
mod wire;

pub use wire::GenRequest;

use crate::experiment::Api;
use crate::prompts::TokenCounter;
use anyhow::Context as _;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use timing::Timing;
use tokio::time::Instant;
use wire::{Chunk, TokenizeResponse};

/// Where the output token count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokensSource {
    /// The server's `usage.completion_tokens`.
    Usage,
    /// No usage in the stream: the number of content events.
    Events,
}

/// What happened to one request, with monotonic timings.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Taken right before the request is handed to the HTTP stack.
    pub sent: Instant,
    pub ok: bool,
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
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: String,
    pub api: Api,
    pub headers: Vec<(String, String)>,
    pub api_key: Option<String>,
    pub timeout: Duration,
    pub tokenize_path: String,
    /// Model name sent to `/tokenize` (vLLM wants one).
    pub model: String,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    generate_url: String,
    tokenize_url: String,
    /// The server root (base URL without `/v1`): llama.cpp and vLLM keep
    /// their non-OpenAI endpoints there.
    root_url: String,
    /// Generation over plain HTTP: the lean path (see `http1`).
    http1: Option<Arc<http1::Http1>>,
}

impl Client {
    pub fn new(config: ClientConfig) -> anyhow::Result<Self> {
        crate::tls::install_provider();
        let mut headers = HeaderMap::new();
        for (k, v) in &config.headers {
            headers.insert(
                HeaderName::from_bytes(k.as_bytes())
                    .with_context(|| format!("invalid header name '{k}'"))?,
                HeaderValue::from_str(v)
                    .with_context(|| format!("invalid value for header '{k}'"))?,
            );
        }
        if let Some(key) = &config.api_key {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {key}")).context("invalid API key")?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .context("building the HTTP client")?;
        let base = config.base_url.trim_end_matches('/').to_string();
        let generate_url = match config.api {
            Api::Completions => format!("{base}/completions"),
            Api::Chat => format!("{base}/chat/completions"),
        };
        let root_url = server_root(&base).to_string();
        let tokenize_url = format!("{root_url}{}", config.tokenize_path);
        let http1 = http1::Http1::new(&generate_url, &config.headers, config.api_key.as_deref())
            .map(Arc::new);
        Ok(Self {
            http,
            config,
            generate_url,
            tokenize_url,
            root_url,
            http1,
        })
    }

    /// Send one streaming request; every failure becomes an `Outcome` with
    /// `ok = false` and the reason.
    pub async fn generate(&self, req: &GenRequest) -> Outcome {
        let mut outcome = self.generate_once(req).await;
        // A server may echo the request's headers in an error; the key must
        // not reach the records.
        if let (Some(key), Some(error)) = (&self.config.api_key, &mut outcome.error) {
            if !key.is_empty() && error.contains(key.as_str()) {
                *error = error.replace(key.as_str(), "***");
            }
        }
        outcome
    }

    async fn generate_once(&self, req: &GenRequest) -> Outcome {
        let body = match self.config.api {
            Api::Completions => req.completions_body(),
            Api::Chat => req.chat_body(),
        }
        .to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(lean) = &self.http1 {
                let request = lean.request(body.as_bytes());
                let sent = Instant::now();
                let mut t = Timing::new(sent);
                match tokio::time::timeout(self.config.timeout, lean.exchange(&request, &mut t))
                    .await
                {
                    Ok(Exchange::StaleConnection) if attempt == 1 => continue,
                    Ok(Exchange::StaleConnection) => {
                        return t.fail(
                            None,
                            "request failed: connection closed before the response".into(),
                        )
                    }
                    Ok(Exchange::Done) => return t.outcome,
                    Err(_) => {
                        let secs = self.config.timeout.as_secs_f64();
                        let status = t.outcome.http_status;
                        return t.fail(status, format!("timeout after {secs}s"));
                    }
                }
            }
            // Serialise and build before the clock starts: only the exchange counts.
            let built = self
                .http
                .post(&self.generate_url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .build();
            let sent = Instant::now();
            let mut t = Timing::new(sent);
            let request = match built {
                Ok(r) => r,
                Err(e) => return t.fail(None, format!("building request: {e}")),
            };
            match tokio::time::timeout(self.config.timeout, self.exchange(request, &mut t)).await {
                // A server may close a kept-alive connection just as we reuse it
                // (llama.cpp's cpp-httplib closes one after 5 requests or 5 s
                // idle). Nothing reached the server's model, so the request is
                // sent once more on a fresh connection and timed from there.
                Ok(Exchange::StaleConnection) if attempt == 1 => continue,
                Ok(_) => return t.outcome,
                Err(_) => {
                    let secs = self.config.timeout.as_secs_f64();
                    let status = t.outcome.http_status;
                    return t.fail(status, format!("timeout after {secs}s"));
                }
            }
        }
    }

    async fn exchange(&self, request: reqwest::Request, t: &mut Timing) -> Exchange {
        let response = match self.http.execute(request).await {
            Ok(r) => r,
            Err(e) => {
                t.error_at(Instant::now(), describe(&e));
                return if closed_before_response(&e) {
                    Exchange::StaleConnection
                } else {
                    Exchange::Done
                };
            }
        };
        let status = response.status();
        t.outcome.http_status = Some(status.as_u16());
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let message = error_message(&text);
            t.error_at(
                Instant::now(),
                format!("HTTP {}: {message}", status.as_u16()),
            );
            return Exchange::Done;
        }
        let mut stream = response.bytes_stream();
        let mut reader = StreamReader::default();
        loop {
            let next = stream.next().await;
            let now = Instant::now();
            let flow = match next {
                Some(Ok(bytes)) => reader.feed(t, now, &bytes),
                Some(Err(e)) => {
                    t.error_at(now, format!("stream broken: {}", describe(&e)));
                    Flow::Ended
                }
                None => reader.finish(t, now),
            };
            if let Flow::Ended = flow {
                return Exchange::Done;
            }
        }
    }

    /// Tokens in `text` as the server counts them (special tokens included,
    /// as in a completion's `usage.prompt_tokens`).
    pub async fn count_tokens(&self, text: &str) -> anyhow::Result<usize> {
        let body = serde_json::json!({
            "content": text,          // llama.cpp
            "add_special": true,      // llama.cpp: count BOS as usage does
            "prompt": text,           // vLLM
            "model": self.config.model,
        });
        let response = self
            .http
            .post(&self.tokenize_url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {}", self.tokenize_url))?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success(),
            "POST {} answered HTTP {}: exact input_tokens needs the server's tokenize endpoint (target.tokenize)",
            self.tokenize_url,
            status.as_u16()
        );
        let answer: TokenizeResponse = response
            .json()
            .await
            .context("reading the tokenize answer")?;
        answer
            .count
            .or(answer.tokens.map(|t| t.len()))
            .context("tokenize answer has neither 'tokens' nor 'count'")
    }
}

impl TokenCounter for Client {
    async fn count(&self, text: &str) -> anyhow::Result<usize> {
        self.count_tokens(text).await
    }
}

/// Counts a chat conversation (optional system message + one user message)
/// as the server will: rendered through its chat template
/// (`POST /apply-template`, llama.cpp) and tokenized. Servers without that
/// endpoint get the messages' contents counted and summed, which is exact
/// where the template adds no tokens (the built-in sim) and an undercount
/// elsewhere.
pub struct ChatCounter<'a> {
    pub client: &'a Client,
    pub system: Option<&'a str>,
    /// Whether the server has `/apply-template`: unknown until first asked.
    pub templated: std::sync::OnceLock<bool>,
}

impl ChatCounter<'_> {
    async fn apply_template(&self, user: &str) -> anyhow::Result<Option<String>> {
        if self.templated.get() == Some(&false) {
            return Ok(None);
        }
        let body = serde_json::json!({
            "messages": GenRequest::messages(self.system, user),
        });
        let url = format!("{}/apply-template", self.client.root_url);
        let response = self.client.http.post(&url).json(&body).send().await?;
        if !response.status().is_success() {
            let _ = self.templated.set(false);
            return Ok(None);
        }
        let _ = self.templated.set(true);
        let v: serde_json::Value = response.json().await?;
        Ok(v.get("prompt").and_then(|p| p.as_str()).map(str::to_string))
    }
}

impl TokenCounter for ChatCounter<'_> {
    async fn count(&self, text: &str) -> anyhow::Result<usize> {
        match self.apply_template(text).await? {
            Some(rendered) => self.client.count_tokens(&rendered).await,
            None => {
                let system = match self.system {
                    Some(s) => self.client.count_tokens(s).await?,
                    None => 0,
                };
                Ok(system + self.client.count_tokens(text).await?)
            }
        }
    }
}

/// Whether a stream goes on after the bytes just read.
enum Flow {
    More,
    Ended,
}

/// Turns a response body's bytes, as the socket gave them, into timed
/// events: SSE framing, `[DONE]`, error events, JSON chunks.
#[derive(Default)]
struct StreamReader {
    parser: sse::Parser,
    events: Vec<sse::Event>,
}

impl StreamReader {
    /// Bytes read at `now`; every event in them is stamped `now`.
    fn feed(&mut self, t: &mut Timing, now: Instant, bytes: &[u8]) -> Flow {
        self.parser.feed(bytes, &mut self.events);
        self.dispatch(t, now)
    }

    /// The body ended at `now`: an event without its blank line still counts.
    fn finish(&mut self, t: &mut Timing, now: Instant) -> Flow {
        self.parser.finish(&mut self.events);
        if let Flow::More = self.dispatch(t, now) {
            t.end(now);
        }
        Flow::Ended
    }

    fn dispatch(&mut self, t: &mut Timing, now: Instant) -> Flow {
        for ev in self.events.drain(..) {
            if ev.data == "[DONE]" {
                t.end(now);
                return Flow::Ended;
            }
            if ev.event.as_deref() == Some("error") {
                t.error_at(now, format!("server error event: {}", ev.data));
                return Flow::Ended;
            }
            // llama.cpp opens a multi-prompt stream with `data: null`.
            if ev.data.trim() == "null" {
                continue;
            }
            if t.outcome.response_id.is_none() {
                t.outcome.response_id = wire::response_id(&ev.data);
            }
            match serde_json::from_str::<Chunk>(&ev.data) {
                Ok(chunk) => {
                    if let Some(err) = chunk.error {
                        t.error_at(now, format!("server error: {}", err.message()));
                        return Flow::Ended;
                    }
                    t.chunk(now, &chunk);
                }
                Err(e) => {
                    let head: String = ev.data.chars().take(120).collect();
                    t.error_at(now, format!("malformed event ({e}): {head}"));
                    return Flow::Ended;
                }
            }
        }
        Flow::More
    }
}

/// The client's whole per-event path — SSE framing, JSON chunks, timing and
/// token accounting — over a recorded body, each read stamped with its
/// time: what the benchmarks measure, and a way to check a server's
/// captured stream offline.
pub fn replay<'a>(reads: impl IntoIterator<Item = (Instant, &'a [u8])>, sent: Instant) -> Outcome {
    let mut t = Timing::new(sent);
    let mut reader = StreamReader::default();
    let mut last = sent;
    for (at, bytes) in reads {
        last = at;
        if let Flow::Ended = reader.feed(&mut t, at, bytes) {
            return t.outcome;
        }
    }
    reader.finish(&mut t, last);
    t.outcome
}

/// How an exchange ended, for the retry decision.
enum Exchange {
    Done,
    /// The connection was closed before any response: safe to send again.
    StaleConnection,
}

/// An error response's reason: its JSON `error`, else the body's start.
fn error_message(text: &str) -> String {
    serde_json::from_str::<Chunk>(text)
        .ok()
        .and_then(|c| c.error.map(|e| e.message()))
        .unwrap_or_else(|| text.chars().take(300).collect())
}

/// hyper's "connection closed before message completed" (or a reset) on a
/// reused connection, before any response byte.
fn closed_before_response(e: &reqwest::Error) -> bool {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if text.contains("connection closed before message completed")
            || text.contains("connection reset")
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// `http://host:port/v1` → `http://host:port`: tokenize lives at the root.
fn server_root(base: &str) -> &str {
    base.strip_suffix("/v1").unwrap_or(base)
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_body() || e.is_decode() {
        "reading body"
    } else {
        "request failed"
    };
    let mut msg = kind.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
