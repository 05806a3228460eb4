//! A trial whose requests fail: a stream whose request failed fast waits
//! before its next one, and the trial's error rate is watched as records
//! end, so `trial.max_error_rate` stops the trial while it runs. Without
//! them a duration trial against a dead endpoint wrote ~17 000 failure
//! records a second, each stream sending the moment its connection was
//! refused, and ran to its end before the rate was checked.

use crate::record::{Record, RequestStatus};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Requests ended (cancelled ones aside) before the error rate can stop a
/// trial: one early failure does not end it.
pub const MIN_ENDED: usize = 20;

/// The first wait after a failed request, doubled at each failure in a row.
const FIRST_WAIT: Duration = Duration::from_millis(10);

/// The longest wait: a stream failing every request sends at most ten a
/// second, and twenty failures in a row (enough to stop a trial on its
/// error rate) take under 2 s even on one stream. (A longer cap bounds the
/// records no better where the error rate stops the trial, and leaves a
/// server that comes back idle for longer.)
const MAX_WAIT: Duration = Duration::from_millis(100);

/// The error rate of the requests ended so far, against `max_error_rate`.
#[derive(Debug, Default)]
pub(super) struct ErrorWatch {
    max: Option<f64>,
    ended: AtomicUsize,
    failed: AtomicUsize,
    tripped: AtomicBool,
}

impl ErrorWatch {
    pub(super) fn new(max_error_rate: Option<f64>) -> ErrorWatch {
        ErrorWatch {
            max: max_error_rate,
            ..ErrorWatch::default()
        }
    }

    /// Count `record`; a cut-off (cancelled) request is the harness's, not
    /// the server's, and left out as the after-trial check leaves it out.
    pub(super) fn note(&self, record: &Record) {
        let Some(max) = self.max else { return };
        if record.status == RequestStatus::Cancelled {
            return;
        }
        let ended = self.ended.fetch_add(1, Ordering::Relaxed) + 1;
        let failed = match record.ok() {
            true => self.failed.load(Ordering::Relaxed),
            false => self.failed.fetch_add(1, Ordering::Relaxed) + 1,
        };
        if ended >= MIN_ENDED && failed as f64 / ended as f64 > max {
            self.tripped.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the trial's error rate went over its limit: no stream sends
    /// another request.
    pub(super) fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }
}

/// One stream's wait after failed requests: exponential from [`FIRST_WAIT`]
/// to [`MAX_WAIT`], counted from when the failed request was sent (a
/// request that took that long to fail waits no more), and gone at the
/// first success, so a healthy stream never waits.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    failures: u32,
}

impl Backoff {
    /// After a request sent at `sent` ended (`ok` or not): when the stream
    /// may send its next one, where it must wait at all.
    pub(super) fn after(&mut self, ok: bool, sent: Instant) -> Option<Instant> {
        if ok {
            self.failures = 0;
            return None;
        }
        let wait = FIRST_WAIT
            .saturating_mul(1 << self.failures.min(16))
            .min(MAX_WAIT);
        self.failures = self.failures.saturating_add(1);
        let wake = sent + wait;
        (wake > Instant::now()).then_some(wake)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Outcome;
    use crate::record::RequestSlot;

    fn record(status: RequestStatus) -> Record {
        let slot = RequestSlot {
            trial: 0,
            config: 0,
            repetition: 0,
            request: 0,
            requested_input_tokens: None,
            requested_output_tokens: None,
            batch: 1,
            session: None,
            turn: None,
        };
        let outcome = Outcome {
            status,
            ..Outcome::failed(Instant::now(), "refused".into())
        };
        outcome.into_record(slot, 0.0)
    }

    #[test]
    fn the_watch_trips_only_past_the_minimum_and_over_the_limit() {
        let watch = ErrorWatch::new(Some(0.5));
        for _ in 0..MIN_ENDED - 1 {
            watch.note(&record(RequestStatus::Failed));
        }
        assert!(
            !watch.tripped(),
            "{} failures are not enough",
            MIN_ENDED - 1
        );
        // Cancelled requests do not count, either way.
        for _ in 0..100 {
            watch.note(&record(RequestStatus::Cancelled));
        }
        assert!(!watch.tripped());
        watch.note(&record(RequestStatus::Failed));
        assert!(watch.tripped());
        // Exactly at the limit is not over it; no limit never trips.
        let half = ErrorWatch::new(Some(0.5));
        for i in 0..40 {
            let s = if i % 2 == 0 {
                RequestStatus::Ok
            } else {
                RequestStatus::Failed
            };
            half.note(&record(s));
        }
        assert!(!half.tripped());
        let none = ErrorWatch::new(None);
        for _ in 0..100 {
            none.note(&record(RequestStatus::Failed));
        }
        assert!(!none.tripped());
    }

    #[tokio::test(start_paused = true)]
    async fn the_backoff_doubles_to_its_cap_and_a_success_clears_it() {
        let mut b = Backoff::default();
        let now = Instant::now();
        let waits: Vec<u64> = (0..6)
            .map(|_| (b.after(false, now).unwrap() - now).as_millis() as u64)
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 100, 100]);
        assert_eq!(b.after(true, now), None);
        assert_eq!(b.after(false, now).map(|w| (w - now).as_millis()), Some(10));
        // A failure that took longer than its wait waits no more.
        let mut slow = Backoff::default();
        tokio::time::advance(Duration::from_millis(50)).await;
        assert_eq!(slow.after(false, now), None);
    }
}
