//! Open loop: requests go out at drawn arrival times whether or not the
//! server has answered the earlier ones, so queueing shows in the latencies
//! instead of slowing the client down. Each request's task is spawned a
//! little ahead of its time and then sleeps on the precise clock, so the
//! send is not late by a task spawn; the record keeps when it was due
//! (`scheduled_s`), how late it went (`queue_ms`) and how much of that was
//! a wait for a `max_in_flight` slot (`wait_ms`).

use super::{TrialLoad, TRIAL_END_GRACE};
use crate::client::{Client, GenRequest, Outcome};
use crate::clock::Clock;
use crate::record::Record;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How far ahead of its time a request's task starts.
const LEAD: Duration = Duration::from_millis(20);

pub async fn open_loop(
    client: Arc<Client>,
    requests: Arc<Vec<GenRequest>>,
    load: TrialLoad,
    offsets: &[f64],
    max_in_flight: Option<usize>,
    records: mpsc::Sender<Record>,
) -> usize {
    let clock = Clock::start();
    let slots = max_in_flight.map(|n| Arc::new(Semaphore::new(n)));
    let start = Instant::now();
    let cutoff = load.duration.map(|d| start + d + TRIAL_END_GRACE);
    let mut set = JoinSet::new();
    // Which request each task carries, so a task that dies still leaves its record.
    let mut carried = std::collections::HashMap::new();
    let mut sent = 0;
    for (i, &offset) in offsets.iter().enumerate() {
        if requests.is_empty() {
            break;
        }
        let due = start + Duration::from_secs_f64(offset);
        clock
            .sleep_until(due.checked_sub(LEAD).unwrap_or(start).into_std())
            .await;
        let slot = load.slot(i, &requests[i % requests.len()]);
        let (client, requests, tx, clock, slots) = (
            client.clone(),
            requests.clone(),
            records.clone(),
            clock.clone(),
            slots.clone(),
        );
        sent += 1;
        let task = set.spawn(async move {
            let _permit = match &slots {
                Some(s) => s.clone().acquire_owned().await.ok(),
                None => None,
            };
            let free = Instant::now();
            let encoded = client.encode(&requests[i % requests.len()]);
            clock.sleep_until(due.into_std()).await;
            let outcome = client.send_until(&encoded, cutoff).await;
            let sent = outcome.sent;
            let at = sent.duration_since(start).as_secs_f64();
            let mut record = outcome.into_record(slot, at);
            record.scheduled_s = Some(offset);
            record.queue_ms = Some(ms_between(due, sent));
            if slots.is_some() {
                record.wait_ms = Some(ms_between(due, free));
            }
            let _ = tx.send(record).await;
        });
        carried.insert(task.id(), (slot, offset));
        // Reap finished tasks as we go: a long trial holds only those in flight.
        while let Some(done) = set.try_join_next_with_id() {
            reap(done, &mut carried, &records, start).await;
        }
    }
    while let Some(done) = set.join_next_with_id().await {
        reap(done, &mut carried, &records, start).await;
    }
    clock.stop();
    sent
}

type Carried = std::collections::HashMap<tokio::task::Id, (crate::record::RequestSlot, f64)>;

/// A finished task: forgotten if it sent its record; if it died (a panic,
/// a cancellation), its request's record says so.
async fn reap(
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
    carried: &mut Carried,
    records: &mpsc::Sender<Record>,
    start: Instant,
) {
    let id = match &done {
        Ok((id, ())) => *id,
        Err(e) => e.id(),
    };
    let Some((slot, offset)) = carried.remove(&id) else {
        return;
    };
    if let Err(e) = done {
        let at = start + Duration::from_secs_f64(offset);
        let outcome = Outcome::failed(at, format!("client error (a bug): request task {e}"));
        let mut record = outcome.into_record(slot, offset);
        record.scheduled_s = Some(offset);
        let _ = records.send(record).await;
    }
}

/// `later − earlier` in ms, 0 when `later` came first.
fn ms_between(earlier: Instant, later: Instant) -> f64 {
    later.saturating_duration_since(earlier).as_secs_f64() * 1000.0
}
