//! YAML files read with their faults located: `file:line:col: message` for
//! syntax and type errors (serde_yaml), for a key given twice or nesting
//! too deep (`keys`), and for faults found after parsing (`locate_key`).
//! A leaf: experiment files and prompt sets both read through it.

mod keys;
mod locate;

pub use keys::check;
pub use locate::locate_key;

use crate::error::InputError;
use std::path::Path;

/// Parse `source` (the text of `path`) into `T`, every fault located.
pub fn parse<T: serde::de::DeserializeOwned>(path: &Path, source: &str) -> Result<T, InputError> {
    check(source).map_err(|f| InputError::in_file(path, f.message).at(Some((f.line, f.column))))?;
    serde_yaml::from_str(source).map_err(|e| error(path, &e))
}

/// serde_yaml's message loses its trailing "at line L column C", which
/// moves to the front as `file:L:C:`.
fn error(path: &Path, e: &serde_yaml::Error) -> InputError {
    let mut message = e.to_string();
    let location = e.location().map(|l| (l.line(), l.column()));
    if let Some(cut) = message.rfind(" at line ") {
        message.truncate(cut);
    }
    // serde names fields in backticks; quotes read better on a terminal.
    let message = message.replace('`', "'");
    InputError::in_file(path, message).at(location)
}
