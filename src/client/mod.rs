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

use crate::endpoint::{endpoint, Under};
use crate::experiment::Api;
use crate::record::RequestStatus;
use anyhow::Context as _;
use exchange::Exchange;
use futures_util::FutureExt as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// reqwest without a pool, for generation once the server has dropped
    /// a request written to a kept connection (see [`Client::transport`]).
    http_fresh: reqwest::Client,
    /// Set once the server dropped a request on the reqwest path's pool.
    pool_dropped: Arc<AtomicBool>,
    config: ClientConfig,
    generate_url: String,
    tokenize_url: String,
    /// Generation over plain HTTP: the lean path (see `http1`).
    http1: Option<Arc<http1::Http1>>,
    /// What a server's answers are scrubbed of before they are kept.
    secrets: Arc<crate::redact::Secrets>,
}

impl Client {
    /// A client for side requests with this one's headers and credentials.
    pub fn side_http(&self) -> anyhow::Result<reqwest::Client> {
        side_client(&self.config)
    }

    pub fn new(config: ClientConfig) -> anyhow::Result<Self> {
        crate::tls::install_provider();
        let headers = target_headers(&config)?;
        let all_headers: Vec<(String, String)> = config
            .headers
            .iter()
            .chain(&config.secret_headers)
            .cloned()
            .collect();
        let authorization = authorization(&config);
        // A redirect is recorded with its target, not followed: the
        // benchmark measures the server it was pointed at.
        let builder = || {
            reqwest::Client::builder()
                .default_headers(headers.clone())
                .redirect(reqwest::redirect::Policy::none())
                .tcp_nodelay(true)
                .http1_max_headers(exchange::MAX_HEADERS)
        };
        let http = builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .context("building the HTTP client")?;
        let http_fresh = builder()
            .pool_max_idle_per_host(0)
            .build()
            .context("building the HTTP client")?;
        let generate_url = endpoint(
            &config.base_url,
            Under::Base,
            match config.api {
                Api::Completions => "completions",
                Api::Chat => "chat/completions",
            },
        );
        let tokenize_url = endpoint(&config.base_url, Under::Root, &config.tokenize_path);
        let http1 =
            http1::Http1::new(&generate_url, &all_headers, authorization.as_deref()).map(Arc::new);
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
            http_fresh,
            pool_dropped: Arc::default(),
            config,
            generate_url,
            tokenize_url,
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

    /// One request, sent once more only where its first try was provably
    /// lost to the idle-close race (see [`exchange::IDLE_CLOSE_RACE`]).
    /// A retried request is timed from its first write: the retry's wait is
    /// the request's (at most the race's bound longer), and it is marked.
    async fn generate_once(&self, encoded: &Encoded<'_>, cutoff: Option<Instant>) -> Outcome {
        let req = encoded.req;
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
        let mut first_sent = None;
        loop {
            let retried = first_sent.is_some();
            let (mut t, exchange, why) = match &self.http1 {
                Some(lean) => self.via_lean(lean, encoded, first_sent, cutoff).await,
                None => match self.via_reqwest(encoded, first_sent, cutoff).await {
                    Ok(tried) => tried,
                    Err(failed) => return failed,
                },
            };
            t.outcome.retried = retried;
            match exchange {
                // A kept connection closed as we wrote to it, before any
                // byte of a response: once more, on a new connection.
                Ok(Exchange::StaleConnection) if !retried => first_sent = Some(t.outcome.sent),
                Ok(Exchange::StaleConnection) => return t.fail(None, exchange::CLOSED.into()),
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

    /// A request's timing, begun at `sent` (a retry's: its first try's).
    fn timing(req: &GenRequest, sent: Instant) -> Timing {
        let mut t = Timing::new(sent, 1 + req.batch.len());
        if req.keep_text {
            t.keep_text();
        }
        t
    }

    /// One try on the lean path; a retry goes on a new connection.
    async fn via_lean(
        &self,
        lean: &Arc<http1::Http1>,
        encoded: &Encoded<'_>,
        first_sent: Option<Instant>,
        cutoff: Option<Instant>,
    ) -> (
        Timing,
        Result<Exchange, tokio::time::error::Elapsed>,
        Cutoff,
    ) {
        let request = lean.request(encoded.body.as_bytes(), &encoded.req.headers);
        let sent = first_sent.unwrap_or_else(Instant::now);
        let mut t = Self::timing(encoded.req, sent);
        let (deadline, why) = self.deadline(sent, cutoff);
        let exchange = lean.exchange(&request, &mut t, first_sent.is_some());
        let ended = tokio::time::timeout_at(deadline, exchange).await;
        (t, ended, why)
    }

    /// One try through reqwest, which cannot say whether a connection was
    /// kept: while the server has dropped none, its pool is used, and a
    /// drop within the race's bound is taken for the race (once: the pool
    /// is left for good, as on the lean path); from then on every request
    /// goes on a new connection, where a drop is the server's failure.
    async fn via_reqwest(
        &self,
        encoded: &Encoded<'_>,
        first_sent: Option<Instant>,
        cutoff: Option<Instant>,
    ) -> Result<
        (
            Timing,
            Result<Exchange, tokio::time::error::Elapsed>,
            Cutoff,
        ),
        Outcome,
    > {
        let pooled = first_sent.is_none() && !self.pool_dropped.load(Ordering::Relaxed);
        let http = if pooled { &self.http } else { &self.http_fresh };
        // Serialise and build before the clock starts: only the exchange counts.
        let mut builder = http
            .post(&self.generate_url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (k, v) in &encoded.req.headers {
            builder = builder.header(k, v);
        }
        let built = builder.body(encoded.body.clone()).build();
        let sent = first_sent.unwrap_or_else(Instant::now);
        let t = Self::timing(encoded.req, sent);
        let request = match built {
            Ok(r) => r,
            Err(e) => return Err(t.fail(None, format!("building request: {e}"))),
        };
        let (deadline, why) = self.deadline(sent, cutoff);
        let mut t = t;
        let exchange = via_reqwest::exchange(http, request, &mut t, pooled, &self.pool_dropped);
        let ended = tokio::time::timeout_at(deadline, exchange).await;
        Ok((t, ended, why))
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

    /// The URL of `path` at the server's root (the base URL without `/v1`),
    /// the base URL's query kept: llama.cpp and vLLM keep their non-OpenAI
    /// endpoints there.
    pub(crate) fn at_root(&self, path: &str) -> String {
        endpoint(&self.config.base_url, Under::Root, path)
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

/// The one `Authorization` a client sends: the API key as a Bearer token;
/// else a `target.headers` entry of that name, as written; else the base
/// URL's userinfo as Basic credentials (RFC 7617), taken out of every URL.
/// An explicit credential beats one folded into the URL.
/// The headers every request to the target carries: the experiment's
/// headers, the secret ones, and the credentials (API key or the URL's).
pub fn target_headers(config: &ClientConfig) -> anyhow::Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    let secret = config.secret_headers.iter().map(|h| (h, true));
    for ((k, v), sensitive) in config.headers.iter().map(|h| (h, false)).chain(secret) {
        let mut value =
            HeaderValue::from_str(v).with_context(|| format!("invalid value for header '{k}'"))?;
        value.set_sensitive(sensitive);
        headers.insert(
            HeaderName::from_bytes(k.as_bytes())
                .with_context(|| format!("invalid header name '{k}'"))?,
            value,
        );
    }
    if let Some(auth) = authorization(config) {
        let mut value =
            HeaderValue::from_str(&auth).context("invalid API key or URL credentials")?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    Ok(headers)
}

/// A client for the target's side requests (`/props`, `/metrics`, readiness
/// probes): the generation's headers and credentials, so a server that
/// asks for its key everywhere (llama.cpp's `--api-key`) answers them too.
pub fn side_client(config: &ClientConfig) -> anyhow::Result<reqwest::Client> {
    crate::tls::install_provider();
    reqwest::Client::builder()
        .default_headers(target_headers(config)?)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the HTTP client")
}

fn authorization(config: &ClientConfig) -> Option<String> {
    if let Some(key) = &config.api_key {
        return Some(format!("Bearer {key}"));
    }
    let explicit = config
        .headers
        .iter()
        .chain(&config.secret_headers)
        .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
    if explicit {
        return None;
    }
    crate::endpoint::basic_authorization(&config.base_url)
}
