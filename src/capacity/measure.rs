//! What the SLOs judge of each trial, read from what a run already derives:
//! each trial's row of the trial table (as trials.parquet holds it), judged and, for an open loop, the queue's growth from the records.

use super::{queue_growth, TrialMeasure};
use crate::experiment::Slo;
use crate::record::Record;
use polars::prelude::*;

/// Each trial's measure, by its execution index, from the trial table
/// (its `trial` column, and whatever `slo` is judged on): each row judged
/// alone. The queue growth is left for [`growth_of`].
pub fn measures(trials: &DataFrame, slo: &Slo) -> PolarsResult<Vec<(u64, TrialMeasure)>> {
    let index = trials.column("trial")?.cast(&DataType::UInt64)?;
    let index = index.u64()?;
    Ok((0..trials.height())
        .filter_map(|i| {
            let row = trials.slice(i as i64, 1);
            index.get(i).map(|t| (t, TrialMeasure::of_row(&row, slo)))
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
        let got = measures(&table, &Slo::default()).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 3);
        let joint = |m: &TrialMeasure| m.judgement.get("min_attainment").and_then(|o| o.value);
        assert_eq!(joint(&got[0].1), Some(0.97));
        assert_eq!(joint(&got[1].1), None);
        let p95 = got[1]
            .1
            .judgement
            .get("p95_latency_s")
            .and_then(|o| o.value);
        assert_eq!(p95, Some(2500.0));
    }
}
