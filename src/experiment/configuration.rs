//! Configurations: the baseline, and the baseline with one factor changed
//! (OFAT), or every combination of the factors' levels (factorial).

use super::Experiment;
use crate::level::Level;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// One assignment of every factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    /// Position in file order: 0 is the baseline.
    pub index: usize,
    /// `baseline`, `factor=level`, or in a factorial design each factor
    /// that differs from the baseline: `quant=q8_0,concurrency=4`.
    pub label: String,
    /// The swept factor, or `None` for the baseline; in a factorial design
    /// the factors that differ from the baseline, comma-separated.
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

/// Configuration 0 of every design.
fn baseline(e: &Experiment) -> Configuration {
    Configuration {
        index: 0,
        label: "baseline".into(),
        factor: None,
        level: None,
        values: e.baseline.clone(),
    }
}

pub fn configurations(e: &Experiment) -> Vec<Configuration> {
    match e.design {
        super::Design::Ofat => one_at_a_time(e),
        super::Design::Factorial => factorial(e),
    }
}

/// Every combination of the factors' levels, the baseline's first, then the
/// others with the last factor changing fastest. Count: Π levels. A cell
/// that differs from the baseline in one factor has that factor's OFAT
/// label, so the one-factor charts and comparisons read as in OFAT.
fn factorial(e: &Experiment) -> Vec<Configuration> {
    let mut cells: Vec<IndexMap<String, Level>> = vec![e.baseline.clone()];
    for (name, levels) in &e.factors {
        cells = cells
            .iter()
            .flat_map(|cell| {
                levels.iter().map(move |level| {
                    let mut c = cell.clone();
                    c.insert(name.clone(), level.clone());
                    c
                })
            })
            .collect();
    }
    let mut out = vec![baseline(e)];
    for values in cells {
        let differing: Vec<(&String, &Level)> = e
            .factors
            .keys()
            .filter_map(|name| {
                let v = values.get(name)?;
                (e.baseline.get(name) != Some(v)).then_some((name, v))
            })
            .collect();
        if differing.is_empty() {
            continue;
        }
        let names: Vec<&str> = differing.iter().map(|(n, _)| n.as_str()).collect();
        let label = differing
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let level = match differing.as_slice() {
            [(_, v)] => (*v).clone(),
            many => Level::Str(
                many.iter()
                    .map(|(_, v)| v.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        };
        out.push(Configuration {
            index: out.len(),
            label,
            factor: Some(names.join(",")),
            level: Some(level),
            values,
        });
    }
    out
}

/// The baseline, then for each factor (file order) each non-baseline level.
/// Count: 1 + Σ (levels − 1).
fn one_at_a_time(e: &Experiment) -> Vec<Configuration> {
    let mut out = vec![baseline(e)];
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
