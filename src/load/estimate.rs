//! How long a trial takes under its load model, for `validate`'s estimate:
//! beside the model, so a new model brings its own estimate.

use super::arrivals::ramp_time;
use super::{Arrivals, LoadModel};
use std::time::Duration;

/// What a trial's time depends on besides its load model.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// One request's time alone on the server, in seconds (a session's
    /// think time included).
    pub request_s: f64,
    /// Requests the server serves at once; none where unknown (a real
    /// server), and then the load's own bound is taken.
    pub server_slots: Option<f64>,
}

impl Pace {
    /// Requests served side by side when `in_flight` are offered.
    fn parallel(&self, in_flight: Option<usize>) -> Option<f64> {
        let offered = in_flight.map(|n| n as f64);
        match (offered, self.server_slots) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(|p| p.max(1.0))
    }
}

/// Seconds the `requests` of a trial take under `model` (all of them, or
/// until `duration`): a closed loop completes as many requests per request
/// time as are served side by side; an open loop sends its last arrival at
/// its schedule's end (a trace's at `trace_span_s`) and ends one request
/// later, unless the server cannot keep up and a backlog sets the pace.
pub fn trial_seconds(
    model: &LoadModel,
    requests: Option<usize>,
    duration: Option<Duration>,
    pace: Pace,
    trace_span_s: Option<f64>,
) -> f64 {
    let cap = duration.map_or(f64::INFINITY, |d| d.as_secs_f64());
    let Some(n) = requests.map(|n| n as f64) else {
        return if cap.is_finite() { cap } else { 0.0 };
    };
    let serial = n * pace.request_s;
    let backlog = |in_flight| pace.parallel(in_flight).map_or(0.0, |p| serial / p);
    let seconds = match model {
        LoadModel::Closed { concurrency, .. } | LoadModel::Sessions { concurrency } => {
            backlog(Some(*concurrency))
        }
        LoadModel::Open {
            arrivals,
            max_in_flight,
        } => schedule_span(arrivals, n).max(backlog(*max_in_flight)) + pace.request_s,
        LoadModel::Trace { max_in_flight } => {
            trace_span_s.unwrap_or(0.0).max(backlog(*max_in_flight)) + pace.request_s
        }
    };
    seconds.min(cap)
}

/// When the last of `n` arrivals is due.
fn schedule_span(arrivals: &Arrivals, n: f64) -> f64 {
    let last = (n - 1.0).max(0.0);
    match *arrivals {
        Arrivals::Ramp { from, to, over } => ramp_time(from, to, over.as_secs_f64(), last),
        other => last / other.rate(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACE: Pace = Pace {
        request_s: 0.5,
        server_slots: Some(4.0),
    };

    #[test]
    fn a_closed_loop_completes_what_is_served_side_by_side() {
        let closed = |concurrency| LoadModel::Closed {
            concurrency,
            stagger: Duration::ZERO,
        };
        // 40 requests of 0.5 s, 2 at a time: 10 s; 8 offered, 4 served: 5 s.
        assert_eq!(trial_seconds(&closed(2), Some(40), None, PACE, None), 10.0);
        assert_eq!(trial_seconds(&closed(8), Some(40), None, PACE, None), 5.0);
        let d = Some(Duration::from_secs(3));
        assert_eq!(trial_seconds(&closed(8), Some(40), d, PACE, None), 3.0);
        assert_eq!(trial_seconds(&closed(8), None, d, PACE, None), 3.0);
    }

    #[test]
    fn an_open_loop_takes_its_schedule_or_its_backlog() {
        let open = |arrivals| LoadModel::Open {
            arrivals,
            max_in_flight: None,
        };
        // 21 arrivals at 2/s: the last at 10 s, done at 10.5 s.
        let slow = open(Arrivals::Constant { rate: 2.0 });
        assert_eq!(trial_seconds(&slow, Some(21), None, PACE, None), 10.5);
        // At 100/s the server's 4 slots set the pace: 21 × 0.5 / 4 + 0.5.
        let fast = open(Arrivals::Poisson { rate: 100.0 });
        let t = trial_seconds(&fast, Some(21), None, PACE, None);
        assert!((t - 3.125).abs() < 1e-12, "{t}");
        // A ramp 0 → 2/s over 10 s has 10 due by 10 s: arrival 10 at 10 s.
        let ramp = open(Arrivals::Ramp {
            from: 0.0,
            to: 2.0,
            over: Duration::from_secs(10),
        });
        let t = trial_seconds(&ramp, Some(11), None, PACE, None);
        assert!((t - 10.5).abs() < 1e-9, "{t}");
        let trace = LoadModel::Trace {
            max_in_flight: None,
        };
        assert_eq!(trial_seconds(&trace, Some(3), None, PACE, Some(7.0)), 7.5);
    }
}
