//! One configuration's search as a value the runner steps through: ask
//! where to probe, hand back the probe's trials, and at the end take the
//! outcome. A resumed run hands back its recorded probes first, in the
//! order they ran, and the search goes on from there (each step depends
//! only on the probes so far and the seed).

use super::{bootstrap, next, Estimate, Next, Objective, Outcome, Probe, Stop};
use crate::experiment::CapacitySpec;

#[derive(Debug, Clone)]
pub struct Search {
    spec: CapacitySpec,
    objectives: Vec<Objective>,
    seed: u64,
    probes: Vec<Probe>,
    estimate: Option<Estimate>,
}

impl Search {
    /// A search over `objectives` (in the order of a trial's margins); the
    /// seed makes its bootstrap, and so its probes, repeatable.
    pub fn new(spec: CapacitySpec, objectives: Vec<Objective>, seed: u64) -> Self {
        Search {
            spec,
            objectives,
            seed,
            probes: Vec::new(),
            estimate: None,
        }
    }

    /// The next load to probe, or why the search is over.
    pub fn next(&self) -> Next {
        next(&self.spec, &self.probes, self.estimate.as_ref())
    }

    /// A probe's trials, each one margin per objective.
    pub fn add(&mut self, load: f64, trials: Vec<Vec<f64>>) {
        self.probes.push(Probe::new(load, trials));
        let k = self.objectives.len();
        self.estimate = bootstrap(&self.probes, k, self.spec.confidence, self.seed);
    }

    pub fn probes(&self) -> &[Probe] {
        &self.probes
    }

    /// What the search was asked: its confidence, bounds and budget.
    pub fn spec(&self) -> &CapacitySpec {
        &self.spec
    }

    /// The seed of its bootstrap: a band drawn from it resamples as the
    /// interval did.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The finished search of `configuration`; `None` before its first
    /// probe, or while it would still probe.
    pub fn outcome(&self, configuration: &str) -> Option<Outcome> {
        let Next::Stop(stop) = self.next() else {
            return None;
        };
        self.outcome_as(configuration, stop)
    }

    /// The search as it stands, stopped for `stop` (a run cut short).
    pub fn outcome_as(&self, configuration: &str, stop: Stop) -> Option<Outcome> {
        let e = self.estimate.clone()?;
        Some(Outcome::new(
            configuration.to_string(),
            self.spec.factor,
            &self.probes,
            e,
            &self.objectives,
            self.spec.confidence,
            stop,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Slo;

    #[test]
    fn a_search_steps_to_an_outcome_and_a_resume_retraces_it() {
        let spec: CapacitySpec =
            serde_json::from_str(r#"{"factor":"concurrency","min":1,"max":64}"#).unwrap();
        let objectives = crate::capacity::objectives(&Slo::default(), false);
        let k = objectives.len();
        // Every objective holds up to 12 in flight, and fails above.
        let margin = |x: f64| if x <= 12.0 { 0.1 } else { -0.1 };
        let mut s = Search::new(spec.clone(), objectives.clone(), 9);
        let mut ran = Vec::new();
        while let Next::Probe(x) = s.next() {
            assert_eq!(x.fract(), 0.0, "a concurrency is whole: {x}");
            s.add(x, vec![vec![margin(x); k]; 2]);
            ran.push(x);
        }
        let out = s.outcome("baseline").unwrap();
        assert_eq!(out.stop, Stop::Precision, "{ran:?}");
        assert!((12.0..13.0).contains(&out.estimate.fit.capacity), "{ran:?}");
        assert_eq!(out.reported().0, 12.0);
        assert!(
            out.line().contains("sustains 12 in flight"),
            "{}",
            out.line()
        );
        assert!(out.line().contains("(13 fails)"), "{}", out.line());
        // Resumed from the first half of its probes, it asks for the rest.
        let mut again = Search::new(spec, objectives, 9);
        for p in &s.probes()[..ran.len() / 2] {
            again.add(p.load, p.trials.clone());
        }
        assert_eq!(again.next(), Next::Probe(ran[ran.len() / 2]));
    }
}
