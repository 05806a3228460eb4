//! Capacity under SLOs: per configuration, the highest load at which every
//! objective holds, with a confidence interval, found by a search that uses
//! every probe. Pure: the runner hands in each probe's trials (one margin per
//! objective each) and asks where to probe next; nothing here touches a
//! clock, a file or a global RNG.
//!
//! - [`judge`]: a trial's measurements → its margin on each objective (the
//!   one adapter to the SLO verdict).
//! - [`measure`]: each trial's measurements from the trial table and its
//!   records.
//! - [`fit`]: the monotone fit of margin against load over all probes, and
//!   its zero crossing.
//! - [`interval`]: the bootstrap over trials within probes, for the
//!   capacity and for a difference of two capacities.
//! - [`band`]: the same bootstrap's pointwise band around a fitted margin
//!   curve, for the report's chart.
//! - [`search`]: bracket, then probe where the interval shrinks most; why it
//!   stopped.
//! - [`driver`]: one configuration's search as a value the runner steps
//!   through, and resumes from recorded probes.
//! - [`saturation`]: an open loop's growing queue within a trial.
//! - [`between`]: a configuration's capacity in two runs, and B − A with
//!   its interval (`compare`, `reproduce`).
//! - [`outcome`]: a finished search as `capacity.csv`'s row and the
//!   terminal's line, with the difference from the baseline.

pub mod band;
pub mod between;
pub mod driver;
pub mod fit;
pub mod interval;
pub mod judge;
pub mod measure;
pub mod outcome;
pub mod saturation;
pub mod search;

pub use driver::Search;
pub use fit::{fit, Fit};
pub use interval::{bootstrap, difference, Estimate, Interval};
pub use judge::{margins, objectives, Objective, TrialMeasure};
pub use outcome::{against_baseline, Outcome};
pub use saturation::{queue_growth, SATURATION_RATIO};
pub use search::{next, Next, Stop};

/// One load tried, as one or more trials; each trial holds its margin on
/// every objective (≥ 0: the objective holds), in [`objectives`]' order.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub load: f64,
    pub trials: Vec<Vec<f64>>,
}

impl Probe {
    pub fn new(load: f64, trials: Vec<Vec<f64>>) -> Self {
        Probe { load, trials }
    }
}
