//! The checks of how load is offered and judged: open or closed loop,
//! batches, service-level objectives and prices.

use super::Validator;
use crate::error::InputError;

impl Validator<'_> {
    /// Open loop needs a rate and no concurrency; a closed loop the reverse.
    pub(super) fn load(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        let kind = e.load.kind();
        // A capacity search sets its factor on every probe.
        let searched = |name: &str| {
            e.design == crate::experiment::Design::Capacity
                && e.capacity.as_ref().is_some_and(|c| c.factor.name() == name)
        };
        let has = |name: &str| {
            e.baseline.contains_key(name) || e.factors.contains_key(name) || searched(name)
        };
        let section = |name: &str| {
            if e.factors.contains_key(name) {
                "factors"
            } else {
                "baseline"
            }
        };
        if kind.is_open() {
            if !has("rate") {
                return Err(self.err(
                    &["load"],
                    "an open loop needs a 'rate' (requests per second) in the baseline or the factors",
                ));
            }
            if has("concurrency") {
                return Err(self.err(
                    &[section("concurrency"), "concurrency"],
                    "'concurrency' sets a closed loop; with an open loop, expected 'rate' alone \
                     (load.max_in_flight caps the requests in flight)",
                ));
            }
            // Below 0.01 (CV 10) gamma gaps are almost all zero and a rare
            // one is long enough to stall the trial; above 10⁴ they are
            // constant gaps to within 1 %.
            let b = e.load.burstiness();
            if !(0.01..=1e4).contains(&b) {
                return Err(self.err(
                    &["load", "burstiness"],
                    format!(
                        "burstiness {} is outside 0.01 to 10000 (the gaps' CV is 1/√burstiness: 10 to 0.01)",
                        crate::limits::show(b)
                    ),
                ));
            }
            if e.load.max_in_flight() == Some(0) {
                return Err(self.broke(
                    &["load", "max_in_flight"],
                    crate::error::Rule::Zero {
                        what: "max_in_flight",
                    },
                ));
            }
            self.ramp()?;
        } else {
            if has("rate") {
                return Err(self.err(
                    &[section("rate"), "rate"],
                    "'rate' needs an open loop, expected 'load: poisson' (or gamma, constant, ramp) beside it",
                ));
            }
            if matches!(e.load, crate::experiment::LoadSpec::Detailed(_)) {
                return Err(self.err(
                    &["load"],
                    "burstiness, max_in_flight, from and over apply to an open loop, expected kind poisson, gamma, constant or ramp",
                ));
            }
        }
        if has("batch_size") && e.target.api == crate::experiment::Api::Chat {
            return Err(self.err(
                &[section("batch_size"), "batch_size"],
                "batch_size sends a list of prompts in one request, which only api: completions takes",
            ));
        }
        Ok(())
    }

    /// A ramp needs where it starts and how long it takes; no other kind
    /// takes either.
    fn ramp(&self) -> Result<(), InputError> {
        let load = &self.l.experiment.load;
        let (from, over) = load.details().map_or((None, None), |d| (d.from, d.over));
        if load.kind() != crate::experiment::LoadKind::Ramp {
            let key = match (from, over) {
                (Some(_), _) => "from",
                (None, Some(_)) => "over",
                (None, None) => return Ok(()),
            };
            return Err(self.err(
                &["load", key],
                "'from' and 'over' shape a ramp, expected 'kind: ramp' beside them",
            ));
        }
        match from {
            Some(f) if f >= 0.0 && f.is_finite() => self.ramp_limits(f)?,
            Some(_) => {
                return Err(self.err(
                    &["load", "from"],
                    "from must be a rate of at least 0 requests per second",
                ))
            }
            None => {
                return Err(self.err(
                    &["load"],
                    "a ramp needs 'from' (requests per second at the trial's start) and 'over' (e.g. '30s'); it rises or falls to the configuration's rate",
                ))
            }
        }
        if over.is_none_or(|d| d.0.is_zero()) {
            return Err(self.err(
                &["load"],
                "a ramp needs 'over', a duration longer than 0 (e.g. '30s'): how long the rate takes to move from 'from' to the configuration's rate",
            ));
        }
        Ok(())
    }

    /// A ramp's start is a rate like any other: bounded, and so is what it
    /// schedules over the trial (the ramp's integral is at most the larger
    /// rate × the duration, and `rate` is checked beside its factor).
    fn ramp_limits(&self, from: f64) -> Result<(), InputError> {
        use crate::experiment::limits::{at_most, MAX_RATE, MAX_SCHEDULED};
        let place = ["load", "from"];
        at_most("from", from, MAX_RATE).map_err(|r| self.broke(&place, r))?;
        if let Some(d) = self.l.experiment.trial.duration {
            let scheduled = from * d.0.as_secs_f64();
            at_most("from × trial duration", scheduled, MAX_SCHEDULED)
                .map_err(|r| self.broke(&place, r))?;
        }
        Ok(())
    }

    pub(super) fn slo(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        super::slo::slo_located(&e.slo, &self.l.path, &self.l.source, &["slo"])?;
        if e.trial
            .max_error_rate
            .is_some_and(|r| !(0.0..=1.0).contains(&r))
        {
            return Err(self.err(
                &["trial", "max_error_rate"],
                "max_error_rate must lie between 0 and 1",
            ));
        }
        Ok(())
    }

    pub(super) fn cost(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        let Some(cost) = &e.cost else {
            return Ok(());
        };
        let place = ["cost", "usd_per_hour"];
        match &cost.usd_per_hour {
            crate::experiment::Price::Fixed(p) if !(*p >= 0.0 && p.is_finite()) => {
                Err(self.err(&place, "usd_per_hour must be a price ≥ 0"))
            }
            crate::experiment::Price::Fixed(_) => Ok(()),
            crate::experiment::Price::ByLevel { by, levels } => {
                let mut wanted: Vec<String> = e
                    .baseline
                    .get(by)
                    .map(|l| l.to_string())
                    .into_iter()
                    .collect();
                wanted.extend(
                    e.factors
                        .get(by)
                        .into_iter()
                        .flatten()
                        .map(|l| l.to_string()),
                );
                if wanted.is_empty() {
                    return Err(self.err(
                        &["cost", "usd_per_hour", "by"],
                        format!("cost is priced by '{by}', which is no factor or baseline value"),
                    ));
                }
                let missing: Vec<&String> =
                    wanted.iter().filter(|w| !levels.contains_key(*w)).collect();
                if !missing.is_empty() {
                    let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                    return Err(self.err(
                        &["cost", "usd_per_hour", "levels"],
                        format!(
                            "no price for {by} = {}, expected one per level",
                            missing.join(", ")
                        ),
                    ));
                }
                if levels.values().any(|p| !(*p >= 0.0 && p.is_finite())) {
                    return Err(self.err(&["cost", "usd_per_hour", "levels"], "prices must be ≥ 0"));
                }
                Ok(())
            }
        }
    }
}
