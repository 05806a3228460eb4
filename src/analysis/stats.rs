//! Descriptive statistics with their textbook definitions. The polars
//! pipeline computes the tables; these are the reference it is tested
//! against, and what the report uses on small typed vectors.

/// Percentile by linear interpolation between closest ranks (numpy's
/// default, Hyndman & Fan type 7): rank h = (n − 1)·q.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        Some(values.iter().sum::<f64>() / values.len() as f64)
    }
}

/// Sample standard deviation (n − 1 in the denominator); none below 2 values.
pub fn sample_sd(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let ss: f64 = values.iter().map(|x| (x - m).powi(2)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn percentiles_match_numpy() {
        // numpy.percentile(range(1, 11), [50, 95, 99]) = 5.5, 9.55, 9.91
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!(close(percentile(&v, 0.5).unwrap(), 5.5));
        assert!(close(percentile(&v, 0.95).unwrap(), 9.55));
        assert!(close(percentile(&v, 0.99).unwrap(), 9.91));
        // numpy.percentile([15, 20, 35, 40, 50], 40) = 29.0 (unsorted input)
        assert!(close(
            percentile(&[50.0, 15.0, 40.0, 20.0, 35.0], 0.4).unwrap(),
            29.0
        ));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn sample_sd_matches_reference() {
        // numpy.std([2, 4, 4, 4, 5, 5, 7, 9], ddof=1) = 2.138089935299395
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert!(close(mean(&v).unwrap(), 5.0));
        assert!(close(sample_sd(&v).unwrap(), 2.138_089_935_299_395));
        assert_eq!(sample_sd(&[1.0]), None);
    }
}
