//! The `workloads:` section, as typed data. One flat struct per workload
//! (rather than an untagged enum) so a wrong key gets its own located
//! message; `WorkloadSpec::kind` says which kind the keys make.

use super::length::Length;
use crate::duration::HumanDuration;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// What the requests of a configuration look like. Exactly one of: lengths
/// (`input_tokens`, `output_tokens`), `dataset`, `trace`, `sessions`,
/// `shared_prefix`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Prompt length in tokens (exact, by the server's tokenizer), drawn per
    /// request: a number or a distribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<Length>,
    /// Output length in tokens (exact with `target.exact_output`), drawn per
    /// request; `from_dataset` for a dataset's own reply length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<OutputLength>,
    /// A dataset file (relative to the experiment file): prompts sampled
    /// without replacement within a trial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// A request trace file (relative to the experiment file), replayed at
    /// its own arrival times and lengths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// The file's format; by its extension when absent (`.json` sharegpt,
    /// `.jsonl` jsonl, `.csv` csv for a dataset and azure for a trace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// CSV datasets: the column that holds the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Datasets: keep only prompts whose length, as the server's tokenizer
    /// counts it, lies within these bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<PromptFilter>,
    /// Traces: multiply the gaps between arrivals by this (0.5 replays twice as fast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
    /// Traces: replay from this far after the first row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<HumanDuration>,
    /// Traces: replay this much of the trace (after `start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<HumanDuration>,
    /// Mooncake traces: tokens in one block of `hash_ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_tokens: Option<u64>,
    /// Multi-turn conversations (`api: chat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Sessions>,
    /// Requests that share one of a few long prefixes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_prefix: Option<SharedPrefix>,
}

/// A length, or `from_dataset`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OutputLength {
    Length(Length),
    /// `from_dataset`: the token count of the dataset's own reply (ShareGPT)
    /// or its `output_tokens` field (JSONL).
    #[schemars(with = "FromDataset")]
    FromDataset,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
enum FromDataset {
    #[serde(rename = "from_dataset")]
    FromDataset,
}

impl<'de> Deserialize<'de> for OutputLength {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_yaml::Value::deserialize(d)?;
        match value.as_str() {
            Some("from_dataset") => Ok(OutputLength::FromDataset),
            Some(other) => Err(serde::de::Error::custom(format!(
                "'{other}', expected a number of tokens, a distribution or from_dataset"
            ))),
            None => Length::deserialize(value)
                .map(OutputLength::Length)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ShareGPT JSON: a list of `{conversations: [{from, value}, ...]}`.
    Sharegpt,
    /// One JSON object per line: a dataset's `prompt` or `messages` (and
    /// optional `output_tokens`), or a trace's `timestamp_s`,
    /// `input_tokens`, `output_tokens`.
    Jsonl,
    /// A CSV dataset with a header row and a prompt column.
    Csv,
    /// Azure LLM inference trace: `TIMESTAMP,ContextTokens,GeneratedTokens`.
    Azure,
    /// Mooncake trace JSONL: `timestamp` (ms), `input_length`,
    /// `output_length`, `hash_ids`.
    Mooncake,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
}

impl PromptFilter {
    pub fn admits(&self, tokens: u64) -> bool {
        self.min_tokens.is_none_or(|m| tokens >= m) && self.max_tokens.is_none_or(|m| tokens <= m)
    }
}

/// Conversations of `turns` requests: turn k sends the whole history (the
/// server's own replies included) and one new user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sessions {
    pub turns: u32,
    /// Tokens of the first user message's content.
    pub first_input_tokens: Length,
    /// Tokens of each later user message's content.
    pub turn_input_tokens: Length,
    pub output_tokens: Length,
    /// Pause between a reply and the next turn (a user reading and typing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<HumanDuration>,
    /// A header that carries the session's id, for routers with session
    /// affinity (e.g. `X-Session-ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_header: Option<String>,
}

/// `groups` prefixes of `prefix_tokens`; each request is one of them (drawn
/// per request) and a unique suffix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedPrefix {
    pub groups: u32,
    pub prefix_tokens: u64,
    pub suffix_tokens: Length,
    pub output_tokens: Length,
}

/// Which kind of workload the keys make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lengths,
    Dataset,
    Trace,
    Sessions,
    SharedPrefix,
}

/// A workload's rough per-request figures, for `validate`'s duration
/// estimate: none where only the data knows (a dataset's prompts, a trace).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Typical {
    pub input_tokens: Option<f64>,
    pub output_tokens: Option<f64>,
    /// A conversation's think time, spread over its turns.
    pub think_s: f64,
}

impl WorkloadSpec {
    pub fn typical(&self) -> Typical {
        let output = match &self.output_tokens {
            Some(OutputLength::Length(l)) => Some(l.mean()),
            _ => None,
        };
        if let Some(s) = &self.sessions {
            let (turns, out) = (f64::from(s.turns.max(1)), s.output_tokens.mean());
            // Turn k sends the history: the first message and k − 1
            // exchanges; averaged over the turns.
            let input = s.first_input_tokens.mean()
                + (turns - 1.0) / 2.0 * (s.turn_input_tokens.mean() + out);
            let think = s.think_time.map_or(0.0, |t| t.0.as_secs_f64());
            return Typical {
                input_tokens: Some(input),
                output_tokens: Some(out),
                think_s: think * (turns - 1.0) / turns,
            };
        }
        if let Some(p) = &self.shared_prefix {
            return Typical {
                input_tokens: Some(p.prefix_tokens as f64 + p.suffix_tokens.mean()),
                output_tokens: Some(p.output_tokens.mean()),
                think_s: 0.0,
            };
        }
        Typical {
            input_tokens: self.input_tokens.as_ref().map(Length::mean),
            output_tokens: output,
            think_s: 0.0,
        }
    }

    /// The kind, or the key that does not belong with the others (and why).
    pub fn kind(&self) -> Result<Kind, (&'static str, String)> {
        let kinds: Vec<(Kind, &'static str)> = [
            (self.dataset.is_some(), Kind::Dataset, "dataset"),
            (self.trace.is_some(), Kind::Trace, "trace"),
            (self.sessions.is_some(), Kind::Sessions, "sessions"),
            (
                self.shared_prefix.is_some(),
                Kind::SharedPrefix,
                "shared_prefix",
            ),
        ]
        .into_iter()
        .filter(|(on, _, _)| *on)
        .map(|(_, k, n)| (k, n))
        .collect();
        if let [_, (_, second), ..] = kinds.as_slice() {
            return Err((
                second,
                format!(
                    "a workload is one of dataset, trace, sessions, shared_prefix or lengths; this one also has '{}'",
                    kinds[0].1
                ),
            ));
        }
        let kind = kinds.first().map_or(Kind::Lengths, |k| k.0);
        let present: [(&'static str, bool, &[Kind]); 9] = [
            (
                "input_tokens",
                self.input_tokens.is_some(),
                &[Kind::Lengths],
            ),
            (
                "output_tokens",
                self.output_tokens.is_some(),
                &[Kind::Lengths, Kind::Dataset],
            ),
            (
                "format",
                self.format.is_some(),
                &[Kind::Dataset, Kind::Trace],
            ),
            ("column", self.column.is_some(), &[Kind::Dataset]),
            ("filter", self.filter.is_some(), &[Kind::Dataset]),
            ("time_scale", self.time_scale.is_some(), &[Kind::Trace]),
            ("start", self.start.is_some(), &[Kind::Trace]),
            ("duration", self.duration.is_some(), &[Kind::Trace]),
            ("block_tokens", self.block_tokens.is_some(), &[Kind::Trace]),
        ];
        for (key, on, allowed) in present {
            if on && !allowed.contains(&kind) {
                return Err((
                    key,
                    format!("'{key}' has no meaning for a {} workload", kind.name()),
                ));
            }
        }
        if kind != Kind::Dataset && matches!(self.output_tokens, Some(OutputLength::FromDataset)) {
            return Err((
                "output_tokens",
                "output_tokens: from_dataset needs a dataset".into(),
            ));
        }
        Ok(kind)
    }
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Lengths => "lengths",
            Kind::Dataset => "dataset",
            Kind::Trace => "trace",
            Kind::Sessions => "sessions",
            Kind::SharedPrefix => "shared_prefix",
        }
    }
}
