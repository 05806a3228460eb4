//! Generating a response on the latency model's schedule: one sequence per
//! prompt, each streamed as SSE chunks (or gathered into one JSON body), with
//! the mid-stream faults (stall, drop, malformed event) injected halfway.

use super::model::Fault;
use super::state::{Kind, Shared};
use super::truth::Piece;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::RngExt;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub(super) struct Job {
    pub(super) id: String,
    pub(super) model: String,
    pub(super) kind: Kind,
    /// The choice this sequence answers (its prompt's place in a batch).
    pub(super) index: usize,
    /// A mid-stream fault (stall, drop, malformed) to inject halfway.
    pub(super) fault: Option<Fault>,
    pub(super) prompt_tokens: usize,
    pub(super) completion_tokens: usize,
    pub(super) finish: &'static str,
    pub(super) speed: f64,
    pub(super) rng: StdRng,
    pub(super) arrived: Instant,
    /// Its prefill, once run: what it reports as llama.cpp's
    /// `timings.prompt_ms` (the wait for a slot not included).
    pub(super) prompt_ms: f64,
}

/// Every sequence of a request at once (each takes a slot, as a batching
/// server would), then the usage summed over them and the stream's end.
pub(super) async fn serve(
    s: Arc<Shared>,
    jobs: Vec<Job>,
    tx: mpsc::Sender<Piece>,
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
    // As llama.cpp does: the server's own prompt time, which lets the
    // reports split TTFT into prefill and queueing.
    let timings = json!({"prompt_n": first.prompt_tokens, "prompt_ms": first.prompt_ms});
    let mut v = envelope(first);
    if stream {
        if include_usage {
            v["choices"] = json!([]);
            v["usage"] = usage;
            v["timings"] = timings;
            let _ = tx.send((Ok(sse(&v)), false)).await;
        }
        let _ = tx
            .send((Ok(Bytes::from_static(b"data: [DONE]\n\n")), false))
            .await;
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
        v["timings"] = timings;
        let _ = tx.send((Ok(Bytes::from(v.to_string())), true)).await;
    }
}

const WORDS: &[&str] = &[
    " the", " light", " sea", " keeper", " tower", " wave", " ship", " night", " lamp", " rock",
    " wind", " coast", " signal", " storm", " harbour", " tide", " and", " of", " a", " to",
];

/// Generates one sequence on the latency model's schedule, streaming its
/// chunks (and its finish) or returning its text. Deadlines are absolute so
/// timer overshoot does not accumulate over a long output.
async fn run(s: Arc<Shared>, mut job: Job, tx: mpsc::Sender<Piece>, stream: bool) -> (Job, String) {
    // Prefill starts when the request arrives, or when a slot frees up.
    let (_permit, mut at) = match s.slots.try_acquire() {
        Ok(p) => (p, job.arrived),
        Err(_) => match s.slots.acquire().await {
            Ok(p) => (p, Instant::now()),
            Err(_) => return (job, String::new()),
        },
    };
    let m = &s.model;
    job.prompt_ms = m.prefill_ms(job.prompt_tokens, job.speed) * m.noise(&mut job.rng);
    at += ms(job.prompt_ms);
    let mut text = String::new();
    let mut decoding = false;
    let content = ContentChunk::new(&job);
    let halfway = job.completion_tokens / 2;
    for i in 0..job.completion_tokens {
        if i > 0 {
            let active = s.decoding.load(Ordering::Relaxed);
            at += ms(m.gap_ms(active, job.speed) * m.noise(&mut job.rng));
        }
        if i == halfway {
            match job.fault {
                Some(Fault::Stall) => at += ms(m.faults.stall_ms),
                Some(Fault::Drop) => {
                    s.clock.sleep_until(at).await;
                    let cut = std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "injected fault: dropped",
                    );
                    let _ = tx.send((Err(cut), false)).await;
                    if decoding {
                        s.decoding.fetch_sub(1, Ordering::Relaxed);
                    }
                    return (job, text);
                }
                Some(Fault::Malformed) if stream => {
                    let _ = tx
                        .send((
                            Ok(Bytes::from_static(b"data: {\"choices\": [oops\n\n")),
                            false,
                        ))
                        .await;
                }
                _ => {}
            }
        }
        s.clock.sleep_until(at).await;
        if i == 0 {
            s.decoding.fetch_add(1, Ordering::Relaxed);
            decoding = true;
        }
        let word = WORDS[job.rng.random_range(0..WORDS.len())];
        if stream {
            if tx.send((Ok(content.with(word)), true)).await.is_err() {
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
        let _ = tx
            .send((Ok(chunk(&job, None, Some(job.finish))), false))
            .await;
    }
    (job, text)
}

/// Saturating: a model's product of factors (contention × tokens × ms)
/// must not panic the server, whatever the experiment asked.
fn ms(x: f64) -> Duration {
    crate::limits::duration_of(x / 1000.0)
}

fn envelope(job: &Job) -> serde_json::Value {
    let object = match job.kind {
        Kind::Completion => "text_completion",
        Kind::Chat => "chat.completion.chunk",
    };
    json!({"id": job.id, "object": object, "created": 0, "model": job.model})
}

/// A content chunk's bytes around its text, rendered once per sequence:
/// at a thousand streams the sim sends a hundred thousand of them a second.
/// The same JSON as [`chunk`] gives.
struct ContentChunk {
    head: String,
    tail: &'static str,
}

impl ContentChunk {
    fn new(job: &Job) -> Self {
        let v = envelope(job);
        // `{"id":…,"model":…}` without its closing brace.
        let mut head = format!("data: {v}");
        head.pop();
        let i = job.index;
        let (choice, tail) = match job.kind {
            Kind::Completion => (
                format!(r#","choices":[{{"index":{i},"text":"#),
                r#","finish_reason":null}]}"#,
            ),
            Kind::Chat => (
                format!(r#","choices":[{{"index":{i},"delta":{{"role":"assistant","content":"#),
                r#"},"finish_reason":null}]}"#,
            ),
        };
        head.push_str(&choice);
        ContentChunk { head, tail }
    }

    /// `word` is one of [`WORDS`]: nothing in it needs escaping.
    fn with(&self, word: &str) -> Bytes {
        let mut out = String::with_capacity(self.head.len() + word.len() + self.tail.len() + 4);
        out.push_str(&self.head);
        out.push('"');
        out.push_str(word);
        out.push('"');
        out.push_str(self.tail);
        out.push_str("\n\n");
        Bytes::from(out)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn job(kind: Kind) -> Job {
        Job {
            id: "cmpl-sim-7".into(),
            model: "we\"ird \\ model".into(),
            kind,
            index: 2,
            fault: None,
            prompt_tokens: 1,
            completion_tokens: 1,
            finish: "length",
            speed: 1.0,
            rng: StdRng::seed_from_u64(0),
            arrived: Instant::now(),
            prompt_ms: 0.0,
        }
    }

    #[test]
    fn pre_rendered_chunks_are_the_chunks() {
        assert!(WORDS
            .iter()
            .all(|w| w.chars().all(|c| c.is_ascii_alphabetic() || c == ' ')));
        for kind in [Kind::Completion, Kind::Chat] {
            let j = job(kind);
            let fast = ContentChunk::new(&j).with(" lamp");
            let slow = chunk(&j, Some(" lamp"), None);
            let parse = |b: &Bytes| -> serde_json::Value {
                let text = std::str::from_utf8(b).unwrap();
                let body = text
                    .strip_prefix("data: ")
                    .unwrap()
                    .strip_suffix("\n\n")
                    .unwrap();
                serde_json::from_str(body).unwrap()
            };
            assert_eq!(parse(&fast), parse(&slow));
        }
    }
}
