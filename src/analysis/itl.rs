//! Inter-token latency percentiles per group (trial or configuration), over
//! every gap of the group's successful requests.
//!
//! The gaps are a list column, sixteen to hundreds per request: a million
//! requests hold tens of millions of them. Exploding the list inside a
//! polars group-by, once per percentile, was most of the analysis of a
//! large run (`cargo bench --bench harness -- analysis`), so the gaps are
//! read straight from the list's buffer here, once per group, and the three
//! percentiles taken by selection (the same type-7 definition as
//! `stats::percentile` and polars' linear quantile).

use polars::prelude::*;

/// p50, p95 and p99 of `values` (reordered in place), by linear
/// interpolation between closest ranks; none when empty.
pub(crate) fn select_percentiles(values: &mut [f64], qs: &[f64]) -> Vec<Option<f64>> {
    let n = values.len();
    qs.iter()
        .map(|&q| {
            if n == 0 {
                return None;
            }
            let h = (n - 1) as f64 * q;
            let lo = h.floor() as usize;
            let (_, lo_value, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
            let lo_value = *lo_value;
            let hi_value = if h > lo as f64 {
                above
                    .iter()
                    .copied()
                    .min_by(f64::total_cmp)
                    .unwrap_or(lo_value)
            } else {
                lo_value
            };
            Some(lo_value + (h - lo as f64) * (hi_value - lo_value))
        })
        .collect()
}

/// The percentiles every ITL table holds, by their columns.
const STANDARD: [(f64, &str); 3] = [
    (0.5, "itl_p50_ms"),
    (0.95, "itl_p95_ms"),
    (0.99, "itl_p99_ms"),
];

/// One row per value of `key` (in first-seen order): `key`, `itl_p50_ms`,
/// `itl_p95_ms`, `itl_p99_ms`.
pub fn itl_by(requests: &DataFrame, key: &str) -> PolarsResult<DataFrame> {
    let qs: Vec<(f64, String)> = STANDARD.iter().map(|(q, c)| (*q, c.to_string())).collect();
    itl_quantiles_by(requests, key, &qs)
}

/// One row per value of `key` (in first-seen order): `key`, then one column
/// per `(quantile, column)` asked for (an SLO's `itl_p99.9_ms`, say).
pub fn itl_quantiles_by(
    requests: &DataFrame,
    key: &str,
    qs: &[(f64, String)],
) -> PolarsResult<DataFrame> {
    let keys = requests.column(key)?;
    let key_text = keys.cast(&DataType::String)?;
    let key_text = key_text.str()?.rechunk();
    let ok = requests.column("ok")?.bool()?.rechunk();
    // One contiguous buffer of every gap, and each row's range in it.
    let lists = requests.column("itl_ms")?.list()?.rechunk();
    let listed = lists.is_not_null();
    let mut groups: indexmap::IndexMap<&str, (usize, Vec<f64>)> = indexmap::IndexMap::new();
    if let Some(arr) = lists.downcast_iter().next() {
        let flat = Series::from_arrow(PlSmallStr::EMPTY, arr.values().clone())?
            .cast(&DataType::Float64)?;
        let flat = flat.f64()?.rechunk();
        let gaps = flat.cont_slice()?;
        let offsets = arr.offsets();
        for at in 0..requests.height() {
            let key = key_text.get(at).unwrap_or_default();
            let group = groups.entry(key).or_insert_with(|| (at, Vec::new()));
            if ok.get(at) == Some(true) && listed.get(at) == Some(true) {
                let (start, end) = offsets.start_end(at);
                group.1.extend_from_slice(&gaps[start..end]);
            }
        }
    }
    let first_rows: Vec<IdxSize> = groups.values().map(|(at, _)| *at as IdxSize).collect();
    let quantiles: Vec<f64> = qs.iter().map(|(q, _)| *q).collect();
    let mut p = vec![Vec::new(); qs.len()];
    for (_, (_, gaps)) in groups.iter_mut() {
        for (column, value) in p.iter_mut().zip(select_percentiles(gaps, &quantiles)) {
            column.push(value);
        }
    }
    let mut columns = vec![keys.take_slice(&first_rows)?];
    for ((_, name), values) in qs.iter().zip(p) {
        columns.push(Column::new(name.as_str().into(), values));
    }
    DataFrame::new(first_rows.len(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stats::percentile;

    #[test]
    fn selection_matches_the_textbook_percentile() {
        let values: Vec<f64> = (0..1001)
            .map(|i| ((i * 7919) % 1013) as f64 * 0.1)
            .collect();
        for q in [0.0, 0.5, 0.95, 0.99, 1.0] {
            let mut v = values.clone();
            assert_eq!(select_percentiles(&mut v, &[q])[0], percentile(&values, q));
        }
        assert_eq!(select_percentiles(&mut [], &[0.5]), vec![None]);
        assert_eq!(select_percentiles(&mut [3.0], &[0.99]), vec![Some(3.0)]);
    }

    #[test]
    fn groups_take_only_successful_requests_gaps() {
        let itl: ListChunked = [
            Some(Series::new("".into(), &[1.0, 2.0, 3.0])),
            Some(Series::new("".into(), &[100.0])),
            Some(Series::new("".into(), &[4.0])),
            Some(Series::new("".into(), Vec::<f64>::new())),
        ]
        .into_iter()
        .collect();
        let df = DataFrame::new(
            4,
            vec![
                Column::new("trial".into(), [0u64, 0, 0, 1]),
                Column::new("ok".into(), [true, false, true, true]),
                itl.into_series().with_name("itl_ms".into()).into_column(),
            ],
        )
        .unwrap();
        let out = itl_by(&df, "trial").unwrap();
        assert_eq!(out.height(), 2);
        let p50 = out.column("itl_p50_ms").unwrap().f64().unwrap();
        assert_eq!(
            p50.get(0),
            Some(2.5),
            "median of 1, 2, 3, 4 (the failed 100 left out)"
        );
        assert_eq!(p50.get(1), None);
        assert_eq!(out.column("trial").unwrap().u64().unwrap().get(1), Some(1));
    }
}
