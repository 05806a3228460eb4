//! What every loop shares: the trial's clock and bounds, its tasks, and a
//! ledger of the request each task holds, so that a task that dies (a
//! panic, a cancellation) still leaves one failed record for the request it
//! held, whichever loop spawned it; the trial's error rate, watched as its
//! records go, which stops every loop once it is over `max_error_rate`.

use super::guard::ErrorWatch;
use super::TRIAL_END_GRACE;
use crate::client::Outcome;
use crate::record::{Record, RequestSlot, RequestStatus};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;

/// A trial's start, the end of its duration, and the cut-off past which a
/// stream still open is cancelled.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub(super) start: Instant,
    pub(super) deadline: Option<Instant>,
    pub(super) cutoff: Option<Instant>,
}

impl Bounds {
    fn new(duration: Option<Duration>) -> Bounds {
        let start = Instant::now();
        let deadline = duration.map(|d| start + d);
        Bounds {
            start,
            deadline,
            cutoff: deadline.map(|d| d + TRIAL_END_GRACE),
        }
    }

    /// Whether the trial's duration has run out.
    pub(super) fn over(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Seconds from the trial's start to `t`.
    pub(super) fn at(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.start).as_secs_f64()
    }
}

/// The request a task holds: where it sits, when it went (or was due), and
/// an open loop's schedule.
#[derive(Debug, Clone, Copy)]
struct Held {
    slot: RequestSlot,
    sent: Instant,
    scheduled_s: Option<f64>,
}

type Ledger = Arc<Mutex<HashMap<Id, Held>>>;

fn ledger(l: &Ledger) -> std::sync::MutexGuard<'_, HashMap<Id, Held>> {
    // A task that panicked while holding the lock left a map still whole.
    l.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The reason of a request a trial stopped on its error rate never sent
/// (its status says `Cancelled`: the harness's, not the server's).
pub const STOPPED_EARLY: &str =
    "not sent: the trial stopped early, its error rate over trial.max_error_rate";

/// A task's side of the crew: says which request it holds and sends records.
#[derive(Clone)]
pub(super) struct Hand {
    ledger: Ledger,
    records: mpsc::Sender<Record>,
    watch: Arc<ErrorWatch>,
    pub(super) bounds: Bounds,
}

impl Hand {
    /// Whether the stream sends no more: the duration ran out, or the
    /// error rate went over its limit.
    pub(super) fn over(&self) -> bool {
        self.bounds.over() || self.watch.tripped()
    }

    /// Whether the error rate went over its limit.
    pub(super) fn tripped(&self) -> bool {
        self.watch.tripped()
    }

    /// The record of a planned request the trial will not send, having
    /// stopped on its error rate: every planned request is still one record.
    pub(super) async fn unsent(&self, slot: RequestSlot, scheduled_s: Option<f64>) {
        let now = Instant::now();
        let outcome = Outcome {
            status: RequestStatus::Cancelled,
            ..Outcome::failed(now, STOPPED_EARLY.into())
        };
        let sent_s = scheduled_s.unwrap_or_else(|| self.bounds.at(now));
        let mut record = outcome.into_record(slot, sent_s);
        record.scheduled_s = scheduled_s;
        let _ = self.records.send(record).await;
    }

    /// Wait until `wake` (a backoff), or the trial's end if that is sooner.
    pub(super) async fn pause_until(&self, wake: Instant) {
        let wake = self.bounds.deadline.map_or(wake, |d| d.min(wake));
        tokio::time::sleep_until(wake).await;
    }

    /// The running task now holds the request at `slot`, sent at `sent`.
    pub(super) fn hold(&self, slot: RequestSlot, sent: Instant) {
        let held = Held {
            slot,
            sent,
            scheduled_s: None,
        };
        ledger(&self.ledger).insert(tokio::task::id(), held);
    }

    /// Send the record of the request this task held; false once nobody
    /// listens (the trial was abandoned).
    pub(super) async fn send(&self, record: Record) -> bool {
        ledger(&self.ledger).remove(&tokio::task::id());
        self.watch.note(&record);
        self.records.send(record).await.is_ok()
    }

    /// Run one request in a task of its own: a panic in it ends that
    /// request alone, as a failed outcome, and the stream that sent it
    /// goes on, so the trial keeps the load it was asked for.
    pub(super) async fn guarded(
        &self,
        request: impl Future<Output = Outcome> + Send + 'static,
    ) -> Outcome {
        let sent = Instant::now();
        match tokio::spawn(request).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::failed(sent, format!("client error (a bug): request task {e}")),
        }
    }

    /// `outcome` as the record at `slot`, sent.
    pub(super) async fn send_outcome(&self, outcome: Outcome, slot: RequestSlot) -> bool {
        let sent_s = self.bounds.at(outcome.sent);
        self.send(outcome.into_record(slot, sent_s)).await
    }
}

/// The tasks of one trial's loop.
pub(super) struct Crew {
    set: JoinSet<()>,
    hand: Hand,
}

impl Crew {
    pub(super) fn new(duration: Option<Duration>, records: mpsc::Sender<Record>) -> Crew {
        Crew {
            set: JoinSet::new(),
            hand: Hand {
                ledger: Ledger::default(),
                records,
                watch: Arc::default(),
                bounds: Bounds::new(duration),
            },
        }
    }

    /// The crew stops its loop once the error rate of the requests ended
    /// is over `max_error_rate` (see [`super::guard::MIN_ENDED`]).
    #[must_use]
    pub(super) fn watching(mut self, max_error_rate: Option<f64>) -> Crew {
        self.hand.watch = Arc::new(ErrorWatch::new(max_error_rate));
        self
    }

    /// Whether the error rate went over its limit.
    pub(super) fn tripped(&self) -> bool {
        self.hand.watch.tripped()
    }

    pub(super) fn hand(&self) -> Hand {
        self.hand.clone()
    }

    pub(super) fn bounds(&self) -> Bounds {
        self.hand.bounds
    }

    /// A task that holds requests itself ([`Hand::hold`]) as it goes.
    pub(super) fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.set.spawn(task);
    }

    /// A task for one request, held from before it starts: due `scheduled_s`
    /// after the start.
    pub(super) fn spawn_holding(
        &mut self,
        slot: RequestSlot,
        scheduled_s: f64,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let id = self.set.spawn(task).id();
        let sent = self.hand.bounds.start + crate::limits::duration_of(scheduled_s);
        let held = Held {
            slot,
            sent,
            scheduled_s: Some(scheduled_s),
        };
        ledger(&self.hand.ledger).insert(id, held);
    }

    /// Reap the tasks already finished: a long trial holds only those in flight.
    pub(super) async fn reap_finished(&mut self) {
        while let Some(done) = self.set.try_join_next_with_id() {
            self.reap(done).await;
        }
    }

    /// Wait for every task; each that died leaves its request's record.
    pub(super) async fn finish(mut self) {
        while let Some(done) = self.set.join_next_with_id().await {
            self.reap(done).await;
        }
    }

    async fn reap(&mut self, done: Result<(Id, ()), JoinError>) {
        let id = match &done {
            Ok((id, ())) => *id,
            Err(e) => e.id(),
        };
        let held = ledger(&self.hand.ledger).remove(&id);
        let (Err(e), Some(held)) = (done, held) else {
            return;
        };
        let outcome = Outcome::failed(held.sent, format!("client error (a bug): request task {e}"));
        // An open loop's request was due at its offset: that, exactly.
        let sent_s = held
            .scheduled_s
            .unwrap_or_else(|| self.hand.bounds.at(held.sent));
        let mut record = outcome.into_record(held.slot, sent_s);
        record.scheduled_s = held.scheduled_s;
        self.hand.watch.note(&record);
        let _ = self.hand.records.send(record).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(request: usize) -> RequestSlot {
        RequestSlot {
            trial: 3,
            config: 1,
            repetition: 0,
            request,
            requested_input_tokens: None,
            requested_output_tokens: None,
            batch: 1,
            session: None,
            turn: None,
        }
    }

    /// A task that dies holding a request leaves that request's record,
    /// failed, whether it held it itself (the closed loop's and sessions'
    /// streams) or was spawned holding it (the open loop's); a task that
    /// sent its record, or held nothing, leaves no other.
    #[tokio::test]
    async fn a_task_that_dies_leaves_one_failed_record_for_what_it_held() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut crew = Crew::new(None, tx);
        let hand = crew.hand();
        crew.spawn(async move {
            hand.hold(slot(0), Instant::now());
            panic!("worker died mid-request");
        });
        let hand = crew.hand();
        crew.spawn(async move {
            hand.hold(slot(1), Instant::now());
            let outcome = Outcome::failed(Instant::now(), "server said no".into());
            hand.send_outcome(outcome, slot(1)).await;
        });
        crew.spawn(async { panic!("died holding nothing") });
        crew.spawn_holding(slot(2), 0.25, async { panic!("open-loop task died") });
        crew.finish().await;
        let mut got = Vec::new();
        while let Ok(r) = rx.try_recv() {
            got.push(r);
        }
        got.sort_by_key(|r| r.request);
        let requests: Vec<usize> = got.iter().map(|r| r.request).collect();
        assert_eq!(requests, [0, 1, 2]);
        assert!(got.iter().all(|r| !r.ok() && r.trial == 3));
        assert!(got[0].error.as_deref().unwrap().contains("a bug"));
        assert_eq!(got[1].error.as_deref(), Some("server said no"));
        assert_eq!(got[2].scheduled_s, Some(0.25));
        assert_eq!(got[2].sent_s, 0.25);
    }

    /// A request that panics inside its own task is a failed outcome for
    /// the stream that sent it, which goes on to its next request.
    #[tokio::test]
    async fn a_guarded_request_that_panics_fails_alone() {
        let (tx, _rx) = mpsc::channel(1);
        let hand = Crew::new(None, tx).hand();
        let failed = hand.guarded(async { panic!("request died") }).await;
        assert!(!failed.ok());
        assert!(failed.error.as_deref().unwrap().contains("a bug"));
        let ok = hand
            .guarded(async { Outcome::failed(Instant::now(), "second".into()) })
            .await;
        assert_eq!(ok.error.as_deref(), Some("second"));
    }
}
