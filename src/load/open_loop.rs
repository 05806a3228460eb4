//! Open loop: requests go out at drawn arrival times whether or not the
//! server has answered the earlier ones, so queueing shows in the latencies
//! instead of slowing the client down. Each request's task is spawned a
//! little ahead of its time and then sleeps on the precise clock, so the
//! send is not late by a task spawn; the record keeps when it was due
//! (`scheduled_s`), how late it went (`queue_ms`) and how much of that was
//! a wait for a `max_in_flight` slot (`wait_ms`).
//!
//! Failures do not slow it: its arrivals are the plan, and their number is
//! bounded by the schedule (rate × duration, or the count). A trial whose
//! error rate went over its limit stops sending; a count's arrivals not yet
//! due are recorded unsent.

use super::crew::Crew;
use super::TrialLoad;
use crate::client::{Client, GenRequest};
use crate::clock::Clock;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// How far ahead of its time a request's task starts.
const LEAD: Duration = Duration::from_millis(20);

/// Send request `i` at `offsets[i]` seconds after the start; returns how
/// many were planned into records (sent, or unsent after the trial stopped
/// on its error rate), each of them one record.
pub(super) async fn open_loop(
    client: Arc<Client>,
    requests: Arc<Vec<GenRequest>>,
    load: TrialLoad,
    offsets: &[f64],
    max_in_flight: Option<usize>,
    mut crew: Crew,
) -> usize {
    let clock = Clock::start();
    let slots = max_in_flight.map(|n| Arc::new(Semaphore::new(n)));
    let start = crew.bounds().start;
    let mut sent = 0;
    for (i, &offset) in offsets.iter().enumerate() {
        if requests.is_empty() {
            break;
        }
        let due = start + crate::limits::duration_of(offset);
        clock
            .sleep_until(due.checked_sub(LEAD).unwrap_or(start).into_std())
            .await;
        if crew.tripped() {
            sent += unsent(&crew, &requests, &load, &offsets[i..], i).await;
            break;
        }
        let slot = load.slot(i, &requests[i % requests.len()]);
        let (client, requests, hand, clock, slots) = (
            client.clone(),
            requests.clone(),
            crew.hand(),
            clock.clone(),
            slots.clone(),
        );
        sent += 1;
        let task = async move {
            let _permit = match &slots {
                Some(s) => s.clone().acquire_owned().await.ok(),
                None => None,
            };
            let free = Instant::now();
            let encoded = client.encode(&requests[i % requests.len()]);
            clock.sleep_until(due.into_std()).await;
            let outcome = client.send_until(&encoded, hand.bounds.cutoff).await;
            let sent = outcome.sent;
            let mut record = outcome.into_record(slot, hand.bounds.at(sent));
            record.scheduled_s = Some(offset);
            record.queue_ms = Some(ms_between(due, sent));
            if slots.is_some() {
                record.wait_ms = Some(ms_between(due, free));
            }
            hand.send(record).await;
        };
        crew.spawn_holding(slot, offset, task);
        crew.reap_finished().await;
    }
    crew.finish().await;
    clock.stop();
    sent
}

/// A count's arrivals from `first` on, not sent: the trial stopped on its
/// error rate. Each is recorded at its due time; returns how many.
async fn unsent(
    crew: &Crew,
    requests: &[GenRequest],
    load: &TrialLoad,
    offsets: &[f64],
    first: usize,
) -> usize {
    if load.requests.is_none() {
        return 0;
    }
    let hand = crew.hand();
    for (k, &offset) in offsets.iter().enumerate() {
        let i = first + k;
        let slot = load.slot(i, &requests[i % requests.len()]);
        hand.unsent(slot, Some(offset)).await;
    }
    offsets.len()
}

/// `later − earlier` in ms, 0 when `later` came first.
fn ms_between(earlier: Instant, later: Instant) -> f64 {
    later.saturating_duration_since(earlier).as_secs_f64() * 1000.0
}
