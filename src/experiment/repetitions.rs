//! `repetitions:`, a fixed number of blocks, or adaptive: whole blocks are
//! added until every configuration's estimate is as precise as asked.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// `repetitions: 5`, or `{min: 3, max: 20, until: {rel_ci: 0.02, metrics: [output_tok_s]}}`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Repetitions {
    /// Exactly this many blocks.
    Fixed(u32),
    Adaptive(Adaptive),
}

/// Run `min` blocks, then add one block at a time until the stopping rule
/// holds, or `max` blocks have run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Adaptive {
    /// Blocks before the rule is first checked (at least 2: a CI needs two trials).
    #[serde(default = "default_min")]
    pub min: u32,
    pub max: u32,
    pub until: Until,
}

/// Stop when, for every configuration and every listed metric, the 95 % CI
/// half-width divided by the mean is at most `rel_ci`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Until {
    pub rel_ci: f64,
    /// Per-trial metrics (columns of trials.parquet).
    #[schemars(schema_with = "metrics_schema")]
    pub metrics: Vec<String>,
}

fn metrics_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let one = super::stats_spec::metric_schema(g);
    schemars::json_schema!({"type": "array", "items": one, "minItems": 1})
}

fn default_min() -> u32 {
    3
}

impl Default for Repetitions {
    fn default() -> Self {
        Repetitions::Fixed(3)
    }
}

impl Repetitions {
    /// Blocks in the plan: all of them, or the most an adaptive run may use.
    pub fn blocks(&self) -> u32 {
        match self {
            Repetitions::Fixed(n) => *n,
            Repetitions::Adaptive(a) => a.max,
        }
    }

    pub fn adaptive(&self) -> Option<&Adaptive> {
        match self {
            Repetitions::Adaptive(a) => Some(a),
            Repetitions::Fixed(_) => None,
        }
    }
}

impl std::fmt::Display for Repetitions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Repetitions::Fixed(n) => write!(f, "{n}"),
            Repetitions::Adaptive(a) => write!(
                f,
                "{} to {}, until the 95% CI of {} is within ±{}% of the mean",
                a.min,
                a.max,
                a.until.metrics.join(", "),
                a.until.rel_ci * 100.0
            ),
        }
    }
}

/// A whole number, or the adaptive map; anything else says what was expected.
impl<'de> Deserialize<'de> for Repetitions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Repetitions;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number of blocks, or {min, max, until: {rel_ci, metrics}}")
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Repetitions, E> {
                u32::try_from(v)
                    .map(Repetitions::Fixed)
                    .map_err(|_| E::custom(format!("{v} repetitions is too many")))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Repetitions, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!(
                        "repetitions must be at least 1, got {v}"
                    ))),
                }
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Repetitions, A::Error> {
                Adaptive::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Repetitions::Adaptive)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_or_the_adaptive_map() {
        let r: Repetitions = serde_yaml::from_str("5").unwrap();
        assert_eq!(r, Repetitions::Fixed(5));
        let r: Repetitions =
            serde_yaml::from_str("{max: 20, until: {rel_ci: 0.02, metrics: [output_tok_s]}}")
                .unwrap();
        let a = r.adaptive().unwrap();
        assert_eq!((a.min, a.max, r.blocks()), (3, 20, 20));
        let e = serde_yaml::from_str::<Repetitions>("{max: 20, until: {rel: 0.02}}").unwrap_err();
        assert!(e.to_string().contains("unknown field `rel`"), "{e}");
        let e = serde_yaml::from_str::<Repetitions>("many").unwrap_err();
        assert!(e.to_string().contains("a whole number of blocks"), "{e}");
    }
}
