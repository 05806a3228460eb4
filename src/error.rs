//! Error kinds the command line maps to exit codes.
//!
//! Library code returns `anyhow::Error`; a fault in what the user gave us
//! (experiment file, prompt set, flags) is an [`InputError`] somewhere in the
//! chain, which `main` turns into exit code 2. Everything else is a run
//! failure (exit 1).

use std::fmt;
use std::path::{Path, PathBuf};

/// A located fault in user input: `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: Option<PathBuf>,
    /// 1-based line and column, where the fault has a place in the file.
    pub location: Option<(usize, usize)>,
    pub message: String,
}

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            file: None,
            location: None,
            message: message.into(),
        }
    }

    pub fn in_file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: Some(file.to_path_buf()),
            location: None,
            message: message.into(),
        }
    }

    #[must_use]
    pub fn at(mut self, location: Option<(usize, usize)>) -> Self {
        self.location = location;
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some((line, col)) = self.location {
                write!(f, ":{line}:{col}")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for InputError {}

/// An expectation or comparison failed: exit code 3.
#[derive(Debug, Clone)]
pub struct RegressionError(pub String);

impl fmt::Display for RegressionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RegressionError {}

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
