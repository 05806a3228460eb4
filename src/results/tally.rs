//! What the runner needs to know about a trial while its records stream to
//! disk — counts, first error, send times, and TTFT and send-lag quantiles
//! for the progress line — in memory that does not grow with the trial.
//! The exact statistics come later, from the records on disk.

use super::Record;
use crate::record::RequestStatus;

/// Quantiles of positive values to within 1 % (relative), in a fixed
/// number of logarithmic buckets: bucket k holds values in
/// (γ^(k−1), γ^k] ms with γ = 1.01, from 1 µs to about 6.5 hours (1 µs ×
/// 1.01^2400); longer values land in the last bucket.
#[derive(Debug, Clone)]
pub struct Sketch {
    counts: Vec<u64>,
    /// Values at or below the smallest bucket's floor (0 included).
    low: u64,
    n: u64,
}

const GAMMA: f64 = 1.01;
const FLOOR_MS: f64 = 1e-3;
const BUCKETS: usize = 2400;

impl Default for Sketch {
    fn default() -> Self {
        Sketch {
            counts: vec![0; BUCKETS],
            low: 0,
            n: 0,
        }
    }
}

impl Sketch {
    pub fn add(&mut self, ms: f64) {
        if !ms.is_finite() {
            return;
        }
        self.n += 1;
        if ms <= FLOOR_MS {
            self.low += 1;
            return;
        }
        let k = ((ms / FLOOR_MS).ln() / GAMMA.ln()).ceil() as usize;
        self.counts[k.min(BUCKETS - 1)] += 1;
    }

    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The q-quantile (nearest rank), as its bucket's geometric middle.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = ((q * self.n as f64).ceil() as u64).max(1);
        let mut seen = self.low;
        if seen >= rank {
            return Some(0.0);
        }
        for (k, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(FLOOR_MS * GAMMA.powf(k as f64 - 0.5));
            }
        }
        None
    }
}

/// One trial's running summary.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub records: usize,
    pub ok: usize,
    /// Cut off by the trial's end (not failures of the server).
    pub cancelled: usize,
    /// Sent again after a kept connection was found closed.
    pub retried: usize,
    /// Requests whose response carried something not believed.
    pub warned: usize,
    /// The first failure's reason, safe to print on a terminal.
    pub first_error: Option<String>,
    /// Successful requests' TTFT.
    pub ttft_ms: Sketch,
    /// Open loop: the client's own send lag (lateness less any wait for a slot).
    pub send_lag_ms: Sketch,
    /// Requests that waited more than 0.5 ms for a `max_in_flight` slot.
    pub waited: usize,
    /// (first, last) send time, seconds since the trial began.
    pub sent_s: Option<(f64, f64)>,
    /// (first, last) scheduled time (open loop), over `scheduled` requests.
    pub scheduled_s: Option<(f64, f64)>,
    pub scheduled: usize,
}

fn widen(span: &mut Option<(f64, f64)>, t: f64) {
    *span = Some(match *span {
        Some((lo, hi)) => (lo.min(t), hi.max(t)),
        None => (t, t),
    });
}

impl Tally {
    pub fn add(&mut self, r: &Record) {
        self.records += 1;
        match r.status {
            RequestStatus::Ok => {
                self.ok += 1;
                if let Some(t) = r.ttft_ms {
                    self.ttft_ms.add(t);
                }
            }
            RequestStatus::Cancelled => self.cancelled += 1,
            RequestStatus::Failed | RequestStatus::Unsent => {
                if self.first_error.is_none() {
                    let error = r.error.as_deref().unwrap_or_default();
                    self.first_error = Some(crate::redact::for_terminal(error).into_owned());
                }
            }
        }
        self.retried += usize::from(r.retried);
        self.warned += usize::from(!r.warnings.is_empty());
        if let Some(q) = r.queue_ms {
            self.send_lag_ms.add(q - r.wait_ms.unwrap_or(0.0));
        }
        if r.wait_ms.is_some_and(|w| w > 0.5) {
            self.waited += 1;
        }
        widen(&mut self.sent_s, r.sent_s);
        if let Some(s) = r.scheduled_s {
            self.scheduled += 1;
            widen(&mut self.scheduled_s, s);
        }
    }

    /// Requests that failed: the server's doing, cancelled ones aside.
    pub fn failed(&self) -> usize {
        self.records - self.ok - self.cancelled
    }

    /// Sends per second between the first and the last send.
    pub fn sent_rate(&self) -> Option<f64> {
        rate(self.sent_s, self.records)
    }

    /// The drawn schedule's own rate over the same requests.
    pub fn scheduled_rate(&self) -> Option<f64> {
        rate(self.scheduled_s, self.scheduled)
    }
}

fn rate(span: Option<(f64, f64)>, n: usize) -> Option<f64> {
    let (lo, hi) = span?;
    (n > 1 && hi > lo).then(|| (n - 1) as f64 / (hi - lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sketch_quantiles_are_within_one_percent() {
        let values: Vec<f64> = (1..=10_000).map(|i| f64::from(i) * 0.37).collect();
        let mut s = Sketch::default();
        for v in &values {
            s.add(*v);
        }
        for q in [0.01, 0.5, 0.9, 0.99, 1.0] {
            // Linear interpolation between closest ranks on 0.37 × (1..=10 000):
            // rank 9999·q from 0, so 0.37 × (1 + 9999·q).
            let exact = 0.37 * (1.0 + 9999.0 * q);
            let got = s.quantile(q).unwrap();
            assert!(
                (got - exact).abs() / exact < 0.01,
                "q {q}: {got} vs {exact}"
            );
        }
        assert_eq!(s.len(), 10_000);
    }

    #[test]
    fn sketch_of_nothing_zero_and_huge() {
        let mut s = Sketch::default();
        assert_eq!(s.quantile(0.5), None);
        s.add(0.0);
        s.add(0.0);
        s.add(1e12);
        assert_eq!(s.quantile(0.5), Some(0.0));
        assert!(s.quantile(1.0).unwrap() > 1e6);
    }
}
