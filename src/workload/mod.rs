//! Workloads: what the requests of a configuration look like. Length
//! distributions, datasets, replayed traces, multi-turn sessions and shared
//! prefixes, each read and checked when the experiment loads, then planned
//! per trial as request shapes (lengths, arrival times, which text) by a
//! pure function of the seed. Turning shapes into text needs the server's
//! tokenizer and happens in the runner, before the trial's clock starts.

pub mod csv;
pub mod dataset;
pub mod length;
mod spec;
pub mod trace;

pub use dataset::{Dataset, Entry, Message, Role};
pub use length::{Dist, Length, LengthError};
pub use spec::{
    Format, Kind, OutputLength, PromptFilter, Sessions, SharedPrefix, Typical, WorkloadSpec,
};
pub use trace::TraceRow;

use crate::error::InputError;
use crate::limits;
use rand::seq::SliceRandom;
use rand::RngExt;
use std::path::Path;
use std::sync::Arc;

/// The built-in factor whose levels name workloads.
pub const FACTOR: &str = "workload";

/// Default tokens per Mooncake block.
pub const DEFAULT_BLOCK_TOKENS: u64 = 512;

/// A workload read and checked.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub spec: WorkloadSpec,
    pub kind: Kind,
    pub dataset: Option<Arc<Dataset>>,
    /// The trace's rows in the replayed window, offsets scaled and taken
    /// from the window's start.
    pub trace: Option<Arc<Vec<TraceRow>>>,
}

/// A fault of a workload: at a key of its spec (the experiment locates
/// it there), or in a data file (located in that file).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkloadError {
    #[error("{message}")]
    Key { key: &'static str, message: String },
    #[error(transparent)]
    Data(#[from] InputError),
}

impl WorkloadError {
    fn key(key: &'static str, message: impl Into<String>) -> Self {
        WorkloadError::Key {
            key,
            message: message.into(),
        }
    }
}

/// Read a workload of kind `kind` (its spec checked) and its data files,
/// relative to the experiment's folder `dir`.
pub fn read(
    dir: &Path,
    name: &str,
    spec: &WorkloadSpec,
    kind: Kind,
) -> Result<Workload, WorkloadError> {
    let mut w = Workload {
        name: name.to_string(),
        spec: spec.clone(),
        kind,
        dataset: None,
        trace: None,
    };
    if let Some(file) = &spec.dataset {
        w.dataset = Some(Arc::new(read_dataset(dir, file, spec)?));
    }
    if let Some(file) = &spec.trace {
        w.trace = Some(Arc::new(read_trace(dir, file, spec)?));
    }
    Ok(w)
}

fn read_dataset(dir: &Path, file: &str, spec: &WorkloadSpec) -> Result<Dataset, WorkloadError> {
    let path = dir.join(file);
    let format = spec
        .format
        .or_else(|| by_extension(&path, false))
        .ok_or_else(|| WorkloadError::key("dataset", format!("cannot tell the format of '{file}' by its extension: set `format:` (sharegpt, jsonl or csv)")))?;
    let d = dataset::read(&path, format, spec.column.as_deref())?;
    if matches!(spec.output_tokens, Some(OutputLength::FromDataset)) && format == Format::Csv {
        return Err(WorkloadError::key(
            "output_tokens",
            "from_dataset: a CSV dataset has no replies or lengths",
        ));
    }
    Ok(d)
}

/// The trace's rows in the window from `start` for `duration`, offsets
/// scaled by `time_scale` and taken from the window's start.
fn read_trace(dir: &Path, file: &str, spec: &WorkloadSpec) -> Result<Vec<TraceRow>, WorkloadError> {
    let path = dir.join(file);
    let format = spec
        .format
        .or_else(|| by_extension(&path, true))
        .ok_or_else(|| WorkloadError::key("trace", format!("cannot tell the format of '{file}' by its extension: set `format:` (azure, mooncake or jsonl)")))?;
    if spec.block_tokens.is_some() && format != Format::Mooncake {
        return Err(WorkloadError::key(
            "block_tokens",
            "block_tokens is for mooncake traces",
        ));
    }
    let rows = trace::read(&path, format)?;
    let scale = spec.time_scale.unwrap_or(1.0);
    if !(scale.is_finite() && scale > 0.0) {
        return Err(WorkloadError::key(
            "time_scale",
            format!("time_scale {scale}, expected a number above 0"),
        ));
    }
    let start = spec.start.map_or(0.0, |d| d.0.as_secs_f64());
    let end = spec
        .duration
        .map_or(f64::INFINITY, |d| start + d.0.as_secs_f64());
    let window: Vec<TraceRow> = rows
        .into_iter()
        .filter(|r| r.at_s >= start && r.at_s < end)
        .map(|mut r| {
            r.at_s = (r.at_s - start) * scale;
            r
        })
        .collect();
    // The replay waits until each row's time: the span is a duration, held
    // to the one limit, at the row that first passes it.
    let past = window.iter().find_map(|r| {
        let rule = limits::span("the trace's time span", r.at_s).err()?;
        Some((r, rule))
    });
    if let Some((row, rule)) = past {
        let mut e = InputError::from(rule);
        e.message = format!(
            "row at line {} comes {} after the replay's first row (line {}): {}",
            row.line,
            span_text(row.at_s),
            window[0].line,
            e.message
        );
        return Err(e.or_in(&path, Some((row.line, 1))).into());
    }
    if window.is_empty() {
        return Err(WorkloadError::key(
            "start",
            format!("no rows of '{file}' in the window from start for duration"),
        ));
    }
    Ok(window)
}

/// Seconds as a reader takes them in: `124 years` rather than `3.9e9s`.
fn span_text(s: f64) -> String {
    const YEAR: f64 = 365.25 * 86_400.0;
    match s {
        s if !s.is_finite() => format!("{s} s"),
        s if s >= 1e6 * YEAR => format!("{:.1e} years", s / YEAR),
        s if s >= YEAR => format!("{:.0} years", s / YEAR),
        s if s >= 86_400.0 => format!("{:.0} days", s / 86_400.0),
        s => format!("{s:.0} s"),
    }
}

fn by_extension(path: &Path, trace: bool) -> Option<Format> {
    match (path.extension()?.to_str()?, trace) {
        ("json", false) => Some(Format::Sharegpt),
        ("jsonl", _) => Some(Format::Jsonl),
        ("csv", false) => Some(Format::Csv),
        ("csv", true) => Some(Format::Azure),
        _ => None,
    }
}

/// One planned request: its lengths, its arrival time and where its text comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// Exact prompt length to fill to; none sends the text as it is.
    pub input_tokens: Option<u64>,
    /// Output length to ask for; none leaves the runner's default.
    pub output_tokens: Option<u64>,
    pub text: Text,
    /// Arrival, seconds after the trial's start (a trace).
    pub at_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    /// Rendered from the prompt set.
    Prompt,
    /// The next entry of the dataset's order for this trial.
    Entry,
    /// Mooncake: one block of text per id, shared by every request of the
    /// trial with that id, then the rest.
    Blocks(Vec<u64>),
    /// Shared prefix number g, then a unique suffix.
    Prefix(u32),
}

/// One conversation: each turn's new user message length and output length.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionShape {
    pub turns: Vec<(u64, u64)>,
}

/// What one trial sends.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrialShapes {
    pub warmup: Vec<Shape>,
    pub measured: Vec<Shape>,
    /// Datasets: entry indices in this trial's sampling order (without
    /// replacement, a fresh order once it runs out); the runner takes them
    /// in turn, skipping those its filter rejects.
    pub entries: Vec<usize>,
    /// Sessions: the conversations of the trial (their turns are `measured`
    /// in order, session by session).
    pub sessions: Vec<SessionShape>,
}

/// What the plan and the configuration ask of one trial.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    pub seed: u64,
    pub trial: usize,
    pub warmup: usize,
    /// Measured requests (the pool size for a duration-only trial).
    pub requests: usize,
    /// Whether `requests` is the trial's own count (not a pool).
    pub counted: bool,
    /// The configuration's `input_tokens` / `output_tokens`, for what the
    /// workload leaves open.
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

const INPUT: u64 = 0;
const OUTPUT: u64 = 1;
const GROUP: u64 = 2;
/// Warm-up draws use request numbers of their own.
const WARM: usize = 1 << 40;

/// Request `i`'s draw of `l` in the trial `ask` names, on `stream`.
fn draw(l: &Length, ask: &Ask, i: usize, stream: u64) -> u64 {
    l.draw(ask.seed, ask.trial, i, stream)
}

impl Workload {
    /// The shapes of one trial: a pure function of the seed and the trial.
    pub fn shapes(&self, ask: &Ask) -> TrialShapes {
        match self.kind {
            Kind::Lengths | Kind::Dataset => self.length_shapes(ask),
            Kind::Trace => self.trace_shapes(ask),
            Kind::SharedPrefix => self.prefix_shapes(ask),
            Kind::Sessions => self.session_shapes(ask),
        }
    }

    /// Lengths drawn per request (or the configuration's), the text from
    /// the prompt set or the dataset's order.
    fn length_shapes(&self, ask: &Ask) -> TrialShapes {
        let lengths = |i: usize| Shape {
            input_tokens: self
                .spec
                .input_tokens
                .as_ref()
                .map(|l| draw(l, ask, i, INPUT))
                .or(ask.input_tokens),
            output_tokens: match &self.spec.output_tokens {
                Some(OutputLength::Length(l)) => Some(draw(l, ask, i, OUTPUT)),
                _ => ask.output_tokens,
            },
            text: if self.kind == Kind::Dataset {
                Text::Entry
            } else {
                Text::Prompt
            },
            at_s: None,
        };
        let mut out = TrialShapes {
            warmup: (0..ask.warmup).map(|i| lengths(WARM + i)).collect(),
            measured: (0..ask.requests).map(lengths).collect(),
            ..TrialShapes::default()
        };
        if let Some(d) = &self.dataset {
            out.entries = self.order(d.entries.len(), ask);
        }
        out
    }

    fn trace_shapes(&self, ask: &Ask) -> TrialShapes {
        let rows = self.trace.as_deref().map_or(&[][..], Vec::as_slice);
        let row_shape = |r: &TraceRow, text: Text, at: Option<f64>| Shape {
            input_tokens: Some(r.input_tokens),
            output_tokens: Some(r.output_tokens),
            text,
            at_s: at,
        };
        // Warm-up: the first rows' lengths, with no shared blocks (so
        // it does not warm the cache for the measured requests).
        let warmup = rows
            .iter()
            .cycle()
            .take(ask.warmup)
            .map(|r| row_shape(r, Text::Prompt, None))
            .collect();
        let take = if ask.counted {
            ask.requests
        } else {
            usize::MAX
        };
        let measured = rows
            .iter()
            .take(take)
            .map(|r| {
                let text = if r.hash_ids.is_empty() {
                    Text::Prompt
                } else {
                    Text::Blocks(r.hash_ids.clone())
                };
                row_shape(r, text, Some(r.at_s))
            })
            .collect();
        TrialShapes {
            warmup,
            measured,
            ..TrialShapes::default()
        }
    }

    fn prefix_shapes(&self, ask: &Ask) -> TrialShapes {
        let Some(p) = self.spec.shared_prefix.as_ref() else {
            return TrialShapes::default();
        };
        let one = |i: usize| {
            let mut rng = length::request_rng(ask.seed, ask.trial, i, GROUP);
            let g = rng.random_range(0..p.groups);
            Shape {
                input_tokens: Some(p.prefix_tokens.saturating_add(draw(
                    &p.suffix_tokens,
                    ask,
                    i,
                    INPUT,
                ))),
                output_tokens: Some(draw(&p.output_tokens, ask, i, OUTPUT)),
                text: Text::Prefix(g),
                at_s: None,
            }
        };
        TrialShapes {
            warmup: (0..ask.warmup).map(|i| one(WARM + i)).collect(),
            measured: (0..ask.requests).map(one).collect(),
            ..TrialShapes::default()
        }
    }

    fn session_shapes(&self, ask: &Ask) -> TrialShapes {
        let Some(s) = self.spec.sessions.as_ref() else {
            return TrialShapes::default();
        };
        let mut out = TrialShapes::default();
        let turns = s.turns as usize;
        out.warmup = (0..ask.warmup)
            .map(|i| Shape {
                input_tokens: Some(draw(&s.first_input_tokens, ask, WARM + i, INPUT)),
                output_tokens: Some(draw(&s.output_tokens, ask, WARM + i, OUTPUT)),
                text: Text::Prompt,
                at_s: None,
            })
            .collect();
        // Request i is turn i mod turns of session i / turns; the last
        // session may be cut short by the trial's count.
        for i in 0..ask.requests {
            let (session, turn) = (i / turns, i % turns);
            let input = if turn == 0 {
                &s.first_input_tokens
            } else {
                &s.turn_input_tokens
            };
            let pair = (
                draw(input, ask, i, INPUT),
                draw(&s.output_tokens, ask, i, OUTPUT),
            );
            if turn == 0 {
                out.sessions.push(SessionShape { turns: Vec::new() });
            }
            out.sessions[session].turns.push(pair);
            out.measured.push(Shape {
                input_tokens: Some(pair.0),
                output_tokens: Some(pair.1),
                text: Text::Prompt,
                at_s: None,
            });
        }
        out
    }

    /// A seeded order of `n` entries for this trial, long enough for its
    /// requests (and a filter's rejections): permutations back to back.
    fn order(&self, n: usize, ask: &Ask) -> Vec<usize> {
        let want = (ask.warmup + ask.requests).max(1);
        let mut rng = length::request_rng(ask.seed, ask.trial, 0, 3);
        let mut out = Vec::with_capacity(want.max(n));
        // Enough rounds that a filter admitting a fraction still finds its
        // prompts, bounded so a tiny dataset does not make a huge order.
        let rounds = want.div_ceil(n).max(1) + 1;
        for _ in 0..rounds.min(64) {
            let mut round: Vec<usize> = (0..n).collect();
            round.shuffle(&mut rng);
            out.extend(round);
        }
        out
    }

    /// The largest prompt a request of this workload asks for, where it is known.
    pub fn max_input_tokens(&self) -> Option<u64> {
        match self.kind {
            Kind::Lengths => self.spec.input_tokens.as_ref().map(Length::max),
            Kind::Trace => self.trace.as_ref()?.iter().map(|r| r.input_tokens).max(),
            Kind::SharedPrefix => {
                let p = self.spec.shared_prefix.as_ref()?;
                Some(p.prefix_tokens.saturating_add(p.suffix_tokens.max()))
            }
            Kind::Sessions | Kind::Dataset => None,
        }
    }
}

#[cfg(test)]
mod tests;
