//! Configurations: the baseline, and the baseline with one factor changed
//! (OFAT), or every combination of the factors' levels (factorial).

use super::Experiment;
use crate::level::Level;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The configuration every other is held against: its label, and the
/// `factor` and `level` it has in the tables.
pub const BASELINE: &str = "baseline";

/// One assignment of every factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    /// Position in file order: 0 is the baseline.
    pub index: usize,
    /// `baseline`, `factor=level`, or in a factorial design each factor
    /// that differs from the baseline: `quant=q8_0,concurrency=4`.
    pub label: String,
    /// The factors whose level differs from the baseline's: none for the
    /// baseline, one in OFAT, one or more in a factorial design.
    /// plan.jsonl keeps them as it always has: `factor`, comma-joined or null.
    #[serde(rename = "factor", with = "joined", default)]
    pub factors: Vec<String>,
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

    /// The `factor` column's text: the factors comma-joined, or `baseline`.
    pub fn factor_label(&self) -> String {
        if self.factors.is_empty() {
            BASELINE.into()
        } else {
            self.factors.join(",")
        }
    }

    pub fn is_baseline(&self) -> bool {
        self.factors.is_empty()
    }

    /// The factor this configuration varies when it varies exactly one.
    pub fn single_factor(&self) -> Option<&str> {
        match self.factors.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// `factors` as plan.jsonl has always written them: null for none, else
/// the names comma-joined (factor names cannot hold a comma).
mod joined {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(factors: &[String], s: S) -> Result<S::Ok, S::Error> {
        match factors {
            [] => s.serialize_none(),
            many => s.serialize_some(&many.join(",")),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        Ok(text.map_or_else(Vec::new, |t| t.split(',').map(str::to_string).collect()))
    }
}

/// Configuration 0 of every design.
fn baseline(e: &Experiment) -> Configuration {
    Configuration {
        index: 0,
        label: BASELINE.into(),
        factors: Vec::new(),
        level: None,
        values: e.baseline.clone(),
    }
}

pub fn configurations(e: &Experiment) -> Vec<Configuration> {
    match e.arrangement() {
        super::Arrangement::Ofat => one_at_a_time(e),
        super::Arrangement::Factorial => factorial(e),
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
            factors: names.iter().map(|n| n.to_string()).collect(),
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
                factors: vec![name.clone()],
                level: Some(level.clone()),
                values,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// plan.jsonl's `factor` as every version wrote it: null, one name, or
    /// a factorial cell's names comma-joined; read and written alike.
    #[test]
    fn factors_read_and_write_plan_jsonl_as_before() {
        for (text, factors, label) in [
            (r#"null"#, vec![], "baseline"),
            (r#""concurrency""#, vec!["concurrency"], "concurrency"),
            (
                r#""quant,concurrency""#,
                vec!["quant", "concurrency"],
                "quant,concurrency",
            ),
        ] {
            let line =
                format!(r#"{{"index":1,"label":"x","factor":{text},"level":null,"values":{{}}}}"#);
            let c: Configuration = serde_json::from_str(&line).unwrap();
            assert_eq!(c.factors, factors);
            assert_eq!(c.factor_label(), label);
            assert_eq!(c.is_baseline(), factors.is_empty());
            assert_eq!(c.single_factor(), (factors.len() == 1).then(|| factors[0]));
            assert_eq!(serde_json::to_string(&c).unwrap(), line);
        }
    }
}
