//! OpenAI-compatible client: streams one request and timestamps every event.

mod exchange;
mod http1;
mod outcome;
pub mod sse;
mod stream;
mod timing;
mod tokens;
mod via_reqwest;
mod wire;

pub use outcome::{Outcome, CANCELLED};
pub use timing::{MAX_CONTENT_EVENTS, MAX_PLAUSIBLE_TOKENS};
pub use tokens::ChatCounter;
pub use wire::GenRequest;

use crate::experiment::Api;
use crate::record::RequestStatus;
use anyhow::Context as _;
use exchange::Exchange;
use futures_util::FutureExt as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use std::sync::Arc;
use std::time::Duration;
use stream::{Flow, StreamReader};
use timing::Timing;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: String,
    pub api: Api,
    pub headers: Vec<(String, String)>,
    /// Headers whose values are secrets whatever their names
    /// (`target.headers_env`): sent as the others, hidden as the API key.
    pub secret_headers: Vec<(String, String)>,
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
    /// What a server's answers are scrubbed of before they are kept.
    secrets: Arc<crate::redact::Secrets>,
}

impl Client {
    pub fn new(config: ClientConfig) -> anyhow::Result<Self> {
        crate::tls::install_provider();
        let mut headers = HeaderMap::new();
        let secret = config.secret_headers.iter().map(|h| (h, true));
        for ((k, v), sensitive) in config.headers.iter().map(|h| (h, false)).chain(secret) {
            let mut value = HeaderValue::from_str(v)
                .with_context(|| format!("invalid value for header '{k}'"))?;
            value.set_sensitive(sensitive);
            headers.insert(
                HeaderName::from_bytes(k.as_bytes())
                    .with_context(|| format!("invalid header name '{k}'"))?,
                value,
            );
        }
        let all_headers: Vec<(String, String)> = config
            .headers
            .iter()
            .chain(&config.secret_headers)
            .cloned()
            .collect();
        if let Some(key) = &config.api_key {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {key}")).context("invalid API key")?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        // A redirect is recorded with its target, not followed: the
        // benchmark measures the server it was pointed at.
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
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
        let http1 =
            http1::Http1::new(&generate_url, &all_headers, config.api_key.as_deref()).map(Arc::new);
        let mut secrets = crate::redact::Secrets::of_client(
            &config.base_url,
            config.headers.iter().map(|(k, v)| (k, v)),
            config.api_key.as_deref(),
        );
        for (_, value) in &config.secret_headers {
            secrets.add(value);
        }
        let secrets = Arc::new(secrets);
        Ok(Self {
            secrets,
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
        self.generate_until(req, None).await
    }

    /// As [`Client::generate`], but cut off at `cutoff` (a trial's end) if
    /// the response is still streaming then. Whatever happens inside, a
    /// panic included, the request ends as exactly one outcome.
    pub async fn generate_until(&self, req: &GenRequest, cutoff: Option<Instant>) -> Outcome {
        self.send_until(&self.encode(req), cutoff).await
    }

    /// The request's body, serialised: an open loop does this before it
    /// sleeps to the request's due time, so the send is not late by it.
    pub fn encode<'r>(&self, req: &'r GenRequest) -> Encoded<'r> {
        let body = match self.config.api {
            Api::Completions => req.completions_body(),
            Api::Chat => req.chat_body(),
        }
        .to_string();
        Encoded { req, body }
    }

    /// Send an encoded request, as [`Client::generate_until`].
    pub async fn send_until(&self, encoded: &Encoded<'_>, cutoff: Option<Instant>) -> Outcome {
        let asked = Instant::now();
        let run = std::panic::AssertUnwindSafe(self.generate_once(encoded, cutoff));
        let mut outcome = match run.catch_unwind().await {
            Ok(o) => o,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Outcome::failed(asked, format!("client error (a bug): {what}"))
            }
        };
        clean(&mut outcome, &self.secrets);
        outcome
    }

    async fn generate_once(&self, encoded: &Encoded<'_>, cutoff: Option<Instant>) -> Outcome {
        let (req, body) = (encoded.req, &encoded.body);
        let choices = 1 + req.batch.len();
        // A header of this request alone must be one line: anything else
        // would smuggle a second header (or request) onto the wire.
        if let Some((k, _)) = req.headers.iter().find(|(k, v)| {
            HeaderName::from_bytes(k.as_bytes()).is_err() || HeaderValue::from_str(v).is_err()
        }) {
            return Outcome::failed(
                Instant::now(),
                format!("invalid header '{k}' in the request"),
            );
        }
        let mut retried = false;
        loop {
            let mut t;
            let (exchange, why) = if let Some(lean) = &self.http1 {
                let request = lean.request(body.as_bytes(), &req.headers);
                let sent = Instant::now();
                t = Timing::new(sent, choices);
                if req.keep_text {
                    t.keep_text();
                }
                let (deadline, why) = self.deadline(sent, cutoff);
                let exchange = lean.exchange(&request, &mut t, retried);
                (tokio::time::timeout_at(deadline, exchange).await, why)
            } else {
                // Serialise and build before the clock starts: only the exchange counts.
                let mut builder = self
                    .http
                    .post(&self.generate_url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json");
                for (k, v) in &req.headers {
                    builder = builder.header(k, v);
                }
                let built = builder.body(body.clone()).build();
                let sent = Instant::now();
                t = Timing::new(sent, choices);
                if req.keep_text {
                    t.keep_text();
                }
                let request = match built {
                    Ok(r) => r,
                    Err(e) => return t.fail(None, format!("building request: {e}")),
                };
                let (deadline, why) = self.deadline(sent, cutoff);
                let exchange = via_reqwest::exchange(&self.http, request, &mut t);
                (tokio::time::timeout_at(deadline, exchange).await, why)
            };
            t.outcome.retried = retried;
            match exchange {
                // The server closed a kept-alive connection as we wrote to
                // it, before any byte of a response: the request goes once
                // more on a new connection, timed from there, and is marked.
                Ok(Exchange::StaleConnection) if !retried => retried = true,
                Ok(Exchange::StaleConnection) => {
                    return t.fail(
                        None,
                        "request failed: connection closed before the response".into(),
                    )
                }
                Ok(Exchange::Done) => return t.outcome,
                Err(_) => {
                    let status = t.outcome.http_status;
                    return match why {
                        Cutoff::Timeout => {
                            let reason =
                                format!("timeout after {}s", self.config.timeout.as_secs_f64());
                            t.fail(status, reason)
                        }
                        // Cut off by the harness, not failed by the server.
                        Cutoff::TrialEnd => Outcome {
                            status: RequestStatus::Cancelled,
                            ..t.fail(status, CANCELLED.to_string())
                        },
                    };
                }
            }
        }
    }

    /// When a request sent at `sent` is given up, and why: the target's
    /// timeout or the trial's cutoff, whichever comes first.
    fn deadline(&self, sent: Instant, cutoff: Option<Instant>) -> (Instant, Cutoff) {
        let timeout = sent + self.config.timeout;
        match cutoff {
            Some(c) if c < timeout => (c, Cutoff::TrialEnd),
            _ => (timeout, Cutoff::Timeout),
        }
    }

    /// Forget kept connections: the server behind this URL was relaunched.
    pub fn reset_connections(&self) {
        if let Some(lean) = &self.http1 {
            lean.reset();
        }
    }
}

/// The client's whole per-event path — SSE framing, JSON chunks, timing and
/// token accounting — over a recorded body, each read stamped with its
/// time: what the benchmarks measure, and a way to check a server's
/// captured stream offline.
pub fn replay<'a>(reads: impl IntoIterator<Item = (Instant, &'a [u8])>, sent: Instant) -> Outcome {
    let mut t = Timing::new(sent, usize::MAX);
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

/// A request with its body serialised ([`Client::encode`]).
pub struct Encoded<'r> {
    req: &'r GenRequest,
    body: String,
}

/// What ended a request that did not end by itself.
enum Cutoff {
    Timeout,
    TrialEnd,
}

/// Every string a server sent, on its way to the record: the key taken out
/// (a server may echo the request's headers anywhere), then cut to length.
fn clean(o: &mut Outcome, secrets: &crate::redact::Secrets) {
    let fields = [
        (o.error.as_mut(), 500),
        (o.response_id.as_mut(), 200),
        (o.finish_reason.as_mut(), 100),
    ];
    for (text, max) in fields.into_iter().filter_map(|(t, m)| Some((t?, m))) {
        secrets.scrub(text);
        crate::redact::truncate(text, max);
    }
}

/// `http://host:port/v1` → `http://host:port`: tokenize lives at the root.
fn server_root(base: &str) -> &str {
    base.strip_suffix("/v1").unwrap_or(base)
}
