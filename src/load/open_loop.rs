//! Open loop: requests go out at drawn arrival times whether or not the
//! server has answered the earlier ones, so queueing shows in the latencies
//! instead of slowing the client down. Each request's task is spawned a
//! little ahead of its time and then sleeps on the precise clock, so the
//! send is not late by a task spawn; the record keeps when it was due
//! (`scheduled_s`), how late it went (`queue_ms`) and how much of that was
//! a wait for a `max_in_flight` slot (`wait_ms`).

use super::TrialLoad;
use crate::client::{Client, GenRequest};
use crate::clock::Clock;
use crate::results::Record;
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
) {
    let clock = Clock::start();
    let slots = max_in_flight.map(|n| Arc::new(Semaphore::new(n)));
    let start = Instant::now();
    let mut set = JoinSet::new();
    for (i, &offset) in offsets.iter().enumerate() {
        if requests.is_empty() {
            break;
        }
        let due = start + Duration::from_secs_f64(offset);
        clock
            .sleep_until(due.checked_sub(LEAD).unwrap_or(start).into_std())
            .await;
        let slot = load.slot(i);
        let (client, requests, tx, clock, slots) = (
            client.clone(),
            requests.clone(),
            records.clone(),
            clock.clone(),
            slots.clone(),
        );
        set.spawn(async move {
            let _permit = match &slots {
                Some(s) => s.clone().acquire_owned().await.ok(),
                None => None,
            };
            let free = Instant::now();
            clock.sleep_until(due.into_std()).await;
            let outcome = client.generate(&requests[i % requests.len()]).await;
            let sent = outcome.sent;
            let at = sent.duration_since(start).as_secs_f64();
            let mut record = Record::new(slot, at, outcome);
            record.scheduled_s = Some(offset);
            record.queue_ms = Some(ms_between(due, sent));
            if slots.is_some() {
                record.wait_ms = Some(ms_between(due, free));
            }
            let _ = tx.send(record).await;
        });
        // Reap finished tasks as we go: a long trial holds only those in flight.
        while set.try_join_next().is_some() {}
    }
    drop(records);
    while set.join_next().await.is_some() {}
    clock.stop();
}

/// `later − earlier` in ms, 0 when `later` came first.
fn ms_between(earlier: Instant, later: Instant) -> f64 {
    later.saturating_duration_since(earlier).as_secs_f64() * 1000.0
}
