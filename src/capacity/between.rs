//! One configuration's capacity in two runs (`compare`, `reproduce`): A's,
//! B's, and B − A with its interval, from the two searches' bootstrap
//! replicates.

use super::outcome::open_at_bounds;
use super::{difference, Estimate, Interval, Outcome, Stop};
use crate::experiment::CapacityFactor;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// What the interval of B − A shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The interval lies wholly above 0.
    Higher,
    /// The interval lies wholly below 0: a regression.
    Lower,
    /// The interval holds 0.
    NoDifference,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Higher => "higher",
            Verdict::Lower => "lower",
            Verdict::NoDifference => "no difference shown",
        }
    }
}

/// What the interval of B − A says of a reproduction, against an
/// equivalence margin relative to A's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reproduction {
    /// The 1 − 2α interval lies within ±margin (TOST's rule).
    Reproduced,
    /// The 1 − α interval lies wholly outside ±margin.
    NotReproduced,
    Inconclusive,
}

impl Reproduction {
    pub fn as_str(self) -> &'static str {
        match self {
            Reproduction::Reproduced => "reproduced",
            Reproduction::NotReproduced => "not reproduced",
            Reproduction::Inconclusive => "inconclusive",
        }
    }
}

/// One configuration searched in both runs.
#[derive(Debug, Clone)]
pub struct Change {
    pub configuration: String,
    pub factor: CapacityFactor,
    /// Each run's capacity and interval, as its capacity.csv says them.
    pub a: (f64, Interval),
    pub b: (f64, Interval),
    /// B − A and its interval at `confidence`.
    pub diff: f64,
    pub interval: Interval,
    pub confidence: f64,
    pub verdict: Verdict,
    a_estimate: Estimate,
    b_estimate: Estimate,
    /// Why each search stopped: a capacity beyond its range is a bound.
    stops: (Stop, Stop),
}

/// Seed of the shuffle that pairs B's replicates with A's: fixed, so a
/// comparison says the same each time it is made.
const PAIRING_SEED: u64 = 0x5eed_ca9a;

/// B's replicates in an order of their own. `difference` pairs the two
/// estimates' replicates index by index, which is right only where the
/// two bootstraps drew independently. Within one run they do (each
/// configuration's bootstrap is seeded apart), but two runs of one
/// experiment seed a configuration's bootstrap alike, so replicate i of A
/// and of B drew the same residual positions: paired as they are, the
/// difference would vary too little. The runs themselves are independent,
/// so any pairing of their replicates is as good as another; a shuffle
/// makes the pairing independent of how each was drawn.
fn unpaired(b: &Estimate) -> Estimate {
    let mut b = b.clone();
    b.replicates
        .shuffle(&mut StdRng::seed_from_u64(PAIRING_SEED));
    b
}

impl Change {
    /// B − A's interval at another confidence (1 − 2α for an equivalence
    /// test), from the same replicates.
    pub fn interval_at(&self, confidence: f64) -> Interval {
        let i = difference(&self.a_estimate, &self.b_estimate, confidence).1;
        open_at_bounds(i, self.stops.1, self.stops.0)
    }

    /// Reproduced where the 1 − 2α interval of B − A lies within
    /// ±`margin` × A's capacity (the two one-sided tests at α each, as
    /// reproduce holds a metric), not reproduced where the 1 − α interval
    /// lies wholly outside it.
    pub fn reproduction(&self, margin: f64, alpha: f64) -> Reproduction {
        let m = margin * self.a.0.abs();
        let tost = self.interval_at(1.0 - 2.0 * alpha);
        let two_sided = self.interval_at(1.0 - alpha);
        if tost.low >= -m && tost.high <= m {
            Reproduction::Reproduced
        } else if two_sided.low > m || two_sided.high < -m {
            Reproduction::NotReproduced
        } else {
            Reproduction::Inconclusive
        }
    }
}

/// Each configuration finished in both runs, matched by its label, in A's
/// order; B's confidence is A's where they differ (A is the reference).
pub fn changes(a: &[Outcome], b: &[Outcome]) -> Vec<Change> {
    a.iter()
        .filter_map(|x| {
            let y = b.iter().find(|y| y.configuration == x.configuration)?;
            Some(change(x, y))
        })
        .collect()
}

fn change(a: &Outcome, b: &Outcome) -> Change {
    let b_estimate = unpaired(&b.estimate);
    let (diff, interval) = difference(&a.estimate, &b_estimate, a.confidence);
    let interval = open_at_bounds(interval, b.stop, a.stop);
    let verdict = if interval.low > 0.0 {
        Verdict::Higher
    } else if interval.high < 0.0 {
        Verdict::Lower
    } else {
        Verdict::NoDifference
    };
    Change {
        configuration: a.configuration.clone(),
        factor: a.factor,
        a: a.reported(),
        b: b.reported(),
        diff,
        interval,
        confidence: a.confidence,
        verdict,
        a_estimate: a.estimate.clone(),
        b_estimate,
        stops: (a.stop, b.stop),
    }
}

/// The table's header and one row per configuration, as the terminal,
/// the CSV and the HTML page show them.
pub fn lines(changes: &[Change]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "configuration",
        "unit",
        "A",
        "A interval",
        "B",
        "B interval",
        "B − A",
        "interval",
        "verdict",
    ]
    .map(String::from)
    .to_vec();
    let n = |x: f64| format!("{x:.1}");
    let rows = changes
        .iter()
        .map(|c| {
            vec![
                c.configuration.clone(),
                c.factor.unit().to_string(),
                n(c.a.0),
                format!("[{}, {}]", n(c.a.1.low), n(c.a.1.high)),
                n(c.b.0),
                format!("[{}, {}]", n(c.b.1.low), n(c.b.1.high)),
                format!("{:+.1}", c.diff),
                format!("[{:+.1}, {:+.1}]", c.interval.low, c.interval.high),
                c.verdict.as_str().to_string(),
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::{bootstrap, Objective, Probe, Stop};

    fn outcome(at: f64, seed: u64) -> Outcome {
        let probes = [
            Probe::new(at / 2.0, vec![vec![0.12], vec![0.08]]),
            Probe::new(at, vec![vec![0.02], vec![-0.02]]),
            Probe::new(at * 2.0, vec![vec![-0.08], vec![-0.12]]),
        ];
        let e = bootstrap(&probes, 1, 0.95, seed).unwrap();
        let o = Objective {
            key: "attainment".into(),
            says: "TTFT ≤ 150 ms".into(),
        };
        Outcome::new(
            "baseline".into(),
            CapacityFactor::Rate,
            &probes,
            e,
            &[o],
            0.95,
            Stop::Precision,
        )
    }

    #[test]
    fn a_higher_capacity_is_higher_and_the_same_search_shows_no_difference() {
        let c = changes(&[outcome(10.0, 1)], &[outcome(20.0, 1)]);
        assert_eq!(c[0].verdict, Verdict::Higher, "{:?}", c[0].interval);
        assert!((c[0].diff - 10.0).abs() < 1.0);
        assert_eq!(
            changes(&[outcome(20.0, 1)], &[outcome(10.0, 1)])[0].verdict,
            Verdict::Lower
        );
        // The same seed in both runs: paired index by index the replicates
        // would cancel exactly and the interval shrink to [0, 0].
        let same = &changes(&[outcome(10.0, 1)], &[outcome(10.0, 1)])[0];
        assert_eq!(same.verdict, Verdict::NoDifference);
        assert!(same.interval.low < 0.0 && same.interval.high > 0.0);
        assert_eq!(same.reproduction(0.5, 0.05), Reproduction::Reproduced);
        assert_eq!(same.reproduction(0.0001, 0.05), Reproduction::Inconclusive);
        let far = &changes(&[outcome(10.0, 1)], &[outcome(40.0, 2)])[0];
        assert_eq!(far.reproduction(0.1, 0.05), Reproduction::NotReproduced);
        let (header, rows) = lines(std::slice::from_ref(same));
        assert_eq!(header.len(), rows[0].len());
        // B at its search's max: B − A is a bound, its interval open above,
        // and never "reproduced".
        let mut at_max = outcome(10.0, 1);
        at_max.stop = Stop::AboveMax;
        let bound = &changes(&[outcome(10.0, 1)], &[at_max])[0];
        assert_eq!(bound.interval.high, f64::INFINITY);
        assert_eq!(bound.verdict, Verdict::NoDifference);
        assert_ne!(bound.reproduction(0.5, 0.05), Reproduction::Reproduced);
    }
}
