//! Published results (a paper's or a README's table of means, sometimes with
//! sd and n) held against a run: the same equivalence test as between two
//! runs, from the published summary statistics.

mod table;

pub use table::parse;

use super::compare::{compare_tested, values_by_config, Comparison, Decision};
use super::verdict::Equivalence;
use super::welch::{welch_summary, NotTestable, Sample};
use crate::metrics::by_column as metric_by_column;
use polars::prelude::{DataFrame, PolarsResult};

/// One row of the table: `configuration, metric, mean[, sd, n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedRow {
    /// 1-based line in the file, for errors.
    pub line: usize,
    pub configuration: String,
    pub metric: String,
    pub mean: f64,
    pub sd: Option<f64>,
    pub n: Option<usize>,
}

/// Each published row (A, fixed) against the run's trials of its
/// configuration (B). Rows without sd and n get no test: their comparison
/// carries the point estimate alone and says so.
pub fn against_run(
    rows: &[PublishedRow],
    trials: &DataFrame,
    d: Decision,
) -> PolarsResult<Vec<Comparison>> {
    let mut out = Vec::new();
    // Each metric's per-trial values, read once however many rows name it.
    let mut by_metric = std::collections::HashMap::new();
    for row in rows {
        let Some(m) = metric_by_column(&row.metric) else {
            continue;
        };
        if !by_metric.contains_key(m.column) {
            by_metric.insert(m.column, values_by_config(trials, m.column)?);
        }
        let measured = by_metric[m.column]
            .get(&row.configuration)
            .cloned()
            .unwrap_or_default();
        let mean_b = super::stats::mean(&measured);
        let test = match (row.sd, row.n, Sample::of(&measured)) {
            (Some(sd), Some(n), Some(b)) => welch_summary(
                b,
                Sample {
                    n,
                    mean: row.mean,
                    sd,
                },
            ),
            (Some(_), Some(_), None) => Err(NotTestable::TooFewTrials),
            _ => Err(NotTestable::NoVariance),
        };
        let point_only = row.sd.is_none() || row.n.is_none();
        let mut c = compare_tested(
            &m,
            (measured.len(), mean_b),
            (row.n.unwrap_or(0), Some(row.mean)),
            test,
            d,
        );
        c.level = row.configuration.clone();
        c.baseline_level = row.configuration.clone();
        if point_only {
            if let Some(b) = mean_b.filter(|_| row.mean != 0.0) {
                let rel = (b - row.mean) / row.mean.abs();
                c.rel_diff = Some(rel);
                let side = if rel.abs() <= d.equivalence {
                    "inside"
                } else {
                    "outside"
                };
                c.equivalence = Equivalence::NotTestable(format!(
                    "point estimate only: {side} ±{}%",
                    d.equivalence * 100.0
                ));
            }
        }
        out.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_row_is_tested_from_its_summary_statistics() {
        use polars::prelude::*;
        // The run's trials: baseline output_tok_s 100.5, 101.0, 99.9, 100.8 (mean 100.55).
        let trials = DataFrame::new(
            4,
            vec![
                Column::new("config".into(), vec!["baseline"; 4]),
                Column::new("output_tok_s".into(), vec![100.5, 101.0, 99.9, 100.8]),
            ],
        )
        .unwrap();
        let row = |sd, n| PublishedRow {
            line: 2,
            configuration: "baseline".into(),
            metric: "output_tok_s".into(),
            mean: 100.0,
            sd,
            n,
        };
        let d = Decision::default();
        let c = against_run(&[row(Some(1.0), Some(5))], &trials, d).unwrap();
        assert_eq!(c[0].equivalence, Equivalence::Equivalent, "{:?}", c[0]);
        assert!(c[0].p_tost.unwrap() < 0.001);
        let c = against_run(&[row(None, None)], &trials, d).unwrap();
        assert!(
            c[0].equivalence
                .to_string()
                .starts_with("point estimate only"),
            "{}",
            c[0].equivalence
        );
        assert!((c[0].rel_diff.unwrap() - 0.0055).abs() < 1e-12);
    }
}
