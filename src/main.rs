mod cli;
mod commands;

use clap::Parser;
use cli::Cli;
use infer_bench::error;

fn main() {
    // Die quietly on a closed pipe (`infer-bench plan x.yaml | head`) as
    // other Unix tools do, instead of panicking inside println!.
    // SAFETY: called before any other thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // glibc gives each new thread its own heap (up to 8 per core), and
    // each keeps what its thread freed: the report's parser threads, a
    // chunk of records each, held 20–30 % more memory than they used.
    // Four heaps keep them apart without that.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: as above, before any other thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 4)
    };
    let cli = Cli::parse();
    if let Err(err) = commands::dispatch(cli.command) {
        // A bad-input error is printed as itself (`file:line:col: message`);
        // anything else with its chain of causes.
        match err
            .chain()
            .find_map(|e| e.downcast_ref::<error::InputError>())
        {
            Some(input) => eprintln!("error: {input}"),
            None => eprintln!("error: {err:#}"),
        }
        std::process::exit(error::exit_code(&err));
    }
}
