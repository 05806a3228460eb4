//! Token lengths: a constant, or a distribution drawn per request from the
//! seed, so two runs of one experiment send the same lengths.

use crate::error::Rule;
use crate::limits;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal, Normal};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// `300`, or `{dist: lognormal, mean: 300, sd: 150, min: 16, max: 2048}`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Length {
    /// Every request this many tokens.
    Fixed(u64),
    Dist(Dist),
}

/// A length distribution. Draws are rounded to whole tokens, then clamped
/// to `min`/`max` (and to at least 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum Dist {
    /// Every whole length from `min` to `max`, equally likely.
    Uniform { min: u64, max: u64 },
    /// Normal with this mean and standard deviation.
    Normal {
        mean: f64,
        sd: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
    },
    /// Log-normal whose lengths (not their logarithms) have this mean and
    /// standard deviation: right-skewed, as prompt lengths are.
    Lognormal {
        mean: f64,
        sd: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
    },
    /// One of `values`, with `weights` (equal when absent).
    Empirical {
        values: Vec<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weights: Option<Vec<f64>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
    },
}

// A hand-written Deserialize keeps the inner error (and its line) of a
// distribution that does not parse; an untagged derive would only say that
// nothing matched.
impl<'de> Deserialize<'de> for Length {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Length;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a whole number of tokens or {dist: uniform|normal|lognormal|empirical, ...}",
                )
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Length, E> {
                Ok(Length::Fixed(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Length, E> {
                u64::try_from(v)
                    .map(Length::Fixed)
                    .map_err(|_| E::custom(format!("a length of {v} tokens, expected 1 or more")))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Length, A::Error> {
                Dist::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Length::Dist)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// What is wrong with a length: its text is the message, after the key
/// that holds it.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum LengthError {
    #[error("a length of 0 tokens, expected 1 or more")]
    Zero,
    #[error("{name} is {value}, expected a number above 0")]
    NotPositive { name: &'static str, value: f64 },
    #[error("{what} {min} is above max {max}")]
    Inverted {
        what: &'static str,
        min: u64,
        max: u64,
    },
    #[error("empirical: no values")]
    NoValues,
    #[error("empirical: {weights} weights for {values} values, expected one each")]
    Weights { weights: usize, values: usize },
    #[error("empirical: weights must be 0 or more, and not all 0")]
    BadWeights,
}

impl Length {
    /// The declared mean, clamps aside: a rough length for estimates.
    pub fn mean(&self) -> f64 {
        match self {
            Length::Fixed(v) => *v as f64,
            Length::Dist(Dist::Uniform { min, max }) => (*min as f64 + *max as f64) / 2.0,
            Length::Dist(Dist::Normal { mean, .. } | Dist::Lognormal { mean, .. }) => *mean,
            Length::Dist(Dist::Empirical {
                values, weights, ..
            }) => {
                let w = |i: usize| {
                    weights
                        .as_ref()
                        .map_or(1.0, |w| w.get(i).copied().unwrap_or(0.0))
                };
                let total: f64 = (0..values.len()).map(w).sum();
                let sum: f64 = values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| v as f64 * w(i))
                    .sum();
                if total > 0.0 {
                    sum / total
                } else {
                    0.0
                }
            }
        }
    }

    /// What is wrong with this length, if anything.
    pub fn check(&self) -> Result<(), LengthError> {
        let positive = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(LengthError::NotPositive { name, value: v })
            }
        };
        let d = match self {
            Length::Fixed(0) => return Err(LengthError::Zero),
            Length::Fixed(_) => return Ok(()),
            Length::Dist(d) => d,
        };
        match d {
            Dist::Uniform { min, max } if min > max => {
                return Err(LengthError::Inverted {
                    what: "uniform: min",
                    min: *min,
                    max: *max,
                })
            }
            Dist::Uniform { .. } => {}
            Dist::Normal { mean, sd, .. } | Dist::Lognormal { mean, sd, .. } => {
                positive("mean", *mean)?;
                positive("sd", *sd)?;
            }
            Dist::Empirical {
                values, weights, ..
            } => {
                if values.is_empty() {
                    return Err(LengthError::NoValues);
                }
                if let Some(w) = weights {
                    if w.len() != values.len() {
                        return Err(LengthError::Weights {
                            weights: w.len(),
                            values: values.len(),
                        });
                    }
                    if w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0
                    {
                        return Err(LengthError::BadWeights);
                    }
                }
            }
        }
        let (lo, hi) = d.clamps();
        if hi < lo {
            return Err(LengthError::Inverted {
                what: "min",
                min: lo,
                max: hi,
            });
        }
        Ok(())
    }

    /// Every token count this length names or can draw within the one
    /// token limit: a number, a distribution's parameters and clamps, its
    /// values. A draw past the limit cannot happen: an open distribution
    /// (no `max`) is clamped to it ([`Dist::clamps`]).
    /// `what` names the length in the message (`input_tokens`).
    pub fn within_limits(&self, what: &str) -> Result<(), Rule> {
        let d = match self {
            Length::Fixed(n) => return limits::tokens(what, *n).map(drop),
            Length::Dist(d) => d,
        };
        let (min, max) = match d {
            Dist::Uniform { min, max } => (Some(*min), Some(*max)),
            Dist::Normal { mean, sd, min, max } | Dist::Lognormal { mean, sd, min, max } => {
                limits::tokens_f64(&format!("{what} mean"), *mean)?;
                limits::tokens_f64(&format!("{what} sd"), *sd)?;
                (*min, *max)
            }
            Dist::Empirical {
                values, min, max, ..
            } => {
                for v in values {
                    limits::tokens(&format!("{what} value"), *v)?;
                }
                (*min, *max)
            }
        };
        for (bound, v) in [("min", min), ("max", max)] {
            if let Some(v) = v {
                limits::tokens(&format!("{what} {bound}"), v)?;
            }
        }
        Ok(())
    }

    /// The length of request `request` of trial `trial`: its own generator,
    /// so a draw does not depend on how many came before.
    pub fn draw(&self, seed: u64, trial: usize, request: usize, stream: u64) -> u64 {
        match self {
            Length::Fixed(n) => *n,
            Length::Dist(d) => d.sample(&mut request_rng(seed, trial, request, stream)),
        }
    }

    /// The largest length a draw can give.
    pub fn max(&self) -> u64 {
        match self {
            Length::Fixed(n) => *n,
            Length::Dist(d) => {
                let (lo, hi) = d.clamps();
                match d {
                    Dist::Uniform { max, .. } => (*max).min(hi).max(lo),
                    Dist::Empirical { values, .. } => {
                        values.iter().max().copied().unwrap_or(1).clamp(lo, hi)
                    }
                    _ => hi,
                }
            }
        }
    }
}

impl Dist {
    /// The clamps: at least 1 token, at most the token limit.
    pub fn clamps(&self) -> (u64, u64) {
        let (min, max) = match self {
            Dist::Uniform { min, max } => (Some(*min), Some(*max)),
            Dist::Normal { min, max, .. }
            | Dist::Lognormal { min, max, .. }
            | Dist::Empirical { min, max, .. } => (*min, *max),
        };
        (
            min.unwrap_or(1).max(1),
            max.unwrap_or(limits::MAX_TOKENS).min(limits::MAX_TOKENS),
        )
    }

    pub fn sample(&self, rng: &mut StdRng) -> u64 {
        let (lo, hi) = self.clamps();
        let x: f64 = match self {
            Dist::Uniform { min, max } => return rng.random_range(*min..=*max).clamp(lo, hi),
            Dist::Normal { mean, sd, .. } => Normal::new(*mean, *sd)
                .map(|n| n.sample(rng))
                .unwrap_or(*mean),
            Dist::Lognormal { mean, sd, .. } => {
                let (mu, sigma) = lognormal_params(*mean, *sd);
                LogNormal::new(mu, sigma)
                    .map(|n| n.sample(rng))
                    .unwrap_or(*mean)
            }
            Dist::Empirical {
                values, weights, ..
            } => {
                let i = match weights {
                    Some(w) => WeightedIndex::new(w).map(|w| w.sample(rng)).unwrap_or(0),
                    None => rng.random_range(0..values.len()),
                };
                return values[i].clamp(lo, hi);
            }
        };
        // A float above u64::MAX saturates in `as`; NaN cannot come from
        // checked parameters.
        (x.round().max(0.0) as u64).clamp(lo, hi)
    }
}

/// μ and σ of the underlying normal for a log-normal whose own mean and
/// standard deviation are `mean` and `sd`.
pub fn lognormal_params(mean: f64, sd: f64) -> (f64, f64) {
    let s2 = (1.0 + (sd / mean).powi(2)).ln();
    (mean.ln() - s2 / 2.0, s2.sqrt())
}

/// A generator for one request's draw: seed, trial, request and stream
/// (input, output, ...) mixed by SplitMix64.
pub fn request_rng(seed: u64, trial: usize, request: usize, stream: u64) -> StdRng {
    let mut z = seed;
    for v in [trial as u64, request as u64, stream] {
        z = splitmix(z ^ v.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    StdRng::seed_from_u64(z)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;
