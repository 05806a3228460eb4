//! The checks of an SLO block, shared by the experiment's validation (which
//! places a fault in the file) and `report --slo` (which names the key).

use crate::experiment::{parse_percentile_key, Slo};

/// The first objective at fault: its key and what was expected.
pub fn slo(s: &Slo) -> Result<(), (String, String)> {
    let positive = |name: &str, v: Option<f64>| match v {
        Some(v) if !(v > 0.0 && v.is_finite()) => Err((
            name.to_string(),
            format!("{name} must be a number > 0 (or null for none)"),
        )),
        _ => Ok(()),
    };
    for (name, v) in [
        ("ttft_ms", s.ttft_ms),
        ("tpot_ms", s.tpot_ms),
        ("e2e_ms", s.e2e_ms),
        ("min_output_tok_s", s.min_output_tok_s),
        ("p50_latency_s", s.p50_latency_s),
        ("p95_latency_s", s.p95_latency_s),
    ] {
        positive(name, v)?;
    }
    for (key, &v) in &s.percentiles {
        parse_percentile_key(key).map_err(|e| (key.clone(), e))?;
        positive(key, Some(v))?;
    }
    if !(0.0..=1.0).contains(&s.min_attainment) {
        return Err((
            "min_attainment".into(),
            "min_attainment must lie between 0 and 1".into(),
        ));
    }
    Ok(())
}

/// [`slo`], a fault placed at its key in `source` (the text of `path`),
/// under `prefix` (`["slo"]` in an experiment, nothing in an SLO file).
pub fn slo_located(
    s: &Slo,
    path: &std::path::Path,
    source: &str,
    prefix: &[&str],
) -> Result<(), crate::error::InputError> {
    slo(s).map_err(|(key, why)| {
        let mut at: Vec<&str> = prefix.to_vec();
        at.push(&key);
        crate::error::InputError::new(why).or_in(path, crate::yaml::locate_key(source, &at))
    })
}
