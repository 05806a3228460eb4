mod cli;
mod commands;

use clap::Parser;
use cli::Cli;
use commands::output::{note, StdoutError};
use infer_bench::error;

fn main() {
    // SIGPIPE stays ignored (Rust's default): a closed pipe is an error a
    // write returns, so a run whose stderr reader went away finishes and
    // records its trials, and `plan | head` ends quietly through
    // `commands::output` instead of by the signal.
    // glibc gives each new thread its own heap (up to 8 per core), and
    // each keeps what its thread freed: the report's parser threads, a
    // chunk of records each, held 20–30 % more memory than they used.
    // Four heaps keep them apart without that.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 4)
    };
    let cli = Cli::parse();
    // The terminal report fits the terminal it is printed on.
    infer_bench::report::fit_terminal_to(infer_bench::report::terminal_width());
    if let Err(err) = commands::dispatch(cli.command) {
        // The reader of stdout went away: it wanted no more, as `head` does.
        let stdout = err.chain().find_map(|e| e.downcast_ref::<StdoutError>());
        if stdout.is_some_and(StdoutError::is_broken_pipe) {
            return;
        }
        // A bad-input error is printed as itself (`file:line:col: message`);
        // anything else with its chain of causes.
        match err
            .chain()
            .find_map(|e| e.downcast_ref::<error::InputError>())
        {
            Some(input) => note!("error: {input}"),
            None => note!("error: {err:#}"),
        }
        std::process::exit(error::exit_code(&err));
    }
}
