//! `design: capacity` and its `capacity:` block: present together, sound
//! numbers, a load factor the load model can move, and the bounds within
//! the limits every rate or concurrency is held to.

use super::Validator;
use crate::error::InputError;
use crate::experiment::{CapacityFactor, Design, Level, LoadKind};

impl Validator<'_> {
    pub(super) fn capacity(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        let c = match (e.design, &e.capacity) {
            (Design::Capacity, Some(c)) => c,
            (Design::Capacity, None) => {
                return Err(self.err(
                    &["design"],
                    "design: capacity needs a 'capacity:' block (factor, min, max), expected e.g. {factor: rate, min: 1, max: 100}",
                ))
            }
            (_, Some(_)) => {
                return Err(self.err(
                    &["capacity"],
                    "a 'capacity:' block is read only with 'design: capacity' beside it",
                ))
            }
            (_, None) => return Ok(()),
        };
        if let Some((field, message)) = c.check() {
            return Err(self.err(&["capacity", field], message));
        }
        let name = c.factor.name();
        for section in ["baseline", "factors"] {
            let held = match section {
                "baseline" => e.baseline.contains_key(name),
                _ => e.factors.contains_key(name),
            };
            if held {
                return Err(self.err(
                    &[section, name],
                    format!("'{name}' is what the capacity search moves, expected it neither in the baseline nor among the factors"),
                ));
            }
        }
        self.capacity_load(c.factor)?;
        // The bounds are levels like any other: the limits on a rate (and
        // its schedule) or a concurrency hold at both ends.
        for (field, v) in [("min", c.min), ("max", c.max)] {
            let level = match c.factor {
                CapacityFactor::Rate => Level::Float(v),
                CapacityFactor::Concurrency => Level::Int(v as i64),
            };
            super::builtin_value(name, &level, e)
                .map_err(|m| self.locate(&["capacity", field], m))?;
        }
        Ok(())
    }

    /// A rate needs an open loop whose rate holds over the trial; a
    /// concurrency a closed loop.
    fn capacity_load(&self, factor: CapacityFactor) -> Result<(), InputError> {
        let kind = self.l.experiment.load.kind();
        match factor {
            CapacityFactor::Rate if kind == LoadKind::Ramp => Err(self.err(
                &["load"],
                "a capacity search over rate holds each probe's rate over its trials, expected load poisson, gamma or constant (not ramp)",
            )),
            CapacityFactor::Rate if !kind.is_open() => Err(self.err(
                &["capacity", "factor"],
                "a capacity search over rate needs an open loop, expected 'load: poisson' (or gamma, constant) beside it",
            )),
            CapacityFactor::Concurrency if kind.is_open() => Err(self.err(
                &["capacity", "factor"],
                "a capacity search over concurrency needs a closed loop, expected 'load: closed'",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::experiment::load_str;
    use std::path::Path;

    const GOOD: &str =
        "name: c\ntarget: {builtin: sim}\nprompts: ../prompts/general.yaml\nload: poisson\n\
design: capacity\ncapacity: {factor: rate, min: 1, max: 64}\nbaseline: {output_tokens: 16}\n\
factors: {output_tokens: [16, 32]}\ntrial: {requests: 20}\n";

    fn check(source: &str) -> Result<(), crate::error::InputError> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/c.yaml");
        load_str(&path, source.to_string()).map(drop)
    }

    #[test]
    fn a_capacity_design_validates_and_its_faults_are_located() {
        check(GOOD).unwrap();
        for (from, to, line, says) in [
            ("max: 64", "max: 0.5", 6, "must be above min"),
            ("load: poisson", "load: closed", 6, "needs an open loop"),
            ("design: capacity\n", "", 5, "only with 'design: capacity'"),
            (
                "capacity: {factor: rate, min: 1, max: 64}\n",
                "",
                5,
                "needs a 'capacity:' block",
            ),
            (
                "{output_tokens: 16}",
                "{output_tokens: 16, rate: 2}",
                7,
                "what the capacity search moves",
            ),
            (
                "max: 64}",
                "max: 64, confidence: 1.5}",
                6,
                "confidence must lie",
            ),
            ("max: 64}", "max: 1e9}", 6, "rate"),
        ] {
            let bad = GOOD.replace(from, to);
            let err = check(&bad).unwrap_err();
            assert!(err.message.contains(says), "{from} → {to}: {err}");
            assert_eq!(
                err.location.map(|l| l.0),
                Some(line),
                "{from} → {to}: {err}"
            );
        }
        let closed = GOOD.replace("load: poisson\n", "").replace(
            "factor: rate, min: 1, max: 64",
            "factor: concurrency, min: 1, max: 2.5",
        );
        let err = check(&closed).unwrap_err();
        assert!(err.message.contains("whole number"), "{err}");
    }
}
