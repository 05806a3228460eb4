//! Where a command's text goes. stdout through `out!`/`outln!`, which return
//! a write error instead of panicking as `println!` does: a full disk ends the
//! command with a message, a reader that went away (`plan | head`) ends it
//! quietly (`main` tells the two apart). stderr through `note!`, which drops
//! its errors: a run whose log reader went away still finishes its trials and
//! records them.

use std::io::Write;

/// stdout could not be written: the command's output is lost.
#[derive(Debug, thiserror::Error)]
#[error("writing to stdout: {0}")]
pub struct StdoutError(pub std::io::Error);

impl StdoutError {
    /// The reader closed its end: nothing is wrong with the command.
    pub fn is_broken_pipe(&self) -> bool {
        self.0.kind() == std::io::ErrorKind::BrokenPipe
    }
}

/// Writes and flushes, so that an error shows here and not in the silent
/// flush at exit.
pub fn write_stdout(args: std::fmt::Arguments) -> Result<(), StdoutError> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.flush())
        .map_err(StdoutError)
}

/// `print!` that returns `Result<(), StdoutError>`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::output::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` that returns `Result<(), StdoutError>`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::commands::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that never panics (the library's `error::warn`).
macro_rules! note {
    ($($arg:tt)*) => {
        infer_bench::error::warn(format_args!($($arg)*))
    };
}

pub(crate) use {note, out, outln};
