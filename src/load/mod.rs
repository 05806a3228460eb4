//! Load generation: warm-up, then the trial's requests as its load model
//! issues them ([`LoadModel`], dispatched in [`run`] alone): a closed loop
//! of `concurrency` streams, an open loop of drawn arrivals, a trace's own
//! arrivals, or conversations. Every loop shares one skeleton (`crew`): the
//! trial's bounds, cancellation at its cut-off, and a record for a request
//! whose task died. The request path only timestamps and sends its record
//! down the caller's channel; the caller streams them to disk as they come,
//! so a trial's memory does not grow with its length.

pub mod arrivals;
mod closed_loop;
mod crew;
mod estimate;
mod guard;
mod model;
mod open_loop;
mod sessions;

pub use crew::STOPPED_EARLY;
pub use estimate::{trial_seconds, Pace};
pub use guard::MIN_ENDED;
pub use model::{Arrivals, LoadModel};
pub use sessions::{Conversations, SESSION_BROKEN};

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

/// What one trial asks of the load generator, whatever its model.
#[derive(Debug, Clone, Copy)]
pub struct TrialLoad {
    pub trial: usize,
    pub config: usize,
    pub repetition: u32,
    /// Stop after this many requests (if set)...
    pub requests: Option<usize>,
    /// ...or once this much time has passed (if set), whichever comes first.
    pub duration: Option<Duration>,
    /// Prompts per request (`batch_size`).
    pub batch: usize,
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

/// A trial's measured requests, in the shape its load model sends them.
pub enum Work {
    /// Sent in order, cycled when a duration outlasts the pool.
    Pool(Vec<GenRequest>),
    /// A trace's requests, each with its arrival in seconds after the start.
    Timed {
        requests: Vec<GenRequest>,
        at_s: Vec<f64>,
    },
    Conversations(Conversations),
}

/// Issue `work` under `model`: the one dispatch of every load model. An
/// open loop draws its arrivals from `seed`. Returns how many requests were
/// sent (or planned into records): each of them is one record.
pub async fn run(
    model: &LoadModel,
    client: Arc<Client>,
    work: Work,
    load: TrialLoad,
    seed: u64,
    records: mpsc::Sender<Record>,
) -> usize {
    run_watching(model, client, work, load, seed, records, None).await
}

/// [`run`], stopped early once more than `max_error_rate` of the requests
/// ended so far failed (after [`MIN_ENDED`] of them): a count's requests not
/// sent are recorded `cancelled` ([`STOPPED_EARLY`]).
pub async fn run_watching(
    model: &LoadModel,
    client: Arc<Client>,
    work: Work,
    load: TrialLoad,
    seed: u64,
    records: mpsc::Sender<Record>,
    max_error_rate: Option<f64>,
) -> usize {
    use closed_loop::closed_loop;
    use open_loop::open_loop;
    // The trial's clock starts with its crew, once its schedule is drawn.
    let crew = |records| crew::Crew::new(load.duration, records).watching(max_error_rate);
    match (model, work) {
        (
            LoadModel::Closed {
                concurrency,
                stagger,
            },
            Work::Pool(requests),
        ) => {
            let shape = (*concurrency, *stagger);
            closed_loop(client, Arc::new(requests), load, shape, crew(records)).await
        }
        (
            LoadModel::Open {
                arrivals,
                max_in_flight,
            },
            Work::Pool(requests),
        ) => {
            let at_s = arrivals::offsets(arrivals, load.requests, load.duration, seed);
            let requests = Arc::new(requests);
            open_loop(client, requests, load, &at_s, *max_in_flight, crew(records)).await
        }
        (LoadModel::Trace { max_in_flight }, Work::Timed { requests, at_s }) => {
            let requests = Arc::new(requests);
            open_loop(client, requests, load, &at_s, *max_in_flight, crew(records)).await
        }
        (LoadModel::Sessions { concurrency }, Work::Conversations(c)) => {
            sessions::sessions(client, Arc::new(c), load, *concurrency, crew(records)).await
        }
        (model, work) => mismatch(model, work, &load, records).await,
    }
}

/// Work of another shape than its model's (a bug of the caller): each
/// request is still one record, failed and unsent.
async fn mismatch(
    model: &LoadModel,
    work: Work,
    load: &TrialLoad,
    records: mpsc::Sender<Record>,
) -> usize {
    let requests: Vec<GenRequest> = match work {
        Work::Pool(r) | Work::Timed { requests: r, .. } => r,
        Work::Conversations(c) => c.turns.into_iter().flatten().collect(),
    };
    let n = load.requests.unwrap_or(requests.len()).min(requests.len());
    let reason =
        format!("client error (a bug): the {model:?} load model got requests of another shape");
    for (i, req) in requests.iter().take(n).enumerate() {
        let outcome = Outcome::failed(Instant::now(), reason.clone());
        let _ = records
            .send(outcome.into_record(load.slot(i, req), 0.0))
            .await;
    }
    n
}
