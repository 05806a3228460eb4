//! A configuration's finished search as the outputs say it: one row of
//! `capacity.csv` (and of summary.json), and one terminal line.

use super::{difference, Estimate, Interval, Objective, Probe, Stop};
use crate::experiment::CapacityFactor;
use polars::prelude::*;

/// One configuration's capacity, as searched.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// As trials.parquet's `config`: `baseline`, `slots=2`, ...
    pub configuration: String,
    pub factor: CapacityFactor,
    pub estimate: Estimate,
    pub confidence: f64,
    /// What the binding objective asks.
    pub binding: Objective,
    pub probes: usize,
    pub trials: usize,
    pub stop: Stop,
    /// Against the baseline's capacity: this one's minus the baseline's.
    pub diff: Option<(f64, Interval)>,
}

impl Outcome {
    pub fn new(
        configuration: String,
        factor: CapacityFactor,
        probes: &[Probe],
        estimate: Estimate,
        objectives: &[Objective],
        confidence: f64,
        stop: Stop,
    ) -> Self {
        let binding = objectives[estimate.fit.binding.min(objectives.len() - 1)].clone();
        Outcome {
            configuration,
            factor,
            binding,
            probes: probes.len(),
            trials: probes.iter().map(|p| p.trials.len()).sum(),
            estimate,
            confidence,
            stop,
            diff: None,
        }
    }

    /// The capacity and its interval as said: a concurrency is the highest
    /// whole number within the SLOs (the next one fails).
    pub fn reported(&self) -> (f64, Interval) {
        let i = self.estimate.interval;
        let x = self.estimate.fit.capacity;
        match self.factor {
            CapacityFactor::Rate => (x, i),
            CapacityFactor::Concurrency => (
                x.floor(),
                Interval {
                    low: i.low.floor(),
                    high: i.high.floor(),
                },
            ),
        }
    }

    /// The terminal's line: "sustains 32.1 req/s [30.8, 33.2] within the
    /// SLOs; binding: TTFT ≤ 150 ms for 95 % of requests", with the
    /// search's stop where it was not the precision.
    pub fn line(&self) -> String {
        // A concurrency is whole: said as one.
        let concurrency = self.factor == CapacityFactor::Concurrency;
        let n = |x: f64| match concurrency {
            true => format!("{x}"),
            false => format!("{x:.1}"),
        };
        let (x, Interval { low, high }) = self.reported();
        let unit = self.factor.unit();
        let head = match self.stop {
            Stop::AboveMax => format!(
                "sustains at least {} {unit} (the search's max) within the SLOs",
                n(x)
            ),
            Stop::BelowMin => format!("fails the SLOs at its lowest load, {} {unit}", n(x)),
            _ if self.factor == CapacityFactor::Concurrency => format!(
                "sustains {x} {unit} [{low}, {high}] within the SLOs ({} fails)",
                x + 1.0
            ),
            _ => format!(
                "sustains {} {unit} [{}, {}] within the SLOs",
                n(x),
                n(low),
                n(high)
            ),
        };
        let why = match self.stop {
            Stop::Precision | Stop::AboveMax | Stop::BelowMin => String::new(),
            Stop::Budget => format!(" (stopped on the budget of {} probes)", self.probes),
            Stop::NonMonotone => " (stopped: the response is not monotone in load)".into(),
        };
        let diff = self.diff.map_or(String::new(), |(d, i)| {
            format!(
                "; {:+.1} {unit} [{:+.1}, {:+.1}] against the baseline",
                d, i.low, i.high
            )
        });
        format!(
            "{}: {head}; binding: {}{why}{diff}",
            self.configuration, self.binding.says
        )
    }
}

/// Each non-baseline outcome's difference from the baseline's capacity,
/// with its interval (a bootstrap of the difference). A capacity beyond
/// the search's range (at least `max`, below `min`) is a bound, not a
/// value: the interval of a difference it enters is open on that side.
pub fn against_baseline(outcomes: &mut [Outcome], baseline: &str) {
    let Some(base) = outcomes
        .iter()
        .find(|o| o.configuration == baseline)
        .cloned()
    else {
        return;
    };
    for o in outcomes.iter_mut().filter(|o| o.configuration != baseline) {
        let (d, i) = difference(&base.estimate, &o.estimate, o.confidence);
        o.diff = Some((d, open_at_bounds(i, o.stop, base.stop)));
    }
}

/// The interval of a difference `minuend − subtrahend` of two searches'
/// capacities, opened on the side a bound leaves unknown: the minuend at
/// least `max` (or the subtrahend below `min`), the difference may be
/// larger; the other way round, smaller.
pub fn open_at_bounds(mut i: Interval, minuend: Stop, subtrahend: Stop) -> Interval {
    if minuend == Stop::AboveMax || subtrahend == Stop::BelowMin {
        i.high = f64::INFINITY;
    }
    if minuend == Stop::BelowMin || subtrahend == Stop::AboveMax {
        i.low = f64::NEG_INFINITY;
    }
    i
}

/// `capacity.csv`: one row per configuration.
pub fn frame(outcomes: &[Outcome]) -> PolarsResult<DataFrame> {
    let text = |f: &dyn Fn(&Outcome) -> String| outcomes.iter().map(f).collect::<Vec<String>>();
    let num = |f: &dyn Fn(&Outcome) -> f64| outcomes.iter().map(f).collect::<Vec<f64>>();
    let diff = |f: &dyn Fn(&(f64, Interval)) -> f64| {
        outcomes
            .iter()
            .map(|o| o.diff.as_ref().map(f))
            .collect::<Vec<Option<f64>>>()
    };
    df![
        "configuration" => text(&|o| o.configuration.clone()),
        "factor" => text(&|o| o.factor.name().to_string()),
        "capacity" => num(&|o| o.reported().0),
        "ci_low" => num(&|o| o.reported().1.low),
        "ci_high" => num(&|o| o.reported().1.high),
        "confidence" => num(&|o| o.confidence),
        "binding_slo" => text(&|o| o.binding.says.clone()),
        "probes" => outcomes.iter().map(|o| o.probes as u32).collect::<Vec<u32>>(),
        "trials" => outcomes.iter().map(|o| o.trials as u32).collect::<Vec<u32>>(),
        "status" => text(&|o| o.stop.as_str().to_string()),
        "diff" => diff(&|d| d.0),
        "diff_ci_low" => diff(&|d| d.1.low),
        "diff_ci_high" => diff(&|d| d.1.high),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::bootstrap;

    fn outcome(name: &str, at: f64) -> Outcome {
        let probes = [
            Probe::new(at / 2.0, vec![vec![0.1], vec![0.12]]),
            Probe::new(at, vec![vec![0.01], vec![-0.01]]),
            Probe::new(at * 2.0, vec![vec![-0.1], vec![-0.12]]),
        ];
        let e = bootstrap(&probes, 1, 0.95, 3).unwrap();
        let says = Objective {
            key: "attainment".into(),
            says: "TTFT ≤ 150 ms for 95 % of requests".into(),
        };
        Outcome::new(
            name.into(),
            CapacityFactor::Rate,
            &probes,
            e,
            &[says],
            0.95,
            Stop::Precision,
        )
    }

    #[test]
    fn one_row_per_configuration_with_the_difference_from_the_baseline() {
        let mut all = [outcome("baseline", 10.0), outcome("slots=8", 20.0)];
        against_baseline(&mut all, "baseline");
        let f = frame(&all).unwrap();
        let names: Vec<&str> = f.get_column_names().iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "configuration",
                "factor",
                "capacity",
                "ci_low",
                "ci_high",
                "confidence",
                "binding_slo",
                "probes",
                "trials",
                "status",
                "diff",
                "diff_ci_low",
                "diff_ci_high"
            ]
        );
        let diff = f.column("diff").unwrap().f64().unwrap();
        assert_eq!(diff.get(0), None);
        assert!((diff.get(1).unwrap() - 10.0).abs() < 1.0, "{f}");
        let line = all[0].line();
        assert!(line.starts_with("baseline: sustains 10.0 req/s [5.0, 20.0] within the SLOs; binding: TTFT ≤ 150 ms for 95 % of requests"), "{line}");
        assert!(
            all[1].line().contains("against the baseline"),
            "{}",
            all[1].line()
        );
        // A capacity at the search's max is a bound: its difference's
        // interval is open above.
        let mut open = [outcome("baseline", 10.0), outcome("slots=8", 20.0)];
        open[1].stop = Stop::AboveMax;
        against_baseline(&mut open, "baseline");
        let (d, i) = open[1].diff.unwrap();
        assert!(
            i.high == f64::INFINITY && i.low <= d && i.low > 0.0,
            "{i:?}"
        );
        assert!(
            open[1].line().ends_with(", +inf] against the baseline"),
            "{}",
            open[1].line()
        );
        // A concurrency is said whole, at the search's max too.
        let mut most = outcome("baseline", 16.0);
        most.factor = CapacityFactor::Concurrency;
        most.stop = Stop::AboveMax;
        let line = most.line();
        assert!(
            line.contains("sustains at least ") && line.contains(" in flight (the search's max)"),
            "{line}"
        );
        assert!(!line.contains(".0 in flight"), "{line}");
    }
}
