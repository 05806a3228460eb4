//! Published results (a paper's or a README's table of means, sometimes with
//! sd and n) held against a run: the same equivalence test as between two
//! runs, from the published summary statistics.

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

/// Parse the CSV table (RFC 4180, a header row naming the columns in any
/// order). Errors are (line, column, what was expected).
pub fn parse(text: &str) -> Result<Vec<PublishedRow>, (usize, usize, String)> {
    let rows = crate::workload::csv::rows(text).map_err(|(line, m)| (line, 1, m))?;
    let mut rows = rows
        .into_iter()
        .filter(|r| r.fields.iter().any(|f| !f.trim().is_empty()));
    let header = rows.next().ok_or((
        1,
        1,
        "empty table: expected a header row `configuration,metric,mean,sd,n`".to_string(),
    ))?;
    let find = |name: &str| header.fields.iter().position(|f| f.trim() == name);
    let need = |name: &str| {
        find(name).ok_or((
            header.line,
            1,
            format!(
                "no `{name}` column: expected configuration, metric, mean, and optionally sd and n (found {})",
                header.fields.join(", ")
            ),
        ))
    };
    let (config, metric, mean) = (need("configuration")?, need("metric")?, need("mean")?);
    let (sd, n) = (find("sd"), find("n"));
    let mut out = Vec::new();
    for r in rows {
        let cell = |i: usize| r.fields.get(i).map(|f| f.trim()).unwrap_or_default();
        // The column of field i, 1-based, counting the commas before it.
        let col = |i: usize| {
            r.fields[..i.min(r.fields.len())]
                .iter()
                .map(|f| f.chars().count() + 1)
                .sum::<usize>()
                + 1
        };
        let number = |i: usize, what: &str| -> Result<Option<f64>, (usize, usize, String)> {
            let v = cell(i);
            if v.is_empty() {
                return Ok(None);
            }
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Some(x)),
                _ => Err((
                    r.line,
                    col(i),
                    format!("{what}: expected a number, got '{v}'"),
                )),
            }
        };
        let metric_name = cell(metric).to_string();
        if metric_by_column(&metric_name).is_none() {
            return Err((
                r.line,
                col(metric),
                format!(
                    "unknown metric '{metric_name}', expected one of {}",
                    crate::metrics::columns().join(", ")
                ),
            ));
        }
        let mean_value = number(mean, "mean")?.ok_or((
            r.line,
            col(mean),
            "mean: expected a number, got nothing".to_string(),
        ))?;
        let sd_value = match sd {
            Some(i) => number(i, "sd")?,
            None => None,
        };
        if sd_value.is_some_and(|s| s < 0.0) {
            return Err((
                r.line,
                col(sd.unwrap_or(0)),
                "sd: expected a number ≥ 0".into(),
            ));
        }
        let n_value = match n {
            Some(i) => match number(i, "n")? {
                Some(x) if x >= 1.0 && x.fract() == 0.0 => Some(x as usize),
                Some(x) => {
                    return Err((
                        r.line,
                        col(i),
                        format!("n: expected a whole number ≥ 1, got {x}"),
                    ))
                }
                None => None,
            },
            None => None,
        };
        out.push(PublishedRow {
            line: r.line,
            configuration: cell(config).to_string(),
            metric: metric_name,
            mean: mean_value,
            sd: sd_value,
            n: n_value,
        });
    }
    Ok(out)
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
    fn tables_parse_in_any_column_order_and_faults_are_located() {
        let t = "metric,configuration,mean,sd,n\noutput_tok_s,baseline,120.5,3.2,5\nttft_p50_ms,quant=q8_0,80,,\n";
        let rows = parse(t).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].configuration, "baseline");
        assert_eq!((rows[0].sd, rows[0].n), (Some(3.2), Some(5)));
        assert_eq!((rows[1].sd, rows[1].n, rows[1].line), (None, None, 3));

        let (line, col, m) = parse("configuration,metric,mean\nbaseline,tok_s,1\n").unwrap_err();
        assert_eq!((line, col), (2, 10), "{m}");
        assert!(m.contains("unknown metric 'tok_s'"), "{m}");
        let (line, col, m) =
            parse("configuration,metric,mean,n\nbaseline,output_tok_s,1,2.5\n").unwrap_err();
        assert_eq!((line, col), (2, 25), "{m}");
        let (_, _, m) = parse("configuration,mean\n").unwrap_err();
        assert!(m.contains("no `metric` column"), "{m}");
    }

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
