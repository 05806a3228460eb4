//! What the traffic looked like, per configuration: the lengths asked for
//! against the lengths the server counted (a workload's distributions, as
//! drawn and as served), and a conversation's turns one by one. Gathered
//! as the records stream by, in memory bounded by the distinct lengths and
//! the number of turns; TTFT by turn is exact, from spill files.

use super::spill::Spill;
use crate::record::Record;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Token counts as value → how many requests had it: exact percentiles in
/// memory that grows with the distinct lengths, not with the requests.
#[derive(Debug, Clone, Default)]
pub struct Counts(BTreeMap<u64, u64>);

impl Counts {
    pub fn add(&mut self, v: Option<u64>) {
        if let Some(v) = v {
            *self.0.entry(v).or_default() += 1;
        }
    }

    pub fn len(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at 0-based rank `k` in ascending order.
    fn at_rank(&self, k: u64) -> u64 {
        let mut seen = 0;
        for (&v, &c) in &self.0 {
            seen += c;
            if k < seen {
                return v;
            }
        }
        *self
            .0
            .keys()
            .next_back()
            .expect("a rank of a non-empty count")
    }

    /// Type-7 percentile (linear between closest ranks, as `stats::percentile`).
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let h = (n - 1) as f64 * q;
        let lo = h.floor() as u64;
        let (a, b) = (
            self.at_rank(lo) as f64,
            self.at_rank((lo + 1).min(n - 1)) as f64,
        );
        Some(a + (h - h.floor()) * (b - a))
    }

    pub fn mean(&self) -> Option<f64> {
        let n = self.len();
        (n > 0).then(|| {
            self.0
                .iter()
                .map(|(&v, &c)| v as f64 * c as f64)
                .sum::<f64>()
                / n as f64
        })
    }

    /// How many distinct values: one means a constant length.
    pub fn distinct(&self) -> usize {
        self.0.len()
    }

    fn spread(&self) -> Option<Spread> {
        Some(Spread {
            n: self.len(),
            mean: self.mean()?,
            p10: self.percentile(0.1)?,
            p50: self.percentile(0.5)?,
            p90: self.percentile(0.9)?,
            distinct: self.distinct(),
        })
    }
}

/// One length's distribution over a configuration's successful requests.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Spread {
    /// Successful requests with this length known.
    pub n: u64,
    pub mean: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    /// Distinct values: 1 is a constant length.
    pub distinct: usize,
}

/// Asked and served lengths of one configuration (tokens).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Lengths {
    pub asked_input: Option<Spread>,
    pub served_input: Option<Spread>,
    pub asked_output: Option<Spread>,
    pub served_output: Option<Spread>,
}

impl Lengths {
    /// Whether a length was drawn from a distribution (more than one value
    /// asked) or the input is a conversation's (nothing asked, yet served).
    pub fn varies(&self) -> bool {
        let drawn = |s: &Option<Spread>| s.is_some_and(|s| s.distinct > 1);
        drawn(&self.asked_input)
            || drawn(&self.asked_output)
            || (self.asked_input.is_none() && self.served_input.is_some_and(|s| s.distinct > 1))
    }
}

/// One turn of a configuration's conversations.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct TurnRow {
    pub turn: u32,
    pub requests: u32,
    pub ok: u32,
    pub prompt_tokens_mean: Option<f64>,
    pub cached_tokens_mean: Option<f64>,
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p95_ms: Option<f64>,
}

struct Turn {
    requests: u32,
    ok: u32,
    prompt: Counts,
    cached: Counts,
    ttft: Spill,
}

/// The traffic of one configuration as its records go by.
pub(super) struct Traffic {
    dir: PathBuf,
    config: usize,
    asked_input: Counts,
    served_input: Counts,
    asked_output: Counts,
    served_output: Counts,
    turns: BTreeMap<u32, Turn>,
}

impl Traffic {
    pub(super) fn new(dir: PathBuf, config: usize) -> Self {
        Traffic {
            dir,
            config,
            asked_input: Counts::default(),
            served_input: Counts::default(),
            asked_output: Counts::default(),
            served_output: Counts::default(),
            turns: BTreeMap::new(),
        }
    }

    pub(super) fn add(&mut self, r: &Record) -> std::io::Result<()> {
        if let Some(t) = r.turn {
            let (dir, config) = (&self.dir, self.config);
            let turn = self.turns.entry(t).or_insert_with(|| Turn {
                requests: 0,
                ok: 0,
                prompt: Counts::default(),
                cached: Counts::default(),
                ttft: Spill::new(dir.join(format!("{config}-turn{t}-ttft"))),
            });
            turn.requests += 1;
            if r.ok() {
                turn.ok += 1;
                turn.prompt.add(r.prompt_tokens);
                turn.cached.add(r.cached_tokens);
                if let Some(v) = r.ttft_ms {
                    turn.ttft.push(v)?;
                }
            }
        }
        if r.ok() {
            self.asked_input.add(r.requested_input_tokens);
            self.served_input.add(r.prompt_tokens);
            self.asked_output.add(r.requested_output_tokens);
            self.served_output.add(r.completion_tokens);
        }
        Ok(())
    }

    pub(super) fn finish(&mut self) -> std::io::Result<(Lengths, Vec<TurnRow>)> {
        let lengths = Lengths {
            asked_input: self.asked_input.spread(),
            served_input: self.served_input.spread(),
            asked_output: self.asked_output.spread(),
            served_output: self.served_output.spread(),
        };
        let mut turns = Vec::new();
        for (&turn, t) in &mut self.turns {
            let p = t.ttft.percentiles(0..t.ttft.len(), &[0.5, 0.95])?;
            turns.push(TurnRow {
                turn,
                requests: t.requests,
                ok: t.ok,
                prompt_tokens_mean: t.prompt.mean(),
                cached_tokens_mean: t.cached.mean(),
                ttft_p50_ms: p[0],
                ttft_p95_ms: p[1],
            });
        }
        Ok((lengths, turns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stats::percentile;

    #[test]
    fn counted_percentiles_equal_the_sorted_values() {
        let values: Vec<u64> = (0..997).map(|i| (i * 7919 % 301) / 3 + 5).collect();
        let mut c = Counts::default();
        for &v in &values {
            c.add(Some(v));
        }
        c.add(None);
        let floats: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        for q in [0.0, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(c.percentile(q), percentile(&floats, q), "q {q}");
        }
        let mean = floats.iter().sum::<f64>() / floats.len() as f64;
        assert!((c.mean().unwrap() - mean).abs() < 1e-9);
        assert_eq!(c.len(), 997);
        assert_eq!(Counts::default().percentile(0.5), None);
    }
}
