//! A factor level: a YAML scalar (number, string or boolean).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Level {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Level {
    /// The level as a whole number, for built-in factors that count things.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Level::Int(i) if *i >= 0 => Some(*i as u64),
            Level::Float(f) if *f >= 0.0 && f.fract() == 0.0 => Some(*f as u64),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Level::Int(i) => Some(*i as f64),
            Level::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value handed to templates: numbers stay numbers so `{{ n * 2 }}` works.
    pub fn to_template_value(&self) -> minijinja::Value {
        match self {
            Level::Bool(b) => minijinja::Value::from(*b),
            Level::Int(i) => minijinja::Value::from(*i),
            Level::Float(f) => minijinja::Value::from(*f),
            Level::Str(s) => minijinja::Value::from(s.as_str()),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::Bool(b) => write!(f, "{b}"),
            Level::Int(i) => write!(f, "{i}"),
            Level::Float(x) => write!(f, "{x}"),
            Level::Str(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scalars_keep_their_type() {
        let levels: Vec<Level> = serde_yaml::from_str("[1, 2.5, q4_K_M, true]").unwrap();
        assert_eq!(
            levels,
            vec![
                Level::Int(1),
                Level::Float(2.5),
                Level::Str("q4_K_M".into()),
                Level::Bool(true)
            ]
        );
        assert_eq!(levels[0].as_u64(), Some(1));
        assert_eq!(levels[1].as_u64(), None);
        assert_eq!(levels[2].to_string(), "q4_K_M");
    }
}
