//! The reference server: OpenAI-compatible completions and chat (streaming
//! and not), `/v1/models`, `/health`, `/tokenize`, with the latency model of
//! [`super::SimModel`]. A simulation for the quickstart, tests and
//! calibration of the harness — not a language model.

use super::model::{speed_of, SimModel};
use super::tokenizer;
use crate::clock::Clock;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Deserialize;
use serde_json::json;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

struct Shared {
    model: SimModel,
    clock: Clock,
    slots: Semaphore,
    /// Requests past their first token and still generating.
    decoding: AtomicUsize,
    requests: AtomicU64,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.clock.stop();
    }
}

pub fn router(model: SimModel) -> Router {
    let shared = Arc::new(Shared {
        clock: Clock::start(),
        slots: Semaphore::new(model.slots),
        model,
        decoding: AtomicUsize::new(0),
        requests: AtomicU64::new(0),
    });
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
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
    model: String,
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

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Completion,
    Chat,
}

async fn completions(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    generate(s, body, Kind::Completion, Instant::now())
}

async fn chat(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    generate(s, body, Kind::Chat, Instant::now())
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
    // The chat template of the sim adds no tokens: a conversation counts as
    // the sum of its message contents. A list of prompts is a batch: one
    // sequence (and one choice) per prompt.
    let prompts: Vec<usize> = match (kind, &req.prompt, &req.messages) {
        (Kind::Completion, Some(PromptField::One(p)), _) => vec![tokenizer::count(p)],
        (Kind::Completion, Some(PromptField::Many(ps)), _) if !ps.is_empty() => {
            ps.iter().map(|p| tokenizer::count(p)).collect()
        }
        (Kind::Completion, Some(PromptField::Many(_)), _) => {
            return error(StatusCode::BAD_REQUEST, "'prompt' is an empty list")
        }
        (Kind::Chat, _, Some(ms)) if !ms.is_empty() => {
            vec![ms.iter().map(|m| tokenizer::count(&m.content)).sum()]
        }
        (Kind::Completion, None, _) => return error(StatusCode::BAD_REQUEST, "missing 'prompt'"),
        (Kind::Chat, _, _) => return error(StatusCode::BAD_REQUEST, "missing 'messages'"),
    };
    let n = s.requests.fetch_add(1, Ordering::Relaxed);
    let max_tokens = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS).max(1);
    let exact = req.ignore_eos || req.min_tokens.is_some_and(|m| m >= max_tokens);
    let jobs: Vec<Job> = prompts
        .iter()
        .enumerate()
        .map(|(index, &prompt_tokens)| {
            let mut rng = StdRng::seed_from_u64(
                s.model.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index as u64,
            );
            // Without ignore_eos the "model" stops on its own: a geometric length with mean 64.
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
            }
        })
        .collect();
    let include_usage = req.stream_options.as_ref().is_some_and(|o| o.include_usage);
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let stream = req.stream;
    tokio::spawn(serve(s, jobs, tx, stream, include_usage));
    let body_stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
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

struct Job {
    id: String,
    model: String,
    kind: Kind,
    /// The choice this sequence answers (its prompt's place in a batch).
    index: usize,
    prompt_tokens: usize,
    completion_tokens: usize,
    finish: &'static str,
    speed: f64,
    rng: StdRng,
    arrived: Instant,
}

/// Every sequence of a request at once (each takes a slot, as a batching
/// server would), then the usage summed over them and the stream's end.
async fn serve(
    s: Arc<Shared>,
    jobs: Vec<Job>,
    tx: mpsc::Sender<Bytes>,
    stream: bool,
    include_usage: bool,
) {
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        set.spawn(run(s.clone(), job, tx.clone(), stream));
    }
    let mut done: Vec<(Job, String)> = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(r) = r {
            done.push(r);
        }
    }
    done.sort_by_key(|(j, _)| j.index);
    let Some((first, _)) = done.first() else {
        return;
    };
    let (prompt, completion) = done.iter().fold((0, 0), |(p, c), (j, _)| {
        (p + j.prompt_tokens, c + j.completion_tokens)
    });
    let usage = json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    });
    let mut v = envelope(first);
    if stream {
        if include_usage {
            v["choices"] = json!([]);
            v["usage"] = usage;
            let _ = tx.send(sse(&v)).await;
        }
        let _ = tx.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
    } else {
        let object = if first.kind == Kind::Chat {
            "chat.completion"
        } else {
            "text_completion"
        };
        v["object"] = json!(object);
        v["choices"] = done
            .iter()
            .map(|(job, text)| match job.kind {
                Kind::Completion => {
                    json!({"index": job.index, "text": text, "finish_reason": job.finish})
                }
                Kind::Chat => json!({"index": job.index, "message": {"role": "assistant", "content": text}, "finish_reason": job.finish}),
            })
            .collect();
        v["usage"] = usage;
        let _ = tx.send(Bytes::from(v.to_string())).await;
    }
}

const WORDS: &[&str] = &[
    " the", " light", " sea", " keeper", " tower", " wave", " ship", " night", " lamp", " rock",
    " wind", " coast", " signal", " storm", " harbour", " tide", " and", " of", " a", " to",
];

/// Generates one sequence on the latency model's schedule, streaming its
/// chunks (and its finish) or returning its text. Deadlines are absolute so
/// timer overshoot does not accumulate over a long output.
async fn run(s: Arc<Shared>, mut job: Job, tx: mpsc::Sender<Bytes>, stream: bool) -> (Job, String) {
    // Prefill starts when the request arrives, or when a slot frees up.
    let (_permit, mut at) = match s.slots.try_acquire() {
        Ok(p) => (p, job.arrived),
        Err(_) => match s.slots.acquire().await {
            Ok(p) => (p, Instant::now()),
            Err(_) => return (job, String::new()),
        },
    };
    let m = &s.model;
    at += ms(m.prefill_ms(job.prompt_tokens, job.speed) * m.noise(&mut job.rng));
    let mut text = String::new();
    let mut decoding = false;
    for i in 0..job.completion_tokens {
        if i > 0 {
            let active = s.decoding.load(Ordering::Relaxed);
            at += ms(m.gap_ms(active, job.speed) * m.noise(&mut job.rng));
        }
        s.clock.sleep_until(at).await;
        if i == 0 {
            s.decoding.fetch_add(1, Ordering::Relaxed);
            decoding = true;
        }
        let word = WORDS[job.rng.random_range(0..WORDS.len())];
        if stream {
            if tx.send(chunk(&job, Some(word), None)).await.is_err() {
                break; // client went away: free the slot
            }
        } else {
            text.push_str(word);
        }
    }
    if decoding {
        s.decoding.fetch_sub(1, Ordering::Relaxed);
    }
    if stream {
        let _ = tx.send(chunk(&job, None, Some(job.finish))).await;
    }
    (job, text)
}

fn ms(x: f64) -> Duration {
    Duration::from_secs_f64(x.max(0.0) / 1000.0)
}

fn envelope(job: &Job) -> serde_json::Value {
    let object = match job.kind {
        Kind::Completion => "text_completion",
        Kind::Chat => "chat.completion.chunk",
    };
    json!({"id": job.id, "object": object, "created": 0, "model": job.model})
}

fn chunk(job: &Job, text: Option<&str>, finish: Option<&str>) -> Bytes {
    let mut v = envelope(job);
    let choice = match job.kind {
        Kind::Completion => {
            json!({"index": job.index, "text": text.unwrap_or(""), "finish_reason": finish})
        }
        Kind::Chat => {
            let delta = match text {
                Some(t) => json!({"role": "assistant", "content": t}),
                None => json!({}),
            };
            json!({"index": job.index, "delta": delta, "finish_reason": finish})
        }
    };
    v["choices"] = json!([choice]);
    sse(&v)
}

fn sse(v: &serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}
