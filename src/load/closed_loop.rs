//! Closed loop: each of `concurrency` streams sends its next request as soon
//! as its previous one ends, until the trial's count or duration is reached.
//! Requests cycle through the pool when a duration outlasts it. A stream
//! whose request failed fast backs off before its next one; a trial whose
//! error rate went over its limit stops, its unsent requests recorded.

use super::crew::Crew;
use super::guard::Backoff;
use super::TrialLoad;
use crate::client::{Client, GenRequest};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Returns how many requests were planned into records (sent, or left
/// unsent by a trial stopped on its error rate): each of them is one record.
pub(super) async fn closed_loop(
    client: Arc<Client>,
    requests: Arc<Vec<GenRequest>>,
    load: TrialLoad,
    (concurrency, stagger): (usize, Duration),
    mut crew: Crew,
) -> usize {
    let limit = load.requests.unwrap_or(usize::MAX);
    let next = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let streams = concurrency.max(1);
    for k in 0..streams {
        let first = crew.bounds().start + stagger.mul_f64(k as f64 / streams as f64);
        let (client, requests, next, sent, hand) = (
            client.clone(),
            requests.clone(),
            next.clone(),
            sent.clone(),
            crew.hand(),
        );
        crew.spawn(async move {
            tokio::time::sleep_until(first).await;
            let mut backoff = Backoff::default();
            while !hand.over() && !requests.is_empty() {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
                let slot = load.slot(i, &requests[i % requests.len()]);
                hand.hold(slot, Instant::now());
                let (client, requests, cutoff) =
                    (client.clone(), requests.clone(), hand.bounds.cutoff);
                let request = async move {
                    let req = &requests[i % requests.len()];
                    client.generate_until(req, cutoff).await
                };
                let outcome = hand.guarded(request).await;
                let wake = backoff.after(outcome.ok(), outcome.sent);
                if !hand.send_outcome(outcome, slot).await {
                    break;
                }
                if let Some(wake) = wake {
                    hand.pause_until(wake).await;
                }
            }
        });
    }
    let hand = crew.hand();
    crew.finish().await;
    let mut planned = sent.load(Ordering::Relaxed);
    // A count's requests not sent when the error rate stopped the trial.
    if hand.tripped() && load.requests.is_some() && !requests.is_empty() {
        let taken = next.load(Ordering::Relaxed).min(limit);
        for i in taken..limit {
            let slot = load.slot(i, &requests[i % requests.len()]);
            hand.unsent(slot, None).await;
        }
        planned += limit - taken;
    }
    planned
}
