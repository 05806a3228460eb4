//! Measured against true: each record joined with the sim's account of the
//! same response (by its `id`), TTFT and every inter-token gap compared.

use super::Truth;
use crate::analysis::stats::percentile;
use crate::record::Record;
use serde::Serialize;
use std::collections::HashMap;

/// p50, p99 and max of a signed error, in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        Spread {
            p50: percentile(values, 0.5),
            p99: percentile(values, 0.99),
            max: values.iter().copied().reduce(f64::max),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Errors {
    /// Measured TTFT − true TTFT, per request.
    pub ttft_ms: Vec<f64>,
    /// Measured gap − true gap, per gap.
    pub itl_ms: Vec<f64>,
    /// Successful records with no truth of the same id (or a different
    /// number of events): left out of the errors.
    pub unmatched: usize,
    /// Content events the client received.
    pub events: u64,
}

pub fn join(records: &[Record], truths: Vec<Truth>) -> Errors {
    let by_id: HashMap<String, Truth> = truths.into_iter().map(|t| (t.id.clone(), t)).collect();
    let mut e = Errors::default();
    for r in records.iter().filter(|r| r.ok()) {
        e.events += r.itl_ms.len() as u64 + u64::from(r.ttft_ms.is_some());
        let truth = r.response_id.as_ref().and_then(|id| by_id.get(id));
        let Some(truth) = truth.filter(|t| t.itl_ms.len() == r.itl_ms.len()) else {
            e.unmatched += 1;
            continue;
        };
        if let (Some(m), Some(t)) = (r.ttft_ms, truth.ttft_ms) {
            e.ttft_ms.push(m - t);
        }
        e.itl_ms
            .extend(r.itl_ms.iter().zip(&truth.itl_ms).map(|(m, t)| m - t));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, ttft: f64, itl: &[f64]) -> Record {
        serde_json::from_value(serde_json::json!({
            "trial": 0, "config": 0, "repetition": 0, "request": 0, "sent_s": 0.0,
            "ttft_ms": ttft, "e2e_ms": 100.0, "itl_ms": itl, "tokens_source": "usage",
            "ok": true, "response_id": id,
        }))
        .unwrap()
    }

    #[test]
    fn joins_by_id_and_subtracts() {
        let records = vec![
            record("a", 51.5, &[10.5, 9.0]),
            record("b", 50.2, &[10.0, 10.0]),
            record("c", 50.0, &[10.0]),
        ];
        let truths = vec![
            Truth {
                id: "b".into(),
                ttft_ms: Some(50.0),
                itl_ms: vec![10.0, 9.5],
            },
            Truth {
                id: "a".into(),
                ttft_ms: Some(50.0),
                itl_ms: vec![10.0, 10.0],
            },
        ];
        let e = join(&records, truths);
        let round = |v: &[f64]| {
            v.iter()
                .map(|x| (x * 1e6).round() / 1e6)
                .collect::<Vec<_>>()
        };
        assert_eq!(round(&e.ttft_ms), vec![1.5, 0.2]);
        assert_eq!(round(&e.itl_ms), vec![0.5, -1.0, 0.0, 0.5]);
        assert_eq!(e.unmatched, 1);
        assert_eq!(e.events, 3 + 3 + 2);
        let s = Spread::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!((s.p50, s.max), (Some(3.0), Some(5.0)));
        assert!((s.p99.unwrap() - 4.96).abs() < 1e-12);
    }
}
