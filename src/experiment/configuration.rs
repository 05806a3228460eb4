//! Configurations: the baseline, and the baseline with one factor changed (OFAT).

use super::Experiment;
use crate::level::Level;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// One assignment of every factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    /// Position in file order: 0 is the baseline.
    pub index: usize,
    /// `baseline` or `factor=level`.
    pub label: String,
    /// The swept factor, or `None` for the baseline.
    pub factor: Option<String>,
    pub level: Option<Level>,
    /// Every factor's (and baseline constant's) value.
    pub values: IndexMap<String, Level>,
}

impl Configuration {
    fn count(&self, name: &str) -> Option<u64> {
        self.values.get(name).and_then(Level::as_u64)
    }

    /// Requests in flight (closed loop); 1 when the experiment does not say.
    pub fn concurrency(&self) -> usize {
        self.count("concurrency").unwrap_or(1) as usize
    }

    /// Prompts per request (`batch_size`); 1 when the experiment does not say.
    pub fn batch_size(&self) -> usize {
        self.count("batch_size").unwrap_or(1).max(1) as usize
    }

    /// Exact prompt length in tokens, when the experiment asks for one.
    pub fn input_tokens(&self) -> Option<u64> {
        self.count("input_tokens")
    }

    /// Exact output length in tokens, when the experiment asks for one.
    pub fn output_tokens(&self) -> Option<u64> {
        self.count("output_tokens")
    }

    pub fn factor_label(&self) -> &str {
        self.factor.as_deref().unwrap_or("baseline")
    }
}

/// The baseline, then for each factor (file order) each non-baseline level.
/// Count: 1 + Σ (levels − 1).
pub fn configurations(e: &Experiment) -> Vec<Configuration> {
    let mut out = vec![Configuration {
        index: 0,
        label: "baseline".into(),
        factor: None,
        level: None,
        values: e.baseline.clone(),
    }];
    for (name, levels) in &e.factors {
        for level in levels {
            if e.baseline.get(name) == Some(level) {
                continue;
            }
            let mut values = e.baseline.clone();
            values.insert(name.clone(), level.clone());
            out.push(Configuration {
                index: out.len(),
                label: format!("{name}={level}"),
                factor: Some(name.clone()),
                level: Some(level.clone()),
                values,
            });
        }
    }
    out
}
