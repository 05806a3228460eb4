//! Error kinds the command line maps to exit codes.
//!
//! Library code returns `anyhow::Error`; a fault in what the user gave us
//! (experiment file, prompt set, flags) is an [`InputError`] somewhere in the
//! chain, which `main` turns into exit code 2. Everything else is a run
//! failure (exit 1).

use std::fmt;
use std::path::{Path, PathBuf};

/// A located fault in user input: `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{message}", Place(.file.as_deref(), *.location))]
pub struct InputError {
    pub file: Option<PathBuf>,
    /// 1-based line and column, where the fault has a place in the file.
    pub location: Option<(usize, usize)>,
    pub message: String,
    /// The rule the input broke, where a caller may act on which one;
    /// `None` where the message is all there is to it. (Boxed: an error
    /// stays small on the way up.)
    pub rule: Option<Box<Rule>>,
}

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            file: None,
            location: None,
            message: message.into(),
            rule: None,
        }
    }

    pub fn in_file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: Some(file.to_path_buf()),
            location: None,
            message: message.into(),
            rule: None,
        }
    }

    #[must_use]
    pub fn at(mut self, location: Option<(usize, usize)>) -> Self {
        self.location = location;
        self
    }

    /// Where the fault is, keeping a place already known (a fault found in
    /// a data file stays located there).
    #[must_use]
    pub fn or_in(mut self, file: &Path, location: Option<(usize, usize)>) -> Self {
        if self.file.is_none() {
            self.file = Some(file.to_path_buf());
            self.location = location;
        }
        self
    }
}

impl From<Rule> for InputError {
    fn from(rule: Rule) -> Self {
        Self {
            message: rule.to_string(),
            rule: Some(Box::new(rule)),
            ..Self::new("")
        }
    }
}

/// `file:line:col: ` before a message, as much of it as is known.
struct Place<'a>(Option<&'a Path>, Option<(usize, usize)>);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = self.0 {
            write!(f, "{}", file.display())?;
            if let Some((line, col)) = self.1 {
                write!(f, ":{line}:{col}")?;
            }
            write!(f, ": ")?;
        }
        Ok(())
    }
}

/// The rules of an experiment that a caller outside the check acts on:
/// `compare` tells its flags from a statistics rule, a command its flag
/// from a limit, the runner a sharding fault from a run failure. Their
/// text is the message printed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rule {
    #[error("{what} {value} is more than the most infer-bench takes ({max})")]
    TooLarge {
        what: String,
        value: String,
        max: String,
    },
    #[error("{what} must be at least 1")]
    Zero { what: &'static str },
    /// Not a number of the kind at all: NaN, infinite, negative.
    #[error("{what} is {value}, expected {expected}")]
    NotValid {
        what: String,
        value: String,
        expected: &'static str,
    },
    #[error(transparent)]
    Stats(#[from] StatsRule),
    #[error("unknown metric '{name}', expected one of {}", crate::metrics::columns().join(", "))]
    UnknownMetric { name: String },
    #[error("{count} shards need at least {count} repetitions (whole blocks are split), the plan has {blocks}")]
    TooFewBlocks { count: usize, blocks: usize },
    #[error("adaptive repetitions decide block by block on the whole run's trials, so they cannot be sharded; give repetitions a number to shard")]
    AdaptiveShards,
    #[error(
        "{in_flight} requests in flight need about {need} open files, but the limit is {soft} \
         (hard limit {hard}); raise it (`ulimit -n {need}`, or LimitNOFILE= for a service) or lower \
         the concurrency"
    )]
    OpenFiles {
        in_flight: u64,
        need: u64,
        soft: u64,
        hard: u64,
    },
    #[error(
        "{config}: a prompt of the set is {longest} tokens before any filling, longer than input_tokens = {input_tokens}; \
         expected input_tokens of at least {longest} or a shorter template"
    )]
    Unreachable {
        config: String,
        longest: usize,
        input_tokens: u64,
    },
}

/// The statistics' settings (`stats:` in an experiment, the flags of
/// `compare` and `reproduce`): one rule for both.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum StatsRule {
    /// Below 0.5, so that TOST's (1 − 2α) interval exists.
    #[error("alpha must lie between 0 and 0.5, got {0}")]
    Alpha(f64),
    #[error("equivalence must be a relative margin above 0, e.g. 0.05 for ±5 %")]
    Equivalence(f64),
    #[error("threshold must be a relative change ≥ 0, e.g. 0.02")]
    Threshold(f64),
    #[error("max_other_cpu_share must be a share of the cores above 0 and at most 1, e.g. 0.25")]
    OtherCpuShare(f64),
    #[error("max_detectable_change must be a relative change above 0, e.g. 0.2 for 20 %")]
    DetectableChange(f64),
}

/// An expectation or comparison failed: exit code 3.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct RegressionError(pub String);

/// The exit code for an error chain: 2 bad input, 3 regression, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err.chain().any(|e| e.is::<InputError>()) {
        2
    } else if err.chain().any(|e| e.is::<RegressionError>()) {
        3
    } else {
        1
    }
}

/// A line on stderr for the user, dropped where stderr is closed or full:
/// `eprintln!` would panic there, and a run must outlive its reader.
pub fn warn(message: impl std::fmt::Display) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{message}");
}
