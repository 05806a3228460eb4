//! Load generation: warm-up, then a closed loop of `concurrency` requests in
//! flight or an open loop of scheduled arrivals (`open_loop`). The request
//! path only timestamps and sends its record down the caller's channel; the
//! caller streams them to disk as they come, so a trial's memory does not
//! grow with its length.

pub mod arrivals;
mod open_loop;
mod sessions;

pub use open_loop::open_loop;
pub use sessions::{sessions, Conversations, SESSION_BROKEN};

use crate::client::{Client, GenRequest, Outcome};
use crate::record::{Record, RequestSlot};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Streams still open this long after a trial's duration ends are cut off
/// and recorded as cancelled: a duration bounds the trial's time, whatever
/// the server does.
pub const TRIAL_END_GRACE: Duration = Duration::from_secs(5);

/// What one trial asks of the load generator.
#[derive(Debug, Clone)]
pub struct TrialLoad {
    pub trial: usize,
    pub config: usize,
    pub repetition: u32,
    pub concurrency: usize,
    /// Stop after this many requests (if set)...
    pub requests: Option<usize>,
    /// ...or once this much time has passed (if set), whichever comes first.
    pub duration: Option<Duration>,
    /// Prompts per request (`batch_size`).
    pub batch: usize,
    /// Closed loop: stream k of n starts k/n of this after the first, so
    /// that streams of equal length do not all send in the same instant.
    pub ramp: Duration,
}

impl TrialLoad {
    /// Where request `i` of this trial sits, and what `req` asks for.
    pub fn slot(&self, i: usize, req: &GenRequest) -> RequestSlot {
        RequestSlot {
            trial: self.trial,
            config: self.config,
            repetition: self.repetition,
            request: i,
            requested_input_tokens: req.requested_input_tokens,
            requested_output_tokens: req.requested_output_tokens,
            batch: self.batch,
            session: None,
            turn: None,
        }
    }
}

/// Send the warm-up requests (not recorded) at the trial's concurrency.
/// Returns their outcomes so the caller can tell an unreachable server.
pub async fn warm_up(
    client: Arc<Client>,
    requests: Arc<Vec<GenRequest>>,
    concurrency: usize,
) -> Vec<Outcome> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..concurrency.min(requests.len()) {
        let (client, requests, next) = (client.clone(), requests.clone(), next.clone());
        set.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(req) = requests.get(i) else { break };
                out.push(client.generate(req).await);
            }
            out
        });
    }
    let mut outcomes = Vec::new();
    while let Some(r) = set.join_next().await {
        outcomes.extend(r.unwrap_or_default());
    }
    outcomes
}

/// Closed loop: each of `concurrency` workers sends its next request as soon
/// as its previous one ends, until the trial's count or duration is reached.
/// Requests cycle through `requests` when a duration outlasts the pool.
/// Returns how many requests were sent: each of them is one record.
pub async fn closed_loop(
    client: Arc<Client>,
    requests: Arc<Vec<GenRequest>>,
    load: TrialLoad,
    records: mpsc::Sender<Record>,
) -> usize {
    let limit = load.requests.unwrap_or(usize::MAX);
    let start = Instant::now();
    let deadline = load.duration.map(|d| start + d);
    let cutoff = deadline.map(|d| d + TRIAL_END_GRACE);
    let next = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    let streams = load.concurrency.max(1);
    for k in 0..streams {
        let first = start + load.ramp.mul_f64(k as f64 / streams as f64);
        let (client, requests, next, sent, tx, load) = (
            client.clone(),
            requests.clone(),
            next.clone(),
            sent.clone(),
            records.clone(),
            load.clone(),
        );
        set.spawn(async move {
            tokio::time::sleep_until(first).await;
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) || requests.is_empty() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
                let req = &requests[i % requests.len()];
                let outcome = client.generate_until(req, cutoff).await;
                let sent_s = outcome.sent.duration_since(start).as_secs_f64();
                if tx
                    .send(outcome.into_record(load.slot(i, req), sent_s))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
    }
    drop(records);
    while set.join_next().await.is_some() {}
    sent.load(Ordering::Relaxed)
}
