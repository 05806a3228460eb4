//! What the SLOs judge of each trial, read from what a run already derives:
//! the trial table's attainment and latency percentiles (as trials.parquet
//! holds them) and, for an open loop, the queue's growth from the records.

use super::{queue_growth, TrialMeasure};
use crate::record::Record;
use polars::prelude::*;

/// Each trial's measure, by its execution index, from the trial table
/// (`trial`, `slo_attainment`, `e2e_p50_ms`, `e2e_p95_ms`); the queue
/// growth is left for [`growth_of`].
pub fn measures(trials: &DataFrame) -> PolarsResult<Vec<(u64, TrialMeasure)>> {
    let float = |name: &str| -> PolarsResult<Vec<Option<f64>>> {
        let c = trials.column(name)?.cast(&DataType::Float64)?;
        let ca = c.f64()?;
        Ok((0..ca.len()).map(|i| ca.get(i)).collect())
    };
    let index = trials.column("trial")?.cast(&DataType::UInt64)?;
    let index = index.u64()?;
    let index: Vec<Option<u64>> = (0..index.len()).map(|i| index.get(i)).collect();
    let (a, p50, p95) = (
        float("slo_attainment")?,
        float("e2e_p50_ms")?,
        float("e2e_p95_ms")?,
    );
    Ok(index
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let m = TrialMeasure {
                attainment: a[i],
                e2e_p50_ms: p50[i],
                e2e_p95_ms: p95[i],
                queue_growth: None,
            };
            t.map(|t| (t, m))
        })
        .collect())
}

/// An open-loop trial's queue growth from its records: each request's
/// scheduled arrival and its end (send + E2E, failed ones included);
/// `None` for a closed loop, whose records have no schedule.
pub fn growth_of(records: &[Record]) -> Option<f64> {
    let (scheduled, ended): (Vec<f64>, Vec<f64>) = records
        .iter()
        .filter_map(|r| Some((r.scheduled_s?, r.sent_s + r.e2e_ms / 1000.0)))
        .unzip();
    queue_growth(&scheduled, &ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trial_table_gives_each_trial_its_measure() {
        let table = df![
            "trial" => [3u64, 5],
            "slo_attainment" => [Some(0.97), None],
            "e2e_p50_ms" => [800.0, 900.0],
            "e2e_p95_ms" => [1500.0, 2500.0],
        ]
        .unwrap();
        let got = measures(&table).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 3);
        assert_eq!(got[0].1.attainment, Some(0.97));
        assert_eq!(got[1].1.attainment, None);
        assert_eq!(got[1].1.e2e_p95_ms, Some(2500.0));
    }
}
