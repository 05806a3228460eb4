//! Adaptive repetitions: after each block from `min` on, the trials so far
//! decide whether another block is needed.

use crate::analysis::compare::values_by_config;
use crate::analysis::welch::estimate;
use crate::experiment::Adaptive;
use crate::results::RepetitionsStop;
use std::path::Path;

/// The widest relative 95 % CI half-width over configurations and the
/// listed metrics, and where it is: (half-width / |mean|, config, metric).
/// Infinite where a configuration has no interval yet.
fn widest(dir: &Path, a: &Adaptive) -> anyhow::Result<(f64, String, String)> {
    let run = crate::results::open_run(dir)?;
    let trials = super::trial_table(&run)?;
    let mut worst = (0.0, String::new(), String::new());
    for metric in &a.until.metrics {
        let values = values_by_config(&trials, metric)?;
        for c in &run.configurations {
            let rel = values
                .get(&c.label)
                .and_then(|v| estimate(v))
                .and_then(|e| {
                    let (lo, hi) = e.ci?;
                    (e.mean != 0.0).then(|| (hi - lo) / 2.0 / e.mean.abs())
                })
                .unwrap_or(f64::INFINITY);
            if rel > worst.0 || worst.1.is_empty() {
                worst = (rel, c.label.clone(), metric.clone());
            }
        }
    }
    Ok(worst)
}

/// After `blocks` whole blocks: Some(why) when the run should stop here.
pub fn check(dir: &Path, a: &Adaptive, blocks: u32) -> anyhow::Result<Option<RepetitionsStop>> {
    if blocks < a.min {
        return Ok(None);
    }
    let (rel, config, metric) = widest(dir, a)?;
    let pct = |x: f64| format!("±{:.2}%", x * 100.0);
    if rel <= a.until.rel_ci {
        return Ok(Some(RepetitionsStop {
            blocks,
            precise: true,
            reason: format!(
                "every configuration's 95% CI of {} within {} of its mean after {blocks} blocks (widest: {config} {metric} {})",
                a.until.metrics.join(", "),
                pct(a.until.rel_ci),
                pct(rel)
            ),
        }));
    }
    if blocks >= a.max {
        return Ok(Some(RepetitionsStop {
            blocks,
            precise: false,
            reason: format!(
                "max {} blocks reached before the 95% CI was within {} (widest: {config} {metric} {})",
                a.max,
                pct(a.until.rel_ci),
                pct(rel)
            ),
        }));
    }
    Ok(None)
}
