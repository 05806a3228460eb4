//! What the sim's handlers and its response streams share: the model, the
//! slots, the counters, the options, the truth log. Apart from both so that
//! neither has to reach into the other.

use super::model::SimModel;
use super::truth::TruthLog;
use crate::clock::Clock;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

/// What only a sim in a process of its own may do.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Where set, generation requests must carry `Authorization: Bearer <key>`.
    pub api_key: Option<String>,
    /// Exit the process (status 3) on this generation request: a server that
    /// crashes mid-run. Never for the in-process sim.
    pub exit_after: Option<u64>,
    /// Log when each event was sent, for `POST /sim/truth` to hand over.
    pub record_truth: bool,
}

pub(super) struct Shared {
    pub(super) model: SimModel,
    pub(super) clock: Clock,
    pub(super) slots: Semaphore,
    /// Requests past their first token and still generating.
    pub(super) decoding: AtomicUsize,
    pub(super) requests: AtomicU64,
    pub(super) started: Instant,
    pub(super) options: SimOptions,
    /// Faults injected so far, by kind (in `Fault` order).
    pub(super) injected: [AtomicU64; 6],
    /// When each event really went out (`--record-truth`).
    pub(super) truth: Option<Arc<TruthLog>>,
}

impl Shared {
    pub(super) fn loading(&self) -> bool {
        self.started.elapsed().as_secs_f64() < self.model.faults.slow_start_s
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.clock.stop();
    }
}

/// Which endpoint a request came to.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Completion,
    Chat,
}
