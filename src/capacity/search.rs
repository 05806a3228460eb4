//! Where to probe next, and when to stop. First the bracket: from `min`,
//! the load triples (up to `max`) until an objective fails. Then each probe
//! goes where the interval is least informed: of the estimate, the
//! interval's two ends, the midways between them and the middle of the
//! probes either side of the estimate (in log-load), the one farthest from
//! every load probed so far — a probe there splits the
//! widest gap that the interval still spans. The search stops when the interval's half-width is within
//! `precision` of the estimate, on the budget, when the capacity lies
//! beyond `max` or below `min`, or when the response is not monotone.

use super::{Estimate, Probe};
use crate::experiment::{CapacityFactor, CapacitySpec};

/// The bracket's step: each load three times the last.
pub(crate) const GROWTH: f64 = 3.0;

/// Why a search ended; said in the result, never silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// The interval's half-width reached `precision` of the estimate.
    Precision,
    /// `max_probes` probes ran first.
    Budget,
    /// Every objective held at `max`: the capacity is at least that.
    AboveMax,
    /// An objective failed at `min`: the capacity is below it.
    BelowMin,
    /// A load failed in every trial where a higher one passed in every
    /// trial: the server does not degrade monotonically with load.
    NonMonotone,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Precision => "precision",
            Stop::Budget => "budget",
            Stop::AboveMax => "above_max",
            Stop::BelowMin => "below_min",
            Stop::NonMonotone => "non_monotone",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    Probe(f64),
    Stop(Stop),
}

/// A load the factor can take: a concurrency is a whole number.
fn load_of(spec: &CapacitySpec, x: f64) -> f64 {
    let x = x.clamp(spec.min, spec.max);
    match spec.factor {
        CapacityFactor::Concurrency => x.round().clamp(spec.min, spec.max),
        CapacityFactor::Rate => x,
    }
}

/// Some objective failed in every trial at a load below one where every
/// objective held in every trial.
pub fn non_monotone(probes: &[Probe]) -> bool {
    let all = |p: &Probe, ok: bool| {
        !p.trials.is_empty() && p.trials.iter().all(|t| t.iter().all(|&m| m >= 0.0) == ok)
    };
    probes.iter().any(|low| {
        all(low, false)
            && probes
                .iter()
                .any(|high| high.load > low.load && all(high, true))
    })
}

/// The probed loads either side of `x`: the highest at or below it and
/// the lowest above it (`x` itself where there is none).
fn gap_around(probes: &[Probe], x: f64) -> (f64, f64) {
    let loads = || probes.iter().map(|p| p.load);
    let below = loads().filter(|&l| l <= x).fold(f64::NAN, f64::max);
    let above = loads().filter(|&l| l > x).fold(f64::NAN, f64::min);
    (
        if below.is_nan() { x } else { below },
        if above.is_nan() { x } else { above },
    )
}

/// The next step of a search, given its probes so far and their estimate.
pub fn next(spec: &CapacitySpec, probes: &[Probe], estimate: Option<&Estimate>) -> Next {
    let Some(e) = estimate else {
        return Next::Probe(spec.min);
    };
    let highest = probes.iter().map(|p| p.load).fold(f64::MIN, f64::max);
    if e.fit.below {
        let lowest = probes.iter().map(|p| p.load).fold(f64::MAX, f64::min);
        if lowest <= spec.min {
            return Next::Stop(Stop::BelowMin);
        }
    }
    if e.fit.above && highest >= spec.max {
        return Next::Stop(Stop::AboveMax);
    }
    if probes.len() >= spec.max_probes as usize {
        return Next::Stop(Stop::Budget);
    }
    if non_monotone(probes) {
        return Next::Stop(Stop::NonMonotone);
    }
    if e.fit.above {
        return Next::Probe(load_of(spec, highest * GROWTH));
    }
    let half = (e.interval.high - e.interval.low) / 2.0;
    let (below, above) = gap_around(probes, e.fit.capacity);
    // Between two probes the fit is a straight line, whose error the
    // bootstrap cannot see: the probes either side must be as close as
    // the precision asked before the interval is believed.
    let bracketed = above - below <= spec.precision * e.fit.capacity;
    let resolved = spec.factor == CapacityFactor::Concurrency && above - below <= 1.0;
    if half <= spec.precision * e.fit.capacity && (bracketed || resolved) {
        return Next::Stop(Stop::Precision);
    }
    let gap = |x: f64| {
        probes
            .iter()
            .map(|p| (p.load.ln() - x.ln()).abs())
            .fold(f64::MAX, f64::min)
    };
    let (x, lo, hi) = (e.fit.capacity, e.percentile.low, e.percentile.high);
    // Midways too: where the ends are probed already, the gaps inside.
    // And the middle of the probes either side of the estimate: a probe
    // that holds beside one far beyond capacity (the bracket's last, its
    // attainment near 0) puts the crossing, and every replicate's, just
    // above the one that holds, and without it the search crept up from
    // there a few per cent a probe (tests/capacity_sim.rs).
    let split = (below * above).sqrt();
    let candidates = [x, lo, hi, (lo * x).sqrt(), (x * hi).sqrt(), split].map(|x| load_of(spec, x));
    let best = candidates
        .into_iter()
        .fold(candidates[0], |b, x| if gap(x) > gap(b) { x } else { b });
    Next::Probe(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::bootstrap;

    fn spec() -> CapacitySpec {
        serde_json::from_str(r#"{"factor":"rate","min":1,"max":100,"max_probes":20}"#).unwrap()
    }

    /// A server whose margin falls linearly in log-load through zero at 10.
    fn probe(load: f64) -> Probe {
        let m = 0.2 * (10f64.ln() - load.ln());
        Probe::new(load, vec![vec![m + 0.005], vec![m - 0.005]])
    }

    fn search(spec: &CapacitySpec, at: impl Fn(f64) -> Probe) -> (Vec<Probe>, Stop) {
        let mut probes = Vec::new();
        loop {
            let e = bootstrap(&probes, 1, spec.confidence, 7);
            match next(spec, &probes, e.as_ref()) {
                Next::Probe(x) => probes.push(at(x)),
                Next::Stop(why) => return (probes, why),
            }
        }
    }

    #[test]
    fn brackets_then_converges_on_the_crossing() {
        let (probes, why) = search(&spec(), probe);
        let loads: Vec<f64> = probes.iter().map(|p| p.load).collect();
        assert_eq!(&loads[..4], &[1.0, 3.0, 9.0, 27.0]);
        let e = bootstrap(&probes, 1, 0.95, 7).unwrap();
        assert_eq!(
            why,
            Stop::Precision,
            "{loads:?} {:?} {:?}",
            e.interval,
            e.fit
        );
        let e = bootstrap(&probes, 1, 0.95, 7).unwrap();
        assert!((e.fit.capacity - 10.0).abs() < 0.5, "{e:?}");
    }

    #[test]
    fn says_why_it_stopped_at_the_edges() {
        let (_, why) = search(&spec(), |x| Probe::new(x, vec![vec![1.0], vec![1.0]]));
        assert_eq!(why, Stop::AboveMax);
        let (p, why) = search(&spec(), |x| Probe::new(x, vec![vec![-1.0], vec![-1.0]]));
        assert_eq!((p.len(), why), (1, Stop::BelowMin));
        let tight = CapacitySpec {
            max_probes: 5,
            precision: 0.0001,
            ..spec()
        };
        assert_eq!(search(&tight, probe).1, Stop::Budget);
        // Holds at 1, fails at 3 in every trial, holds at 9 in every trial.
        let both = |x: f64, m: f64| Probe::new(x, vec![vec![m], vec![m]]);
        let odd = [both(1.0, 1.0), both(3.0, -1.0), both(9.0, 1.0)];
        assert!(non_monotone(&odd) && !non_monotone(&odd[..2]));
        let e = bootstrap(&odd, 1, 0.95, 7);
        assert_eq!(
            next(&spec(), &odd, e.as_ref()),
            Next::Stop(Stop::NonMonotone)
        );
    }
}
