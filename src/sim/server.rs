//! The reference server: OpenAI-compatible completions and chat (streaming
//! and not), `/v1/models`, `/health`, `/tokenize`, with the latency model of
//! [`super::SimModel`]. A simulation for the quickstart, tests and
//! calibration of the harness — not a language model.

use super::model::{speed_of, Fault, SimModel};
pub use super::state::SimOptions;
use super::state::{Kind, Shared};
use super::stream::{serve, Job};
use super::tokenizer;
use super::truth::Piece;
use crate::clock::Clock;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, Semaphore};

fn fault_name(f: Fault) -> &'static str {
    match f {
        Fault::Error => "error",
        Fault::RateLimited => "rate_limited",
        Fault::Unavailable => "unavailable",
        Fault::Stall => "stall",
        Fault::Drop => "drop",
        Fault::Malformed => "malformed",
    }
}

const FAULTS: [Fault; 6] = [
    Fault::Error,
    Fault::RateLimited,
    Fault::Unavailable,
    Fault::Stall,
    Fault::Drop,
    Fault::Malformed,
];

/// Requests served and faults injected: what a test compares a run's
/// records with.
async fn stats(State(s): State<Arc<Shared>>) -> Json<serde_json::Value> {
    let faults: serde_json::Map<String, serde_json::Value> = FAULTS
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (
                fault_name(*f).to_string(),
                json!(s.injected[i].load(Ordering::Relaxed)),
            )
        })
        .collect();
    Json(json!({"requests": s.requests.load(Ordering::Relaxed), "faults": faults}))
}

/// The requests served since the last call, with when their events were
/// really sent; the log starts afresh. 404 without `--record-truth`.
async fn take_truth(State(s): State<Arc<Shared>>) -> Response {
    match &s.truth {
        Some(log) => Json(json!({"requests": log.take()})).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "the sim keeps no truth log (start it with --record-truth)",
        ),
    }
}

async fn health(State(s): State<Arc<Shared>>) -> Response {
    if s.loading() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "loading model");
    }
    Json(json!({"status": "ok"})).into_response()
}

pub fn router(model: SimModel) -> Router {
    router_with(model, SimOptions::default())
}

pub fn router_with(model: SimModel, options: SimOptions) -> Router {
    let shared = Arc::new(Shared {
        clock: Clock::start(),
        slots: Semaphore::new(model.slots),
        model,
        decoding: AtomicUsize::new(0),
        requests: AtomicU64::new(0),
        started: Instant::now(),
        truth: options.record_truth.then(Default::default),
        options,
        injected: Default::default(),
    });
    Router::new()
        .route("/health", get(health))
        .route("/sim/stats", get(stats))
        .route("/sim/truth", post(take_truth))
        .route("/v1/models", get(models))
        .route("/tokenize", post(tokenize))
        .route("/v1/completions", post(completions))
        .route("/v1/chat/completions", post(chat))
        .with_state(shared)
}

async fn models() -> Json<serde_json::Value> {
    Json(
        json!({"object": "list", "data": [{"id": "sim", "object": "model", "owned_by": "infer-bench"}]}),
    )
}

#[derive(Deserialize)]
struct TokenizeRequest {
    /// llama.cpp's field.
    content: Option<String>,
    /// vLLM's field.
    prompt: Option<String>,
}

async fn tokenize(Json(req): Json<TokenizeRequest>) -> Response {
    match req.content.or(req.prompt) {
        Some(text) => {
            let tokens = tokenizer::tokenize(&text);
            Json(json!({"count": tokens.len(), "tokens": tokens})).into_response()
        }
        None => error(StatusCode::BAD_REQUEST, "expected 'content' or 'prompt'"),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PromptField {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Message {
    #[allow(dead_code)]
    role: String,
    content: String,
}

#[derive(Deserialize, Default)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Deserialize)]
struct GenRequest {
    #[serde(default)]
    pub(super) model: String,
    prompt: Option<PromptField>,
    messages: Option<Vec<Message>>,
    #[serde(alias = "max_completion_tokens")]
    max_tokens: Option<usize>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    ignore_eos: bool,
    min_tokens: Option<usize>,
}

async fn completions(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let arrived = Instant::now();
    if !authorized(&s, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong API key");
    }
    generate(s, body, Kind::Completion, arrived)
}

async fn chat(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let arrived = Instant::now();
    if !authorized(&s, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong API key");
    }
    generate(s, body, Kind::Chat, arrived)
}

fn authorized(s: &Shared, headers: &HeaderMap) -> bool {
    let Some(key) = &s.options.api_key else {
        return true;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|v| v == key)
}

/// An error that asks the client to come back in a second.
fn retry_later(status: StatusCode, message: &str) -> Response {
    let mut r = error(status, message);
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    r
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": status.as_u16(), "message": message, "type": "invalid_request_error"}})),
    )
        .into_response()
}

/// Default `max_tokens` where the request gives none (OpenAI's legacy default).
const DEFAULT_MAX_TOKENS: usize = 16;

fn generate(s: Arc<Shared>, body: Bytes, kind: Kind, arrived: Instant) -> Response {
    let req: GenRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid request body: {e}"),
            )
        }
    };
    let prompts = match prompt_lengths(kind, &req) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    if s.loading() {
        return retry_later(StatusCode::SERVICE_UNAVAILABLE, "loading model");
    }
    let n = s.requests.fetch_add(1, Ordering::Relaxed);
    if s.options.exit_after.is_some_and(|k| n + 1 >= k) {
        crate::error::warn(format_args!(
            "infer-bench sim: exiting on request {} as told (--exit-after)",
            n + 1
        ));
        std::process::exit(3);
    }
    let fault = match draw_fault(&s, n) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let jobs = jobs(&s, &req, kind, n, &prompts, fault, arrived);
    let include_usage = req.stream_options.as_ref().is_some_and(|o| o.include_usage);
    let (tx, rx) = mpsc::channel::<Piece>(64);
    let stream = req.stream;
    let witness = s
        .truth
        .clone()
        .map(|log| (log, format!("cmpl-sim-{n}"), arrived));
    tokio::spawn(serve(s, jobs, tx, stream, include_usage));
    let body_stream = super::truth::body(rx, witness);
    let content_type = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body_stream))
        .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

/// Each prompt's length in tokens, or the refusal of a malformed request.
/// The chat template of the sim adds no tokens: a conversation counts as
/// the sum of its message contents. A list of prompts is a batch: one
/// sequence (and one choice) per prompt.
fn prompt_lengths(kind: Kind, req: &GenRequest) -> Result<Vec<usize>, Box<Response>> {
    match (kind, &req.prompt, &req.messages) {
        (Kind::Completion, Some(PromptField::One(p)), _) => Ok(vec![tokenizer::count(p)]),
        (Kind::Completion, Some(PromptField::Many(ps)), _) if !ps.is_empty() => {
            Ok(ps.iter().map(|p| tokenizer::count(p)).collect())
        }
        (Kind::Completion, Some(PromptField::Many(_)), _) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "'prompt' is an empty list",
        ))),
        (Kind::Chat, _, Some(ms)) if !ms.is_empty() => {
            Ok(vec![ms.iter().map(|m| tokenizer::count(&m.content)).sum()])
        }
        (Kind::Completion, None, _) => {
            Err(Box::new(error(StatusCode::BAD_REQUEST, "missing 'prompt'")))
        }
        (Kind::Chat, _, _) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "missing 'messages'",
        ))),
    }
}

/// Request `n`'s fault, drawn from the sim's seed and counted; the faults
/// that answer at once come back as their response.
fn draw_fault(s: &Shared, n: u64) -> Result<Option<Fault>, Box<Response>> {
    let mut draw =
        StdRng::seed_from_u64(s.model.seed ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0xFA17);
    let fault = s.model.faults.pick(draw.random_range(0.0..1.0));
    if let Some(i) = fault.and_then(|f| FAULTS.iter().position(|x| *x == f)) {
        s.injected[i].fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Some(Fault::Error) => Err(Box::new(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "injected fault: internal error",
        ))),
        Some(Fault::RateLimited) => Err(Box::new(retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "injected fault: rate limited",
        ))),
        Some(Fault::Unavailable) => Err(Box::new(retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "injected fault: unavailable",
        ))),
        other => Ok(other),
    }
}

/// One sequence per prompt, its length decided now: exactly `max_tokens`
/// under `ignore_eos`, else a geometric length with mean 64 ("the model
/// stops on its own").
fn jobs(
    s: &Shared,
    req: &GenRequest,
    kind: Kind,
    n: u64,
    prompts: &[usize],
    fault: Option<Fault>,
    arrived: Instant,
) -> Vec<Job> {
    let max_tokens = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS).max(1);
    let exact = req.ignore_eos || req.min_tokens.is_some_and(|m| m >= max_tokens);
    prompts
        .iter()
        .enumerate()
        .map(|(index, &prompt_tokens)| {
            let mut rng = StdRng::seed_from_u64(
                s.model.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index as u64,
            );
            let completion_tokens = if exact {
                max_tokens
            } else {
                let mut k = 1;
                while k < max_tokens && rng.random_range(0.0..1.0) > 1.0 / 64.0 {
                    k += 1;
                }
                k
            };
            Job {
                id: format!("cmpl-sim-{n}"),
                model: req.model.clone(),
                kind,
                index,
                fault: if index == 0 { fault } else { None },
                prompt_tokens,
                completion_tokens,
                finish: if completion_tokens == max_tokens {
                    "length"
                } else {
                    "stop"
                },
                speed: speed_of(&req.model),
                rng,
                arrived,
                prompt_ms: 0.0,
            }
        })
        .collect()
}
