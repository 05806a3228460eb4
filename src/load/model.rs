//! The load model: how one configuration's requests are issued, resolved
//! once from the experiment and dispatched in one place ([`super::run`]).
//! A new way of offering load is one variant here (or one arrival process
//! in [`Arrivals`]) plus its schedule.

use crate::experiment::{LoadKind, LoadedExperiment};
use crate::level::Level;
use crate::plan::Configuration;
use crate::workload::Kind;
use std::time::Duration;

/// How a configuration's requests are issued.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadModel {
    /// `concurrency` streams, each sending its next request when its last
    /// ends. Stream k of n starts k/n of `stagger` after the first, so that
    /// streams of equal length do not all send in the same instant.
    Closed {
        concurrency: usize,
        stagger: Duration,
    },
    /// Requests at drawn arrival times, whether or not the server has
    /// answered the earlier ones; at most `max_in_flight` at once.
    Open {
        arrivals: Arrivals,
        max_in_flight: Option<usize>,
    },
    /// A trace's own arrival times, replayed as an open loop.
    Trace { max_in_flight: Option<usize> },
    /// `concurrency` conversations in flight, each a closed loop of its turns.
    Sessions { concurrency: usize },
}

/// An open loop's arrival process; every rate is in requests per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrivals {
    /// Exponential gaps: a Poisson process.
    Poisson { rate: f64 },
    /// Gamma gaps of shape `burstiness` and mean 1 / `rate`.
    Gamma { rate: f64, burstiness: f64 },
    /// One arrival every 1 / `rate` seconds.
    Constant { rate: f64 },
    /// The rate moves linearly from `from` to `to` over `over`, then holds
    /// at `to`; arrival k is sent when the ramp has made k requests due.
    Ramp { from: f64, to: f64, over: Duration },
}

impl Arrivals {
    /// The rate the arrivals settle at: the nominal rate of the trial.
    pub fn rate(&self) -> f64 {
        match *self {
            Arrivals::Poisson { rate }
            | Arrivals::Gamma { rate, .. }
            | Arrivals::Constant { rate } => rate,
            Arrivals::Ramp { to, .. } => to,
        }
    }
}

impl LoadModel {
    /// The model of `config`: a trace's or sessions' workload brings its
    /// own; otherwise `load:` and the configuration's `rate` or
    /// `concurrency`. An open kind without a rate (which validation refuses)
    /// falls back to a closed loop.
    pub fn of(l: &LoadedExperiment, config: &Configuration) -> LoadModel {
        let spec = &l.experiment.load;
        let max_in_flight = spec.max_in_flight().map(|n| n as usize);
        let concurrency = config.concurrency();
        match l.workload_of(config).map(|w| w.kind) {
            Some(Kind::Trace) => return LoadModel::Trace { max_in_flight },
            Some(Kind::Sessions) => return LoadModel::Sessions { concurrency },
            _ => {}
        }
        let rate = config.values.get("rate").and_then(Level::as_f64);
        let arrivals = match (spec.kind(), rate) {
            (LoadKind::Closed, _) | (_, None) => None,
            (LoadKind::Poisson, Some(rate)) => Some(Arrivals::Poisson { rate }),
            (LoadKind::Constant, Some(rate)) => Some(Arrivals::Constant { rate }),
            (LoadKind::Gamma, Some(rate)) => Some(Arrivals::Gamma {
                rate,
                burstiness: spec.burstiness(),
            }),
            (LoadKind::Ramp, Some(to)) => {
                let details = spec.details();
                Some(Arrivals::Ramp {
                    from: details.and_then(|d| d.from).unwrap_or(0.0),
                    to,
                    over: details.and_then(|d| d.over).map_or(Duration::ZERO, |d| d.0),
                })
            }
        };
        match arrivals {
            Some(arrivals) => LoadModel::Open {
                arrivals,
                max_in_flight,
            },
            None => LoadModel::Closed {
                concurrency,
                stagger: Duration::ZERO,
            },
        }
    }

    /// The nominal rate of an open loop with drawn arrivals.
    pub fn rate(&self) -> Option<f64> {
        match self {
            LoadModel::Open { arrivals, .. } => Some(arrivals.rate()),
            _ => None,
        }
    }
}
