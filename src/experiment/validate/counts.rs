//! The counts and settings of a run: the statistics, the repetitions, the
//! size of a trial and of the plan.

use super::{limits, list, Validator};
use crate::error::{InputError, Rule, StatsRule};
use crate::experiment::StatsSpec;

/// The statistics' settings, as `stats:` gives them and as `compare` and
/// `reproduce` take them from their flags: alpha in (0, 0.5) (so that
/// TOST's 1 − 2α interval exists), an equivalence margin above 0 and a
/// threshold ≥ 0, all finite.
pub fn stats(s: &StatsSpec) -> Result<(), StatsRule> {
    if !(s.alpha > 0.0 && s.alpha < 0.5) {
        return Err(StatsRule::Alpha(s.alpha));
    }
    if !(s.equivalence > 0.0 && s.equivalence.is_finite()) {
        return Err(StatsRule::Equivalence(s.equivalence));
    }
    if !(s.threshold >= 0.0 && s.threshold.is_finite()) {
        return Err(StatsRule::Threshold(s.threshold));
    }
    if !(s.max_other_cpu_share > 0.0 && s.max_other_cpu_share <= 1.0) {
        return Err(StatsRule::OtherCpuShare(s.max_other_cpu_share));
    }
    if !(s.max_detectable_change > 0.0 && s.max_detectable_change.is_finite()) {
        return Err(StatsRule::DetectableChange(s.max_detectable_change));
    }
    Ok(())
}

/// A metric named by its column (`output_tok_s`, `ttft_p50_ms`, ...).
pub fn metric(name: &str) -> Result<(), Rule> {
    match crate::metrics::by_column(name) {
        Some(_) => Ok(()),
        None => Err(Rule::UnknownMetric {
            name: name.to_string(),
        }),
    }
}

impl Validator<'_> {
    pub(super) fn counts(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        stats(&e.stats).map_err(|rule| {
            let key = match rule {
                StatsRule::Alpha(_) => "alpha",
                StatsRule::Equivalence(_) => "equivalence",
                StatsRule::Threshold(_) => "threshold",
                StatsRule::OtherCpuShare(_) => "max_other_cpu_share",
                StatsRule::DetectableChange(_) => "max_detectable_change",
            };
            self.broke(&["stats", key], rule)
        })?;
        self.repetitions()?;
        if let Some(n) = e.trial.requests {
            limits::at_most("trial requests", n, limits::MAX_REQUESTS)
                .map_err(|m| self.broke(&["trial", "requests"], m))?;
        }
        limits::at_most("warmup requests", e.warmup.requests, limits::MAX_REQUESTS)
            .map_err(|m| self.broke(&["warmup", "requests"], m))?;
        limits::size_of_plan(e).map_err(|m| self.broke(&["factors"], m))?;
        match (e.trial.requests, e.trial.duration) {
            (None, None) => Err(self.err(
                &["trial"],
                "trial needs 'requests' (a count) or 'duration' (e.g. '30s')",
            )),
            (Some(0), _) => Err(self.broke(
                &["trial", "requests"],
                Rule::Zero {
                    what: "trial requests",
                },
            )),
            (_, Some(d)) if d.0.is_zero() => Err(self.err(
                &["trial", "duration"],
                "trial duration must be longer than zero",
            )),
            _ => Ok(()),
        }
    }

    fn repetitions(&self) -> Result<(), InputError> {
        let r = &self.l.experiment.repetitions;
        if r.blocks() == 0 {
            return Err(self.broke(
                &["repetitions"],
                Rule::Zero {
                    what: "repetitions",
                },
            ));
        }
        limits::at_most("repetitions", r.blocks(), limits::MAX_REPETITIONS)
            .map_err(|m| self.broke(&["repetitions"], m))?;
        let Some(a) = r.adaptive() else {
            return Ok(());
        };
        if a.min < 2 || a.min > a.max {
            return Err(self.err(
                &["repetitions", "min"],
                format!(
                    "expected 2 ≤ min ≤ max (a confidence interval needs two trials), got min {} and max {}",
                    a.min, a.max
                ),
            ));
        }
        if !(a.until.rel_ci > 0.0 && a.until.rel_ci.is_finite()) {
            return Err(self.err(
                &["repetitions", "until", "rel_ci"],
                "rel_ci must be a relative half-width above 0, e.g. 0.02 for ±2 %",
            ));
        }
        if a.until.metrics.is_empty() {
            return Err(self.err(
                &["repetitions", "until", "metrics"],
                "list at least one metric, e.g. [output_tok_s]",
            ));
        }
        for m in &a.until.metrics {
            metric(m).map_err(|r| self.broke(&["repetitions", "until", "metrics"], r))?;
        }
        Ok(())
    }

    pub(super) fn expectations(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        for (i, x) in e.expect.iter().enumerate() {
            let err = |m: String| self.err(&["expect"], format!("expectation {}: {m}", i + 1));
            metric(&x.metric).map_err(|r| err(r.to_string()))?;
            let Some(levels) = e.factors.get(&x.factor) else {
                return Err(err(format!(
                    "'{}' is not a factor of this experiment",
                    x.factor
                )));
            };
            for l in [&x.from, &x.to] {
                if !levels.contains(l) {
                    return Err(err(format!(
                        "{} is not a level of factor '{}' {}",
                        l,
                        x.factor,
                        list(levels)
                    )));
                }
            }
            if x.from == x.to {
                return Err(err("'from' and 'to' are the same level".into()));
            }
            if x.min.is_some_and(|m| !(m >= 0.0 && m.is_finite())) {
                return Err(err("min must be a relative change ≥ 0, e.g. 0.1".into()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::error::{Rule, StatsRule};
    use std::path::Path;

    /// The rule travels with its place: a caller can tell which one broke.
    #[test]
    fn a_broken_stats_rule_is_typed_and_located() {
        let prompts = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/general.yaml");
        let text = format!(
            "name: t\ntarget: {{builtin: sim, model: m}}\nprompts: {}\n\
             baseline: {{concurrency: 1}}\ntrial: {{requests: 2}}\nstats: {{alpha: 0.7}}\n",
            prompts.display()
        );
        let err = crate::experiment::load_str(Path::new("x.yaml"), text).unwrap_err();
        assert_eq!(
            err.rule.as_deref(),
            Some(&Rule::Stats(StatsRule::Alpha(0.7)))
        );
        assert_eq!(err.location, Some((6, 9)), "{err}");
        assert_eq!(
            err.to_string(),
            "x.yaml:6:9: alpha must lie between 0 and 0.5, got 0.7"
        );
    }
}
